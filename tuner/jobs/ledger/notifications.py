"""The notification outbox: one row per (transition, notifier), created with the transition.

Because the row is written in the same transaction as the transition it announces, a crash can
delay a notification but never lose one; the notifier side marks each row sent or failed.

Which notifiers get a row: those the writing ``Ledger`` was opened with, plus the active ones of
the registry (the ``notifiers`` table) that a daemon fills when it runs with them. So a transition
first recorded by a writer without notifiers of its own (the CLI, the TUI, a daemon run without
``--command``) is announced all the same: a registered notifier stays active until it is removed
explicitly (``tuner daemon notifiers remove``), and its rows wait until a daemon that has it
delivers them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, func, or_, select, update

from ..records import JobRecord, NotificationRecord, NotifierRecord, TransitionRecord
from . import schema
from .common import insert_ignore, upsert
from .errors import NotFoundError

_N = schema.notifications.c
_R = schema.notifiers.c
MAX_ERROR_CHARS = 2000


def notification_payload(transition: TransitionRecord, job: JobRecord) -> dict[str, Any]:
    """What a notifier needs to say what happened, without another ledger read."""
    return {
        "transition_id": transition.id,
        "job_id": job.id,
        "backend": job.backend,
        "from_status": transition.from_status,
        "to_status": transition.to_status,
        "at": transition.at,
        "model": job.model,
        "suffix": job.suffix,
        "fine_tuned_model": job.fine_tuned_model,
        "sweep_id": job.sweep_id,
        # Since schema version 5: whose job it is, and the provider's own word for the
        # status (OpenAI's "succeeded" beside the ledger's SUCCESS).
        "provider": job.provider,
        "provider_status": job.provider_status,
        # Whether a sandbox ran the job (None: not known), so a receiver can tell a simulated
        # run from a real one; the text says SIMULATED too.
        "sandbox": job.sandbox,
    }


def register_notifiers(
    conn: Connection, names: Sequence[str], *, now: int, sources: Mapping[str, str] | None = None
) -> None:
    """Make ``names`` active notifiers (registered at ``now``, with where their targets come
    from). Others stay as they are: a notifier is only ever removed by ``remove_notifier``."""
    given = sources or {}
    for name in names:
        row = {"name": name, "registered_at": now, "active": True, "source": given.get(name)}
        upsert(conn, schema.notifiers, row, ["name"], ["registered_at", "active", "source"])


def remove_notifier(conn: Connection, name: str, *, now: int) -> int:
    """Make ``name`` inactive (no new outbox rows) and give up its pending notifications
    (marked failed, with the reason). Returns how many pending ones were given up."""
    found = conn.execute(
        update(schema.notifiers)
        .where(_R.name == name, _R.active.is_(True))
        .values(active=False)
        .returning(_R.name)
    ).first()
    if found is None:
        raise NotFoundError(f"no active notifier {name!r} is registered")
    given_up = conn.execute(
        update(schema.notifications)
        .where(_N.notifier == name, _N.status == "pending")
        .values(status="failed", last_error="the notifier was removed", last_attempt_at=now)
    )
    return int(given_up.rowcount or 0)


def notifier_registry(conn: Connection) -> list[NotifierRecord]:
    """Every registered notifier (active or removed) with its pending notifications."""
    pending: dict[str, int] = dict(
        conn.execute(
            select(_N.notifier, func.count()).where(_N.status == "pending").group_by(_N.notifier)
        ).all()
    )
    rows = conn.execute(select(schema.notifiers).order_by(_R.name)).mappings()
    return [
        NotifierRecord.model_validate({**dict(row), "pending": int(pending.get(row["name"], 0))})
        for row in rows
    ]


def active_notifiers(conn: Connection) -> tuple[str, ...]:
    """The registered notifiers that get outbox rows, by name."""
    query = select(_R.name).where(_R.active.is_(True)).order_by(_R.name)
    return tuple(conn.execute(query).scalars())


def outbox_notifiers(conn: Connection, configured: Sequence[str]) -> tuple[str, ...]:
    """``configured`` (the writer's own notifiers) and then the active registered ones."""
    names = dict.fromkeys(configured)
    names.update(dict.fromkeys(active_notifiers(conn)))
    return tuple(names)


def create_notifications(
    conn: Connection,
    transitions: Sequence[TransitionRecord],
    job: JobRecord,
    notifiers: Sequence[str],
    *,
    now: int,
) -> list[NotificationRecord]:
    created: list[NotificationRecord] = []
    for transition in transitions:
        payload = notification_payload(transition, job)
        for notifier in notifiers:
            row = {
                "transition_id": transition.id,
                "notifier": notifier,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": None,
                "created_at": now,
            }
            if insert_ignore(conn, schema.notifications, [row], ["transition_id", "notifier"]):
                created.append(_lookup(conn, transition.id, notifier))
    return created


def _lookup(conn: Connection, transition_id: str, notifier: str) -> NotificationRecord:
    query = select(schema.notifications).where(
        _N.transition_id == transition_id, _N.notifier == notifier
    )
    return notification_record(conn.execute(query).mappings().one())


def notification_record(row: RowMapping) -> NotificationRecord:
    return NotificationRecord.model_validate(dict(row))


def pending_notifications(
    conn: Connection, *, now: int, limit: int, notifier: str | None = None
) -> list[NotificationRecord]:
    """Pending rows that are due, oldest first (so a job's notifications go out in order)."""
    query = (
        select(schema.notifications)
        .where(_N.status == "pending")
        .where(or_(_N.next_attempt_at.is_(None), _N.next_attempt_at <= now))
        .order_by(_N.created_at, _N.id)
        .limit(limit)
    )
    if notifier is not None:
        query = query.where(_N.notifier == notifier)
    return [notification_record(row) for row in conn.execute(query).mappings()]


def mark_sent(conn: Connection, notification_id: int, *, now: int) -> None:
    values = {
        "status": "sent",
        "sent_at": now,
        "last_attempt_at": now,
        "attempts": _N.attempts + 1,
        "last_error": None,
    }
    _update(conn, notification_id, values)


def mark_failed(
    conn: Connection,
    notification_id: int,
    *,
    error: str,
    now: int,
    next_attempt_at: int | None,
) -> None:
    """Count a failed attempt: retried at ``next_attempt_at``, or given up when that is None."""
    values: dict[str, Any] = {
        "attempts": _N.attempts + 1,
        "last_attempt_at": now,
        "last_error": error[:MAX_ERROR_CHARS],
        "status": "pending" if next_attempt_at is not None else "failed",
        "next_attempt_at": next_attempt_at,
    }
    _update(conn, notification_id, values)


def _update(conn: Connection, notification_id: int, values: dict[str, Any]) -> None:
    result = conn.execute(
        update(schema.notifications).where(_N.id == notification_id).values(values)
    )
    if result.rowcount == 0:
        raise NotFoundError(f"no notification {notification_id} in the ledger")


def notifications_for_job(conn: Connection, job_id: str) -> list[NotificationRecord]:
    transitions = schema.transitions.c
    query = (
        select(schema.notifications)
        .join(schema.transitions, transitions.id == _N.transition_id)
        .where(transitions.job_id == job_id)
        .order_by(transitions.seq, _N.notifier)
    )
    return [notification_record(row) for row in conn.execute(query).mappings()]
