"""Creating OpenAI jobs from a spec: count, estimate, confirm, upload, queue, create.

OpenAI has no VALIDATED-then-start step: creating a job starts it and bills it. So, unlike the
Mistral flow (``tuner.jobs.orchestrator``), everything that needs a person happens before the
job exists::

    count the training file's tokens with the model family's encoding (tuner.datasets.openai_cost)
    estimate tokens × epochs × price (the price table's source and date shown with it)
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
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tuner.api import NotFoundError
from tuner.api.openai import FineTuningJob
from tuner.datasets.openai_cost import OpenAIEstimate, TokenCount, count_tokens, estimate
from tuner.jobs.openai_jobs import DuplicateJobError, OpenAICycle, OpenAIJobs
from tuner.jobs.orchestrator import hash_file
from tuner.jobs.records import FileRecord
from tuner.jobs.spec import JobSpec, SpecError, SpecFile
from tuner.jobs.submit import SubmissionMeta, with_meta
from tuner.progress import NULL_PROGRESS, Progress

Confirm = Callable[["OpenAIPlan"], bool]
OpenAIOutcome = Literal[
    "dry_run",  # counted and estimated only
    "invalid",  # the training file has unusable lines: nothing uploaded
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
        costs = [job.cost for job in self.jobs]
        if any(cost is None for cost in costs):
            return None
        return sum(cost for cost in costs if cost is not None)

    def over_budget(self) -> str | None:
        """Why ``max_cost`` refuses the plan (an unknown cost included), or None."""
        if self.max_cost is None:
            return None
        for job in self.jobs:
            name = job.spec.suffix or self.model
            if job.cost is None:
                why = job.estimate.note if job.estimate is not None else "no estimate"
                return f"the cost of {name} is unknown ({why}), and --max-cost was given"
            if job.cost > self.max_cost + 1e-9:
                return f"{name} costs about {job.cost:.2f}, over the budget of {self.max_cost:.2f}"
        total = self.total_cost
        if total is not None and total > self.max_cost + 1e-9:
            return f"the {len(self.jobs)} jobs cost about {total:.2f}, over {self.max_cost:.2f}"
        return None

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
    count: TokenCount | None = None
    jobs: list[FineTuningJob] = field(default_factory=list)
    queued: int = 0
    sweep_id: str | None = None
    message: str | None = None
    cycle: OpenAICycle | None = None
    backend: str | None = None
    """The OpenAI URL the jobs were created at."""
    sandbox: bool | None = None
    """Whether that server is a sandbox (its jobs are SIMULATED); None before it answered."""

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
    ) -> None:
        self.jobs = jobs
        self.client = jobs.client
        self.ledger = jobs.ledger
        self.confirm = confirm
        self.progress = progress

    def count(self, spec: JobSpec) -> TokenCount | None:
        """The training file's tokens (None when it is on the server already, by id)."""
        paths = spec.training_paths()
        if not paths:
            return None
        try:
            return count_tokens(paths[0], spec.model, method=spec.openai_method)
        except FileNotFoundError:
            raise SpecError(f"{paths[0]}: no such training file") from None
        except OSError as exc:
            raise SpecError(f"{paths[0]}: cannot read it: {exc}") from None
        except ValueError:
            return None  # a model family without a known encoding: no estimate

    async def create(
        self, spec_file: SpecFile, *, max_cost: float | None = None, dry_run: bool = False
    ) -> OpenAICreateResult:
        first = spec_file.job
        if not first.is_openai:
            raise SpecError(f'{spec_file.source}: not an OpenAI spec (provider = "openai")')
        counted = await asyncio.to_thread(self.count, first)
        plan = OpenAIPlan(
            source=spec_file.source,
            model=first.model,
            jobs=[
                OpenAIJobPlan(
                    member,
                    None
                    if counted is None
                    else estimate(
                        counted, member.model, method=member.openai_method, epochs=member.n_epochs
                    ),
                )
                for member in spec_file.members()
            ],
            max_cost=max_cost,
        )
        if counted is not None and counted.problem_count:
            where = "; ".join(f"line {p.line}: {p.reason}" for p in counted.problems[:3])
            return OpenAICreateResult(
                "invalid",
                plan,
                counted,
                message=f"{counted.path}: {counted.problem_count} line(s) are not "
                f"{first.openai_method} examples ({where}); nothing was uploaded",
            )
        if dry_run:
            return OpenAICreateResult("dry_run", plan, counted)
        refusal = plan.over_budget()
        if refusal is not None:
            return OpenAICreateResult("over_budget", plan, counted, message=refusal)
        if not self.confirm(plan):
            return OpenAICreateResult("declined", plan, counted)
        file_ids = {path: (await self.upload(path)).file_id for path in first.local_paths()}
        sweep_id = uuid.uuid4().hex if spec_file.is_sweep else None
        specs = []
        for job in plan.jobs:
            request = job.spec.to_openai_create(file_ids)
            try:
                await self.jobs.refuse_duplicate(request.to_body())
            except DuplicateJobError as exc:
                return OpenAICreateResult("duplicate", plan, counted, message=str(exc))
            meta = SubmissionMeta(
                start="approved",
                max_cost=max_cost,
                max_total=max_cost if spec_file.is_sweep else None,
                estimated_cost=job.cost,
                source=spec_file.source,
                member_index=job.spec.member_index,
                sweep_values=job.spec.sweep_values,
            )
            specs.append(with_meta(request.to_body(), meta))
        entries = await self.jobs.enqueue(specs, sweep_id)
        cycle = await self.jobs.cycle(refresh=False)
        ours = {entry.id for entry in entries}
        mine = [s for s in cycle.submissions if s.entry_id in ours]
        created = [s.job for s in mine if s.job is not None]
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
            counted,
            created,
            queued,
            sweep_id,
            message,
            cycle,
            backend=self.jobs.backend,
            sandbox=self.client.is_sandbox,
        )

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
