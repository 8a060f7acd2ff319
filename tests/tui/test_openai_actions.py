"""The dashboard's actions on OpenAI's jobs reach OpenAI, through the core the CLI uses: a job
created from an OpenAI spec (`n`, the local estimate confirmed, created and started), cancelled
from the table and from the detail, the detail's refresh and the refresh loop following an
OpenAI job to its end, and no Start offered. A Mistral and an OpenAI sandbox on 127.0.0.1
(port 0, manual clocks); Mistral's sandbox must see none of it."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.jobs.test_openai_jobs import PAST_THE_END, conversations
from tuner.api import RetryPolicy
from tuner.api.openai import OpenAIClient
from tuner.sandbox import ManualClock, SandboxHandle, start_in_thread
from tuner.tui.screens.dialogs import ConfirmScreen
from tuner.tui.screens.job_detail import JobDetailScreen

from .conftest import AppFactory
from .support import API_KEY, START, SandboxJobs, ask_to_create, settle

pytestmark = pytest.mark.anyio
MODEL = "gpt-4o-mini-2024-07-18"


@pytest.fixture
def oai(tmp_path: Path) -> Iterator[SandboxHandle]:
    handle = start_in_thread(
        tmp_path / "openai-sandbox", port=0, clock=ManualClock(START), provider="openai"
    )
    yield handle
    threading.Thread(target=handle.stop, name="stop-openai-sandbox").start()


@pytest.fixture
def oai_client(oai: SandboxHandle) -> OpenAIClient:
    """The OpenAI client the app is given (and closes on exit, with Mistral's)."""

    async def no_wait(_seconds: float) -> None:
        return None

    return OpenAIClient(
        [API_KEY],
        base_url=oai.url + "/v1",
        retry=RetryPolicy(max_attempts=2, max_elapsed=30.0),
        sleep=no_wait,
        wall_clock=oai.clock.now,
        rng=random.Random(3),
    )


def openai_jobs(oai: SandboxHandle) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=oai.url + "/v1", headers=headers, timeout=30) as http:
        found: list[dict[str, Any]] = http.get("/fine_tuning/jobs").json()["data"]
    return found


def mistral_jobs(jobs: SandboxJobs) -> list[dict[str, Any]]:
    return list(jobs.http.get("/v1/fine_tuning/jobs").json()["data"])


def write_openai_spec(folder: Path, suffix: str) -> Path:
    (folder / "train.jsonl").write_bytes(conversations(prefix=suffix))
    spec = folder / "openai.toml"
    spec.write_text(
        f'provider = "openai"\nmodel = "{MODEL}"\nsuffix = "{suffix}"\n'
        'training_files = ["train.jsonl"]\n[hyperparameters]\nn_epochs = 2\n',
        encoding="utf-8",
    )
    return spec


async def create_openai_job(pilot: Any, spec: Path) -> ConfirmScreen:
    """`n`, the spec's path, Enter: the local estimate is asked about; `y` creates it."""
    app = pilot.app
    asked = await ask_to_create(pilot, spec)
    assert isinstance(asked, ConfirmScreen)
    await pilot.press("y")
    await settle(pilot, lambda: bool(app.snapshot and app.snapshot.rows))
    return asked


def errors(app: Any) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


async def test_an_openai_spec_is_created_followed_and_not_offered_a_start(
    make_tui: AppFactory,
    jobs: SandboxJobs,
    oai: SandboxHandle,
    oai_client: OpenAIClient,
    tmp_path: Path,
) -> None:
    spec = write_openai_spec(tmp_path, "care")
    app = make_tui(openai_client=oai_client)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        asked = await create_openai_job(pilot, spec)

        # The estimate agreed to was the local one, and the dialog says creating starts it.
        assert "on OpenAI" in asked.question and "(estimate)" in asked.detail
        assert "Creating an OpenAI job starts it" in asked.detail
        [created] = openai_jobs(oai)
        assert created["model"] == MODEL and created["status"] == "validating_files"
        assert mistral_jobs(jobs) == []
        [row] = app.snapshot.rows
        assert (row.id, row.provider, row.suffix) == (created["id"], "openai", "care")
        # A sandbox's job of the other provider: the status bar says so (its URL is Mistral's).
        assert row.simulated and app.status.other_sandboxes == ("openai",)
        bar = str(app.screen.query_one("#status-backend").render())
        assert "openai: SANDBOX" in bar
        # Start is not offered for an OpenAI row (OpenAI starts on create).
        assert app.screen.check_action("start_job", ()) is None
        await pilot.press("s")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)

        # The refresh loop polls OpenAI (no daemon): the row follows the job to its end.
        oai.advance(PAST_THE_END)
        await pilot.press("r")
        await settle(pilot, lambda: app.snapshot.rows[0].status == "SUCCESS")
        assert app.snapshot.rows[0].fine_tuned_model
        assert errors(app) == []
        assert mistral_jobs(jobs) == []


async def test_cancel_and_refresh_an_openai_job_from_the_table_and_the_detail(
    make_tui: AppFactory,
    jobs: SandboxJobs,
    oai: SandboxHandle,
    oai_client: OpenAIClient,
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_openai_spec(tmp_path / "a", "first")
    second = write_openai_spec(tmp_path / "b", "second")
    app = make_tui(openai_client=oai_client)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        await create_openai_job(pilot, first)
        await create_openai_job(pilot, second)
        await settle(pilot, lambda: len(app.snapshot.rows) == 2)
        oai.advance(30)  # both training now (20 s validating and queued, 2 s a step)
        await pilot.press("r")
        await settle(pilot, lambda: all(r.status == "RUNNING" for r in app.snapshot.rows))

        # From the table: the selected (newest) row is cancelled at OpenAI.
        selected = app.screen.table.selected
        assert selected is not None and selected.provider == "openai"
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: any(r.status == "CANCELLED" for r in app.snapshot.rows))
        states = {job["id"]: job["status"] for job in openai_jobs(oai)}
        assert states[selected.id] == "cancelled"
        assert any("CANCELLED (cancelled)" in n.message for n in app._notifications)

        # The detail of the other: its refresh reads OpenAI (events with metrics, checkpoints).
        other = next(r for r in app.snapshot.rows if r.id != selected.id)
        app.screen.open_job(other.id)
        await settle(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.loaded)
        screen = app.screen
        assert isinstance(screen, JobDetailScreen) and screen.detail is not None
        assert screen.check_action("start_job", ()) is None
        assert screen.detail.job.status == "RUNNING"
        events_before = len(screen.detail.events)
        oai.advance(10)  # five more steps
        await pilot.press("r")
        await settle(pilot, lambda: screen.loaded >= 2)
        assert len(screen.detail.events) > events_before
        assert any(e.name == "metrics" for e in screen.detail.events)

        # Cancelled from the detail, at OpenAI.
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(
            pilot,
            lambda: screen.detail is not None and screen.detail.job.status == "CANCELLED",
        )
        assert {job["status"] for job in openai_jobs(oai)} == {"cancelled"}
        assert errors(app) == []
        assert mistral_jobs(jobs) == []


async def test_openai_down_is_said_once_and_mistral_stays_reachable(
    make_tui: AppFactory, jobs: SandboxJobs
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"

    async def no_wait(_seconds: float) -> None:
        return None

    down = OpenAIClient([API_KEY], base_url=dead, retry=RetryPolicy(max_attempts=1), sleep=no_wait)
    app = make_tui(openai_client=down)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        for _ in range(2):
            await pilot.press("r")
            await settle(pilot, lambda: not app.refreshing)
        await settle(pilot, lambda: app.cycles >= 3)
        said = [m for m in errors(app) if m.startswith("polling OpenAI")]
        assert len(said) == 1 and "could not reach the API" in said[0]
        assert app.reachable is True  # Mistral's sandbox answered every poll
