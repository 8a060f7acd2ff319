"""The daemon: cycles, the lease, adaptive intervals, clean stops, and a SIGKILL mid-delivery.

In-process tests drive ``Daemon.run_cycle`` (and ``run`` with APScheduler) against a sandbox on
127.0.0.1 with a manual clock. Process tests run ``python -m tuner daemon`` for real; they wait
for conditions (a webhook delivery arrived, the ledger holds a status), never for a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tuner.api import InternalServerError, JobCreate, RateLimitError, TunerClient
from tuner.jobs.daemon import (
    LEASE_NAME,
    CycleReport,
    Daemon,
    DaemonConfig,
    next_delay,
    queue_drainer,
)
from tuner.jobs.ledger import Ledger
from tuner.jobs.liveness import make_owner, owner_is_gone
from tuner.jobs.notifiers import LogNotifier, WebhookNotifier
from tuner.jobs.poller import CycleResult
from tuner.jobs.submit import CycleReport as QueueReport
from tuner.jobs.submit import Submission, SubmissionMeta, submission_spec
from tuner.sandbox import SandboxHandle

from .conftest import CreateJob
from .flow_support import (
    API_KEY,
    NOW,
    FakeNotifier,
    WebhookReceiver,
    make_client,
    statuses,
    training_bytes,
)

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
FAST = DaemonConfig(interval=0.05, idle_interval=0.05, stop_grace=1.0, lease_ttl=30)
LIFECYCLE = ["QUEUED", "VALIDATING", "VALIDATED", "QUEUED", "RUNNING", "SUCCESS"]


def fixed_clock() -> int:
    return NOW


def daemon_for(client: TunerClient, ledger: Ledger, **options: Any) -> Daemon:
    notifiers = options.pop("notifiers", [LogNotifier()])
    config = options.pop("config", FAST)
    return Daemon(
        client, ledger, notifiers, config, clock=options.pop("clock", fixed_clock), **options
    )


async def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition was not met in time")
        await asyncio.sleep(0.02)


# -- the cycle --------------------------------------------------------------------------------


async def test_cycles_take_a_job_from_queued_to_success(
    client: TunerClient,
    ledger: Ledger,
    sandbox: SandboxHandle,
    http: httpx.Client,
    create_job: CreateJob,
) -> None:
    job_id = create_job(hyperparameters={"training_steps": 30})
    daemon = daemon_for(client, ledger)

    async def cycle() -> CycleReport:
        report = await daemon.run_cycle()
        assert report.ran and report.error is None
        return report

    await cycle()
    for seconds in (6, 15):
        sandbox.advance(seconds)
        await cycle()
    assert http.post(f"/v1/fine_tuning/jobs/{job_id}/start").status_code == 200
    await cycle()
    sandbox.advance(11)
    await cycle()
    sandbox.advance(400)
    last = await cycle()

    assert statuses(ledger, job_id) == LIFECYCLE
    assert [c.step for c in ledger.checkpoints(job_id)] == [10, 20, 30]
    assert last.poll is not None and last.poll.left == (job_id,)
    assert last.delivery.sent == 1  # SUCCESS, through the log notifier
    assert ledger.pending_notifications(NOW, notifier="log") == []
    assert not (await cycle()).busy  # nothing active any more: the idle interval follows


async def test_the_queue_is_drained_each_cycle(client: TunerClient, ledger: Ledger) -> None:
    drained: list[int] = []

    async def drain() -> QueueReport:
        drained.append(1)
        made = [Submission(i, "submitted", job=object()) for i in (1, 2)]  # type: ignore[arg-type]
        return QueueReport(submissions=made)

    report = await daemon_for(client, ledger, drain_queue=drain).run_cycle()

    assert drained == [1]
    assert report.submitted == 2 and report.busy


async def test_queued_specs_are_submitted_by_the_cycle(
    client: TunerClient, ledger: Ledger, http: httpx.Client, tmp_path: Path
) -> None:
    upload = http.post(
        "/v1/files",
        files={"file": ("queued.jsonl", training_bytes())},
        data={"purpose": "fine-tune"},
    )
    request = JobCreate(
        model="open-mistral-7b",
        training_files=[upload.json()["id"]],
        suffix="queued",
        hyperparameters={"training_steps": 10},
    )
    [entry] = ledger.enqueue([submission_spec(request, SubmissionMeta())], now=NOW)
    drain = queue_drainer(client, ledger, backend=client.base_url, clock=fixed_clock)
    daemon = daemon_for(client, ledger, drain_queue=drain)

    report = await daemon.run_cycle()

    assert report.submitted == 1 and report.busy
    submitted = ledger.get_queue_entry(entry.id)
    assert submitted is not None and submitted.state == "submitted"
    assert submitted.job_id is not None
    assert statuses(ledger, submitted.job_id) == ["QUEUED"]


async def test_the_daemon_drains_sweep_members_with_the_wandb_key_and_its_limit(
    client: TunerClient, ledger: Ledger, http: httpx.Client, ledger_path: Path
) -> None:
    key = "wandb-secret-for-the-daemon-0123456789abcd"
    upload = http.post(
        "/v1/files",
        files={"file": ("sweep.jsonl", training_bytes())},
        data={"purpose": "fine-tune"},
    )
    requests = [
        JobCreate(
            model="open-mistral-7b",
            training_files=[upload.json()["id"]],
            suffix=f"sweep-{index}",
            hyperparameters={"training_steps": 10 * index},
            integrations=[{"project": "support-bot", "api_key": key}],
        )
        for index in (1, 2)
    ]
    specs = [submission_spec(r, SubmissionMeta(start="approved")) for r in requests]
    ledger.enqueue(specs, sweep_id="sweep-1", now=NOW)
    drain = queue_drainer(
        client,
        ledger,
        backend=client.base_url,
        clock=fixed_clock,
        max_active=1,
        wandb_key=SecretStr(key),
    )

    report = await daemon_for(client, ledger, drain_queue=drain).run_cycle()

    assert (report.submitted, report.queued) == (1, 1)  # max_active=1
    [entry] = ledger.entries_in_state("submitted", sweep_id="sweep-1")
    assert entry.job_id is not None and entry.updated_at == NOW  # the daemon's clock
    job = http.get(f"/v1/fine_tuning/jobs/{entry.job_id}").json()
    assert [i["project"] for i in job["integrations"]] == ["support-bot"]
    stored = b"".join(path.read_bytes() for path in ledger_path.parent.glob("ledger.db*"))
    assert key.encode() not in stored and b"support-bot" in stored


async def test_a_completed_cycle_records_when_the_daemon_polled(
    client: TunerClient, open_at: Callable[..., Ledger]
) -> None:
    clock = [NOW + 40]
    ledger = open_at()
    daemon = daemon_for(client, ledger, clock=lambda: clock[0])
    assert ledger.last_heartbeat("daemon") is None
    assert (await daemon.run_cycle()).ran
    assert ledger.last_heartbeat("daemon") == NOW + 40  # the injected clock, at the cycle's end
    clock[0] = NOW + 70
    assert (await daemon.run_cycle()).ran
    assert ledger.last_heartbeat("daemon") == NOW + 70

    # A daemon that waits for the lease records nothing: the header keeps the holder's time.
    standby = daemon_for(client, open_at(), clock=lambda: NOW + 80)
    assert not (await standby.run_cycle()).ran
    assert ledger.last_heartbeat("daemon") == NOW + 70


async def test_one_daemon_per_ledger(client: TunerClient, open_at: Callable[..., Ledger]) -> None:
    # Two Ledger objects on one database, as two processes (or hosts) would have; on SQLite
    # and, in CI, on PostgreSQL.
    first = daemon_for(client, open_at())
    second = daemon_for(client, open_at())

    assert (await first.run_cycle()).ran
    waiting = await second.run_cycle()
    assert not waiting.ran and waiting.holder == first.owner
    assert waiting.poll is None

    await first.release_lease()
    assert (await second.run_cycle()).ran


async def test_a_transition_recorded_by_another_writer_is_announced(
    client: TunerClient,
    open_at: Callable[..., Ledger],
    http: httpx.Client,
    create_job: CreateJob,
) -> None:
    # The CLI and TUI open the ledger without notifiers. What they record first must still get
    # outbox rows for the daemon's notifiers, which the daemon registered when it took the lease.
    cli = open_at(notifiers=())
    cli.register_notifiers(["log"], now=NOW)  # what an earlier daemon registered
    announced = FakeNotifier("webhook")
    daemon = daemon_for(client, open_at(notifiers=()), notifiers=[LogNotifier(), announced])
    standby = daemon_for(client, open_at(notifiers=()), notifiers=[FakeNotifier("other")])

    assert (await daemon.run_cycle()).ran
    assert cli.registered_notifiers() == ("log", "webhook")
    assert not (await standby.run_cycle()).ran
    assert cli.registered_notifiers() == ("log", "webhook")  # a waiting daemon changes nothing

    job_id = create_job()
    snapshot = http.get(f"/v1/fine_tuning/jobs/{job_id}").json()
    changes = cli.apply_snapshot(snapshot, backend=client.base_url, now=NOW)
    assert sorted(n.notifier for n in changes.notifications) == ["log", "webhook"]

    report = await daemon.run_cycle()
    assert report.delivery.sent == 2
    assert announced.sent == [f"{job_id}:1:QUEUED"]


async def test_a_lease_left_by_a_dead_process_on_this_host_is_taken_over(
    client: TunerClient, ledger: Ledger
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert ledger.acquire_lease(LEASE_NAME, make_owner(dead.pid), 3600, NOW)

    assert (await daemon_for(client, ledger).run_cycle()).ran


async def test_a_lease_held_from_another_host_is_waited_for(
    client: TunerClient, ledger: Ledger
) -> None:
    assert ledger.acquire_lease(LEASE_NAME, "elsewhere:1:0123456789ab", 60, NOW)
    daemon = daemon_for(client, ledger)

    assert not (await daemon.run_cycle()).ran
    later = daemon_for(client, ledger, clock=lambda: NOW + 60)
    assert (await later.run_cycle()).ran  # expired


def test_owner_is_gone_only_for_a_dead_process_on_this_host() -> None:
    host = socket.gethostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = make_owner(dead.pid)
    assert gone.startswith(f"{host}:{dead.pid}:")
    assert owner_is_gone(gone)
    assert not owner_is_gone(make_owner())  # this very process
    assert not owner_is_gone(gone.replace(host, f"other-{host}", 1))
    assert not owner_is_gone("garbage")
    assert not owner_is_gone(f"{host}:notapid:abc")
    if Path("/proc/self/ns/pid").exists():
        # Same host name, another PID namespace (a container): its pids mean nothing here.
        assert not owner_is_gone(f"{host}:{dead.pid}:0-0123456789ab")


async def test_every_key_rejected_stops_the_daemon(
    start_sandbox: Callable[..., SandboxHandle], ledger: Ledger
) -> None:
    locked = start_sandbox(api_key="right-key")
    async with make_client(locked) as api:  # its key is not the right one
        daemon = daemon_for(api, ledger)
        await asyncio.wait_for(daemon.run(), timeout=5)
    assert daemon.fatal is not None and daemon.fatal.error.status_code == 401
    assert API_KEY not in str(daemon.fatal)
    assert ledger.lease_holder(LEASE_NAME, NOW) is None


# -- intervals --------------------------------------------------------------------------------


CONFIG = DaemonConfig(interval=30, idle_interval=300, max_interval=1800)


def polled(active: int, *, rate_limited: int = 0, retry_after: float | None = None) -> CycleReport:
    result = CycleResult(
        listed={"RUNNING": active},
        page_size=100,
        list_requests=1,
        detail_requests=0,
        changed=(),
        left=(),
        rate_limited=rate_limited,
        retry_after=retry_after,
    )
    return CycleReport(ran=True, poll=result)


def test_the_interval_is_short_while_jobs_run_and_long_when_idle() -> None:
    assert next_delay(CONFIG, polled(3), failures=0, busy=True) == 30
    assert next_delay(CONFIG, polled(0), failures=0, busy=False) == 300
    assert polled(3).busy and not polled(0).busy


def test_the_interval_stretches_on_429_and_failures_up_to_the_cap() -> None:
    limited = polled(3, rate_limited=1)
    assert limited.rate_limited
    assert next_delay(CONFIG, limited, failures=1, busy=True) == 60
    assert next_delay(CONFIG, limited, failures=3, busy=True) == 240
    assert next_delay(CONFIG, limited, failures=10, busy=True) == 1800
    assert next_delay(CONFIG, None, failures=1, busy=False) == 600  # idle stays the floor
    told = polled(3, rate_limited=1, retry_after=500)
    assert next_delay(CONFIG, told, failures=1, busy=True) == 500
    error = RateLimitError("slow down", status_code=429, retry_after=90.0)
    assert next_delay(CONFIG, CycleReport(ran=True, error=error), failures=1, busy=True) == 90
    # A call that gave up on a Retry-After past the client's cap: the daemon waits it out.
    down = InternalServerError("later", status_code=503, retry_after=900.0)
    assert next_delay(CONFIG, CycleReport(ran=True, error=down), failures=1, busy=True) == 900


def test_a_daemon_without_the_lease_asks_again_after_the_normal_interval() -> None:
    assert next_delay(CONFIG, CycleReport(ran=False), failures=0, busy=False) == 30


async def test_the_scheduler_adapts_the_interval(
    client: TunerClient, ledger: Ledger, create_job: CreateJob
) -> None:
    config = DaemonConfig(interval=0.05, idle_interval=600, stop_grace=1.0)
    daemon = daemon_for(client, ledger, config=config)
    runner = asyncio.ensure_future(daemon.run())
    try:
        await wait_for(lambda: daemon.current_interval == 600)  # nothing active: idle
        assert daemon.cycles == 1
        assert ledger.lease_holder(LEASE_NAME, NOW) is not None
    finally:
        daemon.stop()
        await asyncio.wait_for(runner, timeout=5)
    assert ledger.lease_holder(LEASE_NAME, NOW) is None

    create_job()
    busy = daemon_for(client, ledger, config=config)
    runner = asyncio.ensure_future(busy.run())
    try:
        await wait_for(lambda: busy.cycles >= 3)  # a job is active: short cycles
        assert busy.current_interval == 0.05
    finally:
        busy.stop()
        await asyncio.wait_for(runner, timeout=5)


async def test_the_scheduler_backs_off_on_429(
    start_sandbox: Callable[..., SandboxHandle], ledger: Ledger
) -> None:
    limited = start_sandbox(faults="429=1")
    config = DaemonConfig(interval=0.05, idle_interval=0.05, max_interval=60, stop_grace=1.0)
    async with make_client(limited, max_attempts=1) as api:
        daemon = daemon_for(api, ledger, config=config)
        runner = asyncio.ensure_future(daemon.run())
        try:
            await wait_for(lambda: daemon.current_interval is not None)
            # The sandbox's 429 says Retry-After: the wait is at least that.
            assert daemon.current_interval is not None and daemon.current_interval >= 1
            assert daemon.last_report is not None
            assert isinstance(daemon.last_report.error, RateLimitError)
        finally:
            daemon.stop()
            await asyncio.wait_for(runner, timeout=5)


async def test_a_stop_during_a_hanging_delivery_ends_within_the_grace(
    client: TunerClient, ledger: Ledger, create_job: CreateJob
) -> None:
    job_id = create_job()
    with WebhookReceiver(hang_on=1) as receiver:
        notifiers = [LogNotifier(), WebhookNotifier(receiver.url, timeout=60)]
        daemon = daemon_for(client, ledger, notifiers=notifiers)
        runner = asyncio.ensure_future(daemon.run())
        await wait_for(receiver.arrived.is_set)
        started = time.monotonic()
        daemon.stop()
        await asyncio.wait_for(runner, timeout=5)
        assert time.monotonic() - started < FAST.stop_grace + 1
    (row,) = [n for n in ledger.notifications_for_job(job_id) if n.notifier == "webhook"]
    assert row.status == "pending"  # cut off mid-send: it goes out again next time
    assert ledger.lease_holder(LEASE_NAME, NOW) is None


# -- the real process -------------------------------------------------------------------------


class DaemonProcess:
    """``python -m tuner daemon`` against the sandbox; its stdout and its log in files."""

    def __init__(self, tmp_path: Path, sandbox_url: str, ledger_path: Path, *args: str) -> None:
        name = f"daemon-{time.monotonic_ns()}"
        self.log_path = tmp_path / f"{name}.log"
        self.out_path = tmp_path / f"{name}.out"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TUNER_") and k != "MISTRAL_API_KEY"
        }
        env.update(
            TUNER_API_URL=sandbox_url,
            MISTRAL_API_KEY=API_KEY,
            TUNER_DB=str(ledger_path),
            TUNER_RETRY_MAX_ATTEMPTS="1",
            XDG_CONFIG_HOME=str(tmp_path / "config"),
        )
        self._log = self.log_path.open("wb")
        self._out = self.out_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tuner", "daemon", *args],
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=self._log,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.close()
            self._out.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.wait(10)  # reaped: a zombie would still look alive to the next daemon


@pytest.fixture
def start_daemon(
    tmp_path: Path, sandbox: SandboxHandle, ledger_path: Path
) -> Iterator[Callable[..., DaemonProcess]]:
    started: list[DaemonProcess] = []

    def start(*args: str) -> DaemonProcess:
        process = DaemonProcess(tmp_path, sandbox.url, ledger_path, *args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def wait_until(condition: Callable[[], bool], daemon: DaemonProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if daemon.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the daemon did not get there; its log:\n{daemon.log()}")
        time.sleep(0.02)


FAST_ARGS = ("--interval", "0.05", "--idle-interval", "0.05", "--lease-ttl", "30")


def test_sigkill_mid_delivery_loses_nothing_and_repeats_only_the_one_in_flight(
    start_daemon: Callable[..., DaemonProcess],
    ledger: Ledger,
    sandbox: SandboxHandle,
    http: httpx.Client,
    create_job: CreateJob,
) -> None:
    job_id = create_job()
    with WebhookReceiver(hang_on=3) as receiver:
        args = (*FAST_ARGS, "--webhook", receiver.url, "--webhook-timeout", "60")
        first = start_daemon(*args)
        wait_until(lambda: len(receiver.bodies) >= 1, first)  # QUEUED
        sandbox.advance(6)
        wait_until(lambda: len(receiver.bodies) >= 2, first)  # VALIDATING
        sandbox.advance(15)
        wait_until(receiver.arrived.is_set, first)  # VALIDATED: the receiver holds it

        first.process.send_signal(signal.SIGKILL)
        first.kill()
        in_flight = receiver.transition_ids()[2]
        assert in_flight.endswith(":3:VALIDATED")
        (row,) = [
            n
            for n in ledger.notifications_for_job(job_id)
            if n.transition_id == in_flight and n.notifier == "webhook"
        ]
        assert row.status == "pending"  # sent, but the kill came before it was recorded
        receiver.release.set()

        # While no daemon runs, the job moves on.
        assert http.post(f"/v1/fine_tuning/jobs/{job_id}/start").status_code == 200

        second = start_daemon(*args)
        wait_until(lambda: statuses(ledger, job_id) == LIFECYCLE[:4], second)
        sandbox.advance(11)
        wait_until(lambda: statuses(ledger, job_id) == LIFECYCLE[:5], second)
        sandbox.advance(200)
        # Statuses first: an outbox row is written in the same transaction as its transition,
        # so once SUCCESS is read, the next read sees its notification too. The other order
        # could read "all sent" just before SUCCESS and its pending row were recorded.
        wait_until(
            lambda: (
                statuses(ledger, job_id) == LIFECYCLE
                and all(n.status == "sent" for n in ledger.notifications_for_job(job_id))
            ),
            second,
        )
        second.process.send_signal(signal.SIGTERM)
        assert second.wait(5) == 0

    transitions = [t.id for t in ledger.transitions(job_id)]
    assert [t.split(":")[-1] for t in transitions] == LIFECYCLE
    received = receiver.transition_ids()
    assert set(received) == set(transitions)  # every notification arrived
    repeated = [t for t in transitions if received.count(t) > 1]
    assert repeated == [in_flight] and received.count(in_flight) == 2
    assert [c.step for c in ledger.checkpoints(job_id)] == [10]
    assert "took it over" in second.log()  # the dead first daemon's lease, at once
    assert ledger.lease_holder(LEASE_NAME, int(time.time())) is None


def test_sigterm_stops_the_daemon_within_five_seconds_even_mid_delivery(
    start_daemon: Callable[..., DaemonProcess], ledger: Ledger, create_job: CreateJob
) -> None:
    create_job()
    with WebhookReceiver(hang_on=1) as receiver:
        daemon = start_daemon(*FAST_ARGS, "--webhook", receiver.url, "--webhook-timeout", "60")
        wait_until(receiver.arrived.is_set, daemon)
        started = time.monotonic()
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.wait(5) == 0
        assert time.monotonic() - started < 5
    assert "daemon stopped" in daemon.log()
    assert ledger.lease_holder(LEASE_NAME, int(time.time())) is None


def test_sigint_stops_an_idle_daemon(
    start_daemon: Callable[..., DaemonProcess], ledger: Ledger
) -> None:
    daemon = start_daemon("--interval", "0.05", "--idle-interval", "600")
    wait_until(lambda: ledger.lease_holder(LEASE_NAME, int(time.time())) is not None, daemon)
    daemon.process.send_signal(signal.SIGINT)
    assert daemon.wait(5) == 0
    assert ledger.lease_holder(LEASE_NAME, int(time.time())) is None


def test_once_runs_one_cycle_and_releases_the_lease(
    start_daemon: Callable[..., DaemonProcess], ledger: Ledger, create_job: CreateJob
) -> None:
    job_id = create_job()
    daemon = start_daemon("--once", "--json")
    assert daemon.wait(30) == 0
    report = json.loads(daemon.output())
    assert report["ran"] and report["changed"] == [job_id]
    assert report["requests"] <= report["request_bound"]
    assert statuses(ledger, job_id) == ["QUEUED"]
    assert ledger.lease_holder(LEASE_NAME, int(time.time())) is None


def test_once_exits_3_when_the_api_cannot_be_reached(tmp_path: Path, ledger_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    daemon = DaemonProcess(tmp_path, f"http://127.0.0.1:{closed_port}", ledger_path, "--once")
    assert daemon.wait(30) == 3
    assert "cannot reach" in daemon.log()
