"""What the sandbox persists: its own records (strict), not wire shapes.

Wire shapes are rendered from these by :mod:`tuner.sandbox.wire`. Times are simulated UNIX
seconds (floats; rendered as ints). Secrets (W&B keys, repository tokens) are never stored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Stored(Record):
    """A record kept in a store table, addressed by its id."""

    id: str


class LineError(Record):
    message: str
    line_number: int | None


class FileRecord(Stored):
    filename: str
    bytes: int
    created_at: float
    purpose: str
    sample_type: str
    source: str = "upload"
    num_lines: int | None
    mimetype: str | None
    sha256: str
    visibility: str = "workspace"
    expires_at: int | None = None
    deleted: bool = False
    owner: str


class TrainingFileRef(Record):
    file_id: str
    weight: float = 1.0


class Validation(Record):
    """The outcome of validating a job's data, fixed once the job leaves VALIDATING."""

    ok: bool
    error: str | None = None
    data_tokens: int = 0
    training_steps: int = 0
    epochs: float = 0.0
    train_tokens: int = 0
    conversations: int = 0


class JobRecord(Stored):
    owner: str
    model: str
    created_at: float
    auto_start: bool
    training_files: list[TrainingFileRef]
    validation_files: list[str] = Field(default_factory=list)
    # As requested (defaults are filled in when rendering).
    hyperparameters: dict[str, Any]
    suffix: str | None = None
    integrations: list[dict[str, Any]] | None = None
    repositories: list[dict[str, Any]] | None = None
    invalid_sample_skip_percentage: float = 0.0
    validation: Validation | None = None
    start_requested_at: float | None = None
    cancel_requested_at: float | None = None
    fine_tuned_model: str | None = None
    # The share of its steps the job completes before failing (the job_fail fault), or None.
    fail_fraction: float | None = None
    # True once the job reached a terminal status and everything it produces was stored.
    settled: bool = False


class ModelRecord(Stored):
    job: str
    root: str
    owner: str
    created: float
    name: str | None = None
    description: str | None = None
    archived: bool = False
    deleted: bool = False
    kind: Literal["completion"] = "completion"
