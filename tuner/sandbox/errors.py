"""The platform's error bodies, one shape per route family.

See ``docs/api.md#errors-and-status-codes``:

- Fine-tuning, files and routing errors use a string ``detail`` (``{"detail": "..."}``).
- Request validation uses FastAPI's own bare detail list (``{"detail": [{"type", "loc", ...}]}``),
  the shape seen in 2026; FastAPI produces it for us.
- Inference errors (chat, embeddings) use the "standard" shape with ``object: "error"``.
- The gateway answers 401 (and, in the sandbox, 413) with ``{"message", "request_id"}``.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

JOB_NOT_FOUND = "No fine tuning job matches the given query."
FILE_NOT_FOUND = "File not found."
MODEL_NOT_FOUND = "Model not found."
DECODE_FAILED = "Failed to decode data, please encode your file using UTF-8."
INVALID_FORMAT = "Invalid file format."
FORMATS_HINT = (
    "You can view supported formats here: https://docs.mistral.ai/capabilities/finetuning. "
)
NO_TRAINING_FILES = "At least one training file or repository is required."


def model_not_available(job_type: str) -> str:
    return f"Model not available for this type of fine-tuning ({job_type})."


class ApiError(Exception):
    """An error answer: raised anywhere below a route, rendered by :func:`install_handlers`."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def detail_error(status: int, detail: str) -> ApiError:
    return ApiError(status, {"detail": detail})


def standard_error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> ApiError:
    return ApiError(
        status,
        {"object": "error", "message": message, "type": type_, "param": param, "code": code},
    )


def invalid_model(model: str) -> ApiError:
    # The platform's answer to an unknown model on the inference routes.
    return standard_error(400, f"Invalid model: {model}", type_="invalid_model", code="1500")


def request_id() -> str:
    return secrets.token_hex(16)


def gateway_body(message: str) -> dict[str, Any]:
    return {"message": message, "request_id": request_id()}


def validation_detail(
    loc: list[str | int], msg: str, input_: Any, *, type_: str = "value_error"
) -> dict[str, Any]:
    """One entry of a 422 detail list, shaped as pydantic/FastAPI shape them."""
    entry: dict[str, Any] = {"type": type_, "loc": loc, "msg": msg, "input": input_}
    if type_ == "value_error":
        entry["msg"] = f"Value error, {msg}"
        entry["ctx"] = {"error": msg}
    return entry


def unprocessable(entries: list[dict[str, Any]]) -> ApiError:
    return ApiError(422, {"detail": entries})


async def _render_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _render_api_error)
