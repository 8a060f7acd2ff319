"""Dashboard benchmark: start-up with 1,000 jobs in the ledger, and an update of all 1,000 rows.

    python benchmarks/tui.py [--jobs 1000] [--repeat 3]

Figures:

- cold start: from launching a fresh Python process to the jobs screen rendered with every job
  (interpreter start, imports, reading the ledger, building the table, the first frame);
- warm start: the same inside this process (imports done): ``make_app`` → first frame;
- ledger read: one refresh's read of the ledger (``load_jobs``), which runs in a thread;
- update: every row changes (status, steps, tokens, age); the time for the table to apply it
  in place (``update_cell`` on the changed cells) and to render the next frame.

- baseline: a bare Textual app showing a 1,000-row ``DataTable`` (eight text columns), cold
  started the same way in a fresh process, measured in the same run.

The app runs headless at 120x40 with no API traffic (a daemon "holds" the lease, so the
dashboard only reads the ledger). Target (see the issue): the dashboard's first jobs frame
(cold) within 2x the bare app's first frame, medians of ``--repeat`` runs (default 5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NOW = 1_760_040_000
BACKEND = "http://127.0.0.1:8000"
SIZE = (120, 40)
TARGET_RATIO = 2.0
STATUSES = ("SUCCESS", "SUCCESS", "SUCCESS", "FAILED", "CANCELLED", "RUNNING", "VALIDATED")


def snapshot(index: int, *, status: str, step: int) -> dict[str, Any]:
    steps = 100
    return {
        "id": f"{index:08x}-5b0e-4c8d-9a61-2d7e8f104c55",
        "model": ("open-mistral-7b", "mistral-small-latest", "open-mistral-nemo")[index % 3],
        "status": status,
        "suffix": f"run-{index}",
        "created_at": NOW - 600 * index,
        "modified_at": NOW - 600 * index + 60 + step,
        "hyperparameters": {"training_steps": steps, "learning_rate": 1e-4},
        "metadata": {"cost": round(2.6214 * (1 + index % 5), 4), "cost_currency": "USD"},
        "trained_tokens": 131072 * steps if status == "SUCCESS" else None,
        "fine_tuned_model": f"ft:open-mistral-7b:abcd:20251009:run-{index}" if status == "SUCCESS"
        else None,
        "training_files": [],
        "checkpoints": [
            {"step_number": s, "metrics": {"train_loss": 1.0 / s}, "created_at": NOW}
            for s in range(10, step + 1, 10)
        ],
    }  # fmt: skip


def fill_ledger(path: Path, jobs: int) -> None:
    from tuner.jobs.ledger import open_ledger

    with open_ledger(str(path)) as ledger:
        for index in range(jobs):
            status = STATUSES[index % len(STATUSES)]
            ledger.apply_snapshot(
                snapshot(index, status=status, step=40 if status == "RUNNING" else 0),
                backend=BACKEND,
                now=NOW - 60,
            )


def make_client() -> Any:
    import httpx

    from tuner.api import TunerClient

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"object": "list", "data": []})

    return TunerClient(
        ["bench-key-000000000000"], base_url=BACKEND, transport=httpx.MockTransport(handler)
    )


def build_app(ledger_path: Path) -> Any:
    from tuner.jobs.ledger import open_ledger
    from tuner.tui import make_app

    ledger = open_ledger(str(ledger_path))
    # A live daemon: the dashboard only reads the ledger (no API traffic is measured).
    ledger.acquire_lease("daemon", "bench:1:x", 3600, NOW)
    # As ``tuner tui`` does: the app builds the client after its first frame.
    app = make_app(
        client_factory=make_client,
        backend=BACKEND,
        ledger=ledger,
        clock=lambda: float(NOW),
        poll_interval=None,
        watch_running=False,
        probe=False,
        cursor_blink=False,
        close_client=True,
    )
    return app, ledger


class FirstRows:
    """Notes when the jobs table first renders a line of a job: the first frame with jobs."""

    def __init__(self) -> None:
        from tuner.tui.widgets.jobs_table import JobsTable

        self.at: float | None = None
        self.cpu: float | None = None
        original = JobsTable.render_line
        probe = self

        def render_line(table: Any, y: int) -> Any:
            if probe.at is None and table.row_count and y > 0:
                probe.at = time.time()
                usage = resource.getrusage(resource.RUSAGE_SELF)
                probe.cpu = usage.ru_utime + usage.ru_stime
            return original(table, y)

        JobsTable.render_line = render_line  # type: ignore[method-assign]


async def until_rendered(app: Any, pilot: Any, jobs: int) -> Any:
    """Wait until every job is in the table and a frame with it has been composed."""
    from tuner.tui.widgets.jobs_table import JobsTable

    while True:
        await pilot.pause()
        tables = list(app.screen.query(JobsTable))
        if tables and tables[0].row_count == jobs and tables[0].complete:
            break
    app.export_screenshot()  # compose the frame, as the terminal would get it
    return tables[0]


def bare_child(rows: int, spawned: float) -> None:
    """The baseline, in a fresh process: a bare Textual app with a ``rows``-row DataTable;
    prints seconds from spawn to its first frame with rows."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    at: list[float] = []
    original = DataTable.render_line

    def render_line(table: Any, y: int) -> Any:
        if not at and table.row_count and y > 0:
            at.append(time.time())
        return original(table, y)

    DataTable.render_line = render_line  # type: ignore[method-assign]

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(cursor_type="row", zebra_stripes=True)

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("ID", "Model", "Suffix", "Status", "Steps", "Tokens", "Cost", "Age")
            for index in range(rows):
                table.add_row(
                    f"{index:08x}", "open-mistral-7b", f"run-{index}", "SUCCESS",
                    "100/100", "13.11M", "$2.62", "5m",
                )  # fmt: skip

    async def run() -> float:
        app = Bare()
        async with app.run_test(size=SIZE) as pilot:
            while not at:
                await pilot.pause()
            app.export_screenshot()
        return at[0] - spawned

    print(json.dumps({"first": asyncio.run(run())}), flush=True)


def spawn(arguments: list[str]) -> dict[str, float]:
    command = [sys.executable, __file__, *arguments, "--spawned", repr(time.time())]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def child(ledger_path: Path, jobs: int, spawned: float) -> None:
    """Cold start in a fresh process; prints seconds since the parent spawned it."""

    async def run() -> dict[str, float]:
        probe = FirstRows()
        app, ledger = build_app(ledger_path)
        async with app.run_test(size=SIZE) as pilot:
            await until_rendered(app, pilot, jobs)
            every = time.time() - spawned
        ledger.close()
        assert probe.at is not None and probe.cpu is not None
        return {"first": probe.at - spawned, "every": every, "cpu": probe.cpu}

    print(json.dumps(asyncio.run(run())), flush=True)


async def warm_and_update(ledger_path: Path, jobs: int) -> dict[str, float]:
    from dataclasses import replace

    from tuner.tui.views.jobs import load_job_rows, load_jobs

    probe = FirstRows()
    started = time.time()
    cpu = time.process_time()
    app, ledger = build_app(ledger_path)
    figures: dict[str, float] = {}
    async with app.run_test(size=SIZE) as pilot:
        table = await until_rendered(app, pilot, jobs)
        assert probe.at is not None
        figures["warm start, first frame"] = probe.at - started
        figures["  (CPU time)"] = (probe.cpu or 0.0) - cpu
        figures["warm start, every row"] = time.time() - started

        began = time.perf_counter()
        await asyncio.to_thread(load_jobs, ledger, BACKEND, NOW)
        figures["ledger read (a refresh)"] = time.perf_counter() - began

        rows, _, _ = load_job_rows(ledger, BACKEND)
        changed = [
            replace(
                row,
                status="SUCCESS" if row.status != "SUCCESS" else "CANCELLED",
                step=100,
                trained_tokens=(row.trained_tokens or 0) + 1,
            )
            for row in rows
        ]
        table.move_cursor(row=500)
        selected = table.selected_id
        began = time.perf_counter()
        stats = table.show_rows(changed, NOW + 7200)  # every age changes too
        figures["update of every row, applied"] = time.perf_counter() - began
        await pilot.pause()
        app.export_screenshot()
        figures["update of every row, rendered"] = time.perf_counter() - began
        assert not stats.rebuilt and stats.cells >= jobs, stats
        assert table.selected_id == selected and table.row_count == jobs
    ledger.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--spawned", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_child(args.jobs, args.spawned)
        return
    if args.child is not None:
        child(args.child, args.jobs, args.spawned)
        return
    with tempfile.TemporaryDirectory() as folder:
        ledger_path = Path(folder) / "ledger.db"
        print(f"filling a ledger with {args.jobs} jobs…", flush=True)
        fill_ledger(ledger_path, args.jobs)
        runs: list[dict[str, float]] = []
        for _ in range(args.repeat):
            # Baseline and dashboard alternate, so both see the same machine load.
            bare = spawn(["--jobs", str(args.jobs), "--bare"])
            cold = spawn(["--jobs", str(args.jobs), "--child", str(ledger_path)])
            run = {
                "bare Textual + DataTable, first": bare["first"],
                "cold start, first frame": cold["first"],
                "  (CPU time of the process)": cold["cpu"],
                "cold start, every row": cold["every"],
            }
            run.update(asyncio.run(warm_and_update(ledger_path, args.jobs)))
            runs.append(run)
    print(f"\n{args.jobs} jobs, {SIZE[0]}x{SIZE[1]}, {os.cpu_count()} CPUs, load {load()}")
    print(f"{'':32} {'best':>8} {'median':>8}")
    for name in runs[0]:
        values = [run[name] for run in runs]
        print(f"  {name:<30} {min(values):7.3f}s {statistics.median(values):7.3f}s")
    bare = statistics.median(run["bare Textual + DataTable, first"] for run in runs)
    ours = statistics.median(run["cold start, first frame"] for run in runs)
    ratio = ours / bare
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(
        f"\nfirst jobs frame / bare DataTable app (medians): {ratio:.2f}x "
        f"(target <= {TARGET_RATIO:g}x: {verdict})"
    )


def load() -> str:
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
