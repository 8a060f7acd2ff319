"""The CLI tests' sandbox and environment: every command runs against a sandbox on 127.0.0.1
with a manual clock, its own ledger and no config file, and never waits.

Every wait is redirected through ``tuner.cli.context.hooks``: the commands' poll sleep moves the
sandbox's clock, the client's retry sleep moves a fake monotonic clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from tests.jobs.flow_support import FakeMonotonic, advancing_sleep, sandbox_clock, sandbox_starter
from tuner.cli import context
from tuner.cli.main import app
from tuner.sandbox import SandboxHandle

API_KEY = "cli-test-key-SECRET-0123456789abcdef"
CLEARED_ENV = (
    "TUNER_API_KEYS",
    "WANDB_API_KEY",
    "TUNER_MAX_ACTIVE_JOBS",
    "TUNER_DAEMON_INTERVAL",
    "TUNER_DAEMON_IDLE_INTERVAL",
    "TUNER_WEBHOOK_URL",
    "TUNER_NOTIFY_COMMAND",
    # OpenAI's settings: a key in the runner's environment would make the commands ask OpenAI.
    "OPENAI_API_KEY",
    "TUNER_OPENAI_API_KEYS",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
)


@pytest.fixture
def logger_levels() -> Iterator[None]:
    """The daemon quiets library loggers for good; put them back for the tests that follow
    (for a test that runs ``tuner daemon`` in this process)."""
    from tuner.cli.daemon import _QUIET_LOGGERS

    saved = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def start_sandbox(tmp_path: Path) -> Iterator[Callable[..., SandboxHandle]]:
    """Start sandboxes whose manual clocks start at the wall clock's time (so the sandbox's
    timestamps look current); all stopped afterwards."""
    yield from sandbox_starter(tmp_path, start=None)


@pytest.fixture
def sandbox(start_sandbox: Callable[..., SandboxHandle]) -> SandboxHandle:
    return start_sandbox()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """Where the commands look for their config file (nothing is there unless a test writes it)."""
    path = tmp_path / "config" / "tuner" / "config.toml"
    path.parent.mkdir(parents=True)
    return path


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting of the test runner's environment reaches the test."""
    for name in CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def env(
    clean_env: None,
    sandbox: SandboxHandle,
    tmp_path: Path,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> SandboxHandle:
    """The CLI pointed at the sandbox, with its own ledger and no config file."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_file.parents[1]))
    monkeypatch.setenv("TUNER_DB", str(tmp_path / "ledger.db"))
    monkeypatch.setenv("TUNER_API_URL", sandbox.url)
    monkeypatch.setenv("MISTRAL_API_KEY", API_KEY)
    monkeypatch.setenv("TUNER_RETRY_AFTER_CAP", "0.01")
    monkeypatch.setenv("TUNER_RETRY_BACKOFF_MAX", "0.01")
    mono = FakeMonotonic()
    hooks = context.hooks
    monkeypatch.setattr(hooks, "sleep", advancing_sleep(sandbox))
    monkeypatch.setattr(hooks, "now", sandbox_clock(sandbox))
    monkeypatch.setattr(
        hooks,
        "client_options",
        {"sleep": mono.sleep, "clock": mono, "wall_clock": sandbox.clock.now},
    )
    return sandbox


def run(*args: str, input: str | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), input=input)
    assert API_KEY not in result.output, "an API key leaked into the output"
    return result


def data(result: Any) -> Any:
    return orjson.loads(result.stdout)
