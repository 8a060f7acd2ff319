"""The sandbox's behaviour, independent of HTTP: files, jobs, models and the clock.

Routes parse requests and call these methods; errors are raised as
:class:`~tuner.sandbox.errors.ApiError` with the platform's bodies. Every job is brought up to
date lazily (:meth:`Sandbox.refresh_job`): a job's validation outcome is settled once the clock
passes the end of validation, and its fine-tuned model is created once it reaches SUCCESS.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import mimetypes
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tuner.sandbox import errors, lifecycle, validation, wire
from tuner.sandbox.catalog import BASE_MODELS, ModelSpec, base_model
from tuner.sandbox.clock import Clock
from tuner.sandbox.errors import ApiError, detail_error, unprocessable, validation_detail
from tuner.sandbox.faults import JobFate
from tuner.sandbox.lifecycle import Status
from tuner.sandbox.records import (
    FileRecord,
    JobRecord,
    LineError,
    ModelRecord,
    TrainingFileRef,
    Validation,
)
from tuner.sandbox.requests import JobIn
from tuner.sandbox.standin import ReplyIndex
from tuner.sandbox.store import FILES, JOBS, MODELS, Store
from tuner.sandbox.uploads import ReceivedFile

log = logging.getLogger(__name__)

JSON = dict[str, Any]
PURPOSES = ("fine-tune", "batch", "ocr")
VISIBILITIES = ("workspace", "user")
MAX_EXPIRY_HOURS = 168
# Indexes of fine-tuned models' training data kept in memory for chat.
INDEX_CACHE_SIZE = 8
CLOCK_KEY = "clock"
SIGNING_KEY = "signing_key"


def owner_of(api_key: str) -> str:
    """The 8-hex owner id of an API key: names fine-tuned models, backs ``created_by_me``."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:8]


def workspace_of(owner: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tuner-sandbox:{owner}"))


def mimetype_of(filename: str, declared: str | None) -> str:
    if filename.lower().endswith(".jsonl"):
        return "application/jsonl"
    guessed, _ = mimetypes.guess_type(filename)
    if guessed:
        return guessed
    if declared and declared != "application/octet-stream":
        return declared
    return "application/octet-stream"


def invalid_format(error_count: int, listed: Sequence[LineError]) -> ApiError:
    # Status 422 is our choice: the platform's status for this body is unconfirmed (4xx).
    noun = "error" if error_count == 1 else "errors"
    return ApiError(
        422,
        {
            "detail": errors.INVALID_FORMAT,
            "description": f"Found {error_count} {noun} in this file. {errors.FORMATS_HINT}",
            "errors": [e.model_dump() for e in listed],
        },
    )


def _page(items: list[Any], page: int, page_size: int) -> list[Any]:
    return items[page * page_size : (page + 1) * page_size]


class Sandbox:
    def __init__(self, store: Store, clock: Clock, *, seed: int = 0, job_fail: float = 0.0) -> None:
        self.store = store
        self.clock = clock
        self.seed = seed
        self._fate = JobFate(job_fail, seed)
        saved = store.get_meta(CLOCK_KEY)
        if saved is not None:
            clock.resume_from(float(saved))
        self._saved_clock = clock.now()
        key = store.get_meta(SIGNING_KEY)
        if key is None:
            key = secrets.token_hex(32)
            store.set_meta(SIGNING_KEY, key)
        self._signing_key = key.encode()
        # Validation runs off the request path, as on the platform; a request that needs the
        # outcome waits for it (never for the wall clock to reach some instant).
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox-validate")
        self._pending: dict[str, Future[Validation]] = {}
        self._indexes: OrderedDict[str, ReplyIndex] = OrderedDict()

    def close(self) -> None:
        # Do not wait for a validation still running: its outcome is recomputed on next start.
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._persist_clock(self.clock.now())
        self.store.close()

    # ------------------------------------------------------------------ clock

    def now(self) -> float:
        instant = self.clock.now()
        if instant > self._saved_clock + 1:
            self._persist_clock(instant)
        return instant

    def _persist_clock(self, instant: float) -> None:
        self._saved_clock = instant
        self.store.set_meta(CLOCK_KEY, repr(instant))

    # ------------------------------------------------------------------ files

    def add_file(self, received: ReceivedFile, fields: dict[str, str], owner: str) -> FileRecord:
        """Validate and keep an upload (blocking: run it off the event loop)."""
        purpose = fields.get("purpose") or "fine-tune"
        visibility = fields.get("visibility") or "workspace"
        problems = []
        if purpose not in PURPOSES:
            problems.append(_enum_problem("purpose", purpose, PURPOSES))
        if visibility not in VISIBILITIES:
            problems.append(_enum_problem("visibility", visibility, VISIBILITIES))
        expiry = _optional_int(fields.get("expiry"), "expiry", problems)
        if problems:
            raise unprocessable(problems)
        sample_type = self._sample_type(received, purpose)
        now = self.now()
        with self.store.transaction():
            existing = self._same_file(received.filename, received.sha256)
            if existing is not None:
                received.path.unlink(missing_ok=True)
                return existing
            record = FileRecord(
                id=str(uuid.uuid4()),
                filename=received.filename,
                bytes=received.size,
                created_at=now,
                purpose=purpose,
                sample_type=sample_type,
                num_lines=received.num_lines,
                mimetype=mimetype_of(received.filename, received.content_type),
                sha256=received.sha256,
                visibility=visibility,
                expires_at=None if expiry is None else int(now + expiry * 3600),
                owner=owner,
            )
            self.store.keep_blob(received.path, record.id)
            self.store.put(FILES, record, created=now)
        log.info("file %s uploaded: %s (%d bytes)", record.id, record.filename, record.bytes)
        return record

    def _sample_type(self, received: ReceivedFile, purpose: str) -> str:
        if purpose == "batch":
            return "batch_request"
        if purpose != "fine-tune":
            # OCR inputs: the sample_type enum has nothing closer.
            return "instruct"
        if not received.utf8_ok:
            raise detail_error(422, errors.DECODE_FAILED)
        verdict = validation.check_upload(received.path)
        if not verdict.ok:
            raise invalid_format(verdict.error_count, verdict.errors)
        return verdict.sample_type or "instruct"

    def _same_file(self, filename: str, sha256: str) -> FileRecord | None:
        # The platform returns the existing file for the same name and content.
        for record in self.store.all(FILES):
            if not record.deleted and record.filename == filename and record.sha256 == sha256:
                return record
        return None

    def file(self, file_id: uuid.UUID, *, include_deleted: bool = False) -> FileRecord:
        record = self.store.get(FILES, str(file_id))
        if record is None or (record.deleted and not include_deleted):
            raise detail_error(404, errors.FILE_NOT_FOUND)
        return record

    def list_files(
        self,
        *,
        page: int,
        page_size: int,
        include_total: bool,
        sample_types: Sequence[str],
        sources: Sequence[str],
        search: str | None,
        purpose: str | None,
        mimetypes: Sequence[str],
    ) -> JSON:
        needle = search.lower() if search else None
        matching = [
            record
            for record in self.store.all(FILES)
            if not record.deleted
            and (not sample_types or record.sample_type in sample_types)
            and (not sources or record.source in sources)
            and (needle is None or needle in record.filename.lower() or needle == record.id)
            and (purpose is None or record.purpose == purpose)
            and (not mimetypes or record.mimetype in mimetypes)
        ]
        return {
            "data": [wire.file_out(r) for r in _page(matching, page, page_size)],
            "object": "list",
            "total": len(matching) if include_total else None,
        }

    def delete_file(self, file_id: uuid.UUID) -> JSON:
        with self.store.transaction():
            record = self.file(file_id)
            self.store.put(
                FILES, record.model_copy(update={"deleted": True}), created=record.created_at
            )
            # Keep the bytes of a file a job trained on: its fine-tuned model still answers
            # from them (the platform's models do not forget when the data file goes).
            if not any(record.id in _file_ids(job) for job in self.store.all(JOBS)):
                self.store.drop_blob(record.id)
        return {"id": record.id, "object": "file", "deleted": True}

    def file_content(self, file_id: uuid.UUID) -> tuple[FileRecord, Path]:
        record = self.file(file_id)
        path = self.store.blob_path(record.id)
        if not path.exists():
            raise detail_error(404, errors.FILE_NOT_FOUND)
        return record, path

    def signed_url(self, file_id: uuid.UUID, expiry_hours: int, base_url: str) -> JSON:
        record = self.file(file_id)
        if not 1 <= expiry_hours <= MAX_EXPIRY_HOURS:
            raise unprocessable(
                [
                    validation_detail(
                        ["query", "expiry"],
                        f"expiry must be between 1 and {MAX_EXPIRY_HOURS} hours",
                        expiry_hours,
                    )
                ]
            )
        expires = int(self.now() + expiry_hours * 3600)
        query = urlencode({"se": expires, "sp": "r", "sig": self._signature(record.id, expires)})
        return {"url": f"{base_url.rstrip('/')}/sandbox/blobs/{record.id}?{query}"}

    def signed_content(self, file_id: str, expires: int, signature: str) -> tuple[str, Path]:
        """The bytes behind a signed URL (like an Azure SAS URL: no API key, a signature)."""
        good = hmac.compare_digest(signature, self._signature(file_id, expires))
        record = self.store.get(FILES, file_id) if good else None
        path = self.store.blob_path(file_id)
        if record is None or record.deleted or expires < self.now() or not path.exists():
            raise detail_error(403, "This signed URL is invalid or has expired.")
        return record.filename, path

    def _signature(self, file_id: str, expires: int) -> str:
        message = f"{file_id}:{expires}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------ jobs

    def create_job(self, body: JobIn, raw: JSON, owner: str) -> JSON:
        if not body.training_files and not body.repositories:
            raise unprocessable(
                [validation_detail(["body", "job_in"], errors.NO_TRAINING_FILES, raw)]
            )
        job_type = body.job_type or "completion"
        spec = base_model(body.model)
        if job_type != "completion" or spec is None or not spec.fine_tunable:
            # The sandbox simulates completion fine-tuning only.
            raise detail_error(422, errors.model_not_available(job_type))
        training = [
            TrainingFileRef(file_id=str(f.file_id), weight=f.weight) for f in body.training_files
        ]
        validation_ids = [str(f) for f in body.validation_files or []]
        for file_id in [ref.file_id for ref in training] + validation_ids:
            record = self.store.get(FILES, file_id)
            if record is None or record.deleted:
                raise detail_error(404, f"File {file_id} not found.")
        now = self.now()
        job = JobRecord(
            id=str(uuid.uuid4()),
            owner=owner,
            model=body.model,
            created_at=now,
            auto_start=body.auto_start,
            training_files=training,
            validation_files=validation_ids,
            hyperparameters=body.hyperparameters.model_dump(exclude_none=True),
            suffix=body.suffix,
            # Secrets (W&B keys, repository tokens) are dropped here and never stored.
            integrations=None
            if body.integrations is None
            else [i.model_dump(exclude={"api_key"}) for i in body.integrations],
            repositories=None
            if body.repositories is None
            else [r.model_dump(exclude={"token"}) for r in body.repositories],
            invalid_sample_skip_percentage=body.invalid_sample_skip_percentage,
            fail_fraction=self._fate.fail_fraction(),
        )
        # Settle earlier jobs first, so a job whose validation has (silently) failed by now is
        # not taken for an active duplicate.
        self.refresh_jobs(now)
        with self.store.transaction():
            duplicate = self._active_duplicate(job, now)
            if duplicate is not None:
                raise detail_error(
                    409,
                    "A fine-tuning job with the same parameters is already queued, validated "
                    f"or running: {duplicate.id}.",
                )
            self.store.put(JOBS, job, created=now)
        self._pending[job.id] = self._executor.submit(self._validate, job)
        log.info("job %s created (%s, auto_start=%s)", job.id, job.model, job.auto_start)
        return wire.job_out(job, spec, now, seed=self.seed, detailed=False)

    def _active_duplicate(self, job: JobRecord, now: float) -> JobRecord | None:
        key = _duplicate_key(job)
        for other in self.store.all(JOBS):
            if other.settled or _duplicate_key(other) != key:
                continue
            if lifecycle.status_at(other, self._spec(other), now) in lifecycle.ACTIVE:
                return other
        return None

    def job(self, job_id: uuid.UUID) -> JobRecord:
        record = self.store.get(JOBS, str(job_id))
        if record is None:
            raise detail_error(404, errors.JOB_NOT_FOUND)
        return self.refresh_job(record, self.now())

    def job_detail(self, job_id: uuid.UUID) -> JSON:
        now = self.now()
        job = self.job(job_id)
        return wire.job_out(job, self._spec(job), now, seed=self.seed, detailed=True)

    def list_jobs(
        self,
        *,
        page: int,
        page_size: int,
        owner: str,
        model: str | None,
        created_after: datetime | None,
        created_before: datetime | None,
        created_by_me: bool,
        status: Status | None,
        wandb_project: str | None,
        wandb_name: str | None,
        suffix: str | None,
    ) -> JSON:
        now = self.now()
        after = None if created_after is None else _timestamp(created_after)
        before = None if created_before is None else _timestamp(created_before)
        matching = []
        for job in self.refresh_jobs(now):
            spec = self._spec(job)
            if (
                (model is None or job.model == model)
                and (after is None or job.created_at >= after)
                and (before is None or job.created_at <= before)
                and (not created_by_me or job.owner == owner)
                and (status is None or lifecycle.status_at(job, spec, now) is status)
                and (suffix is None or job.suffix == suffix)
                and _wandb_matches(job, wandb_project, wandb_name)
            ):
                matching.append(job)
        return {
            "data": [
                wire.job_out(job, self._spec(job), now, seed=self.seed, detailed=False)
                for job in _page(matching, page, page_size)
            ],
            "object": "list",
            "total": len(matching),
        }

    def start_job(self, job_id: uuid.UUID) -> JSON:
        job = self.job(job_id)
        with self.store.transaction():
            now = self.now()
            job = self._reload(job)
            spec = self._spec(job)
            status = lifecycle.status_at(job, spec, now)
            if status is not Status.VALIDATED:
                raise detail_error(
                    400, f"Only a VALIDATED job can be started; this job is {status.value}."
                )
            job = job.model_copy(update={"start_requested_at": now})
            self.store.put(JOBS, job, created=job.created_at)
        log.info("job %s started", job.id)
        return wire.job_out(job, spec, now, seed=self.seed, detailed=True)

    def cancel_job(self, job_id: uuid.UUID) -> JSON:
        job = self.job(job_id)
        with self.store.transaction():
            now = self.now()
            job = self._reload(job)
            spec = self._spec(job)
            status = lifecycle.status_at(job, spec, now)
            if status in lifecycle.TERMINAL:
                raise detail_error(
                    400, f"This job is already {status.value}; it cannot be cancelled."
                )
            if status is not Status.CANCELLATION_REQUESTED:
                job = job.model_copy(update={"cancel_requested_at": now})
                self.store.put(JOBS, job, created=job.created_at)
                self._pending.pop(job.id, None)
        log.info("job %s cancelled", job.id)
        return wire.job_out(job, spec, now, seed=self.seed, detailed=True)

    def refresh_jobs(self, now: float) -> list[JobRecord]:
        """Every job, newest first, each brought up to date with the clock."""
        return [self.refresh_job(job, now) for job in self.store.all(JOBS)]

    def refresh_job(self, job: JobRecord, now: float) -> JobRecord:
        """Settle what the clock has decided: the validation outcome, the fine-tuned model."""
        if job.settled:
            return job
        outcome = None
        if job.validation is None and self._needs_outcome(job, now):
            outcome = self._outcome(job)  # may wait for the validation thread: outside the lock
        with self.store.transaction():
            job = self._reload(job)
            changed = False
            if job.validation is None and outcome is not None:
                job = job.model_copy(update={"validation": outcome})
                changed = True
            spec = self._spec(job)
            transitions = lifecycle.transitions_until(job, spec, now)
            status = transitions[-1].status
            if status is Status.SUCCESS and job.fine_tuned_model is None:
                job = job.model_copy(
                    update={"fine_tuned_model": self._add_model(job, transitions[-1].at)}
                )
                changed = True
            if status in lifecycle.TERMINAL:
                job = job.model_copy(update={"settled": True})
                changed = True
            if changed:
                self.store.put(JOBS, job, created=job.created_at)
        return job

    def _reload(self, job: JobRecord) -> JobRecord:
        return self.store.get(JOBS, job.id) or job

    @staticmethod
    def _needs_outcome(job: JobRecord, now: float) -> bool:
        ends = lifecycle.validation_ends(job)
        cancelled_before = job.cancel_requested_at is not None and job.cancel_requested_at < ends
        return now >= ends and not cancelled_before

    def _outcome(self, job: JobRecord) -> Validation:
        future = self._pending.pop(job.id, None)
        if future is not None:
            return future.result()
        # After a restart nothing is pending: validate now.
        return self._validate(job)

    def _validate(self, job: JobRecord) -> Validation:
        spec = self._spec(job)
        hyper = job.hyperparameters
        try:
            if not job.training_files:
                return Validation(
                    ok=False,
                    error="The tuner sandbox does not fetch GitHub repositories; "
                    "upload the training data as files.",
                )
            training = self._paths([ref.file_id for ref in job.training_files])
            validating = self._paths(job.validation_files)
            if isinstance(training, str) or isinstance(validating, str):
                return Validation(
                    ok=False, error=str(training if isinstance(training, str) else validating)
                )
            verdict = validation.check_job_data(
                training, validating, job.model, skip_fraction=job.invalid_sample_skip_percentage
            )
        except Exception as exc:  # a broken check fails the job, like a platform-side error
            log.exception("validating the data of job %s failed", job.id)
            return Validation(ok=False, error=f"The sandbox could not validate the data: {exc}")
        return lifecycle.settle_validation(
            ok=verdict.ok,
            error=verdict.error,
            data_tokens=verdict.data_tokens,
            conversations=verdict.conversations,
            training_steps=hyper.get("training_steps"),
            epochs=hyper.get("epochs"),
            model=spec,
        )

    def _paths(self, file_ids: Sequence[str]) -> list[Path] | str:
        """The stored bytes of ``file_ids``, or why one is missing."""
        paths = []
        for file_id in file_ids:
            path = self.store.blob_path(file_id)
            if not path.exists():
                return f"The file {file_id} is no longer available."
            paths.append(path)
        return paths

    def _spec(self, job: JobRecord) -> ModelSpec:
        spec = base_model(job.model)
        if spec is None:  # jobs are only created for known models
            raise LookupError(f"job {job.id} has an unknown model {job.model}")
        return spec

    def _add_model(self, job: JobRecord, finished: float) -> str:
        day = datetime.fromtimestamp(finished, UTC).strftime("%Y%m%d")
        parts = ["ft", job.model, job.owner, day]
        if job.suffix:
            parts.append(job.suffix)
        parts.append(job.id.replace("-", "")[:8])
        name = ":".join(parts)
        record = ModelRecord(id=name, job=job.id, root=job.model, owner=job.owner, created=finished)
        self.store.put(MODELS, record, created=finished)
        log.info("job %s succeeded: model %s", job.id, name)
        return name

    # ------------------------------------------------------------------ models

    def list_models(self) -> JSON:
        self.refresh_jobs(self.now())
        cards = [wire.base_card(spec) for spec in BASE_MODELS]
        for record in reversed(self.store.all(MODELS)):
            if not record.deleted:
                cards.append(wire.fine_tuned_card(record, self._root(record)))
        return {"object": "list", "data": cards}

    def model_card(self, model_id: str) -> JSON:
        spec = base_model(model_id)
        if spec is not None:
            return wire.base_card(spec)
        record = self.fine_tuned(model_id)
        return wire.fine_tuned_card(record, self._root(record))

    def fine_tuned(self, model_id: str) -> ModelRecord:
        self.refresh_jobs(self.now())
        record = self.store.get(MODELS, model_id)
        if record is None or record.deleted:
            raise detail_error(404, errors.MODEL_NOT_FOUND)
        return record

    def delete_model(self, model_id: str) -> JSON:
        if base_model(model_id) is not None:
            raise detail_error(403, "Base models cannot be deleted.")
        with self.store.transaction():
            record = self.fine_tuned(model_id)
            self.store.put(
                MODELS, record.model_copy(update={"deleted": True}), created=record.created
            )
        self._indexes.pop(model_id, None)
        return {"id": model_id, "object": "model", "deleted": True}

    def update_model(self, model_id: str, changes: JSON) -> JSON:
        """Set the ``name``/``description`` given in ``changes`` (fields left out are kept)."""
        with self.store.transaction():
            record = self.fine_tuned(model_id)
            record = record.model_copy(update=changes)
            self.store.put(MODELS, record, created=record.created)
        return wire.fine_tuned_model_out(
            record, self._root(record), workspace_id=workspace_of(record.owner)
        )

    def set_archived(self, model_id: str, archived: bool) -> JSON:
        with self.store.transaction():
            record = self.fine_tuned(model_id)
            self.store.put(
                MODELS, record.model_copy(update={"archived": archived}), created=record.created
            )
        return {"id": model_id, "object": "model", "archived": archived}

    def _root(self, record: ModelRecord) -> ModelSpec:
        spec = base_model(record.root)
        if spec is None:
            raise LookupError(f"model {record.id} has an unknown root {record.root}")
        return spec

    # ------------------------------------------------------------------ inference support

    def chat_model(self, model_id: str) -> tuple[ModelSpec, ModelRecord | None]:
        """The model a chat request names: a base model, or a fine-tuned one with its base."""
        spec = base_model(model_id)
        if spec is not None:
            if not spec.chat:
                raise errors.invalid_model(model_id)
            return spec, None
        with contextlib.suppress(ApiError):
            record = self.fine_tuned(model_id)
            return self._root(record), record
        raise errors.invalid_model(model_id)

    def reply_index(self, record: ModelRecord) -> ReplyIndex:
        """The training examples a fine-tuned model answers from (cached, a few models)."""
        index = self._indexes.get(record.id)
        if index is None:
            job = self.store.get(JOBS, record.job)
            ids = [ref.file_id for ref in job.training_files] if job else []
            index = ReplyIndex.from_files(self.store.blob_path(i) for i in ids)
            self._indexes[record.id] = index
            while len(self._indexes) > INDEX_CACHE_SIZE:
                self._indexes.popitem(last=False)
        else:
            self._indexes.move_to_end(record.id)
        return index


def _file_ids(job: JobRecord) -> set[str]:
    return {ref.file_id for ref in job.training_files} | set(job.validation_files)


def _duplicate_key(job: JobRecord) -> tuple[Any, ...]:
    return (
        job.model,
        tuple((ref.file_id, ref.weight) for ref in job.training_files),
        tuple(job.validation_files),
        tuple(sorted(job.hyperparameters.items())),
        job.suffix,
    )


def _timestamp(moment: datetime) -> float:
    # A naive date-time is taken as UTC, as the platform's timestamps are.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _wandb_matches(job: JobRecord, project: str | None, name: str | None) -> bool:
    if project is None and name is None:
        return True
    return any(
        (project is None or item.get("project") == project)
        and (name is None or item.get("name") == name)
        for item in job.integrations or []
    )


def _enum_problem(field: str, value: str, allowed: Sequence[str]) -> JSON:
    expected = ", ".join(f"'{a}'" for a in allowed[:-1]) + f" or '{allowed[-1]}'"
    return {
        "type": "enum",
        "loc": ["body", field],
        "msg": f"Input should be {expected}",
        "input": value,
        "ctx": {"expected": expected},
    }


def _optional_int(value: str | None, field: str, problems: list[JSON]) -> int | None:
    if value is None or value == "" or value == "null":
        return None
    try:
        return int(value)
    except ValueError:
        problems.append(
            {
                "type": "int_parsing",
                "loc": ["body", field],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": value,
            }
        )
        return None
