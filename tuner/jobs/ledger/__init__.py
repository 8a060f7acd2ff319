"""The local ledger: every dataset, upload, job, status change, checkpoint, event, notification,
queued submission and evaluation, in SQLite (default) or PostgreSQL.

This package is the only place in tuner that imports SQLAlchemy. Use ``open_ledger()``; records
come back as ``tuner.jobs.records`` models. Async code awaits ``ledger.aio`` (``AsyncLedger``):
the same operations, run off the event loop.
"""

from __future__ import annotations

from .aio import AsyncLedger
from .common import Instant, to_seconds
from .core import Ledger, open_ledger
from .engine import LEDGER_ENV, default_ledger_path, default_ledger_url
from .errors import (
    InvalidStateError,
    LedgerCorruptError,
    LedgerError,
    NotFoundError,
    SchemaTooNewError,
    UnsupportedDatabaseError,
)
from .evals import EvalItemWrite
from .migrations import SCHEMA_VERSION
from .redact import is_secret_name, strip_secrets

__all__ = [
    "LEDGER_ENV",
    "SCHEMA_VERSION",
    "AsyncLedger",
    "EvalItemWrite",
    "Instant",
    "InvalidStateError",
    "Ledger",
    "LedgerCorruptError",
    "LedgerError",
    "NotFoundError",
    "SchemaTooNewError",
    "UnsupportedDatabaseError",
    "default_ledger_path",
    "default_ledger_url",
    "is_secret_name",
    "open_ledger",
    "strip_secrets",
    "to_seconds",
]
