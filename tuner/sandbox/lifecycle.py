"""A simulated job's life as a pure function of its record and the clock.

Nothing runs in the background: a job's record holds the instants that decide its course
(creation, the start request, the cancel request) and the outcome of validating its data; the
status, events and checkpoints at any time ``now`` are computed from them here. Advancing the
clock is therefore all it takes to move a job along.

Course of a job (durations in simulated seconds)::

    created ─5─▶ VALIDATING ─15─▶ VALIDATED (metadata) ─ parked until /start unless auto_start
    start ──▶ QUEUED ─10─▶ RUNNING ─(setup + steps × seconds/step)─▶ SUCCESS
    invalid data: VALIDATING ─15─▶ FAILED_VALIDATION
    job_fail fault: RUNNING ─(setup + a share of the steps)─▶ FAILED
    cancel: CANCELLATION_REQUESTED ─3─▶ CANCELLED (nothing planned after the request happens)

Checkpoints come every 10 % of the steps but at least 10 steps apart (as the platform's docs
say), plus one at the last step, so that even a short job shows one; listed newest first, as the
platform does. Events are listed oldest first (the 2025 observation).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum

from tuner.sandbox.catalog import ModelSpec, run_seconds
from tuner.sandbox.records import JobRecord, Validation

QUEUED_BEFORE_VALIDATION = 5.0
VALIDATING_SECONDS = 15.0
QUEUED_BEFORE_RUN = 10.0
CANCELLING_SECONDS = 3.0


class Status(StrEnum):
    QUEUED = "QUEUED"
    STARTED = "STARTED"
    VALIDATING = "VALIDATING"
    VALIDATED = "VALIDATED"
    RUNNING = "RUNNING"
    FAILED_VALIDATION = "FAILED_VALIDATION"
    FAILED = "FAILED"
    SUCCESS = "SUCCESS"
    CANCELLED = "CANCELLED"
    CANCELLATION_REQUESTED = "CANCELLATION_REQUESTED"


TERMINAL = frozenset({Status.SUCCESS, Status.FAILED, Status.FAILED_VALIDATION, Status.CANCELLED})
# A new job that duplicates one of these is refused with 409.
ACTIVE = frozenset({Status.QUEUED, Status.VALIDATING, Status.VALIDATED, Status.RUNNING})
CANCELLABLE = frozenset(
    {Status.QUEUED, Status.STARTED, Status.VALIDATING, Status.VALIDATED, Status.RUNNING}
)


@dataclass(frozen=True, slots=True)
class Transition:
    at: float
    status: Status


@dataclass(frozen=True, slots=True)
class Metrics:
    train_loss: float
    valid_loss: float | None
    valid_mean_token_accuracy: float | None


@dataclass(frozen=True, slots=True)
class PlannedCheckpoint:
    step: int
    at: float
    metrics: Metrics


def validation_ends(job: JobRecord) -> float:
    """When the job leaves VALIDATING (the validation outcome is needed from then on)."""
    return job.created_at + QUEUED_BEFORE_VALIDATION + VALIDATING_SECONDS


def start_instant(job: JobRecord) -> float | None:
    """When the job enters the run queue: at validation with auto_start, else on /start."""
    if job.validation is None or not job.validation.ok:
        return None
    if job.auto_start:
        return validation_ends(job)
    return job.start_requested_at


def running_starts(job: JobRecord) -> float | None:
    start = start_instant(job)
    return None if start is None else start + QUEUED_BEFORE_RUN


def planned_transitions(job: JobRecord, model: ModelSpec) -> list[Transition]:
    """Every transition decided so far, cancellation applied, oldest first.

    Without a validation outcome (``job.validation is None``) the plan stops at VALIDATING: the
    caller must settle the validation before asking about later instants.
    """
    created = job.created_at
    plan = [
        Transition(created, Status.QUEUED),
        Transition(created + QUEUED_BEFORE_VALIDATION, Status.VALIDATING),
    ]
    outcome = job.validation
    if outcome is not None:
        ends = validation_ends(job)
        plan.append(Transition(ends, Status.VALIDATED if outcome.ok else Status.FAILED_VALIDATION))
        start = start_instant(job)
        if start is not None:
            running = start + QUEUED_BEFORE_RUN
            plan.append(Transition(start, Status.QUEUED))
            plan.append(Transition(running, Status.RUNNING))
            failing = failed_step(job)
            if failing is None:
                finish = running + run_seconds(model, outcome.training_steps)
                plan.append(Transition(finish, Status.SUCCESS))
            else:
                finish = running + run_seconds(model, 0) + failing * model.seconds_per_step
                plan.append(Transition(finish, Status.FAILED))
    cancel = job.cancel_requested_at
    if cancel is not None:
        plan = [t for t in plan if t.at <= cancel]
        plan.append(Transition(cancel, Status.CANCELLATION_REQUESTED))
        plan.append(Transition(cancel + CANCELLING_SECONDS, Status.CANCELLED))
    return plan


def failed_step(job: JobRecord) -> int | None:
    """The step at which a job given the job_fail fault fails (None: it does not fail)."""
    outcome = job.validation
    if job.fail_fraction is None or outcome is None or not outcome.ok:
        return None
    steps = outcome.training_steps
    return min(max(1, math.floor(steps * job.fail_fraction)), max(1, steps - 1))


def failure_message(job: JobRecord) -> str:
    """The error a job failed by the job_fail fault reports in its FAILED event."""
    step = failed_step(job)
    steps = job.validation.training_steps if job.validation is not None else 0
    return (
        f"Training failed at step {step} of {steps}: simulated worker failure "
        "(tuner sandbox job_fail fault)."
    )


def transitions_until(job: JobRecord, model: ModelSpec, now: float) -> list[Transition]:
    return [t for t in planned_transitions(job, model) if t.at <= now]


def status_at(job: JobRecord, model: ModelSpec, now: float) -> Status:
    return transitions_until(job, model, now)[-1].status


def modified_at(job: JobRecord, model: ModelSpec, now: float) -> float:
    """The latest change visible at ``now``: a transition or a start/cancel request."""
    latest = transitions_until(job, model, now)[-1].at
    for request in (job.start_requested_at, job.cancel_requested_at):
        if request is not None and request <= now:
            latest = max(latest, request)
    return latest


def checkpoint_steps(steps: int) -> list[int]:
    """Steps that get a checkpoint: every 10 % (at least 10 steps apart), and the last step."""
    if steps <= 0:
        return []
    every = max(10, math.ceil(steps / 10))
    marks = list(range(every, steps + 1, every))
    if not marks or marks[-1] != steps:
        marks.append(steps)
    return marks


def planned_checkpoints(
    job: JobRecord, model: ModelSpec, *, seed: int, has_validation_data: bool
) -> list[PlannedCheckpoint]:
    """All checkpoints the run will produce, oldest first (cancellation not applied)."""
    running = running_starts(job)
    outcome = job.validation
    if running is None or outcome is None:
        return []
    steps = outcome.training_steps
    setup = run_seconds(model, 0)
    curve = _loss_curve(f"{seed}:{job.id}", checkpoint_steps(steps), steps, has_validation_data)
    return [
        PlannedCheckpoint(step, running + setup + step * model.seconds_per_step, metrics)
        for step, metrics in curve
    ]


def checkpoints_at(
    job: JobRecord, model: ModelSpec, now: float, *, seed: int, has_validation_data: bool
) -> list[PlannedCheckpoint]:
    """Checkpoints visible at ``now``, newest first."""
    cutoff = now if job.cancel_requested_at is None else min(now, job.cancel_requested_at)
    failing = failed_step(job)
    planned = planned_checkpoints(job, model, seed=seed, has_validation_data=has_validation_data)
    if failing is not None:
        planned = [c for c in planned if c.step <= failing]
    return [c for c in reversed(planned) if c.at <= cutoff]


def _loss_curve(
    seed: str, marks: list[int], steps: int, with_validation: bool
) -> list[tuple[int, Metrics]]:
    """A plausible, seeded, strictly decreasing training loss at each checkpoint step.

    Exponential decay towards a floor with a little noise; each value is kept below the previous
    one, so the curve decreases even where two checkpoints are close together.
    """
    rng = random.Random(seed)
    start = rng.uniform(1.6, 2.4)
    floor = rng.uniform(0.35, 0.7)
    rate = rng.uniform(2.5, 4.0)
    gap = rng.uniform(0.04, 0.15)  # validation loss sits a little above training loss
    points: list[tuple[int, Metrics]] = []
    previous = math.inf
    for step in marks:
        progress = step / steps
        train = floor + (start - floor) * math.exp(-rate * progress)
        train *= 1 + rng.uniform(-0.02, 0.02)
        train = min(train, previous * 0.995)
        previous = train
        valid: float | None = None
        accuracy: float | None = None
        if with_validation:
            valid = train + gap * (1 + rng.uniform(-0.1, 0.1))
            accuracy = 0.45 + 0.4 * (1 - math.exp(-rate * progress)) + rng.uniform(-0.01, 0.01)
            valid, accuracy = round(valid, 6), round(accuracy, 6)
        points.append((step, Metrics(round(train, 6), valid, accuracy)))
    return points


def derive_steps(
    *, training_steps: int | None, epochs: float | None, data_tokens: int, tokens_per_step: int
) -> int:
    """Training steps: as requested; else from ``epochs``; else the platform-like default 100."""
    if training_steps is not None:
        return training_steps
    if epochs is not None:
        return max(1, math.ceil(epochs * data_tokens / tokens_per_step))
    return 100


def settle_validation(
    *,
    ok: bool,
    error: str | None,
    data_tokens: int,
    conversations: int,
    training_steps: int | None,
    epochs: float | None,
    model: ModelSpec,
) -> Validation:
    """The fixed outcome of validation: steps, epochs and tokens as the metadata reports them."""
    if not ok:
        return Validation(ok=False, error=error, data_tokens=data_tokens)
    steps = derive_steps(
        training_steps=training_steps,
        epochs=epochs,
        data_tokens=data_tokens,
        tokens_per_step=model.train_tokens_per_step,
    )
    train_tokens = steps * model.train_tokens_per_step
    return Validation(
        ok=True,
        data_tokens=data_tokens,
        training_steps=steps,
        epochs=round(train_tokens / data_tokens, 4) if data_tokens else 0.0,
        train_tokens=train_tokens,
        conversations=conversations,
    )
