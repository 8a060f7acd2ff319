"""Errors raised by the API client: one class per HTTP status, plus connection and timeout errors.

Every error carries a readable one-line ``message`` parsed from whichever of the API's error body
shapes came back (``docs/api.md#errors-and-status-codes``), the status, the request id and the
parsed body; a status error also carries the wait its ``Retry-After`` asked for (``retry_after``,
see ``tuner.api.retry``). API keys never appear in messages or reprs: known secrets are scrubbed
from the message and the body before the error is built, and reprs leave the body out.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import orjson

from tuner.api.retry import parse_retry_after

_MAX_MESSAGE_CHARS = 500
_MAX_LISTED_ITEMS = 5
_REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class FileFormatIssue:
    """One entry of an "Invalid file format" body's ``errors`` list."""

    line_number: int | None
    message: str


class APIError(Exception):
    """Base class of every error the client raises."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        body: object = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        self.body = body
        self.method = method
        self.url = url

    def __str__(self) -> str:
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.message}{suffix}"

    def __repr__(self) -> str:
        # The body is left out on purpose: it can echo request fields verbatim.
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class InvalidIdError(APIError, ValueError):
    """An id that cannot be one URL path segment (empty, ``.``, ``..``, or holding ``/``);
    refused before any request is sent."""


class APIConnectionError(APIError):
    """The request did not get an HTTP response (DNS, refused, reset, protocol error)."""

    def __init__(
        self,
        message: str,
        *,
        maybe_sent: bool = True,
        retryable: bool = True,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        # False only when the request certainly never reached the server (e.g. connect refused):
        # job creation needs to know whether a lost attempt may have created a job.
        self.maybe_sent = maybe_sent
        self.retryable = retryable


class APITimeoutError(APIConnectionError):
    """The request timed out (connecting, writing, reading or waiting for a pooled connection)."""


class APIResponseValidationError(APIError):
    """A success response whose body does not have the expected shape."""


class APIStatusError(APIError):
    """The server answered with an error status."""

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        body: object = None,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            status_code=status_code,
            request_id=request_id,
            body=body,
            method=method,
            url=url,
        )
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        self.file_errors: tuple[FileFormatIssue, ...] = file_format_issues(body)
        self.retry_after = retry_after
        """Seconds the server asked to wait before a retry (``Retry-After``), counted from when
        the answer arrived; None when it did not say."""

    def __str__(self) -> str:
        return f"{self.status_code} {_reason(self.status_code)}: {super().__str__()}"


class BadRequestError(APIStatusError):
    """400: malformed body, or the context was exceeded."""


class AuthenticationError(APIStatusError):
    """401: a bad or missing API key (also raised when every key of the pool was rejected)."""


class PermissionDeniedError(APIStatusError):
    """403: no access (for example deleting a base model)."""


class NotFoundError(APIStatusError):
    """404: unknown file, job or model id (or unknown route)."""


class ConflictError(APIStatusError):
    """409: the job duplicates one that is already queued, validated or running."""


class PayloadTooLargeError(APIStatusError):
    """413: the upload is too large (the limit is 512 MB per file)."""


class UnprocessableEntityError(APIStatusError):
    """422: the request failed validation (unknown fields, bad values, bad file content)."""


class RateLimitError(APIStatusError):
    """429: rate limited."""


class KeysRestingError(RateLimitError):
    """Every key rests after 429s for longer than the call may wait: nothing was sent, and
    retrying within the call cannot help (``retry_after`` says when a key is ready)."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    if status_code >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)


def make_status_error(
    status_code: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    method: str | None = None,
    url: str | None = None,
    secrets: Iterable[str] = (),
    now: float | None = None,
) -> APIStatusError:
    """Build the error for an error response: parse the body, find the message and request id,
    and the ``Retry-After`` wait (``now``, UNIX seconds, dates an HTTP-date ``Retry-After``;
    the current time when not given)."""
    secret_list = [s for s in secrets if s]
    body = scrub(parse_body(content), secret_list)
    lowered = {k.lower(): v for k, v in headers.items()}
    message = scrub_text(describe_error_body(body, _reason(status_code)), secret_list)
    return status_error_class(status_code)(
        message,
        status_code=status_code,
        request_id=request_id_of(lowered, body),
        body=body,
        headers=lowered,
        method=method,
        url=url,
        retry_after=parse_retry_after(lowered, time.time() if now is None else now),
    )


def retry_later_error(
    error: APIStatusError, *, wait: float, cap: float, now: float
) -> APIStatusError:
    """``error`` (same class and fields) for a wait longer than the client's cap: its message
    says how long the server asked to wait and after which UTC time to retry, and its
    ``retry_after`` is ``wait``, the seconds from ``now`` (UNIX) until a retry can be sent."""
    asked = error.retry_after if error.retry_after is not None else wait
    message = (
        f"{error.message}; the server asked to wait {format_seconds(asked)} before retrying, "
        f"longer than retry_after_cap ({format_seconds(cap)}): retry after {utc_time(now + wait)}"
    )
    return type(error)(
        message,
        status_code=error.status_code,
        request_id=error.request_id,
        body=error.body,
        headers=error.headers,
        method=error.method,
        url=error.url,
        retry_after=wait,
    )


def format_seconds(seconds: float) -> str:
    """``90 s``, ``1.5 s``: whole seconds when there is no fraction worth showing."""
    rounded = round(seconds, 1)
    return f"{rounded:.0f} s" if rounded == int(rounded) else f"{rounded:.1f} s"


def utc_time(unix_seconds: float) -> str:
    """The UTC time, rounded up to the second (retrying at the shown time is never early)."""
    when = datetime.fromtimestamp(math.ceil(unix_seconds), UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_body(content: bytes) -> object:
    """JSON when the body is JSON, else its text (possibly empty)."""
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return content.decode("utf-8", errors="replace")


def request_id_of(headers: Mapping[str, str], body: object) -> str | None:
    header = headers.get("x-request-id") or headers.get("request-id")
    if header:
        return header
    if isinstance(body, Mapping):
        value = body.get("request_id")
        if isinstance(value, str) and value:
            return value
    return None


def describe_error_body(body: object, fallback: str) -> str:
    """A one-line, human-readable message from any of the error body shapes."""
    text = ""
    if isinstance(body, Mapping):
        text = _describe_mapping(body)
    elif isinstance(body, str):
        text = body
    elif body is not None:
        text = _compact_json(body)
    text = _one_line(text)
    return text or fallback


def file_format_issues(body: object) -> tuple[FileFormatIssue, ...]:
    """The ``errors`` list of an "Invalid file format" body, with line numbers."""
    if not isinstance(body, Mapping):
        return ()
    raw = body.get("errors")
    if not isinstance(raw, list):
        return ()
    issues = []
    for item in raw:
        if isinstance(item, Mapping):
            line = item.get("line_number")
            issues.append(
                FileFormatIssue(
                    line_number=line if isinstance(line, int) else None,
                    message=str(item.get("message", "")),
                )
            )
        else:
            issues.append(FileFormatIssue(line_number=None, message=str(item)))
    return tuple(issues)


def _describe_mapping(body: Mapping[str, Any]) -> str:
    parts: list[str] = []
    if "detail" in body:
        parts.append(_describe_detail(body["detail"]))
    elif "message" in body:
        parts.append(_describe_message(body["message"]))
    elif isinstance(body.get("error"), Mapping):
        parts.append(_describe_mapping(body["error"]))
    elif isinstance(body.get("error"), str):
        parts.append(body["error"])
    param = body.get("param")
    if isinstance(param, str) and param:
        parts.append(f"(param: {param})")
    description = body.get("description")
    if isinstance(description, str) and description.strip():
        parts.append(description.strip())
    issues = file_format_issues(body)
    if issues:
        parts.append("— " + _describe_issues(issues))
    return " ".join(p for p in parts if p)


def _describe_message(message: object) -> str:
    # The standard shape; the message may itself wrap a 422 detail list.
    if isinstance(message, str):
        return message
    if isinstance(message, Mapping):
        return _describe_mapping(message)
    return _compact_json(message)


def _describe_detail(detail: object) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        rendered = [_describe_detail_item(item) for item in detail]
        return _join_limited(rendered, "; ")
    if isinstance(detail, Mapping):
        return _describe_detail_item(detail)
    return _compact_json(detail)


def _describe_detail_item(item: object) -> str:
    """``{"loc": ["body", "x"], "msg": "m"}`` → ``body.x: m``; ``input`` is never shown."""
    if not isinstance(item, Mapping):
        return str(item)
    msg = str(item.get("msg") or item.get("message") or item.get("type") or "invalid")
    loc = item.get("loc")
    if isinstance(loc, Sequence) and not isinstance(loc, str) and loc:
        return f"{'.'.join(str(part) for part in loc)}: {msg}"
    return msg


def _describe_issues(issues: Sequence[FileFormatIssue]) -> str:
    rendered = [
        f"line {issue.line_number}: {issue.message}"
        if issue.line_number is not None
        else issue.message
        for issue in issues
    ]
    return _join_limited(rendered, "; ")


def _join_limited(items: Sequence[str], separator: str) -> str:
    shown = separator.join(items[:_MAX_LISTED_ITEMS])
    hidden = len(items) - _MAX_LISTED_ITEMS
    return f"{shown}{separator}and {hidden} more" if hidden > 0 else shown


def _compact_json(value: object) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def _one_line(text: str) -> str:
    collapsed = " ".join(text.split())
    if len(collapsed) > _MAX_MESSAGE_CHARS:
        return collapsed[: _MAX_MESSAGE_CHARS - 1] + "…"
    return collapsed


def _reason(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return f"HTTP {status_code}"


def scrub_text(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def scrub(value: object, secrets: Sequence[str]) -> object:
    """``value`` with every secret replaced, searched through nested lists and mappings."""
    if not secrets:
        return value
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, Mapping):
        return {scrub_text(str(k), secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(item, secrets) for item in value]
    return value


_BEARER = re.compile(r"(?i)bearer\s+\S+")


def scrub_bearer(text: str) -> str:
    """Hide any ``Bearer <token>`` a lower layer put into an exception text."""
    return _BEARER.sub("Bearer " + _REDACTED, text)
