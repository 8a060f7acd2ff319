"""Creating jobs from the dashboard never drops work: two creates in a row both start, every
member of a sweep is submitted (the ones waiting for room shown as QUEUED-LOCAL rows), and
the refresh loop keeps polling while a dialog waits for an answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.jobs.flow_support import training_bytes
from tuner.sandbox import SandboxHandle
from tuner.tui.screens.dialogs import ConfirmScreen, PromptScreen
from tuner.tui.views.jobs import QUEUED_LOCAL

from .conftest import AppFactory
from .support import BASE_MODEL, SandboxJobs, settle

pytestmark = pytest.mark.anyio

WAIT_LIMIT = 120.0
"""Seconds of wall time a step may take before the test gives up (a bound, not a pace)."""


def write_spec(folder: Path, name: str, suffix: str, *, sweep: str = "") -> Path:
    data = folder / f"{name}.jsonl"
    data.write_bytes(training_bytes(tag=f"{name}: "))
    spec = folder / f"{name}.toml"
    spec.write_text(
        f'model = "{BASE_MODEL}"\nsuffix = "{suffix}"\n'
        f'training_files = [{{ path = "{data.name}", weight = 1.0 }}]\n'
        "[hyperparameters]\ntraining_steps = 10\n" + sweep,
        encoding="utf-8",
    )
    return spec


async def wait_for(pilot: Any, until: Callable[[], bool]) -> None:
    """Let the app run until ``until()`` holds, while a worker may be blocked on purpose (so
    ``settle``, which waits for every worker, cannot be used). Bounded, not paced."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_LIMIT
    while not until():
        if loop.time() > deadline:
            raise AssertionError("the app did not reach the expected state")
        await pilot.pause(0.02)


async def submit_spec(pilot: Any, path: Path) -> None:
    """``n``, type the spec's path, enter: the local check runs and "Create?" is asked."""
    app = pilot.app
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
    app.screen.query_one("#prompt-input").value = str(path)
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ConfirmScreen) and "Create" in app.screen.question,
    )


def start_prompts(app: Any) -> list[ConfirmScreen]:
    return [
        screen
        for screen in app.screen_stack
        if isinstance(screen, ConfirmScreen) and "Start it?" in screen.question
    ]


def server_jobs(jobs: SandboxJobs) -> list[dict[str, Any]]:
    return list(jobs.http.get("/v1/fine_tuning/jobs", params={"page_size": 100}).json()["data"])


async def test_two_creates_in_a_row_both_ask_to_start_and_both_start(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    first = write_spec(tmp_path, "first", "first-job")
    second = write_spec(tmp_path, "second", "second-job")
    gate = asyncio.Event()
    waiting = 0

    async def gated_sleep(seconds: float) -> None:
        # The creates wait for VALIDATED here: held until both have been asked for.
        nonlocal waiting
        waiting += 1
        await gate.wait()
        sandbox.advance(seconds)

    app = make_tui(sleep=gated_sleep)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        await submit_spec(pilot, first)
        await pilot.press("y")
        await wait_for(pilot, lambda: waiting >= 1)  # the first is created, not yet validated
        # The second spec while the first create is still in progress.
        await submit_spec(pilot, second)
        await pilot.press("y")
        await wait_for(pilot, lambda: waiting >= 2)
        gate.set()
        await settle(pilot, lambda: len(start_prompts(app)) == 2)
        questions = " ".join(screen.question for screen in start_prompts(app))
        created = {job["suffix"]: job["id"] for job in server_jobs(jobs)}
        assert set(created) == {"first-job", "second-job"}
        assert all(job_id in questions for job_id in created.values())
        await pilot.press("y")
        await settle(pilot, lambda: len(start_prompts(app)) == 1)
        await pilot.press("y")
        await settle(pilot, lambda: not start_prompts(app))
        for job_id in created.values():
            assert jobs.job(job_id)["status"] in ("QUEUED", "RUNNING")


async def test_every_member_of_a_sweep_is_submitted(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    spec = write_spec(
        tmp_path,
        "grid",
        "grid",
        sweep="[sweep]\nlearning_rate = [1e-4, 5e-5]\ntraining_steps = [10, 20]\n",
    )
    app = make_tui()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        await submit_spec(pilot, spec)
        assert "total" in app.screen.detail  # the whole grid's estimate, asked once
        await pilot.press("y")
        await settle(pilot, lambda: len(server_jobs(jobs)) == 3)
        # Three at once (the max-active limit); the fourth waits in the local queue, shown.
        await pilot.press("r")
        await settle(pilot, lambda: app.snapshot is not None and app.snapshot.queued == 1)
        table = app.screen.query_one("#jobs-table")
        local = [row for row in table.rows_by_id.values() if row.status == QUEUED_LOCAL]
        assert len(local) == 1 and local[0].suffix is not None
        assert local[0].suffix.startswith("grid")
        # Nothing else to do: the members run to the end, then the dashboard (no daemon here)
        # creates the fourth from the queue and starts it, as agreed.
        sandbox.advance(3600)
        await pilot.press("r")
        await settle(pilot, lambda: len(server_jobs(jobs)) == 4)
        sandbox.advance(60)
        await pilot.press("r")
        await settle(pilot, lambda: app.cycles >= 4)
        await pilot.press("r")
        await settle(
            pilot,
            lambda: (
                all(job["status"] != "VALIDATED" for job in server_jobs(jobs))
                and app.snapshot is not None
                and app.snapshot.queued == 0
            ),
        )
        suffixes = sorted(job["suffix"] for job in server_jobs(jobs))
        assert len(set(suffixes)) == 4
        assert all(job["status"] in ("QUEUED", "RUNNING", "SUCCESS") for job in server_jobs(jobs))
        assert not any(row.status == QUEUED_LOCAL for row in table.rows_by_id.values())


async def test_polling_goes_on_while_a_dialog_is_open(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    running = jobs.create_job(jobs.upload(training_bytes()), suffix="live")["id"]
    app = make_tui(poll_interval=3600.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        table = app.screen.query_one("#jobs-table")
        table.select(running)
        await pilot.press("c")  # "Cancel job …?" stays open, unanswered
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        sandbox.advance(3600)
        before = app.cycles
        app._on_timer()  # the refresh timer fires while the dialog is open
        await settle(pilot, lambda: app.cycles > before)
        assert isinstance(app.screen, ConfirmScreen)
        row = table.rows_by_id[running]
        assert row.status == "SUCCESS"  # the table behind the dialog is up to date
        assert app.last_poll == int(sandbox.clock.now())


async def test_a_model_trained_while_open_is_suggested(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    job_id = jobs.create_job(jobs.upload(training_bytes()), suffix="fresh")["id"]
    app = make_tui()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1 and bool(app.models))
        assert not any("fresh" in model for model in app.models)
        sandbox.advance(3600)
        await pilot.press("r")
        await settle(pilot, lambda: app.cycles >= 2)
        tuned = jobs.job(job_id)["fine_tuned_model"]
        assert tuned and tuned in app.models and tuned in app.fine_tuned_models
