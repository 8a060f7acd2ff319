"""Terminal conventions: q leaves (asked at the top level, back on a sub-screen), ? and F1 list
the current screen's keys, j/k/g/G move, Esc closes the palette and the help, the palette
lists each action once, a keymap rebinds by binding id; actions only where they are valid
(and on what has the focus); keys typed right after / go to the filter."""

from __future__ import annotations

from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import DataTable

from tests.jobs.flow_support import training_bytes
from tuner.sandbox import SandboxHandle
from tuner.tui.commands import ActionsProvider, help_rows
from tuner.tui.screens.dialogs import ConfirmScreen, HelpScreen, PromptScreen
from tuner.tui.screens.files import FilesScreen
from tuner.tui.screens.job_detail import JobDetailScreen
from tuner.tui.screens.jobs import JobsScreen
from tuner.tui.widgets.jobs_table import JobsTable

from .conftest import AppFactory
from .support import SandboxJobs, settle

pytestmark = pytest.mark.anyio


def some_jobs(jobs: SandboxJobs, sandbox: SandboxHandle, count: int = 3) -> list[str]:
    """``count`` jobs, oldest first, all finished."""
    ids = []
    for index in range(count):
        file_id = jobs.upload(training_bytes(tag=f"J{index} "), f"j{index}.jsonl")
        ids.append(jobs.create_job(file_id, suffix=f"job-{index}")["id"])
        sandbox.advance(1)
    sandbox.advance(2000)
    return ids


async def test_q_asks_at_the_top_level_and_goes_back_on_a_sub_screen(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    some_jobs(jobs, sandbox, 1)
    app = make_tui()
    exits: list[Any] = []
    app.exit = lambda *args, **kwargs: exits.append(args)  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await pilot.press("q")  # a sub-screen: back, nothing asked
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen) and not exits

        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen) and "Quit" in app.screen.question
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen) and not exits
        await pilot.press("q")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert exits == [()]


async def test_help_lists_the_screens_keys_readably_at_80x24(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    some_jobs(jobs, sandbox, 1)
    app = make_tui()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        actions = [action for _, action, _ in app.screen.rows]
        assert {"Quit", "New job", "Filter", "Start", "Cancel", "Help", "Down"} <= set(actions)
        assert len(actions) == len(set(actions))  # each once
        # The job is finished: start is listed as not possible now.
        start = next(row for row in app.screen.rows if row[1] == "Start")
        assert "not now" in start[2]
        dialog = app.screen.query_one("#help")
        assert dialog.region.bottom <= 24 and dialog.region.right <= 80
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        # On the job detail, its own keys.
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        detail_actions = {action for _, action, _ in help_rows(app, app.screen)}
        assert {"Back", "Next tab", "Quit"} <= detail_actions
        assert "New job" not in detail_actions


async def test_j_k_g_G_move_the_cursor(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    oldest, middle, newest = some_jobs(jobs, sandbox, 3)
    app = make_tui()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        table = app.screen.query_one(JobsTable)
        assert table.selected_id == newest
        await pilot.press("j")
        assert table.selected_id == middle
        await pilot.press("G")
        assert table.selected_id == oldest
        await pilot.press("k")
        assert table.selected_id == middle
        await pilot.press("g")
        assert table.selected_id == newest


async def test_the_palette_lists_each_action_once_and_escape_closes_it(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    some_jobs(jobs, sandbox, 1)
    app = make_tui()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        names = [name for name, _, _ in ActionsProvider(app.screen)._commands()]
        names += [command.title for command in app.get_system_commands(app.screen)]
        assert names.count("Quit") == 1
        assert len(names) == len(set(names)), sorted(names)
        hits = [hit async for hit in ActionsProvider(app.screen).search("help")]
        assert any("Help" in str(hit.match_display) for hit in hits)

        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        assert app.screen.focused is app.screen.query_one(JobsTable)


async def test_a_keymap_rebinds_by_binding_id(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    app = make_tui()
    app.config.keymap = {"jobs.new": "N", "no.such.binding": "z"}
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        assert any("no.such.binding" in n.message for n in app._notifications)
        await pilot.press("n")  # no longer bound
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("N")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)


async def test_actions_are_refused_where_they_are_not_valid(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    (finished,) = some_jobs(jobs, sandbox, 1)
    app = make_tui()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        assert screen.table.selected_id == finished
        # A SUCCESS job: no start, no cancel (not even a dialog); evaluate is offered.
        assert screen.check_action("cancel_job", ()) is None
        assert screen.check_action("start_job", ()) is None
        assert screen.check_action("evaluate_job", ()) is True
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        assert jobs.job(finished)["status"] == "SUCCESS"
        # From the palette (or a keymap that reaches the action anyway): said, not sent.
        screen.action_cancel_job()
        await settle(pilot)
        assert any("cannot be cancelled" in n.message for n in app._notifications)
        assert isinstance(app.screen, JobsScreen)

        # Files & models: with the files table focused, `a` does not archive the model.
        app.switch_mode("files")
        await settle(pilot, lambda: isinstance(app.screen, FilesScreen) and app.screen.loaded)
        files = app.screen
        assert isinstance(files, FilesScreen)
        model = next(iter(files.models))
        assert files.focused is files.query_one("#files-table", DataTable)
        assert files.check_action("archive", ()) is None
        await pilot.press("a")
        await settle(pilot)
        files.action_archive()
        await settle(pilot)
        files.load()
        await settle(pilot)
        assert not files.models[model].archived
        await pilot.press("tab")  # the models table: now it may
        await settle(pilot)
        assert files.check_action("archive", ()) is True
        assert files.check_action("unarchive", ()) is None


async def test_keys_typed_right_after_slash_go_to_the_filter(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    some_jobs(jobs, sandbox, 2)
    app = make_tui()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        await pilot.press("slash", "e", "x")  # one burst: `e` would evaluate on the table
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        assert app.current_mode == "jobs"
        assert app.screen.query_one("#jobs-filter").value == "ex"  # type: ignore[attr-defined]


async def test_the_playground_opened_from_the_palette_focuses_the_prompt(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    app = make_tui()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        hits = [hit async for hit in ActionsProvider(app.screen).search("Playground")]
        best = max(hits, key=lambda hit: hit.score)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press("escape")  # the palette closes…
        await settle(pilot)
        await best.command()  # type: ignore[misc]  # …and its Playground command runs
        await settle(pilot, lambda: app.current_mode == "playground")
        focused = app.screen.focused
        assert focused is not None and focused.id == "pg-prompt"
