"""A soak test: a daemon, three concurrent `tuner jobs create` writers and a dashboard poller on
one ledger (SQLite, and PostgreSQL where it runs), against a sandbox with seeded faults, driven by
the sandbox's own clock. Bounded in rounds (well under a minute), then the invariants:

- every job is created exactly once (the server holds one job per suffix, and no more);
- no transition is lost (each job's transitions in the ledger form one unbroken chain from its
  creation to the status the server ends with);
- every notification is delivered at least once (each recorded transition reached the daemon's
  notifier, and nothing is left pending or failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tuner.api import TunerClient
from tuner.jobs.daemon import Daemon, DaemonConfig, queue_drainer
from tuner.jobs.ledger import Ledger, open_ledger
from tuner.jobs.orchestrator import Orchestrator
from tuner.jobs.poller import poll_once
from tuner.jobs.spec import load_spec
from tuner.sandbox import SandboxHandle

from .flow_support import (
    FakeMonotonic,
    FakeNotifier,
    advancing_sleep,
    make_client,
    sandbox_clock,
    server_jobs,
    small_training,
    write_spec,
)

pytestmark = pytest.mark.anyio

WRITERS = 3
MEMBERS = 3
FAULTS = "429=0.05,500=0.05,drop=0.02"
ROUNDS = 120
"""Daemon and dashboard rounds at most; the sandbox's clock moves 20 s after each."""


def sweep_spec(folder: Path, writer: int) -> Path:
    small_training(folder / f"train-{writer}.jsonl", tag=f"writer {writer}: ")
    steps = ", ".join(str(10 * (member + 1)) for member in range(MEMBERS))
    return write_spec(
        folder / f"sweep-{writer}.toml",
        f'model = "open-mistral-7b"\nsuffix = "soak{writer}"\n'
        f'training_files = ["train-{writer}.jsonl"]\n'
        f"[sweep]\ntraining_steps = [{steps}]\n",
    )


async def create(sandbox: SandboxHandle, url: str, spec: Path, mono: FakeMonotonic) -> str:
    """One `tuner jobs create` of a sweep: its own client and ledger connection."""
    ledger = open_ledger(url)
    try:
        async with make_client(sandbox, max_attempts=10, monotonic=mono) as client:
            orchestrator = Orchestrator(
                client,
                ledger,
                clock=sandbox_clock(sandbox),
                sleep=advancing_sleep(sandbox),
                confirm=lambda plan: True,
                max_active=4,
                poll_interval=10.0,
                validate_workers=1,
            )
            result = await orchestrator.create(load_spec(spec))
        assert result.outcome == "submitted", result.message
        assert result.sweep_id is not None
        return result.sweep_id
    finally:
        ledger.close()


def chain_is_whole(ledger: Ledger, job_id: str, final: str) -> bool:
    transitions = ledger.transitions(job_id)
    if not transitions or transitions[0].from_status is not None:
        return False
    for before, after in itertools.pairwise(transitions):
        if after.from_status != before.to_status:
            return False
    return transitions[-1].to_status == final


@pytest.mark.timeout(120)
async def test_daemon_writers_and_dashboard_on_one_ledger_lose_nothing(
    start_sandbox: Callable[..., SandboxHandle], tmp_path: Path, ledger_url: str
) -> None:
    sandbox = start_sandbox(faults=FAULTS, seed=20261207)
    mono = FakeMonotonic()
    notifier = FakeNotifier("webhook")
    daemon_ledger = open_ledger(ledger_url)
    dashboard_ledger = open_ledger(ledger_url)
    specs = [sweep_spec(tmp_path, writer) for writer in range(WRITERS)]
    clock = sandbox_clock(sandbox)
    try:
        async with (
            make_client(sandbox, max_attempts=10, monotonic=mono) as daemon_client,
            make_client(sandbox, max_attempts=10, monotonic=mono) as dashboard_client,
        ):
            daemon = Daemon(
                daemon_client,
                daemon_ledger,
                [notifier],
                DaemonConfig(interval=1, idle_interval=1, lease_ttl=600),
                clock=clock,
                drain_queue=queue_drainer(
                    daemon_client,
                    daemon_ledger,
                    backend=sandbox.url,
                    clock=clock,
                    max_active=4,
                ),
            )
            writers = asyncio.gather(*(create(sandbox, ledger_url, spec, mono) for spec in specs))
            sweeps: list[str] | None = None
            for _ in range(ROUNDS):
                await daemon.run_cycle()
                await dashboard_poll(dashboard_client, dashboard_ledger, sandbox.url, clock)
                if sweeps is None and writers.done():
                    sweeps = list(writers.result())
                if sweeps is not None and settled(daemon_ledger):
                    break
                sandbox.advance(20)
                await asyncio.sleep(0)  # let the writers take their turn
            if sweeps is None:
                sweeps = list(await writers)
            # A last cycle delivers what the last round recorded.
            await daemon.run_cycle()
    finally:
        dashboard_ledger.close()

    try:
        stored = server_jobs(sandbox)
        assert len(stored) == WRITERS * MEMBERS, "a job was created twice, or never"
        assert len({job.suffix for job in stored}) == WRITERS * MEMBERS
        # The server's own view (read from its service, so no injected fault can hide it).
        final = {job.id: sandbox.sandbox.job_detail(uuid.UUID(job.id))["status"] for job in stored}
        recorded = daemon_ledger.list_jobs(backend=sandbox.url)
        assert {job.id for job in recorded} == set(final)
        assert {job.sweep_id for job in recorded} == set(sweeps)
        for job in recorded:
            assert job.is_terminal, f"{job.id} is still {job.status}"
            assert job.status == final[job.id]
            assert chain_is_whole(daemon_ledger, job.id, final[job.id]), job.id
        transitions = {t.id for job in recorded for t in daemon_ledger.transitions(job.id)}
        assert transitions <= set(notifier.sent), "a transition was never announced"
        assert daemon_ledger.pending_notifications(clock() + 10**6) == []
        assert mono.slept, "no fault was met: the soak proves nothing"
    finally:
        daemon_ledger.close()


async def dashboard_poll(
    client: TunerClient, ledger: Ledger, backend: str, clock: Callable[[], int]
) -> None:
    """What the dashboard does on each refresh when it polls itself (its faults are its own)."""
    from tuner.api import APIError

    # A failed refresh is a notification in the dashboard; the next refresh tries again.
    with contextlib.suppress(APIError):
        await poll_once(client, ledger, backend=backend, now=clock())


def settled(ledger: Ledger) -> bool:
    jobs = ledger.list_jobs()
    return (
        len(jobs) == WRITERS * MEMBERS
        and all(job.is_terminal for job in jobs)
        and not ledger.entries_in_state("pending")
    )
