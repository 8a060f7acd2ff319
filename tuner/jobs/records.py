"""What the ledger hands back: strict, immutable records with no database objects in them.

Every time is integer UNIX seconds, like the API's own timestamps. JSON columns come back as
plain ``dict``/``list`` values. Content hashes are lowercase hex SHA-256 of a file's bytes: the
same hash links a dataset to the files uploaded from it, and so to jobs and models.

This module imports neither SQLAlchemy nor the HTTP layer, so any part of the program can hold
records without pulling either in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JsonObject = dict[str, Any]

# The job statuses the platform never leaves (docs/api.md#job-statuses-and-lifecycle). Repeated
# here, not imported from tuner.api.wire: importing tuner.api pulls in httpx, and tuner.jobs must
# not.
TERMINAL_STATUSES: frozenset[str] = frozenset(
    {"SUCCESS", "FAILED", "FAILED_VALIDATION", "CANCELLED"}
)

FileRole = Literal["training", "validation"]
NotificationStatus = Literal["pending", "sent", "failed"]
QueueState = Literal["pending", "submitting", "submitted", "failed"]
EvalRunStatus = Literal["pending", "running", "completed", "failed", "cancelled"]


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetRecord(Record):
    content_hash: str
    path: str
    size_bytes: int
    line_count: int
    stats: JsonObject | None
    created_at: int


class FileRecord(Record):
    file_id: str
    backend: str
    content_hash: str | None
    filename: str | None
    size_bytes: int | None
    purpose: str | None
    sample_type: str | None
    num_lines: int | None
    key_last4: str | None
    uploaded_at: int
    deleted_at: int | None
    sandbox: bool | None = None
    """Whether the server that took the upload was a sandbox (None: not known)."""
    provider: str = "mistral"

    @property
    def simulated(self) -> bool:
        return self.sandbox is True


class JobRecord(Record):
    id: str
    backend: str
    model: str
    job_type: str | None
    suffix: str | None
    status: str
    auto_start: bool | None
    spec: JsonObject | None
    """The job spec as submitted, secrets stripped; None for jobs created outside tuner."""
    hyperparameters: JsonObject | None
    metadata: JsonObject | None
    fine_tuned_model: str | None
    trained_tokens: int | None
    created_at: int | None
    """Server time the job was created (``created_at`` of the API)."""
    modified_at: int | None
    """Server time of the last change (``modified_at`` of the API)."""
    first_seen_at: int
    """When this ledger first recorded the job."""
    updated_at: int
    """When this ledger last applied a snapshot of the job."""
    last_snapshot: JsonObject
    """The last applied snapshot without its events and checkpoints (stored separately)."""
    key_last4: str | None
    sweep_id: str | None
    sandbox: bool | None = None
    """Whether the server that reported the job was a sandbox (None: not known)."""
    provider: str = "mistral"
    """The provider that runs the job ("mistral" or "openai")."""

    @property
    def provider_status(self) -> str:
        """The provider's own word for the status (OpenAI's ``running``…; Mistral's is the
        ledger's own), from the last snapshot."""
        raw = self.last_snapshot.get("provider_status")
        return raw if isinstance(raw, str) and raw else self.status

    @property
    def is_terminal(self) -> bool:
        return is_terminal(self.status)

    @property
    def simulated(self) -> bool:
        """A sandbox's job: its training, losses and model were made up."""
        return self.sandbox is True


class JobFileLink(Record):
    job_id: str
    file_id: str
    role: FileRole
    weight: float | None


class TransitionRecord(Record):
    id: str
    """``f"{job_id}:{seq}:{to_status}"``: stable, so recording it twice is a no-op."""
    job_id: str
    seq: int
    from_status: str | None
    to_status: str
    at: int
    """When the ledger saw the change."""
    server_modified_at: int | None


class CheckpointRecord(Record):
    job_id: str
    step: int
    metrics: JsonObject
    created_at: int | None


class EventRecord(Record):
    job_id: str
    name: str
    data: Any
    created_at: int | None


class NotifierRecord(Record):
    """A notifier registered in the ledger: every writer creates its outbox rows while it is
    active, until it is removed explicitly."""

    name: str
    registered_at: int
    active: bool
    source: str | None
    """Where its target comes from (a setting or an option), never the target itself."""
    pending: int = 0
    """Notifications waiting for it."""


class NotificationRecord(Record):
    id: int
    transition_id: str
    notifier: str
    payload: JsonObject
    status: NotificationStatus
    attempts: int
    next_attempt_at: int | None
    last_attempt_at: int | None
    last_error: str | None
    created_at: int
    sent_at: int | None


class SnapshotChanges(Record):
    """What applying one job snapshot added to the ledger (empty lists: nothing new)."""

    job: JobRecord
    created: bool
    """The job was not in the ledger before."""
    stale: bool
    """The snapshot was older than what the ledger holds, so the job row was left alone."""
    transitions: list[TransitionRecord]
    checkpoints: list[CheckpointRecord]
    events: list[EventRecord]
    notifications: list[NotificationRecord]

    @property
    def changed(self) -> bool:
        return bool(self.created or self.transitions or self.checkpoints or self.events)


class QueueEntry(Record):
    id: int
    spec: JsonObject
    """Secrets stripped: the submitter adds keys (e.g. W&B) from its settings again."""
    sweep_id: str | None
    member_index: int | None
    state: QueueState
    job_id: str | None
    attempts: int
    error: str | None
    created_at: int
    updated_at: int
    submitted_at: int | None
    provider: str = "mistral"


class LeaseRecord(Record):
    name: str
    owner: str
    expires_at: int


SIMULATED = "SIMULATED"
"""The mark on everything a sandbox produced: made-up jobs, losses, models and answers."""


def simulated_note(urls: Sequence[str | None]) -> str:
    """The sentence shown beside a SIMULATED mark: where the made-up results came from."""
    where = ", ".join(sorted({url or "an unknown URL" for url in urls}))
    return (
        f"{SIMULATED}: produced by the tuner sandbox at {where}, which simulates training and "
        "makes up answers; nothing here says anything about a real model."
    )


class Backend(Record):
    """Which server produced a result: its API URL, and whether it is a sandbox."""

    url: str | None
    """The API base URL (None: a run recorded before the ledger kept it)."""
    sandbox: bool | None
    """Whether it is a sandbox (its answers are made up); None: not known."""

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "sandbox": self.sandbox}


class EvalRunRecord(Record):
    run_id: str
    data_path: str
    data_hash: str
    models: list[str]
    judge: str | None
    params: JsonObject | None
    status: EvalRunStatus
    created_at: int
    updated_at: int
    backends: list[Backend] = Field(default_factory=list)
    """One per model, in the order of ``models``."""

    @property
    def simulated(self) -> bool:
        """Whether any model of the run was answered by a sandbox (the run is SIMULATED)."""
        return any(backend.sandbox is True for backend in self.backends)

    def backend_of(self, model: str) -> Backend | None:
        for name, backend in zip(self.models, self.backends, strict=False):
            if name == model:
                return backend
        return None

    def backends_json(self) -> dict[str, Any]:
        """``{"url", "sandbox"}`` when every model has the same backend, else one per model."""
        distinct = {(b.url, b.sandbox) for b in self.backends}
        if len(distinct) <= 1 and self.backends:
            return self.backends[0].to_json()
        return {
            model: backend.to_json()
            for model, backend in zip(self.models, self.backends, strict=False)
        }


class EvalItemRecord(Record):
    run_id: str
    item_index: int
    model: str
    prompt_hash: str
    response_text: str | None
    latency_s: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    scores: JsonObject | None
    error: str | None
    judge_verdict: JsonObject | None
    updated_at: int


class LineageFile(Record):
    role: FileRole
    weight: float | None
    file_id: str
    file: FileRecord | None
    """None when the file was uploaded outside tuner (the ledger only knows its id)."""


class Lineage(Record):
    """Which data made a model, and how it was evaluated."""

    fine_tuned_model: str
    job: JobRecord | None
    files: list[LineageFile]
    datasets: list[DatasetRecord]
    eval_runs: list[EvalRunRecord]

    @property
    def base_model(self) -> str | None:
        return self.job.model if self.job is not None else None
