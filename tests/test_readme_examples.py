"""The README's `console` examples are real: each `$ tuner …` line runs here, in order.

The commands run in a scratch copy of `examples/`, against a sandbox started on loopback for this
test, with their own ledger and config. A line ending in `# exit N` must exit with N; every
other line must exit 0, and no command may print a traceback. `$JOB_ID`, `$MODEL` and `$RUN_ID`
are the newest job, its fine-tuned model and the newest evaluation run, read from the ledger
after each command. Blocks fenced as `sh` (the real API, systemd, long-running servers) are not
run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tuner.jobs.ledger import open_ledger
from tuner.sandbox import start_in_thread

ROOT = Path(__file__).resolve().parent.parent
KEY = "readme-sandbox-key-0000"
# Simulated seconds per real second: the example job (10 steps) finishes in well under a second.
SPEED = 2000.0
EXIT_MARK = re.compile(r"\s+# exit (\d+)$")


@dataclass(frozen=True)
class Example:
    command: str
    expect: int


def readme_examples(text: str) -> list[Example]:
    examples: list[Example] = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            if not line.startswith("$ "):
                continue
            command = line[2:]
            mark = EXIT_MARK.search(command)
            expect = int(mark.group(1)) if mark else 0
            examples.append(Example(EXIT_MARK.sub("", command), expect))
    return examples


def test_the_readme_has_runnable_examples() -> None:
    examples = readme_examples((ROOT / "README.md").read_text(encoding="utf-8"))
    groups = {e.command.split()[1] for e in examples}
    assert {"data", "jobs", "files", "models", "daemon", "eval"} <= groups
    assert all(e.command.startswith("tuner ") for e in examples)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    handle = start_in_thread(tmp_path / "sandbox", port=0, speed=SPEED, api_key=KEY)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "TUNER_API_URL": handle.url,
        "MISTRAL_API_KEY": KEY,
        "TUNER_API_KEYS": "",
        "TUNER_DB": str(tmp_path / "ledger.db"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data-home"),
        "COLUMNS": "160",
    }
    try:
        yield tmp_path, env
    finally:
        handle.stop()


def _variables(db: Path) -> dict[str, str]:
    """$JOB_ID, $MODEL and $RUN_ID from the ledger, once there is something to name."""
    if not db.exists():
        return {}
    found: dict[str, str] = {}
    with open_ledger(str(db)) as ledger:
        jobs = ledger.list_jobs(limit=1)
        if jobs:
            found["JOB_ID"] = jobs[0].id
            if jobs[0].fine_tuned_model:
                found["MODEL"] = jobs[0].fine_tuned_model
        runs = ledger.list_eval_runs(limit=1)
        if runs:
            found["RUN_ID"] = runs[0].run_id
    return found


def test_readme_examples_run(workspace: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workspace
    examples = readme_examples((ROOT / "README.md").read_text(encoding="utf-8"))
    for example in examples:
        env.update(_variables(cwd / "ledger.db"))
        result = subprocess.run(
            ["bash", "-c", example.command],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = result.stdout + result.stderr
        assert result.returncode == example.expect, f"$ {example.command}\n{output[-3000:]}"
        assert "Traceback" not in output, f"$ {example.command}\n{output[-3000:]}"
