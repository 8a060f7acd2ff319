"""OpenAI jobs in the ledger: recording, refreshing, polling, cancelling and the submission queue.

OpenAI's jobs go through the same ledger, queue table, leases and notifiers as Mistral's; what
differs is handled here:

- **Snapshots**: a job becomes a ledger snapshot with ``provider = "openai"``, the ledger's
  state in ``status`` (``tuner.api.openai.status``) and OpenAI's own word in
  ``provider_status``. Its one training and validation file become the ledger's file links,
  the method's hyperparameters its hyperparameters, events (``message`` or ``metrics`` with
  their data) and checkpoints (step, metrics, the checkpoint's model name) their tables.
- **Creating starts**: there is no VALIDATED step, so a queued OpenAI spec was agreed to (its
  local estimate) before it was queued; the submitter only creates it.
- **The queue**: entries with ``provider = "openai"``, drained under their own lease
  (``submission-queue:openai``), so a Mistral outage never holds OpenAI's queue and the reverse.
  Exactly once: the client's create searches for the job before sending again after an unknown
  outcome, and an entry left *submitting* by a killed process is looked up the same way before
  it is queued again. Before a create, the ledger is asked whether the same request (same model,
  method, hyperparameters and file ids, so the same content: files are reused by content hash)
  already made a job that is running or succeeded: OpenAI would train it twice and bill both.
- **Polling**: cursor pages of the job list, newest first, until a page holds only jobs the
  ledger already has as finished; a detail read (job, new events, checkpoints) of every job that
  changed or is still active.

Everything here is async and reaches the ledger through ``ledger.aio``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Unpack

import orjson

from tuner.api import APIError, AuthenticationError, NotFoundError
from tuner.api.openai import FineTuningJob, JobCheckpoint, JobEvent, OpenAIClient, OpenAIJobCreate
from tuner.jobs.ledger import Ledger
from tuner.jobs.liveness import take_lease
from tuner.jobs.poller import SnapshotTally
from tuner.jobs.records import JobRecord, LeaseRecord, QueueEntry, SnapshotChanges
from tuner.jobs.submit import (
    LEASE_TTL_S,
    DrainerLimits,
    EntryOutcome,
    QueueDrainer,
    SubmissionKind,
    _is_transient,
    _may_have_created,
    request_body,
)

logger = logging.getLogger("tuner.jobs.openai")

PROVIDER = "openai"
LEASE_NAME = "submission-queue:openai"
EVENT_PAGE = 100
LIST_PAGE = 100
_SPENT = frozenset({"FAILED", "CANCELLED"})
"""Ledger states of a job that trained nothing to keep: the same request may be sent again."""


# -- snapshots --------------------------------------------------------------------------------


def openai_snapshot(
    job: FineTuningJob,
    *,
    events: Sequence[JobEvent] = (),
    checkpoints: Sequence[JobCheckpoint] = (),
) -> dict[str, Any]:
    """The ledger's snapshot of an OpenAI job (see the module doc)."""
    body = job.snapshot()
    # A status tuner does not know is kept as OpenAI's word (not terminal, so polled on).
    body["status"] = job.ledger_status or job.status.upper()
    body["training_files"] = [job.training_file] if job.training_file else []
    body["validation_files"] = [job.validation_file] if job.validation_file else []
    body["job_type"] = job.method_type
    body["suffix"] = job.suffix
    given = job.method.hyperparameters() if job.method is not None else {}
    body["hyperparameters"] = given or job.hyperparameters
    body["events"] = [_event(event) for event in events]
    body["checkpoints"] = [_checkpoint(checkpoint) for checkpoint in checkpoints]
    return body


def _event(event: JobEvent) -> dict[str, Any]:
    return {
        "name": event.type or "message",
        "created_at": event.created_at,
        "data": {
            "id": event.id,
            "level": event.level,
            "message": event.message,
            "data": event.data,
        },
    }


def _checkpoint(checkpoint: JobCheckpoint) -> dict[str, Any]:
    metrics = checkpoint.metrics.model_dump(mode="json", exclude_none=True)
    # The checkpoint is a model of its own (callable for chat): kept beside its metrics.
    metrics["fine_tuned_model_checkpoint"] = checkpoint.fine_tuned_model_checkpoint
    return {
        "step_number": checkpoint.step_number,
        "metrics": metrics,
        "created_at": checkpoint.created_at,
    }


# -- results ----------------------------------------------------------------------------------


class OpenAISubmission(EntryOutcome[FineTuningJob]):
    """What happened to one OpenAI queue entry in a cycle."""


@dataclass
class OpenAICycle:
    """What one OpenAI queue cycle did."""

    submissions: list[OpenAISubmission] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    busy: bool = False
    holder: LeaseRecord | None = None
    """Who held OpenAI's queue lease when this cycle could not take it."""
    took_over_from: str | None = None
    """A gone process of this host whose queue lease this cycle took over."""

    @property
    def created(self) -> list[FineTuningJob]:
        return [s.job for s in self.submissions if s.job is not None]


@dataclass(frozen=True)
class OpenAIPoll:
    """What one poll of OpenAI's jobs did."""

    listed: int
    list_pages: int
    fetched: tuple[str, ...]
    missing: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    transitions: int = 0
    checkpoints: int = 0
    events: int = 0
    notifications: int = 0
    snapshots: tuple[SnapshotChanges, ...] = field(default=(), repr=False)

    @property
    def active(self) -> int:
        return sum(not s.job.is_terminal for s in self.snapshots)


class DuplicateJobError(Exception):
    """The same request already made a job that is running or succeeded."""


# -- the service ------------------------------------------------------------------------------


class OpenAIJobs(QueueDrainer[FineTuningJob, OpenAISubmission, OpenAICycle]):
    """OpenAI jobs against one backend and one ledger (see the module doc)."""

    provider = PROVIDER
    lease_name = LEASE_NAME
    entry_label = "OpenAI queue entry"
    log = logger

    def __init__(
        self,
        client: OpenAIClient,
        ledger: Ledger,
        *,
        backend: str,
        clock: Callable[[], int],
        page_size: int = LIST_PAGE,
        **limits: Unpack[DrainerLimits],
    ) -> None:
        """``limits``: :class:`~tuner.jobs.submit.DrainerLimits`."""
        super().__init__(ledger, backend=backend, clock=clock, **limits)
        self.client = client
        self.page_size = page_size

    # -- one job ----------------------------------------------------------------------------

    async def record(
        self,
        job: FineTuningJob,
        *,
        events: Sequence[JobEvent] = (),
        checkpoints: Sequence[JobCheckpoint] = (),
        spec: Mapping[str, Any] | None = None,
        sweep_id: str | None = None,
    ) -> SnapshotChanges:
        """Apply a job (with new events and checkpoints) to the ledger; with ``spec``, also
        what only the submitter knows (the spec, the owning key, the sweep)."""
        snapshot = openai_snapshot(job, events=events, checkpoints=checkpoints)
        sandbox = self.client.is_sandbox
        if spec is not None or sweep_id is not None:
            await self.ledger.aio.upsert_job(
                snapshot,
                backend=self.backend,
                now=self.clock(),
                spec=spec,
                sweep_id=sweep_id,
                key_last4=self.client.keys.owner_of(job.id),
                sandbox=sandbox,
            )
        return await self.ledger.aio.apply_snapshot(
            snapshot, backend=self.backend, now=self.clock(), sandbox=sandbox
        )

    async def refresh(self, job_id: str) -> SnapshotChanges:
        """The job, its events since the ledger's newest and its checkpoints, recorded."""
        job = await self.client.jobs.get(job_id)
        known = {
            event.data.get("id")
            for event in await self.ledger.aio.events(job_id)
            if isinstance(event.data, dict)
        }
        fresh: list[JobEvent] = []
        # Newest first: stop at the first event the ledger has (the rest are older).
        async for event in self.client.jobs.events(job_id, limit=EVENT_PAGE):
            if event.id in known:
                break
            fresh.append(event)
        checkpoints = await self.client.jobs.checkpoints(job_id).to_list()
        return await self.record(job, events=fresh, checkpoints=checkpoints)

    async def cancel(self, job_id: str) -> SnapshotChanges:
        job = await self.client.jobs.cancel(job_id)
        return await self.record(job)

    async def sync_jobs(self) -> list[FineTuningJob]:
        """Every job OpenAI lists (all cursor pages), each recorded (without its events)."""
        jobs = []
        async for job in self.client.jobs.list(limit=self.page_size):
            await self.record(job)
            jobs.append(job)
        return jobs

    # -- polling ------------------------------------------------------------------------------

    async def poll(self) -> OpenAIPoll:
        """List newest first until a page holds only jobs the ledger has as finished; read in
        detail every job that is new, changed, or active in the ledger. A failed detail read
        is reported (and read again next time); a failed listing raises ``APIError``."""
        active = await self.ledger.aio.list_jobs(
            active_only=True, backend=self.backend, provider=PROVIDER
        )
        wanted: dict[str, None] = dict.fromkeys(record.id for record in active)
        listed, pages = await self._walk_listing(wanted)
        fetched: list[str] = []
        missing: list[str] = []
        failed: list[str] = []
        tally = SnapshotTally()
        for job_id in wanted:
            try:
                tally.add(await self.refresh(job_id))
                fetched.append(job_id)
            except NotFoundError:
                logger.warning(
                    "OpenAI job %s is in the ledger but the API does not know it", job_id
                )
                missing.append(job_id)
            except AuthenticationError:
                raise
            except APIError as error:
                logger.warning("could not fetch OpenAI job %s: %s", job_id, error)
                failed.append(job_id)
        return OpenAIPoll(
            listed=listed,
            list_pages=pages,
            fetched=tuple(fetched),
            missing=tuple(missing),
            failed=tuple(failed),
            transitions=tally.transitions,
            checkpoints=tally.checkpoints,
            events=tally.events,
            notifications=tally.notifications,
            snapshots=tuple(tally.snapshots),
        )

    async def _walk_listing(self, wanted: dict[str, None]) -> tuple[int, int]:
        """Add to ``wanted`` the listed jobs the ledger does not hold as they are now."""
        listed = pages = 0
        pager = self.client.jobs.list(limit=self.page_size).fresh_pages()
        try:
            # The pager stops on a page with nothing new (a server that ignores ``after``).
            async for fresh in pager:
                pages += 1
                settled = True
                for job in fresh:
                    listed += 1
                    stored = await self.ledger.aio.get_job(job.id)
                    if (
                        stored is None
                        or stored.provider_status != job.status
                        or not job.is_terminal
                    ):
                        wanted.setdefault(job.id, None)
                        settled = False
                if settled:
                    break
        finally:
            await pager.aclose()
        return listed, pages

    # -- the queue ----------------------------------------------------------------------------

    async def enqueue(
        self, specs: Sequence[dict[str, Any]], sweep_id: str | None
    ) -> list[QueueEntry]:
        return await self.ledger.aio.enqueue(specs, sweep_id, now=self.clock(), provider=PROVIDER)

    async def active_jobs(self) -> list[JobRecord]:
        return await self.ledger.aio.list_jobs(
            active_only=True, backend=self.backend, provider=PROVIDER
        )

    async def _cycle(self, *, refresh: bool) -> OpenAICycle:
        """Refresh the active jobs, settle abandoned entries, create queued jobs while there
        is room."""
        report = OpenAICycle()
        outcome = await self.ledger.aio.call(
            take_lease, self.ledger, LEASE_NAME, self.owner, LEASE_TTL_S, self.clock()
        )
        if not outcome.taken:
            report.busy, report.holder = True, outcome.holder
            return report
        if outcome.took_over_from is not None:
            report.took_over_from = outcome.took_over_from
            logger.warning(
                "the OpenAI submission queue was held by %s, a process on this host that is "
                "gone; took it over",
                outcome.took_over_from,
            )
        try:
            if refresh:
                for record in await self.active_jobs():
                    await self.heartbeat()
                    try:
                        await self.record(await self.client.jobs.get(record.id))
                    except AuthenticationError:
                        raise
                    except APIError as error:
                        report.errors.append(f"refreshing OpenAI job {record.id}: {error}")
            if await self._reconcile(report):
                await self.drain(report)
        finally:
            await self.ledger.aio.release_lease(LEASE_NAME, self.owner)
        return report

    async def submit(self, entry: QueueEntry) -> OpenAISubmission:
        """Create the job of a claimed entry (unless it would be a duplicate) and record it."""
        try:
            request = request_of(entry.spec)
            await self.refuse_duplicate(request_body(entry.spec))
        except (ValueError, DuplicateJobError) as exc:
            return await self._failed(entry, str(exc))
        try:
            job = await self.client.jobs.create(request)
        except AuthenticationError:
            await self.ledger.aio.mark_queue_failed(
                entry.id, "no valid OpenAI API key", now=self.clock(), retry=True
            )
            raise
        except APIError as error:
            if not _is_transient(error):
                return await self._failed(entry, str(error))
            if _may_have_created(error):
                # The client searched already; the entry stays submitting for the next cycle's
                # reconciliation, which searches again before anything is sent twice.
                return OpenAISubmission(entry.id, "uncertain", error=str(error))
            return await self._retry_later(entry, str(error))
        return await self._submitted(entry, job, "submitted")

    async def refuse_duplicate(self, body: Mapping[str, Any]) -> None:
        """``DuplicateJobError`` when the ledger holds a job made from the same request that
        is running or succeeded (see the module doc)."""
        wanted = _normal(body)
        for record in await self.ledger.aio.list_jobs(backend=self.backend, provider=PROVIDER):
            if record.status in _SPENT or not record.spec:
                continue
            if _normal(request_body(record.spec)) == wanted:
                raise DuplicateJobError(
                    f"the same job already exists: {record.id} ({record.provider_status}), "
                    "trained from the same data with the same settings; cancel it with "
                    f"`tuner jobs cancel {record.id}` or change the spec"
                )

    async def _reconcile(self, report: OpenAICycle) -> bool:
        """Entries left submitting (their creator died): find their job, or queue again."""
        submitted = await self.ledger.aio.entries_in_state("submitted", provider=PROVIDER)
        taken = {entry.job_id for entry in submitted if entry.job_id}
        for entry in await self.ledger.aio.entries_in_state("submitting", provider=PROVIDER):
            try:
                request = request_of(entry.spec)
                found = await self.client.jobs.find_created(request, since=entry.updated_at)
            except ValueError as exc:
                report.submissions.append(await self._failed(entry, str(exc)))
                continue
            except AuthenticationError:
                raise
            except APIError as error:
                report.errors.append(f"reconciling OpenAI queue entry {entry.id}: {error}")
                return False
            if found is not None and found.id not in taken:
                report.submissions.append(await self._submitted(entry, found, "recovered"))
            else:
                await self.ledger.aio.requeue(entry.id, now=self.clock())
                logger.info("OpenAI queue entry %s: no job was created; queued again", entry.id)
        return True

    def _outcome(
        self,
        entry_id: int,
        kind: SubmissionKind,
        *,
        job: FineTuningJob | None = None,
        error: str | None = None,
    ) -> OpenAISubmission:
        return OpenAISubmission(entry_id, kind, job=job, error=error)


# -- helpers ----------------------------------------------------------------------------------


def request_of(spec: Mapping[str, Any]) -> OpenAIJobCreate:
    """The request a queued OpenAI spec (``OpenAIJobCreate.to_body()`` plus tuner's fields)
    sends; ``ValueError`` when it is not a valid OpenAI request."""
    body = request_body(spec)
    method = body.get("method")
    kind: Any = method.get("type", "supervised") if isinstance(method, Mapping) else "supervised"
    section = method.get(kind) if isinstance(method, Mapping) else None
    hyper = section.get("hyperparameters") if isinstance(section, Mapping) else None
    try:
        return OpenAIJobCreate(
            model=str(body.get("model") or ""),
            training_file=str(body.get("training_file") or ""),
            validation_file=body.get("validation_file"),
            suffix=body.get("suffix"),
            seed=body.get("seed"),
            method=kind,
            hyperparameters=dict(hyper) if isinstance(hyper, Mapping) else {},
            metadata=body.get("metadata"),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the queued spec is not a valid OpenAI job: {exc}") from None


def _normal(body: Mapping[str, Any]) -> Any:
    return orjson.loads(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
