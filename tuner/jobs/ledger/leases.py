"""Named leases: "one active daemon per ledger", on SQLite and on a shared PostgreSQL alike.

A lease is a row (name, owner, expires_at). Taking it is a single conditional statement —
insert if absent, else update only if we own it or it has expired — so two processes can never
both believe they hold it: PostgreSQL re-checks the condition after waiting on the row lock,
and SQLite runs writers one at a time.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, or_, select, update

from ..records import LeaseRecord
from . import schema
from .common import insert_ignore, upsert

_L = schema.leases.c


def acquire_lease(conn: Connection, *, name: str, owner: str, ttl_s: int, now: int) -> bool:
    """Take or renew the lease until ``now + ttl_s``; False when someone else holds it."""
    if ttl_s <= 0:
        raise ValueError("a lease needs a positive time to live")
    expires_at = now + ttl_s
    row = {"name": name, "owner": owner, "expires_at": expires_at}
    if insert_ignore(conn, schema.leases, [row], ["name"]):
        return True
    result = conn.execute(
        update(schema.leases)
        .where(_L.name == name, or_(_L.owner == owner, _L.expires_at <= now))
        .values(owner=owner, expires_at=expires_at)
    )
    return result.rowcount == 1


def release_lease(conn: Connection, *, name: str, owner: str) -> bool:
    """Give the lease up; False when ``owner`` did not hold it (nothing is changed then)."""
    result = conn.execute(delete(schema.leases).where(_L.name == name, _L.owner == owner))
    return result.rowcount == 1


def lease_holder(conn: Connection, *, name: str, now: int) -> LeaseRecord | None:
    """Who holds the lease now; None when it is free or has expired."""
    query = select(schema.leases).where(_L.name == name, _L.expires_at > now)
    row = conn.execute(query).mappings().first()
    return None if row is None else LeaseRecord.model_validate(dict(row))


def record_heartbeat(conn: Connection, *, name: str, at: int) -> None:
    """Note that ``name`` completed a cycle at ``at`` (the row is created on first use)."""
    upsert(conn, schema.heartbeats, {"name": name, "at": at}, ["name"], ["at"])


def heartbeat(conn: Connection, *, name: str) -> int | None:
    """When ``name`` last completed a cycle; None when it never did."""
    at = conn.execute(select(schema.heartbeats.c.at).where(schema.heartbeats.c.name == name))
    value = at.scalar()
    return None if value is None else int(value)
