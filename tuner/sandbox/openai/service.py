"""The OpenAI-dialect sandbox's behaviour, independent of HTTP: files, jobs, events, checkpoints.

Wire shapes follow openai-python's ``types`` (``FileObject``, ``FineTuningJob``,
``FineTuningJobEvent``, ``FineTuningJobCheckpoint``) and OpenAI's error body
``{"error": {"message", "type", "param", "code"}}``. Events and checkpoints are derived from
the job's timeline on every request (never stored), so they can never disagree with its status.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson

from tuner.sandbox import standin
from tuner.sandbox.clock import Clock
from tuner.sandbox.errors import ApiError
from tuner.sandbox.faults import JobFate
from tuner.sandbox.openai import training
from tuner.sandbox.openai.records import (
    OPENAI_FILES,
    OPENAI_JOBS,
    DataCheck,
    OpenAIFileRecord,
    OpenAIJobRecord,
)
from tuner.sandbox.store import Store
from tuner.sandbox.uploads import ReceivedFile

log = logging.getLogger("tuner.sandbox")

JSON = dict[str, Any]
T = TypeVar("T")

BASE_MODELS: dict[str, frozenset[str]] = {
    # Tunable base models and the methods the sandbox offers for each.
    "gpt-4.1-mini-2025-04-14": frozenset({"supervised", "dpo"}),
    "gpt-4o-mini-2024-07-18": frozenset({"supervised", "dpo"}),
}
CHAT_MODELS = frozenset({"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano"})
"""Models the sandbox chats as (not tunable in it): the usual choices of an evaluation judge."""
PURPOSES = frozenset({"fine-tune", "batch", "assistants", "vision", "user_data", "evals"})
ORGANIZATION = "tuner-sandbox"
"""The organisation part of tuned model names (``ft:<base>:<org>:<suffix>:<id>``)."""
DEFAULT_PAGE = 20
MAX_PAGE = 100
CHECKPOINTS_KEPT = 3
FAULT_CODE = "server_error"
"""The ``error.code`` of a job failed mid-run by the job_fail fault (the sandbox's choice: OpenAI
does not document the codes of training failures; ``param`` is null, as for any failure that is
not about a parameter)."""
"""OpenAI keeps checkpoints at the end of the last epochs; the sandbox keeps up to three."""


def openai_error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> ApiError:
    return ApiError(
        status, {"error": {"message": message, "type": type_, "param": param, "code": code}}
    )


def _random_id(prefix: str, length: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def _derived_id(prefix: str, seed: str, length: int = 24) -> str:
    digest = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode().lower()
    return prefix + digest[:length]


def page(
    items: Sequence[T], *, after: str | None, limit: int, identity: Callable[[T], str]
) -> tuple[list[T], bool]:
    """Cursor paging over ``items`` (already in listing order): those after ``after``."""
    start = 0
    if after is not None:
        ids = [identity(item) for item in items]
        if after not in ids:
            raise openai_error(400, f"Invalid 'after': no such object {after!r}.", param="after")
        start = ids.index(after) + 1
    chosen = list(items[start : start + limit])
    return chosen, start + limit < len(items)


def listing(data: list[JSON], has_more: bool) -> JSON:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


class OpenAISandbox:
    def __init__(self, store: Store, clock: Clock, *, seed: int = 0, job_fail: float = 0.0) -> None:
        self.store = store
        self.clock = clock
        self.seed = seed
        self._fate = JobFate(job_fail, seed)
        store.add_table(OPENAI_FILES)
        store.add_table(OPENAI_JOBS)
        seen = store.get_meta("openai_last_time")
        if seen is not None:
            clock.resume_from(float(seen))

    def close(self) -> None:
        self.store.close()

    def now(self) -> float:
        now = self.clock.now()
        self.store.set_meta("openai_last_time", repr(now))
        return now

    # ------------------------------------------------------------------------------- files

    def add_file(self, received: ReceivedFile, fields: dict[str, str], owner: str) -> JSON:
        """Keep an upload as it is: its format is checked by the job that uses it, as on
        OpenAI (a malformed training file uploads fine and fails the job)."""
        purpose = fields.get("purpose")
        if not purpose:
            raise openai_error(400, "Missing required parameter: 'purpose'.", param="purpose")
        if purpose not in PURPOSES:
            raise openai_error(
                400,
                f"Invalid value for 'purpose': {purpose!r}.",
                param="purpose",
                code="invalid_value",
            )
        now = self.now()
        record = OpenAIFileRecord(
            id=_random_id("file-", 22),
            filename=received.filename,
            bytes=received.size,
            created_at=now,
            purpose=purpose,
            sha256=received.sha256,
            owner=owner,
        )
        with self.store.transaction():
            self.store.keep_blob(received.path, record.id)
            self.store.put(OPENAI_FILES, record, created=now)
        log.info("file %s uploaded: %s (%d bytes)", record.id, record.filename, record.bytes)
        return file_out(record)

    def file(self, file_id: str) -> OpenAIFileRecord:
        record = self.store.get(OPENAI_FILES, file_id)
        if record is None or record.deleted:
            raise openai_error(404, f"No such File object: {file_id}", param="id")
        return record

    def list_files(self, *, after: str | None, limit: int, order: str, purpose: str | None) -> JSON:
        files = [f for f in self.store.all(OPENAI_FILES) if not f.deleted]
        if purpose is not None:
            files = [f for f in files if f.purpose == purpose]
        if order == "asc":
            files.reverse()
        chosen, more = page(files, after=after, limit=limit, identity=lambda f: f.id)
        return listing([file_out(f) for f in chosen], more)

    def delete_file(self, file_id: str) -> JSON:
        record = self.file(file_id)
        with self.store.transaction():
            self.store.put(
                OPENAI_FILES, record.model_copy(update={"deleted": True}), created=record.created_at
            )
        self.store.drop_blob(file_id)
        return {"id": file_id, "object": "file", "deleted": True}

    def file_path(self, file_id: str) -> Path:
        self.file(file_id)
        return self.store.blob_path(file_id)

    # -------------------------------------------------------------------------------- jobs

    def create_job(self, body: JSON, owner: str) -> JSON:
        """A new job, which starts at once (OpenAI has no separate start step)."""
        model = _required_str(body, "model")
        method, hyperparameters = _method_of(body)
        if model not in BASE_MODELS:
            raise openai_error(
                400,
                f"Model {model} is not available for fine-tuning or does not exist.",
                param="model",
                code="model_not_available",
            )
        if method not in BASE_MODELS[model]:
            raise openai_error(
                400,
                f"Fine-tuning method {method!r} is not available for {model} in the sandbox.",
                param="method",
                code="invalid_value",
            )
        training_file = _required_str(body, "training_file")
        self._usable_file(training_file, "training_file")
        validation_file = body.get("validation_file")
        if validation_file is not None:
            self._usable_file(_required_str(body, "validation_file"), "validation_file")
        suffix = body.get("suffix")
        if suffix is not None and (not isinstance(suffix, str) or len(suffix) > 64):
            raise openai_error(
                400, "'suffix' must be a string of at most 64 characters.", param="suffix"
            )
        seed = body.get("seed")
        if seed is not None and not isinstance(seed, int):
            raise openai_error(400, "'seed' must be an integer.", param="seed")
        now = self.now()
        job = OpenAIJobRecord(
            id=_random_id("ftjob-", 24),
            owner=owner,
            organization=_organization_id(owner),
            model=model,
            created_at=now,
            training_file=training_file,
            validation_file=validation_file,
            suffix=suffix,
            seed=seed if isinstance(seed, int) else secrets.randbelow(2**31),
            metadata=_metadata(body.get("metadata")),
            integrations=_integrations(body.get("integrations")),
            method=method,
            hyperparameters=hyperparameters,
            model_id=_random_id("", 8),
            fail_fraction=self._fate.fail_fraction(),
        )
        self.store.put(OPENAI_JOBS, job, created=now)
        log.info("job %s created on %s (%s)", job.id, model, method)
        return self.job_out(job, now)

    def _usable_file(self, file_id: str, param: str) -> None:
        record = self.store.get(OPENAI_FILES, file_id)
        if record is None or record.deleted:
            raise openai_error(
                400, f"Invalid file ID: {file_id}", param=param, code="invalid_file_id"
            )
        if record.purpose != "fine-tune":
            raise openai_error(
                400,
                f"File {file_id} has purpose {record.purpose!r}, not 'fine-tune'.",
                param=param,
                code="invalid_file_purpose",
            )

    def job(self, job_id: str) -> OpenAIJobRecord:
        record = self.store.get(OPENAI_JOBS, job_id)
        if record is None:
            raise openai_error(
                404, f"Fine-tuning job {job_id} not found.", param="fine_tuning_job_id"
            )
        return self._settled(record, self.now())

    def _settled(self, job: OpenAIJobRecord, now: float) -> OpenAIJobRecord:
        """Run the data check once the clock has passed the end of validation."""
        validated_at = job.created_at + training.VALIDATE_SECONDS
        if job.check is not None or now < validated_at:
            return job
        if job.cancelled_at is not None and job.cancelled_at < validated_at:
            return job
        check = self._check(job)
        settled = job.model_copy(update={"check": check})
        self.store.put(OPENAI_JOBS, settled, created=job.created_at)
        return settled

    def _check(self, job: OpenAIJobRecord) -> DataCheck:
        outcome = training.check_file(
            self.store.blob_path(job.training_file), job.method, "training_file"
        )
        if outcome.ok and job.validation_file is not None:
            checked = training.check_file(
                self.store.blob_path(job.validation_file), job.method, "validation_file"
            )
            if not checked.ok:
                return checked
        return outcome

    def get_job(self, job_id: str) -> JSON:
        now = self.now()
        return self.job_out(self.job(job_id), now)

    def list_jobs(self, *, after: str | None, limit: int, metadata: dict[str, str]) -> JSON:
        now = self.now()
        jobs = [self._settled(j, now) for j in self.store.all(OPENAI_JOBS)]
        if metadata:
            jobs = [
                j for j in jobs if all((j.metadata or {}).get(k) == v for k, v in metadata.items())
            ]
        chosen, more = page(jobs, after=after, limit=limit, identity=lambda j: j.id)
        return listing([self.job_out(j, now) for j in chosen], more)

    def cancel_job(self, job_id: str) -> JSON:
        job = self.job(job_id)
        now = self.now()
        status = training.timeline(job, now).status
        if status in {"succeeded", "failed", "cancelled"}:
            raise openai_error(
                400,
                f"Job {job_id} has already {status}; only an unfinished job can be cancelled.",
                code="invalid_state",
            )
        job = job.model_copy(update={"cancelled_at": now})
        self.store.put(OPENAI_JOBS, job, created=job.created_at)
        return self.job_out(job, now)

    def pause_job(self, job_id: str) -> JSON:
        job = self.job(job_id)
        now = self.now()
        if training.timeline(job, now).status != "running":
            raise openai_error(400, f"Job {job_id} is not running.", code="invalid_state")
        job = job.model_copy(update={"paused": [*job.paused, [now, -1.0]]})
        self.store.put(OPENAI_JOBS, job, created=job.created_at)
        return self.job_out(job, now)

    def resume_job(self, job_id: str) -> JSON:
        job = self.job(job_id)
        now = self.now()
        if training.timeline(job, now).status != "paused":
            raise openai_error(400, f"Job {job_id} is not paused.", code="invalid_state")
        intervals = [*job.paused[:-1], [job.paused[-1][0], now]]
        job = job.model_copy(update={"paused": intervals})
        self.store.put(OPENAI_JOBS, job, created=job.created_at)
        return self.job_out(job, now)

    # ----------------------------------------------------------------------- job rendering

    def tuned_model(self, job: OpenAIJobRecord) -> str:
        return f"ft:{job.model}:{ORGANIZATION}:{job.suffix or ''}:{job.model_id}"

    def job_out(self, job: OpenAIJobRecord, now: float) -> JSON:
        line = training.timeline(job, now)
        examples = job.check.examples if job.check is not None else 0
        resolved = (
            training.resolved_hyperparameters(job, examples)
            if job.check is not None and job.check.ok
            else dict(job.hyperparameters)
        )
        succeeded = line.status == "succeeded"
        error = None
        if line.status == "failed" and line.failed_step is not None:
            error = {"code": FAULT_CODE, "message": training.failure_message(line), "param": None}
        elif line.status == "failed" and job.check is not None:
            error = {"code": job.check.code, "message": job.check.message, "param": job.check.param}
        tokens = job.check.tokens if job.check is not None else 0
        method_hyper = dict(resolved)
        legacy_hyper = {k: v for k, v in resolved.items() if k != "beta"}
        return {
            "object": "fine_tuning.job",
            "id": job.id,
            "created_at": int(job.created_at),
            "error": error,
            "fine_tuned_model": self.tuned_model(job) if succeeded else None,
            "finished_at": None if line.finished_at is None else int(line.finished_at),
            "hyperparameters": legacy_hyper,
            "model": job.model,
            "organization_id": job.organization,
            "result_files": [],
            "seed": job.seed,
            "status": line.status,
            "trained_tokens": tokens * int(resolved.get("n_epochs", 1)) if succeeded else None,
            "training_file": job.training_file,
            "validation_file": job.validation_file,
            "estimated_finish": (
                None if line.estimated_finish is None else int(line.estimated_finish)
            ),
            "integrations": job.integrations,
            "metadata": job.metadata,
            "method": {"type": job.method, job.method: {"hyperparameters": method_hyper}},
            # Not in the SDK's type, but in real answers (third-party reports).
            "user_provided_suffix": job.suffix,
        }

    # ------------------------------------------------------------------ events, checkpoints

    def events(self, job_id: str, *, after: str | None, limit: int) -> JSON:
        job = self.job(job_id)
        items = list(reversed(self._events(job, self.now())))  # newest first, as listed
        chosen, more = page(items, after=after, limit=limit, identity=lambda e: str(e["id"]))
        return listing(chosen, more)

    def _events(self, job: OpenAIJobRecord, now: float) -> list[JSON]:
        """Every event so far, oldest first."""
        line = training.timeline(job, now)
        out: list[JSON] = []

        def add(at: float, message: str, *, level: str = "info", data: JSON | None = None) -> None:
            kind = "metrics" if data is not None and "train_loss" in data else "message"
            out.append(
                {
                    "object": "fine_tuning.job.event",
                    "id": _derived_id("ftevent-", f"{job.id}:{len(out)}"),
                    "created_at": int(at),
                    "level": level,
                    "message": message,
                    "data": data if data is not None else {},
                    "type": kind,
                }
            )

        add(job.created_at, f"Validating training file: {job.training_file}")
        validated_at = job.created_at + training.VALIDATE_SECONDS
        if line.status == "failed" and job.check is not None and not job.check.ok:
            add(validated_at, job.check.message or "The job failed.", level="error")
            return out
        if now < validated_at or job.check is None:
            return _with_cancel(out, job, add)
        add(validated_at, "Files validated, moving job to queued state")
        if line.started_at is None:
            return _with_cancel(out, job, add)
        add(line.started_at, "Fine-tuning job started")
        start = line.started_at
        for step in range(1, line.steps_done + 1):
            loss = training.train_loss(job.id, step, line.total_steps)
            data: JSON = {
                "step": step,
                "train_loss": loss,
                "total_steps": line.total_steps,
                "train_mean_token_accuracy": training.token_accuracy(loss),
            }
            at = training.step_time(job, start, step)
            add(at, f"Step {step}/{line.total_steps}: training loss={loss:.2f}", data=data)
            if step in self._checkpoint_steps(line):
                name = f"{self.tuned_model(job)}:ckpt-step-{step}"
                add(at, f"Checkpoint created at step {step}", data={"model": name})
        if line.failed_step is not None and line.finished_at is not None:
            add(line.finished_at, training.failure_message(line), level="error")
        if line.status == "succeeded" and line.finished_at is not None:
            add(line.finished_at, f"New fine-tuned model created: {self.tuned_model(job)}")
            add(line.finished_at, "The job has successfully completed")
        return _with_cancel(out, job, add)

    def _checkpoint_steps(self, line: training.Timeline) -> set[int]:
        # The last epochs only: a timeline may have any number of epochs, so listing every epoch's
        # end first could take all the memory there is (n_epochs = 10**17 did).
        epochs = line.total_steps // line.steps_per_epoch
        first = max(1, epochs - CHECKPOINTS_KEPT + 1)
        return {line.steps_per_epoch * epoch for epoch in range(first, epochs + 1)}

    def checkpoints(self, job_id: str, *, after: str | None, limit: int) -> JSON:
        job = self.job(job_id)
        line = training.timeline(job, self.now())
        if line.started_at is None:
            return listing([], False)
        items: list[JSON] = []
        for step in sorted(self._checkpoint_steps(line), reverse=True):
            if step > line.steps_done:
                continue
            loss = training.train_loss(job.id, step, line.total_steps)
            valid = round(loss + 0.05, 4)
            items.append(
                {
                    "object": "fine_tuning.job.checkpoint",
                    "id": _derived_id("ftckpt_", f"{job.id}:{step}"),
                    "created_at": int(training.step_time(job, line.started_at, step)),
                    "fine_tuned_model_checkpoint": f"{self.tuned_model(job)}:ckpt-step-{step}",
                    "fine_tuning_job_id": job.id,
                    "step_number": step,
                    "metrics": {
                        "step": float(step),
                        "train_loss": loss,
                        "train_mean_token_accuracy": training.token_accuracy(loss),
                        "valid_loss": valid,
                        "valid_mean_token_accuracy": training.token_accuracy(valid),
                        "full_valid_loss": valid,
                        "full_valid_mean_token_accuracy": training.token_accuracy(valid),
                    },
                }
            )
        chosen, more = page(items, after=after, limit=limit, identity=lambda c: str(c["id"]))
        return listing(chosen, more)

    # ----------------------------------------------------------------------------- models

    def model_index(self, model: str) -> standin.ReplyIndex | None:
        """The stand-in of a tuned model (or one of its checkpoints); None for a base model.

        Raises a 404 for a name that is neither."""
        if model in BASE_MODELS or model in CHAT_MODELS:
            return None
        now = self.now()
        for job in self.store.all(OPENAI_JOBS):
            name = self.tuned_model(job)
            if model != name and not model.startswith(name + ":ckpt-step-"):
                continue
            job = self._settled(job, now)
            if training.timeline(job, now).status == "succeeded":
                return self._index(job)
        raise openai_error(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            code="model_not_found",
            param="model",
        )

    def _index(self, job: OpenAIJobRecord) -> standin.ReplyIndex:
        index = standin.ReplyIndex()
        path = self.store.blob_path(job.training_file)
        with path.open("rb") as handle:
            for raw in handle:
                try:
                    record = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    index.examples.extend(standin.examples_of(training.chat_view(record)))
        return index


def _with_cancel(out: list[JSON], job: OpenAIJobRecord, add: Callable[..., None]) -> list[JSON]:
    if job.cancelled_at is not None:
        add(job.cancelled_at, "Fine-tuning job cancelled")
    return out


def file_out(record: OpenAIFileRecord) -> JSON:
    return {
        "object": "file",
        "id": record.id,
        "bytes": record.bytes,
        "created_at": int(record.created_at),
        "filename": record.filename,
        "purpose": record.purpose,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }


def _organization_id(owner: str) -> str:
    return f"org-{owner}"


def _required_str(body: JSON, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise openai_error(400, f"Missing required parameter: {name!r}.", param=name)
    return value


_HYPER_NAMES = {
    "supervised": ("n_epochs", "batch_size", "learning_rate_multiplier"),
    "dpo": ("n_epochs", "batch_size", "learning_rate_multiplier", "beta"),
}


def _method_of(body: JSON) -> tuple[str, JSON]:
    """The method type and its requested hyperparameters (from ``method``, or the deprecated
    top-level ``hyperparameters`` of a supervised job)."""
    method = body.get("method")
    legacy = body.get("hyperparameters")
    if method is None:
        kind, given = "supervised", legacy or {}
    else:
        if not isinstance(method, dict) or not isinstance(method.get("type"), str):
            raise openai_error(400, "'method' must be an object with a 'type'.", param="method")
        kind = method["type"]
        if kind not in _HYPER_NAMES:
            raise openai_error(
                400,
                f"Fine-tuning method {kind!r} is not offered by the sandbox "
                "(supervised and dpo are).",
                param="method.type",
                code="invalid_value",
            )
        section = method.get(kind) or {}
        given = section.get("hyperparameters") if isinstance(section, dict) else None
        if legacy and given:
            raise openai_error(
                400,
                "Give hyperparameters in 'method', not in both 'method' and 'hyperparameters'.",
                param="hyperparameters",
            )
        given = given or legacy or {}
    if not isinstance(given, dict):
        raise openai_error(400, "'hyperparameters' must be an object.", param="hyperparameters")
    names = _HYPER_NAMES[kind]
    for name, value in given.items():
        if name not in names:
            raise openai_error(
                400, f"Unknown hyperparameter {name!r} for {kind}.", param=f"method.{kind}"
            )
        _check_hyper(name, value)
    return kind, {name: given.get(name, "auto") for name in names}


MAX_EPOCHS = 50
"""The most epochs a job may ask for: OpenAI's API description (as its SDKs generate it) says
"any number between 1 and 50 epochs" for ``n_epochs`` set by hand."""


def _check_hyper(name: str, value: object) -> None:
    if value == "auto":
        return
    integer = name in {"n_epochs", "batch_size"}
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    valid = number is not None and math.isfinite(number) and number > 0
    if not valid or (integer and not isinstance(number, int)):
        kind = "a positive integer" if integer else "a positive number"
        raise openai_error(400, f'{name!r} must be "auto" or {kind}.', param=name)
    if name == "n_epochs" and number is not None and number > MAX_EPOCHS:
        raise openai_error(
            400,
            f"'n_epochs' must be \"auto\" or between 1 and {MAX_EPOCHS}, not {number}.",
            param=name,
            code="invalid_value",
        )


def _metadata(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > 16:
        raise openai_error(
            400, "'metadata' must be an object of at most 16 pairs.", param="metadata"
        )
    for key, item in value.items():
        if not isinstance(item, str) or len(key) > 64 or len(item) > 512:
            raise openai_error(
                400, "metadata keys are up to 64 characters, values up to 512.", param="metadata"
            )
    return dict(value)


def _integrations(value: object) -> list[JSON] | None:
    """W&B integrations as the job reports them (no W&B key is ever sent to OpenAI)."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise openai_error(400, "'integrations' must be a list of objects.", param="integrations")
    for item in value:
        if item.get("type") != "wandb" or not isinstance(item.get("wandb"), dict):
            raise openai_error(
                400, "Only 'wandb' integrations are supported.", param="integrations"
            )
    return [dict(item) for item in value]
