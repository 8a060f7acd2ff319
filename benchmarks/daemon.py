"""Benchmark: what one daemon cycle costs against an account with 2,000 jobs, 500 of them active.

    python benchmarks/daemon.py

Seeds a sandbox's store with 2,000 jobs: 300 RUNNING, 100 parked VALIDATED, 50 VALIDATING,
50 QUEUED, and 1,500 finished (SUCCESS, FAILED_VALIDATION, CANCELLED); starts that sandbox in
its own process (127.0.0.1, a free port, manual clock moved with ``/sandbox/clock/advance``), so
its work is not timed as the daemon's. Then runs daemon cycles (lease, poll, notifications to
the log) in this process against a fresh ledger on a temporary SQLite file:

1. cold: the ledger knows no job, so every active job is new and gets one detail request;
2. warm, nothing changed: list requests only;
3. after 60 simulated seconds: the 100 young jobs have reached VALIDATED and 12 runs finished.

For each cycle it prints the HTTP requests (retries included), the bound they must stay within
(per status queried: one list page per 100 jobs, at least one; plus one detail request per job
that changed or left the active statuses) and the time the cycle took, in wall-clock seconds
and in CPU seconds of this process (the daemon's own work; the rest is waiting for the sandbox,
which recomputes every job's simulated state on each request). Exits 1 when a cycle sends more
requests than its bound.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from support import sandbox_process

from tuner.api import RetryPolicy, TunerClient
from tuner.jobs.daemon import CycleReport, Daemon, DaemonConfig
from tuner.jobs.ledger import open_ledger
from tuner.jobs.notifiers import LogNotifier
from tuner.sandbox.records import JobRecord, TrainingFileRef, Validation
from tuner.sandbox.store import JOBS, Store

START = 1_760_000_000
API_KEY = "bench-key"
MODEL = "open-mistral-7b"  # 10 s a step plus 20 s set-up in the sandbox
STEPS = 100  # a run of 1,020 simulated seconds
TOTAL_JOBS = 2_000
ADVANCE = 60.0


@dataclass(frozen=True)
class Plan:
    running: int = 300
    validated: int = 100
    validating: int = 50
    queued: int = 50
    succeeded: int = 1_400
    failed_validation: int = 50
    cancelled: int = 50

    @property
    def active(self) -> int:
        return self.running + self.validated + self.validating + self.queued

    @property
    def total(self) -> int:
        finished = self.succeeded + self.failed_validation + self.cancelled
        return self.active + finished


def _job(created: float, *, auto_start: bool, ok: bool = True, **extra: Any) -> JobRecord:
    validation = Validation(
        ok=ok,
        error=None if ok else "Invalid file format.",
        data_tokens=1_000_000,
        training_steps=STEPS if ok else 0,
        epochs=13.1 if ok else 0.0,
        train_tokens=STEPS * 131_072 if ok else 0,
        conversations=500,
    )
    return JobRecord(
        id=str(uuid.uuid4()),
        owner="bench",
        model=MODEL,
        created_at=created,
        auto_start=auto_start,
        training_files=[TrainingFileRef(file_id=str(uuid.uuid4()))],
        hyperparameters={"training_steps": STEPS},
        suffix="bench",
        validation=validation,
        **extra,
    )


def seed_jobs(plan: Plan, now: float) -> list[JobRecord]:
    """Jobs whose status at ``now`` (and ``now + ADVANCE``) is what the plan says."""
    jobs: list[JobRecord] = []
    for i in range(plan.running):
        # Running since 0 to 1,000 s: the last dozen finish within the next minute.
        jobs.append(_job(now - 30 - 1000 * i / plan.running, auto_start=True))
    for i in range(plan.validated):
        jobs.append(_job(now - 100 - i, auto_start=False))  # parked, waiting for /start
    for i in range(plan.validating):
        jobs.append(_job(now - 5 - i * 0.2, auto_start=False))  # validating for 10 s more
    for i in range(plan.queued):
        jobs.append(_job(now - i * 0.08, auto_start=False))  # validation starts within 5 s
    for i in range(plan.succeeded):
        jobs.append(
            _job(
                now - 10_000 - i * 60,
                auto_start=True,
                settled=True,
                fine_tuned_model=f"ft:{MODEL}:bench000:20251009:bench:{i:08x}",
            )
        )
    for i in range(plan.failed_validation):
        jobs.append(_job(now - 5_000 - i, auto_start=True, ok=False, settled=True))
    for i in range(plan.cancelled):
        created = now - 7_000 - i
        jobs.append(_job(created, auto_start=True, cancel_requested_at=created + 100, settled=True))
    return jobs


def store_jobs(data_dir: Path, jobs: list[JobRecord]) -> None:
    store = Store(data_dir)
    try:
        with store.transaction():
            for job in jobs:
                store.put(JOBS, job, created=job.created_at)
    finally:
        store.close()


def advance(url: str, seconds: float) -> None:
    response = httpx.post(
        f"{url}/sandbox/clock/advance",
        json={"seconds": seconds},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    )
    response.raise_for_status()


@dataclass(frozen=True)
class Row:
    name: str
    report: CycleReport
    seconds: float
    cpu_seconds: float


async def run_cycles(url: str, ledger_path: Path) -> list[Row]:
    retry = RetryPolicy(max_attempts=3)
    rows: list[Row] = []
    async with TunerClient([API_KEY], base_url=url, retry=retry) as client:
        with open_ledger(str(ledger_path), notifiers=["log"]) as ledger:
            daemon = Daemon(client, ledger, [LogNotifier()], DaemonConfig())
            for name, before in (
                ("1 cold ledger", 0.0),
                ("2 nothing changed", 0.0),
                (f"3 after {ADVANCE:g} s", ADVANCE),
            ):
                if before:
                    advance(url, before)
                started, cpu = time.perf_counter(), time.process_time()
                report = await daemon.run_cycle()
                elapsed = time.perf_counter() - started
                rows.append(Row(name, report, elapsed, time.process_time() - cpu))
            await daemon.release_lease()
    return rows


def print_rows(plan: Plan, rows: list[Row]) -> bool:
    print(
        f"sandbox: {plan.total:,} jobs, {plan.active} active ({plan.running} RUNNING, "
        f"{plan.validated} VALIDATED, {plan.validating} VALIDATING, {plan.queued} QUEUED), "
        f"{plan.total - plan.active:,} finished"
    )
    header = (
        f"{'cycle':<20} {'list req':>8} {'bound':>6} {'detail req':>10} {'bound':>6} "
        f"{'total':>6} {'bound':>6} {'cycle s':>8} {'cpu s':>6}  listed per status"
    )
    print(header)
    print("-" * len(header))
    within = True
    for row in rows:
        poll = row.report.poll
        if poll is None:
            print(f"{row.name:<20} failed: {row.report.error}")
            within = False
            continue
        listed = ", ".join(f"{status} {count}" for status, count in poll.listed.items() if count)
        print(
            f"{row.name:<20} {poll.list_requests:>8} {poll.list_bound:>6} "
            f"{poll.detail_requests:>10} {poll.detail_bound:>6} "
            f"{poll.requests:>6} {poll.request_bound:>6} {row.seconds:>8.2f} "
            f"{row.cpu_seconds:>6.2f}  {listed}"
        )
        within = within and poll.requests <= poll.request_bound
    pages_all = math.ceil(plan.total / 100)
    print(
        f"\nfor comparison: one GET per active job is {plan.active} requests a cycle; "
        f"listing all {plan.total:,} jobs unfiltered is {pages_all} pages"
    )
    print("target (requests <= bound in every cycle):", "met" if within else "MISSED")
    return within


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    plan = Plan()
    assert plan.total == TOTAL_JOBS
    with tempfile.TemporaryDirectory(prefix="tuner-bench-daemon-") as tmp:
        root = Path(tmp)
        store_jobs(root / "sandbox", seed_jobs(plan, START))
        with sandbox_process(root / "sandbox", clock_start=START) as sandbox:
            rows = asyncio.run(run_cycles(sandbox.url, root / "ledger.db"))
    return 0 if print_rows(plan, rows) else 1


if __name__ == "__main__":
    sys.exit(main())
