"""Persistence under ``--data-dir``: records in SQLite (stdlib), uploaded bytes as files.

SQLite gives atomic, crash-safe writes for free and is shared safely by the server's threads
(one connection behind a lock). Records are stored as JSON documents, one table per kind; the
sandbox holds hundreds of records, not millions, so filtering happens in Python.

Uploaded content lives in ``blobs/<file id>``; an upload is streamed into ``incoming/`` and
renamed into place only once it is complete and accepted, so a crash never leaves half a file
under a file id.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from tuner.sandbox.records import FileRecord, JobRecord, ModelRecord, Stored

R = TypeVar("R", bound=Stored)


@dataclass(frozen=True, slots=True)
class Table(Generic[R]):
    name: str
    record: type[R]


FILES = Table("files", FileRecord)
JOBS = Table("jobs", JobRecord)
MODELS = Table("models", ModelRecord)
_TABLES: tuple[Table[FileRecord] | Table[JobRecord] | Table[ModelRecord], ...] = (
    FILES,
    JOBS,
    MODELS,
)

DB_NAME = "sandbox.sqlite3"


class Store:
    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.root = Path(data_dir)
        self.blobs = self.root / "blobs"
        self.incoming = self.root / "incoming"
        for folder in (self.root, self.blobs, self.incoming):
            folder.mkdir(parents=True, exist_ok=True)
        self._discard_incomplete_uploads()
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.root / DB_NAME, check_same_thread=False)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            for table in _TABLES:
                self._db.execute(
                    f"CREATE TABLE IF NOT EXISTS {table.name} "
                    "(id TEXT PRIMARY KEY, created REAL NOT NULL, body TEXT NOT NULL)"
                )

    def add_table(self, table: Table[R]) -> None:
        """Create one more record table (another provider's sandbox keeps its own kinds)."""
        with self._lock, self._db:
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {table.name} "
                "(id TEXT PRIMARY KEY, created REAL NOT NULL, body TEXT NOT NULL)"
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # Records

    def put(self, table: Table[R], record: R, *, created: float) -> None:
        body = record.model_dump_json()
        with self._lock, self._db:
            self._db.execute(
                f"INSERT OR REPLACE INTO {table.name} (id, created, body) VALUES (?, ?, ?)",
                (record.id, created, body),
            )

    def get(self, table: Table[R], record_id: str) -> R | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT body FROM {table.name} WHERE id = ?", (record_id,)
            ).fetchone()
        return None if row is None else table.record.model_validate_json(row[0])

    def all(self, table: Table[R]) -> list[R]:
        """Every record of ``table``, newest first (ties broken by id, so the order is stable)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT body FROM {table.name} ORDER BY created DESC, id DESC"
            ).fetchall()
        return [table.record.model_validate_json(row[0]) for row in rows]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the store's lock across a read-check-write sequence (e.g. duplicate checks)."""
        with self._lock:
            yield

    # Small settings that outlive a restart

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # Uploaded bytes

    def blob_path(self, file_id: str) -> Path:
        return self.blobs / file_id

    def new_incoming(self) -> tuple[int, Path]:
        """An open file descriptor and path for an upload being received."""
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=self.incoming)
        return fd, Path(name)

    def keep_blob(self, incoming: Path, file_id: str) -> Path:
        target = self.blob_path(file_id)
        incoming.replace(target)
        return target

    def drop_blob(self, file_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.blob_path(file_id).unlink()

    def _discard_incomplete_uploads(self) -> None:
        # Left over from a crash mid-upload: nothing refers to them.
        for leftover in self.incoming.glob("upload-*.part"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
