"""Ledger schema version 5: each file, job and queued spec records its provider; rows from
before are Mistral's. Runs on SQLite and, with TUNER_TEST_POSTGRES_URL, PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from tuner.jobs.ledger import SCHEMA_VERSION, Ledger, open_ledger, schema

from .ledger_support import (
    BACKEND,
    every_database_ledger,  # noqa: F401  (the fixture ``ledger``: on every database)
    insert_running_job,
    job_snapshot,
    new_id,
    older_ledger,
    sha,
)

OPENAI_BACKEND = "https://api.openai.com/v1"


def openai_snapshot(job_id: str, status: str, provider_status: str) -> dict[str, object]:
    return {
        "id": job_id,
        "model": "gpt-4o-mini-2024-07-18",
        "status": status,
        "provider": "openai",
        "provider_status": provider_status,
        "created_at": 1_000,
        "training_files": ["file-t"],
    }


def test_version_4_is_migrated_to_5_and_old_rows_are_mistrals(ledger_url: str) -> None:
    job_id = new_id()
    # Today's v1 tables already have the column: dropped, to be a real version 4.
    with older_ledger(ledger_url, 4, without=schema.V5_COLUMNS) as conn:
        insert_running_job(conn, job_id)
        conn.execute(
            sa.text(
                "INSERT INTO submissions (spec, state, attempts, created_at, updated_at) "
                "VALUES ('{}', 'pending', 0, 1, 1)"
            )
        )

    with open_ledger(ledger_url) as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION == 5
        job = ledger.get_job(job_id)
        assert job is not None and job.provider == "mistral"
        assert job.provider_status == "RUNNING"
        assert [e.provider for e in ledger.entries_in_state("pending")] == ["mistral"]
        assert ledger.claim_next(2, provider="openai") is None
        claimed = ledger.claim_next(2)
        assert claimed is not None and claimed.provider == "mistral"
        # The new column works at once.
        ledger.apply_snapshot(
            openai_snapshot("ftjob-1", "RUNNING", "running"), backend=OPENAI_BACKEND, now=3
        )
        assert [j.id for j in ledger.list_jobs(provider="openai")] == ["ftjob-1"]


def test_an_openai_job_keeps_its_provider_and_its_own_status(ledger: Ledger) -> None:
    ledger.apply_snapshot(
        openai_snapshot("ftjob-a", "RUNNING", "paused"), backend=OPENAI_BACKEND, now=1
    )
    ledger.apply_snapshot(job_snapshot("job-m", "RUNNING", 1), backend=BACKEND, now=1)
    changes = ledger.apply_snapshot(
        openai_snapshot("ftjob-a", "SUCCESS", "succeeded"), backend=OPENAI_BACKEND, now=2
    )

    job = changes.job
    assert (job.provider, job.status, job.provider_status) == ("openai", "SUCCESS", "succeeded")
    assert [t.to_status for t in changes.transitions] == ["SUCCESS"]
    assert [j.id for j in ledger.list_jobs(provider="openai")] == ["ftjob-a"]
    assert [j.id for j in ledger.list_jobs(provider="mistral")] == ["job-m"]
    assert {j.id for j in ledger.list_jobs()} == {"ftjob-a", "job-m"}
    mistral = ledger.get_job("job-m")
    assert mistral is not None and mistral.provider_status == "RUNNING"


def test_files_and_queue_entries_carry_their_provider(ledger: Ledger) -> None:
    digest = sha("data")
    ledger.record_dataset(digest, path="/d.jsonl", size_bytes=4, line_count=1, now=1)
    ledger.record_file(
        "file-o", backend=OPENAI_BACKEND, uploaded_at=1, content_hash=digest, provider="openai"
    )
    ledger.record_file("f-m", backend=BACKEND, uploaded_at=1, content_hash=digest)
    openai_file, mistral_file = ledger.get_file("file-o"), ledger.get_file("f-m")
    assert openai_file is not None and openai_file.provider == "openai"
    assert mistral_file is not None and mistral_file.provider == "mistral"

    ledger.enqueue([{"model": "open-mistral-7b"}], now=1)
    ledger.enqueue([{"model": "gpt-4o-mini-2024-07-18"}], now=1, provider="openai")
    assert [e.provider for e in ledger.entries_in_state("pending")] == ["mistral", "openai"]
    assert [e.spec for e in ledger.entries_in_state("pending", provider="openai")] == [
        {"model": "gpt-4o-mini-2024-07-18"}
    ]
    # Each provider's submitter claims only its own entries.
    first = ledger.claim_next(2, provider="openai")
    assert first is not None and first.spec == {"model": "gpt-4o-mini-2024-07-18"}
    assert ledger.claim_next(2, provider="openai") is None
    second = ledger.claim_next(2)
    assert second is not None and second.provider == "mistral"
