"""A run killed with SIGKILL (or stopped with Ctrl-C) leaves no worker process behind, and the
next run in the folder removes its temporary files and says so.

Real subprocesses on a file big enough for the worker pool; every wait polls for the state it
needs (workers started, a temporary file present, a process gone) with a generous bound, so no
assertion depends on timing luck.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tuner.cli.main import app
from tuner.fsutil import TEMP_MARK, process_alive

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

ROOT = Path(__file__).resolve().parents[2]
# Bounds, not expected durations: the polls end as soon as the state is reached.
START_TIMEOUT = 120.0
GONE_TIMEOUT = 180.0


def big_file(path: Path, megabytes: int) -> Path:
    """Distinct conversations of ~1 KB each, ``megabytes`` MB in all (over the pool's minimum)."""
    filler = "the quick brown fox jumps over the lazy dog " * 20
    with path.open("wb") as handle:
        written, number = 0, 0
        while written < megabytes * 2**20:
            record = {
                "messages": [
                    {"role": "user", "content": f"question {number}: {filler}"},
                    {"role": "assistant", "content": f"answer {number}: {filler}"},
                ]
            }
            line = orjson.dumps(record) + b"\n"
            handle.write(line)
            written += len(line)
            number += 1
    return path


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def ignores_sigint(pid: int) -> bool:
    """True once the worker's initializer has run (it leaves Ctrl-C to its parent)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    ignored = next(line for line in status.splitlines() if line.startswith("SigIgn:"))
    return bool(int(ignored.split()[1], 16) & 1 << (signal.SIGINT - 1))


def is_our_worker(pid: int) -> bool:
    """Still the worker we saw (its pid not reused by another program)."""
    try:
        return b"tuner" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def tuner(*args: str | Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tuner", *map(str, args)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; any still running at the end, and any of their workers that
    outlived them (when the test fails), are killed: never left over."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for pid in SEEN_WORKERS:
        if process_alive(pid) and is_our_worker(pid):
            os.kill(pid, signal.SIGKILL)
    SEEN_WORKERS.clear()
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stderr is not None:
            process.stderr.close()


SEEN_WORKERS: list[int] = []


def workers_started(process: subprocess.Popen[bytes], count: int) -> list[int]:
    """Wait until ``process`` runs ``count`` workers (while it still runs); their pids."""
    workers: list[int] = []

    def ready() -> bool:
        nonlocal workers
        assert process.poll() is None, "the run ended before its workers were seen"
        workers = children_of(process.pid)
        return len(workers) >= count

    wait_for(ready, START_TIMEOUT, f"{count} workers")
    SEEN_WORKERS.extend(workers)
    return workers


def test_sigkill_of_validate_leaves_no_worker(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    data = big_file(tmp_path / "big.jsonl", 24)
    process = tuner("data", "validate", data, "--workers", "2", "-q")
    started.append(process)
    workers = workers_started(process, 2)

    process.send_signal(signal.SIGKILL)
    process.wait()
    wait_for(
        lambda: not any(process_alive(pid) for pid in workers),
        GONE_TIMEOUT,
        f"workers {workers} to exit after their parent was killed",
    )


@pytest.mark.parametrize("command", ["validate", "stats"])  # stats runs on validate's workers
def test_ctrl_c_of_validate_leaves_no_worker(
    tmp_path: Path, started: list[subprocess.Popen[bytes]], command: str
) -> None:
    # Large enough that the run is still reading when Ctrl-C comes, even on a loaded machine
    # where the wait for the workers' initializers is slow (at 24 MB a run once ended first).
    data = big_file(tmp_path / "big.jsonl", 64)
    process = tuner("data", command, data, "--workers", "2", "-q")
    started.append(process)
    workers = workers_started(process, 2)
    # A Ctrl-C in the instant between fork and the initializer would reach a worker that has not
    # yet handed Ctrl-C to its parent: wait until both have.
    wait_for(lambda: all(ignores_sigint(pid) for pid in workers), START_TIMEOUT, "initializers")

    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
    process.wait(timeout=GONE_TIMEOUT)
    assert process.returncode != 0
    wait_for(
        lambda: not any(process_alive(pid) for pid in workers),
        GONE_TIMEOUT,
        f"workers {workers} to exit after Ctrl-C",
    )
    assert process.stderr is not None
    # The workers leave Ctrl-C to their parent: no traceback from each of them.
    assert process.stderr.read().count(b"KeyboardInterrupt") <= 1


def test_a_killed_convert_leaves_a_temporary_file_the_next_run_removes(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    data = big_file(tmp_path / "big.jsonl", 24)
    folder = tmp_path / "out"
    folder.mkdir()
    process = tuner("data", "convert", data, "--out", folder / "converted.jsonl", "-q")
    started.append(process)

    def temporary_files() -> list[Path]:
        return [p for p in folder.iterdir() if TEMP_MARK in p.name]

    def writing() -> bool:
        assert process.poll() is None, "convert ended before its temporary file was seen"
        return any(p.stat().st_size > 0 for p in temporary_files())

    wait_for(writing, START_TIMEOUT, "convert to write its temporary file")
    process.send_signal(signal.SIGKILL)
    process.wait()
    (left,) = temporary_files()
    assert f"{TEMP_MARK}{process.pid}-" in left.name
    assert not (folder / "converted.jsonl").exists()

    # The next run writing in that folder removes it and says so.
    small = tmp_path / "small.jsonl"
    small.write_bytes(data.read_bytes()[: 20 * 1100].rpartition(b"\n")[0] + b"\n")
    result = CliRunner().invoke(
        app, ["data", "dedupe", str(small), "--out", str(folder / "d.jsonl")]
    )
    assert result.exit_code == 0, result.output
    assert "".join(f"removed {left}, left behind by an interrupted run".split()) in "".join(
        result.output.split()
    )
    assert temporary_files() == []
    assert sorted(p.name for p in folder.iterdir()) == ["d.jsonl"]


CHILD = """
import os, sys, time
from pathlib import Path
sys.platform = "darwin"  # no prctl: only the portable getppid watcher stands guard
from tuner.datasets.workers import die_with_parent
die_with_parent(os.getppid())
Path(sys.argv[1]).write_text(str(os.getpid()))
time.sleep(600)
"""
PARENT = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]])
time.sleep(600)
"""


def test_the_portable_watcher_ends_a_worker_whose_parent_died(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    ready = tmp_path / "child.pid"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, str(ready)], env=env, stderr=subprocess.PIPE
    )
    started.append(parent)
    wait_for(lambda: ready.exists() and ready.read_text() != "", START_TIMEOUT, "the child")
    child = int(ready.read_text())
    SEEN_WORKERS.append(child)
    assert process_alive(child)

    parent.send_signal(signal.SIGKILL)
    parent.wait()
    wait_for(lambda: not process_alive(child), GONE_TIMEOUT, "the orphaned child to exit")
