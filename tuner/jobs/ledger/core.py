"""The ``Ledger``: typed operations over the ledger database, each its own short transaction.

A ``Ledger`` owns one SQLAlchemy engine (a connection pool) and is safe to share between
threads. Nothing it returns is a database object: records come from ``tuner.jobs.records``.
Time is always passed in (``now``), never read from the clock here, so callers and tests control
it.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from ..records import (
    Backend,
    CheckpointRecord,
    DatasetRecord,
    EvalItemRecord,
    EvalRunRecord,
    EvalRunStatus,
    EventRecord,
    FileRecord,
    JobFileLink,
    JobRecord,
    LeaseRecord,
    Lineage,
    NotificationRecord,
    NotifierRecord,
    QueueEntry,
    QueueState,
    SnapshotChanges,
    TransitionRecord,
)
from . import evals, files, jobs, leases, lineage, migrations, notifications, submissions
from .common import Instant, normalise_backend, optional_seconds, to_seconds
from .common import content_hash as check_hash
from .engine import create_ledger_engine, default_ledger_url, masked, resolve_url, transaction
from .errors import LedgerError, SchemaTooNewError
from .evals import EvalItemWrite
from .redact import json_object
from .redact import key_last4 as check_last4
from .snapshot import (
    SnapshotFile,
    as_mapping,
    parse_snapshot,
    spec_file_weights,
    stored_snapshot,
)

if TYPE_CHECKING:
    from .aio import AsyncLedger

JsonInput = Mapping[str, Any] | BaseModel


def open_ledger(url: str | None = None, *, notifiers: Sequence[str] = ()) -> Ledger:
    """Open (creating and migrating as needed) the ledger at ``url``.

    ``url`` defaults to ``TUNER_DB``, else ``$XDG_DATA_HOME/tuner/ledger.db``. It may be a file
    path, ``sqlite:///PATH`` or ``postgresql+psycopg://…`` (``postgresql://`` works too).
    ``notifiers`` names notifiers that get an outbox row for every new status transition this
    ``Ledger`` records, on top of those registered in the ledger (``register_notifiers``, done
    by the daemon), which every writer creates rows for.
    """
    return Ledger(default_ledger_url() if url is None else url, notifiers=notifiers)


class Ledger(AbstractContextManager["Ledger"]):
    def __init__(self, url: str, *, notifiers: Sequence[str] = ()) -> None:
        resolved = resolve_url(url)
        self._url = masked(resolved)
        self._aio: AsyncLedger | None = None
        self._aio_lock = threading.Lock()
        self._notifiers = _check_notifiers(notifiers)
        try:
            self._engine = create_ledger_engine(resolved)
        except ImportError as exc:
            raise LedgerError(
                f"cannot open the ledger at {self._url}: its database driver is not installed "
                f"({exc.name}); for PostgreSQL install psycopg 3: pip install 'psycopg[binary]'"
            ) from exc
        except (SQLAlchemyError, OSError) as exc:
            raise LedgerError(f"cannot open the ledger at {self._url}: {exc}") from exc
        try:
            migrations.migrate(self._engine)
        except SchemaTooNewError:
            self._engine.dispose()
            raise
        except LedgerError as exc:
            self._engine.dispose()
            raise LedgerError(f"cannot open the ledger at {self._url}: {exc}") from exc

    # -- the connection -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self._url

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    @property
    def notifiers(self) -> tuple[str, ...]:
        """The notifiers this ``Ledger`` was opened with (see ``registered_notifiers`` too)."""
        return self._notifiers

    @property
    def aio(self) -> AsyncLedger:
        """This ledger for async code: the same operations as coroutines that run in this
        ledger's worker thread, so the event loop never waits on the database (see ``aio.py``).
        Code that runs on an event loop uses this, never the blocking methods."""
        with self._aio_lock:
            if self._aio is None:
                from .aio import AsyncLedger  # aio.py builds on this module

                self._aio = AsyncLedger(self)
            return self._aio

    def __repr__(self) -> str:
        return f"Ledger({self._url!r})"

    def schema_version(self) -> int:
        with self._read("reading the schema version") as conn:
            return migrations.current_version(conn)

    def close(self) -> None:
        """Stop the async worker (after the calls already made) and close the connections.
        A closed ledger still works: it reconnects when used again."""
        with self._aio_lock:
            aio = self._aio
        if aio is not None:
            aio.close()
        self._engine.dispose()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _write(self, what: str) -> AbstractContextManager[Connection]:
        return transaction(self._engine, write=True, what=what)

    def _read(self, what: str) -> AbstractContextManager[Connection]:
        return transaction(self._engine, write=False, what=what)

    def verify(self) -> None:
        """Check a SQLite file now (``PRAGMA quick_check``, once per process), as happens
        before the first write: ``LedgerCorruptError`` when it is damaged. For commands that
        only read, where a damaged page could otherwise read as no rows; PostgreSQL: nothing."""
        with transaction(self._engine, write=False, what="checking the ledger", check=True):
            pass

    # -- datasets and files ---------------------------------------------------------------

    def record_dataset(
        self,
        content_hash: str,
        *,
        path: str | os.PathLike[str],
        size_bytes: int,
        line_count: int,
        now: Instant,
        stats: Mapping[str, Any] | None = None,
    ) -> DatasetRecord:
        """Record local content by its SHA-256; recording it again refreshes path and stats."""
        digest = check_hash(content_hash)
        with self._write("recording a dataset") as conn:
            return files.record_dataset(
                conn,
                content_hash=digest,
                path=os.fspath(path),
                size_bytes=size_bytes,
                line_count=line_count,
                stats=json_object(stats),
                now=to_seconds(now),
            )

    def get_dataset(self, content_hash: str) -> DatasetRecord | None:
        with self._read("reading a dataset") as conn:
            return files.get_dataset(conn, check_hash(content_hash))

    def record_file(
        self,
        file_id: str,
        *,
        backend: str,
        uploaded_at: Instant,
        content_hash: str | None = None,
        filename: str | None = None,
        size_bytes: int | None = None,
        purpose: str | None = None,
        sample_type: str | None = None,
        num_lines: int | None = None,
        key_last4: str | None = None,
        sandbox: bool | None = None,
        provider: str = "mistral",
    ) -> FileRecord:
        """Record an uploaded file (idempotent by file id). ``content_hash`` must be recorded
        with ``record_dataset`` first; ``key_last4`` is the uploading key's last four characters;
        ``sandbox`` whether the server that took it is a sandbox (None: not known).
        """
        row = {
            "file_id": file_id,
            "backend": normalise_backend(backend),
            "content_hash": _optional_hash(content_hash),
            "filename": filename,
            "size_bytes": size_bytes,
            "purpose": purpose,
            "sample_type": sample_type,
            "num_lines": num_lines,
            "key_last4": check_last4(key_last4),
            "uploaded_at": to_seconds(uploaded_at),
            "sandbox": sandbox,
            "provider": provider,
        }
        with self._write("recording an uploaded file") as conn:
            return files.record_file(conn, row)

    def get_file(self, file_id: str) -> FileRecord | None:
        with self._read("reading a file") as conn:
            return files.get_file(conn, file_id)

    def find_uploaded_file(
        self, content_hash: str, backend: str, *, key_last4: str | None = None
    ) -> FileRecord | None:
        """Is this content already on this server? The newest upload not marked deleted."""
        with self._read("looking up an uploaded file") as conn:
            return files.find_uploaded_file(
                conn,
                content_hash=check_hash(content_hash),
                backend=normalise_backend(backend),
                key_last4=check_last4(key_last4),
            )

    def mark_file_deleted(self, file_id: str, *, now: Instant) -> None:
        with self._write("marking a file deleted") as conn:
            files.mark_file_deleted(conn, file_id, now=to_seconds(now))

    # -- jobs -----------------------------------------------------------------------------

    def upsert_job(
        self,
        snapshot: JsonInput,
        *,
        backend: str,
        now: Instant,
        spec: JsonInput | None = None,
        key_last4: str | None = None,
        sweep_id: str | None = None,
        notify: bool = True,
        sandbox: bool | None = None,
    ) -> JobRecord:
        """Record a job the caller created (or learned of) with what only the caller knows:
        the spec (secrets stripped), the key's last four characters, the sweep. Otherwise the
        same as ``apply_snapshot``; ``None`` arguments leave stored values alone.
        """
        stripped = json_object(spec)
        extras = jobs.JobExtras(
            spec=stripped, key_last4=check_last4(key_last4), sweep_id=sweep_id, sandbox=sandbox
        )
        changes = self._apply(
            snapshot,
            backend=backend,
            now=now,
            extras=extras,
            spec_files=spec_file_weights(stripped),
            notify=notify,
        )
        return changes.job

    def apply_snapshot(
        self,
        job_snapshot: JsonInput,
        *,
        backend: str,
        now: Instant,
        notify: bool = True,
        sandbox: bool | None = None,
    ) -> SnapshotChanges:
        """Record what a fresh job object says, in one transaction: the job row, a transition
        if the status changed, new checkpoints and events, and a pending notification per
        configured notifier for each new transition (unless ``notify`` is False). Applying the
        same snapshot again records nothing. A snapshot older than the stored one (by
        ``modified_at``, or non-terminal after terminal) does not change the job row.

        The notifiers are this ``Ledger``'s own and the active registered ones (read in the
        same transaction), so any writer's transition reaches the daemon's notifiers.
        ``sandbox`` says whether the server that sent it is a sandbox (None: not known).
        """
        return self._apply(
            job_snapshot,
            backend=backend,
            now=now,
            extras=jobs.JobExtras(sandbox=sandbox),
            spec_files=(),
            notify=notify,
        )

    def _apply(
        self,
        snapshot: JsonInput,
        *,
        backend: str,
        now: Instant,
        extras: jobs.JobExtras,
        spec_files: Sequence[SnapshotFile],
        notify: bool,
    ) -> SnapshotChanges:
        raw = as_mapping(snapshot)
        snap = parse_snapshot(raw)
        stored = stored_snapshot(raw)
        at = to_seconds(now)
        with self._write(f"recording job {snap.id}") as conn:
            applied = jobs.apply_job_snapshot(
                conn,
                snap,
                stored,
                backend=normalise_backend(backend),
                now=at,
                extras=extras,
                spec_files=spec_files,
            )
            job = jobs.get_job(conn, snap.id)
            if job is None:
                raise LedgerError(f"job {snap.id} vanished while being recorded")
            notifiers: tuple[str, ...] = ()
            if notify and applied.transitions:
                notifiers = notifications.outbox_notifiers(conn, self._notifiers)
            created = notifications.create_notifications(
                conn, applied.transitions, job, notifiers, now=at
            )
        return SnapshotChanges(
            job=job,
            created=applied.created,
            stale=applied.stale,
            transitions=applied.transitions,
            checkpoints=applied.checkpoints,
            events=applied.events,
            notifications=created,
        )

    def get_job(self, job_id: str) -> JobRecord | None:
        with self._read("reading a job") as conn:
            return jobs.get_job(conn, job_id)

    def list_jobs(
        self,
        status: str | Collection[str] | None = None,
        active_only: bool = False,
        limit: int | None = None,
        *,
        backend: str | None = None,
        sweep_id: str | None = None,
        provider: str | None = None,
    ) -> list[JobRecord]:
        """Jobs newest first (by the server's ``created_at``); ``provider`` keeps one
        provider's ("mistral", "openai")."""
        with self._read("listing jobs") as conn:
            return jobs.list_jobs(
                conn,
                status=status,
                active_only=active_only,
                limit=limit,
                backend=None if backend is None else normalise_backend(backend),
                sweep_id=sweep_id,
                provider=provider,
            )

    def transitions(self, job_id: str) -> list[TransitionRecord]:
        with self._read("reading transitions") as conn:
            return jobs.transitions(conn, job_id)

    def checkpoints(self, job_id: str) -> list[CheckpointRecord]:
        with self._read("reading checkpoints") as conn:
            return jobs.checkpoints(conn, job_id)

    def checkpoints_of(self, job_ids: Sequence[str]) -> dict[str, list[CheckpointRecord]]:
        """The checkpoints of each of ``job_ids`` (in step order), read in one go."""
        with self._read("reading checkpoints") as conn:
            return jobs.checkpoints_of(conn, job_ids)

    def events(self, job_id: str) -> list[EventRecord]:
        with self._read("reading events") as conn:
            return jobs.events(conn, job_id)

    def job_files(self, job_id: str) -> list[JobFileLink]:
        with self._read("reading a job's files") as conn:
            return jobs.job_files(conn, job_id)

    def active_job_count(self, *, backend: str | None = None) -> int:
        """Jobs not in a terminal status (SUCCESS, FAILED, FAILED_VALIDATION, CANCELLED)."""
        with self._read("counting active jobs") as conn:
            return jobs.active_job_count(
                conn, backend=None if backend is None else normalise_backend(backend)
            )

    # -- notifications --------------------------------------------------------------------

    def register_notifiers(
        self, names: Sequence[str], *, now: Instant, sources: Mapping[str, str] | None = None
    ) -> None:
        """Register ``names``: from now on every writer, whatever it was opened with, creates
        their outbox rows. ``sources`` says where each one's target comes from (a setting or an
        option; never the target). Other registered notifiers stay registered: the daemon calls
        this with the notifiers it runs with, and a run without one does not remove it.
        """
        cleaned = _check_notifiers(names)
        with self._write("registering notifiers") as conn:
            notifications.register_notifiers(conn, cleaned, now=to_seconds(now), sources=sources)

    def remove_notifier(self, name: str, *, now: Instant) -> int:
        """Remove a registered notifier: no new outbox rows, and its pending notifications are
        given up (marked failed). Returns how many were given up; ``NotFoundError`` when no
        active notifier has that name."""
        with self._write("removing a notifier") as conn:
            return notifications.remove_notifier(conn, name, now=to_seconds(now))

    def notifier_registry(self) -> list[NotifierRecord]:
        """Every registered notifier (removed ones too), with its pending notifications."""
        with self._read("reading the notifier registry") as conn:
            return notifications.notifier_registry(conn)

    def registered_notifiers(self) -> tuple[str, ...]:
        """The active registered notifiers, sorted by name."""
        with self._read("reading the registered notifiers") as conn:
            return notifications.active_notifiers(conn)

    def pending_notifications(
        self, now: Instant, limit: int = 100, *, notifier: str | None = None
    ) -> list[NotificationRecord]:
        """Notifications due at ``now`` (never attempted, or whose retry time has come)."""
        with self._read("reading pending notifications") as conn:
            return notifications.pending_notifications(
                conn, now=to_seconds(now), limit=limit, notifier=notifier
            )

    def mark_sent(self, notification_id: int, now: Instant) -> None:
        with self._write("marking a notification sent") as conn:
            notifications.mark_sent(conn, notification_id, now=to_seconds(now))

    def mark_failed(
        self,
        notification_id: int,
        error: str,
        now: Instant,
        next_attempt_at: Instant | None,
    ) -> None:
        """A failed attempt: retried from ``next_attempt_at``, or given up for good if None."""
        with self._write("marking a notification failed") as conn:
            notifications.mark_failed(
                conn,
                notification_id,
                error=error,
                now=to_seconds(now),
                next_attempt_at=optional_seconds(next_attempt_at),
            )

    def notifications_for_job(self, job_id: str) -> list[NotificationRecord]:
        with self._read("reading notifications") as conn:
            return notifications.notifications_for_job(conn, job_id)

    # -- the submission queue -------------------------------------------------------------

    def enqueue(
        self,
        specs: Sequence[JsonInput],
        sweep_id: str | None = None,
        *,
        now: Instant,
        provider: str = "mistral",
    ) -> list[QueueEntry]:
        """Queue job specs (secrets stripped) in order; a sweep's members are queued once.
        ``provider`` says whose submitter creates them."""
        stripped = [json_object(spec) or {} for spec in specs]
        with self._write("queueing job specs") as conn:
            return submissions.enqueue(
                conn, stripped, sweep_id=sweep_id, now=to_seconds(now), provider=provider
            )

    def claim_next(self, now: Instant, *, provider: str = "mistral") -> QueueEntry | None:
        """Atomically take the oldest pending entry of ``provider`` (→ submitting); None when
        none is left. Each provider's submitter claims only its own entries."""
        with self._write("claiming a queue entry") as conn:
            return submissions.claim_next(conn, now=to_seconds(now), provider=provider)

    def mark_submitted(self, entry_id: int, job_id: str, *, now: Instant) -> QueueEntry:
        with self._write("marking a queue entry submitted") as conn:
            return submissions.mark_submitted(conn, entry_id, job_id=job_id, now=to_seconds(now))

    def mark_queue_failed(
        self, entry_id: int, error: str, *, now: Instant, retry: bool = False
    ) -> QueueEntry:
        """A submission failed: the entry becomes failed, or pending again with ``retry``."""
        with self._write("marking a queue entry failed") as conn:
            return submissions.mark_failed(
                conn, entry_id, error=error, now=to_seconds(now), retry=retry
            )

    def requeue(self, entry_id: int, *, now: Instant) -> QueueEntry:
        """Failed or abandoned (still submitting) → pending."""
        with self._write("requeueing an entry") as conn:
            return submissions.requeue(conn, entry_id, now=to_seconds(now))

    def get_queue_entry(self, entry_id: int) -> QueueEntry | None:
        with self._read("reading a queue entry") as conn:
            return submissions.get_entry(conn, entry_id)

    def entries_in_state(
        self, state: QueueState, *, sweep_id: str | None = None, provider: str | None = None
    ) -> list[QueueEntry]:
        """Entries in ``state``, oldest first; every provider's unless ``provider`` is given."""
        with self._read("listing queue entries") as conn:
            return submissions.entries_in_state(conn, state, sweep_id=sweep_id, provider=provider)

    # -- leases ---------------------------------------------------------------------------

    def acquire_lease(self, name: str, owner: str, ttl_s: int, now: Instant) -> bool:
        """Take the lease if free or expired, renew it if ``owner`` holds it; else False."""
        with self._write("taking a lease") as conn:
            return leases.acquire_lease(
                conn, name=name, owner=owner, ttl_s=ttl_s, now=to_seconds(now)
            )

    def release_lease(self, name: str, owner: str) -> bool:
        with self._write("releasing a lease") as conn:
            return leases.release_lease(conn, name=name, owner=owner)

    def lease_holder(self, name: str, now: Instant) -> LeaseRecord | None:
        with self._read("reading a lease") as conn:
            return leases.lease_holder(conn, name=name, now=to_seconds(now))

    # -- heartbeats -----------------------------------------------------------------------

    def record_heartbeat(self, name: str, at: Instant) -> None:
        """Note that ``name`` (e.g. the daemon) completed a cycle at ``at``."""
        with self._write("recording a heartbeat") as conn:
            leases.record_heartbeat(conn, name=name, at=to_seconds(at))

    def last_heartbeat(self, name: str) -> int | None:
        """When ``name`` last completed a cycle (UNIX seconds); None when it never did."""
        with self._read("reading a heartbeat") as conn:
            return leases.heartbeat(conn, name=name)

    # -- lineage --------------------------------------------------------------------------

    def lineage_of_model(self, fine_tuned_model: str) -> Lineage:
        """Dataset(s) → file(s) → job → this model → evaluation runs that included it."""
        with self._read("tracing a model's lineage") as conn:
            return lineage.lineage_of_model(conn, fine_tuned_model)

    def jobs_using_file(self, file_id: str) -> list[JobRecord]:
        with self._read("finding jobs by file") as conn:
            return lineage.jobs_using_file(conn, file_id)

    def jobs_from_dataset(self, content_hash: str) -> list[JobRecord]:
        with self._read("finding jobs by dataset") as conn:
            return lineage.jobs_from_dataset(conn, check_hash(content_hash))

    # -- evaluation -----------------------------------------------------------------------

    def create_eval_run(
        self,
        *,
        data_path: str | os.PathLike[str],
        data_hash: str,
        models: Sequence[str],
        now: Instant,
        judge: str | None = None,
        params: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        status: EvalRunStatus = "running",
        backends: Sequence[Backend] | None = None,
    ) -> EvalRunRecord:
        """A new run of the eval set at ``data_path`` (SHA-256 ``data_hash``) over ``models``;
        ``backends`` says, per model, which backend answers it (URL, sandbox or not)."""
        with self._write("creating an evaluation run") as conn:
            return evals.create_eval_run(
                conn,
                run_id=run_id or uuid.uuid4().hex,
                data_path=os.fspath(data_path),
                data_hash=check_hash(data_hash),
                models=list(models),
                backends=None if backends is None else list(backends),
                judge=judge,
                params=json_object(params),
                status=status,
                now=to_seconds(now),
            )

    def get_eval_run(self, run_id: str) -> EvalRunRecord | None:
        with self._read("reading an evaluation run") as conn:
            return evals.get_eval_run(conn, run_id)

    def set_eval_run_status(
        self, run_id: str, status: EvalRunStatus, *, now: Instant
    ) -> EvalRunRecord:
        with self._write("updating an evaluation run") as conn:
            return evals.set_eval_run_status(conn, run_id, status=status, now=to_seconds(now))

    def record_eval_item(
        self,
        run_id: str,
        item_index: int,
        model: str,
        *,
        prompt_hash: str,
        now: Instant,
        response_text: str | None = None,
        latency_s: float | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        scores: Mapping[str, Any] | None = None,
        error: str | None = None,
        judge_verdict: Mapping[str, Any] | None = None,
    ) -> EvalItemRecord:
        """Record (or replace) one model's result on one item of a run."""
        row = {
            "run_id": run_id,
            "item_index": item_index,
            "model": model,
            "prompt_hash": prompt_hash,
            "response_text": response_text,
            "latency_s": latency_s,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "scores": json_object(scores),
            "error": error,
            "judge_verdict": json_object(judge_verdict),
            "updated_at": to_seconds(now),
        }
        with self._write("recording an evaluation item") as conn:
            return evals.record_eval_item(conn, row)

    def record_eval_items(self, items: Sequence[EvalItemWrite], *, now: Instant) -> int:
        """Record (or replace) many results in one transaction; how many rows were written.

        All or nothing: when it raises, none of ``items`` is recorded. Of items for the same
        (run, item, model), the last one wins.
        """
        stamp = to_seconds(now)
        rows = [
            {
                "run_id": item.run_id,
                "item_index": item.item_index,
                "model": item.model,
                "prompt_hash": item.prompt_hash,
                "response_text": item.response_text,
                "latency_s": item.latency_s,
                "prompt_tokens": item.prompt_tokens,
                "completion_tokens": item.completion_tokens,
                "scores": json_object(item.scores),
                "error": item.error,
                "judge_verdict": json_object(item.judge_verdict),
                "updated_at": stamp,
            }
            for item in items
        ]
        if not rows:
            return 0
        with self._write("recording evaluation items") as conn:
            return evals.record_eval_items(conn, rows)

    def eval_items(self, run_id: str, *, model: str | None = None) -> list[EvalItemRecord]:
        with self._read("reading evaluation items") as conn:
            return evals.eval_items(conn, run_id, model=model)

    def missing_items(
        self,
        run_id: str,
        indices: Collection[int],
        models: Collection[str],
        *,
        retry_errors: bool = True,
    ) -> list[tuple[int, str]]:
        """The (index, model) pairs still to do; errored items count unless ``retry_errors``
        is False."""
        with self._read("finding missing evaluation items") as conn:
            return evals.missing_items(
                conn, run_id, indices=indices, models=models, retry_errors=retry_errors
            )

    def list_eval_runs(
        self,
        *,
        model: str | None = None,
        data_hash: str | None = None,
        limit: int | None = None,
    ) -> list[EvalRunRecord]:
        with self._read("listing evaluation runs") as conn:
            return evals.list_eval_runs(
                conn, model=model, data_hash=_optional_hash(data_hash), limit=limit
            )


def _check_notifiers(names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str):
        raise TypeError("pass a sequence of notifier names, not one string")
    cleaned = tuple(name.strip() for name in names)
    if any(not name for name in cleaned):
        raise ValueError("notifier names must not be empty")
    if len(set(cleaned)) != len(cleaned):
        raise ValueError("notifier names must be unique")
    return cleaned


def _optional_hash(value: str | None) -> str | None:
    return None if value is None else check_hash(value)
