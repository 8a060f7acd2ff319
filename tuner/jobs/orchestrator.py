"""The orchestrator: from a job spec to started jobs, recording every step in the ledger.

``create(spec)`` runs the whole way, stopping at the first problem and before anything is
uploaded when the spec or the data is wrong::

    check the model can be fine-tuned (GET /v1/models)
    validate the local files (tuner.datasets, the validation-file size limit included)
    estimate the cost locally (tuner.datasets.pricing)
    upload each file once (the ledger knows content hashes already on the server)
    queue the job(s) and drain the queue (tuner.jobs.submit: exactly once, concurrency limit)
    one job: wait for VALIDATED, show the local estimate beside the server's metadata, confirm,
             start (or leave it VALIDATED when the spec says ``auto_start = false``)
    a sweep: the whole grid's estimate is confirmed once, before anything is uploaded; members
             created now are started once VALIDATED, the rest by the daemon later, each within
             the agreed budget

It is headless: the client, the ledger, the clock (``now()``), the sleep between polls, the
``confirm(plan)`` callback and the progress reporter are injected; it never prints. Tests pass a
sleep that moves a sandbox's manual clock, so waiting for a job costs no wall-clock time. It
reaches the ledger only through ``ledger.aio``, so its event loop never waits on the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import SecretStr

from tuner.api import APIError, File, Job, NotFoundError, TunerClient
from tuner.datasets.errors import DataInputError
from tuner.datasets.findings import Finding
from tuner.datasets.pricing import ComparisonRow, Estimate, compare, estimate
from tuner.datasets.providers import Provider, counter_factory, resolve_counting_for
from tuner.datasets.report import Report
from tuner.datasets.tokenizers import UnknownModelError
from tuner.datasets.validate import CounterFactory, ValidateOptions, validate_paths
from tuner.jobs.ledger import Ledger
from tuner.jobs.records import FileRecord, QueueEntry
from tuner.jobs.spec import JobSpec, SpecError, SpecFile
from tuner.jobs.submit import (
    DEFAULT_MAX_ACTIVE,
    CycleReport,
    StartPolicy,
    Submission,
    SubmissionMeta,
    Submitter,
    billed_cost,
    request_body,
    submission_spec,
)
from tuner.progress import NULL_PROGRESS, Progress

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], int]
Confirm = Callable[["Plan"], bool]

DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_VALIDATION_WAIT = 3600.0
"""Seconds of polling for VALIDATED before giving up (the job itself is left alone)."""
BLOCKING_WARNINGS = frozenset({"eval_file_too_large"})
"""Validator warnings that stop ``create``: the platform refuses such a job, so uploading would
only waste the upload (the validator calls it a warning because the file itself is fine)."""
_HASH_CHUNK = 1 << 20
_BEFORE_VALIDATED = frozenset({"QUEUED", "VALIDATING", "STARTED"})


class OrchestratorError(Exception):
    """A step that could not be completed; the message says which and what to do."""


def refuse_all(plan: Plan) -> bool:
    """The default ``confirm``: nothing costs money unless a caller says yes."""
    return False


# -- plans ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobPlan:
    """One job to be (or being) created: the local estimate and, once validated, the job."""

    spec: JobSpec
    estimate: Estimate | None
    job: Job | None = None
    dry_run: dict[str, Any] | None = None
    """The server's dry-run figures (``--dry-run`` when every file is already uploaded)."""

    @property
    def metadata(self) -> dict[str, Any] | None:
        """The server's figures: the job's metadata once validated, else a dry run's."""
        if self.job is not None and self.job.metadata is not None:
            return self.job.metadata.model_dump(mode="json")
        return self.dry_run

    @property
    def server_source(self) -> str | None:
        """Where :attr:`metadata` comes from: "job metadata", "server dry run" or None."""
        if self.job is not None and self.job.metadata is not None:
            return "job metadata"
        return "server dry run" if self.dry_run is not None else None

    @property
    def comparison(self) -> list[ComparisonRow]:
        """The local estimate beside the server's metadata, field by field."""
        if self.estimate is None:
            return []
        return compare(self.estimate, self.metadata)

    @property
    def cost(self) -> float | None:
        """The billed cost: the server's when known, else the local estimate's."""
        server = (self.metadata or {}).get("cost")
        if isinstance(server, int | float):
            return billed_cost(server)
        return None if self.estimate is None else self.estimate.billed_cost

    def to_dict(self) -> dict[str, Any]:
        return {
            "suffix": self.spec.suffix,
            "hyperparameters": self.spec.hyperparameters,
            "sweep_values": self.spec.sweep_values,
            "estimate": None if self.estimate is None else self.estimate.to_dict(),
            "server_metadata": self.metadata,
            "server_source": self.server_source,
            "cost": self.cost,
            "job_id": None if self.job is None else self.job.id,
        }


@dataclass(frozen=True)
class Plan:
    """What ``confirm`` is asked about: the jobs, their costs and the budget."""

    source: str
    model: str
    jobs: list[JobPlan]
    max_cost: float | None = None
    stage: Literal["estimate", "validated"] = "estimate"
    """estimate: local figures only (before upload); validated: the server's metadata too."""

    @property
    def is_sweep(self) -> bool:
        return len(self.jobs) > 1 or any(j.spec.member_index is not None for j in self.jobs)

    @property
    def total_cost(self) -> float | None:
        return total_cost([job.cost for job in self.jobs])

    def over_budget(self, *, unknown_refused: bool = True) -> str | None:
        """Why ``max_cost`` refuses this plan (each job, and the total), or None.

        ``unknown_refused=False`` refuses only on known costs: before a job is created, when the
        server's figures may still tell a cost the local estimate cannot.
        """
        priced = [(job.spec.suffix or self.model, job.cost, None) for job in self.jobs]
        return budget_refusal(priced, self.max_cost, unknown_refused=unknown_refused)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "model": self.model,
            "stage": self.stage,
            "max_cost": self.max_cost,
            "total_cost": self.total_cost,
            "jobs": [job.to_dict() for job in self.jobs],
        }


def total_cost(costs: Sequence[float | None]) -> float | None:
    """The jobs' costs summed; None when any is unknown."""
    if any(cost is None for cost in costs):
        return None
    return sum(cost for cost in costs if cost is not None)


def budget_refusal(
    priced: Sequence[tuple[str, float | None, str | None]],
    max_cost: float | None,
    *,
    unknown_refused: bool = True,
    approximate: bool = False,
) -> str | None:
    """Why ``max_cost`` refuses jobs (each one, then their total), or None.

    ``priced`` holds each job's name, cost, and why its cost is unknown when it is (said in
    brackets; None says nothing). ``approximate`` says the costs are estimates ("about").
    """
    if max_cost is None:
        return None
    about = "about " if approximate else ""
    for name, cost, why in priced:
        if cost is None:
            if not unknown_refused:
                continue
            because = f" ({why})" if why is not None else ""
            return f"the cost of {name} is unknown{because}, and --max-cost was given"
        if cost > max_cost + 1e-9:
            return f"{name} costs {about}{cost:.2f}, over the budget of {max_cost:.2f}"
    total = total_cost([cost for _, cost, _ in priced])
    if total is not None and total > max_cost + 1e-9:
        return f"the {len(priced)} jobs cost {about}{total:.2f}, over {max_cost:.2f}"
    return None


Outcome = Literal[
    "dry_run",  # validated and estimated only
    "invalid",  # the data has errors: nothing uploaded
    "over_budget",  # --max-cost refused it
    "declined",  # confirm() said no
    "started",  # the job was started
    "validated",  # left VALIDATED (auto_start = false)
    "queued",  # waiting in the queue for room
    "submitted",  # a sweep: created members started or waiting, the rest queued
    "failed",  # the job could not be created, or failed validation on the server
]


@dataclass
class CreateResult:
    outcome: Outcome
    plan: Plan
    report: Report | None = None
    jobs: list[Job] = field(default_factory=list)
    """The jobs created by this call, as last seen."""
    queued: int = 0
    """This spec's entries still waiting in the queue."""
    sweep_id: str | None = None
    message: str | None = None
    cycle: CycleReport | None = None
    reused: int = 0
    """Entries of the same spec found still queued (from an earlier, interrupted run) and
    used instead of queueing the spec again."""

    @property
    def ok(self) -> bool:
        return self.outcome in ("dry_run", "started", "validated", "queued", "submitted")


@dataclass(frozen=True)
class UploadResult:
    path: Path
    file_id: str
    content_hash: str
    reused: bool
    """The same content was already on the server (per the ledger), so nothing was sent."""
    file: File | None
    record: FileRecord


# -- the orchestrator -----------------------------------------------------------------------


class Orchestrator:
    def __init__(
        self,
        client: TunerClient,
        ledger: Ledger,
        *,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        confirm: Confirm = refuse_all,
        progress: Progress = NULL_PROGRESS,
        backend: str | None = None,
        wandb_key: SecretStr | None = None,
        max_active: int = DEFAULT_MAX_ACTIVE,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        validation_wait: float = DEFAULT_VALIDATION_WAIT,
        validate_workers: int | None = None,
        cycle_lock: asyncio.Lock | None = None,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.clock = clock
        self.sleep = sleep
        self.confirm = confirm
        self.progress = progress
        self.backend = backend or client.base_url
        self.wandb_key = wandb_key
        self.poll_interval = poll_interval
        self.validation_wait = validation_wait
        self.validate_workers = validate_workers
        self.submitter = Submitter(
            client,
            ledger,
            backend=self.backend,
            clock=clock,
            max_active=max_active,
            wandb_key=wandb_key,
            cycle_lock=cycle_lock,
        )

    # -- checks before anything is uploaded -------------------------------------------------

    async def check_model(self, model: str, job_type: str = "completion") -> None:
        """``SpecError`` unless the API lists ``model`` as one that can be fine-tuned."""
        listing = await self.client.models.list()
        card = next((c for c in listing.data if c.id == model or model in c.aliases), None)
        if card is None:
            tunable = [c.id for c in listing.data if c.capabilities.fine_tuning]
            raise SpecError(
                f"model {model!r} is not offered by {self.backend}; "
                f"fine-tunable: {', '.join(tunable) or 'none'}"
            )
        if not card.capabilities.fine_tuning:
            raise SpecError(f"model {model!r} cannot be fine-tuned (capabilities.fine_tuning)")
        if job_type == "classifier" and not card.capabilities.classification:
            raise SpecError(
                f"model {model!r} cannot be fine-tuned as a classifier "
                "(capabilities.classification); the reference names ministral-3b-latest"
            )

    def validate(self, spec: JobSpec) -> Report:
        """Validate the spec's local files with the model's tokenizer (blocking; CPU-bound).

        Each validation file is checked as evaluation data against the training files, which
        includes the platform's size limit for it. Files given by id are on the server already
        and are not checked here.
        """
        train = spec.training_paths()
        evals = spec.validation_paths()
        if not train:
            return Report([])
        counter, seq_len = model_counting("mistral", spec.model)
        options = ValidateOptions(
            seq_len=seq_len,
            fmt="classifier" if spec.is_classifier else None,
            label_sets=spec.label_sets() or None,
        )
        report = validate_spec_data(
            train,
            evals,
            options=options,
            counter_factory=counter,
            progress=self.progress,
            workers=self.validate_workers,
        )
        if not spec.is_classifier:
            labelled = [f.path for f in report.files if f.format == "classifier"]
            if labelled:
                raise SpecError(
                    f"{labelled[0]} holds classifier data ('labels'): set "
                    'job_type = "classifier" and its [[classifier_targets]] in the spec'
                )
        return report

    def estimate(self, spec: JobSpec, report: Report) -> Estimate | None:
        """The local cost estimate, or None (an unpriced model, or no tokens counted)."""
        tokens = sum(f.tokens_total for f in report.files if not f.is_eval and f.tokenizer)
        if tokens < 1:
            return None
        try:
            return estimate(
                tokens, spec.model, training_steps=spec.training_steps, epochs=spec.epochs
            )
        except ValueError:  # UnknownModelError included: no price for this model
            return None

    # -- files ------------------------------------------------------------------------------

    async def upload(self, path: str | os.PathLike[str], *, force: bool = False) -> UploadResult:
        """Upload ``path`` unless the same content is already on this server (per the ledger
        and a check that the file still exists there); record dataset and file either way."""
        source = Path(path)
        digest, size, lines = await asyncio.to_thread(hash_file, source)
        await self.ledger.aio.record_dataset(
            digest, path=source.absolute(), size_bytes=size, line_count=lines, now=self.clock()
        )
        known = None if force else await self._still_uploaded(digest)
        if known is not None:
            return UploadResult(source, known.file_id, digest, True, None, known)
        uploaded = await self._send(source, size)
        record = await self.ledger.aio.record_file(
            uploaded.id,
            backend=self.backend,
            uploaded_at=self.clock(),
            content_hash=digest,
            filename=uploaded.filename or source.name,
            size_bytes=uploaded.size_bytes,
            purpose=uploaded.purpose,
            sample_type=uploaded.sample_type,
            num_lines=uploaded.num_lines,
            key_last4=self.client.keys.owner_of(uploaded.id),
            sandbox=self.client.is_sandbox,
        )
        return UploadResult(source, uploaded.id, digest, False, uploaded, record)

    async def _server_dry_run(self, plan: Plan, spec: JobSpec) -> tuple[Plan, str]:
        """The plan with the server's dry-run figures when every local file of ``spec`` is
        already on this server (known by content hash); nothing is uploaded or created. Says
        which figures the plan shows."""
        file_ids: dict[Path, str] = {}
        for path in spec.local_paths():
            digest, _, _ = await asyncio.to_thread(hash_file, path)
            known = await self._still_uploaded(digest)
            if known is None:
                return plan, "local estimate only: not every file is uploaded yet"
            file_ids[path] = known.file_id
        jobs = []
        try:
            for job in plan.jobs:
                body = job.spec.to_job_create(file_ids, wandb_key=self.wandb_key)
                figures = await self.client.jobs.dry_run(body)
                jobs.append(dataclasses.replace(job, dry_run=figures.model_dump(mode="json")))
        except APIError as exc:
            return plan, f"local estimate only: the server's dry run failed ({exc})"
        return (
            dataclasses.replace(plan, jobs=jobs),
            "server figures from a dry run (the files are already uploaded)",
        )

    async def _still_uploaded(self, digest: str) -> FileRecord | None:
        known = await self.ledger.aio.find_uploaded_file(digest, self.backend)
        if known is None:
            return None
        try:
            remote = await self.client.files.get(known.file_id)
        except NotFoundError:
            remote = None
        if remote is None or remote.deleted:
            await self.ledger.aio.mark_file_deleted(known.file_id, now=self.clock())
            return None
        return known

    async def _send(self, source: Path, size: int) -> File:
        progress = self.progress
        progress.start(f"uploading {source.name}", total=size, unit="B")
        reported = 0

        def advance(sent: int, _total: int) -> None:
            nonlocal reported
            if sent < reported:  # a retry sends the file again from the start
                progress.start(f"uploading {source.name} (retry)", total=size, unit="B")
                reported = 0
            progress.advance(sent - reported)
            reported = sent

        try:
            return await self.client.files.upload(source, progress=advance)
        finally:
            progress.finish()

    # -- creating ---------------------------------------------------------------------------

    async def create(
        self, spec_file: SpecFile, *, max_cost: float | None = None, dry_run: bool = False
    ) -> CreateResult:
        """Validate, estimate, upload, queue, create, and start (see the module doc)."""
        members = spec_file.members()
        first = spec_file.job
        if first.is_openai:
            # OpenAI has no VALIDATED step to confirm at: tuner.jobs.openai_create's flow.
            raise SpecError(
                f'{spec_file.source}: provider = "openai": create it with `tuner jobs create` '
                "(OpenAI jobs are confirmed on the local estimate, before they are created)"
            )
        if first.integrations.wandb is not None and self.wandb_key is None:
            raise SpecError("integrations.wandb needs a W&B key: set WANDB_API_KEY")
        if not dry_run:
            await self.check_model(first.model, first.job_type)
        # A sweep varies hyperparameters only: its members share the files, checked once.
        report = await asyncio.to_thread(self.validate, first)
        if first.is_classifier:
            # Labels left out come from the data: settle them before anything is uploaded.
            await asyncio.to_thread(first.resolved_targets)
        plan = Plan(
            source=spec_file.source,
            model=first.model,
            jobs=[JobPlan(member, self.estimate(member, report)) for member in members],
            max_cost=max_cost,
        )
        blocking = blocking_findings(report)
        if blocking:
            return CreateResult("invalid", plan, report, message=blocking[0].message)
        if dry_run:
            plan, note = await self._server_dry_run(plan, first)
            return CreateResult("dry_run", plan, report, message=note)
        await self.submitter.refresh_active(CycleReport())
        waiting = len(await self.ledger.aio.entries_in_state("pending", provider="mistral"))
        interactive = not spec_file.is_sweep and await self.submitter.room() > waiting
        # Queued jobs are started unattended later: the local estimate is agreed to now. A job
        # confirmed interactively is checked again on the server's figures, but one whose local
        # estimate is already over the budget is never created (it would sit on the server,
        # and a rerun of the spec would meet it as a duplicate).
        refusal = plan.over_budget(unknown_refused=not interactive)
        if refusal is not None:
            return CreateResult("over_budget", plan, report, message=refusal)
        if not interactive and not self.confirm(plan):
            return CreateResult("declined", plan, report)
        file_ids = await self._upload_all(first)
        sweep_id = uuid.uuid4().hex if spec_file.is_sweep else None
        specs = [
            submission_spec(
                job.spec.to_job_create(file_ids, wandb_key=self.wandb_key),
                self._meta(job, plan, interactive=interactive),
            )
            for job in plan.jobs
        ]
        earlier = await self.ledger.aio.call(queued_copy, self.ledger, specs)
        if earlier:
            # The same spec was queued before and not all submitted (its creator was killed):
            # those entries are this spec's; queueing a second copy would make every job twice.
            entries, sweep_id = earlier, earlier[0].sweep_id
        else:
            entries = await self.ledger.aio.enqueue(specs, sweep_id, now=self.clock())
        cycle = await self.submitter.cycle(refresh=False)
        ours = {entry.id for entry in entries}
        mine = [s for s in cycle.submissions if s.entry_id in ours]
        mine += await self._submitted_elsewhere(ours - {s.entry_id for s in mine})
        created = [s.job for s in mine if s.job is not None]
        failed = [s.error or "failed" for s in mine if s.kind == "failed"]
        queued = len(ours) - len(mine) + sum(s.kind in ("requeued", "uncertain") for s in mine)
        result = CreateResult(
            "queued",
            plan,
            report,
            created,
            queued,
            sweep_id=sweep_id,
            cycle=cycle,
            reused=len(earlier),
        )
        if interactive:
            return await self._finish_one(result, failed)
        return await self._finish_queued(result, failed)

    async def _submitted_elsewhere(self, entry_ids: set[int]) -> list[Submission]:
        """Our entries another cycle created (a create just before ours drained the queue,
        or the daemon did): their jobs are ours to wait for, confirm and start."""
        found = []
        for entry_id in sorted(entry_ids):
            entry = await self.ledger.aio.get_queue_entry(entry_id)
            if entry is None or entry.state != "submitted" or entry.job_id is None:
                continue
            found.append(Submission(entry_id, "recovered", job=await self.refresh(entry.job_id)))
        return found

    async def _upload_all(self, spec: JobSpec) -> dict[Path, str]:
        file_ids: dict[Path, str] = {}
        for path in spec.local_paths():
            file_ids[path] = (await self.upload(path)).file_id
        return file_ids

    def _meta(self, job: JobPlan, plan: Plan, *, interactive: bool) -> SubmissionMeta:
        start: StartPolicy = "confirm" if interactive else "approved"
        if not job.spec.auto_start:
            start = "manual"
        return SubmissionMeta(
            start=start,
            max_cost=plan.max_cost,
            max_total=plan.max_cost if plan.is_sweep else None,
            estimated_cost=job.cost,
            source=plan.source,
            member_index=job.spec.member_index,
            sweep_values=job.spec.sweep_values,
        )

    async def _finish_one(self, result: CreateResult, failed: list[str]) -> CreateResult:
        """One job: wait for VALIDATED, show the server's figures, confirm, start."""
        if failed:
            return replace(result, outcome="failed", message=failed[0])
        if not result.jobs:
            return replace(
                result,
                message="the job waits in the submission queue (the API failed, or another "
                "process is submitting); once created it waits VALIDATED for `tuner jobs start`",
            )
        job = await self.wait_validated(result.jobs[0].id)
        plan = replace(result.plan, jobs=[replace(result.plan.jobs[0], job=job)], stage="validated")
        result = replace(result, plan=plan, jobs=[job])
        if job.status != "VALIDATED":
            return replace(result, outcome="failed", message=failure_reason(job))
        if not plan.jobs[0].spec.auto_start:
            return replace(result, outcome="validated")
        refusal = plan.over_budget()
        if refusal is not None:
            return replace(result, outcome="over_budget", message=refusal)
        if not self.confirm(plan):
            return replace(result, outcome="declined")
        started = await self.start(job.id)
        return replace(result, outcome="started", jobs=[started])

    async def _finish_queued(self, result: CreateResult, failed: list[str]) -> CreateResult:
        """A sweep (or a job queued behind others): start what was created once VALIDATED."""
        if failed and not result.jobs and not result.queued:
            return replace(result, outcome="failed", message=failed[0])
        if not result.jobs:
            return replace(result, outcome="submitted" if result.plan.is_sweep else "queued")
        validated = [await self.wait_validated(job.id) for job in result.jobs]
        report = CycleReport()
        await self.submitter.start_approved(report)
        started = {job.id: job for job in report.started}
        latest = [started.get(job.id, job) for job in validated]
        problems = [
            *failed,
            *(failure_reason(job) for job in latest if job.status == "FAILED_VALIDATION"),
            *(f"job {job_id} was not started: {why}" for job_id, why in report.refused),
            *report.errors,
        ]
        message = "; ".join(problems) or None
        if result.plan.is_sweep:
            return replace(result, outcome="submitted", jobs=latest, message=message)
        return replace(
            result, outcome=_single_outcome(latest[0], report), jobs=latest, message=message
        )

    # -- following and acting on jobs ---------------------------------------------------------

    async def refresh(self, job_id: str) -> Job:
        """The job as the API has it now, recorded in the ledger."""
        job = await self.client.jobs.get(job_id)
        await self.submitter.record(job)
        return job

    async def wait_validated(self, job_id: str) -> Job:
        """Poll until the job has left validation (VALIDATED, FAILED_VALIDATION, …)."""
        waited = 0.0
        while True:
            job = await self.refresh(job_id)
            if job.status not in _BEFORE_VALIDATED:
                return job
            if waited >= self.validation_wait:
                raise OrchestratorError(
                    f"job {job_id} is still {job.status} after {waited:.0f} s; "
                    f"follow it with `tuner jobs watch {job_id}`"
                )
            await self.sleep(self.poll_interval)
            waited += self.poll_interval

    async def start(self, job_id: str) -> Job:
        return await self.submitter.start(job_id)

    async def cancel(self, job_id: str) -> Job:
        job = await self.client.jobs.cancel(job_id)
        await self.submitter.record(job)
        return job

    async def watch(self, job_id: str, *, interval: float | None = None) -> AsyncIterator[Job]:
        """Each poll's snapshot (recorded in the ledger) until the job reaches a terminal status."""
        pause = self.poll_interval if interval is None else interval
        while True:
            job = await self.refresh(job_id)
            yield job
            if job.is_terminal:
                return
            await self.sleep(pause)

    async def sync_jobs(self, **filters: Any) -> list[Job]:
        """Every job the API lists (all pages), each recorded in the ledger."""
        jobs = []
        async for job in self.client.jobs.list(**filters):
            await self.submitter.record(job)
            jobs.append(job)
        return jobs

    async def cycle(self) -> CycleReport:
        """One submission-queue cycle (what the daemon runs on its schedule)."""
        return await self.submitter.cycle()


# -- helpers --------------------------------------------------------------------------------


def queued_copy(
    ledger: Ledger, specs: list[dict[str, Any]], provider: str = "mistral"
) -> list[QueueEntry]:
    """The queue entries of an earlier run of the same spec that did not finish submitting them
    (its creator was killed): exactly these requests, member for member, some still pending or
    submitting and the rest already submitted. Empty when there are none.

    Reusing them is what keeps a rerun from making every job twice: the pending members are
    created once, the one caught mid-creation is settled, the created ones are waited for.
    """
    wanted = [_normal(request_body(spec)) for spec in specs]
    groups: dict[str, list[QueueEntry]] = {}
    for state in ("pending", "submitting"):
        for entry in ledger.entries_in_state(state, provider=provider):
            groups.setdefault(entry.sweep_id or f"entry-{entry.id}", []).append(entry)
    for group in groups.values():
        sweep_id = group[0].sweep_id
        if sweep_id is not None:  # the members created before the kill belong to it too
            group = group + ledger.entries_in_state(
                "submitted", sweep_id=sweep_id, provider=provider
            )
        ordered = sorted(group, key=lambda e: (e.member_index or 0, e.id))
        if [_normal(request_body(entry.spec)) for entry in ordered] == wanted:
            return ordered
    return []


def _normal(body: dict[str, Any]) -> Any:
    """A request as the ledger stores it (JSON), so a queued one compares equal to a new one."""
    return orjson.loads(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))


def hash_file(path: Path) -> tuple[str, int, int]:
    """(SHA-256 hex, size in bytes, line count) of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if size and last != b"\n":
        lines += 1  # a last line without a newline is still a line
    return digest.hexdigest(), size, lines


def validate_spec_data(
    train: Sequence[Path],
    evals: Sequence[Path],
    *,
    options: ValidateOptions,
    counter_factory: CounterFactory | None,
    progress: Progress,
    workers: int | None,
) -> Report:
    """A spec's local training files validated with each validation file checked as evaluation
    data against them (``progress`` shows the first pass), for every provider; unreadable data
    is a ``SpecError``."""
    try:
        first = validate_paths(
            train,
            options=options,
            counter_factory=counter_factory,
            eval_path=evals[0] if evals else None,
            progress=progress,
            workers=workers,
        )
        files = list(first.files)
        for extra in evals[1:]:
            more = validate_paths(
                train,
                options=options,
                counter_factory=counter_factory,
                eval_path=extra,
                workers=workers,
            )
            files.append(more.files[-1])
    except DataInputError as exc:
        raise SpecError(str(exc)) from None
    return Report(files, strict=options.strict)


def blocking_findings(report: Report) -> list[Finding]:
    """The findings that stop a job: errors, and the warnings in ``BLOCKING_WARNINGS``."""
    return [f for f in report.iter_findings() if f.is_error or f.code in BLOCKING_WARNINGS]


def _single_outcome(job: Job, report: CycleReport) -> Outcome:
    if any(job_id == job.id for job_id, _ in report.refused):
        return "over_budget"
    if job.status == "VALIDATED":
        return "validated"
    if job.status == "FAILED_VALIDATION":
        return "failed"
    return "started"


def failure_reason(job: Job) -> str:
    """Why a job ended badly, from its newest event that carries an error."""
    # Event order differs between API versions (newest or oldest first): sort by time.
    for event in sorted(job.events, key=lambda e: e.created_at or 0, reverse=True):
        data: Mapping[str, Any] = event.data or {}
        error = data.get("error") or data.get("message")
        if error:
            return f"job {job.id} is {job.status}: {error}"
    return f"job {job.id} is {job.status}"


def model_counting(provider: Provider, model: str) -> tuple[CounterFactory | None, int | None]:
    """How a job's data is counted before it is sent: the counter factory of the model's
    tokenizer (picklable for worker processes) and the longest example (its context), both by
    the core's rule (:func:`tuner.datasets.providers.resolve_counting_for`). A model tuner does
    not know is no error here: its rules are still checked, without counts or a length limit."""
    try:
        counting = resolve_counting_for(provider, model)
    except UnknownModelError:
        return None, None
    return counter_factory(provider, counting.tokenizer), counting.seq_len
