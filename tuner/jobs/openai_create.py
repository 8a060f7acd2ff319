"""Creating OpenAI jobs from a spec: count, estimate, confirm, upload, queue, create.

OpenAI has no VALIDATED-then-start step: creating a job starts it and bills it. So, unlike the
Mistral flow (``tuner.jobs.orchestrator``), everything that needs a person happens before the
job exists::

    validate the local training (and validation) file with OpenAI's rules, counting tokens
             with the model family's encoding (tuner.datasets.openai_tokens): errors stop here
    estimate tokens × epochs × price (tuner.datasets.openai_cost; the price's source and date)
    --max-cost: refuse when a job's (or a sweep's) estimate is over it, or unknown
    confirm(plan): the only confirmation
    upload each file once with purpose fine-tune (the ledger knows content already uploaded)
    refuse a duplicate: the same request already made a job that is running or succeeded
    queue the job(s) (provider "openai") and drain the queue: created jobs are running jobs

``auto_start = false`` is refused in the spec (see ``tuner.jobs.spec``): there is nothing to
hold a created job at. Headless like the orchestrator: client, ledger, clock, ``confirm`` and
the progress reporter are injected; it never prints.
"""

from __future__ import annotations

import asyncio
import shlex
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tuner.api import NotFoundError
from tuner.api.openai import FineTuningJob
from tuner.datasets.openai_cost import OpenAIEstimate, estimate
from tuner.datasets.report import Report
from tuner.datasets.validate import ValidateOptions
from tuner.jobs.openai_jobs import PROVIDER, DuplicateJobError, OpenAICycle, OpenAIJobs
from tuner.jobs.orchestrator import (
    blocking_findings,
    budget_refusal,
    hash_file,
    model_counting,
    queued_copy,
    total_cost,
    validate_spec_data,
)
from tuner.jobs.records import FileRecord, QueueEntry
from tuner.jobs.spec import JobSpec, SpecError, SpecFile
from tuner.jobs.submit import SubmissionMeta, with_meta
from tuner.progress import NULL_PROGRESS, Progress

Confirm = Callable[["OpenAIPlan"], bool]
OpenAIOutcome = Literal[
    "dry_run",  # validated and estimated only
    "invalid",  # the data breaks OpenAI's rules: nothing uploaded
    "over_budget",  # --max-cost refused it (nothing uploaded or created)
    "declined",  # confirm() said no (nothing uploaded or created)
    "duplicate",  # the same job exists already (nothing created)
    "started",  # created, which on OpenAI means started
    "queued",  # waiting in the queue for room
    "submitted",  # a sweep: created members running, the rest queued
    "failed",  # the create was refused
]


def refuse_all(plan: OpenAIPlan) -> bool:
    """The default ``confirm``: nothing costs money unless a caller says yes."""
    return False


@dataclass(frozen=True)
class OpenAIJobPlan:
    spec: JobSpec
    estimate: OpenAIEstimate | None

    @property
    def cost(self) -> float | None:
        return None if self.estimate is None else self.estimate.cost

    def to_dict(self) -> dict[str, Any]:
        return {
            "suffix": self.spec.suffix,
            "method": self.spec.openai_method,
            "hyperparameters": self.spec.hyperparameters,
            "sweep_values": self.spec.sweep_values,
            "estimate": None if self.estimate is None else self.estimate.to_dict(),
            "cost": self.cost,
        }


@dataclass(frozen=True)
class OpenAIPlan:
    """What ``confirm`` is asked about: the local estimates only (there are no others)."""

    source: str
    model: str
    jobs: list[OpenAIJobPlan]
    max_cost: float | None = None
    provider: str = "openai"

    @property
    def total_cost(self) -> float | None:
        return total_cost([job.cost for job in self.jobs])

    def over_budget(self) -> str | None:
        """Why ``max_cost`` refuses the plan (an unknown cost included), or None."""
        priced = [
            (
                job.spec.suffix or self.model,
                job.cost,
                job.estimate.note if job.estimate is not None else "no estimate",
            )
            for job in self.jobs
        ]
        return budget_refusal(priced, self.max_cost, approximate=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "source": self.source,
            "model": self.model,
            "stage": "estimate",
            "max_cost": self.max_cost,
            "total_cost": self.total_cost,
            "jobs": [job.to_dict() for job in self.jobs],
        }


@dataclass
class OpenAICreateResult:
    outcome: OpenAIOutcome
    plan: OpenAIPlan
    report: Report | None = None
    """The local files' validation with OpenAI's rules (None: the files are on the server)."""
    jobs: list[FineTuningJob] = field(default_factory=list)
    queued: int = 0
    sweep_id: str | None = None
    message: str | None = None
    cycle: OpenAICycle | None = None
    backend: str | None = None
    """The OpenAI URL the jobs were created at."""
    sandbox: bool | None = None
    """Whether that server is a sandbox (its jobs are SIMULATED); None before it answered."""
    reused: int = 0
    """Queue entries of an earlier, unfinished run of the same spec, used instead of new ones."""

    @property
    def ok(self) -> bool:
        return self.outcome in ("dry_run", "started", "queued", "submitted")


class OpenAICreator:
    """Creates OpenAI jobs from specs through the queue of ``jobs`` (see the module doc)."""

    def __init__(
        self,
        jobs: OpenAIJobs,
        *,
        confirm: Confirm = refuse_all,
        progress: Progress = NULL_PROGRESS,
        validate_workers: int | None = None,
    ) -> None:
        self.jobs = jobs
        self.client = jobs.client
        self.ledger = jobs.ledger
        self.confirm = confirm
        self.progress = progress
        self.validate_workers = validate_workers

    def validate(self, spec: JobSpec) -> Report | None:
        """Validate the spec's local files with OpenAI's rules (blocking; CPU-bound), the
        validation file as evaluation data against the training file. Tokens are counted with
        the model family's encoding; for a family tuner does not know, the rules are checked
        without counts (and there is no estimate). None when the training file is given by id.
        """
        train = spec.training_paths()
        if not train:
            return None
        evals = spec.validation_paths()
        counter, seq_len = model_counting("openai", spec.model)
        options = ValidateOptions(
            fmt="preference" if spec.openai_method == "dpo" else "instruct",
            seq_len=seq_len,
            provider="openai",
        )
        return validate_spec_data(
            train,
            evals,
            options=options,
            counter_factory=counter,
            progress=self.progress,
            workers=self.validate_workers,
        )

    def estimate(self, spec: JobSpec, report: Report | None) -> OpenAIEstimate | None:
        """tokens × epochs × price from the training file's counts; None without counts."""
        files = [f for f in (report.files if report else []) if not f.is_eval and f.tokenizer]
        tokens = sum(f.tokens_total for f in files)
        if tokens < 1:
            return None
        return estimate(
            tokens,
            spec.model,
            examples=sum(f.conversations for f in files),
            tokenizer=files[0].tokenizer or "",
            method=spec.openai_method,
            epochs=spec.n_epochs,
        )

    async def create(
        self, spec_file: SpecFile, *, max_cost: float | None = None, dry_run: bool = False
    ) -> OpenAICreateResult:
        first = spec_file.job
        if not first.is_openai:
            raise SpecError(f'{spec_file.source}: not an OpenAI spec (provider = "openai")')
        # A sweep varies hyperparameters only: its members share the files, checked once.
        report = await asyncio.to_thread(self.validate, first)
        plan = OpenAIPlan(
            source=spec_file.source,
            model=first.model,
            jobs=[
                OpenAIJobPlan(member, self.estimate(member, report))
                for member in spec_file.members()
            ],
            max_cost=max_cost,
        )
        if report is not None and blocking_findings(report):
            return OpenAICreateResult(
                "invalid", plan, report, message=refusal_message(report, first)
            )
        if dry_run:
            return OpenAICreateResult("dry_run", plan, report)
        refusal = plan.over_budget()
        if refusal is not None:
            return OpenAICreateResult("over_budget", plan, report, message=refusal)
        if not self.confirm(plan):
            return OpenAICreateResult("declined", plan, report)
        file_ids = {path: (await self.upload(path)).file_id for path in first.local_paths()}
        sweep_id = uuid.uuid4().hex if spec_file.is_sweep else None
        requests = [job.spec.to_openai_create(file_ids) for job in plan.jobs]
        specs = [
            with_meta(request.to_body(), self._meta(job, spec_file, max_cost))
            for job, request in zip(plan.jobs, requests, strict=True)
        ]
        earlier = await self.ledger.aio.call(queued_copy, self.ledger, specs, PROVIDER)
        if earlier:
            # The same spec was queued before and not all created (its creator was killed):
            # those entries are this spec's, and the jobs they made are not duplicates.
            entries, sweep_id = earlier, earlier[0].sweep_id
        else:
            for request in requests:
                try:
                    await self.jobs.refuse_duplicate(request.to_body())
                except DuplicateJobError as exc:
                    return OpenAICreateResult("duplicate", plan, report, message=str(exc))
            entries = await self.jobs.enqueue(specs, sweep_id)
        cycle = await self.jobs.cycle(refresh=False)
        ours = {entry.id for entry in entries}
        mine = [s for s in cycle.submissions if s.entry_id in ours]
        created = [s.job for s in mine if s.job is not None]
        created += await self._created_before(entries, {s.entry_id for s in mine})
        failed = [s.error or "failed" for s in mine if s.kind == "failed"]
        queued = len(ours) - len(created) - len(failed)
        message = "; ".join(failed) or None
        if cycle.busy:
            message = "another process holds the OpenAI queue; the daemon submits the job(s)"
        outcome: OpenAIOutcome
        if spec_file.is_sweep:
            outcome = "failed" if failed and not created and not queued else "submitted"
        elif created:
            outcome = "started"
        else:
            outcome = "failed" if failed else "queued"
        return OpenAICreateResult(
            outcome,
            plan,
            report,
            created,
            queued,
            sweep_id,
            message,
            cycle,
            backend=self.jobs.backend,
            sandbox=self.client.is_sandbox,
            reused=len(earlier),
        )

    def _meta(
        self, job: OpenAIJobPlan, spec_file: SpecFile, max_cost: float | None
    ) -> SubmissionMeta:
        return SubmissionMeta(
            start="approved",
            max_cost=max_cost,
            max_total=max_cost if spec_file.is_sweep else None,
            estimated_cost=job.cost,
            source=spec_file.source,
            member_index=job.spec.member_index,
            sweep_values=job.spec.sweep_values,
        )

    async def _created_before(
        self, entries: list[QueueEntry], settled: set[int]
    ) -> list[FineTuningJob]:
        """The jobs of reused entries an earlier run (or the daemon) already created."""
        found = []
        for earlier in entries:
            if earlier.id in settled:
                continue
            entry = await self.ledger.aio.get_queue_entry(earlier.id)  # as the cycle left it
            if entry is None or entry.state != "submitted" or entry.job_id is None:
                continue
            found.append(await self.jobs.client.jobs.get(entry.job_id))
        return found

    async def upload(self, path: Path) -> FileRecord:
        """Upload ``path`` (purpose fine-tune) unless the same content is still on this
        server per the ledger; record dataset and file either way."""
        digest, size, lines = await asyncio.to_thread(hash_file, path)
        clock = self.jobs.clock
        await self.ledger.aio.record_dataset(
            digest, path=path.absolute(), size_bytes=size, line_count=lines, now=clock()
        )
        known = await self.ledger.aio.find_uploaded_file(digest, self.jobs.backend)
        if known is not None:
            try:
                await self.client.files.get(known.file_id)
                return known
            except NotFoundError:
                await self.ledger.aio.mark_file_deleted(known.file_id, now=clock())
        self.progress.start(f"uploading {path.name}", total=size, unit="B")
        reported = 0

        def advance(sent: int, _total: int) -> None:
            nonlocal reported
            if sent < reported:  # a retry sends the file again from the start
                reported = 0
            self.progress.advance(sent - reported)
            reported = sent

        try:
            uploaded = await self.client.files.upload(path, purpose="fine-tune", progress=advance)
        finally:
            self.progress.finish()
        return await self.ledger.aio.record_file(
            uploaded.id,
            backend=self.jobs.backend,
            uploaded_at=clock(),
            content_hash=digest,
            filename=uploaded.filename or path.name,
            size_bytes=uploaded.bytes,
            purpose=uploaded.purpose,
            num_lines=lines,
            key_last4=self.client.keys.owner_of(uploaded.id),
            sandbox=self.client.is_sandbox,
            provider="openai",
        )


def refusal_message(report: Report, spec: JobSpec) -> str:
    """One line: how many errors, the first, and the command that lists them all."""
    blocking = blocking_findings(report)
    command = ["tuner", "data", "validate", "--provider", "openai", "--model", spec.model]
    command += [str(path) for path in spec.training_paths()]
    for path in spec.validation_paths():
        command += ["--eval", str(path)]
    return (
        f"{len(blocking):,} error(s) under OpenAI's rules, first {blocking[0].where}: "
        f"{blocking[0].message}; nothing was uploaded. See them all: {shlex.join(command)}"
    )
