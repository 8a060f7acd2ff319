"""The fixtures of the jobs tests, each defined once: sandboxes, clients and ledgers.

Flow tests (orchestrator, submitter, poller, daemon, notifiers) get a sandbox on 127.0.0.1 with
a manual clock (``sandbox``, more with ``start_sandbox``), a client whose waits cost nothing
(``client``), plain HTTP to the sandbox with the same key (``http``), and a ledger on a SQLite
*file* (``ledger``, at ``ledger_path``, with the notifiers ``ledger_notifiers``); an in-memory
database belongs to one connection, and the tests use worker threads. The helpers behind them
are in ``flow_support``.

Ledger tests that must hold on every database use ``open_at``: a SQLite file and, in CI,
PostgreSQL. PostgreSQL runs when ``TUNER_TEST_POSTGRES_URL`` names a server (see
``scripts/ci-postgres.sh``); each test gets a fresh schema, dropped afterwards, so tests never
see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from tuner.api import TunerClient
from tuner.jobs.ledger import Ledger, open_ledger
from tuner.sandbox import SandboxHandle

from .flow_support import API_KEY, make_client, sandbox_starter, training_bytes

POSTGRES_ENV = "TUNER_TEST_POSTGRES_URL"
POSTGRES_SKIP = "TUNER_TEST_POSTGRES_URL not set: PostgreSQL ledger tests run in CI"
NOTIFIERS = ("log", "webhook")

OpenLedger = Callable[..., Ledger]
CreateJob = Callable[..., str]


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
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def sqlite_url(ledger_path: Path) -> str:
    return str(ledger_path)


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


# -- flow tests: a sandbox, a client, a ledger file ------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def start_sandbox(tmp_path: Path) -> Iterator[Callable[..., SandboxHandle]]:
    """Start sandboxes (manual clock at START, own data folders); all stopped afterwards."""
    yield from sandbox_starter(tmp_path)


@pytest.fixture
def sandbox(start_sandbox: Callable[..., SandboxHandle]) -> SandboxHandle:
    return start_sandbox()


@pytest.fixture
async def client(sandbox: SandboxHandle) -> AsyncIterator[TunerClient]:
    async with make_client(sandbox) as opened:
        yield opened


@pytest.fixture
def http(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    """Plain HTTP to the sandbox, with the client's key (the sandbox keeps jobs per key)."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=30) as opened:
        yield opened


@pytest.fixture
def create_job(http: httpx.Client) -> CreateJob:
    """Upload data once; create jobs with auto_start=false (give distinct suffixes, so none is
    a 409 duplicate); ``fields`` replace parts of the request body."""
    uploaded: list[str] = []

    def create(suffix: str = "support", **fields: Any) -> str:
        if not uploaded:
            response = http.post(
                "/v1/files",
                files={"file": ("train.jsonl", training_bytes())},
                data={"purpose": "fine-tune"},
            )
            assert response.status_code == 200, response.text
            uploaded.append(response.json()["id"])
        body: dict[str, Any] = {
            "model": "open-mistral-7b",
            "hyperparameters": {"training_steps": 10},
            "training_files": [{"file_id": uploaded[0], "weight": 1}],
            "auto_start": False,
            "suffix": suffix,
            **fields,
        }
        response = http.post("/v1/fine_tuning/jobs", json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    return create


@pytest.fixture
def ledger_notifiers() -> Sequence[str]:
    """The notifiers ``sqlite_ledger`` is opened with (a module may override this)."""
    return NOTIFIERS


@pytest.fixture
def sqlite_ledger(sqlite_url: str, ledger_notifiers: Sequence[str]) -> Iterator[Ledger]:
    """A new ledger on a SQLite file (at ``ledger_path``), with the notifiers ``log`` and
    ``webhook`` configured."""
    with open_ledger(sqlite_url, notifiers=ledger_notifiers) as opened:
        yield opened


@pytest.fixture
def ledger(sqlite_ledger: Ledger) -> Ledger:
    """The flow tests' ledger; the ledger tests take ``ledger_support``'s, on every database."""
    return sqlite_ledger
