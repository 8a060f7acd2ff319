"""Small helpers shared by the ledger's operations: time, hashes, dialect-aware upserts."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table

Instant = int | datetime
"""A point in time: UNIX seconds, or a timezone-aware datetime. Always passed in by the caller."""

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def to_seconds(now: Instant) -> int:
    """UNIX seconds of ``now``; a naive datetime is refused because its zone is a guess."""
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("pass a timezone-aware datetime (or UNIX seconds) to the ledger")
        return int(now.timestamp())
    if isinstance(now, bool) or not isinstance(now, int):
        raise TypeError("a ledger time is UNIX seconds (int) or an aware datetime")
    return now


def optional_seconds(value: Instant | None) -> int | None:
    return None if value is None else to_seconds(value)


def content_hash(value: str) -> str:
    """A SHA-256 hex digest in the one spelling the ledger stores (lowercase)."""
    text = value.strip().lower()
    if not _SHA256.match(text):
        raise ValueError("a content hash is the 64-character hex SHA-256 of the file's bytes")
    return text


def json_digest(value: Any) -> str:
    """A stable digest of a JSON value (keys sorted), for de-duplicating events."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise_backend(url: str) -> str:
    """The backend URL as stored: no surrounding spaces, no trailing slash."""
    text = url.strip().rstrip("/")
    if not text:
        raise ValueError("the backend URL must not be empty")
    return text


def insert_ignore(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> int:
    """Insert rows, skipping those that clash on ``keys``; returns how many were inserted."""
    if not rows:
        return 0
    # RETURNING tells exactly whether the row went in; DBAPI rowcounts of INSERT are not
    # reliable across drivers (SQLAlchemy does not even keep psycopg's by default).
    stmt = (
        _dialect_insert(conn, table)
        .on_conflict_do_nothing(index_elements=list(keys))
        .returning(*table.primary_key.columns)
    )
    inserted = 0
    for row in rows:
        if conn.execute(stmt, dict(row)).first() is not None:
            inserted += 1
    return inserted


def upsert(
    conn: Connection,
    table: Table,
    row: Mapping[str, Any],
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``row``, or update the ``update`` columns of the row that clashes on ``keys``."""
    base = _dialect_insert(conn, table)
    if not update:
        conn.execute(base.on_conflict_do_nothing(index_elements=list(keys)), dict(row))
        return
    stmt = base.on_conflict_do_update(
        index_elements=list(keys), set_={name: base.excluded[name] for name in update}
    )
    conn.execute(stmt, dict(row))


def upsert_many(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """``upsert`` of many rows with the same columns, as one executemany.

    Rows must not clash with each other on ``keys`` (PostgreSQL refuses to update a row twice
    in one statement); callers keep the last of such rows.
    """
    if not rows:
        return
    base = _dialect_insert(conn, table)
    stmt = base.on_conflict_do_update(
        index_elements=list(keys), set_={name: base.excluded[name] for name in update}
    )
    conn.execute(stmt, [dict(row) for row in rows])


def _dialect_insert(conn: Connection, table: Table) -> Any:
    # Both dialects spell ON CONFLICT the same way; the ledger supports no other database.
    # Imported here: loading SQLAlchemy's PostgreSQL dialect costs a SQLite user ~0.1 s at start.
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)
