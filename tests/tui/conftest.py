"""Fixtures for the dashboard tests: a sandbox on 127.0.0.1 (port 0, manual clock), a ledger
file per test, and the app built with ``make_app`` over them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tuner.jobs.ledger import Ledger, open_ledger
from tuner.sandbox import ManualClock, SandboxHandle, start_in_thread
from tuner.tui import TunerApp, make_app

from .support import START, SandboxJobs, make_client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def _stopping() -> Iterator[list[threading.Thread]]:
    threads: list[threading.Thread] = []
    yield threads
    for thread in threads:
        thread.join()


@pytest.fixture
def sandbox_faults() -> str | None:
    """The sandbox's ``--faults`` (none); a test parametrizes it to inject some."""
    return None


@pytest.fixture
def sandbox(
    tmp_path: Path, _stopping: list[threading.Thread], sandbox_faults: str | None
) -> Iterator[SandboxHandle]:
    handle = start_in_thread(
        tmp_path / "sandbox", port=0, clock=ManualClock(START), faults=sandbox_faults
    )
    yield handle
    # Stopping takes ~0.2 s of fixed sleeps in uvicorn: let it happen while the next test runs.
    thread = threading.Thread(target=handle.stop, name="stop-sandbox")
    thread.start()
    _stopping.append(thread)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    # A file, not :memory:: worker threads must share it.
    opened = open_ledger(str(tmp_path / "ledger.db"))
    yield opened
    opened.close()


@pytest.fixture
def jobs(sandbox: SandboxHandle) -> Iterator[SandboxJobs]:
    helper = SandboxJobs(sandbox)
    yield helper
    helper.close()


AppFactory = Callable[..., TunerApp]


@pytest.fixture
def make_tui(sandbox: SandboxHandle, ledger: Ledger) -> AppFactory:
    """The app over the sandbox and the ledger; no timer-driven refresh (tests press ``r``)."""

    async def advance(seconds: float) -> None:
        sandbox.advance(seconds)

    def factory(**options: Any) -> TunerApp:
        settings: dict[str, Any] = {
            "client": make_client(sandbox),
            "ledger": ledger,
            "clock": sandbox.clock.now,
            "poll_interval": None,
            "sleep": advance,
            "cursor_blink": False,
            "close_client": True,
        }
        settings.update(options)
        return make_app(**settings)

    return factory
