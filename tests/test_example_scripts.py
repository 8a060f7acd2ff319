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
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples" / "prepare_and_launch.py"),
                str(ROOT / "examples" / "data" / "support.sharegpt.jsonl"),
                str(ROOT / "examples" / "mappings" / "sharegpt.toml"),
                str(tmp_path / "out"),
                "--launch",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "converted 300 of 300 records" in result.stdout
    assert "fine-tuned model: ft:open-mistral-7b:" in result.stdout
    assert (tmp_path / "out" / "data.train.jsonl").exists()
