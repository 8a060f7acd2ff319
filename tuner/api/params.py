"""Typed request bodies (our own records, so strict: ``extra="forbid"``).

Optional fields default to ``NOT_GIVEN`` and are left out of the JSON body; ``None`` is sent as
null only where the API allows null. Limits the API enforces are checked here too (``suffix`` at
most 18 characters, hyperparameter ranges), so a bad spec fails before it costs a round trip.

Secrets inside a job spec (the W&B and GitHub tokens) are ``SecretStr``: a normal dump or repr
masks them; only ``to_body()``, which builds the wire JSON, reveals them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FieldSerializationInfo,
    SecretStr,
    SerializerFunctionWrapHandler,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)

from tuner.api.sentinel import NOT_GIVEN, NotGiven

SUFFIX_MAX_LENGTH = 18
# Characters a suffix must not hold. The API documents only the length limit; its character
# rules are UNCONFIRMED, so this is conservative: the suffix becomes part of the fine-tuned
# model's name (``ft:<base>:<owner>:<date>:<suffix>:<id>``) and of URL paths, where ":", "/"
# and whitespace would break it, and it is shown on terminals (no control characters).
SUFFIX_FORBIDDEN = frozenset(":/\\")


def suffix_problem(value: str) -> str | None:
    """Why ``value`` cannot be a job suffix, or None (the one rule, for specs and requests)."""
    if len(value) > SUFFIX_MAX_LENGTH:
        return f"at most {SUFFIX_MAX_LENGTH} characters, got {len(value)} (the API's limit)"
    bad = sorted({c for c in value if not c.isprintable() or c.isspace() or c in SUFFIX_FORBIDDEN})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return (
            f"holds {shown}: use printable characters without spaces, ':', '/' or '\\' "
            "(the suffix goes into the model's name)"
        )
    return None


_REVEAL = "reveal_secrets"


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_serializer(mode="wrap")
    def _omit_not_given(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        return {
            key: value
            for key, value in data.items()
            if not isinstance(getattr(self, key, None), NotGiven)
        }

    def to_body(self) -> dict[str, Any]:
        """The JSON body for the wire: NOT_GIVEN fields left out, secrets revealed."""
        body = self.model_dump(mode="json", context={_REVEAL: True})
        assert isinstance(body, dict)
        return body


def _secret_for_wire(value: SecretStr, info: FieldSerializationInfo) -> str:
    context = info.context
    if isinstance(context, dict) and context.get(_REVEAL):
        return value.get_secret_value()
    return str(value)


class TrainingParameters(RequestModel):
    """``hyperparameters`` of a job; every field optional (the server fills defaults)."""

    training_steps: Annotated[int, Field(ge=1)] | NotGiven | None = NOT_GIVEN
    learning_rate: Annotated[float, Field(ge=1e-8, le=1.0)] | NotGiven = NOT_GIVEN
    weight_decay: Annotated[float, Field(ge=0.0, le=1.0)] | NotGiven | None = NOT_GIVEN
    warmup_fraction: Annotated[float, Field(ge=0.0, le=1.0)] | NotGiven | None = NOT_GIVEN
    epochs: Annotated[float, Field(gt=0.0)] | NotGiven | None = NOT_GIVEN
    seq_len: Annotated[int, Field(ge=100)] | NotGiven | None = NOT_GIVEN
    fim_ratio: Annotated[float, Field(ge=0.0, le=1.0)] | NotGiven | None = NOT_GIVEN
    """Completion jobs only (Codestral / fill-in-the-middle)."""


class TrainingFile(RequestModel):
    file_id: str
    weight: Annotated[float, Field(gt=0.0)] | NotGiven = NOT_GIVEN


class WandbIntegration(RequestModel):
    type: Literal["wandb"] = "wandb"
    project: Annotated[str, Field(min_length=1)]
    api_key: SecretStr
    # The OAS says exactly 40 characters, but new W&B keys have 86, so the length is not checked.
    name: str | NotGiven | None = NOT_GIVEN
    run_name: str | NotGiven | None = NOT_GIVEN

    @field_serializer("api_key")
    def _api_key(self, value: SecretStr, info: FieldSerializationInfo) -> str:
        return _secret_for_wire(value, info)


class GithubRepository(RequestModel):
    type: Literal["github"] = "github"
    name: str
    owner: str
    token: SecretStr
    ref: str | NotGiven | None = NOT_GIVEN
    weight: Annotated[float, Field(gt=0.0)] | NotGiven = NOT_GIVEN

    @field_serializer("token")
    def _token(self, value: SecretStr, info: FieldSerializationInfo) -> str:
        return _secret_for_wire(value, info)


class ClassifierTarget(RequestModel):
    name: str
    labels: list[str]
    weight: Annotated[float, Field(ge=0.0)] | NotGiven = NOT_GIVEN
    loss_function: Literal["single_class", "multi_class"] | NotGiven | None = NOT_GIVEN


class JobCreate(RequestModel):
    """The body of ``POST /v1/fine_tuning/jobs``."""

    model: Annotated[str, Field(min_length=1)]
    hyperparameters: TrainingParameters = Field(default_factory=TrainingParameters)
    training_files: list[TrainingFile] = Field(default_factory=list)
    validation_files: list[str] | NotGiven | None = NOT_GIVEN
    suffix: str | NotGiven | None = NOT_GIVEN
    """At most 18 characters; part of the fine-tuned model's name."""
    integrations: list[WandbIntegration] | NotGiven | None = NOT_GIVEN
    repositories: list[GithubRepository] | NotGiven | None = NOT_GIVEN
    auto_start: bool = False
    """Sent always: the API says it will become required; False lets the cost be seen first."""
    invalid_sample_skip_percentage: Annotated[float, Field(ge=0.0, le=0.5)] | NotGiven = NOT_GIVEN
    job_type: Literal["completion", "classifier"] | NotGiven | None = NOT_GIVEN
    classifier_targets: list[ClassifierTarget] | NotGiven | None = NOT_GIVEN

    @field_validator("training_files", mode="before")
    @classmethod
    def _ids_as_files(cls, value: object) -> object:
        # A bare file id means weight 1.0 (the API's default).
        if isinstance(value, list | tuple):
            return [{"file_id": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("suffix", mode="before")
    @classmethod
    def _suffix_length(cls, value: object) -> object:
        # Checked here, before the union, so the error is one clear line.
        problem = suffix_problem(value) if isinstance(value, str) else None
        if problem is not None:
            raise ValueError(f"suffix: {problem}")
        return value

    @model_validator(mode="after")
    def _needs_training_data(self) -> JobCreate:
        if not self.training_files and not self.repositories:
            raise ValueError("a job needs at least one training file or repository")
        return self

    def training_file_ids(self) -> list[str]:
        return [item.file_id for item in self.training_files]

    def secrets(self) -> tuple[str, ...]:
        """The tokens in this spec, so error texts can be scrubbed of them."""
        found: list[str] = []
        if isinstance(self.integrations, list):
            found.extend(item.api_key.get_secret_value() for item in self.integrations)
        if isinstance(self.repositories, list):
            found.extend(item.token.get_secret_value() for item in self.repositories)
        return tuple(found)


class ModelUpdate(RequestModel):
    """The body of ``PATCH /v1/fine_tuning/models/{model_id}``."""

    name: str | NotGiven | None = NOT_GIVEN
    description: str | NotGiven | None = NOT_GIVEN
