"""HTTP routes: parse, call :class:`~tuner.sandbox.service.Sandbox`, return the wire shape.

Paths, parameters and status codes follow ``docs/api.md`` (files, jobs, models, chat,
embeddings). Path ids are typed as UUIDs (the OAS declares ``format: uuid``), so a malformed id
is a 422, as on the platform. Handlers
that may block (validation, token counting, disk) are plain functions, which FastAPI runs in its
thread pool; the upload handler is async because it streams the request body.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from tuner.sandbox import inference, wire
from tuner.sandbox.clock import ManualClock
from tuner.sandbox.errors import ApiError, detail_error, gateway_body, unprocessable
from tuner.sandbox.lifecycle import Status
from tuner.sandbox.requests import ChatIn, ClockAdvanceIn, EmbeddingIn, JobIn, ModelUpdateIn
from tuner.sandbox.service import Sandbox
from tuner.sandbox.uploads import (
    BadUpload,
    UploadTooLarge,
    declared_too_large,
    drain,
    receive_form,
)

JSON = dict[str, Any]
SampleType = Literal["pretrain", "instruct", "batch_request", "batch_result", "batch_error"]
Source = Literal["upload", "repository", "mistral"]
Purpose = Literal["fine-tune", "batch", "ocr"]


def _sandbox(request: Request) -> Sandbox:
    return cast(Sandbox, request.app.state.sandbox)


def _owner(request: Request) -> str:
    # Set by the auth middleware from the API key.
    return cast(str, request.state.owner)


SandboxDep = Annotated[Sandbox, Depends(_sandbox)]
OwnerDep = Annotated[str, Depends(_owner)]
Page = Annotated[int, Query(ge=0)]
PageSize = Annotated[int, Query(ge=1)]

router = APIRouter()


# ---------------------------------------------------------------------------- files


def _too_large() -> ApiError:
    # The gateway refuses oversized bodies, so the body has the gateway's shape (like its 401).
    return ApiError(413, gateway_body("Request Entity Too Large"))


@router.post("/v1/files")
async def upload_file(request: Request, sandbox: SandboxDep, owner: OwnerDep) -> JSON:
    limit = cast(int, request.app.state.max_upload_bytes)
    body = request.stream()
    if declared_too_large(request.headers.get("content-length"), limit):
        await drain(body)
        raise _too_large()
    try:
        form = await receive_form(request.headers.get("content-type"), body, sandbox.store, limit)
    except UploadTooLarge:
        await drain(body)
        raise _too_large() from None
    except BadUpload as exc:
        raise detail_error(400, f"Malformed upload: {exc}.") from None
    except ClientDisconnect:
        # The client went away mid-upload: nobody to answer, nothing kept.
        raise detail_error(400, "The upload was interrupted.") from None
    if form.file is None:
        raise unprocessable(
            [{"type": "missing", "loc": ["body", "file"], "msg": "Field required", "input": None}]
        )
    received = form.file
    try:
        record = await run_in_threadpool(sandbox.add_file, received, form.fields, owner)
    finally:
        # A kept file was moved into the store; anything left behind was refused.
        received.path.unlink(missing_ok=True)
    return wire.file_out(record)


@router.get("/v1/files")
def list_files(
    sandbox: SandboxDep,
    page: Page = 0,
    page_size: PageSize = 100,
    include_total: bool = True,
    sample_type: Annotated[list[SampleType] | None, Query()] = None,
    source: Annotated[list[Source] | None, Query()] = None,
    search: str | None = None,
    purpose: Purpose | None = None,
    mimetypes: Annotated[list[str] | None, Query()] = None,
) -> JSON:
    return sandbox.list_files(
        page=page,
        page_size=page_size,
        include_total=include_total,
        sample_types=sample_type or [],
        sources=source or [],
        search=search,
        purpose=purpose,
        mimetypes=mimetypes or [],
    )


@router.get("/v1/files/{file_id}")
def get_file(file_id: uuid.UUID, sandbox: SandboxDep) -> JSON:
    return wire.file_out(sandbox.file(file_id, include_deleted=True), with_deleted=True)


@router.delete("/v1/files/{file_id}")
def delete_file(file_id: uuid.UUID, sandbox: SandboxDep) -> JSON:
    return sandbox.delete_file(file_id)


@router.get("/v1/files/{file_id}/content")
def file_content(file_id: uuid.UUID, sandbox: SandboxDep) -> FileResponse:
    _, path = sandbox.file_content(file_id)
    return FileResponse(path, media_type="application/octet-stream")


@router.get("/v1/files/{file_id}/url")
def file_url(file_id: uuid.UUID, request: Request, sandbox: SandboxDep, expiry: int = 24) -> JSON:
    return sandbox.signed_url(file_id, expiry, str(request.base_url))


@router.get("/sandbox/blobs/{file_id}")
def signed_blob(
    file_id: str,
    sandbox: SandboxDep,
    se: Annotated[int, Query()],
    sig: Annotated[str, Query()],
) -> FileResponse:
    """A signed URL's bytes: ``se`` (expiry) and ``sig`` as in the platform's Azure SAS URLs."""
    filename, path = sandbox.signed_content(file_id, se, sig)
    return FileResponse(path, media_type="application/octet-stream", filename=filename)


# ---------------------------------------------------------------------------- jobs


@router.post("/v1/fine_tuning/jobs")
def create_job(body: JobIn, sandbox: SandboxDep, owner: OwnerDep) -> JSON:
    raw = body.model_dump(mode="json", exclude_unset=True)
    return sandbox.create_job(body, raw, owner)


@router.get("/v1/fine_tuning/jobs")
def list_jobs(
    sandbox: SandboxDep,
    owner: OwnerDep,
    page: Page = 0,
    page_size: PageSize = 100,
    model: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    created_by_me: bool = False,
    status: Status | None = None,
    wandb_project: str | None = None,
    wandb_name: str | None = None,
    suffix: str | None = None,
) -> JSON:
    return sandbox.list_jobs(
        page=page,
        page_size=page_size,
        owner=owner,
        model=model,
        created_after=created_after,
        created_before=created_before,
        created_by_me=created_by_me,
        status=status,
        wandb_project=wandb_project,
        wandb_name=wandb_name,
        suffix=suffix,
    )


@router.get("/v1/fine_tuning/jobs/{job_id}")
def get_job(job_id: uuid.UUID, sandbox: SandboxDep) -> JSON:
    return sandbox.job_detail(job_id)


@router.post("/v1/fine_tuning/jobs/{job_id}/start")
def start_job(job_id: uuid.UUID, sandbox: SandboxDep) -> JSON:
    return sandbox.start_job(job_id)


@router.post("/v1/fine_tuning/jobs/{job_id}/cancel")
def cancel_job(job_id: uuid.UUID, sandbox: SandboxDep) -> JSON:
    return sandbox.cancel_job(job_id)


# ---------------------------------------------------------------------------- models


@router.get("/v1/models")
def list_models(sandbox: SandboxDep, provider: str | None = None, model: str | None = None) -> JSON:
    # ``provider`` and ``model`` exist in the OAS with undocumented semantics: accepted, unused.
    return sandbox.list_models()


@router.get("/v1/models/{model_id}")
def get_model(model_id: str, sandbox: SandboxDep) -> JSON:
    return sandbox.model_card(model_id)


@router.delete("/v1/models/{model_id}")
def delete_model(model_id: str, sandbox: SandboxDep) -> JSON:
    return sandbox.delete_model(model_id)


@router.patch("/v1/fine_tuning/models/{model_id}")
def update_model(model_id: str, body: ModelUpdateIn, sandbox: SandboxDep) -> JSON:
    return sandbox.update_model(model_id, body.model_dump(exclude_unset=True))


@router.post("/v1/fine_tuning/models/{model_id}/archive")
def archive_model(model_id: str, sandbox: SandboxDep) -> JSON:
    return sandbox.set_archived(model_id, True)


@router.delete("/v1/fine_tuning/models/{model_id}/archive")
def unarchive_model(model_id: str, sandbox: SandboxDep) -> JSON:
    return sandbox.set_archived(model_id, False)


# ---------------------------------------------------------------------------- inference


@router.post("/v1/chat/completions", response_model=None)
def chat(body: ChatIn, sandbox: SandboxDep) -> JSON | StreamingResponse:
    result = inference.answer(sandbox, body)
    choices = body.n or 1
    if body.stream:
        return StreamingResponse(
            inference.stream_chunks(result, choices), media_type="text/event-stream"
        )
    return inference.completion_body(result, choices)


@router.post("/v1/embeddings")
def embeddings(body: EmbeddingIn, sandbox: SandboxDep) -> JSON:
    return inference.embeddings(sandbox, body)


# ---------------------------------------------------------------------------- sandbox control


@router.get("/sandbox/clock")
def clock_now(sandbox: SandboxDep) -> JSON:
    clock = sandbox.clock
    return {
        "now": sandbox.now(),
        "manual": isinstance(clock, ManualClock),
        "speed": getattr(clock, "speed", None),
    }


@router.post("/sandbox/clock/advance")
def clock_advance(body: ClockAdvanceIn, sandbox: SandboxDep) -> JSON:
    clock = sandbox.clock
    if not isinstance(clock, ManualClock):
        raise detail_error(
            409,
            "The sandbox clock follows the wall clock; start the sandbox with a manual clock "
            "to move time by hand.",
        )
    clock.advance(body.seconds)
    return {"now": sandbox.now()}


@router.get("/sandbox/health")
def health() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")
