"""Response models: what the API sends back (``docs/api.md``).

All accept unknown fields (``extra="allow"``) and are lenient about fields the reference marks as
required but that real responses have left null or out (``bytes: null`` in official examples,
events without ``data``): a server that adds or drops a field must not break the client. Fields
we cannot work without (ids, a job's model and status) stay required.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator


class WireModel(BaseModel):
    # defer_build: a model's validator is built on first use, not at import (start-up time).
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


# -- files -------------------------------------------------------------------------------------


class File(WireModel):
    id: str
    object: str = "file"
    size_bytes: int | None = Field(default=None, alias="bytes")
    """The wire field is ``bytes``; named like the SDK so it does not shadow the builtin."""
    created_at: int | None = None
    filename: str | None = None
    purpose: str | None = None
    sample_type: str | None = None
    source: str | None = None
    num_lines: int | None = None
    mimetype: str | None = None
    signature: str | None = None
    expires_at: int | None = None
    visibility: str | None = None
    deleted: bool = False


class FileList(WireModel):
    data: list[File] = Field(default_factory=list)
    object: str = "list"
    total: int | None = None


class DeletedFile(WireModel):
    id: str
    object: str = "file"
    deleted: bool = True


class SignedURL(WireModel):
    url: str


# -- fine-tuning jobs --------------------------------------------------------------------------


class JobStatus(StrEnum):
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


TERMINAL_STATUSES = frozenset(
    {JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.FAILED_VALIDATION, JobStatus.CANCELLED}
)


class Hyperparameters(WireModel):
    """As returned: server-filled (e.g. ``epochs`` computed from ``training_steps``)."""

    training_steps: int | None = None
    learning_rate: float | None = None
    weight_decay: float | None = None
    warmup_fraction: float | None = None
    epochs: float | None = None
    seq_len: int | None = None
    fim_ratio: float | None = None


class JobMetadata(WireModel):
    """Filled once the job is validated; the cost estimate lives here."""

    expected_duration_seconds: float | None = None
    cost: float | None = None
    cost_currency: str | None = None
    train_tokens_per_step: int | None = None
    train_tokens: int | None = None
    data_tokens: int | None = None
    estimated_start_time: int | None = None


class WandbIntegrationOut(WireModel):
    type: str = "wandb"
    project: str | None = None
    name: str | None = None
    run_name: str | None = None
    url: str | None = None


class GithubRepositoryOut(WireModel):
    type: str = "github"
    name: str | None = None
    owner: str | None = None
    ref: str | None = None
    weight: float | None = None
    commit_id: str | None = None


class ClassifierTargetOut(WireModel):
    name: str
    labels: list[str] = Field(default_factory=list)
    weight: float | None = None
    loss_function: str | None = None


class JobEvent(WireModel):
    name: str
    data: dict[str, Any] | None = None
    created_at: int | None = None


class CheckpointMetrics(WireModel):
    train_loss: float | None = None
    valid_loss: float | None = None
    valid_mean_token_accuracy: float | None = None
    """Not clamped to [0, 1]: official examples show values above 1."""


class Checkpoint(WireModel):
    metrics: CheckpointMetrics = Field(default_factory=CheckpointMetrics)
    step_number: int | None = None
    created_at: int | None = None


class Job(WireModel):
    """A fine-tuning job; GET, start and cancel also fill ``events`` and ``checkpoints``."""

    id: str
    object: str = "job"
    model: str
    status: str
    """One of ``JobStatus``; kept a plain string so a new status does not break parsing."""
    job_type: str | None = None
    auto_start: bool | None = None
    created_at: int | None = None
    modified_at: int | None = None
    training_files: list[str] = Field(default_factory=list)
    validation_files: list[str] = Field(default_factory=list)
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    fine_tuned_model: str | None = None
    suffix: str | None = None
    trained_tokens: int | None = None
    integrations: list[WandbIntegrationOut] = Field(default_factory=list)
    repositories: list[GithubRepositoryOut] = Field(default_factory=list)
    metadata: JobMetadata | None = None
    events: list[JobEvent] = Field(default_factory=list)
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    classifier_targets: list[ClassifierTargetOut] = Field(default_factory=list)

    @field_validator(
        "validation_files",
        "integrations",
        "repositories",
        "events",
        "checkpoints",
        "classifier_targets",
        mode="before",
    )
    @classmethod
    def _null_list_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("training_files", mode="before")
    @classmethod
    def _file_ids(cls, value: Any) -> Any:
        # The reference says ids; tolerate the request's ``{file_id, weight}`` form too.
        if value is None:
            return []
        if isinstance(value, list):
            return [
                item.get("file_id") if isinstance(item, dict) and "file_id" in item else item
                for item in value
            ]
        return value

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class JobList(WireModel):
    data: list[Job] = Field(default_factory=list)
    object: str = "list"
    total: int | None = None


# -- models ------------------------------------------------------------------------------------


class ModelCapabilities(WireModel):
    completion_chat: bool = False
    completion_fim: bool = False
    function_calling: bool = False
    fine_tuning: bool = False
    vision: bool = False
    classification: bool = False


class _ModelCardFields(WireModel):
    id: str
    object: str = "model"
    created: int | None = None
    owned_by: str | None = None
    name: str | None = None
    description: str | None = None
    max_context_length: int | None = None
    aliases: list[str] = Field(default_factory=list)
    deprecation: str | None = None
    deprecation_replacement_model: str | None = None
    default_model_temperature: float | None = None
    capabilities: ModelCapabilities = Field(default_factory=ModelCapabilities)

    @field_validator("aliases", mode="before")
    @classmethod
    def _null_aliases(cls, value: Any) -> Any:
        return [] if value is None else value


class BaseModelCard(_ModelCardFields):
    type: str = "base"


class FineTunedModelCard(_ModelCardFields):
    type: str = "fine-tuned"
    job: str | None = None
    root: str | None = None
    archived: bool = False


class UnknownModelCard(_ModelCardFields):
    """A card whose ``type`` this client does not know; kept rather than rejected."""

    type: str | None = None


def _card_kind(value: Any) -> str:
    raw = value.get("type", value.get("TYPE")) if isinstance(value, dict) else value.type
    if raw == "base":
        return "base"
    if raw == "fine-tuned":
        return "fine-tuned"
    return "unknown"


ModelCard = Annotated[
    Annotated[BaseModelCard, Tag("base")]
    | Annotated[FineTunedModelCard, Tag("fine-tuned")]
    | Annotated[UnknownModelCard, Tag("unknown")],
    Discriminator(_card_kind),
]


class ModelList(WireModel):
    object: str = "list"
    data: list[ModelCard] = Field(default_factory=list)


class DeletedModel(WireModel):
    id: str
    object: str = "model"
    deleted: bool = True


class FineTunedModel(WireModel):
    """The PATCH /v1/fine_tuning/models/{id} answer (completion or classifier: ``model_type``)."""

    id: str
    object: str = "model"
    model_type: str | None = None
    created: int | None = None
    owned_by: str | None = None
    workspace_id: str | None = None
    root: str | None = None
    root_version: str | None = None
    archived: bool = False
    name: str | None = None
    description: str | None = None
    capabilities: ModelCapabilities = Field(default_factory=ModelCapabilities)
    max_context_length: int | None = None
    aliases: list[str] = Field(default_factory=list)
    job: str | None = None
    classifier_targets: list[ClassifierTargetOut] = Field(default_factory=list)


class ArchiveResult(WireModel):
    id: str
    object: str = "model"
    archived: bool


# -- chat --------------------------------------------------------------------------------------


class FunctionCall(WireModel):
    name: str | None = None
    arguments: str | dict[str, Any] = ""
    """A JSON string in practice; the schema also allows an object."""


class ToolCall(WireModel):
    id: str | None = None
    type: str = "function"
    function: FunctionCall = Field(default_factory=FunctionCall)
    index: int | None = None


class UsageInfo(WireModel):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class AssistantMessage(WireModel):
    role: str = "assistant"
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[ToolCall] | None = None
    prefix: bool = False


class ChatChoice(WireModel):
    index: int = 0
    message: AssistantMessage = Field(default_factory=AssistantMessage)
    finish_reason: str | None = None


class ChatCompletion(WireModel):
    id: str
    object: str = "chat.completion"
    model: str | None = None
    created: int | None = None
    usage: UsageInfo | None = None
    choices: list[ChatChoice] = Field(default_factory=list)


class DeltaMessage(WireModel):
    role: str | None = None
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[ToolCall] | None = None


class ChunkChoice(WireModel):
    index: int = 0
    delta: DeltaMessage = Field(default_factory=DeltaMessage)
    finish_reason: str | None = None


class ChatCompletionChunk(WireModel):
    id: str | None = None
    object: str = "chat.completion.chunk"
    created: int | None = None
    model: str | None = None
    choices: list[ChunkChoice] = Field(default_factory=list)
    usage: UsageInfo | None = None


# -- embeddings --------------------------------------------------------------------------------


class Embedding(WireModel):
    object: str = "embedding"
    embedding: list[int] | list[float] | str
    """Floats by default; ints for the integer ``output_dtype``s; a string for base64."""
    index: int = 0


class EmbeddingResponse(WireModel):
    id: str | None = None
    object: str = "list"
    model: str | None = None
    usage: UsageInfo | None = None
    data: list[Embedding] = Field(default_factory=list)
