"""The jobs table and the status bar, read from the ledger.

Blocking (SQL): the app calls these from thread workers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuner.jobs.ledger import Ledger
from tuner.jobs.records import JobRecord, LeaseRecord, QueueEntry

DAEMON_LEASE = "daemon"
QUEUED_LOCAL = "QUEUED-LOCAL"
"""The status of a row for a queued spec that is not a job on the server yet."""
QUEUE_ROW_PREFIX = "queue-"
# The tuner fields of a queued or recorded spec (``tuner.jobs.submit.META_KEY``; not imported:
# that module pulls in the API client, which the first frame must not wait for).
_META_KEY = "tuner"
# Jobs in training: their latest checkpoint says how far they are. (Their checkpoints, and
# those of stopped jobs and sweep members, are read in one query: a ledger of thousands of
# finished jobs must still open fast.)
_TRAINING = frozenset({"RUNNING", "CANCELLATION_REQUESTED"})
# Where the latest checkpoint is the progress to show: in training, and stopped part-way (a
# cancelled job keeps the 100/1000 it reached, rather than -/1000).
_PROGRESS = _TRAINING | {"CANCELLED", "FAILED"}


# --------------------------------------------------------------------------- the jobs table


@dataclass(frozen=True, slots=True)
class JobRow:
    """One row of the jobs table."""

    id: str
    model: str
    suffix: str | None
    status: str
    step: int | None
    total_steps: int | None
    trained_tokens: int | None
    cost: float | None
    currency: str | None
    created_at: int
    fine_tuned_model: str | None
    sweep_values: Mapping[str, Any] = field(default_factory=dict)
    """For a sweep member, the values the grid gave it."""
    best_valid_loss: float | None = None
    """The lowest ``valid_loss`` of its checkpoints (read for sweep members and jobs in
    training; None otherwise or without validation data)."""
    provider: str = "mistral"
    """Whose job it is ("mistral" or "openai"): the table shows a provider column once a
    row is not Mistral's."""
    simulated: bool = False
    """A sandbox reported it (its training and model were made up)."""

    @property
    def is_local(self) -> bool:
        """A spec still in the local submission queue: no job on the server yet."""
        return self.status == QUEUED_LOCAL

    def matches(self, text: str) -> bool:
        """Whether the filter ``text`` (case-insensitive, every word) is in this row."""
        haystack = " ".join(
            part
            for part in (self.id, self.model, self.suffix, self.status, self.fine_tuned_model)
            if part
        ).lower()
        return all(word in haystack for word in text.lower().split())


def _training_steps(record: JobRecord) -> int | None:
    value = (record.hyperparameters or {}).get("training_steps")
    return int(value) if isinstance(value, int | float) else None


def job_row(
    record: JobRecord, latest_step: int | None = None, best_valid_loss: float | None = None
) -> JobRow:
    metadata = record.metadata or {}
    total = _training_steps(record)
    step = latest_step
    if record.status == "SUCCESS" and total is not None:
        step = total
    raw_cost = metadata.get("cost")
    return JobRow(
        id=record.id,
        model=record.model,
        suffix=record.suffix,
        status=record.status,
        step=step,
        total_steps=total,
        trained_tokens=record.trained_tokens,
        cost=float(raw_cost) if isinstance(raw_cost, int | float) else None,
        currency=metadata.get("cost_currency"),
        created_at=record.created_at if record.created_at is not None else record.first_seen_at,
        fine_tuned_model=record.fine_tuned_model,
        sweep_values=_sweep_values(record.spec),
        best_valid_loss=best_valid_loss,
        provider=record.provider,
        simulated=record.simulated,
    )


def _meta(spec: Mapping[str, Any] | None) -> Mapping[str, Any]:
    meta = (spec or {}).get(_META_KEY)
    return meta if isinstance(meta, Mapping) else {}


def _sweep_values(spec: Mapping[str, Any] | None) -> Mapping[str, Any]:
    values = _meta(spec).get("sweep_values")
    return values if isinstance(values, Mapping) else {}


def queue_row(entry: QueueEntry) -> JobRow:
    """A queued spec (pending, or being submitted) as a row, until its job exists."""
    spec = entry.spec
    hyper = spec.get("hyperparameters")
    steps = hyper.get("training_steps") if isinstance(hyper, Mapping) else None
    estimated = _meta(spec).get("estimated_cost")
    suffix = spec.get("suffix")
    return JobRow(
        id=f"{QUEUE_ROW_PREFIX}{entry.id}",
        model=str(spec.get("model", "")),
        suffix=suffix if isinstance(suffix, str) else None,
        status=QUEUED_LOCAL,
        step=None,
        total_steps=int(steps) if isinstance(steps, int | float) else None,
        trained_tokens=None,
        cost=float(estimated) if isinstance(estimated, int | float) else None,
        currency=None,
        created_at=entry.created_at,
        fine_tuned_model=None,
        sweep_values=_sweep_values(spec),
        provider=entry.provider,
    )


def load_queue_rows(ledger: Ledger) -> list[JobRow]:
    """The submission queue's entries not yet created on the server, newest first."""
    entries = [
        *ledger.entries_in_state("pending"),
        *ledger.entries_in_state("submitting"),
    ]
    return [queue_row(entry) for entry in sorted(entries, key=lambda e: e.id, reverse=True)]


def load_job_rows(
    ledger: Ledger, backend: str, also: Sequence[str] = ()
) -> tuple[list[JobRow], int | None, int]:
    """Every job of ``backend`` (and of the backends ``also`` names: another provider's),
    newest first (running jobs with their latest checkpoint step), the newest ``updated_at``
    among them, and how many wait VALIDATED for an agreed start."""
    records = ledger.list_jobs(backend=backend)
    for other in also:
        records += ledger.list_jobs(backend=other)
    if also:
        records.sort(key=lambda r: (r.created_at or r.first_seen_at, r.id), reverse=True)
    last = max((record.updated_at for record in records), default=None)
    rows = []
    startable = 0
    wanted = [r.id for r in records if r.status in _PROGRESS or r.sweep_id is not None]
    progress = ledger.checkpoints_of(wanted) if wanted else {}
    for record in records:
        latest = best = None
        if record.id in progress:
            checkpoints = progress[record.id]
            latest = max(
                (c.step for c in checkpoints), default=0 if record.status in _TRAINING else None
            )
            losses = [
                float(value)
                for c in checkpoints
                if isinstance(value := c.metrics.get("valid_loss"), int | float)
            ]
            best = min(losses, default=None)
        rows.append(job_row(record, latest, best))
        if record.status == "VALIDATED" and _meta(record.spec).get("start") == "approved":
            startable += 1
    return rows, last, startable


# --------------------------------------------------------------------------- the status bar


@dataclass(frozen=True, slots=True)
class KeyHealth:
    ready: int
    resting: int
    removed: int

    @property
    def total(self) -> int:
        return self.ready + self.resting + self.removed


@dataclass(frozen=True, slots=True)
class JobsSnapshot:
    """What one read of the ledger gives the jobs screen and the status bar."""

    rows: list[JobRow]
    daemon: LeaseRecord | None
    """Who holds the daemon lease now (None: no daemon is running)."""
    last_update: int | None
    """The newest ``updated_at`` of the backend's jobs: when the ledger last learnt something."""
    daemon_cycle: int | None = None
    """When the daemon last completed a cycle (polled); None when it never did."""
    queued: int = 0
    """Rows that are specs in the local submission queue (QUEUED-LOCAL), not jobs yet."""
    startable: int = 0
    """VALIDATED jobs queued with an agreed start (a sweep's members): the queue starts them."""

    @property
    def simulated_providers(self) -> tuple[str, ...]:
        """The providers other than Mistral (whose backend the status bar names) with a
        sandbox's job among the rows: the status bar marks them SIMULATED too."""
        return tuple(
            sorted(
                {row.provider for row in self.rows if row.simulated and row.provider != "mistral"}
            )
        )


def load_jobs(ledger: Ledger, backend: str, now: int, also: Sequence[str] = ()) -> JobsSnapshot:
    """The jobs screen's read; ``also``: other providers' backends whose jobs are shown too."""
    rows, last, startable = load_job_rows(ledger, backend, also)
    queued = load_queue_rows(ledger)
    daemon = ledger.lease_holder(DAEMON_LEASE, now)
    cycle = None if daemon is None else ledger.last_heartbeat(DAEMON_LEASE)
    merged = sorted([*queued, *rows], key=lambda row: (row.created_at, row.id), reverse=True)
    return JobsSnapshot(merged, daemon, last, cycle, queued=len(queued), startable=startable)


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """The status bar: which backend, how the keys are, who polls."""

    backend: str
    sandbox: bool | None
    """None until the backend has answered once."""
    keys: KeyHealth | None
    """None until the client is built (the dashboard builds it after its first frame)."""
    daemon: LeaseRecord | None
    last_update: int | None
    last_poll: int | None
    """When this dashboard last polled the API itself (None: never, e.g. a daemon polls)."""
    poll_interval: float | None
    reachable: bool | None
    now: int
    daemon_cycle: int | None = None
    """When the daemon last completed a cycle (polled); None when it never did."""
    refreshing: bool = False
    """A refresh is in progress."""
    other_sandboxes: tuple[str, ...] = ()
    """Other providers whose shown jobs a sandbox reported (see ``simulated_providers``)."""


def key_health(states: Sequence[str]) -> KeyHealth:
    return KeyHealth(
        ready=sum(s == "ready" for s in states),
        resting=sum(s == "resting" for s in states),
        removed=sum(s == "removed" for s in states),
    )
