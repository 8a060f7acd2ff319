"""`make demo` is the main job: it must run end to end (against its own sandboxes, Mistral's
and OpenAI's) and exit 0."""

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
        "8. A second provider",
        "8a. Create the OpenAI job",
        "8b. Follow the OpenAI job",
        "8c. Compare the OpenAI-tuned model with the Mistral-tuned one",
        "9. Next",
    ):
        assert step in out
    assert "UNEXPECTED" not in out
    assert "SUCCESS: ft:open-mistral-7b:" in out
    # The second provider: OpenAI's job estimated locally, followed to its end, and its model
    # compared with the Mistral-tuned one, each answer marked with its provider and SIMULATED.
    second = out[out.index("8. A second provider") :]
    assert "cost ESTIMATES (creating a job starts it)" in second
    assert "RUNNING (running)" in second or "SUCCESS (succeeded)" in second
    assert "SUCCESS: ft:gpt-4o-mini-2024-07-18:" in second
    assert "(openai, SIMULATED" in second and "(mistral, SIMULATED" in second
    assert "judge mistral-large-latest" in second
    assert "training is SIMULATED" in (tmp_path / "demo" / "sandbox.log").read_text()
    report = tmp_path / "demo" / "eval-report.html"
    assert report.read_text().startswith("<!DOCTYPE html") or "<html" in report.read_text()
