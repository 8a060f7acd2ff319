"""The jobs table with a second provider: OpenAI's jobs (of the OpenAI backend) beside
Mistral's, and a provider column only once a row is not Mistral's (a Mistral-only dashboard
keeps its layout)."""

from __future__ import annotations

from pathlib import Path

from tuner.jobs.ledger import open_ledger
from tuner.tui.views.jobs import load_jobs
from tuner.tui.widgets.jobs_table import column_layout, row_cells

MISTRAL = "http://127.0.0.1:8000"
OPENAI = "http://127.0.0.1:9000/v1"
NOW = 1_760_040_000


def test_both_providers_in_one_table_with_a_provider_column(tmp_path: Path) -> None:
    with open_ledger(str(tmp_path / "ledger.db")) as ledger:
        ledger.apply_snapshot(
            {"id": "m-1", "model": "open-mistral-7b", "status": "RUNNING", "created_at": NOW - 9},
            backend=MISTRAL,
            now=NOW,
        )
        ledger.apply_snapshot(
            {
                "id": "ftjob-abc12345",
                "model": "gpt-4o-mini-2024-07-18",
                "status": "SUCCESS",
                "provider": "openai",
                "provider_status": "succeeded",
                "created_at": NOW - 5,
            },
            backend=OPENAI,
            now=NOW,
        )
        ledger.enqueue([{"model": "gpt-4.1-mini-2025-04-14"}], now=NOW - 1, provider="openai")

        mistral_only = load_jobs(ledger, MISTRAL, NOW)
        both = load_jobs(ledger, MISTRAL, NOW, also=(OPENAI,))

    assert [row.id for row in mistral_only.rows if not row.is_local] == ["m-1"]
    assert [(row.id, row.provider) for row in both.rows] == [
        ("queue-1", "openai"),
        ("ftjob-abc12345", "openai"),
        ("m-1", "mistral"),
    ]
    assert "provider" not in [c.key for c in column_layout(100)]
    columns = column_layout(100, providers=True)
    keys = [c.key for c in columns]
    assert keys.index("provider") == keys.index("status") + 1
    cells = row_cells(both.rows[1], NOW, columns)
    assert cells[keys.index("provider")].plain == "openai"


def test_a_sandbox_job_of_the_other_provider_is_marked_in_the_status_bar(tmp_path: Path) -> None:
    # Mistral's backend is a real API here (the status bar says API), OpenAI's a sandbox: its
    # rows would otherwise be shown with nothing saying they were made up.
    from tuner.tui.views.jobs import StatusInfo
    from tuner.tui.widgets.status import backend_text

    with open_ledger(str(tmp_path / "ledger.db")) as ledger:
        ledger.apply_snapshot(
            {"id": "m-1", "model": "open-mistral-7b", "status": "RUNNING", "created_at": NOW - 9},
            backend=MISTRAL,
            now=NOW,
            sandbox=False,
        )
        real_only = load_jobs(ledger, MISTRAL, NOW, also=(OPENAI,))
        ledger.apply_snapshot(
            {
                "id": "ftjob-abc12345",
                "model": "gpt-4o-mini-2024-07-18",
                "status": "SUCCESS",
                "provider": "openai",
                "provider_status": "succeeded",
                "created_at": NOW - 5,
            },
            backend=OPENAI,
            now=NOW,
            sandbox=True,
        )
        both = load_jobs(ledger, MISTRAL, NOW, also=(OPENAI,))

    assert real_only.simulated_providers == ()
    assert [(row.id, row.simulated) for row in both.rows] == [
        ("ftjob-abc12345", True),
        ("m-1", False),
    ]
    assert both.simulated_providers == ("openai",)

    def bar(snapshot_providers: tuple[str, ...]) -> str:
        info = StatusInfo(
            backend=MISTRAL,
            sandbox=False,
            keys=None,
            daemon=None,
            last_update=None,
            last_poll=None,
            poll_interval=None,
            reachable=True,
            now=NOW,
            other_sandboxes=snapshot_providers,
        )
        return backend_text(info).plain

    assert "SANDBOX" not in bar(real_only.simulated_providers)
    assert "API" in bar(both.simulated_providers)
    assert "openai: SANDBOX" in bar(both.simulated_providers)
