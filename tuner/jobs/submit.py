"""The submission queue's submitter: queued job specs become jobs, each exactly once.

Specs wait in the ledger's durable queue (pending → submitting → submitted or failed). One
:meth:`Submitter.cycle` does, under a ledger lease so that a daemon and a ``tuner jobs create``
never drain at the same time:

1. refresh the jobs the ledger thinks are active (one GET each), so the concurrency limit counts
   what the platform says, not what an old run recorded;
2. start the VALIDATED jobs whose start was agreed to when they were queued (a sweep's members),
   after checking the server's cost against the agreed budget;
3. reconcile abandoned entries (see below);
4. claim pending entries, oldest first, while fewer than ``max_active`` jobs are active, and
   create each job with ``auto_start=False``.

Exactly once: an entry is marked *submitting* before its create is sent and *submitted* (with
the job id) once the job is recorded. If the process dies in between, the entry stays
submitting; the next cycle looks the job up on the API (same model, suffix, files and
hyperparameters, created after the entry was claimed, not already another entry's job) and
records it, or puts the entry back in line when there is none. A create whose outcome is unknown
after the client's own retries is handled the same way. Nothing is ever sent twice while a
lookup could still find the first job.

Each queued spec is the API request body (secrets stripped) plus a ``"tuner"`` object,
:class:`SubmissionMeta`: whether the job may be started unattended and within which budget.

The submitter runs on an event loop (the CLI's, the daemon's, the dashboard's): it reaches the
ledger only through ``ledger.aio``, so the loop never waits on the database.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, Protocol, TypedDict, TypeVar, Unpack

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from tuner.api import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    Job,
    JobCreate,
    NotFoundError,
    TunerClient,
    WandbIntegration,
)
from tuner.api.resources.jobs import CLOCK_SKEW_ALLOWANCE
from tuner.datasets.pricing import MINIMUM_FEE_USD
from tuner.jobs.ledger import Ledger, strip_secrets
from tuner.jobs.liveness import describe_holder, make_owner, take_lease
from tuner.jobs.records import JobRecord, LeaseRecord, QueueEntry

logger = logging.getLogger("tuner.jobs")

DUPLICATE_HINT = (
    "(the same job already exists on the server: start it with `tuner jobs start ID` or "
    "cancel it with `tuner jobs cancel ID`, or change the spec)"
)

DEFAULT_MAX_ACTIVE = 3
"""Jobs allowed to be active (not terminal, not parked) at once, by default."""
MAX_ATTEMPTS = 8
"""Claims of one entry before a still-failing submission is given up."""
LEASE_NAME = "submission-queue"
LEASE_TTL_S = 120
"""Short: the holder renews it after every API call of a cycle (its heartbeat), so a holder
killed on another host blocks the queue for two minutes at most; one killed on this host is
taken over at once (``tuner.jobs.liveness``)."""
META_KEY = "tuner"

StartPolicy = Literal["approved", "confirm", "manual", "refused"]
"""approved: start unattended once VALIDATED, within the budget; confirm: the command that
queued it asks; manual: leave it VALIDATED (``auto_start = false``); refused: over budget."""


class SubmissionMeta(BaseModel):
    """What tuner adds to a queued request: the start policy and the agreed budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: StartPolicy = "manual"
    max_cost: float | None = None
    """The most one job may cost (billed, with the minimum fee)."""
    max_total: float | None = None
    """The most a sweep's started members may cost together."""
    estimated_cost: float | None = None
    """The local estimate that was agreed to (billed)."""
    source: str | None = None
    member_index: int | None = None
    sweep_values: dict[str, Any] = Field(default_factory=dict)
    refused: str | None = None
    """Why the job was not started (over budget)."""


def submission_spec(request: JobCreate, meta: SubmissionMeta) -> dict[str, Any]:
    """The queued form of a request: its body without secrets, plus tuner's own fields."""
    body = strip_secrets(request)
    assert isinstance(body, dict)
    body[META_KEY] = meta.model_dump(mode="json")
    return body


def request_body(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A queued spec without tuner's own fields: what is sent to the API (secrets stripped)."""
    return {key: value for key, value in spec.items() if key != META_KEY}


def meta_of(spec: Mapping[str, Any] | None) -> SubmissionMeta | None:
    """The tuner fields of a queued or recorded spec; None for jobs made outside tuner."""
    if not spec or not isinstance(spec.get(META_KEY), Mapping):
        return None
    try:
        return SubmissionMeta.model_validate(spec[META_KEY])
    except ValidationError:
        return None


def with_meta(spec: Mapping[str, Any], meta: SubmissionMeta) -> dict[str, Any]:
    return {**spec, META_KEY: meta.model_dump(mode="json")}


def request_from(spec: Mapping[str, Any], *, wandb_key: SecretStr | None) -> JobCreate:
    """The API request for a queued spec; the W&B key (never stored) is added back here.

    Raises ``ValueError`` when the spec is no longer a valid request or needs a missing key.
    """
    body = request_body(spec)
    integrations = body.get("integrations")
    if isinstance(integrations, list):
        body["integrations"] = [_with_key(item, wandb_key) for item in integrations]
    try:
        return JobCreate.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"the queued spec is not a valid job: {where}: {first['msg']}") from None


def _with_key(item: object, key: SecretStr | None) -> object:
    if not isinstance(item, Mapping) or item.get("type", "wandb") != "wandb":
        return item
    if key is None:
        raise ValueError("the job has a W&B integration: set WANDB_API_KEY")
    return WandbIntegration(**{**item, "api_key": key})


def billed_cost(cost: float | None, *, minimum: float = MINIMUM_FEE_USD) -> float | None:
    """What a job is billed: its token cost, but at least the per-job minimum fee."""
    return None if cost is None else max(float(cost), minimum)


def server_cost(record: JobRecord) -> float | None:
    """The billed cost from the job's server ``metadata`` (None before validation)."""
    cost = (record.metadata or {}).get("cost")
    return billed_cost(cost) if isinstance(cost, int | float) else None


SubmissionKind = Literal["submitted", "recovered", "requeued", "failed", "uncertain"]


EntryJob = TypeVar("EntryJob")


@dataclass(frozen=True)
class EntryOutcome(Generic[EntryJob]):
    """What happened to one queue entry in a cycle (each provider names its job type)."""

    entry_id: int
    kind: SubmissionKind
    job: EntryJob | None = None
    error: str | None = None


class Submission(EntryOutcome[Job]):
    """What happened to one Mistral queue entry in a cycle."""


@dataclass
class CycleReport:
    submissions: list[Submission] = field(default_factory=list)
    started: list[Job] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(job id, reason) of approved jobs left VALIDATED because of the budget."""
    errors: list[str] = field(default_factory=list)
    """API failures that were tolerated; the next cycle tries again."""
    busy: bool = False
    """Another process holds the queue; nothing was done."""
    holder: LeaseRecord | None = None
    """Who held the queue when it was busy (``host:pid:…`` and until when)."""
    took_over_from: str | None = None
    """A gone process of this host whose queue lease this cycle took over."""

    @property
    def created(self) -> list[Job]:
        return [s.job for s in self.submissions if s.job is not None]


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


class _HasKind(Protocol):
    @property
    def kind(self) -> str: ...


JobT = TypeVar("JobT", bound=_HasId)
OutcomeT = TypeVar("OutcomeT", bound=_HasKind)


class _Submissions(Protocol[OutcomeT]):
    submissions: list[OutcomeT]


ReportT = TypeVar("ReportT", bound=_Submissions[Any])


class DrainerLimits(TypedDict, total=False):
    """A submitter's constructor options that do not depend on the provider: how many jobs
    may be active (``max_active``), the lease ``owner`` (made up when None), how many
    attempts an entry gets (``max_attempts``), and the process's shared ``cycle_lock``."""

    max_active: int
    owner: str | None
    max_attempts: int
    cycle_lock: asyncio.Lock | None


class QueueDrainer(ABC, Generic[JobT, OutcomeT, ReportT]):
    """The queue bookkeeping every provider's submitter shares: taking turns for a cycle,
    renewing its lease, claiming entries while there is room, and settling an entry
    (submitted, failed, queued again).

    A subclass sets where it logs and how it names its entries, and says what one cycle does
    (``_cycle``), how a job is recorded (``record``), how an entry's create is sent
    (``submit``), which jobs count against ``max_active`` (``active_jobs``) and what one
    entry's outcome looks like (``_outcome``)."""

    provider: str
    lease_name: str
    entry_label: str
    """How log lines name an entry ("queue entry", "OpenAI queue entry")."""
    log: logging.Logger

    def __init__(
        self,
        ledger: Ledger,
        *,
        backend: str,
        clock: Callable[[], int],
        max_active: int = DEFAULT_MAX_ACTIVE,
        owner: str | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        cycle_lock: asyncio.Lock | None = None,
    ) -> None:
        if max_active < 1:
            raise ValueError("max_active must be at least 1")
        self.ledger = ledger
        self.backend = backend
        self.clock = clock
        self.max_active = max_active
        self.owner = owner or make_owner()
        self.max_attempts = max_attempts
        self.cycle_lock = cycle_lock
        """Shared by the submitters of one process (one dashboard, several creates): their
        cycles take turns instead of finding the lease busy and leaving their entries
        pending."""

    @abstractmethod
    async def record(
        self, job: JobT, *, spec: Mapping[str, Any] | None = None, sweep_id: str | None = None
    ) -> object:
        """Record one snapshot of a job of this provider in the ledger."""

    @abstractmethod
    async def submit(self, entry: QueueEntry) -> OutcomeT:
        """Send one claimed entry's create to the provider."""

    @abstractmethod
    async def _cycle(self, *, refresh: bool) -> ReportT:
        """One cycle, under the queue lease (``refresh``: bring the active jobs up to date)."""

    @abstractmethod
    async def active_jobs(self) -> list[JobRecord]:
        """The jobs of this submitter that count against ``max_active``."""

    @abstractmethod
    def _outcome(
        self,
        entry_id: int,
        kind: SubmissionKind,
        *,
        job: JobT | None = None,
        error: str | None = None,
    ) -> OutcomeT:
        """One entry's outcome, in this provider's result type."""

    async def cycle(self, *, refresh: bool = True) -> ReportT:
        """One cycle (see ``_cycle``), after the cycles of this process's other submitters
        that share ``cycle_lock``. API failures are reported, not raised, so a daemon keeps
        cycling through a flaky network (a rejected key is raised)."""
        if self.cycle_lock is None:
            return await self._cycle(refresh=refresh)
        async with self.cycle_lock:
            return await self._cycle(refresh=refresh)

    async def room(self) -> int:
        """How many more jobs may be active now."""
        return max(0, self.max_active - len(await self.active_jobs()))

    async def heartbeat(self) -> None:
        """Renew the queue lease (between API calls of a cycle): it outlives a live holder's
        slowest call, and lapses soon after the holder dies."""
        await self.ledger.aio.acquire_lease(self.lease_name, self.owner, LEASE_TTL_S, self.clock())

    async def drain(self, report: _Submissions[OutcomeT]) -> None:
        """Submit pending entries while there is room; stop at the first API failure."""
        while await self.room() > 0:
            entry = await self.ledger.aio.claim_next(self.clock(), provider=self.provider)
            if entry is None:
                return
            outcome = await self.submit(entry)
            report.submissions.append(outcome)
            if outcome.kind in ("requeued", "uncertain"):
                return  # the API is failing: the next cycle tries again
            await self.heartbeat()

    async def _submitted(self, entry: QueueEntry, job: JobT, kind: SubmissionKind) -> OutcomeT:
        await self.record(job, spec=entry.spec, sweep_id=entry.sweep_id)
        await self.ledger.aio.mark_submitted(entry.id, job.id, now=self.clock())
        return self._outcome(entry.id, kind, job=job)

    async def _failed(self, entry: QueueEntry, error: str) -> OutcomeT:
        await self.ledger.aio.mark_queue_failed(entry.id, error, now=self.clock())
        self.log.warning("%s %s failed: %s", self.entry_label, entry.id, error)
        return self._outcome(entry.id, "failed", error=error)

    async def _retry_later(self, entry: QueueEntry, error: str) -> OutcomeT:
        if entry.attempts >= self.max_attempts:
            return await self._failed(entry, f"gave up after {entry.attempts} attempts: {error}")
        await self.ledger.aio.mark_queue_failed(entry.id, error, now=self.clock(), retry=True)
        return self._outcome(entry.id, "requeued", error=error)


class Submitter(QueueDrainer[Job, Submission, CycleReport]):
    """Drains the submission queue against one backend (see the module doc)."""

    provider = "mistral"
    """The queue entries this submitter claims (each provider's submitter claims its own)."""
    lease_name = LEASE_NAME
    entry_label = "queue entry"
    log = logger

    def __init__(
        self,
        client: TunerClient,
        ledger: Ledger,
        *,
        backend: str,
        clock: Callable[[], int],
        wandb_key: SecretStr | None = None,
        **limits: Unpack[DrainerLimits],
    ) -> None:
        """``limits``: :class:`DrainerLimits`."""
        super().__init__(ledger, backend=backend, clock=clock, **limits)
        self.client = client
        self.wandb_key = wandb_key

    # -- the cycle --------------------------------------------------------------------------

    async def _cycle(self, *, refresh: bool) -> CycleReport:
        """Refresh, start agreed jobs, reconcile and drain."""
        report = CycleReport()
        outcome = await self.ledger.aio.call(
            take_lease, self.ledger, LEASE_NAME, self.owner, LEASE_TTL_S, self.clock()
        )
        if not outcome.taken:
            report.busy, report.holder = True, outcome.holder
            return report
        if outcome.took_over_from is not None:
            report.took_over_from = outcome.took_over_from
            logger.warning(
                "the submission queue was held by %s, a process on this host that is gone; "
                "took it over",
                outcome.took_over_from,
            )
        try:
            if refresh:
                await self.refresh_active(report)
            await self.start_approved(report)
            healthy = await self.reconcile_abandoned(report)
            if healthy:
                await self.drain(report)
        finally:
            await self.ledger.aio.release_lease(LEASE_NAME, self.owner)
        return report

    async def refresh_active(self, report: CycleReport) -> None:
        """Bring every job the ledger counts as active up to date with the API."""
        for record in await self.ledger.aio.list_jobs(active_only=True, backend=self.backend):
            await self.heartbeat()
            try:
                await self.record(await self.client.jobs.get(record.id))
            except NotFoundError:
                logger.warning("job %s is gone from the API; not counted as active", record.id)
            except APIError as error:
                report.errors.append(_tolerated(error, f"refreshing job {record.id}"))

    async def active_jobs(self) -> list[JobRecord]:
        """Jobs that count against the limit: not terminal, and not parked at VALIDATED.

        A job left VALIDATED for a person to start (or refused for its cost) uses no training
        capacity, and counting it would stall the queue behind a decision nobody is making.
        """
        active = await self.ledger.aio.list_jobs(active_only=True, backend=self.backend)
        return [record for record in active if not is_parked(record)]

    # -- one entry --------------------------------------------------------------------------

    async def submit(self, entry: QueueEntry) -> Submission:
        """Create the job of a claimed (submitting) entry and record it."""
        try:
            request = request_from(entry.spec, wandb_key=self.wandb_key)
        except ValueError as exc:
            return await self._failed(entry, str(exc))
        try:
            job = await self.client.jobs.create(request)
        except AuthenticationError:
            # Every key was refused at the gateway: no job was made, and the spec is not at
            # fault. Back in line, and the caller learns the configuration is broken.
            await self.ledger.aio.mark_queue_failed(
                entry.id, "no valid API key", now=self.clock(), retry=True
            )
            raise
        except ConflictError as error:
            # Typically the spec run again while its earlier job waits VALIDATED (declined,
            # or over budget on the server's figures): say what to do, not just "409".
            return await self._failed(entry, f"{error} {DUPLICATE_HINT}")
        except APIError as error:
            if not _is_transient(error):
                return await self._failed(entry, str(error))
            return await self._after_transient(entry, error)
        return await self._submitted(entry, job, "submitted")

    async def _after_transient(self, entry: QueueEntry, error: APIError) -> Submission:
        if not _may_have_created(error):
            return await self._retry_later(entry, str(error))
        # The create may have reached the server: look for the job before sending it again.
        try:
            found = await self.find_job(entry)
        except APIError as lookup_error:
            logger.warning("entry %s: job creation and lookup failed: %s", entry.id, lookup_error)
            return Submission(entry.id, "uncertain", error=str(error))  # stays submitting
        if found is not None:
            return await self._submitted(entry, found, "recovered")
        return await self._retry_later(entry, str(error))

    async def reconcile_abandoned(self, report: CycleReport) -> bool:
        """Settle entries left submitting by a process that died; False if the API failed.

        Only the lease holder submits, so a submitting entry seen under the lease is abandoned.
        """
        abandoned = await self.ledger.aio.entries_in_state("submitting", provider=self.provider)
        for entry in abandoned:
            try:
                found = await self.find_job(entry)
            except APIError as error:
                report.errors.append(_tolerated(error, f"reconciling queue entry {entry.id}"))
                return False
            if found is not None:
                report.submissions.append(await self._submitted(entry, found, "recovered"))
            else:
                await self.ledger.aio.requeue(entry.id, now=self.clock())
                logger.info("queue entry %s: no job was created; queued again", entry.id)
        return True

    async def find_job(self, entry: QueueEntry) -> Job | None:
        """The job this entry's create made, if the API lists one (see the module doc)."""
        spec = entry.spec
        # ``updated_at`` is when the entry was claimed (its create was sent after that).
        earliest = entry.updated_at - CLOCK_SKEW_ALLOWANCE
        submitted = await self.ledger.aio.entries_in_state("submitted")
        taken = {entry.job_id for entry in submitted if entry.job_id}
        suffix = spec.get("suffix")
        filters: dict[str, Any] = {"suffix": suffix} if isinstance(suffix, str) and suffix else {}
        listing = self.client.jobs.list(
            model=str(spec.get("model", "")),
            created_after=datetime.fromtimestamp(earliest, UTC),
            page_size=50,
            **filters,
        )
        async for job in listing:
            if job.id not in taken and job_matches(job, spec, earliest):
                logger.info("queue entry %s: found the job it created: %s", entry.id, job.id)
                return job
        return None

    def _outcome(
        self,
        entry_id: int,
        kind: SubmissionKind,
        *,
        job: Job | None = None,
        error: str | None = None,
    ) -> Submission:
        return Submission(entry_id, kind, job=job, error=error)

    # -- starting agreed jobs ---------------------------------------------------------------

    async def start_approved(self, report: CycleReport) -> None:
        """Start VALIDATED jobs queued with an agreed start, oldest first, within budget."""
        validated = await self.ledger.aio.list_jobs(status="VALIDATED", backend=self.backend)
        waiting = [
            record
            for record in validated
            if (meta := meta_of(record.spec)) is not None and meta.start == "approved"
        ]
        for record in reversed(waiting):  # list_jobs is newest first
            reason = await self.over_budget(record)
            if reason is not None:
                await self.refuse(record, reason)
                report.refused.append((record.id, reason))
                continue
            try:
                report.started.append(await self.start(record.id))
            except APIError as error:
                report.errors.append(_tolerated(error, f"starting job {record.id}"))

    async def over_budget(self, record: JobRecord) -> str | None:
        """Why starting this job would break the agreed budget, or None if it may start."""
        meta = meta_of(record.spec)
        if meta is None:
            return None
        cost = server_cost(record) or meta.estimated_cost
        if meta.max_cost is not None:
            if cost is None:
                return "its cost is unknown and a budget was set"
            if cost > meta.max_cost + 1e-9:
                return f"it costs {cost:.2f}, over the agreed {meta.max_cost:.2f} per job"
        if meta.max_total is not None and record.sweep_id is not None and cost is not None:
            spent = await self.sweep_spent(record.sweep_id, excluding=record.id)
            if spent + cost > meta.max_total + 1e-9:
                return (
                    f"the sweep's started jobs cost {spent:.2f}; this one ({cost:.2f}) would "
                    f"pass the agreed total of {meta.max_total:.2f}"
                )
        return None

    async def sweep_spent(self, sweep_id: str, *, excluding: str) -> float:
        """The billed cost of a sweep's members that were started."""
        members = await self.ledger.aio.list_jobs(sweep_id=sweep_id, backend=self.backend)
        return sum(
            server_cost(member) or 0.0
            for member in members
            if member.id != excluding and was_started(member)
        )

    async def refuse(self, record: JobRecord, reason: str) -> None:
        """Leave the job VALIDATED (parked) and remember why, so it is not tried again."""
        meta = meta_of(record.spec) or SubmissionMeta()
        spec = with_meta(
            record.spec or {}, meta.model_copy(update={"start": "refused", "refused": reason})
        )
        await self.ledger.aio.upsert_job(
            record.last_snapshot, backend=self.backend, now=self.clock(), spec=spec, notify=False
        )
        logger.warning("job %s not started: %s", record.id, reason)

    async def start(self, job_id: str) -> Job:
        """Start a VALIDATED job and record the answer.

        A start whose answer was lost is sent again by the client and then refused (the job is
        no longer VALIDATED); the job is read back, and if it has left VALIDATED it did start.
        """
        try:
            job = await self.client.jobs.start(job_id)
        except APIStatusError as error:
            if error.status_code != 400:
                raise
            job = await self.client.jobs.get(job_id)
            if job.status == "VALIDATED":
                raise
        await self.record(job)
        return job

    # -- the ledger -------------------------------------------------------------------------

    async def record(
        self,
        job: Job,
        *,
        spec: Mapping[str, Any] | None = None,
        sweep_id: str | None = None,
    ) -> JobRecord:
        """Apply a job snapshot; with ``spec``, also what only the submitter knows."""
        hint = self.client.keys.owner_of(job.id)
        return await self.ledger.aio.upsert_job(
            job,
            backend=self.backend,
            now=self.clock(),
            spec=spec,
            sweep_id=sweep_id,
            key_last4=hint,
            sandbox=self.client.is_sandbox,
        )


async def drain_queue(
    client: TunerClient,
    ledger: Ledger,
    *,
    backend: str,
    clock: Callable[[], int] | None = None,
    max_active: int = DEFAULT_MAX_ACTIVE,
    wandb_key: SecretStr | None = None,
    refresh: bool = False,
) -> CycleReport:
    """One queue cycle for a caller that has just polled the active jobs (the daemon): start
    agreed VALIDATED jobs, reconcile, submit. Returns the cycle's report (``created``, and who
    held the queue when it was ``busy``).

    Tolerated API failures are logged and retried next cycle; a rejected key (401) is raised.
    """
    submitter = Submitter(
        client,
        ledger,
        backend=backend,
        clock=clock or _wall_seconds,
        max_active=max_active,
        wandb_key=wandb_key,
    )
    report = await submitter.cycle(refresh=refresh)
    for error in report.errors:
        logger.warning("submission queue: %s", error)
    if report.busy and report.holder is not None:
        logger.warning(
            "the submission queue is held by %s until %s; its entries wait",
            describe_holder(report.holder),
            datetime.fromtimestamp(report.holder.expires_at, UTC).isoformat(),
        )
    return report


def _wall_seconds() -> int:
    return int(time.time())


# -- helpers --------------------------------------------------------------------------------


def is_parked(record: JobRecord) -> bool:
    """VALIDATED and not going to be started unattended (manual, confirm, refused, foreign)."""
    if record.status != "VALIDATED":
        return False
    meta = meta_of(record.spec)
    return meta is None or meta.start != "approved"


_NOT_STARTED = frozenset({"QUEUED", "VALIDATING", "VALIDATED", "FAILED_VALIDATION"})


def was_started(record: JobRecord) -> bool:
    """Whether the job was started (and so costs): past VALIDATED with its cost known.

    QUEUED means both "waiting for validation" and "started, waiting for a GPU"; only the
    second has ``metadata``, which the platform fills at validation.
    """
    if record.status == "QUEUED":
        return server_cost(record) is not None
    return record.status not in _NOT_STARTED and server_cost(record) is not None


def job_matches(job: Job, spec: Mapping[str, Any], earliest: float) -> bool:
    """Whether ``job`` is what ``spec`` (a queued request body) creates, made after
    ``earliest``: the same model, suffix, files and the hyperparameters it was given."""
    if job.model != spec.get("model"):
        return False
    if (job.suffix or None) != (spec.get("suffix") or None):
        return False
    if job.created_at is not None and job.created_at < earliest:
        return False
    wanted = Counter(_file_ids(spec.get("training_files")))
    if Counter(job.training_files) != wanted:
        return False
    validation = _file_ids(spec.get("validation_files"))
    if validation and job.validation_files and set(job.validation_files) != set(validation):
        return False
    hyper = spec.get("hyperparameters")
    given = hyper if isinstance(hyper, Mapping) else {}
    return all(
        _same(getattr(job.hyperparameters, name, None), value) for name, value in given.items()
    )


def _file_ids(value: object) -> list[str]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    ids = []
    for item in value:
        if isinstance(item, str):
            ids.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("file_id"), str):
            ids.append(item["file_id"])
    return ids


def _same(server: object, wanted: object) -> bool:
    # The server fills and may round what it echoes; a value it leaves out proves nothing.
    if server is None or wanted is None:
        return True
    if isinstance(server, int | float) and isinstance(wanted, int | float):
        return math.isclose(float(server), float(wanted), rel_tol=1e-6)
    return server == wanted


def _tolerated(error: APIError, doing: str) -> str:
    """The report line for an API failure a cycle lives with; a rejected key is not one."""
    if isinstance(error, AuthenticationError):
        raise error
    return f"{doing}: {error}"


def _is_transient(error: APIError) -> bool:
    """Failures worth another try later: the network, 408/429, 5xx (after retries), and an
    answer that could not be read (the job may well exist)."""
    if isinstance(error, APIConnectionError | APIResponseValidationError):
        return True
    if isinstance(error, APIStatusError):
        return error.status_code in (408, 429) or error.status_code >= 500
    return False


def _may_have_created(error: APIError) -> bool:
    if isinstance(error, APIConnectionError):
        return error.maybe_sent
    return isinstance(error, InternalServerError | APIResponseValidationError)
