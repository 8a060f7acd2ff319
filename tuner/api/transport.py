"""The one request loop: keys, retries, error mapping and sandbox detection over httpx.

Every request goes through ``Transport.request`` (or, for job creation, which needs its own retry
decisions, ``Transport.attempt`` plus ``retry_delay``/``pause``). How long it waits, and when it
gives up instead of waiting, is the policy in ``tuner.api.retry``. Responses are always opened as
streams so large downloads and SSE are never buffered; ordinary calls read the body before
returning.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import ssl
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, TypeVar

import httpx
from pydantic import ValidationError

from tuner import __version__
from tuner.api.errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    KeysRestingError,
    format_seconds,
    make_status_error,
    retry_later_error,
    scrub_bearer,
    scrub_text,
    utc_time,
)
from tuner.api.keys import ApiKey, KeyPool
from tuner.api.retry import (
    RetryBudget,
    RetryPolicy,
    backoff_delay,
    is_retryable_status,
    retry_delay,
)
from tuner.api.sentinel import NOT_GIVEN, NotGiven, query_params

logger = logging.getLogger("tuner.api")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class Parsable(Protocol):
    """What ``Sent.parse`` needs of a shape: pydantic's JSON validator (every wire model has it;
    a protocol so a shared resource can name a shape by the fields it reads, as well)."""

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray) -> Self: ...


M = TypeVar("M", bound=Parsable)

SANDBOX_HEADER = "x-tuner-sandbox"
_KEY_HINT = "check MISTRAL_API_KEY, TUNER_API_KEYS or api_keys in the tuner config file"
_NO_KEY = "set MISTRAL_API_KEY or TUNER_API_KEYS, or api_keys in the tuner config file"
_MAX_ERROR_BODY = 64 * 1024
# httpx errors that no retry can fix: the request itself is wrong on our side.
_NOT_RETRYABLE = (
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.DecodingError,
    httpx.TooManyRedirects,
)
# httpx errors raised before any byte of the request reached the server.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    # Building a verifying context loads the CA bundle (~0.1 s); one per process is enough, and
    # the dashboard and tests create many clients.
    return httpx.create_ssl_context()


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. ``upload`` replaces read and write for file uploads, which take long."""

    connect: float = 5.0
    read: float = 60.0
    write: float = 60.0
    pool: float = 10.0
    upload: float = 600.0

    def default(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)

    def for_upload(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect, read=self.upload, write=self.upload, pool=self.pool
        )


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """Everything needed to send (and resend) one API call."""

    method: str
    path: str
    params: Mapping[str, object] | None = None
    json: object | NotGiven = NOT_GIVEN
    content: Callable[[], AsyncIterable[bytes]] | None = None
    """A factory, so every retry streams the body afresh."""
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: httpx.Timeout | None = None
    prefer_key: str | None = None
    """The hint of the key to use if it is ready (the key that created the resource)."""
    stream: bool = False
    follow_redirects: bool = False
    secrets: tuple[str, ...] = ()
    """Extra secrets in this request (e.g. a W&B key) to scrub from error texts."""


@dataclass(frozen=True, slots=True)
class Sent:
    """A success response and the key that got it."""

    response: httpx.Response
    key: ApiKey

    def parse(self, model: type[M]) -> M:
        try:
            return model.model_validate_json(self.response.content)
        except ValidationError as exc:
            first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
            where = ".".join(str(part) for part in first.get("loc", ()))
            raise APIResponseValidationError(
                f"unexpected response from {self.response.request.method} "
                f"{self.response.request.url.path}: {where or 'body'}: {first.get('msg')}",
                status_code=self.response.status_code,
            ) from None


class Transport:
    def __init__(
        self,
        *,
        base_url: str,
        keys: KeyPool,
        timeouts: Timeouts,
        retry: RetryPolicy,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        rng: random.Random | None = None,
        headers: Mapping[str, str] | None = None,
        key_hint: str = _KEY_HINT,
        no_key_hint: str = _NO_KEY,
    ) -> None:
        """``headers`` go with every request (e.g. OpenAI's organisation and project);
        ``key_hint``/``no_key_hint`` say where the keys come from when they are rejected or
        missing (each provider has its own settings)."""
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.key_hint = key_hint
        self.no_key_hint = no_key_hint
        self.keys = keys
        self.timeouts = timeouts
        self.policy = retry
        self.sleep = sleep
        self.clock = clock
        self.wall_clock = wall_clock
        self._rng = rng if rng is not None else random.Random()
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=timeouts.default(),
            transport=transport,
            verify=_shared_ssl_context(),
            follow_redirects=False,
            headers={"User-Agent": f"tuner/{__version__}", "Accept": "application/json"},
        )
        self.is_sandbox: bool | None = None
        """None until the first response; then whether it carried ``x-tuner-sandbox: 1``."""

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    def new_budget(self) -> RetryBudget:
        return RetryBudget(self.policy, self.clock)

    # -- the loop ------------------------------------------------------------------------------

    async def request(self, spec: RequestSpec) -> Sent:
        """Send with retries; returns the success response or raises an ``APIError``."""
        budget = self.new_budget()
        while True:
            try:
                return await self.attempt(spec, budget)
            except APIError as error:
                delay = self.retry_delay(error, budget)
                if delay is None:
                    raise
                await self.pause(spec, error, delay, budget)

    async def attempt(self, spec: RequestSpec, budget: RetryBudget) -> Sent:
        """One attempt, counted against ``budget``. A key rejected with 401 is taken out of the
        pool and the request is sent again with the next key, inside the same attempt."""
        budget.attempt_started()
        while True:
            key = await self._ready_key(spec.prefer_key, budget)
            response = await self._send(spec, key)
            self._observe(response, key)
            if response.status_code < 400:
                if not spec.stream:
                    await self._read_body(spec, response)
                return Sent(response, key)
            error = await self._status_error(spec, response)
            if error.status_code == 401:
                self.keys.remove(key)
                if self.keys.next_wait() is not None:
                    continue
                raise self._every_key_rejected(error)
            if error.status_code == 429:
                # The key is limited for as long as the server says, past the cap too: sending
                # with it sooner only earns another 429.
                self.keys.rest(key, self._advised_delay(error, budget))
            raise error

    def retry_delay(self, error: APIError, budget: RetryBudget) -> float | None:
        """Seconds to wait before retrying after ``error``, or None if it must not be retried.

        Raises ``error`` with when to retry in its message (``retry_later_error``) when the server
        asked for a longer wait than ``retry_after_cap``: the call gives up rather than retry early.
        """
        if isinstance(error, KeysRestingError):
            return None
        budget.last_error = error
        if isinstance(error, APIStatusError) and is_retryable_status(error.status_code):
            self._give_up_on_long_wait(error)
        if not budget.has_attempts_left():
            return None
        if isinstance(error, APIConnectionError):
            if not error.retryable:
                return None
            delay = backoff_delay(self.policy, budget.attempts, self._rng)
        elif isinstance(error, APIStatusError) and is_retryable_status(error.status_code):
            # After a 429 the key itself rests; the next attempt takes another key or waits for
            # the first one to wake (see ``_ready_key``), so no extra sleep here.
            delay = 0.0 if error.status_code == 429 else self._advised_delay(error, budget)
        else:
            return None
        return delay if budget.allows_wait(delay) else None

    async def pause(
        self, spec: RequestSpec, error: APIError, delay: float, budget: RetryBudget
    ) -> None:
        logger.info(
            "%s %s failed (%s); retrying in %.2f s (attempt %d of %d)",
            spec.method,
            spec.path,
            error,
            delay,
            budget.attempts + 1,
            self.policy.max_attempts,
        )
        if delay > 0:
            await self.sleep(delay)

    def _advised_delay(self, error: APIStatusError, budget: RetryBudget) -> float:
        return retry_delay(self.policy, error.retry_after, max(budget.attempts, 1), self._rng)

    def _give_up_on_long_wait(self, error: APIStatusError) -> None:
        """Raise ``error``, saying when to retry, if the server asked for a wait past the cap."""
        cap = self.policy.retry_after_cap
        wait = error.retry_after
        if wait is None or wait <= cap:
            return
        if error.status_code == 429:
            # Only the key that got the 429 rests: another may be ready within the cap.
            wait = self.keys.next_wait()
            if wait is None or wait <= cap:
                return
        raise retry_later_error(error, wait=wait, cap=cap, now=self.wall_clock()) from None

    # -- keys ----------------------------------------------------------------------------------

    async def _ready_key(self, prefer: str | None, budget: RetryBudget) -> ApiKey:
        while True:
            wait = self.keys.next_wait()
            if wait is None:
                raise self._no_key_error()
            if wait <= 0:
                return self.keys.take(prefer)
            beyond_cap = wait > self.policy.longest_rest
            if beyond_cap or not budget.allows_wait(wait):
                if not beyond_cap and isinstance(budget.last_error, APIError):
                    raise budget.last_error
                raise self._keys_resting_error(wait)
            logger.info("all API keys are resting after 429; waiting %.1f s", wait)
            await self.sleep(wait)

    def _keys_resting_error(self, wait: float) -> KeysRestingError:
        return KeysRestingError(
            f"all {len(self.keys)} API keys are rate limited for another {format_seconds(wait)}: "
            f"retry after {utc_time(self.wall_clock() + wait)}",
            status_code=429,
            retry_after=wait,
        )

    def _no_key_error(self) -> AuthenticationError:
        if len(self.keys) == 0:
            return AuthenticationError(
                f"no API key configured; {self.no_key_hint}", status_code=401
            )
        removed = ", ".join(self.keys.removed_hints)
        return AuthenticationError(
            f"every API key was rejected (401): {removed}; {self.key_hint}", status_code=401
        )

    def _every_key_rejected(self, error: APIStatusError) -> AuthenticationError:
        removed = ", ".join(self.keys.removed_hints)
        return AuthenticationError(
            f"{error.message}; every API key was rejected: {removed}; {self.key_hint}",
            status_code=401,
            request_id=error.request_id,
            body=error.body,
            headers=error.headers,
            method=error.method,
            url=error.url,
            retry_after=error.retry_after,
        )

    def _observe(self, response: httpx.Response, key: ApiKey) -> None:
        self.is_sandbox = response.headers.get(SANDBOX_HEADER, "").strip() == "1"
        self.keys.observe(key, response.headers)

    # -- httpx ---------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _build(self, spec: RequestSpec, key: ApiKey) -> httpx.Request:
        headers = {**self.headers, **spec.headers}
        headers["Authorization"] = f"Bearer {key.reveal()}"
        extra: dict[str, Any] = {}
        if not isinstance(spec.json, NotGiven):
            extra["json"] = spec.json
        elif spec.content is not None:
            extra["content"] = spec.content()
        return self._http.build_request(
            spec.method,
            self._url(spec.path),
            params=query_params(spec.params or {}),
            headers=headers,
            timeout=spec.timeout if spec.timeout is not None else httpx.USE_CLIENT_DEFAULT,
            **extra,
        )

    async def _send(self, spec: RequestSpec, key: ApiKey) -> httpx.Response:
        request = self._build(spec, key)
        try:
            return await self._http.send(
                request, stream=True, follow_redirects=spec.follow_redirects
            )
        except httpx.HTTPError as exc:
            raise self._transport_error(spec, exc) from exc

    async def _read_body(self, spec: RequestSpec, response: httpx.Response) -> None:
        try:
            await response.aread()
        except httpx.HTTPError as exc:
            raise self._transport_error(spec, exc) from exc
        finally:
            await response.aclose()

    async def _status_error(self, spec: RequestSpec, response: httpx.Response) -> APIStatusError:
        """Read (a bounded part of) the error body, close the response, build the error."""
        content = bytearray()
        try:
            async for chunk in response.aiter_bytes():
                content.extend(chunk)
                if len(content) >= _MAX_ERROR_BODY:
                    break
        except httpx.HTTPError:
            pass  # the status alone still makes a useful error
        finally:
            await response.aclose()
        return make_status_error(
            response.status_code,
            response.headers,
            bytes(content[:_MAX_ERROR_BODY]),
            method=spec.method,
            url=spec.path,
            secrets=self.keys.secrets() + spec.secrets,
            now=self.wall_clock(),
        )

    def _transport_error(self, spec: RequestSpec, exc: httpx.HTTPError) -> APIConnectionError:
        detail = scrub_text(scrub_bearer(str(exc) or type(exc).__name__), self.keys.secrets())
        maybe_sent = not isinstance(exc, _NEVER_SENT)
        retryable = not isinstance(exc, _NOT_RETRYABLE)
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"{spec.method} {spec.path} timed out ({type(exc).__name__}: {detail})",
                maybe_sent=maybe_sent,
                retryable=retryable,
                method=spec.method,
                url=spec.path,
            )
        return APIConnectionError(
            f"{spec.method} {spec.path}: could not reach the API ({type(exc).__name__}: {detail})",
            maybe_sent=maybe_sent,
            retryable=retryable,
            method=spec.method,
            url=spec.path,
        )


def stream_error(spec_method: str, path: str, exc: httpx.HTTPError) -> APIConnectionError:
    """A network failure while reading a streamed body (SSE, download)."""
    detail = scrub_bearer(str(exc) or type(exc).__name__)
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    return cls(
        f"{spec_method} {path}: the stream broke off ({type(exc).__name__}: {detail})",
        method=spec_method,
        url=path,
    )
