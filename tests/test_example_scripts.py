"""examples/prepare_and_launch.py (the Python API, scripted) works end to end on a sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tuner.sandbox import start_in_thread

ROOT = Path(__file__).resolve().parent.parent
KEY = "script-sandbox-key-0000"


def test_prepare_and_launch(tmp_path: Path) -> None:
    # 2000 simulated seconds per real second: the 10-step job ends within a few polls.
    with start_in_thread(tmp_path / "sandbox", port=0, speed=2000.0, api_key=KEY) as handle:
        env = {
            **os.environ,
            "TUNER_API_URL": handle.url,
            "MISTRAL_API_KEY": KEY,
            "TUNER_API_KEYS": "",
            "TUNER_DB": str(tmp_path / "ledger.db"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
        }
        command = [
            sys.executable,
            str(ROOT / "examples" / "prepare_and_launch.py"),
            str(ROOT / "examples" / "data" / "support.sharegpt.jsonl"),
            str(ROOT / "examples" / "mappings" / "sharegpt.toml"),
            str(tmp_path / "out"),
            "--launch",
        ]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "converted 300 of 300 records" in result.stdout
        assert "fine-tuned model: ft:open-mistral-7b:" in result.stdout
        assert (tmp_path / "out" / "data.train.jsonl").exists()
        written = (tmp_path / "out" / "data.train.jsonl").read_bytes()

        # Run again: the outputs of the first run are refused in one line, and kept.
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 2
        assert "Traceback" not in again.stderr
        assert again.stderr.startswith("error: ") and "--force" in again.stderr
        assert len(again.stderr.strip().splitlines()) == 1
        assert (tmp_path / "out" / "data.train.jsonl").read_bytes() == written

        # With --force it runs through (without --launch: the data part only).
        forced = subprocess.run(
            [*command[:-1], "--force"], env=env, capture_output=True, text=True, timeout=300
        )
        assert forced.returncode == 0, forced.stdout + forced.stderr
        assert "valid:" in forced.stdout
