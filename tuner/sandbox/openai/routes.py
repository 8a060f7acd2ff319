"""HTTP routes of the OpenAI-dialect sandbox: parse, call :class:`OpenAISandbox`, return JSON.

Paths are OpenAI's (``/v1/files``, ``/v1/fine_tuning/jobs`` with ``/events``, ``/checkpoints``,
``/cancel``, ``/pause``, ``/resume``, ``/v1/chat/completions``), plus the sandbox's own clock
and health endpoints under ``/sandbox/``. Errors use OpenAI's ``{"error": {...}}`` body.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from tuner.sandbox.clock import ManualClock
from tuner.sandbox.errors import ApiError
from tuner.sandbox.openai import chat as openai_chat
from tuner.sandbox.openai.service import (
    DEFAULT_PAGE,
    MAX_PAGE,
    OpenAISandbox,
    file_out,
    openai_error,
)
from tuner.sandbox.uploads import BadUpload, UploadTooLarge, declared_too_large, drain, receive_form

JSON = dict[str, Any]
# The per-file upload limit of OpenAI's Files API for fine-tuning data.
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
# OpenAI lists up to 10,000 files per page (and that is the default).
MAX_FILES_PAGE = 10_000


def _sandbox(request: Request) -> OpenAISandbox:
    return cast(OpenAISandbox, request.app.state.sandbox)


def _owner(request: Request) -> str:
    return cast(str, request.state.owner)


SandboxDep = Annotated[OpenAISandbox, Depends(_sandbox)]
OwnerDep = Annotated[str, Depends(_owner)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]

router = APIRouter()


# ------------------------------------------------------------------------------------- files


@router.post("/v1/files")
async def upload_file(request: Request, sandbox: SandboxDep, owner: OwnerDep) -> JSON:
    limit = cast(int, request.app.state.max_upload_bytes)
    body = request.stream()
    too_large = openai_error(413, "The file is larger than the upload limit.", param="file")
    if declared_too_large(request.headers.get("content-length"), limit):
        await drain(body)
        raise too_large
    try:
        form = await receive_form(request.headers.get("content-type"), body, sandbox.store, limit)
    except UploadTooLarge:
        await drain(body)
        raise too_large from None
    except BadUpload as exc:
        raise openai_error(400, f"Malformed upload: {exc}.") from None
    except ClientDisconnect:
        raise openai_error(400, "The upload was interrupted.") from None
    if form.file is None:
        raise openai_error(400, "Missing required parameter: 'file'.", param="file")
    received = form.file
    try:
        return await run_in_threadpool(sandbox.add_file, received, form.fields, owner)
    finally:
        received.path.unlink(missing_ok=True)


@router.get("/v1/files")
def list_files(
    sandbox: SandboxDep,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_FILES_PAGE)] = MAX_FILES_PAGE,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    purpose: str | None = None,
) -> JSON:
    return sandbox.list_files(after=after, limit=limit, order=order, purpose=purpose)


@router.get("/v1/files/{file_id}")
def get_file(file_id: str, sandbox: SandboxDep) -> JSON:
    return file_out(sandbox.file(file_id))


@router.delete("/v1/files/{file_id}")
def delete_file(file_id: str, sandbox: SandboxDep) -> JSON:
    return sandbox.delete_file(file_id)


@router.get("/v1/files/{file_id}/content")
def file_content(file_id: str, sandbox: SandboxDep) -> FileResponse:
    return FileResponse(sandbox.file_path(file_id), media_type="application/octet-stream")


# -------------------------------------------------------------------------------------- jobs


async def _json_body(request: Request) -> JSON:
    try:
        value = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise openai_error(400, "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise openai_error(400, "The request body must be a JSON object.")
    return value


@router.post("/v1/fine_tuning/jobs")
async def create_job(request: Request, sandbox: SandboxDep, owner: OwnerDep) -> JSON:
    body = await _json_body(request)
    return await run_in_threadpool(sandbox.create_job, body, owner)


@router.get("/v1/fine_tuning/jobs")
def list_jobs(
    request: Request, sandbox: SandboxDep, after: str | None = None, limit: Limit = DEFAULT_PAGE
) -> JSON:
    # ``metadata[k]=v`` query pairs filter by metadata (OpenAI's deep-object syntax).
    metadata = {
        name[len("metadata[") : -1]: value
        for name, value in request.query_params.multi_items()
        if name.startswith("metadata[") and name.endswith("]")
    }
    return sandbox.list_jobs(after=after, limit=limit, metadata=metadata)


@router.get("/v1/fine_tuning/jobs/{job_id}")
def get_job(job_id: str, sandbox: SandboxDep) -> JSON:
    return sandbox.get_job(job_id)


@router.post("/v1/fine_tuning/jobs/{job_id}/cancel")
def cancel_job(job_id: str, sandbox: SandboxDep) -> JSON:
    return sandbox.cancel_job(job_id)


@router.post("/v1/fine_tuning/jobs/{job_id}/pause")
def pause_job(job_id: str, sandbox: SandboxDep) -> JSON:
    return sandbox.pause_job(job_id)


@router.post("/v1/fine_tuning/jobs/{job_id}/resume")
def resume_job(job_id: str, sandbox: SandboxDep) -> JSON:
    return sandbox.resume_job(job_id)


@router.get("/v1/fine_tuning/jobs/{job_id}/events")
def job_events(
    job_id: str, sandbox: SandboxDep, after: str | None = None, limit: Limit = DEFAULT_PAGE
) -> JSON:
    return sandbox.events(job_id, after=after, limit=limit)


@router.get("/v1/fine_tuning/jobs/{job_id}/checkpoints")
def job_checkpoints(
    job_id: str, sandbox: SandboxDep, after: str | None = None, limit: Limit = 10
) -> JSON:
    return sandbox.checkpoints(job_id, after=after, limit=limit)


# -------------------------------------------------------------------------------------- chat


@router.post("/v1/chat/completions", response_model=None)
async def chat(request: Request, sandbox: SandboxDep) -> JSON | StreamingResponse:
    body = await _json_body(request)
    result = await run_in_threadpool(openai_chat.answer, sandbox, body)
    if body.get("stream") is True:
        chunks = openai_chat.stream_chunks(result, include_usage=openai_chat.wants_usage(body))
        return StreamingResponse(chunks, media_type="text/event-stream")
    return openai_chat.completion_body(result)


# --------------------------------------------------------------------------- sandbox control


@router.get("/sandbox/clock")
def clock_now(sandbox: SandboxDep) -> JSON:
    return {
        "now": sandbox.now(),
        "manual": isinstance(sandbox.clock, ManualClock),
        "speed": getattr(sandbox.clock, "speed", None),
        "provider": "openai",
    }


@router.post("/sandbox/clock/advance")
async def clock_advance(request: Request, sandbox: SandboxDep) -> JSON:
    body = await _json_body(request)
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise openai_error(400, "'seconds' must be a non-negative number.", param="seconds")
    if not isinstance(sandbox.clock, ManualClock):
        raise openai_error(
            409,
            "The sandbox clock follows the wall clock; start it with a manual clock to move "
            "time by hand.",
        )
    sandbox.clock.advance(float(seconds))
    return {"now": sandbox.now()}


@router.get("/sandbox/health")
def health() -> Response:
    return Response(b'{"status":"ok","provider":"openai"}', media_type="application/json")


# ------------------------------------------------------------------------------ error bodies


async def _render_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)


async def _render_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
    error = openai_error(400, f"Invalid value for {where!r}: {first.get('msg', 'invalid')}.")
    error.body["error"]["param"] = where
    return JSONResponse(error.body, status_code=400)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _render_api_error)
    app.add_exception_handler(RequestValidationError, _render_invalid)
