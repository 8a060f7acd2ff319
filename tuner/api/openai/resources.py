"""OpenAI's resource groups: files, fine-tuning jobs (events, checkpoints), chat.

Paths are relative to the base URL, which carries OpenAI's ``/v1`` (``OPENAI_BASE_URL``).
Every call goes through the shared :class:`~tuner.api.transport.Transport` (retries, key pool,
error mapping, sandbox detection).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from tuner.api.multipart import DEFAULT_CHUNK_SIZE, UploadProgress, build_upload
from tuner.api.openai.params import OpenAIJobCreate
from tuner.api.openai.wire import (
    CheckpointList,
    EventList,
    FileDeleted,
    FileList,
    FineTuningJob,
    JobCheckpoint,
    JobEvent,
    JobList,
    OpenAIFile,
)
from tuner.api.pagination import AsyncCursorPager, CursorPage
from tuner.api.resources._common import JobResource, Resource, TunedModelKey, segment
from tuner.api.sentinel import NOT_GIVEN, NotGiven
from tuner.api.transport import RequestSpec
from tuner.api.wire import ChatCompletion

logger = logging.getLogger("tuner.api")

FILES_PATH = "/files"
JOBS_PATH = "/fine_tuning/jobs"
CHAT_PATH = "/chat/completions"
CLOCK_SKEW_ALLOWANCE = 120.0
"""Seconds allowed between our clock and the server's when looking for a job we may have made."""
_LOOKUP_LIMIT = 50


class Files(Resource):
    async def upload(
        self,
        path: str | os.PathLike[str],
        *,
        purpose: str = "fine-tune",
        filename: str | None = None,
        progress: UploadProgress | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> OpenAIFile:
        """Upload ``path`` streamed from disk. OpenAI does not check the data's format here:
        a malformed training file is accepted and fails the job that uses it."""
        upload = build_upload(
            path,
            fields={"purpose": purpose},
            filename=filename,
            chunk_size=chunk_size,
            progress=progress,
        )
        sent = await self._transport.request(
            RequestSpec(
                "POST",
                FILES_PATH,
                content=upload.body,
                headers=upload.headers(),
                timeout=self._transport.timeouts.for_upload(),
            )
        )
        uploaded = sent.parse(OpenAIFile)
        self._transport.keys.record_owner(uploaded.id, sent.key)
        return uploaded

    def list(
        self,
        *,
        purpose: str | NotGiven = NOT_GIVEN,
        order: str | NotGiven = NOT_GIVEN,
        after: str | None = None,
        limit: int = 100,
    ) -> AsyncCursorPager[OpenAIFile]:
        async def fetch(cursor: str | None, size: int) -> CursorPage[OpenAIFile]:
            params = {"purpose": purpose, "order": order, "after": cursor, "limit": size}
            sent = await self._transport.request(RequestSpec("GET", FILES_PATH, params=params))
            listing = sent.parse(FileList)
            return CursorPage(listing.data, listing.has_more)

        return AsyncCursorPager(fetch, after=after, limit=limit, identity=_id)

    async def get(self, file_id: str) -> OpenAIFile:
        sent = await self._transport.request(self._about(file_id, "GET"))
        return sent.parse(OpenAIFile)

    async def delete(self, file_id: str) -> FileDeleted:
        sent = await self._transport.request(self._about(file_id, "DELETE"))
        return sent.parse(FileDeleted)

    async def content(self, file_id: str) -> bytes:
        """The file's bytes (small files: training data and result CSVs)."""
        sent = await self._transport.request(self._about(file_id, "GET", "/content"))
        return sent.response.content

    def _about(self, file_id: str, method: str, tail: str = "") -> RequestSpec:
        return RequestSpec(
            method,
            f"{FILES_PATH}/{segment(file_id)}{tail}",
            prefer_key=self._transport.keys.owner_of(file_id),
        )


class Jobs(JobResource[FineTuningJob]):
    _jobs_path = JOBS_PATH
    _job_shape = FineTuningJob
    # The tuned model is filed under the key that answered about the job (its owner, unless
    # that key was resting or removed), and the owner hook is told, as for a created resource.
    _tuned_model_key = TunedModelKey.ANSWERING_KEY
    # A 409 from OpenAI is not read as a duplicate of our own job: it is raised as it comes.
    _conflict_may_be_ours = False

    async def create(self, spec: OpenAIJobCreate) -> FineTuningJob:
        """Create a job, which OpenAI starts at once (there is no separate start).

        Never makes two jobs from one call: when an attempt may have reached the server
        unseen (a dropped connection after sending, a 5xx), the jobs created since the call
        began are searched for this one before anything is sent again.
        """
        request = RequestSpec("POST", JOBS_PATH, json=spec.to_body())
        return await self._create_once(request, lambda since: self.find_created(spec, since=since))

    async def find_created(self, spec: OpenAIJobCreate, *, since: float) -> FineTuningJob | None:
        """The job ``spec`` made at or after ``since`` (UNIX seconds), if the API lists one.

        OpenAI lists newest first and filters only by metadata, so the walk stops at the first
        job older than ``since``. A job does not echo its suffix; matching uses the model, the
        files, the method, and the seed and metadata when given."""
        earliest = since - CLOCK_SKEW_ALLOWANCE
        async for job in self.list(limit=_LOOKUP_LIMIT):
            if job.created_at is not None and job.created_at < earliest:
                return None
            if _made_by(job, spec):
                logger.info("job creation was uncertain; found the job it made: %s", job.id)
                return job
        return None

    def list(
        self,
        *,
        after: str | None = None,
        limit: int = 20,
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncCursorPager[FineTuningJob]:
        """Every job, newest first, following the ``after`` cursor page by page."""
        filters = {f"metadata[{key}]": value for key, value in (metadata or {}).items()}

        async def fetch(cursor: str | None, size: int) -> CursorPage[FineTuningJob]:
            params = {**filters, "after": cursor, "limit": size}
            sent = await self._transport.request(RequestSpec("GET", JOBS_PATH, params=params))
            listing = sent.parse(JobList)
            return CursorPage(listing.data, listing.has_more)

        return AsyncCursorPager(fetch, after=after, limit=limit, identity=_id)

    async def get(self, job_id: str) -> FineTuningJob:
        return await self._about(job_id, "GET", "")

    async def cancel(self, job_id: str) -> FineTuningJob:
        return await self._about(job_id, "POST", "/cancel")

    async def pause(self, job_id: str) -> FineTuningJob:
        return await self._about(job_id, "POST", "/pause")

    async def resume(self, job_id: str) -> FineTuningJob:
        return await self._about(job_id, "POST", "/resume")

    def events(
        self, job_id: str, *, after: str | None = None, limit: int = 100
    ) -> AsyncCursorPager[JobEvent]:
        """The job's events, newest first (``type`` "metrics" events carry step metrics)."""
        path = f"{JOBS_PATH}/{segment(job_id)}/events"
        return self._cursor(job_id, path, EventList, after=after, limit=limit)

    def checkpoints(
        self, job_id: str, *, after: str | None = None, limit: int = 10
    ) -> AsyncCursorPager[JobCheckpoint]:
        """The job's checkpoints (each callable as a model), newest first, with metrics."""
        path = f"{JOBS_PATH}/{segment(job_id)}/checkpoints"
        return self._cursor(job_id, path, CheckpointList, after=after, limit=limit)

    def _cursor(
        self,
        job_id: str,
        path: str,
        shape: type[EventList] | type[CheckpointList],
        *,
        after: str | None,
        limit: int,
    ) -> AsyncCursorPager[Any]:
        owner = self._transport.keys.owner_of(job_id)

        async def fetch(cursor: str | None, size: int) -> CursorPage[Any]:
            params = {"after": cursor, "limit": size}
            spec = RequestSpec("GET", path, params=params, prefer_key=owner)
            listing = (await self._transport.request(spec)).parse(shape)
            return CursorPage(list(listing.data), listing.has_more)

        return AsyncCursorPager(fetch, after=after, limit=limit, identity=_id)


class Chat(Resource):
    async def complete(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        temperature: float | NotGiven = NOT_GIVEN,
        max_completion_tokens: int | NotGiven = NOT_GIVEN,
        seed: int | NotGiven = NOT_GIVEN,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ChatCompletion:
        """One completion (not streamed). ``extra_body`` carries fields not named here."""
        body: dict[str, Any] = {"model": model, "messages": [dict(m) for m in messages]}
        given = {
            "temperature": temperature,
            "max_completion_tokens": max_completion_tokens,
            "seed": seed,
        }
        body.update({k: v for k, v in given.items() if not isinstance(v, NotGiven)})
        body.update(extra_body or {})
        spec = RequestSpec(
            "POST", CHAT_PATH, json=body, prefer_key=self._transport.keys.owner_of(model)
        )
        return (await self._transport.request(spec)).parse(ChatCompletion)


def _id(item: Any) -> str:
    return str(item.id)


def _made_by(job: FineTuningJob, spec: OpenAIJobCreate) -> bool:
    if job.model != spec.model or job.training_file != spec.training_file:
        return False
    if (job.validation_file or None) != spec.validation_file:
        return False
    if job.method is not None and job.method.type != spec.method:
        return False
    if job.user_provided_suffix is not None and job.user_provided_suffix != (spec.suffix or ""):
        return False
    if spec.seed is not None and job.seed != spec.seed:
        return False
    return spec.metadata is None or (job.metadata or {}) == dict(spec.metadata)
