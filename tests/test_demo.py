"""`make demo` is the main job: it must run end to end (against its own sandbox) and exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_the_whole_flow(tmp_path: Path) -> None:
    env = {**os.environ, "TUNER_DEMO_OUT": str(tmp_path / "demo")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    for step in (
        "1. Convert",
        "2b. Validate a deliberately broken",
        "3a. Split",
        "5a. Create",
        "5b. Follow",
        "6a. Evaluate",
        "6b. Write the HTML report",
        "7. Next",
    ):
        assert step in out
    assert "UNEXPECTED" not in out
    assert "SUCCESS: ft:open-mistral-7b:" in out
    assert "training is SIMULATED" in (tmp_path / "demo" / "sandbox.log").read_text()
    report = tmp_path / "demo" / "eval-report.html"
    assert report.read_text().startswith("<!DOCTYPE html") or "<html" in report.read_text()
