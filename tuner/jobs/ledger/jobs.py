"""Jobs: applying snapshots (row, transitions, checkpoints, events, file links) and reading back.

Applying a snapshot locks the job's row first (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite
the whole write transaction is already exclusive), so two writers of the same job — the daemon
and a dashboard's live refresh — are serialised and each change is recorded once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select, update

from ..records import (
    TERMINAL_STATUSES,
    CheckpointRecord,
    EventRecord,
    FileRole,
    JobFileLink,
    JobRecord,
    TransitionRecord,
    is_terminal,
)
from . import schema
from .common import insert_ignore, json_digest, upsert
from .errors import LedgerError
from .redact import json_object, json_value
from .snapshot import JobSnapshot, SnapshotCheckpoint, SnapshotEvent, SnapshotFile

_J = schema.jobs.c

# Snapshot fields copied to same-named job columns, only when the snapshot carries them: a
# summary from a list call must not erase what a detailed call recorded.
_COPIED_FIELDS = (
    "model",
    "job_type",
    "suffix",
    "auto_start",
    "fine_tuned_model",
    "trained_tokens",
    "created_at",
    "modified_at",
)


@dataclass(frozen=True, slots=True)
class JobExtras:
    """What only the submitter knows; ``None`` fields leave the stored value as it is."""

    spec: dict[str, Any] | None = None
    key_last4: str | None = None
    sweep_id: str | None = None
    sandbox: bool | None = None
    """Whether the server that sent the snapshot is a sandbox (None: not known)."""

    def values(self) -> dict[str, Any]:
        found = {
            "spec": self.spec,
            "key_last4": self.key_last4,
            "sweep_id": self.sweep_id,
            "sandbox": self.sandbox,
        }
        return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True, slots=True)
class AppliedJob:
    job_id: str
    created: bool
    stale: bool
    transitions: list[TransitionRecord]
    checkpoints: list[CheckpointRecord]
    events: list[EventRecord]


def apply_job_snapshot(
    conn: Connection,
    snap: JobSnapshot,
    stored: dict[str, Any],
    *,
    backend: str,
    now: int,
    extras: JobExtras,
    spec_files: Sequence[SnapshotFile] = (),
) -> AppliedJob:
    """Record one snapshot; returns only what is new (see ``SnapshotChanges``)."""
    existing = _lock_job(conn, snap.id)
    created = False
    if existing is None:
        created = _insert_job(conn, snap, stored, backend=backend, now=now, extras=extras)
        existing = _lock_job(conn, snap.id)
        if existing is None:
            raise LedgerError(f"job {snap.id} vanished while being recorded")
    transitions: list[TransitionRecord] = []
    stale = False
    if created:
        transitions += _record_transition(conn, snap, from_status=None, now=now)
    else:
        stale = is_stale(existing["status"], existing["modified_at"], snap)
        if not stale:
            _update_job(conn, snap, _kept_details(stored, existing["last_snapshot"]), now=now)
            if existing["status"] != snap.status:
                transitions += _record_transition(
                    conn, snap, from_status=existing["status"], now=now
                )
        _update_extras(conn, snap.id, extras)
    _link_files(conn, snap, spec_files)
    return AppliedJob(
        job_id=snap.id,
        created=created,
        stale=stale,
        transitions=transitions,
        checkpoints=_record_checkpoints(conn, snap.id, snap.checkpoints),
        events=_record_events(conn, snap.id, snap.events),
    )


def is_stale(stored_status: str, stored_modified_at: int | None, snap: JobSnapshot) -> bool:
    """Whether ``snap`` is older than what is stored, so it must not overwrite the job.

    Two rules: a terminal status is final (the platform never leaves it), and a snapshot whose
    ``modified_at`` is before the stored one was fetched before the stored one.
    """
    if is_terminal(stored_status) and not is_terminal(snap.status):
        return True
    return (
        snap.modified_at is not None
        and stored_modified_at is not None
        and snap.modified_at < stored_modified_at
    )


def _lock_job(conn: Connection, job_id: str) -> RowMapping | None:
    query = (
        select(_J.status, _J.modified_at, _J.last_snapshot).where(_J.id == job_id).with_for_update()
    )
    return conn.execute(query).mappings().first()


def _insert_job(
    conn: Connection,
    snap: JobSnapshot,
    stored: dict[str, Any],
    *,
    backend: str,
    now: int,
    extras: JobExtras,
) -> bool:
    row: dict[str, Any] = {
        "id": snap.id,
        "backend": backend,
        "status": snap.status,
        "hyperparameters": json_object(snap.hyperparameters),
        "metadata": json_object(snap.metadata),
        "first_seen_at": now,
        "updated_at": now,
        "last_snapshot": stored,
        "provider": snap.provider or schema.DEFAULT_PROVIDER,
        **{name: getattr(snap, name) for name in _COPIED_FIELDS},
        **extras.values(),
    }
    # Another process may insert the same job between our look-up and this insert.
    return insert_ignore(conn, schema.jobs, [row], ["id"]) == 1


# Fields only the detailed job object carries (GET, start, cancel; not the list): a list
# snapshot, where they are absent or empty, keeps the values the last detailed one gave.
DETAIL_ONLY_FIELDS = ("classifier_targets",)


def _kept_details(stored: dict[str, Any], previous: Any) -> dict[str, Any]:
    if not isinstance(previous, Mapping):
        return stored
    kept = dict(stored)
    for name in DETAIL_ONLY_FIELDS:
        if not kept.get(name) and previous.get(name):
            kept[name] = previous[name]
    return kept


def _update_job(conn: Connection, snap: JobSnapshot, stored: dict[str, Any], *, now: int) -> None:
    given = snap.model_fields_set
    values: dict[str, Any] = {
        "status": snap.status,
        "updated_at": now,
        "last_snapshot": stored,
    }
    values.update({name: getattr(snap, name) for name in _COPIED_FIELDS if name in given})
    if "hyperparameters" in given:
        values["hyperparameters"] = json_object(snap.hyperparameters)
    if "metadata" in given:
        values["metadata"] = json_object(snap.metadata)
    conn.execute(update(schema.jobs).where(_J.id == snap.id).values(values))


def _update_extras(conn: Connection, job_id: str, extras: JobExtras) -> None:
    values = extras.values()
    if values:
        conn.execute(update(schema.jobs).where(_J.id == job_id).values(values))


def _record_transition(
    conn: Connection, snap: JobSnapshot, *, from_status: str | None, now: int
) -> list[TransitionRecord]:
    table = schema.transitions
    count = conn.execute(
        select(func.count()).select_from(table).where(table.c.job_id == snap.id)
    ).scalar_one()
    seq = int(count) + 1
    record = TransitionRecord(
        id=f"{snap.id}:{seq}:{snap.status}",
        job_id=snap.id,
        seq=seq,
        from_status=from_status,
        to_status=snap.status,
        at=now,
        server_modified_at=snap.modified_at,
    )
    inserted = insert_ignore(conn, table, [record.model_dump()], ["id"])
    return [record] if inserted else []


def _link_files(conn: Connection, snap: JobSnapshot, spec_files: Sequence[SnapshotFile]) -> None:
    weights: dict[tuple[str, FileRole], float | None] = {}
    roles: tuple[tuple[FileRole, list[SnapshotFile]], ...] = (
        ("training", snap.training_files),
        ("validation", snap.validation_files),
    )
    for role, refs in roles:
        for ref in refs:
            weights[(ref.file_id, role)] = ref.weight
    for ref in spec_files:
        if ref.weight is not None or (ref.file_id, "training") not in weights:
            weights[(ref.file_id, "training")] = ref.weight
    for (file_id, role), weight in weights.items():
        row = {"job_id": snap.id, "file_id": file_id, "role": role, "weight": weight}
        # A known weight (from the spec) wins; a snapshot without one keeps what is there.
        update_columns = ["weight"] if weight is not None else []
        upsert(conn, schema.job_files, row, ["job_id", "file_id", "role"], update_columns)


def _record_checkpoints(
    conn: Connection, job_id: str, found: Sequence[SnapshotCheckpoint]
) -> list[CheckpointRecord]:
    table = schema.checkpoints
    known = set(conn.execute(select(table.c.step).where(table.c.job_id == job_id)).scalars())
    new: list[CheckpointRecord] = []
    for checkpoint in found:
        # A checkpoint is identified by its step; one without a step cannot be de-duplicated.
        step = checkpoint.step_number
        if step is None or step in known:
            continue
        known.add(step)
        record = CheckpointRecord(
            job_id=job_id,
            step=step,
            metrics=json_object(checkpoint.metrics) or {},
            created_at=checkpoint.created_at,
        )
        if insert_ignore(conn, table, [record.model_dump()], ["job_id", "step"]):
            new.append(record)
    return sorted(new, key=lambda r: r.step)


def event_key(event: SnapshotEvent) -> str:
    return json_digest([event.created_at, event.name, json_value(event.data)])


def _record_events(
    conn: Connection, job_id: str, found: Sequence[SnapshotEvent]
) -> list[EventRecord]:
    table = schema.events
    known = set(conn.execute(select(table.c.event_key).where(table.c.job_id == job_id)).scalars())
    new: list[EventRecord] = []
    for event in found:
        key = event_key(event)
        if key in known:
            continue
        known.add(key)
        record = EventRecord(
            job_id=job_id, name=event.name, data=json_value(event.data), created_at=event.created_at
        )
        row = {**record.model_dump(), "event_key": key}
        if insert_ignore(conn, table, [row], ["job_id", "event_key"]):
            new.append(record)
    return new


# -- reading --------------------------------------------------------------------------------


def job_record(row: RowMapping) -> JobRecord:
    return JobRecord(
        id=row["id"],
        backend=row["backend"],
        model=row["model"],
        job_type=row["job_type"],
        suffix=row["suffix"],
        status=row["status"],
        auto_start=row["auto_start"],
        spec=row["spec"],
        hyperparameters=row["hyperparameters"],
        metadata=row["metadata"],
        fine_tuned_model=row["fine_tuned_model"],
        trained_tokens=row["trained_tokens"],
        created_at=row["created_at"],
        modified_at=row["modified_at"],
        first_seen_at=row["first_seen_at"],
        updated_at=row["updated_at"],
        last_snapshot=row["last_snapshot"],
        key_last4=row["key_last4"],
        sweep_id=row["sweep_id"],
        sandbox=row["sandbox"],
        provider=row["provider"],
    )


def newest_first() -> tuple[Any, ...]:
    return (func.coalesce(_J.created_at, _J.first_seen_at).desc(), _J.id.desc())


def get_job(conn: Connection, job_id: str) -> JobRecord | None:
    row = conn.execute(select(schema.jobs).where(_J.id == job_id)).mappings().first()
    return None if row is None else job_record(row)


def list_jobs(
    conn: Connection,
    *,
    status: str | Collection[str] | None = None,
    active_only: bool = False,
    limit: int | None = None,
    backend: str | None = None,
    sweep_id: str | None = None,
    provider: str | None = None,
) -> list[JobRecord]:
    query = select(schema.jobs).order_by(*newest_first())
    if provider is not None:
        query = query.where(_J.provider == provider)
    if status is not None:
        wanted = [status] if isinstance(status, str) else list(status)
        query = query.where(_J.status.in_([s.upper() for s in wanted]))
    if active_only:
        query = query.where(_J.status.not_in(sorted(TERMINAL_STATUSES)))
    if backend is not None:
        query = query.where(_J.backend == backend)
    if sweep_id is not None:
        query = query.where(_J.sweep_id == sweep_id)
    if limit is not None:
        query = query.limit(limit)
    return [job_record(row) for row in conn.execute(query).mappings()]


def active_job_count(conn: Connection, *, backend: str | None = None) -> int:
    query = select(func.count()).select_from(schema.jobs)
    query = query.where(_J.status.not_in(sorted(TERMINAL_STATUSES)))
    if backend is not None:
        query = query.where(_J.backend == backend)
    return int(conn.execute(query).scalar_one())


def transitions(conn: Connection, job_id: str) -> list[TransitionRecord]:
    table = schema.transitions
    query = select(table).where(table.c.job_id == job_id).order_by(table.c.seq)
    return [TransitionRecord.model_validate(dict(row)) for row in conn.execute(query).mappings()]


def checkpoints(conn: Connection, job_id: str) -> list[CheckpointRecord]:
    table = schema.checkpoints
    query = select(table).where(table.c.job_id == job_id).order_by(table.c.step)
    return [CheckpointRecord.model_validate(dict(row)) for row in conn.execute(query).mappings()]


def checkpoints_of(conn: Connection, job_ids: Sequence[str]) -> dict[str, list[CheckpointRecord]]:
    """The checkpoints of several jobs in one query per 500 ids, each job's in step order."""
    table = schema.checkpoints
    found: dict[str, list[CheckpointRecord]] = {job_id: [] for job_id in job_ids}
    ids = list(found)
    for start in range(0, len(ids), 500):  # under every database's bound-parameter limit
        query = (
            select(table)
            .where(table.c.job_id.in_(ids[start : start + 500]))
            .order_by(table.c.job_id, table.c.step)
        )
        for row in conn.execute(query).mappings():
            found[row["job_id"]].append(CheckpointRecord.model_validate(dict(row)))
    return found


def events(conn: Connection, job_id: str) -> list[EventRecord]:
    table = schema.events
    query = (
        select(table.c.job_id, table.c.name, table.c.data, table.c.created_at)
        .where(table.c.job_id == job_id)
        # Events without a time sort first, as they do on the platform; ties keep arrival order.
        .order_by(func.coalesce(table.c.created_at, -1), table.c.id)
    )
    return [EventRecord.model_validate(dict(row)) for row in conn.execute(query).mappings()]


def job_files(conn: Connection, job_id: str) -> list[JobFileLink]:
    table = schema.job_files
    query = (
        select(table)
        .where(table.c.job_id == job_id)
        .order_by(table.c.role.desc(), table.c.file_id)  # training before validation
    )
    return [JobFileLink.model_validate(dict(row)) for row in conn.execute(query).mappings()]
