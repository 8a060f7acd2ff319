"""``tuner tui``: the command builds the app from the settings and runs it (headless here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.jobs.flow_support import training_bytes
from tuner.cli.main import app as cli
from tuner.jobs.ledger import open_ledger
from tuner.sandbox import SandboxHandle
from tuner.tui.app import TunerApp

from .support import API_KEY, SandboxJobs, settle


@pytest.fixture
def env(tmp_path: Path, sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TUNER_API_KEYS", "TUNER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TUNER_DB", str(tmp_path / "ledger.db"))
    monkeypatch.setenv("TUNER_API_URL", sandbox.url)
    monkeypatch.setenv("MISTRAL_API_KEY", API_KEY)
    return tmp_path / "ledger.db"


def test_tuner_tui_runs_the_dashboard_over_the_configured_api(
    env: Path, jobs: SandboxJobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = jobs.create_job(jobs.upload(training_bytes()), suffix="cli")
    seen: dict[str, Any] = {}
    original = TunerApp.run

    def headless_run(self: TunerApp, **_options: Any) -> Any:
        async def pilot_run(pilot: Any) -> None:
            await settle(pilot, lambda: self.cycles >= 1 and self.snapshot is not None)
            seen["rows"] = [row.id for row in self.snapshot.rows]  # type: ignore[union-attr]
            seen["mode"] = self.current_mode
            seen["interval"] = self.config.poll_interval
            seen["sandbox"] = self.client.is_sandbox
            self.exit()

        return original(self, headless=True, auto_pilot=pilot_run, size=(80, 24))

    monkeypatch.setattr(TunerApp, "run", headless_run)
    result = CliRunner().invoke(cli, ["tui", "--interval", "30"])
    assert result.exit_code == 0, result.output
    assert seen == {"rows": [job["id"]], "mode": "jobs", "interval": 30.0, "sandbox": True}
    with open_ledger(str(env)) as ledger:  # the dashboard recorded what it saw
        assert ledger.get_job(job["id"]) is not None


def test_tuner_tui_refuses_an_unknown_screen(env: Path) -> None:
    result = CliRunner().invoke(cli, ["tui", "--screen", "nope"])
    assert result.exit_code == 2
    assert "--screen" in result.output and "choose one of" in result.output
