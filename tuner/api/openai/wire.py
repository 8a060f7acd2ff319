"""OpenAI's wire shapes (openai-python ``types``), lenient where the API may grow.

Statuses, event types and levels are plain strings, so a status OpenAI adds (the reference
mentions ``pausing``/``paused``, which the SDK's type does not list) never breaks parsing;
:mod:`tuner.api.openai.status` maps them onto the ledger's states and keeps the raw one.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tuner.api.openai.status import is_terminal, ledger_status

T = TypeVar("T")


class OpenAIWire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class CursorList(OpenAIWire, Generic[T]):
    """``{"object": "list", "data": [...], "has_more": bool}`` (first_id/last_id when given)."""

    data: list[T] = Field(default_factory=list)
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


class OpenAIFile(OpenAIWire):
    id: str
    object: str = "file"
    bytes: int | None = None
    created_at: int | None = None
    filename: str | None = None
    purpose: str | None = None
    status: str | None = None
    """Deprecated by OpenAI (``uploaded``/``processed``/``error``); kept as sent."""
    expires_at: int | None = None
    status_details: str | None = None


class FileDeleted(OpenAIWire):
    id: str
    object: str = "file"
    deleted: bool


class JobError(OpenAIWire):
    """Why a job failed: ``param`` names the input at fault (``training_file``...) or is null."""

    code: str | None = None
    message: str | None = None
    param: str | None = None


class Method(OpenAIWire):
    type: str
    supervised: dict[str, Any] | None = None
    dpo: dict[str, Any] | None = None
    reinforcement: dict[str, Any] | None = None

    def hyperparameters(self) -> dict[str, Any]:
        section = getattr(self, self.type, None)
        values = section.get("hyperparameters") if isinstance(section, dict) else None
        return dict(values) if isinstance(values, dict) else {}


class FineTuningJob(OpenAIWire):
    id: str
    object: str = "fine_tuning.job"
    created_at: int | None = None
    error: JobError | None = None
    fine_tuned_model: str | None = None
    finished_at: int | None = None
    hyperparameters: dict[str, Any] | None = None
    model: str
    organization_id: str | None = None
    result_files: list[str] = Field(default_factory=list)
    seed: int | None = None
    status: str
    """OpenAI's own status, as sent (see :attr:`ledger_status`)."""
    trained_tokens: int | None = None
    training_file: str | None = None
    validation_file: str | None = None
    estimated_finish: int | None = None
    integrations: list[dict[str, Any]] | None = None
    metadata: dict[str, str] | None = None
    method: Method | None = None
    user_provided_suffix: str | None = None
    """The suffix as requested: seen in real answers, not in the SDK's type (so optional)."""

    @field_validator("error", mode="before")
    @classmethod
    def _empty_error_is_none(cls, value: Any) -> Any:
        # Real answers have carried ``"error": {}`` on jobs that had not failed.
        return None if value == {} else value

    @property
    def ledger_status(self) -> str | None:
        """The ledger's state for this job's status; None for a status tuner does not know."""
        return ledger_status(self.status)

    @property
    def is_terminal(self) -> bool:
        return is_terminal(self.status)

    @property
    def method_type(self) -> str:
        return self.method.type if self.method is not None else "supervised"

    @property
    def suffix(self) -> str | None:
        """The suffix part of the tuned model's name (``ft:<base>:<org>:<suffix>:<id>``)."""
        if self.user_provided_suffix is not None:
            return self.user_provided_suffix or None
        if self.fine_tuned_model is None:
            return None
        parts = self.fine_tuned_model.split(":")
        return parts[3] or None if len(parts) == 5 else None

    def snapshot(self) -> dict[str, Any]:
        """The job as tuner records it: the provider, OpenAI's own status and the ledger's."""
        body = self.model_dump(mode="json")
        body["provider"] = "openai"
        body["provider_status"] = self.status
        body["status"] = self.ledger_status
        return body


class JobEvent(OpenAIWire):
    id: str
    object: str = "fine_tuning.job.event"
    created_at: int | None = None
    level: str = "info"
    message: str = ""
    type: str | None = None
    """``message`` or ``metrics`` (whose ``data`` holds step, train_loss, ...)."""
    data: Any = None

    @property
    def is_metrics(self) -> bool:
        return self.type == "metrics" and isinstance(self.data, dict)


class CheckpointMetrics(OpenAIWire):
    step: float | None = None
    train_loss: float | None = None
    train_mean_token_accuracy: float | None = None
    valid_loss: float | None = None
    valid_mean_token_accuracy: float | None = None
    full_valid_loss: float | None = None
    full_valid_mean_token_accuracy: float | None = None


class JobCheckpoint(OpenAIWire):
    id: str
    object: str = "fine_tuning.job.checkpoint"
    created_at: int | None = None
    fine_tuned_model_checkpoint: str
    fine_tuning_job_id: str | None = None
    step_number: int
    metrics: CheckpointMetrics = Field(default_factory=CheckpointMetrics)


class FileList(CursorList[OpenAIFile]):
    pass


class JobList(CursorList[FineTuningJob]):
    pass


class EventList(CursorList[JobEvent]):
    pass


class CheckpointList(CursorList[JobCheckpoint]):
    pass
