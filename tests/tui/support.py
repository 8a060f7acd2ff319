"""Helpers for the dashboard tests: sandbox data, jobs that reach a status, and waiting for
the app without the wall clock (only ``pilot.pause()`` and worker completion)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from textual.worker import WorkerFailed

from tuner.api import RetryPolicy, TunerClient
from tuner.sandbox import SandboxHandle

API_KEY = "tui-test-key-0123456789abcdef"
START = 1_760_000_000
REPO = Path(__file__).resolve().parents[2]
SUPPORT = REPO / "examples" / "data" / "support.jsonl"
BROKEN = REPO / "examples" / "data" / "broken.jsonl"
BASE_MODEL = "open-mistral-7b"


async def _no_sleep(_seconds: float) -> None:
    return None


def make_client(sandbox: SandboxHandle) -> TunerClient:
    """A client for the sandbox: its wall clock is the sandbox's, its retries do not wait."""
    return TunerClient(
        [API_KEY],
        base_url=sandbox.url,
        retry=RetryPolicy(max_attempts=2, max_elapsed=30.0),
        sleep=_no_sleep,
        wall_clock=sandbox.clock.now,
    )


class SandboxJobs:
    """Creates files and jobs on the sandbox with a plain HTTP client (not the one under test)."""

    def __init__(self, sandbox: SandboxHandle) -> None:
        self.sandbox = sandbox
        self.http = httpx.Client(
            base_url=sandbox.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30
        )

    def close(self) -> None:
        self.http.close()

    def upload(self, content: bytes, name: str = "train.jsonl") -> str:
        response = self.http.post(
            "/v1/files", files={"file": (name, content)}, data={"purpose": "fine-tune"}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def create_job(self, file_id: str, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": BASE_MODEL,
            "hyperparameters": {"training_steps": 10},
            "training_files": [{"file_id": file_id, "weight": 1}],
            "auto_start": True,
        }
        body.update(fields)
        response = self.http.post("/v1/fine_tuning/jobs", json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self.http.get(f"/v1/fine_tuning/jobs/{job_id}").json())


def plain(renderable: object, width: int = 100) -> str:
    """A rich renderable (or a Static's content) as plain text."""
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


async def _workers_done(app: Any) -> None:
    """Wait for the running workers; a failed one is the app's business (a notification)."""
    with contextlib.suppress(WorkerFailed):
        await app.workers.wait_for_complete()


async def settle(pilot: Any, until: Callable[[], bool] | None = None, rounds: int = 200) -> None:
    """Let the app's workers finish (and messages be handled) until ``until()`` holds.

    Only ``pilot.pause()`` and worker completion are waited on: real time passes only as
    long as the app needs to do its work, never on a timer of ours.
    """
    app = pilot.app
    for _ in range(rounds):
        await _workers_done(app)
        await pilot.pause()
        if until is None or until():
            if until is None:
                await _workers_done(app)
                await pilot.pause()
            return
    raise AssertionError("the app did not reach the expected state")


async def ask_to_create(pilot: Any, spec: Path) -> Any:
    """`n`, the spec's path, Enter: the dashboard's first question about creating the spec's
    jobs (the local estimate, a ``ConfirmScreen``), returned unanswered."""
    from tuner.tui.screens.dialogs import ConfirmScreen, PromptScreen

    app = pilot.app
    await pilot.press("n")
    await settle(pilot, lambda: isinstance(app.screen, PromptScreen))
    app.screen.query_one("#prompt-input").value = str(spec)
    await pilot.press("enter")
    await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    return app.screen


async def create_from_spec(pilot: Any, spec: Path) -> None:
    """`n`, the spec's path, Enter, then `y` to the local estimate and `y` to the server's
    figures: a job created and started from the dashboard."""
    from tuner.tui.screens.dialogs import ConfirmScreen

    app = pilot.app
    await ask_to_create(pilot, spec)
    await pilot.press("y")
    await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    await pilot.press("y")
