"""The ledger, on a SQLite file and (in CI) PostgreSQL: what is recorded, once, and read back."""

from __future__ import annotations

import itertools
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, SecretStr

from tuner.jobs.ledger import (
    SCHEMA_VERSION,
    InvalidStateError,
    Ledger,
    LedgerError,
    NotFoundError,
    SchemaTooNewError,
    UnsupportedDatabaseError,
    default_ledger_path,
    default_ledger_url,
    is_secret_name,
    open_ledger,
    schema,
    strip_secrets,
)
from tuner.jobs.ledger.engine import create_ledger_engine, resolve_url
from tuner.jobs.ledger.migrations import MIGRATIONS, migrate
from tuner.jobs.records import Backend

from .conftest import NOTIFIERS, OpenLedger
from .ledger_support import (
    BACKEND,
    every_database_ledger,  # noqa: F401  (the fixture ``ledger``: on every database)
    insert_running_job,
    job_snapshot,
    new_id,
    older_ledger,
    running_job_row,
    sha,
)

SANDBOX = "http://127.0.0.1:8123"
WANDB_KEY = "wandb-secret-0123456789abcdef0123456789ab"
GITHUB_TOKEN = "ghp_SECRETsecretSECRETsecret0123"
MISTRAL_KEY = "mistral-SECRET-key-9f8e7d6c5b4a"


def checkpoint(step: int, loss: float, created_at: int) -> dict[str, Any]:
    metrics = {"train_loss": loss, "valid_loss": None, "valid_mean_token_accuracy": None}
    return {"step_number": step, "metrics": metrics, "created_at": created_at}


def event(name: str, created_at: int, **data: Any) -> dict[str, Any]:
    return {"name": name, "data": data or None, "created_at": created_at}


def all_stored_text(url: str) -> str:
    """Every value of every row of every table, as text: for "no trace of a secret" checks."""
    engine = create_ledger_engine(resolve_url(url))
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            parts = [
                repr(tuple(row))
                for table in meta.sorted_tables
                for row in conn.execute(sa.select(table))
            ]
    finally:
        engine.dispose()
    return "\n".join(parts)


# -- where the ledger lives -------------------------------------------------------------------


def test_default_location_is_under_xdg_data_home(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path)}
    assert default_ledger_path(env) == tmp_path / "tuner" / "ledger.db"
    assert default_ledger_url(env) == f"sqlite+pysqlite:///{tmp_path}/tuner/ledger.db"


def test_relative_xdg_data_home_is_ignored() -> None:
    assert default_ledger_path({"XDG_DATA_HOME": "relative/dir"}) == (
        Path.home() / ".local" / "share" / "tuner" / "ledger.db"
    )


def test_tuner_db_overrides_the_default(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path), "TUNER_DB": "postgresql+psycopg://u@db/tuner"}
    assert default_ledger_url(env) == "postgresql+psycopg://u@db/tuner"


def test_open_ledger_without_url_uses_tuner_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "nested" / "dir" / "ledger.db"
    monkeypatch.setenv("TUNER_DB", f"sqlite:///{path}")
    with open_ledger() as ledger:
        assert ledger.dialect == "sqlite"
        assert ledger.schema_version() == SCHEMA_VERSION
    assert path.exists()
    # Only the owner may read it: it names jobs, files and models.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(UnsupportedDatabaseError, match="in-memory"):
        open_ledger("sqlite://")
    with pytest.raises(UnsupportedDatabaseError, match="in-memory"):
        open_ledger("sqlite:///:memory:")


def test_other_databases_are_refused() -> None:
    with pytest.raises(UnsupportedDatabaseError, match="SQLite and PostgreSQL"):
        open_ledger("mysql://user@localhost/tuner")


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    url = resolve_url("postgresql://u:pw@db:5432/tuner")
    assert url.drivername == "postgresql+psycopg"
    assert resolve_url("postgres://u@db/tuner").drivername == "postgresql+psycopg"


def test_the_url_shown_hides_the_password(tmp_path: Path) -> None:
    with pytest.raises(LedgerError) as caught:
        # Nothing listens on port 1: the error must name the ledger without the password.
        open_ledger("postgresql+psycopg://user:hunter2@127.0.0.1:1/tuner?connect_timeout=2")
    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)


# -- applying job snapshots -------------------------------------------------------------------


def test_first_snapshot_creates_the_job_a_transition_and_notifications(ledger: Ledger) -> None:
    job_id = new_id()
    changes = ledger.apply_snapshot(job_snapshot(job_id, "QUEUED", 1_000), backend=BACKEND, now=5)
    assert changes.created and changes.changed and not changes.stale
    assert [(t.from_status, t.to_status, t.at, t.seq) for t in changes.transitions] == [
        (None, "QUEUED", 5, 1)
    ]
    assert changes.transitions[0].id == f"{job_id}:1:QUEUED"
    assert sorted(n.notifier for n in changes.notifications) == sorted(NOTIFIERS)
    job = ledger.get_job(job_id)
    assert job is not None
    assert (job.status, job.backend, job.first_seen_at, job.updated_at) == (
        "QUEUED",
        BACKEND,
        5,
        5,
    )
    assert job.hyperparameters == {"training_steps": 10}
    assert job.spec is None


def test_applying_the_same_snapshot_twice_records_nothing_new(ledger: Ledger) -> None:
    job_id = new_id()
    snap = job_snapshot(
        job_id,
        "RUNNING",
        1_100,
        checkpoints=[checkpoint(10, 1.5, 1_050), checkpoint(20, 1.2, 1_090)],
        events=[event("status-updated", 1_000, status="QUEUED"), event("status-updated", 1_100)],
    )
    first = ledger.apply_snapshot(snap, backend=BACKEND, now=10)
    assert len(first.checkpoints) == 2 and len(first.events) == 2
    second = ledger.apply_snapshot(snap, backend=BACKEND, now=20)
    assert not second.changed
    assert (second.transitions, second.checkpoints, second.events, second.notifications) == (
        [],
        [],
        [],
        [],
    )
    assert len(ledger.transitions(job_id)) == 1
    assert len(ledger.checkpoints(job_id)) == 2
    assert len(ledger.events(job_id)) == 2
    assert len(ledger.notifications_for_job(job_id)) == len(NOTIFIERS)
    # The row is refreshed (updated_at) even when nothing new happened.
    job = ledger.get_job(job_id)
    assert job is not None and job.updated_at == 20


def test_transitions_are_recorded_in_order_with_their_times(ledger: Ledger) -> None:
    job_id = new_id()
    # auto_start=false: parked at VALIDATED, then POST /start sends it back to QUEUED.
    lifecycle = ["QUEUED", "VALIDATING", "VALIDATED", "QUEUED", "RUNNING", "SUCCESS"]
    for step, status in enumerate(lifecycle):
        ledger.apply_snapshot(
            job_snapshot(job_id, status, 1_000 + step), backend=BACKEND, now=100 + 10 * step
        )
    recorded = ledger.transitions(job_id)
    assert [(t.from_status, t.to_status) for t in recorded] == list(
        zip([None, *lifecycle[:-1]], lifecycle, strict=True)
    )
    assert [t.at for t in recorded] == [100, 110, 120, 130, 140, 150]
    assert [t.server_modified_at for t in recorded] == [1_000 + i for i in range(6)]
    assert [t.id for t in recorded] == [
        f"{job_id}:{seq}:{status}" for seq, status in enumerate(lifecycle, start=1)
    ]


def test_times_may_be_aware_datetimes(ledger: Ledger) -> None:
    job_id = new_id()
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    ledger.apply_snapshot(job_snapshot(job_id, "QUEUED", 1), backend=BACKEND, now=at)
    assert ledger.transitions(job_id)[0].at == int(at.timestamp())
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.apply_snapshot(
            job_snapshot(job_id, "RUNNING", 2), backend=BACKEND, now=at.replace(tzinfo=None)
        )


def test_checkpoints_and_events_are_deduplicated_across_polls(ledger: Ledger) -> None:
    job_id = new_id()
    poll_1 = job_snapshot(
        job_id,
        "RUNNING",
        1_100,
        checkpoints=[checkpoint(10, 1.5, 1_050)],
        events=[event("status-updated", 1_000, status="RUNNING")],
    )
    poll_2 = job_snapshot(
        job_id,
        "RUNNING",
        1_200,
        checkpoints=[checkpoint(20, 1.1, 1_150), checkpoint(10, 1.5, 1_050)],
        events=[
            event("status-updated", 1_000, status="RUNNING"),
            # Same name and time, other data: a different event.
            event("status-updated", 1_000, status="VALIDATED"),
            # The same event twice in one snapshot counts once.
            event("checkpoint", 1_150, step=20),
            event("checkpoint", 1_150, step=20),
        ],
    )
    ledger.apply_snapshot(poll_1, backend=BACKEND, now=1)
    changes = ledger.apply_snapshot(poll_2, backend=BACKEND, now=2)
    assert [c.step for c in changes.checkpoints] == [20]
    assert [(e.name, e.data) for e in changes.events] == [
        ("status-updated", {"status": "VALIDATED"}),
        ("checkpoint", {"step": 20}),
    ]
    assert [(c.step, c.metrics["train_loss"]) for c in ledger.checkpoints(job_id)] == [
        (10, 1.5),
        (20, 1.1),
    ]
    assert [e.created_at for e in ledger.events(job_id)] == [1_000, 1_000, 1_150]
    assert changes.transitions == []


def test_a_nan_loss_is_stored_as_null(ledger: Ledger) -> None:
    job_id = new_id()
    snap = job_snapshot(job_id, "RUNNING", 1, checkpoints=[checkpoint(1, float("nan"), 1)])
    ledger.apply_snapshot(snap, backend=BACKEND, now=1)
    assert ledger.checkpoints(job_id)[0].metrics["train_loss"] is None


def test_an_older_snapshot_does_not_roll_the_job_back(ledger: Ledger) -> None:
    job_id = new_id()
    ledger.apply_snapshot(job_snapshot(job_id, "RUNNING", 2_000), backend=BACKEND, now=1)
    late = job_snapshot(job_id, "QUEUED", 1_500, checkpoints=[checkpoint(5, 2.0, 1_400)])
    changes = ledger.apply_snapshot(late, backend=BACKEND, now=2)
    assert changes.stale and changes.transitions == []
    job = ledger.get_job(job_id)
    assert job is not None and (job.status, job.modified_at) == ("RUNNING", 2_000)
    # What it reports that is new is still kept: checkpoints are facts whatever the order.
    assert [c.step for c in changes.checkpoints] == [5]


def test_a_terminal_status_is_final(ledger: Ledger) -> None:
    job_id = new_id()
    ledger.apply_snapshot(job_snapshot(job_id, "CANCELLED", 2_000), backend=BACKEND, now=1)
    changes = ledger.apply_snapshot(job_snapshot(job_id, "RUNNING", 2_000), backend=BACKEND, now=2)
    assert changes.stale
    assert [t.to_status for t in ledger.transitions(job_id)] == ["CANCELLED"]


def test_a_summary_snapshot_keeps_what_a_detailed_one_recorded(ledger: Ledger) -> None:
    job_id = new_id()
    detailed = job_snapshot(
        job_id,
        "SUCCESS",
        2_000,
        fine_tuned_model="ft:open-mistral-7b:57d37e6c:20240531:2813b7e6",
        trained_tokens=123_456,
        metadata={"cost": 4.0, "cost_currency": "USD"},
    )
    ledger.apply_snapshot(detailed, backend=BACKEND, now=1)
    summary = {"id": job_id, "model": "open-mistral-7b", "status": "SUCCESS"}
    ledger.apply_snapshot(summary, backend=BACKEND, now=2)
    job = ledger.get_job(job_id)
    assert job is not None
    assert job.fine_tuned_model == "ft:open-mistral-7b:57d37e6c:20240531:2813b7e6"
    assert (job.trained_tokens, job.metadata) == (123_456, {"cost": 4.0, "cost_currency": "USD"})
    assert job.is_terminal


def test_unknown_fields_are_ignored_and_missing_required_ones_refused(ledger: Ledger) -> None:
    job_id = new_id()
    snap = job_snapshot(job_id, "queued", 1, brand_new_field={"x": 1})
    assert ledger.apply_snapshot(snap, backend=BACKEND, now=1).job.status == "QUEUED"
    with pytest.raises(LedgerError, match="status"):
        ledger.apply_snapshot({"id": new_id(), "model": "m"}, backend=BACKEND, now=1)


class _WireJob(BaseModel):
    """Stands in for the API's wire model: the ledger takes pydantic models as they are."""

    model_config = ConfigDict(extra="allow")
    id: str
    model: str
    status: str
    modified_at: int


def test_pydantic_snapshots_are_accepted(ledger: Ledger) -> None:
    job_id = new_id()
    changes = ledger.apply_snapshot(
        _WireJob(id=job_id, model="m", status="RUNNING", modified_at=3, fine_tuned_model=None),
        backend=BACKEND,
        now=1,
    )
    assert changes.job.status == "RUNNING"


def test_notify_false_records_transitions_without_notifications(ledger: Ledger) -> None:
    job_id = new_id()
    changes = ledger.apply_snapshot(
        job_snapshot(job_id, "SUCCESS", 1), backend=BACKEND, now=1, notify=False
    )
    assert len(changes.transitions) == 1 and changes.notifications == []
    assert ledger.notifications_for_job(job_id) == []


def test_a_ledger_without_notifiers_creates_no_notifications(open_at: OpenLedger) -> None:
    quiet = open_at(notifiers=())
    job_id = new_id()
    changes = quiet.apply_snapshot(job_snapshot(job_id, "QUEUED", 1), backend=BACKEND, now=1)
    assert changes.transitions and changes.notifications == []


def test_list_jobs_newest_first_with_filters(ledger: Ledger) -> None:
    ids = [new_id() for _ in range(4)]
    statuses = ["SUCCESS", "RUNNING", "QUEUED", "FAILED"]
    for n, (job_id, status) in enumerate(zip(ids, statuses, strict=True)):
        backend = SANDBOX if n == 3 else BACKEND
        ledger.apply_snapshot(
            job_snapshot(job_id, status, 5_000, created_at=1_000 + n), backend=backend, now=1
        )
    assert [j.id for j in ledger.list_jobs()] == ids[::-1]
    assert [j.id for j in ledger.list_jobs(active_only=True)] == [ids[2], ids[1]]
    assert [j.id for j in ledger.list_jobs(status="SUCCESS")] == [ids[0]]
    assert [j.id for j in ledger.list_jobs(status=["FAILED", "QUEUED"])] == [ids[3], ids[2]]
    assert [j.id for j in ledger.list_jobs(limit=2)] == [ids[3], ids[2]]
    assert [j.id for j in ledger.list_jobs(backend=SANDBOX + "/")] == [ids[3]]
    assert ledger.active_job_count() == 2
    assert ledger.active_job_count(backend=SANDBOX) == 0


# -- secrets ----------------------------------------------------------------------------------


def secret_spec() -> dict[str, Any]:
    return {
        "model": "open-mistral-7b",
        "api_key": MISTRAL_KEY,
        "hyperparameters": {"training_steps": 10, "learning_rate": 1e-4},
        "training_files": [{"file_id": "f-1", "weight": 2.0}],
        "integrations": [
            {"type": "wandb", "project": "tuner", "api_key": WANDB_KEY, "api_key_env": "WANDB"}
        ],
        "repositories": [{"type": "github", "owner": "o", "name": "r", "token": GITHUB_TOKEN}],
        "headers": {"Authorization": f"Bearer {MISTRAL_KEY}"},
        "notes": [f"Bearer {MISTRAL_KEY}"],
        "max_tokens": 512,
    }


def test_secret_names() -> None:
    for name in [
        "api_key",
        "apiKey",
        "API-KEY",
        "token",
        "github_token",
        "client_secret",
        "password",
        "Authorization",
        "wandb_api_key",
        "private_key",
        "key",
        "wandb_key",
        "wandbKey",
    ]:
        assert is_secret_name(name), name
    for name in [
        "max_tokens",
        "trained_tokens",
        "train_tokens_per_step",
        "key_last4",
        "api_key_env",
        "monkey",
        "model",
        "tokenizer",
        "hotkey",
    ]:
        assert not is_secret_name(name), name


def test_strip_secrets_removes_keys_secret_values_and_bearer_strings() -> None:
    cleaned = strip_secrets({**secret_spec(), "pool": (SecretStr("x"), "kept")})
    assert cleaned["integrations"] == [
        {"type": "wandb", "project": "tuner", "api_key_env": "WANDB"}
    ]
    assert cleaned["repositories"] == [{"type": "github", "owner": "o", "name": "r"}]
    assert cleaned["headers"] == {} and cleaned["notes"] == []
    assert cleaned["pool"] == ["kept"]
    assert cleaned["max_tokens"] == 512 and "api_key" not in cleaned


def test_a_stored_spec_keeps_no_trace_of_secrets(ledger: Ledger, ledger_url: str) -> None:
    job_id = new_id()
    snap = job_snapshot(
        job_id,
        "QUEUED",
        1,
        training_files=["f-1"],
        integrations=[{"type": "wandb", "project": "tuner", "api_key": WANDB_KEY}],
    )
    job = ledger.upsert_job(
        snap, backend=BACKEND, now=1, spec=secret_spec(), key_last4="…9f8e", sweep_id="sw"
    )
    assert job.spec is not None and job.spec["hyperparameters"]["learning_rate"] == 1e-4
    assert job.key_last4 == "9f8e" and job.sweep_id == "sw"
    ledger.enqueue([secret_spec()], now=1)
    ledger.record_dataset(sha("d"), path="/d.jsonl", size_bytes=1, line_count=1, now=1)
    stored = all_stored_text(ledger_url)
    assert job_id in stored and "tuner" in stored  # the scan does see the rows
    # No value, and not even the field names (the quotes spare `api_key_env`, a reference).
    for secret in (MISTRAL_KEY, WANDB_KEY, GITHUB_TOKEN, "'api_key'", "'token'", "Bearer"):
        assert secret not in stored
    if ledger.dialect == "sqlite":
        # Not in the file's pages either (or its write-ahead log), deleted or not.
        raw = b"".join(p.read_bytes() for p in Path(ledger_url).parent.glob("ledger.db*"))
        for secret in (MISTRAL_KEY, WANDB_KEY, GITHUB_TOKEN):
            assert secret.encode() not in raw


class _Integration(BaseModel):
    project: str
    wandb_key: SecretStr
    credential: SecretStr


class _Spec(BaseModel):
    model: str
    integration: _Integration


def test_secret_fields_of_pydantic_specs_are_dropped_whatever_their_name(
    ledger: Ledger, ledger_url: str
) -> None:
    spec = _Spec(
        model="m",
        integration=_Integration(
            project="p", wandb_key=SecretStr(WANDB_KEY), credential=SecretStr(GITHUB_TOKEN)
        ),
    )
    job = ledger.upsert_job(job_snapshot(new_id(), "QUEUED", 1), backend=BACKEND, now=1, spec=spec)
    assert job.spec == {"model": "m", "integration": {"project": "p"}}
    stored = all_stored_text(ledger_url)
    assert WANDB_KEY not in stored and GITHUB_TOKEN not in stored and "*****" not in stored


def test_a_whole_key_is_refused_where_last_four_are_expected(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="last four"):
        ledger.upsert_job(
            job_snapshot(new_id(), "QUEUED", 1), backend=BACKEND, now=1, key_last4=MISTRAL_KEY
        )


def test_upsert_job_keeps_the_spec_when_later_snapshots_arrive(ledger: Ledger) -> None:
    job_id = new_id()
    ledger.upsert_job(
        job_snapshot(job_id, "QUEUED", 1, training_files=["f-1"]),
        backend=BACKEND,
        now=1,
        spec=secret_spec(),
        key_last4="9f8e",
    )
    ledger.apply_snapshot(
        job_snapshot(job_id, "RUNNING", 2, training_files=["f-1"]), backend=BACKEND, now=2
    )
    job = ledger.get_job(job_id)
    assert job is not None and job.spec is not None and job.key_last4 == "9f8e"
    links = ledger.job_files(job_id)
    assert [(link.file_id, link.role, link.weight) for link in links] == [("f-1", "training", 2.0)]


# -- datasets and files -----------------------------------------------------------------------


def test_record_dataset_is_unique_by_hash(ledger: Ledger) -> None:
    digest = sha("train")
    first = ledger.record_dataset(
        digest.upper(), path="/a/train.jsonl", size_bytes=10, line_count=2, now=1, stats={"n": 2}
    )
    again = ledger.record_dataset(digest, path="/b/train.jsonl", size_bytes=10, line_count=2, now=9)
    assert first.content_hash == digest
    assert (again.created_at, again.path, again.stats) == (1, "/b/train.jsonl", {"n": 2})
    with pytest.raises(ValueError, match="SHA-256"):
        ledger.record_dataset("abc", path="/x", size_bytes=1, line_count=1, now=1)


def test_find_uploaded_file_by_content_and_server(ledger: Ledger) -> None:
    digest = sha("train")
    ledger.record_dataset(digest, path="/t.jsonl", size_bytes=10, line_count=2, now=1)
    old = ledger.record_file(
        "file-old", backend=BACKEND, uploaded_at=10, content_hash=digest, key_last4="aaaa"
    )
    new = ledger.record_file(
        "file-new",
        backend=BACKEND + "/",
        uploaded_at=20,
        content_hash=digest,
        filename="t.jsonl",
        size_bytes=10,
        purpose="fine-tune",
        sample_type="instruct",
        num_lines=2,
        key_last4="bbbb",
    )
    assert ledger.find_uploaded_file(digest, BACKEND) == new
    assert ledger.find_uploaded_file(digest, BACKEND, key_last4="aaaa") == old
    assert ledger.find_uploaded_file(digest, SANDBOX) is None
    assert ledger.find_uploaded_file(sha("other"), BACKEND) is None
    ledger.mark_file_deleted("file-new", now=30)
    assert ledger.find_uploaded_file(digest, BACKEND) == old


def test_a_file_must_name_a_recorded_dataset(ledger: Ledger) -> None:
    with pytest.raises(NotFoundError, match="record the dataset first"):
        ledger.record_file("f", backend=BACKEND, uploaded_at=1, content_hash=sha("nope"))
    # A file uploaded outside tuner has no dataset: that is fine.
    assert ledger.record_file("f", backend=BACKEND, uploaded_at=1).content_hash is None


# -- notifications ----------------------------------------------------------------------------


def test_notification_rows_per_transition_and_notifier(ledger: Ledger) -> None:
    job_id = new_id()
    for n, status in enumerate(["QUEUED", "RUNNING", "SUCCESS"]):
        ledger.apply_snapshot(job_snapshot(job_id, status, n), backend=BACKEND, now=100 + n)
    rows = ledger.notifications_for_job(job_id)
    assert [(r.payload["to_status"], r.notifier) for r in rows] == [
        (status, notifier) for status in ["QUEUED", "RUNNING", "SUCCESS"] for notifier in NOTIFIERS
    ]
    assert {r.transition_id for r in rows} == {t.id for t in ledger.transitions(job_id)}
    last = rows[-1].payload
    assert (last["from_status"], last["to_status"], last["job_id"], last["at"]) == (
        "RUNNING",
        "SUCCESS",
        job_id,
        102,
    )


def test_pending_sent_and_failed_notifications(ledger: Ledger) -> None:
    job_id = new_id()
    ledger.apply_snapshot(job_snapshot(job_id, "QUEUED", 1), backend=BACKEND, now=100)
    ledger.apply_snapshot(job_snapshot(job_id, "RUNNING", 2), backend=BACKEND, now=101)
    pending = ledger.pending_notifications(now=200)
    assert len(pending) == 4
    assert [p.payload["to_status"] for p in pending] == ["QUEUED", "QUEUED", "RUNNING", "RUNNING"]
    assert len(ledger.pending_notifications(now=200, limit=1)) == 1
    assert [p.notifier for p in ledger.pending_notifications(200, notifier="log")] == ["log"] * 2

    sent, retried, given_up, untouched = pending
    ledger.mark_sent(sent.id, now=201)
    ledger.mark_failed(retried.id, "HTTP 503", now=201, next_attempt_at=260)
    ledger.mark_failed(given_up.id, "HTTP 404", now=201, next_attempt_at=None)
    assert [p.id for p in ledger.pending_notifications(now=259)] == [untouched.id]
    due = ledger.pending_notifications(now=260)
    assert [p.id for p in due] == [retried.id, untouched.id]
    assert (due[0].attempts, due[0].last_error, due[0].last_attempt_at) == (1, "HTTP 503", 201)

    by_id = {r.id: r for r in ledger.notifications_for_job(job_id)}
    assert (by_id[sent.id].status, by_id[sent.id].sent_at, by_id[sent.id].attempts) == (
        "sent",
        201,
        1,
    )
    assert by_id[given_up.id].status == "failed"
    with pytest.raises(NotFoundError):
        ledger.mark_sent(999_999, now=1)


# -- the notifier registry --------------------------------------------------------------------


def test_a_writer_without_notifiers_notifies_the_registered_ones(open_at: OpenLedger) -> None:
    # The daemon registers its notifiers; `tuner jobs watch` (no notifiers of its own) is the
    # first to see the job finish: the daemon must still get the outbox rows to announce it.
    daemon_side = open_at(notifiers=())
    assert daemon_side.registered_notifiers() == ()
    daemon_side.register_notifiers(["webhook", "log"], now=10)
    cli = open_at(notifiers=())
    assert cli.registered_notifiers() == ("log", "webhook")

    job_id = new_id()
    changes = cli.apply_snapshot(job_snapshot(job_id, "SUCCESS", 1), backend=BACKEND, now=20)
    assert sorted(n.notifier for n in changes.notifications) == ["log", "webhook"]
    created = cli.upsert_job(job_snapshot(new_id(), "QUEUED", 1), backend=BACKEND, now=21)
    pending = daemon_side.pending_notifications(now=30)
    assert sorted((p.payload["job_id"], p.notifier) for p in pending) == sorted(
        (j, n) for j in (job_id, created.id) for n in ("log", "webhook")
    )
    # notify=False still means no rows at all.
    quiet = cli.apply_snapshot(
        job_snapshot(new_id(), "QUEUED", 1), backend=BACKEND, now=22, notify=False
    )
    assert quiet.transitions and quiet.notifications == []


def test_own_and_registered_notifiers_are_united(open_at: OpenLedger) -> None:
    open_at(notifiers=()).register_notifiers(["log", "webhook"], now=1)
    own = open_at(notifiers=("command", "log"))
    job_id = new_id()
    changes = own.apply_snapshot(job_snapshot(job_id, "QUEUED", 1), backend=BACKEND, now=2)
    assert [n.notifier for n in changes.notifications] == ["command", "log", "webhook"]


def test_a_notifier_stays_registered_until_it_is_removed(
    open_at: OpenLedger, ledger_url: str
) -> None:
    daemon_side = open_at(notifiers=())
    cli = open_at(notifiers=())
    daemon_side.register_notifiers(
        ["log", "webhook"], now=10, sources={"webhook": "setting webhook_url"}
    )
    first = new_id()
    cli.apply_snapshot(job_snapshot(first, "QUEUED", 1), backend=BACKEND, now=11)

    # A daemon run without the webhook does not unregister it: its rows are still created.
    daemon_side.register_notifiers(["log"], now=20)
    assert cli.registered_notifiers() == ("log", "webhook")
    changes = cli.apply_snapshot(job_snapshot(first, "RUNNING", 2), backend=BACKEND, now=21)
    assert [n.notifier for n in changes.notifications] == ["log", "webhook"]
    registry = {record.name: record for record in cli.notifier_registry()}
    assert registry["webhook"].active and registry["webhook"].pending == 2
    assert registry["webhook"].source == "setting webhook_url"
    # The registry names where the target comes from, never the target.
    assert query(ledger_url, "SELECT name, source FROM notifiers ORDER BY name") == [
        ("log", None),
        ("webhook", "setting webhook_url"),
    ]

    # Removed explicitly: no new rows, and what waited for it is given up with the reason.
    assert daemon_side.remove_notifier("webhook", now=30) == 2
    assert cli.registered_notifiers() == ("log",)
    changes = cli.apply_snapshot(job_snapshot(first, "SUCCESS", 3), backend=BACKEND, now=31)
    assert [n.notifier for n in changes.notifications] == ["log"]
    given_up = [n for n in cli.notifications_for_job(first) if n.notifier == "webhook"]
    assert {(n.status, n.last_error) for n in given_up} == {("failed", "the notifier was removed")}
    with pytest.raises(NotFoundError, match="webhook"):
        daemon_side.remove_notifier("webhook", now=32)
    removed = {record.name: record for record in cli.notifier_registry()}["webhook"]
    assert not removed.active and removed.pending == 0

    # Registered again, it is active again.
    daemon_side.register_notifiers(["webhook"], now=40)
    assert cli.registered_notifiers() == ("log", "webhook")


def test_registered_notifier_names_are_checked(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="empty"):
        ledger.register_notifiers(["log", " "], now=1)
    with pytest.raises(ValueError, match="unique"):
        ledger.register_notifiers(["log", "log"], now=1)
    with pytest.raises(TypeError, match="sequence"):
        ledger.register_notifiers("log", now=1)
    ledger.register_notifiers([" log "], now=1)
    assert ledger.registered_notifiers() == ("log",)


# -- the submission queue ---------------------------------------------------------------------


def test_queue_moves_entries_through_their_states(ledger: Ledger) -> None:
    entries = ledger.enqueue([{"model": "a"}, {"model": "b"}, {"model": "c"}], now=10)
    assert [e.state for e in entries] == ["pending"] * 3
    assert [e.spec["model"] for e in entries] == ["a", "b", "c"]

    first = ledger.claim_next(now=11)
    assert first is not None and (first.id, first.state, first.attempts) == (
        entries[0].id,
        "submitting",
        1,
    )
    done = ledger.mark_submitted(first.id, "job-a", now=12)
    assert (done.state, done.job_id, done.submitted_at) == ("submitted", "job-a", 12)

    second = ledger.claim_next(now=13)
    assert second is not None and second.id == entries[1].id
    back = ledger.mark_queue_failed(second.id, "HTTP 429", now=14, retry=True)
    assert (back.state, back.error) == ("pending", "HTTP 429")
    again = ledger.claim_next(now=15)
    assert again is not None and (again.id, again.attempts) == (entries[1].id, 2)
    failed = ledger.mark_queue_failed(again.id, "HTTP 422: bad model", now=16)
    assert failed.state == "failed"

    assert [e.id for e in ledger.entries_in_state("failed")] == [entries[1].id]
    assert [e.id for e in ledger.entries_in_state("pending")] == [entries[2].id]
    with pytest.raises(InvalidStateError, match="failed"):
        ledger.mark_submitted(entries[1].id, "job-b", now=17)
    with pytest.raises(NotFoundError):
        ledger.mark_submitted(999_999, "job-x", now=17)
    assert ledger.requeue(entries[1].id, now=18).state == "pending"


def test_enqueueing_a_sweep_twice_adds_nothing(ledger: Ledger) -> None:
    specs = [{"model": "m", "hyperparameters": {"learning_rate": lr}} for lr in (1e-4, 2e-4)]
    first = ledger.enqueue(specs, "sweep-1", now=1)
    second = ledger.enqueue(specs, sweep_id="sweep-1", now=2)
    assert [e.id for e in first] == [e.id for e in second]
    assert [(e.sweep_id, e.member_index) for e in first] == [("sweep-1", 0), ("sweep-1", 1)]
    assert len(ledger.entries_in_state("pending")) == 2


def test_concurrent_claims_never_share_an_entry(open_at: OpenLedger) -> None:
    ledgers = [open_at(), open_at()]  # two "processes", each with its own pool
    ledgers[0].enqueue([{"model": f"m{i}"} for i in range(40)], now=1)
    start = threading.Barrier(8)

    def worker(n: int) -> list[int]:
        ledger = ledgers[n % 2]
        start.wait()
        claimed = []
        while (entry := ledger.claim_next(now=2)) is not None:
            claimed.append(entry.id)
        return claimed

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(worker, range(8)))
    every = [entry_id for claimed in results for entry_id in claimed]
    assert len(every) == 40 and len(set(every)) == 40
    assert ledgers[1].entries_in_state("pending") == []
    assert all(e.attempts == 1 for e in ledgers[1].entries_in_state("submitting"))


# -- leases -----------------------------------------------------------------------------------


def test_lease_is_exclusive_until_it_expires(ledger: Ledger) -> None:
    assert ledger.acquire_lease("daemon", "host-a", ttl_s=60, now=0)
    assert not ledger.acquire_lease("daemon", "host-b", ttl_s=60, now=30)
    assert ledger.acquire_lease("daemon", "host-a", ttl_s=60, now=50)  # renewed to 110
    assert not ledger.acquire_lease("daemon", "host-b", ttl_s=60, now=109)
    holder = ledger.lease_holder("daemon", now=109)
    assert holder is not None and (holder.owner, holder.expires_at) == ("host-a", 110)
    assert ledger.lease_holder("daemon", now=110) is None
    assert ledger.acquire_lease("daemon", "host-b", ttl_s=60, now=110)  # expired: taken over
    assert not ledger.acquire_lease("daemon", "host-a", ttl_s=60, now=111)
    assert not ledger.release_lease("daemon", "host-a")
    assert ledger.release_lease("daemon", "host-b")
    assert ledger.acquire_lease("daemon", "host-a", ttl_s=60, now=112)
    # Leases are per name.
    assert ledger.acquire_lease("other", "host-b", ttl_s=60, now=112)
    with pytest.raises(ValueError, match="positive"):
        ledger.acquire_lease("daemon", "host-a", ttl_s=0, now=112)


def test_only_one_of_many_concurrent_claimants_gets_the_lease(open_at: OpenLedger) -> None:
    ledgers = [open_at(), open_at()]
    start = threading.Barrier(8)

    def claim(n: int) -> bool:
        start.wait()
        return ledgers[n % 2].acquire_lease("daemon", f"owner-{n}", ttl_s=30, now=1_000)

    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(pool.map(claim, range(8)))
    assert won.count(True) == 1


# -- lineage ----------------------------------------------------------------------------------


def test_lineage_from_dataset_to_evaluations(ledger: Ledger) -> None:
    train, extra, held_out = sha("train"), sha("extra"), sha("eval")
    ledger.record_dataset(train, path="/d/train.jsonl", size_bytes=100, line_count=10, now=1)
    ledger.record_dataset(extra, path="/d/extra.jsonl", size_bytes=50, line_count=5, now=1)
    ledger.record_file("file-train", backend=BACKEND, uploaded_at=2, content_hash=train)
    ledger.record_file("file-extra", backend=BACKEND, uploaded_at=2, content_hash=extra)
    job_id = new_id()
    spec = {
        "model": "open-mistral-7b",
        "training_files": [
            {"file_id": "file-train", "weight": 1.0},
            {"file_id": "file-extra", "weight": 0.5},
        ],
        "validation_files": ["file-valid"],
    }
    ledger.upsert_job(
        job_snapshot(
            job_id,
            "QUEUED",
            3,
            training_files=["file-train", "file-extra"],
            validation_files=["file-valid"],
        ),
        backend=BACKEND,
        now=3,
        spec=spec,
    )
    model = "ft:open-mistral-7b:57d37e6c:20260101:abcd1234"
    ledger.apply_snapshot(
        job_snapshot(job_id, "SUCCESS", 4, fine_tuned_model=model), backend=BACKEND, now=4
    )
    run = ledger.create_eval_run(
        data_path="/d/eval.jsonl", data_hash=held_out, models=[model, "open-mistral-7b"], now=5
    )
    ledger.create_eval_run(
        data_path="/d/eval.jsonl", data_hash=held_out, models=["open-mistral-7b"], now=6
    )

    lineage = ledger.lineage_of_model(model)
    assert lineage.job is not None and lineage.job.id == job_id
    assert lineage.base_model == "open-mistral-7b"
    by_file = {(f.file_id, f.role): f for f in lineage.files}
    assert by_file[("file-train", "training")].weight == 1.0
    assert by_file[("file-extra", "training")].weight == 0.5
    assert by_file[("file-valid", "validation")].file is None  # uploaded outside tuner
    assert {d.content_hash for d in lineage.datasets} == {train, extra}
    assert [r.run_id for r in lineage.eval_runs] == [run.run_id]

    assert [j.id for j in ledger.jobs_using_file("file-extra")] == [job_id]
    assert [j.id for j in ledger.jobs_from_dataset(train)] == [job_id]
    assert ledger.jobs_from_dataset(held_out) == []

    unknown = ledger.lineage_of_model("ft:nothing")
    assert (unknown.job, unknown.files, unknown.datasets, unknown.eval_runs) == (None, [], [], [])


# -- evaluation runs --------------------------------------------------------------------------


def test_eval_items_are_upserted_and_missing_ones_found(ledger: Ledger) -> None:
    models = ["ft:m:1", "base"]
    run = ledger.create_eval_run(
        data_path=Path("/d/eval.jsonl"),
        data_hash=sha("eval"),
        models=models,
        judge="mistral-large-latest",
        params={"temperature": 0.0, "api_key": MISTRAL_KEY},
        now=10,
        run_id="run-1",
    )
    assert (run.run_id, run.models, run.status, run.params) == (
        "run-1",
        models,
        "running",
        {"temperature": 0.0},
    )
    ledger.record_eval_item("run-1", 0, "base", prompt_hash="p0", response_text="hi", now=11)
    ledger.record_eval_item("run-1", 0, "ft:m:1", prompt_hash="p0", error="HTTP 500", now=11)
    item = ledger.record_eval_item(
        "run-1",
        0,
        "ft:m:1",
        prompt_hash="p0",
        response_text="hello",
        latency_s=0.5,
        prompt_tokens=10,
        completion_tokens=3,
        scores={"exact": 1.0},
        judge_verdict={"winner": "ft:m:1"},
        now=12,
    )
    assert (item.error, item.response_text, item.updated_at) == (None, "hello", 12)
    ledger.record_eval_item("run-1", 1, "base", prompt_hash="p1", error="timeout", now=13)
    assert [(i.item_index, i.model) for i in ledger.eval_items("run-1")] == [
        (0, "base"),
        (0, "ft:m:1"),
        (1, "base"),
    ]
    assert ledger.missing_items("run-1", range(3), models) == [
        (1, "ft:m:1"),
        (1, "base"),
        (2, "ft:m:1"),
        (2, "base"),
    ]
    assert ledger.missing_items("run-1", [1, 2], ["base"], retry_errors=False) == [(2, "base")]
    done = ledger.set_eval_run_status("run-1", "completed", now=20)
    assert (done.status, done.updated_at, done.created_at) == ("completed", 20, 10)


def test_eval_runs_listing_and_errors(ledger: Ledger) -> None:
    one = ledger.create_eval_run(data_path="/e", data_hash=sha("e"), models=["a", "b"], now=1)
    two = ledger.create_eval_run(data_path="/e", data_hash=sha("e"), models=["b"], now=2)
    three = ledger.create_eval_run(data_path="/f", data_hash=sha("f"), models=["c"], now=3)
    assert [r.run_id for r in ledger.list_eval_runs()] == [three.run_id, two.run_id, one.run_id]
    assert [r.run_id for r in ledger.list_eval_runs(model="b")] == [two.run_id, one.run_id]
    assert [r.run_id for r in ledger.list_eval_runs(data_hash=sha("f"))] == [three.run_id]
    assert ledger.get_eval_run(one.run_id) == one
    with pytest.raises(LedgerError, match="already exists"):
        ledger.create_eval_run(
            data_path="/e", data_hash=sha("e"), models=["a"], now=4, run_id=one.run_id
        )
    with pytest.raises(NotFoundError):
        ledger.record_eval_item("no-such-run", 0, "a", prompt_hash="p", now=5)
    with pytest.raises(ValueError, match="at least one model"):
        ledger.create_eval_run(data_path="/e", data_hash=sha("e"), models=[], now=6)


# -- migrations -------------------------------------------------------------------------------

EXPECTED_TABLES = {
    "schema_version",
    "datasets",
    "files",
    "jobs",
    "job_files",
    "transitions",
    "checkpoints",
    "events",
    "notifications",
    "submissions",
    "leases",
    "eval_runs",
    "eval_run_models",
    "eval_items",
    "notifiers",  # since version 2
    "heartbeats",  # since version 3
}


def table_names(url: str) -> set[str]:
    engine = create_ledger_engine(resolve_url(url))
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_ledger_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def test_an_empty_version_0_database_is_migrated_to_the_current_schema(ledger_url: str) -> None:
    assert table_names(ledger_url) == set()
    with open_ledger(ledger_url) as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    assert table_names(ledger_url) == EXPECTED_TABLES
    with open_ledger(ledger_url) as again:  # opening again migrates nothing
        assert again.schema_version() == SCHEMA_VERSION
    assert query(ledger_url, "SELECT version FROM schema_version ORDER BY version") == [
        (v,) for v in range(1, SCHEMA_VERSION + 1)
    ]


def test_a_version_0_file_with_other_tables_keeps_them(sqlite_url: str) -> None:
    # A database that predates versioning: no schema_version table, content of its own.
    with sqlite3.connect(sqlite_url) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        conn.execute("INSERT INTO notes (text) VALUES ('keep me')")
    with open_ledger(sqlite_url) as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION
    with sqlite3.connect(sqlite_url) as conn:
        assert conn.execute("SELECT text FROM notes").fetchall() == [("keep me",)]


def test_a_later_migration_runs_once_and_keeps_the_data(ledger_url: str) -> None:
    job_id = new_id()
    with open_ledger(ledger_url) as ledger:
        ledger.apply_snapshot(job_snapshot(job_id, "RUNNING", 1), backend=BACKEND, now=1)
    calls: list[int] = []

    def next_add_priority(conn: sa.Connection) -> None:
        calls.append(1)
        conn.execute(sa.text("ALTER TABLE jobs ADD COLUMN priority INTEGER DEFAULT 0"))

    engine = create_ledger_engine(resolve_url(ledger_url))
    try:
        assert migrate(engine, [*MIGRATIONS, next_add_priority]) == SCHEMA_VERSION
        assert migrate(engine, [*MIGRATIONS, next_add_priority]) == SCHEMA_VERSION + 1
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, status, priority FROM jobs")).all()
    finally:
        engine.dispose()
    assert calls == [1]
    assert [tuple(r) for r in rows] == [(job_id, "RUNNING", 0)]
    # This tuner does not know that version: it refuses the newer database rather than damage it.
    with pytest.raises(SchemaTooNewError, match=f"version {SCHEMA_VERSION + 1}"):
        open_ledger(ledger_url)


def test_version_1_is_migrated_to_2_keeping_its_data(ledger_url: str) -> None:
    # A ledger as a tuner with schema version 1 left it: a job, its transition, an outbox row
    # for its configured notifier, a queued spec. Version 1's tables are those of today.
    job_id = new_id()
    transition_id = f"{job_id}:1:RUNNING"
    with older_ledger(ledger_url, 1) as conn:
        conn.execute(sa.insert(schema.jobs), running_job_row(job_id))
        conn.execute(
            sa.insert(schema.transitions),
            {"id": transition_id, "job_id": job_id, "seq": 1, "to_status": "RUNNING", "at": 1},
        )
        conn.execute(
            sa.insert(schema.notifications),
            {
                "transition_id": transition_id,
                "notifier": "log",
                "payload": {"transition_id": transition_id, "job_id": job_id},
                "status": "pending",
                "attempts": 0,
                "created_at": 1,
            },
        )
        conn.execute(
            sa.insert(schema.submissions),
            {
                "spec": {"model": "queued"},
                "state": "pending",
                "attempts": 0,
                "created_at": 1,
                "updated_at": 1,
            },
        )
    assert table_names(ledger_url) == EXPECTED_TABLES - {"notifiers", "heartbeats"}

    with open_ledger(ledger_url) as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION == 5
        job = ledger.get_job(job_id)
        assert job is not None and job.status == "RUNNING"
        assert [t.id for t in ledger.transitions(job_id)] == [transition_id]
        assert [(n.notifier, n.status) for n in ledger.notifications_for_job(job_id)] == [
            ("log", "pending")
        ]
        assert [e.spec for e in ledger.entries_in_state("pending")] == [{"model": "queued"}]
        assert ledger.registered_notifiers() == ()
        # The new table works at once: a registration reaches a writer without notifiers.
        ledger.register_notifiers(["log", "webhook"], now=2)
        changes = ledger.apply_snapshot(job_snapshot(job_id, "SUCCESS", 2), backend=BACKEND, now=3)
        assert [n.notifier for n in changes.notifications] == ["log", "webhook"]
    assert table_names(ledger_url) == EXPECTED_TABLES
    assert query(ledger_url, "SELECT version FROM schema_version ORDER BY version") == [
        (1,),
        (2,),
        (3,),
        (4,),
        (5,),
    ]


def test_version_2_is_migrated_to_3_keeping_its_data(ledger_url: str) -> None:
    # A ledger as a tuner with schema version 2 left it: a job, a held lease, a notifier.
    job_id = new_id()
    with older_ledger(ledger_url, 2) as conn:
        conn.execute(sa.insert(schema.jobs), running_job_row(job_id))
        conn.execute(
            sa.insert(schema.leases), {"name": "daemon", "owner": "h:1:u", "expires_at": 100}
        )
        conn.execute(
            sa.insert(schema.notifiers), {"name": "log", "registered_at": 1, "active": True}
        )
    assert table_names(ledger_url) == EXPECTED_TABLES - {"heartbeats"}

    with open_ledger(ledger_url) as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION == 5
        job = ledger.get_job(job_id)
        assert job is not None and job.status == "RUNNING"
        holder = ledger.lease_holder("daemon", 50)
        assert holder is not None and holder.owner == "h:1:u"
        assert ledger.registered_notifiers() == ("log",)
        # The new table works at once.
        assert ledger.last_heartbeat("daemon") is None
        ledger.record_heartbeat("daemon", 60)
        assert ledger.last_heartbeat("daemon") == 60
    assert table_names(ledger_url) == EXPECTED_TABLES
    assert query(ledger_url, "SELECT version FROM schema_version ORDER BY version") == [
        (1,),
        (2,),
        (3,),
        (4,),
        (5,),
    ]


def test_version_3_is_migrated_to_4_keeping_its_data(ledger_url: str) -> None:
    # A ledger as a tuner with schema version 3 left it: no origin columns yet (dropped here
    # from today's tables, which have them), a job, a file and an evaluation run.
    job_id = new_id()
    with older_ledger(ledger_url, 3, without=schema.V4_COLUMNS) as conn:
        insert_running_job(conn, job_id)
        conn.execute(
            sa.text(
                "INSERT INTO eval_runs (run_id, data_path, data_hash, status, created_at, "
                "updated_at) VALUES ('old-run', 'e.jsonl', :digest, 'completed', 1, 1)"
            ),
            {"digest": "a" * 64},
        )
        conn.execute(
            sa.text(
                "INSERT INTO eval_run_models (run_id, position, model) VALUES ('old-run', 0, 'm')"
            )
        )

    with open_ledger(ledger_url) as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION == 5
        job = ledger.get_job(job_id)
        assert job is not None and job.sandbox is None and not job.simulated
        run = ledger.get_eval_run("old-run")
        assert run is not None and run.backends == [Backend(url=None, sandbox=None)]
        # The new columns work at once.
        ledger.apply_snapshot(
            job_snapshot(job_id, "SUCCESS", 2), backend=BACKEND, now=3, sandbox=True
        )
        job = ledger.get_job(job_id)
        assert job is not None and job.sandbox is True and job.simulated
    assert query(ledger_url, "SELECT version FROM schema_version ORDER BY version") == [
        (1,),
        (2,),
        (3,),
        (4,),
        (5,),
    ]


def test_the_origin_of_jobs_files_and_eval_runs_is_stored(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        job_id = new_id()
        ledger.apply_snapshot(job_snapshot(job_id, "RUNNING", 1), backend=BACKEND, now=1)
        assert (job := ledger.get_job(job_id)) is not None and job.sandbox is None
        ledger.apply_snapshot(
            job_snapshot(job_id, "RUNNING", 2), backend=BACKEND, now=2, sandbox=False
        )
        assert (job := ledger.get_job(job_id)) is not None and job.sandbox is False
        # A snapshot that does not say leaves what is known.
        ledger.apply_snapshot(job_snapshot(job_id, "SUCCESS", 3), backend=BACKEND, now=3)
        assert (job := ledger.get_job(job_id)) is not None and job.sandbox is False
        ledger.record_file("file-1", backend=BACKEND, uploaded_at=1, sandbox=True)
        assert (found := ledger.get_file("file-1")) is not None and found.simulated
        run = ledger.create_eval_run(
            data_path="e.jsonl",
            data_hash="b" * 64,
            models=["tuned", "base"],
            backends=[
                Backend(url="http://127.0.0.1:1", sandbox=True),
                Backend(url="https://api.mistral.ai", sandbox=False),
            ],
            now=1,
        )
        assert run.simulated
        assert run.backends_json() == {
            "tuned": {"url": "http://127.0.0.1:1", "sandbox": True},
            "base": {"url": "https://api.mistral.ai", "sandbox": False},
        }
        with pytest.raises(ValueError, match="one backend per model"):
            ledger.create_eval_run(
                data_path="e.jsonl", data_hash="b" * 64, models=["m"], backends=[], now=1
            )


def test_heartbeats_are_recorded_and_read_per_name(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        assert ledger.last_heartbeat("daemon") is None
        ledger.record_heartbeat("daemon", 100)
        ledger.record_heartbeat("other", 7)
        assert ledger.last_heartbeat("daemon") == 100
        ledger.record_heartbeat("daemon", 160)  # one row per name, the latest wins
        assert ledger.last_heartbeat("daemon") == 160
        assert ledger.last_heartbeat("other") == 7
        with pytest.raises(ValueError, match="timezone-aware"):
            ledger.record_heartbeat("daemon", datetime(2025, 1, 1))
    assert query(ledger_url, "SELECT name, at FROM heartbeats ORDER BY name") == [
        ("daemon", 160),
        ("other", 7),
    ]


def test_a_failed_migration_changes_nothing(ledger_url: str) -> None:
    with open_ledger(ledger_url):
        pass

    def broken(conn: sa.Connection) -> None:
        conn.execute(sa.text("CREATE TABLE half_done (id INTEGER)"))
        raise RuntimeError("migration bug")

    engine = create_ledger_engine(resolve_url(ledger_url))
    try:
        with pytest.raises(RuntimeError, match="migration bug"):
            migrate(engine, [*MIGRATIONS, broken])
    finally:
        engine.dispose()
    assert "half_done" not in table_names(ledger_url)
    with open_ledger(ledger_url) as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION


def test_opening_a_new_ledger_from_many_threads_migrates_once(ledger_url: str) -> None:
    start = threading.Barrier(6)

    def open_and_count(_: int) -> int:
        start.wait()
        with open_ledger(ledger_url) as ledger:
            return ledger.schema_version()

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(open_and_count, range(6))) == [SCHEMA_VERSION] * 6
    assert query(ledger_url, "SELECT count(*) FROM schema_version") == [(SCHEMA_VERSION,)]


# -- concurrency ------------------------------------------------------------------------------

LIFECYCLE = ["QUEUED", "VALIDATING", "RUNNING", "SUCCESS"]


def lifecycle_snapshots(job_id: str) -> Iterator[dict[str, Any]]:
    """Polls of one job: status and checkpoints only ever move forward."""
    for n, status in enumerate(LIFECYCLE):
        yield job_snapshot(
            job_id,
            status,
            1_000 + n,
            checkpoints=[checkpoint(step, 1.0 / step, 1_000 + step) for step in range(1, n + 1)],
            events=[event("status-updated", 1_000 + k, status=LIFECYCLE[k]) for k in range(n + 1)],
        )


def test_threads_polling_the_same_jobs_record_each_change_once(open_at: OpenLedger) -> None:
    ledgers = [open_at(), open_at()]
    job_ids = [new_id() for _ in range(3)]
    start = threading.Barrier(6)

    def poller(n: int) -> None:
        ledger = ledgers[n % 2]
        start.wait()
        for job_id in job_ids:
            for snap in lifecycle_snapshots(job_id):
                ledger.apply_snapshot(snap, backend=BACKEND, now=2_000 + n)

    with ThreadPoolExecutor(max_workers=6) as pool:
        for future in [pool.submit(poller, n) for n in range(6)]:
            future.result()
    reader = ledgers[0]
    for job_id in job_ids:
        recorded = reader.transitions(job_id)
        assert [(t.from_status, t.to_status) for t in recorded] == list(
            zip([None, *LIFECYCLE[:-1]], LIFECYCLE, strict=True)
        )
        assert [c.step for c in reader.checkpoints(job_id)] == [1, 2, 3]
        assert len(reader.events(job_id)) == len(LIFECYCLE)
        assert len(reader.notifications_for_job(job_id)) == len(LIFECYCLE) * len(NOTIFIERS)
    assert reader.active_job_count() == 0


STATUSES = ["QUEUED", "VALIDATING", "VALIDATED", "RUNNING", "SUCCESS", "FAILED", "CANCELLED"]


@settings(
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    polls=st.lists(
        st.tuples(st.sampled_from(STATUSES), st.integers(min_value=0, max_value=20)),
        min_size=1,
        max_size=12,
    )
)
def test_any_sequence_of_polls_leaves_a_consistent_history(
    sqlite_ledger: Ledger, polls: Sequence[tuple[str, int]]
) -> None:
    """Whatever order snapshots arrive in, transitions chain, and nothing leaves a final state."""
    job_id = new_id()
    for n, (status, modified_at) in enumerate(polls):
        sqlite_ledger.apply_snapshot(
            job_snapshot(job_id, status, modified_at), backend=BACKEND, now=n
        )
    history = sqlite_ledger.transitions(job_id)
    assert [t.seq for t in history] == list(range(1, len(history) + 1))
    assert history[0].from_status is None
    for before, after in itertools.pairwise(history):
        assert after.from_status == before.to_status != after.to_status
        assert before.to_status not in {"SUCCESS", "FAILED", "CANCELLED"} or (
            after.to_status in {"SUCCESS", "FAILED", "CANCELLED"}
        )
    job = sqlite_ledger.get_job(job_id)
    assert job is not None and job.status == history[-1].to_status
    # Idempotent: the last poll again (accepted or stale) records nothing.
    status, modified_at = polls[-1]
    again = sqlite_ledger.apply_snapshot(
        job_snapshot(job_id, status, modified_at), backend=BACKEND, now=999
    )
    assert not again.changed


def test_records_are_strict_and_hold_no_database_objects(ledger: Ledger) -> None:
    job_id = new_id()
    job = ledger.apply_snapshot(job_snapshot(job_id, "QUEUED", 1), backend=BACKEND, now=1).job
    dumped = job.model_dump()
    assert dumped["id"] == job_id
    with pytest.raises(ValueError, match="extra"):
        type(job).model_validate({**dumped, "surprise": 1})
    assert isinstance(ledger.transitions(job_id)[0].at, int)


def test_records_import_no_database_library_and_the_ledger_no_http_or_ui() -> None:
    code = (
        "import sys\n"
        "import tuner.jobs.records\n"
        "print('sqlalchemy' in sys.modules)\n"
        "import tuner.jobs.ledger\n"
        "print(sorted(m for m in ('httpx', 'textual', 'typer') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n")[:2] == ["False", "[]"]
