"""Request bodies, strict like the platform's: unknown fields are refused (422 ``extra_forbidden``).

Field constraints follow ``docs/api.md#creating-a-job`` and ``docs/api.md#chat-completions``;
where the official SDK sends a field those do not list, it is accepted so that the SDK's requests
pass.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainingFileIn(Strict):
    # File ids are UUIDs (OAS ``format: uuid``): a malformed one is a 422, not a 404.
    file_id: UUID
    weight: float = Field(default=1.0, gt=0)


class HyperparametersIn(Strict):
    training_steps: int | None = Field(default=None, ge=1)
    learning_rate: float = Field(default=1e-4, ge=1e-8, le=1)
    weight_decay: float | None = Field(default=None, ge=0, le=1)
    warmup_fraction: float | None = Field(default=None, ge=0, le=1)
    epochs: float | None = Field(default=None, gt=0)
    seq_len: int | None = Field(default=None, ge=100)
    fim_ratio: float | None = Field(default=None, ge=0, le=1)


class WandbIn(Strict):
    type: Literal["wandb"] = "wandb"
    project: str
    # The OAS says exactly 40 characters, but new W&B keys have 86 and the SDK does not check:
    # any non-empty key is accepted (it is never stored).
    api_key: str = Field(min_length=1)
    name: str | None = None
    run_name: str | None = None


class GithubRepositoryIn(Strict):
    type: Literal["github"] = "github"
    name: str
    owner: str
    token: str
    ref: str | None = None
    weight: float = Field(default=1.0, gt=0)


class ClassifierTargetIn(Strict):
    name: str
    labels: list[str]
    weight: float = Field(default=1.0, ge=0)
    loss_function: Literal["single_class", "multi_class"] | None = None


class JobIn(Strict):
    model: str
    hyperparameters: HyperparametersIn
    training_files: list[TrainingFileIn] = Field(default_factory=list)
    validation_files: list[UUID] | None = None
    suffix: str | None = Field(default=None, max_length=18)
    integrations: list[WandbIn] | None = None
    repositories: list[GithubRepositoryIn] | None = None
    auto_start: bool = False
    invalid_sample_skip_percentage: float = Field(default=0, ge=0, le=0.5)
    job_type: Literal["completion", "classifier"] | None = None
    classifier_targets: list[ClassifierTargetIn] | None = None


class ModelUpdateIn(Strict):
    name: str | None = None
    description: str | None = None


class ClockAdvanceIn(Strict):
    seconds: float = Field(ge=0)


Role = Literal["system", "user", "assistant", "tool"]


class ChatMessageIn(Strict):
    role: Role
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    prefix: bool | None = None


class ChatIn(Strict):
    model: str
    messages: list[ChatMessageIn] = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0, le=1.5)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=0)
    stream: bool | None = False
    stop: str | list[str] | None = None
    random_seed: int | None = Field(default=None, ge=0)
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    n: int | None = Field(default=None, ge=1)
    parallel_tool_calls: bool | None = None
    safe_prompt: bool | None = None
    prediction: dict[str, Any] | None = None
    prompt_mode: str | None = None
    reasoning_effort: str | None = None
    guardrails: list[dict[str, Any]] | None = None
    prompt_cache_key: str | None = None
    metadata: dict[str, Any] | None = None


class EmbeddingIn(Strict):
    model: str
    input: str | list[str]
    output_dimension: int | None = Field(default=None, gt=0)
    output_dtype: Literal["float", "int8", "uint8", "binary", "ubinary"] | None = None
    encoding_format: Literal["float", "base64"] | None = None
    metadata: dict[str, Any] | None = None
