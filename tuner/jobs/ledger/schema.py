"""The ledger's tables (SQLAlchemy Core).

Times are integer UNIX seconds (as in the API), so comparisons and ordering behave the same on
SQLite and PostgreSQL and no time zone is ever guessed. JSON columns are JSONB on PostgreSQL.
Secrets are never stored: specs pass through ``redact.strip_secrets`` and keys appear only as
their last four characters.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

# A naming convention gives constraints stable names, which future migrations need to drop them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class _JSON(TypeDecorator[Any]):
    """JSON, and JSONB on PostgreSQL (what ``JSON().with_variant(JSONB(), "postgresql")`` gives),
    with the PostgreSQL dialect imported only when a PostgreSQL connection needs it: importing
    it costs every SQLite user (the dashboard's cold start) about 0.1 s."""

    # none_as_null: Python None is SQL NULL, not the JSON literal 'null'.
    impl = JSON(none_as_null=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(JSON(none_as_null=True))


def _json() -> TypeEngine[Any]:
    return _JSON()


def _time(name: str, *, nullable: bool = False) -> Column[int]:
    return Column(name, BigInteger, nullable=nullable)


DEFAULT_PROVIDER = "mistral"


def _provider() -> Column[str]:
    # NOT NULL with a server default: rows written before version 5 (and by code that does not
    # name a provider) are Mistral's, the only provider tuner had.
    return Column("provider", String(16), nullable=False, server_default=DEFAULT_PROVIDER)


def _states(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


schema_version = Table(
    "schema_version",
    metadata,
    # One row per applied migration; the schema's version is the largest.
    Column("version", Integer, primary_key=True, autoincrement=False),
)

datasets = Table(
    "datasets",
    metadata,
    Column("content_hash", String(64), primary_key=True),
    Column("path", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("line_count", BigInteger, nullable=False),
    Column("stats", _json()),
    _time("created_at"),
)

files = Table(
    "files",
    metadata,
    Column("file_id", String(64), primary_key=True),
    Column("backend", Text, nullable=False),
    Column("content_hash", String(64), ForeignKey("datasets.content_hash")),
    Column("filename", Text),
    Column("size_bytes", BigInteger),
    Column("purpose", String(32)),
    Column("sample_type", String(32)),
    Column("num_lines", BigInteger),
    Column("key_last4", String(4)),
    # Since version 4: whether the server that answered was a sandbox (NULL: not known).
    Column("sandbox", Boolean),
    # Since version 5: the provider the file was uploaded to ("mistral" or "openai").
    _provider(),
    _time("uploaded_at"),
    _time("deleted_at", nullable=True),
    Index(None, "content_hash", "backend"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("backend", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("job_type", String(32)),
    Column("suffix", Text),
    Column("status", String(32), nullable=False),
    Column("auto_start", Boolean),
    Column("spec", _json()),
    Column("hyperparameters", _json()),
    Column("metadata", _json()),
    Column("fine_tuned_model", Text),
    Column("trained_tokens", BigInteger),
    _time("created_at", nullable=True),
    _time("modified_at", nullable=True),
    _time("first_seen_at"),
    _time("updated_at"),
    Column("last_snapshot", _json(), nullable=False),
    Column("key_last4", String(4)),
    Column("sweep_id", Text),
    # Since version 4: whether the server that answered was a sandbox (NULL: not known).
    Column("sandbox", Boolean),
    # Since version 5: the provider that runs the job; its own status word is kept in
    # ``last_snapshot["provider_status"]`` (``status`` is the ledger's state).
    _provider(),
    Index(None, "status"),
    Index(None, "fine_tuned_model"),
    Index(None, "sweep_id"),
    Index(None, "created_at"),
)

job_files = Table(
    "job_files",
    metadata,
    Column("job_id", String(64), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("file_id", String(64), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("weight", Float),
    _states("role", ("training", "validation"), "role"),
    Index(None, "file_id"),
)

transitions = Table(
    "transitions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("job_id", String(64), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("from_status", String(32)),
    Column("to_status", String(32), nullable=False),
    _time("at"),
    _time("server_modified_at", nullable=True),
    UniqueConstraint("job_id", "seq"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("job_id", String(64), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("step", BigInteger, primary_key=True, autoincrement=False),
    Column("metrics", _json(), nullable=False),
    _time("created_at", nullable=True),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", String(64), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of (created_at, name, data): events have no id of their own in the API.
    Column("event_key", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("data", _json()),
    _time("created_at", nullable=True),
    UniqueConstraint("job_id", "event_key"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("transition_id", Text, ForeignKey("transitions.id", ondelete="CASCADE"), nullable=False),
    Column("notifier", Text, nullable=False),
    Column("payload", _json(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    _time("next_attempt_at", nullable=True),
    _time("last_attempt_at", nullable=True),
    Column("last_error", Text),
    _time("created_at"),
    _time("sent_at", nullable=True),
    UniqueConstraint("transition_id", "notifier"),
    _states("status", ("pending", "sent", "failed"), "status"),
    Index(None, "status", "next_attempt_at"),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("spec", _json(), nullable=False),
    Column("sweep_id", Text),
    Column("member_index", Integer),
    Column("state", String(16), nullable=False),
    Column("job_id", String(64)),
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    _time("created_at"),
    _time("updated_at"),
    _time("submitted_at", nullable=True),
    # Since version 5: the provider the spec is for (each provider's submitter claims its own).
    _provider(),
    # Enqueueing the same sweep twice adds nothing (NULL sweep ids never clash).
    UniqueConstraint("sweep_id", "member_index"),
    _states("state", ("pending", "submitting", "submitted", "failed"), "state"),
    Index(None, "state", "id"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    _time("expires_at"),
)

eval_runs = Table(
    "eval_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("data_path", Text, nullable=False),
    Column("data_hash", String(64), nullable=False),
    Column("judge", Text),
    Column("params", _json()),
    Column("status", String(16), nullable=False),
    _time("created_at"),
    _time("updated_at"),
    _states("status", ("pending", "running", "completed", "failed", "cancelled"), "status"),
    Index(None, "data_hash"),
)

# The models of a run, one row each, so "every evaluation of model M" is an indexed look-up.
eval_run_models = Table(
    "eval_run_models",
    metadata,
    Column(
        "run_id",
        String(64),
        ForeignKey("eval_runs.run_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("model", Text, nullable=False),
    # Since version 4: the backend that answers for this model (its API URL) and whether it is
    # a sandbox. Part of the run's identity: a run is never resumed against another backend.
    Column("backend", Text),
    Column("sandbox", Boolean),
    Index(None, "model"),
)

eval_items = Table(
    "eval_items",
    metadata,
    Column(
        "run_id",
        String(64),
        ForeignKey("eval_runs.run_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("item_index", Integer, primary_key=True, autoincrement=False),
    Column("model", Text, primary_key=True),
    Column("prompt_hash", String(64), nullable=False),
    Column("response_text", Text),
    Column("latency_s", Float),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("scores", _json()),
    Column("error", Text),
    Column("judge_verdict", _json()),
    _time("updated_at"),
)

# Since version 2: the notifiers a daemon delivers to, registered by it at start. Every writer
# (the daemon, the CLI, the TUI) creates outbox rows for the active ones, so a transition first
# seen by ``tuner jobs watch`` is still announced. Inactive: no longer configured, no new rows.
notifiers = Table(
    "notifiers",
    metadata,
    Column("name", Text, primary_key=True),
    _time("registered_at"),
    Column("active", Boolean, nullable=False),
    # Since version 4: where the notifier's target comes from, e.g. "setting webhook_url" or
    # "option --command"; never the target itself (a webhook URL is a secret).
    Column("source", Text),
)

V1_TABLES = (
    schema_version,
    datasets,
    files,
    jobs,
    job_files,
    transitions,
    checkpoints,
    events,
    notifications,
    submissions,
    leases,
    eval_runs,
    eval_run_models,
    eval_items,
)

V2_TABLES = (notifiers,)

# Since version 3: when a process last completed a cycle (the daemon: one row, "daemon",
# written at the end of each cycle), so a dashboard can say when the daemon last polled.
heartbeats = Table(
    "heartbeats",
    metadata,
    Column("name", Text, primary_key=True),
    _time("at"),
)

V3_TABLES = (heartbeats,)

# Since version 4: where each stored result came from (see the columns marked "version 4").
V4_COLUMNS: tuple[tuple[Table, str], ...] = (
    (files, "sandbox"),
    (jobs, "sandbox"),
    (eval_run_models, "backend"),
    (eval_run_models, "sandbox"),
    (notifiers, "source"),
)

# Since version 5: which provider each file, job and queued spec belongs to.
V5_COLUMNS: tuple[tuple[Table, str], ...] = (
    (files, "provider"),
    (jobs, "provider"),
    (submissions, "provider"),
)
