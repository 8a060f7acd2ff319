"""Untrusted text in the dashboard: escape sequences from the server or the data are shown
escaped in every table cell, title and panel, never passed to the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import DataTable, Static, Tree

from tests.jobs.flow_support import training_bytes
from tuner.sandbox import SandboxHandle
from tuner.sandbox.records import Validation
from tuner.sandbox.store import JOBS
from tuner.tui.screens.job_detail import JobDetailScreen
from tuner.tui.screens.jobs import JobPreview
from tuner.tui.views.conversation import LineContent, Pointer
from tuner.tui.widgets.conversation import message_body, raw_line
from tuner.tui.widgets.jobs_table import JobsTable

from .conftest import AppFactory
from .support import SandboxJobs, plain, settle

pytestmark = pytest.mark.anyio

CLEAR = "\u001b[2J"
LINK = "\u001b]8;;http://evil.example/\u001b\\x\u001b]8;;\u001b\\"
CONTROL = ("\u001b", "\u009b", "\u0007", "\u0008")


def assert_inert(text: str) -> None:
    for char in CONTROL:
        assert char not in text, f"{char!r} in {text!r}"


def cells(table: DataTable[Any]) -> list[str]:
    return [
        cell.plain if isinstance(cell, Text) else str(cell)
        for row in range(table.row_count)
        for cell in table.get_row_at(row)
    ]


def hostile_job(jobs: SandboxJobs, sandbox: SandboxHandle) -> str:
    """A job whose suffix holds escapes and whose validation failed with an escaping message."""
    created = jobs.create_job(
        jobs.upload(training_bytes()), suffix=CLEAR + "[b]x\u009b1m", auto_start=False
    )
    store = sandbox.sandbox.store
    record = store.get(JOBS, created["id"])
    assert record is not None
    failed = Validation(ok=False, error="bad " + LINK + CLEAR + "\u0007")
    store.put(JOBS, record.model_copy(update={"validation": failed}), created=record.created_at)
    sandbox.advance(60)
    return str(created["id"])


async def test_jobs_table_preview_and_detail_hold_no_escape(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    job_id = hostile_job(jobs, sandbox)
    app = make_tui()
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        table = app.screen.query_one(JobsTable)
        assert table.row_count == 1
        shown = cells(table)
        for cell in shown:
            assert_inert(cell)
        assert "\\x1b[2J[b]x\\u009b1m" in shown  # escaped, and the markup kept as text
        preview = app.screen.query_one(JobPreview)
        assert_inert(plain(preview.render()))

        app.screen.open_job(job_id)  # type: ignore[attr-defined]
        await settle(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.loaded)
        screen = app.screen
        events = cells(screen.query_one("#job-events", DataTable))
        assert any("error=bad \\x1b]8;;http" in cell for cell in events)
        for cell in events:
            assert_inert(cell)
        for panel in ("#job-title", "#job-hyper", "#job-meta", "#job-error"):
            assert_inert(plain(screen.query_one(panel, Static).render(), width=160))
        why = screen.query_one("#job-error", Static)  # why it failed, in full: the server's words
        assert why.display and "bad \\x1b]8;;http" in plain(why.render(), width=160)
        tree = screen.query_one("#job-lineage", Tree)
        assert_inert(str(tree.root.label))

        # Toasts too: the app escapes every notification's text.
        app.notify("server said " + CLEAR, markup=False)
        await pilot.pause()
        assert all("\u001b" not in n.message for n in app._notifications)


def test_conversation_panels_show_the_data_inert() -> None:
    message = {
        "role": "assistant",
        "content": "line one\n" + LINK + CLEAR,
        "tool_calls": [
            {
                "id": "id" + CLEAR,
                "type": "function",
                "function": {"name": "f\u009b", "arguments": "{}"},
            }
        ],
    }
    rendered = plain(message_body(message, Pointer(), 1))
    assert_inert(rendered)
    assert "line one\n" in rendered  # content keeps its own line breaks
    raw = '{"messages": [' + CLEAR + "]}"
    line = raw_line(LineContent(number=3, raw=raw, parsed=False, value=None), column=15)
    assert_inert(line.plain)
    assert line.plain == '{"messages": [\\x1b[2J]}'


async def test_a_file_name_with_escapes_is_drawn_inert_in_its_field(
    make_tui: AppFactory, tmp_path: Path
) -> None:
    """A path field holding a hostile file name draws each control character as one visible
    character: nothing reaches the terminal, the value (the real path) is unchanged, and the
    cursor still lines up; completion never suggests such a name."""
    from tuner.tui.paths import complete_path
    from tuner.tui.widgets.inputs import TunerInput

    hostile = tmp_path / f"data{CLEAR}x.jsonl"
    hostile.write_bytes(training_bytes())
    app = make_tui(mode="data", probe=False, self_poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        field = app.screen.query_one("#data-path", TunerInput)
        field.value = str(hostile)
        field.focus()
        await pilot.pause()
        drawn = "".join(segment.text for segment in field.render_line(0))
        assert_inert(drawn)
        assert "data\u241b[2Jx.jsonl" in drawn
        assert field.value == str(hostile)
        assert len(field._value.plain) == len(field.value)  # one cell per character
    assert complete_path(str(tmp_path / "da"), (".jsonl",)) is None
