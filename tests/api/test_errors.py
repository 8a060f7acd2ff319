"""Error bodies of every shape the API sends become one readable line, per status class."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from tuner.api import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    UnprocessableEntityError,
)
from tuner.api.errors import describe_error_body, make_status_error

from .support import FILE_ID, ClientFactory

pytestmark = pytest.mark.anyio

STANDARD = {
    "object": "error",
    "message": "Invalid model: open-mistral-99b",
    "type": "invalid_request_error",
    "param": None,
    "code": None,
}
RATE_LIMITED = {
    "object": "error",
    "message": "Rate limit exceeded",
    "type": "rate_limited",
    "param": None,
    "code": "1300",
    "raw_status_code": 429,
}
BARE_422 = {
    "detail": [
        {
            "type": "string_too_long",
            "loc": ["body", "suffix"],
            "msg": "String should have at most 18 characters",
            "input": "a-suffix-that-is-far-too-long",
            "ctx": {"max_length": 18},
        }
    ]
}
WRAPPED_422 = {
    "object": "error",
    "message": {
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["body", "max_completion_tokens"],
                "msg": "Extra inputs are not permitted",
                "input": 32000,
            }
        ]
    },
    "type": "invalid_request_error",
    "param": None,
    "code": None,
}
STRING_DETAIL = {"detail": "No fine tuning job matches the given query."}
GATEWAY_401 = {"message": "Unauthorized", "request_id": "5f0c2d9e8b7a4c3d"}
INVALID_FILE = {
    "detail": "Invalid file format.",
    "description": "Found 2 errors in this file. You can view supported formats here: "
    "https://docs.mistral.ai/capabilities/finetuning. ",
    "errors": [
        {
            "message": "line contains invalid json: unexpected character: line 1 column 1",
            "line_number": 1,
        },
        {"message": "missing messages", "line_number": 7},
    ],
}


def _error(status: int, body: Any, headers: dict[str, str] | None = None) -> APIStatusError:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return make_status_error(status, headers or {}, content, method="GET", url="/v1/x")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (STANDARD, "Invalid model: open-mistral-99b"),
        (RATE_LIMITED, "Rate limit exceeded"),
        (BARE_422, "body.suffix: String should have at most 18 characters"),
        (WRAPPED_422, "body.max_completion_tokens: Extra inputs are not permitted"),
        (STRING_DETAIL, "No fine tuning job matches the given query."),
        (GATEWAY_401, "Unauthorized"),
        ({"detail": "Not Found"}, "Not Found"),
        ({"error": {"message": "nested style"}}, "nested style"),
    ],
)
def test_every_body_shape_gives_a_readable_line(body: Any, expected: str) -> None:
    assert describe_error_body(body, "fallback") == expected


def test_standard_shape_names_the_param() -> None:
    body = {**STANDARD, "param": "model"}
    assert describe_error_body(body, "x") == "Invalid model: open-mistral-99b (param: model)"


def test_several_validation_errors_are_joined_and_input_is_never_shown() -> None:
    body = {
        "detail": [
            {"loc": ["body", "suffix"], "msg": "too long", "input": "SECRET-INPUT"},
            {"loc": ["body", "hyperparameters", "learning_rate"], "msg": "too big"},
            {"loc": [], "msg": "At least one training file or repository is required."},
        ]
    }
    text = describe_error_body(body, "x")
    assert text == (
        "body.suffix: too long; body.hyperparameters.learning_rate: too big; "
        "At least one training file or repository is required."
    )
    assert "SECRET-INPUT" not in text


def test_invalid_file_format_keeps_line_numbers() -> None:
    error = _error(422, INVALID_FILE)
    assert isinstance(error, UnprocessableEntityError)
    assert [(i.line_number, i.message) for i in error.file_errors] == [
        (1, "line contains invalid json: unexpected character: line 1 column 1"),
        (7, "missing messages"),
    ]
    assert error.message.startswith("Invalid file format. Found 2 errors in this file.")
    assert "line 1: line contains invalid json" in error.message
    assert "line 7: missing messages" in error.message
    assert "\n" not in error.message


def test_long_lists_are_cut_short() -> None:
    body = {"detail": [{"loc": ["body", f"f{i}"], "msg": "bad"} for i in range(9)]}
    assert describe_error_body(body, "x").endswith("; and 4 more")


def test_non_json_and_empty_bodies() -> None:
    assert _error(502, b"<html>\n<b>Bad gateway</b>\n</html>").message == (
        "<html> <b>Bad gateway</b> </html>"
    )
    assert _error(503, b"").message == "Service Unavailable"
    assert str(_error(503, b"")) == "503 Service Unavailable: Service Unavailable"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, PayloadTooLargeError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (504, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_one_class_per_status(status: int, cls: type[APIStatusError]) -> None:
    error = _error(status, STANDARD)
    assert type(error) is cls
    assert error.status_code == status
    assert error.body == STANDARD


def test_request_id_from_header_or_body() -> None:
    assert _error(401, GATEWAY_401).request_id == "5f0c2d9e8b7a4c3d"
    from_header = _error(404, STRING_DETAIL, {"X-Request-Id": "req-42"})
    assert from_header.request_id == "req-42"
    assert str(from_header) == (
        "404 Not Found: No fine tuning job matches the given query. (request id req-42)"
    )


def test_repr_leaves_the_body_out() -> None:
    error = _error(422, BARE_422)
    assert "a-suffix-that-is-far-too-long" not in repr(error)
    assert repr(error).startswith("UnprocessableEntityError(status_code=422,")


async def test_errors_through_the_client(api: respx.MockRouter, make_client: ClientFactory) -> None:
    api.get(f"/v1/files/{FILE_ID}").respond(404, json={"detail": "Not Found"})
    api.post("/v1/embeddings").respond(422, json=WRAPPED_422, headers={"x-request-id": "r1"})
    async with make_client(retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(NotFoundError) as not_found:
            await client.files.get(FILE_ID)
        assert not_found.value.method == "GET"
        assert not_found.value.url == f"/v1/files/{FILE_ID}"
        with pytest.raises(UnprocessableEntityError) as invalid:
            await client.embeddings.create(model="mistral-embed", input="hi")
    assert invalid.value.request_id == "r1"
    assert invalid.value.message == "body.max_completion_tokens: Extra inputs are not permitted"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["detail", "message", "msg", "loc", "errors", "x"])
            | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(deadline=None, max_examples=200)
@given(body=json_values)
def test_any_json_body_gives_one_non_empty_line(body: Any) -> None:
    text = describe_error_body(body, "fallback")
    assert text
    assert "\n" not in text
    assert len(text) <= 500


def test_http_status_is_real_httpx_status() -> None:
    # The reason phrase comes from the status table, not from the server's text.
    assert str(_error(httpx.codes.TOO_MANY_REQUESTS, RATE_LIMITED)).startswith(
        "429 Too Many Requests: Rate limit exceeded"
    )


def test_a_status_error_keeps_the_wait_its_retry_after_asked_for() -> None:
    now = 1_760_000_000.0
    date = "Thu, 09 Oct 2025 08:54:20 GMT"  # 1_760_000_060: one minute after ``now``
    assert make_status_error(429, {"Retry-After": "30"}, b"", now=now).retry_after == 30.0
    assert make_status_error(429, {"retry-after-ms": "250"}, b"", now=now).retry_after == 0.25
    assert make_status_error(503, {"Retry-After": date}, b"", now=now).retry_after == 60.0
    assert make_status_error(429, {"Retry-After": "later"}, b"", now=now).retry_after is None
    assert make_status_error(500, {}, b"", now=now).retry_after is None


def test_the_response_validation_error_is_an_api_error_importable_from_the_package() -> None:
    from tuner.api import APIError, APIResponseValidationError, errors

    assert errors.APIResponseValidationError is APIResponseValidationError
    assert issubclass(APIResponseValidationError, APIError)
