"""What the benchmarks share: a sandbox in its own process, and a measured child process.

A benchmark runs the sandbox in a child process so that the server's work is not timed as the
client's, and runs each measured method in a fresh child so that one method's imports, caches
and heap do not flatter or burden the next. Both are here once; the scripts import this module
as ``support`` (a script's own folder is first on ``sys.path`` when it runs).
"""

from __future__ import annotations

import contextlib
import json
import selectors
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 60.0

_SERVE = """
import json, resource, sys
from tuner.sandbox import ManualClock, start_in_thread
start = sys.argv[2]
clock = ManualClock(float(start)) if start else None
handle = start_in_thread(sys.argv[1], **({"clock": clock} if clock else {}))
print(handle.url, flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
handle.stop()
print(json.dumps({"maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


@dataclass
class Sandbox:
    url: str
    process: subprocess.Popen[str]
    peak: dict[str, int] | None = None
    """The sandbox process's peak RSS (``{"maxrss": bytes}``), known once it has stopped."""


@contextlib.contextmanager
def sandbox_process(data_dir: Path, *, clock_start: float | None = None) -> Iterator[Sandbox]:
    """A sandbox in a child process (127.0.0.1, a free port) on ``data_dir``; with
    ``clock_start`` its clock is manual (moved with ``/sandbox/clock/advance``). Stopped on
    exit, also on Ctrl-C; its peak RSS is in ``peak`` afterwards."""
    start = "" if clock_start is None else repr(clock_start)
    child = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(data_dir), start],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    sandbox = Sandbox("", child)
    try:
        assert child.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(child.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=STARTUP_TIMEOUT):
                raise RuntimeError(f"the sandbox did not start within {STARTUP_TIMEOUT:g} s")
        sandbox.url = child.stdout.readline().strip()
        if not sandbox.url.startswith("http://127.0.0.1:"):
            raise RuntimeError("the sandbox did not start")
        yield sandbox
        # Closing its stdin stops it; it prints its peak RSS on the way out.
        with contextlib.suppress(subprocess.TimeoutExpired, IndexError, ValueError):
            out, _ = child.communicate(timeout=30)
            sandbox.peak = json.loads(out.strip().splitlines()[-1])
    finally:
        if child.stdin is not None and not child.stdin.closed:
            with contextlib.suppress(OSError):
                child.stdin.close()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def run_child(script: str, args: Sequence[str], *, label: str, timeout: float) -> dict[str, Any]:
    """Run ``script --child ARGS`` in a fresh interpreter; its last stdout line is its JSON
    result. Exits the benchmark (with the child's stderr) when the child fails."""
    command = [sys.executable, str(Path(script).resolve()), "--child", *args]
    # subprocess.run kills the child on a timeout or Ctrl-C before re-raising.
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the {label} child failed with exit code {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
