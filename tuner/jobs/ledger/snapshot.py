"""Reading a job snapshot (the API's job object, detailed or not) into what the ledger stores.

Tolerant like the wire models: unknown fields are ignored, so a server that adds a field never
breaks recording. Only ``id``, ``model`` and ``status`` are required.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import LedgerError
from .redact import json_object


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SnapshotCheckpoint(_Loose):
    step_number: int | None = None
    metrics: dict[str, Any] | None = None
    created_at: int | None = None


class SnapshotEvent(_Loose):
    name: str
    data: Any = None
    created_at: int | None = None


class SnapshotFile(_Loose):
    file_id: str
    weight: float | None = None


class JobSnapshot(_Loose):
    id: str = Field(min_length=1)
    model: str
    status: str = Field(min_length=1)
    job_type: str | None = None
    auto_start: bool | None = None
    created_at: int | None = None
    modified_at: int | None = None
    training_files: list[SnapshotFile] = Field(default_factory=list)
    validation_files: list[SnapshotFile] = Field(default_factory=list)
    hyperparameters: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    fine_tuned_model: str | None = None
    suffix: str | None = None
    trained_tokens: int | None = None
    provider: str | None = None
    """Who runs the job: OpenAI's snapshots say "openai"; Mistral's name none."""
    events: list[SnapshotEvent] = Field(default_factory=list)
    checkpoints: list[SnapshotCheckpoint] = Field(default_factory=list)

    @field_validator("training_files", "validation_files", mode="before")
    @classmethod
    def _file_refs(cls, value: object) -> object:
        # The API lists plain file ids; a job spec lists {"file_id", "weight"} objects.
        if value is None:
            return []
        if isinstance(value, list | tuple):
            return [{"file_id": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        return value.strip().upper()


def as_mapping(snapshot: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    if isinstance(snapshot, BaseModel):
        return snapshot.model_dump(mode="json", by_alias=True)
    return dict(snapshot)


def parse_snapshot(raw: Mapping[str, Any]) -> JobSnapshot:
    try:
        return JobSnapshot.model_validate(raw)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
        raise LedgerError(f"not a job snapshot: bad or missing {', '.join(fields)}") from None


def stored_snapshot(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The snapshot as kept on the job row: events and checkpoints live in their own tables."""
    kept = {k: v for k, v in raw.items() if k not in {"events", "checkpoints"}}
    return json_object(kept) or {}


def spec_file_weights(spec: Mapping[str, Any] | None) -> list[SnapshotFile]:
    """Training files with weights from a job spec shaped like the API's request body."""
    if not spec:
        return []
    entries = spec.get("training_files")
    if not isinstance(entries, list):
        return []
    found: list[SnapshotFile] = []
    for entry in entries:
        if isinstance(entry, Mapping) and isinstance(entry.get("file_id"), str):
            weight = entry.get("weight")
            found.append(
                SnapshotFile(
                    file_id=entry["file_id"],
                    weight=float(weight) if isinstance(weight, int | float) else None,
                )
            )
    return found
