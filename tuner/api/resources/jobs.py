"""``/v1/fine_tuning/jobs``: create (with the duplicate guard), paged listing, get, start, cancel.

Creating a job is not blindly retried. If an attempt may have reached the server without us
seeing the answer (the connection dropped or timed out after sending, or a 5xx), the job may
exist already; resending would make a second, billed job. So before any resend, and when a
resend meets 409 (the duplicate of an active job), the client looks for the job it may have
created (same model, suffix and training files, created after the call began) and returns it.
Only when nothing is found is the create sent again.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime

from tuner.api.pagination import AsyncPager, Page
from tuner.api.params import JobCreate
from tuner.api.resources._common import JobResource, TunedModelKey
from tuner.api.sentinel import NOT_GIVEN, NotGiven
from tuner.api.transport import RequestSpec
from tuner.api.wire import DryRunMetadata, Job, JobList, JobStatus

logger = logging.getLogger("tuner.api")

JOBS_PATH = "/v1/fine_tuning/jobs"
CLOCK_SKEW_ALLOWANCE = 120.0
"""Seconds subtracted from our start time when searching for a job we may have created: the
server's clock, not ours, stamps ``created_at``."""
_LOOKUP_PAGE_SIZE = 50


class Jobs(JobResource[Job]):
    _jobs_path = JOBS_PATH
    _job_shape = Job
    # The model a job made belongs with the key that made the job.
    _tuned_model_key = TunedModelKey.JOB_OWNER
    # 409 answers a duplicate of an active job (module doc).
    _conflict_may_be_ours = True

    async def dry_run(self, spec: JobCreate) -> DryRunMetadata:
        """The server's figures for ``spec`` (``?dry_run=true``): cost, tokens, steps; no job is
        created. The OAS keeps the parameter although the docs announced its removal."""
        request = RequestSpec(
            "POST",
            JOBS_PATH,
            json=spec.to_body(),
            params={"dry_run": "true"},
            secrets=spec.secrets(),
        )
        sent = await self._transport.request(request)
        return sent.parse(DryRunMetadata)

    async def create(self, spec: JobCreate) -> Job:
        """Create a job from ``spec``; one spec never makes two jobs (see the module doc)."""
        request = RequestSpec("POST", JOBS_PATH, json=spec.to_body(), secrets=spec.secrets())
        return await self._create_once(request, lambda since: self.find_created(spec, since=since))

    async def find_created(self, spec: JobCreate, *, since: float) -> Job | None:
        """The job ``spec`` made at or after ``since`` (UNIX seconds), if the API lists one."""
        earliest = since - CLOCK_SKEW_ALLOWANCE
        suffix = spec.suffix if isinstance(spec.suffix, str) else NOT_GIVEN
        listing = self.list(
            model=spec.model,
            suffix=suffix,
            created_after=datetime.fromtimestamp(earliest, UTC),
            page_size=_LOOKUP_PAGE_SIZE,
        )
        async for job in listing:
            if _made_by(job, spec, earliest):
                logger.info("job creation was uncertain; found the job it made: %s", job.id)
                return job
        return None

    def list(
        self,
        *,
        page: int = 0,
        page_size: int = 100,
        model: str | NotGiven = NOT_GIVEN,
        created_after: datetime | NotGiven = NOT_GIVEN,
        created_before: datetime | NotGiven = NOT_GIVEN,
        created_by_me: bool | NotGiven = NOT_GIVEN,
        status: JobStatus | str | NotGiven = NOT_GIVEN,
        wandb_project: str | NotGiven = NOT_GIVEN,
        wandb_name: str | NotGiven = NOT_GIVEN,
        suffix: str | NotGiven = NOT_GIVEN,
    ) -> AsyncPager[Job]:
        """Every job matching the filters, page by page (``page`` is where to start)."""
        filters: dict[str, object] = {
            "model": model,
            "created_after": _iso(created_after),
            "created_before": _iso(created_before),
            "created_by_me": created_by_me,
            "status": str(status) if isinstance(status, str) else status,
            "wandb_project": wandb_project,
            "wandb_name": wandb_name,
            "suffix": suffix,
        }

        async def fetch(page_number: int, size: int) -> Page[Job]:
            params = {**filters, "page": page_number, "page_size": size}
            sent = await self._transport.request(RequestSpec("GET", JOBS_PATH, params=params))
            listing = sent.parse(JobList)
            return Page(listing.data, listing.total)

        return AsyncPager(fetch, first_page=page, page_size=page_size, identity=_job_id)

    async def get(self, job_id: str) -> Job:
        """The detailed job: with events and checkpoints."""
        return await self._about(job_id, "GET", "")

    async def start(self, job_id: str) -> Job:
        """Start a validated job that was created with ``auto_start=False``."""
        return await self._about(job_id, "POST", "/start")

    async def cancel(self, job_id: str) -> Job:
        return await self._about(job_id, "POST", "/cancel")


def _made_by(job: Job, spec: JobCreate, earliest: float) -> bool:
    if job.model != spec.model:
        return False
    wanted_suffix = spec.suffix if isinstance(spec.suffix, str) else None
    if (job.suffix or None) != (wanted_suffix or None):
        return False
    if job.created_at is not None and job.created_at < earliest:
        return False
    return Counter(job.training_files) == Counter(spec.training_file_ids())


def _iso(value: datetime | NotGiven) -> str | NotGiven:
    if isinstance(value, NotGiven):
        return value
    # A naive datetime is local time (Python's convention); the API gets an explicit offset.
    return value.astimezone(UTC).isoformat()


def _job_id(item: Job) -> str:
    return item.id
