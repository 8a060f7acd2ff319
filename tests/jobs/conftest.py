"""Ledger fixtures: every ledger test runs on a SQLite file and, in CI, on PostgreSQL.

SQLite uses a temporary *file* (an in-memory database belongs to one connection, and the tests
use worker threads). PostgreSQL runs when ``TUNER_TEST_POSTGRES_URL`` names a server (see
``scripts/ci-postgres.sh``); each test gets a fresh schema, dropped afterwards, so tests never
see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from tuner.jobs.ledger import Ledger, open_ledger

POSTGRES_ENV = "TUNER_TEST_POSTGRES_URL"
POSTGRES_SKIP = "TUNER_TEST_POSTGRES_URL not set: PostgreSQL ledger tests run in CI"
NOTIFIERS = ("log", "webhook")

OpenLedger = Callable[..., Ledger]


def _libpq_url(url: str) -> str:
    """The server URL as psycopg (libpq) spells it: no SQLAlchemy driver suffix."""
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


def _with_search_path(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), ("options", f"-csearch_path={schema}")]
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    base = os.environ.get(POSTGRES_ENV, "").strip()
    if not base:
        if os.environ.get("CI"):
            # In CI .ci/run starts PostgreSQL; a missing URL there is a broken set-up, not a skip.
            pytest.fail(f"{POSTGRES_ENV} is not set in CI: .ci/run must start PostgreSQL")
        pytest.skip(POSTGRES_SKIP)
    # Imported here: psycopg is only needed (and maybe only installed) where PostgreSQL runs.
    import psycopg

    schema = f"ledger_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_libpq_url(base), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _with_search_path(base, schema)
    finally:
        with psycopg.connect(_libpq_url(base), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return str(tmp_path / "ledger.db")


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty ledger location on each supported database."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def open_at(ledger_url: str) -> Iterator[OpenLedger]:
    """Opens more ``Ledger`` objects on the same database (like other processes would)."""
    opened: list[Ledger] = []

    def factory(notifiers: Sequence[str] = NOTIFIERS) -> Ledger:
        ledger = open_ledger(ledger_url, notifiers=notifiers)
        opened.append(ledger)
        return ledger

    yield factory
    for ledger in opened:
        ledger.close()


@pytest.fixture
def ledger(open_at: OpenLedger) -> Ledger:
    """A new ledger with the notifiers ``log`` and ``webhook`` configured."""
    return open_at()
