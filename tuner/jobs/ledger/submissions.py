"""The submission queue: job specs waiting to be created on the platform.

An entry moves pending → submitting (claimed by one worker) → submitted (with the job id) or
failed. Claiming is atomic: on PostgreSQL the candidate row is taken with ``FOR UPDATE SKIP
LOCKED``, so concurrent claimers each get a different entry without waiting on each other; on
SQLite the write transaction itself is exclusive (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from ..records import QueueEntry, QueueState
from . import schema
from .common import insert_ignore
from .errors import InvalidStateError, NotFoundError

_Q = schema.submissions.c
MAX_ERROR_CHARS = 2000


def queue_entry(row: RowMapping) -> QueueEntry:
    return QueueEntry.model_validate(dict(row))


def enqueue(
    conn: Connection,
    specs: Sequence[dict[str, Any]],
    *,
    sweep_id: str | None,
    now: int,
    provider: str = "mistral",
) -> list[QueueEntry]:
    """Add specs in order. With a sweep id, member ``i`` is added once however often it is sent."""
    rows = [
        {
            "spec": spec,
            "sweep_id": sweep_id,
            "member_index": index if sweep_id is not None else None,
            "state": "pending",
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
            "provider": provider,
        }
        for index, spec in enumerate(specs)
    ]
    if not rows:
        return []
    if sweep_id is None:
        stmt = insert(schema.submissions).returning(*schema.submissions.c)
        return [queue_entry(conn.execute(stmt, row).mappings().one()) for row in rows]
    insert_ignore(conn, schema.submissions, rows, ["sweep_id", "member_index"])
    query = (
        select(schema.submissions)
        .where(_Q.sweep_id == sweep_id, _Q.member_index < len(rows))
        .order_by(_Q.member_index)
    )
    return [queue_entry(row) for row in conn.execute(query).mappings()]


def claim_next(conn: Connection, *, now: int, provider: str = "mistral") -> QueueEntry | None:
    """Take the oldest pending entry of ``provider``: pending → submitting, attempts + 1."""
    candidate = (
        select(_Q.id)
        .where(_Q.state == "pending", _Q.provider == provider)
        .order_by(_Q.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    entry_id = conn.execute(candidate).scalar()
    if entry_id is None:
        return None
    claimed = conn.execute(
        update(schema.submissions)
        .where(_Q.id == entry_id, _Q.state == "pending")
        .values(state="submitting", attempts=_Q.attempts + 1, updated_at=now, error=None)
        .returning(*schema.submissions.c)
    ).mappings()
    row = claimed.first()
    return None if row is None else queue_entry(row)


def mark_submitted(conn: Connection, entry_id: int, *, job_id: str, now: int) -> QueueEntry:
    values = {"state": "submitted", "job_id": job_id, "submitted_at": now, "updated_at": now}
    return _move(conn, entry_id, ("submitting",), values)


def mark_failed(
    conn: Connection, entry_id: int, *, error: str, now: int, retry: bool
) -> QueueEntry:
    """Record a failed submission; ``retry`` puts the entry back in line instead of failing it."""
    values = {
        "state": "pending" if retry else "failed",
        "error": error[:MAX_ERROR_CHARS],
        "updated_at": now,
    }
    return _move(conn, entry_id, ("submitting", "pending"), values)


def requeue(conn: Connection, entry_id: int, *, now: int) -> QueueEntry:
    """Put a failed (or abandoned submitting) entry back to pending, e.g. after a fix."""
    return _move(conn, entry_id, ("failed", "submitting"), {"state": "pending", "updated_at": now})


def _move(
    conn: Connection, entry_id: int, allowed: tuple[QueueState, ...], values: dict[str, Any]
) -> QueueEntry:
    result = conn.execute(
        update(schema.submissions)
        .where(_Q.id == entry_id, _Q.state.in_(allowed))
        .values(values)
        .returning(*schema.submissions.c)
    ).mappings()
    row = result.first()
    if row is not None:
        return queue_entry(row)
    state = conn.execute(select(_Q.state).where(_Q.id == entry_id)).scalar()
    if state is None:
        raise NotFoundError(f"no queue entry {entry_id} in the ledger")
    raise InvalidStateError(
        f"queue entry {entry_id} is {state}; expected {' or '.join(allowed)} for this change"
    )


def get_entry(conn: Connection, entry_id: int) -> QueueEntry | None:
    row = conn.execute(select(schema.submissions).where(_Q.id == entry_id)).mappings().first()
    return None if row is None else queue_entry(row)


def entries_in_state(
    conn: Connection,
    state: QueueState,
    *,
    sweep_id: str | None = None,
    provider: str | None = None,
) -> list[QueueEntry]:
    query = select(schema.submissions).where(_Q.state == state).order_by(_Q.id)
    if provider is not None:
        query = query.where(_Q.provider == provider)
    if sweep_id is not None:
        query = query.where(_Q.sweep_id == sweep_id)
    return [queue_entry(row) for row in conn.execute(query).mappings()]
