"""Fixtures: a sandbox on 127.0.0.1, port 0, with a temporary data dir and a manual clock.

Time never passes on its own: tests move it with ``sandbox.advance(seconds)`` (or the
``POST /sandbox/clock/advance`` endpoint), so no test waits for training to progress.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tuner.sandbox import ManualClock, SandboxHandle, start_in_thread

from .support import API_KEY, START

StartSandbox = Callable[..., SandboxHandle]


@pytest.fixture(scope="session")
def _stopping() -> Iterator[list[threading.Thread]]:
    # Stopping a uvicorn server takes ~0.2 s of fixed sleeps: stop each test's sandbox in the
    # background while the next test runs, and wait for all of them once at the end.
    threads: list[threading.Thread] = []
    yield threads
    for thread in threads:
        thread.join()


@pytest.fixture
def start_sandbox(tmp_path: Path, _stopping: list[threading.Thread]) -> Iterator[StartSandbox]:
    """Start sandboxes (default: manual clock at START, data under tmp_path); all stopped after."""
    started: list[SandboxHandle] = []

    def start(**options: Any) -> SandboxHandle:
        options.setdefault("clock", ManualClock(START))
        handle = start_in_thread(options.pop("data_dir", tmp_path / "data"), **options)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        thread = threading.Thread(target=handle.stop, name="stop-sandbox")
        thread.start()
        _stopping.append(thread)


@pytest.fixture
def sandbox(start_sandbox: StartSandbox) -> SandboxHandle:
    return start_sandbox()


def make_client(url: str, key: str | None = API_KEY) -> httpx.Client:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    return httpx.Client(base_url=url, headers=headers, timeout=30)


@pytest.fixture
def client(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    with make_client(sandbox.url) as http:
        yield http
