"""Files and models against the sandbox: listing, rename, archive/unarchive, delete (asked)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from tests.jobs.flow_support import training_bytes
from tuner.sandbox import SandboxHandle
from tuner.tui.screens.dialogs import ConfirmScreen, PromptScreen
from tuner.tui.screens.files import FilesScreen

from .conftest import AppFactory
from .support import SandboxJobs, settle

pytestmark = pytest.mark.anyio


def tuned_model(jobs: SandboxJobs, sandbox: SandboxHandle) -> tuple[str, str]:
    file_id = jobs.upload(training_bytes())
    job = jobs.create_job(file_id, suffix="files")
    sandbox.advance(1000)
    model = jobs.job(job["id"])["fine_tuned_model"]
    assert model
    return file_id, str(model)


async def test_files_and_models_with_their_actions(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    file_id, model = tuned_model(jobs, sandbox)
    spare = jobs.upload(training_bytes(tag="Spare: "), "spare.jsonl")
    app = make_tui(mode="files")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, FilesScreen) and app.screen.loaded)
        screen = app.screen
        assert isinstance(screen, FilesScreen)
        files = screen.query_one("#files-table", DataTable)
        models = screen.query_one("#models-table", DataTable)
        assert set(screen.files) == {file_id, spare}
        assert files.row_count == 2
        assert models.row_count == 1 and model in screen.models

        # Rename: the models table gets the keyboard with tab.
        await pilot.press("tab")
        assert screen.focused is models
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("#prompt-input").value = "support bot"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot, lambda: screen.models[model].name == "support bot")
        assert models.get_cell(model, models.ordered_columns[3].key).plain == "support bot"

        # Archive, then unarchive.
        await pilot.press("a")
        await settle(pilot, lambda: screen.models[model].archived)
        await pilot.press("u")
        await settle(pilot, lambda: not screen.models[model].archived)

        # Delete a file: asked first; "no" keeps it.
        await pilot.press("tab")
        assert screen.focused is files
        files.move_cursor(row=files.get_row_index(spare))
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "spare.jsonl" in app.screen.question
        await pilot.press("n")
        await settle(pilot)
        assert spare in screen.files
        await pilot.press("delete")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot, lambda: spare not in screen.files)
        assert files.row_count == 1

        # Delete the model.
        await pilot.press("tab", "x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot, lambda: not screen.models)
        assert models.row_count == 0


async def test_a_refused_action_is_a_notification(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    _, model = tuned_model(jobs, sandbox)
    app = make_tui(mode="files")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, FilesScreen) and app.screen.loaded)
        screen = app.screen
        assert isinstance(screen, FilesScreen)
        jobs.http.delete(f"/v1/models/{model}")  # gone behind the dashboard's back
        await pilot.press("tab")
        assert screen.focused is screen.query_one("#models-table")
        await pilot.press("a")
        await settle(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        assert any("not found" in n.message.lower() for n in app._notifications)
        assert isinstance(app.screen, FilesScreen)  # no crash
