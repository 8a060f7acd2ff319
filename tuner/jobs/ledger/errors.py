"""Errors of the ledger. Callers catch ``LedgerError``; database driver errors never escape bare."""

from __future__ import annotations


class LedgerError(Exception):
    """The ledger could not do what was asked; the message says what (never a secret)."""


class UnsupportedDatabaseError(LedgerError):
    """The URL names a database the ledger does not support (SQLite and PostgreSQL only)."""


class LedgerCorruptError(LedgerError):
    """The SQLite file is damaged (``PRAGMA quick_check`` failed): nothing may write to it."""


class SchemaTooNewError(LedgerError):
    """The database was written by a newer tuner; this one must not touch it."""


class NotFoundError(LedgerError):
    """A row the operation needs (a queue entry, an evaluation run, a dataset) is missing."""


class InvalidStateError(LedgerError):
    """The row is not in a state that allows the operation (e.g. submitting a failed entry)."""
