"""What the screens show, read from the ledger: plain dataclasses, no textual.

These functions only read and reshape records (the core decides what they mean); they are
blocking (SQL), so the app calls them from thread workers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuner.jobs.ledger import Ledger
from tuner.jobs.records import (
    CheckpointRecord,
    DatasetRecord,
    EvalRunRecord,
    EventRecord,
    FileRecord,
    JobFileLink,
    JobRecord,
    LeaseRecord,
    TransitionRecord,
)

DAEMON_LEASE = "daemon"
# Jobs in training: their latest checkpoint says how far they are. (One query per such job, so
# only the few active ones: a ledger of thousands of finished jobs must still open fast.)
_TRAINING = frozenset({"RUNNING", "CANCELLATION_REQUESTED"})


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


def job_row(record: JobRecord, latest_step: int | None = None) -> JobRow:
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
    )


def load_job_rows(ledger: Ledger, backend: str) -> tuple[list[JobRow], int | None]:
    """Every job of ``backend``, newest first (running jobs with their latest checkpoint step),
    and the newest ``updated_at`` among them."""
    records = ledger.list_jobs(backend=backend)
    last = max((record.updated_at for record in records), default=None)
    rows = []
    for record in records:
        latest = None
        if record.status in _TRAINING:
            latest = max((c.step for c in ledger.checkpoints(record.id)), default=0)
        rows.append(job_row(record, latest))
    return rows, last


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


def load_jobs(ledger: Ledger, backend: str, now: int) -> JobsSnapshot:
    rows, last = load_job_rows(ledger, backend)
    daemon = ledger.lease_holder(DAEMON_LEASE, now)
    cycle = None if daemon is None else ledger.last_heartbeat(DAEMON_LEASE)
    return JobsSnapshot(rows, daemon, last, cycle)


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


def key_health(states: Sequence[str]) -> KeyHealth:
    return KeyHealth(
        ready=sum(s == "ready" for s in states),
        resting=sum(s == "resting" for s in states),
        removed=sum(s == "removed" for s in states),
    )


# --------------------------------------------------------------------------- a job in detail


@dataclass(frozen=True, slots=True)
class LineageNode:
    kind: str
    """dataset, file, job, model or eval."""
    label: str
    detail: str = ""
    children: tuple[LineageNode, ...] = ()


@dataclass(frozen=True, slots=True)
class JobDetail:
    job: JobRecord
    checkpoints: list[CheckpointRecord]
    events: list[EventRecord]
    transitions: list[TransitionRecord]
    files: list[JobFileLink]
    file_records: dict[str, FileRecord | None]
    datasets: dict[str, DatasetRecord | None]
    eval_runs: list[EvalRunRecord]

    @property
    def best_checkpoint(self) -> CheckpointRecord | None:
        """The checkpoint with the lowest ``valid_loss`` (None without validation data)."""
        scored = [c for c in self.checkpoints if _metric(c.metrics, "valid_loss") is not None]
        if not scored:
            return None
        return min(scored, key=lambda c: (_metric(c.metrics, "valid_loss"), c.step))

    def series(self, name: str) -> tuple[list[int], list[float]]:
        """(steps, values) of one checkpoint metric, in step order, where it is known."""
        xs: list[int] = []
        ys: list[float] = []
        for checkpoint in sorted(self.checkpoints, key=lambda c: c.step):
            value = _metric(checkpoint.metrics, name)
            if value is not None:
                xs.append(checkpoint.step)
                ys.append(value)
        return xs, ys

    def lineage(self) -> list[LineageNode]:
        """dataset → file → job → model → evaluation runs: the data (each file under the
        dataset it was uploaded from, when the ledger knows it), then the job's chain."""
        runs = tuple(
            LineageNode(
                "eval",
                f"eval {run.run_id}",
                f"{run.status}, {' vs '.join(run.models)}, judge {run.judge or 'none'}",
            )
            for run in self.eval_runs
        )
        job = self.job
        chain: tuple[LineageNode, ...] = ()
        if job.fine_tuned_model:
            note = f"{len(runs)} evaluation run(s)" if runs else "not evaluated yet"
            chain = (LineageNode("model", f"model {job.fine_tuned_model}", note, runs),)
        job_node = LineageNode("job", f"job {job.id}", f"{job.model}, {job.status}", chain)
        data: list[LineageNode] = []
        for link in self.files:
            record = self.file_records.get(link.file_id)
            weight = f", weight {link.weight:g}" if link.weight is not None else ""
            if record is not None and record.filename:
                label, detail = f"file {record.filename}", f"{link.file_id}, {link.role}{weight}"
            else:
                label, detail = f"file {link.file_id}", f"{link.role}{weight}"
            file_node = LineageNode("file", label, detail)
            dataset = None
            if record is not None and record.content_hash is not None:
                dataset = self.datasets.get(record.content_hash)
            if dataset is not None:
                data.append(
                    LineageNode(
                        "dataset",
                        f"dataset {dataset.path}",
                        f"sha256 {dataset.content_hash[:12]}…, {dataset.line_count} lines",
                        (file_node,),
                    )
                )
            else:
                data.append(file_node)
        if not data:
            data.append(LineageNode("file", "training files not recorded"))
        return [LineageNode("root", "data", "", tuple(data)), job_node]


def _metric(metrics: Mapping[str, Any], name: str) -> float | None:
    value = metrics.get(name)
    return float(value) if isinstance(value, int | float) else None


def load_job_detail(ledger: Ledger, job_id: str) -> JobDetail | None:
    job = ledger.get_job(job_id)
    if job is None:
        return None
    links = ledger.job_files(job_id)
    file_records = {link.file_id: ledger.get_file(link.file_id) for link in links}
    hashes = {r.content_hash for r in file_records.values() if r is not None and r.content_hash}
    datasets = {digest: ledger.get_dataset(digest) for digest in sorted(hashes)}
    runs = ledger.list_eval_runs(model=job.fine_tuned_model) if job.fine_tuned_model else []
    return JobDetail(
        job=job,
        checkpoints=ledger.checkpoints(job_id),
        events=ledger.events(job_id),
        transitions=ledger.transitions(job_id),
        files=links,
        file_records=file_records,
        datasets=datasets,
        eval_runs=runs,
    )


# --------------------------------------------------------------------------- conversations

_MESSAGE_NUMBER = re.compile(r"\bmessage (\d+)\b")
_TOOL_CALL_NUMBER = re.compile(r"\btool call (\d+)\b")
_COLUMN = re.compile(r"\bcolumn (\d+)\b")


@dataclass(frozen=True, slots=True)
class Pointer:
    """Where in a line a finding points: a message (1-based), a tool call, a column."""

    message: int | None = None
    tool_call: int | None = None
    column: int | None = None


def pointer_of(message: str) -> Pointer:
    """Read the place a finding's message names (``message 3``, ``tool call 1``,
    ``column 132``); the validator's messages name them this way."""

    def first(pattern: re.Pattern[str]) -> int | None:
        found = pattern.search(message)
        return int(found.group(1)) if found else None

    return Pointer(first(_MESSAGE_NUMBER), first(_TOOL_CALL_NUMBER), first(_COLUMN))


@dataclass(frozen=True, slots=True)
class LineContent:
    """One line of a JSONL file: its parsed value when it is JSON, else the raw text."""

    number: int
    raw: str
    value: Any = None
    parsed: bool = False
    messages: list[Any] = field(default_factory=list)
    tools: list[Any] = field(default_factory=list)


def read_line(path: str, number: int, *, limit: int = 1 << 20) -> LineContent:
    """Line ``number`` (1-based) of ``path``; at most ``limit`` bytes of it are kept."""
    import orjson

    with open(path, "rb") as handle:  # noqa: PTH123 - a plain binary read, line by line
        for index, data in enumerate(handle, start=1):
            if index == number:
                data = data.rstrip(b"\r\n")[:limit]
                raw = data.decode("utf-8", "replace")
                try:
                    value = orjson.loads(data)
                except orjson.JSONDecodeError:
                    return LineContent(number, raw)
                messages: list[Any] = []
                tools: list[Any] = []
                if isinstance(value, dict):
                    found = value.get("messages", value.get("interactions"))
                    messages = found if isinstance(found, list) else []
                    listed = value.get("tools", value.get("available_tools"))
                    tools = listed if isinstance(listed, list) else []
                return LineContent(number, raw, value, True, messages, tools)
    raise LookupError(f"{path} has no line {number}")


def histogram(values: Sequence[int], bins: int = 20) -> tuple[list[str], list[int]]:
    """Equal-width bins over ``values``: (labels, counts); empty lists for no values."""
    if not values:
        return [], []
    low, high = min(values), max(values)
    if low == high:
        return [str(low)], [len(values)]
    bins = max(1, min(bins, high - low + 1))
    width = (high - low) / bins
    counts = [0] * bins
    for value in values:
        index = min(bins - 1, int((value - low) / width))
        counts[index] += 1
    labels = [str(int(low + width * i)) for i in range(bins)]
    return labels, counts
