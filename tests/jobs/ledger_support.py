"""What the ledger tests share: the ledger on every database, ids and job snapshots, and a
ledger as an older tuner left it (for the migration tests).

The ``ledger`` fixture here replaces the flow tests' (SQLite only, in ``conftest.py``) in the
modules that import it: ``from .ledger_support import every_database_ledger``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from tuner.jobs.ledger import Ledger
from tuner.jobs.ledger.engine import create_ledger_engine, resolve_url
from tuner.jobs.ledger.migrations import MIGRATIONS, migrate

from .conftest import OpenLedger

BACKEND = "https://api.mistral.ai"


@pytest.fixture(name="ledger")
def every_database_ledger(open_at: OpenLedger) -> Ledger:
    """A new ledger with the notifiers ``log`` and ``webhook`` configured, on a SQLite file and
    (in CI) PostgreSQL: every test that uses it runs on both."""
    return open_at()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_id() -> str:
    return str(uuid.uuid4())


def job_snapshot(
    job_id: str,
    status: str,
    modified_at: int,
    *,
    model: str = "open-mistral-7b",
    created_at: int = 1_000,
    **fields: Any,
) -> dict[str, Any]:
    """A job object as GET /v1/fine_tuning/jobs/{id} returns it."""
    return {
        "id": job_id,
        "object": "job",
        "model": model,
        "status": status,
        "job_type": "completion",
        "auto_start": True,
        "created_at": created_at,
        "modified_at": modified_at,
        "training_files": fields.pop("training_files", []),
        "validation_files": fields.pop("validation_files", []),
        "hyperparameters": fields.pop("hyperparameters", {"training_steps": 10}),
        **fields,
    }


@contextmanager
def older_ledger(
    ledger_url: str, version: int, *, without: Sequence[tuple[sa.Table, str]] = ()
) -> Iterator[sa.Connection]:
    """A ledger as a tuner with schema ``version`` left it, to fill through the connection
    yielded (one transaction): today's tables made by the first ``version`` migrations, less
    the columns ``without`` (those a later version adds)."""
    engine = create_ledger_engine(resolve_url(ledger_url))
    try:
        assert migrate(engine, MIGRATIONS[:version]) == 0
        with engine.begin() as conn:
            for table, column in without:
                conn.execute(sa.text(f'ALTER TABLE {table.name} DROP COLUMN "{column}"'))
            yield conn
    finally:
        engine.dispose()


def running_job_row(job_id: str) -> dict[str, Any]:
    """A running Mistral job's row, for ``sa.insert(schema.jobs)`` into a ledger whose tables
    have today's columns."""
    return {
        "id": job_id,
        "backend": BACKEND,
        "model": "open-mistral-7b",
        "status": "RUNNING",
        "modified_at": 1,
        "first_seen_at": 1,
        "updated_at": 1,
        "last_snapshot": job_snapshot(job_id, "RUNNING", 1),
    }


def insert_running_job(conn: sa.Connection, job_id: str) -> None:
    """A running Mistral job row, inserted in plain SQL naming only the columns every schema
    version has (for tables with a later version's columns dropped)."""
    conn.execute(
        sa.text(
            "INSERT INTO jobs (id, backend, model, status, first_seen_at, updated_at, "
            "last_snapshot) VALUES (:id, :backend, 'open-mistral-7b', 'RUNNING', 1, 1, '{}')"
        ),
        {"id": job_id, "backend": BACKEND},
    )
