"""The async core never blocks its event loop on the ledger.

Every transaction of ``SlowLedger`` takes ``DELAY`` seconds longer (a far-away PostgreSQL, a
busy SQLite file) and notes the thread it ran on. The poller, the submitter, the orchestrator,
OpenAI's create/poll/cancel and a daemon cycle (Mistral alone, then both providers with OpenAI's
queue) then run against the sandboxes on a loop in asyncio's debug mode, which logs
"Executing <callback> took N seconds" for any callback that holds the loop longer than
``loop.slow_callback_duration`` (``SLOW_CALLBACK``). Two checks, each enough on its own:

- the slow-callback warning stays silent: a ledger call made on the loop would hold it at least
  ``DELAY`` (> ``SLOW_CALLBACK``);
- no transaction ran on the loop's thread (exact, independent of timing), and some ran
  elsewhere (the flow did use the slow ledger).

Against the code before ``Ledger.aio`` every flow test here fails both checks. A static check
adds what no flow test reaches: no coroutine of the core (jobs, evals, services), the TUI or the
CLI calls a blocking ledger operation itself, and every module with coroutines that reach a
ledger is one it reads. The threshold keeps a
wide margin over the core's own callbacks (at most ~0.14 s measured on a 2-core machine at load
10) because one-off costs that are not the ledger's are paid before the watch: building the
wire models' validators, opening the client's connections, and a full garbage collection.
"""

from __future__ import annotations

import ast
import asyncio
import gc
import inspect
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import Connection

from tuner.api import TunerClient, wire
from tuner.api.openai import OpenAIClient
from tuner.api.openai import wire as openai_wire
from tuner.api.openai.wire import OpenAIWire
from tuner.api.retry import RetryPolicy
from tuner.api.wire import WireModel
from tuner.jobs.daemon import Daemon, DaemonConfig, queue_drainer
from tuner.jobs.ledger import Ledger
from tuner.jobs.notifiers import LogNotifier
from tuner.jobs.openai_create import OpenAICreator
from tuner.jobs.openai_jobs import OpenAIJobs
from tuner.jobs.orchestrator import Orchestrator, Plan
from tuner.jobs.poller import DETAIL_CONCURRENCY, poll_once
from tuner.jobs.spec import load_spec
from tuner.jobs.submit import SubmissionMeta, Submitter
from tuner.sandbox import SandboxHandle

from .conftest import CreateJob
from .flow_support import (
    API_KEY,
    NOW,
    FakeMonotonic,
    advancing_sleep,
    make_client,
    sandbox_clock,
    small_training,
    statuses,
    training_bytes,
    write_spec,
)

T = TypeVar("T")

DELAY = 0.35
"""Seconds each ledger transaction sleeps in the thread that runs it."""
SLOW_CALLBACK = 0.3
"""asyncio's debug threshold here: below ``DELAY``, so a ledger call on the loop is caught,
and twice what the core's own callbacks took at most on a busy machine (see the module doc)."""


class SlowLedger(Ledger):
    """A ``Ledger`` whose every transaction first sleeps ``delay`` seconds in the calling
    thread, recording which thread that was. ``delay`` starts at 0, so set-up is quick."""

    def __init__(self, url: str, *, notifiers: Sequence[str] = ()) -> None:
        super().__init__(url, notifiers=notifiers)
        self.delay = 0.0
        self.threads: list[int] = []

    def _slow(self) -> None:
        if self.delay:
            self.threads.append(threading.get_ident())
            threading.Event().wait(self.delay)

    def _write(self, what: str) -> AbstractContextManager[Connection]:
        self._slow()
        return super()._write(what)

    def _read(self, what: str) -> AbstractContextManager[Connection]:
        self._slow()
        return super()._read(what)


@pytest.fixture
def slow_ledger(ledger_path: Path) -> Iterator[SlowLedger]:
    opened = SlowLedger(str(ledger_path), notifiers=("log",))
    try:
        yield opened
    finally:
        opened.close()


def run_watched(
    ledger: SlowLedger,
    sandbox: SandboxHandle,
    main: Callable[[TunerClient], Awaitable[T]],
    caplog: pytest.LogCaptureFixture,
) -> T:
    """Run ``main`` with a client of the sandbox, on a debug-mode loop, with the ledger slowed
    down; assert the loop was never held by the ledger (see the module doc)."""

    async def watched() -> T:
        async with make_client(sandbox) as client:
            await _open_connections(client)
            return await _slowed(ledger, main(client))

    return _run_on_a_debug_loop(ledger, watched, caplog)


async def _slowed(ledger: SlowLedger, flow: Awaitable[T]) -> T:
    """``flow`` with the ledger slowed down and the loop watched (the warm-up before is not)."""
    loop = asyncio.get_running_loop()
    loop.slow_callback_duration = SLOW_CALLBACK
    ledger.delay = DELAY
    try:
        return await flow
    finally:
        ledger.delay = 0.0
        loop.slow_callback_duration = 3600.0


def _run_on_a_debug_loop(
    ledger: SlowLedger, watched: Callable[[], Awaitable[T]], caplog: pytest.LogCaptureFixture
) -> T:
    """Run ``watched`` (which slows the ledger down with :func:`_slowed`) on a debug-mode
    loop; assert the loop was never held by the ledger (see the module doc)."""
    _build_wire_models()
    caplog.set_level(logging.WARNING, logger="asyncio")
    loop_thread = threading.get_ident()

    async def unwatched_warm_up() -> T:
        asyncio.get_running_loop().slow_callback_duration = 3600.0
        return await watched()

    # A full garbage collection of this process (sandbox included) takes up to 0.35 s on a busy
    # machine, wherever it falls: not the ledger's doing, so none runs during the watch.
    gc.collect()
    gc.disable()
    try:
        result = asyncio.run(unwatched_warm_up(), debug=True)
    finally:
        gc.enable()

    slow = [r.getMessage() for r in caplog.records if r.name == "asyncio" and "took" in r.message]
    assert slow == []
    on_loop = [ident for ident in ledger.threads if ident == loop_thread]
    assert ledger.threads, "the flow never used the ledger"
    assert on_loop == [], f"{len(on_loop)} of {len(ledger.threads)} ledger calls held the loop"
    return result


def _build_wire_models() -> None:
    """Build the wire models' validators now: ``tuner.api.wire`` defers that to their first use
    (``defer_build``), a one-off of up to 0.2 s on a busy machine that is not the ledger's."""
    for module, base in ((wire, WireModel), (openai_wire, OpenAIWire)):
        for model in vars(module).values():
            if isinstance(model, type) and issubclass(model, base) and model is not base:
                model.model_rebuild()


async def _open_connections(client: TunerClient) -> None:
    """Open the client's pooled connections (the poller sends 8 requests at once) before the
    watch: the HTTP stack's imports on first use and connection set-up are not the ledger's."""
    await asyncio.gather(*(client.models.list() for _ in range(DETAIL_CONCURRENCY)))


def test_a_poll_leaves_the_loop_free(
    slow_ledger: SlowLedger,
    sandbox: SandboxHandle,
    create_job: CreateJob,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job_ids = [create_job(f"slow-{index}") for index in range(3)]

    async def main(client: TunerClient) -> None:
        await poll_once(client, slow_ledger, backend=sandbox.url, now=NOW)
        sandbox.advance(6)
        await poll_once(client, slow_ledger, backend=sandbox.url, now=NOW)

    run_watched(slow_ledger, sandbox, main, caplog)

    for job_id in job_ids:
        assert statuses(slow_ledger, job_id) == ["QUEUED", "VALIDATING"]
    assert len(slow_ledger.pending_notifications(NOW, notifier="log")) == 3 * 2


def test_a_submitter_cycle_leaves_the_loop_free(
    slow_ledger: SlowLedger,
    sandbox: SandboxHandle,
    http: httpx.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    upload = http.post(
        "/v1/files",
        files={"file": ("train.jsonl", training_bytes())},
        data={"purpose": "fine-tune"},
    )
    spec = {
        "model": "open-mistral-7b",
        "training_files": [upload.json()["id"]],
        "hyperparameters": {"training_steps": 10},
    }
    meta = SubmissionMeta(start="approved").model_dump(mode="json")
    slow_ledger.enqueue(
        [{**spec, "suffix": f"queued-{index}", "tuner": meta} for index in range(2)], now=NOW
    )

    async def main(client: TunerClient) -> int:
        submitter = Submitter(
            client, slow_ledger, backend=sandbox.url, clock=sandbox_clock(sandbox)
        )
        report = await submitter.cycle()
        return len(report.created)

    assert run_watched(slow_ledger, sandbox, main, caplog) == 2
    assert len(slow_ledger.entries_in_state("submitted")) == 2


def test_an_orchestrator_flow_leaves_the_loop_free(
    tmp_path: Path,
    slow_ledger: SlowLedger,
    sandbox: SandboxHandle,
    caplog: pytest.LogCaptureFixture,
) -> None:
    small_training(tmp_path / "train.jsonl")
    spec_path = write_spec(
        tmp_path / "job.toml",
        """
model = "open-mistral-7b"
suffix = "slow-ledger"
training_files = [{ path = "train.jsonl", weight = 1.0 }]
[hyperparameters]
training_steps = 10
learning_rate = 1e-4
""",
    )
    spec = load_spec(spec_path)

    def confirm(plan: Plan) -> bool:
        return True

    async def main(client: TunerClient) -> tuple[str, str, str]:
        orch = Orchestrator(
            client,
            slow_ledger,
            clock=sandbox_clock(sandbox),
            sleep=advancing_sleep(sandbox),
            confirm=confirm,
            poll_interval=5.0,
            validate_workers=1,
        )
        result = await orch.create(spec)
        assert result.outcome == "started", result.message
        [job] = result.jobs
        cancelled = await orch.cancel(job.id)
        return job.id, result.outcome, cancelled.status

    job_id, outcome, status = run_watched(slow_ledger, sandbox, main, caplog)

    assert outcome == "started" and status in ("CANCELLATION_REQUESTED", "CANCELLED")
    assert statuses(slow_ledger, job_id)[:3] == ["QUEUED", "VALIDATING", "VALIDATED"]


def test_a_daemon_cycle_leaves_the_loop_free(
    slow_ledger: SlowLedger,
    sandbox: SandboxHandle,
    create_job: CreateJob,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job_id = create_job("daemon-slow")
    config = DaemonConfig(interval=0.05, idle_interval=0.05, stop_grace=1.0, lease_ttl=30)

    async def main(client: TunerClient) -> int:
        drain = queue_drainer(
            client, slow_ledger, backend=sandbox.url, clock=sandbox_clock(sandbox)
        )
        daemon = Daemon(
            client,
            slow_ledger,
            [LogNotifier()],
            config,
            drain_queue=drain,
            clock=sandbox.clock.now,
        )
        report = await daemon.run_once()
        assert report.ran and report.error is None
        return report.delivery.sent

    assert run_watched(slow_ledger, sandbox, main, caplog) == 1  # the log notifier announced QUEUED
    assert statuses(slow_ledger, job_id) == ["QUEUED"]


# -- OpenAI: its queue, its poller and the daemon's cycle over both providers -----------------


def openai_client(oai: SandboxHandle) -> OpenAIClient:
    mono = FakeMonotonic()
    return OpenAIClient(
        [API_KEY],
        base_url=oai.url + "/v1",
        retry=RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.05),
        sleep=mono.sleep,
        clock=mono,
        wall_clock=oai.clock.now,
    )


def openai_spec(folder: Path, suffix: str) -> Path:
    from .test_openai_jobs import BASE, conversations

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.jsonl").write_bytes(conversations(prefix=suffix))
    path = folder / "job.toml"
    path.write_text(
        f'provider = "openai"\nmodel = "{BASE}"\nsuffix = "{suffix}"\n'
        'training_files = ["train.jsonl"]\n[hyperparameters]\nn_epochs = 2\n',
        encoding="utf-8",
    )
    return path


def test_an_openai_create_poll_and_cancel_leave_the_loop_free(
    tmp_path: Path,
    slow_ledger: SlowLedger,
    start_sandbox: Callable[..., SandboxHandle],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from .test_openai_jobs import PAST_THE_END

    oai = start_sandbox(provider="openai")
    specs = [load_spec(openai_spec(tmp_path / name, name)) for name in ("done", "stopped")]

    async def watched() -> tuple[str, str, str]:
        async with openai_client(oai) as client:
            await client.jobs.list().to_list()  # connections and imports: not the ledger's
            jobs = OpenAIJobs(
                client, slow_ledger, backend=oai.url + "/v1", clock=sandbox_clock(oai)
            )
            creator = OpenAICreator(jobs, confirm=lambda plan: True)

            async def flow() -> tuple[str, str, str]:
                done, stopped = [await creator.create(spec) for spec in specs]
                assert done.outcome == stopped.outcome == "started", done.message
                oai.advance(30)  # both train now: "stopped" is cancelled while it trains
                await jobs.refresh(stopped.jobs[0].id)
                cancelled = await jobs.cancel(stopped.jobs[0].id)
                oai.advance(PAST_THE_END)
                poll = await jobs.poll()
                assert poll.fetched, "the poll recorded nothing"
                return done.jobs[0].id, stopped.jobs[0].id, cancelled.job.status

            return await _slowed(slow_ledger, flow())

    done_id, stopped_id, cancelled = _run_on_a_debug_loop(slow_ledger, watched, caplog)

    assert statuses(slow_ledger, done_id)[-1] == "SUCCESS"
    assert slow_ledger.checkpoints(done_id) and slow_ledger.events(done_id)
    assert cancelled in ("CANCELLATION_REQUESTED", "CANCELLED")
    assert statuses(slow_ledger, stopped_id)[-1] == "CANCELLED"


def test_a_daemon_cycle_over_both_providers_leaves_the_loop_free(
    tmp_path: Path,
    slow_ledger: SlowLedger,
    sandbox: SandboxHandle,
    start_sandbox: Callable[..., SandboxHandle],
    create_job: CreateJob,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tuner.api.openai import OpenAIJobCreate

    oai = start_sandbox(provider="openai")
    mistral_job = create_job("daemon-both")
    config = DaemonConfig(interval=0.05, idle_interval=0.05, stop_grace=1.0, lease_ttl=30)

    async def watched() -> tuple[int, str]:
        async with make_client(sandbox) as client, openai_client(oai) as oclient:
            await _open_connections(client)
            await oclient.jobs.list().to_list()
            jobs = OpenAIJobs(
                oclient, slow_ledger, backend=oai.url + "/v1", clock=sandbox_clock(oai)
            )
            uploaded = await oclient.files.upload(
                openai_spec(tmp_path / "daemon", "daemon").with_name("train.jsonl"),
                purpose="fine-tune",
            )
            request = OpenAIJobCreate(model="gpt-4o-mini-2024-07-18", training_file=uploaded.id)
            # Queued for the daemon to create: its cycle drains OpenAI's queue and polls both.
            [entry] = await slow_ledger.aio.call(
                slow_ledger.enqueue, [request.to_body()], now=NOW, provider="openai"
            )
            daemon = Daemon(
                client,
                slow_ledger,
                [LogNotifier()],
                config,
                drain_queue=queue_drainer(
                    client, slow_ledger, backend=sandbox.url, clock=sandbox_clock(sandbox)
                ),
                clock=sandbox.clock.now,
                openai=jobs,
            )

            async def flow() -> tuple[int, str]:
                report = await daemon.run_once()
                assert report.ran and report.error is None and report.openai_error is None
                return report.delivery.sent, entry.id

            return await _slowed(slow_ledger, flow())

    sent, entry_id = _run_on_a_debug_loop(slow_ledger, watched, caplog)

    assert sent >= 1  # at least the Mistral job's QUEUED was announced
    assert statuses(slow_ledger, mistral_job) == ["QUEUED"]
    assert [e.id for e in slow_ledger.entries_in_state("submitted")] == [entry_id]
    [created] = slow_ledger.list_jobs(backend=oai.url + "/v1")
    assert created.provider == "openai"


# -- static: the loop-side code never calls the blocking ledger -------------------------------

REPO = Path(__file__).resolve().parents[2]
ASYNC_CORE = ("tuner/jobs", "tuner/evals", "tuner/tui", "tuner/cli", "tuner/services.py")
"""Where every ledger call from a coroutine goes through ``ledger.aio``: the CLI's one-shot
commands too (their loop also runs the client's retries, progress and Ctrl-C handling)."""
OPERATIONS = frozenset(
    name for name, _ in inspect.getmembers(Ledger, inspect.isfunction) if name[0] != "_"
) - {"close"}


class _BlockingCalls(ast.NodeVisitor):
    """``<…ledger>.<operation>(…)`` made directly in the body of an ``async def`` (nested plain
    functions and lambdas are not the coroutine's own code: they run where they are sent)."""

    def __init__(self) -> None:
        self.in_coroutine: list[bool] = []
        self.found: list[tuple[int, str]] = []

    def _scope(self, node: ast.AST, is_async: bool) -> None:
        self.in_coroutine.append(is_async)
        self.generic_visit(node)
        self.in_coroutine.pop()

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._scope(node, True)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scope(node, False)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._scope(node, False)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            self.in_coroutine
            and self.in_coroutine[-1]
            and isinstance(func, ast.Attribute)
            and func.attr in OPERATIONS
            and _names_a_ledger(func.value)
        ):
            self.found.append((node.lineno, ast.unparse(func)))
        self.generic_visit(node)


def _names_a_ledger(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return "ledger" in node.id.lower()
    return isinstance(node, ast.Attribute) and "ledger" in node.attr.lower()


def blocking_ledger_calls(source: str) -> list[tuple[int, str]]:
    visitor = _BlockingCalls()
    visitor.visit(ast.parse(source))
    return visitor.found


def test_the_check_finds_a_blocking_call_in_a_coroutine() -> None:
    source = """
async def poll(self, job):
    await self.ledger.aio.apply_snapshot(job, backend="b", now=1)
    self.ledger.apply_snapshot(job, backend="b", now=1)
    await asyncio.to_thread(lambda: ledger.get_job("x"))

def sync(ledger):
    ledger.get_job("x")
"""
    assert blocking_ledger_calls(source) == [(4, "self.ledger.apply_snapshot")]


def _sources(place: Path) -> list[Path]:
    return [place] if place.is_file() else sorted(place.rglob("*.py"))


def test_no_coroutine_of_the_async_core_calls_the_blocking_ledger() -> None:
    found = [
        f"{path.relative_to(REPO)}:{line}: {call}"
        for place in ASYNC_CORE
        for path in _sources(REPO / place)
        for line, call in blocking_ledger_calls(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "await ledger.aio.<operation>(...) instead"


def test_the_static_check_covers_every_module_with_coroutines_that_reach_a_ledger() -> None:
    # A new package with async code and a ledger (as OpenAI's jobs were) is checked too.
    covered = [REPO / place for place in ASYNC_CORE]
    uncovered = [
        str(path.relative_to(REPO))
        for path in sorted((REPO / "tuner").rglob("*.py"))
        if "async def" in (text := path.read_text(encoding="utf-8"))
        and re.search(r"ledger\w*\.(?:aio\.)?\w+\(", text, re.IGNORECASE)
        and not any(path == place or place in path.parents for place in covered)
    ]
    assert uncovered == [], "add them to ASYNC_CORE"
