"""One job followed to its end, whoever runs it: what ``tuner jobs watch`` shows on each poll.

Mistral's jobs carry their steps and losses on the job (its checkpoints); OpenAI's carry them in
events (``metrics``: step, total_steps, train_loss, valid_loss) and checkpoints, which
``OpenAIJobs.refresh`` records in the ledger. Both become a :class:`WatchFrame`, so one view
renders either. No printing here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuner.api import Job
    from tuner.jobs.detail import JobDetail


@dataclass(frozen=True, slots=True)
class WatchFrame:
    """A job as one poll saw it."""

    provider: str
    id: str
    status: str
    """The ledger's state (SUCCESS, RUNNING, ...)."""
    provider_status: str
    """The provider's own word (OpenAI's ``running``; Mistral's is ``status``)."""
    step: int
    """The newest step reported (0 before any)."""
    total_steps: int | None
    train_loss: float | None
    valid_loss: float | None
    fine_tuned_model: str | None
    terminal: bool
    failure: str | None
    """Why it ended badly (None while it runs or once it succeeded)."""
    sandbox: bool | None = None
    """Whether a sandbox reported it (its job is SIMULATED); None: not known."""
    backend: str | None = None
    """The API URL the job is at."""

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"


def mistral_frame(job: Job, *, backend: str, sandbox: bool | None) -> WatchFrame:
    """A Mistral job's frame: steps and losses from its newest numbered checkpoint."""
    from tuner.jobs.orchestrator import failure_reason

    numbered = [c for c in job.checkpoints if c.step_number is not None]
    newest = max(numbered, key=lambda c: c.step_number or 0) if numbered else None
    ended_badly = job.is_terminal and job.status != "SUCCESS"
    return WatchFrame(
        provider="mistral",
        id=job.id,
        status=job.status,
        provider_status=job.status,
        step=(newest.step_number or 0) if newest is not None else 0,
        total_steps=job.hyperparameters.training_steps,
        train_loss=newest.metrics.train_loss if newest is not None else None,
        valid_loss=newest.metrics.valid_loss if newest is not None else None,
        fine_tuned_model=job.fine_tuned_model,
        terminal=job.is_terminal,
        failure=failure_reason(job) if ended_badly else None,
        sandbox=sandbox,
        backend=backend,
    )


def ledger_frame(detail: JobDetail) -> WatchFrame:
    """A job's frame from the ledger (an OpenAI job after ``OpenAIJobs.refresh``): steps and
    losses from the newest ``metrics`` event, else the newest checkpoint."""
    job = detail.job
    step, total, train, valid = _newest_metrics(detail)
    failure = None
    if job.is_terminal and job.status != "SUCCESS":
        reason = detail.failure
        failure = f"job {job.id} is {job.status}" + (f": {reason}" if reason else "")
    return WatchFrame(
        provider=job.provider,
        id=job.id,
        status=job.status,
        provider_status=job.provider_status,
        step=step,
        total_steps=total,
        train_loss=train,
        valid_loss=valid,
        fine_tuned_model=job.fine_tuned_model,
        terminal=job.is_terminal,
        failure=failure,
        sandbox=job.sandbox,
        backend=job.backend,
    )


def _newest_metrics(detail: JobDetail) -> tuple[int, int | None, float | None, float | None]:
    """(step, total steps, train loss, valid loss) as the newest report has them."""
    best: tuple[int, int | None, float | None, float | None] = (0, None, None, None)
    for event in detail.events:
        metrics = _metrics_of(event.data)
        step = _int(metrics.get("step"))
        if step is not None and step >= best[0]:
            best = (
                step,
                _int(metrics.get("total_steps")),
                _float(metrics.get("train_loss")),
                _float(metrics.get("valid_loss")),
            )
    for checkpoint in detail.checkpoints:
        if checkpoint.step > best[0]:
            metrics = checkpoint.metrics
            best = (
                checkpoint.step,
                best[1],
                _float(metrics.get("train_loss")),
                _float(metrics.get("valid_loss")),
            )
    total = best[1]
    if total is None:
        # OpenAI reports total steps only in metrics events; the hyperparameters may say.
        total = _int((detail.job.hyperparameters or {}).get("training_steps"))
    if detail.job.status == "SUCCESS" and total is not None:
        return total, total, best[2], best[3]
    return best[0], total, best[2], best[3]


def _metrics_of(data: Any) -> Mapping[str, Any]:
    """The metrics of a recorded event: OpenAI's are under ``data.data`` (the ledger keeps the
    event's id, level and message beside them)."""
    if not isinstance(data, Mapping):
        return {}
    inner = data.get("data")
    return inner if isinstance(inner, Mapping) else {}


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
