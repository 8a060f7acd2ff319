"""What the OpenAI-dialect sandbox persists (its own tables beside the Mistral sandbox's)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tuner.sandbox.records import Record, Stored
from tuner.sandbox.store import Table


class OpenAIFileRecord(Stored):
    filename: str
    bytes: int
    created_at: float
    purpose: str
    sha256: str
    owner: str
    deleted: bool = False


class DataCheck(Record):
    """The outcome of reading a job's training (and validation) file, fixed once settled."""

    ok: bool
    code: str | None = None
    message: str | None = None
    param: str | None = None
    examples: int = 0
    tokens: int = 0
    """Approximate tokens of one pass over the training data (the sandbox's own count)."""


class OpenAIJobRecord(Stored):
    owner: str
    organization: str
    model: str
    created_at: float
    training_file: str
    validation_file: str | None = None
    suffix: str | None = None
    seed: int
    metadata: dict[str, str] | None = None
    integrations: list[dict[str, Any]] | None = None
    method: str
    hyperparameters: dict[str, Any]
    """As requested: "auto" or a number per name."""
    check: DataCheck | None = None
    cancelled_at: float | None = None
    paused: list[list[float]] = Field(default_factory=list)
    """[paused at, resumed at (or -1 while paused)] intervals: running time excludes them."""
    model_id: str
    """The random part of the tuned model's name, chosen at creation."""
    fail_fraction: float | None = None
    """The share of its steps the job completes before failing (the job_fail fault), or None."""


OPENAI_FILES = Table("openai_files", OpenAIFileRecord)
OPENAI_JOBS = Table("openai_jobs", OpenAIJobRecord)
