"""One snapshot per screen: fixed terminal size, fixed data (``fixed.py``), a fixed clock, no
cursor blink. Update with ``pytest tests/tui/test_snapshots.py --snapshot-update``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tuner.jobs.ledger import Ledger, open_ledger
from tuner.tui import TunerApp, make_app

from . import fixed
from .support import settle

SIZE = (100, 30)


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    monkeypatch.chdir(tmp_path)  # paths on screen are relative: the same on every machine
    ledger = open_ledger(str(tmp_path / "ledger.db"))
    fixed.seed_ledger(ledger, tmp_path)
    yield ledger
    ledger.close()


def fixed_app(ledger: Ledger, **options: Any) -> TunerApp:
    settings: dict[str, Any] = {
        "client": fixed.fake_client(),
        "ledger": ledger,
        "clock": fixed.clock,
        "poll_interval": None,
        "cursor_blink": False,
        "close_client": True,
    }
    settings.update(options)
    return make_app(**settings)


def ready(until: Callable[[TunerApp], bool] | None = None) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, TunerApp)
        await settle(pilot, lambda: app.cycles >= 1 and app.status.sandbox is True)
        if until is not None:
            await settle(pilot, lambda: until(app))

    return run_before


def test_jobs_screen(snap_compare: Any, seeded: Ledger) -> None:
    assert snap_compare(fixed_app(seeded), terminal_size=SIZE, run_before=ready())


def test_jobs_screen_at_80x24(snap_compare: Any, seeded: Ledger) -> None:
    assert snap_compare(fixed_app(seeded), terminal_size=(80, 24), run_before=ready())


def test_jobs_screen_sweep_compared_at_80x24(snap_compare: Any, seeded: Ledger) -> None:
    """A sweep at 80x24 in compare mode: members told apart by suffix, learning rate, steps
    and best validation loss, ordered by that loss (the queued member last)."""

    async def compare(pilot: Pilot[Any]) -> None:
        await ready()(pilot)
        await pilot.press("v")
        pilot.app.screen.query_one("#jobs-table").sort_by("val_loss")
        pilot.app.clear_notifications()
        await settle(pilot)

    assert snap_compare(fixed_app(seeded), terminal_size=(80, 24), run_before=compare)


def test_help_at_80x24(snap_compare: Any, seeded: Ledger) -> None:
    async def help_open(pilot: Pilot[Any]) -> None:
        await ready()(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(fixed_app(seeded), terminal_size=(80, 24), run_before=help_open)


def test_jobs_screen_wide(snap_compare: Any, seeded: Ledger) -> None:
    """Wider terminals get a preview of the selected job beside the table."""
    assert snap_compare(fixed_app(seeded), terminal_size=(140, 30), run_before=ready())


def test_job_detail_loss_chart(snap_compare: Any, seeded: Ledger) -> None:
    async def open_loss(pilot: Pilot[Any]) -> None:
        await ready()(pilot)
        app = pilot.app
        app.screen.query_one("#jobs-table").select(fixed.SUPPORT_JOB)
        await pilot.press("enter")
        await settle(pilot, lambda: getattr(app.screen, "loaded", 0) >= 1)
        await pilot.press("t")
        await settle(pilot)

    assert snap_compare(fixed_app(seeded), terminal_size=SIZE, run_before=open_loss)


def test_data_screen(snap_compare: Any, seeded: Ledger) -> None:
    app = fixed_app(seeded, mode="data", data_path="broken.jsonl")
    run_before = ready(lambda app: getattr(app.screen, "loaded", 0) >= 1)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_conversation_screen(snap_compare: Any, seeded: Ledger) -> None:
    async def open_finding(pilot: Pilot[Any]) -> None:
        await ready(lambda app: getattr(app.screen, "loaded", 0) >= 1)(pilot)
        screen = pilot.app.screen
        index = next(i for i, f in enumerate(screen.findings) if f.line == 14)
        screen.query_one("#data-findings").move_cursor(row=index)
        await pilot.press("enter")
        await settle(pilot, lambda: type(pilot.app.screen).__name__ == "ConversationScreen")

    app = fixed_app(seeded, mode="data", data_path="broken.jsonl")
    assert snap_compare(app, terminal_size=SIZE, run_before=open_finding)


def test_files_screen(snap_compare: Any, seeded: Ledger) -> None:
    app = fixed_app(seeded, mode="files")
    run_before = ready(lambda app: getattr(app.screen, "loaded", 0) >= 1)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_evaluate_screen(snap_compare: Any, seeded: Ledger) -> None:
    """The form with the tuned model's id filled in (whole, on a row of its own)."""

    async def filled(pilot: Pilot[Any]) -> None:
        await ready(lambda app: getattr(app.screen, "shown", 0) >= 1)(pilot)
        pilot.app.screen.query_one("#eval-model").value = fixed.SUPPORT_MODEL
        await settle(pilot)

    app = fixed_app(seeded, mode="evaluate")
    assert snap_compare(app, terminal_size=SIZE, run_before=filled)


def test_evaluate_item_screen(snap_compare: Any, seeded: Ledger) -> None:
    async def open_item(pilot: Pilot[Any]) -> None:
        await ready(lambda app: getattr(app.screen, "shown", 0) >= 1)(pilot)
        await pilot.press("enter")
        await settle(pilot, lambda: type(pilot.app.screen).__name__ == "EvalItemScreen")

    app = fixed_app(seeded, mode="evaluate")
    assert snap_compare(app, terminal_size=SIZE, run_before=open_item)


def test_playground_screen(snap_compare: Any, seeded: Ledger) -> None:
    async def chat(pilot: Pilot[Any]) -> None:
        await ready()(pilot)
        await pilot.press("ctrl+b")
        pilot.app.screen.query_one("#pg-model-b").value = fixed.SUPPORT_MODEL
        pilot.app.screen.query_one("#pg-prompt").value = "How do I reset my password?"
        await pilot.press("enter")
        await settle(pilot, lambda: not pilot.app.screen.query_one("#pane-b").streaming)

    app = fixed_app(seeded, mode="playground")
    assert snap_compare(app, terminal_size=SIZE, run_before=chat)
