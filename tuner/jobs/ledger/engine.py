"""Where the ledger lives and how we connect to it.

SQLite (the default, one file) and PostgreSQL (shared by one daemon and many dashboards) are
supported. Every operation is one short transaction on a pooled connection, so worker threads
can share a ``Ledger``.

SQLite specifics, each for a reason:
- WAL journal: readers (dashboards) never block the writer (the daemon) and vice versa.
- busy timeout: a writer waits for another writer instead of failing at once.
- foreign keys on: SQLite leaves them off unless asked, per connection.
- we emit BEGIN ourselves (the stdlib driver's legacy mode would not begin on SELECT or DDL),
  and write transactions use BEGIN IMMEDIATE: they take the write lock up front, so two writers
  that both read first cannot deadlock on the upgrade from read to write (which SQLite reports
  as "database is locked" at once, ignoring the busy timeout).
- before an engine's first write transaction, ``PRAGMA quick_check``: a damaged file is refused
  (``LedgerCorruptError``, with how to recover) and never written to. It runs once per process
  and only when something is about to write, not on open: its cost grows with the file (about
  30 ms per MB), and the dashboard's first frame only reads. Reads of damaged pages fail with
  the same advice; a command that only reads can ask for the check first (``Ledger.verify``),
  since a damaged page can also read as no rows at all.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .errors import LedgerCorruptError, LedgerError, UnsupportedDatabaseError

LEDGER_ENV = "TUNER_DB"
SQLITE_BUSY_TIMEOUT_S = 30.0
_WRITE_OPTION = "tuner_write"
_CHECK_OPTION = "tuner_check"
_WAL_RETRY_S = 0.05


def default_ledger_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/tuner/ledger.db``, by default ``~/.local/share/tuner/ledger.db``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME", "")
    # The XDG spec says relative values are invalid and must be ignored.
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "tuner" / "ledger.db"


def default_ledger_url(environ: Mapping[str, str] | None = None) -> str:
    """``TUNER_DB`` when set, else the SQLite file at ``default_ledger_path()``."""
    env = os.environ if environ is None else environ
    configured = env.get(LEDGER_ENV, "").strip()
    if configured:
        return configured
    return sqlite_url(default_ledger_path(env))


def sqlite_url(path: str | os.PathLike[str]) -> str:
    return URL.create("sqlite+pysqlite", database=os.fspath(path)).render_as_string()


def resolve_url(url: str) -> URL:
    """The SQLAlchemy URL: a plain path means SQLite, ``postgresql://`` means psycopg 3."""
    text = url.strip()
    if "://" not in text:
        return make_url(sqlite_url(Path(text).expanduser()))
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise UnsupportedDatabaseError("the ledger URL is not a valid database URL") from None
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"}:
        # psycopg 3 is the driver we ship; SQLAlchemy's default for postgresql:// is psycopg2.
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return _check_sqlite(parsed)
    raise UnsupportedDatabaseError(
        f"the ledger supports SQLite and PostgreSQL, not {backend!r}: "
        "use a file path, sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
    )


def _check_sqlite(url: URL) -> URL:
    database = url.database or ""
    if database in {"", ":memory:"} or database.startswith("file::memory:"):
        raise UnsupportedDatabaseError(
            "an in-memory SQLite ledger belongs to one connection, so worker threads and other "
            "processes cannot see it; use a file path"
        )
    return url.set(drivername="sqlite+pysqlite", database=str(Path(database).expanduser()))


def masked(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def create_ledger_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return _postgres_engine(url)


def _postgres_engine(url: URL) -> Engine:
    # pre_ping: the daemon holds connections for days; a restarted server must not break it.
    # hide_parameters: values never appear in error messages or logs.
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _sqlite_engine(url: URL) -> Engine:
    path = Path(url.database or "")
    _prepare_sqlite_file(path)
    engine = create_engine(
        url,
        hide_parameters=True,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
    )
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _SqliteBegin(path))
    return engine


def _prepare_sqlite_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # The ledger names jobs, files and models: readable by its owner only.
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the driver; _on_sqlite_begin emits it (see the module docstring).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        _ensure_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        # NORMAL is durable across application crashes in WAL mode, and much faster than FULL.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _ensure_wal(cursor: Any) -> None:
    """Switch the file to WAL (a persistent setting, so once per file).

    The switch needs an exclusive lock and SQLite does not wait for it (no busy handler), so
    when several connections open a new ledger at once, the losers retry briefly.
    """
    attempts = int(SQLITE_BUSY_TIMEOUT_S / _WAL_RETRY_S)
    for attempt in range(attempts):
        try:
            (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(_WAL_RETRY_S)


class _SqliteBegin:
    """Emits BEGIN (IMMEDIATE for writes); checks the file once before the first write."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._sound = False
        self._lock = threading.Lock()

    def __call__(self, conn: Connection) -> None:
        options = conn.get_execution_options()
        write = bool(options.get(_WRITE_OPTION, False))
        if (write or options.get(_CHECK_OPTION, False)) and not self._sound:
            self._check(conn)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    def _check(self, conn: Connection) -> None:
        with self._lock:
            if self._sound:
                return
            try:
                rows = conn.exec_driver_sql("PRAGMA quick_check").fetchall()
            except SQLAlchemyError as exc:
                raise LedgerCorruptError(corruption_message(self._path, _reason(exc))) from exc
            problems = [str(row[0]) for row in rows if str(row[0]).lower() != "ok"]
            if problems:
                raise LedgerCorruptError(corruption_message(self._path, _first(problems)))
            self._sound = True


def _first(problems: list[str]) -> str:
    """quick_check's first finding on one line (its report can run to many lines)."""
    lines = [line.strip() for text in problems for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("***")] or lines
    more = f" and {len(lines) - 1} more finding(s)" if len(lines) > 1 else ""
    return lines[0][:200] + more


def corruption_message(path: Path | str, problem: str) -> str:
    """What to tell the user about a damaged SQLite ledger: the problem and how to recover."""
    recovered = f"{path}.recovered"
    return (
        f"the ledger {path} is damaged ({problem}); nothing was written to it. Keep a copy "
        f"(cp {path} {path}.bak), then recover what it holds with: sqlite3 {path} .recover "
        f"| sqlite3 {recovered}, check it, and point TUNER_DB at {recovered} (or move it into "
        "place)"
    )


@contextmanager
def transaction(
    engine: Engine, *, write: bool, what: str, check: bool = False
) -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back if it raises.

    ``check``: run the SQLite file's check (as before a first write) before this read too.
    Database errors become ``LedgerError`` naming the operation; the driver's error is chained.
    """
    try:
        with engine.connect() as conn:
            conn.execution_options(**{_WRITE_OPTION: write, _CHECK_OPTION: check})
            with conn.begin():
                yield conn
    except SQLAlchemyError as exc:
        reason = _reason(exc)
        if "malformed" in reason and engine.dialect.name == "sqlite":
            path = engine.url.database or "?"
            raise LedgerCorruptError(f"{what} failed: {corruption_message(path, reason)}") from exc
        raise LedgerError(f"ledger: {what} failed: {reason}") from exc


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
