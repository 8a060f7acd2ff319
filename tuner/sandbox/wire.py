"""Wire shapes: the sandbox's records rendered as the platform's JSON (``docs/api.md``).

Where the reference and the official SDK (mistralai 2.5.1, which parses these) disagree, the
SDK wins. Every optional field is present (often as null) so that strict clients see the whole
shape.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tuner.sandbox import lifecycle
from tuner.sandbox.catalog import ModelSpec, run_seconds, token_cost
from tuner.sandbox.lifecycle import Status
from tuner.sandbox.records import FileRecord, JobRecord, ModelRecord

JSON = dict[str, Any]

DEFAULT_LEARNING_RATE = 1e-4
DEFAULT_WEIGHT_DECAY = 0.1
DEFAULT_WARMUP_FRACTION = 0.05
DEFAULT_FIM_RATIO = 0.9
# Base model cards carry a fixed creation time: they exist before any sandbox does.
BASE_MODEL_CREATED = 1_704_067_200  # 2024-01-01T00:00:00Z


def file_out(record: FileRecord, *, with_deleted: bool = False) -> JSON:
    body: JSON = {
        "id": record.id,
        "object": "file",
        "bytes": record.bytes,
        "created_at": int(record.created_at),
        "filename": record.filename,
        "purpose": record.purpose,
        "sample_type": record.sample_type,
        "source": record.source,
        "num_lines": record.num_lines,
        "mimetype": record.mimetype,
        "signature": record.sha256[:16],
        "expires_at": record.expires_at,
        "visibility": record.visibility,
    }
    if with_deleted:
        body["deleted"] = record.deleted
    return body


def hyperparameters_out(job: JobRecord, model: ModelSpec) -> JSON:
    """The hyperparameters as the platform returns them: defaults filled, steps/epochs derived."""
    given = job.hyperparameters
    outcome = job.validation if job.validation is not None and job.validation.ok else None
    body: JSON = {
        "training_steps": outcome.training_steps if outcome else given.get("training_steps"),
        "learning_rate": _given_or(given, "learning_rate", DEFAULT_LEARNING_RATE),
        "weight_decay": _given_or(given, "weight_decay", DEFAULT_WEIGHT_DECAY),
        "warmup_fraction": _given_or(given, "warmup_fraction", DEFAULT_WARMUP_FRACTION),
        "epochs": outcome.epochs if outcome else given.get("epochs"),
        "seq_len": _given_or(given, "seq_len", model.default_seq_len),
        "fim_ratio": _given_or(given, "fim_ratio", DEFAULT_FIM_RATIO if model.fim else None),
    }
    return body


def _given_or(given: JSON, key: str, default: Any) -> Any:
    value = given.get(key)
    return default if value is None else value


def metadata_out(job: JobRecord, model: ModelSpec) -> JSON | None:
    """Filled once the job is validated (the platform's replacement for the old dry run)."""
    outcome = job.validation
    if outcome is None or not outcome.ok:
        return None
    running = lifecycle.running_starts(job)
    return {
        "expected_duration_seconds": run_seconds(model, outcome.training_steps),
        "cost": token_cost(model, outcome.train_tokens),
        "cost_currency": model.currency,
        "train_tokens_per_step": model.train_tokens_per_step,
        "train_tokens": outcome.train_tokens,
        "data_tokens": outcome.data_tokens,
        "estimated_start_time": None if running is None else int(running),
    }


def integrations_out(job: JobRecord) -> list[JSON] | None:
    if job.integrations is None:
        return None
    return [
        {
            "type": "wandb",
            "project": item["project"],
            "name": item.get("name"),
            "run_name": item.get("run_name"),
            "url": None,
        }
        for item in job.integrations
    ]


def repositories_out(job: JobRecord) -> list[JSON]:
    return [
        {
            "type": "github",
            "name": repo["name"],
            "owner": repo["owner"],
            "ref": repo.get("ref"),
            "weight": repo.get("weight", 1.0),
            # A stand-in commit: the sandbox never contacts GitHub.
            "commit_id": hashlib.sha1(
                f"{repo['owner']}/{repo['name']}@{repo.get('ref')}".encode()
            ).hexdigest(),
        }
        for repo in job.repositories or []
    ]


def job_out(job: JobRecord, model: ModelSpec, now: float, *, seed: int, detailed: bool) -> JSON:
    """A job as the platform shows it at ``now`` (list form, or detailed with events/checkpoints).

    ``metadata`` only appears once the status has reached VALIDATED; the record may already hold
    the outcome (it is settled as soon as the clock passes the end of validation).
    """
    transitions = lifecycle.transitions_until(job, model, now)
    status = transitions[-1].status
    reached_validation = any(
        t.status in (Status.VALIDATED, Status.FAILED_VALIDATION) for t in transitions
    )
    success = status is Status.SUCCESS
    outcome = job.validation
    body: JSON = {
        "id": job.id,
        "object": "job",
        "auto_start": job.auto_start,
        "model": job.model,
        "status": status.value,
        "job_type": "completion",
        "created_at": int(job.created_at),
        "modified_at": int(lifecycle.modified_at(job, model, now)),
        "training_files": [ref.file_id for ref in job.training_files],
        "validation_files": list(job.validation_files),
        "hyperparameters": hyperparameters_out(job, model),
        "fine_tuned_model": job.fine_tuned_model if success else None,
        "suffix": job.suffix,
        "integrations": integrations_out(job),
        "trained_tokens": outcome.train_tokens if success and outcome else None,
        "metadata": metadata_out(job, model) if reached_validation else None,
        "repositories": repositories_out(job),
    }
    if detailed:
        body["events"] = [_event(t, job) for t in transitions]
        body["checkpoints"] = [
            {
                "metrics": {
                    "train_loss": c.metrics.train_loss,
                    "valid_loss": c.metrics.valid_loss,
                    "valid_mean_token_accuracy": c.metrics.valid_mean_token_accuracy,
                },
                "step_number": c.step,
                "created_at": int(c.at),
            }
            for c in lifecycle.checkpoints_at(
                job, model, now, seed=seed, has_validation_data=bool(job.validation_files)
            )
        ]
    return body


def _event(transition: lifecycle.Transition, job: JobRecord) -> JSON:
    data: JSON = {"status": transition.status.value}
    outcome = job.validation
    # Sandbox addition: why the job failed (the platform's events were only seen with a
    # status; where it reports a run-time failure's reason is unconfirmed).
    if transition.status is Status.FAILED_VALIDATION and outcome is not None and outcome.error:
        data["error"] = outcome.error
    elif transition.status is Status.FAILED:
        data["error"] = lifecycle.failure_message(job)
    return {"name": "status-updated", "data": data, "created_at": int(transition.at)}


def capabilities_out(model: ModelSpec, *, fine_tuned: bool = False) -> JSON:
    return {
        "completion_chat": model.chat,
        "function_calling": model.function_calling,
        "reasoning": False,
        "completion_fim": model.fim,
        "fine_tuning": model.fine_tunable and not fine_tuned,
        "vision": False,
        "ocr": False,
        "classification": False,
        "moderation": False,
        "audio": False,
        "audio_transcription": False,
        "audio_transcription_realtime": False,
        "audio_speech": False,
    }


def base_card(model: ModelSpec) -> JSON:
    return {
        "id": model.id,
        "object": "model",
        "created": BASE_MODEL_CREATED,
        "owned_by": "mistralai",
        "name": model.id,
        "description": model.description,
        "max_context_length": model.max_context_length,
        "aliases": list(model.aliases),
        "deprecation": None,
        "deprecation_replacement_model": None,
        "default_model_temperature": 0.3 if model.chat else None,
        "type": "base",
        "capabilities": capabilities_out(model),
    }


def fine_tuned_card(record: ModelRecord, base: ModelSpec) -> JSON:
    return {
        "id": record.id,
        "object": "model",
        "created": int(record.created),
        "owned_by": record.owner,
        "name": record.name,
        "description": record.description,
        "max_context_length": base.max_context_length,
        "aliases": [],
        "deprecation": None,
        "deprecation_replacement_model": None,
        "default_model_temperature": 0.3,
        "type": "fine-tuned",
        "job": record.job,
        "root": record.root,
        "archived": record.archived,
        "capabilities": capabilities_out(base, fine_tuned=True),
    }


def fine_tuned_model_out(record: ModelRecord, base: ModelSpec, *, workspace_id: str) -> JSON:
    """The PATCH /v1/fine_tuning/models/{id} answer (discriminated on ``model_type``)."""
    return {
        "id": record.id,
        "object": "model",
        "created": int(record.created),
        "owned_by": record.owner,
        "workspace_id": workspace_id,
        "root": record.root,
        "root_version": "0",
        "archived": record.archived,
        "name": record.name,
        "description": record.description,
        "capabilities": {
            "completion_chat": True,
            "completion_fim": base.fim,
            "function_calling": base.function_calling,
            "fine_tuning": False,
            "classification": False,
        },
        "max_context_length": base.max_context_length,
        "aliases": [],
        "job": record.job,
        "model_type": "completion",
    }
