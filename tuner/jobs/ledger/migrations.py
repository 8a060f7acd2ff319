"""Forward-only schema migrations, applied in order when a ledger is opened.

``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1``. A database without a
``schema_version`` table is version 0 (empty, or written before versioning). All pending
migrations run in one transaction that holds the database's write lock (SQLite: BEGIN
IMMEDIATE; PostgreSQL: an advisory lock), so two processes opening a new ledger at once cannot
both migrate it, and a failed migration leaves the previous version intact (DDL is
transactional on both).

A migration uses the table definitions of ``schema`` as they are now. When a later version
changes a table, first freeze the definitions an earlier migration uses (copy them here) so that
migrating an old database still produces exactly each version before the next one runs: the v1
tables for ``_v1_create_tables``, the ``notifiers`` table for ``_v2_add_notifiers``, the
``heartbeats`` table for ``_v3_add_heartbeats``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, func, inspect, select, text

from . import schema
from .engine import transaction
from .errors import SchemaTooNewError

Migration = Callable[[Connection], None]

# Any fixed number: the key of the PostgreSQL advisory lock that serialises migrations.
_PG_MIGRATION_LOCK = 0x7475_6E65


def _v1_create_tables(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=list(schema.V1_TABLES), checkfirst=True)


def _v2_add_notifiers(conn: Connection) -> None:
    # Only adds a table: the v1 tables are unchanged. No checkfirst: a table of that name that
    # is not ours must fail the migration, not be taken for the registry.
    schema.metadata.create_all(conn, tables=list(schema.V2_TABLES), checkfirst=False)


def _v3_add_heartbeats(conn: Connection) -> None:
    # Only adds a table, like version 2: the earlier tables are unchanged.
    schema.metadata.create_all(conn, tables=list(schema.V3_TABLES), checkfirst=False)


def _v4_add_origin(conn: Connection) -> None:
    # Adds columns (which backend produced a result, and whether it was a sandbox) to v1
    # tables. Only the missing ones: a ledger created since version 4 got them from
    # ``_v1_create_tables``, which uses today's definitions (nullable columns, no default, so
    # the v1-to-v4 path and a new ledger end in the same schema).
    inspector = inspect(conn)
    for table, name in schema.V4_COLUMNS:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        if name in present:
            continue
        column = table.c[name]
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{name}" {kind}'))


def _v5_add_provider(conn: Connection) -> None:
    # The provider of each file, job and queued spec; existing rows are Mistral's (the only
    # provider before version 5). Like version 4, only the missing columns: a ledger created
    # since version 5 has them from ``_v1_create_tables``.
    inspector = inspect(conn)
    for table, name in schema.V5_COLUMNS:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        if name in present:
            continue
        conn.execute(
            text(
                f'ALTER TABLE {table.name} ADD COLUMN "{name}" VARCHAR(16) NOT NULL '
                f"DEFAULT '{schema.DEFAULT_PROVIDER}'"
            )
        )


MIGRATIONS: tuple[Migration, ...] = (
    _v1_create_tables,
    _v2_add_notifiers,
    _v3_add_heartbeats,
    _v4_add_origin,
    _v5_add_provider,
)
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table(schema.schema_version.name):
        return 0
    version = conn.execute(select(func.max(schema.schema_version.c.version))).scalar()
    return int(version or 0)


def migrate(engine: Engine, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database up to ``len(migrations)``; returns the version it was at before.

    An up-to-date database is only read: a write transaction (and SQLite's check before the
    first write, see ``engine``) happens only when there is something to migrate.
    """
    with transaction(engine, write=False, what="reading the schema version") as conn:
        before = current_version(conn)
    if before == len(migrations):
        return before
    with transaction(engine, write=True, what="migrating the schema") as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        before = current_version(conn)
        if before > len(migrations):
            raise SchemaTooNewError(
                f"the ledger's schema is version {before}, newer than this tuner knows "
                f"({len(migrations)}); upgrade tuner"
            )
        for version in range(before, len(migrations)):
            migrations[version](conn)
            conn.execute(schema.schema_version.insert(), {"version": version + 1})
        return before
