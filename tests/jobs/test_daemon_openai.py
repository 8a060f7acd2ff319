"""One daemon for both providers: OpenAI's jobs polled into the same ledger (events, checkpoints,
notifications on terminal states), and a provider that is down or refuses its key is one warning
while the other is still polled."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tuner.api import AuthenticationError, TunerClient
from tuner.api.openai import OpenAIClient, OpenAIJobCreate
from tuner.api.retry import RetryPolicy
from tuner.jobs.daemon import Daemon, DaemonConfig
from tuner.jobs.ledger import Ledger
from tuner.jobs.notifiers import LogNotifier
from tuner.jobs.openai_jobs import OpenAIJobs
from tuner.sandbox import SandboxHandle

from .flow_support import API_KEY, NOW, FakeMonotonic, make_client
from .test_openai_jobs import BASE, PAST_THE_END, conversations

pytestmark = pytest.mark.anyio
FAST = DaemonConfig(interval=0.05, idle_interval=0.05, stop_grace=1.0, lease_ttl=30)


def openai_client(url: str) -> OpenAIClient:
    mono = FakeMonotonic()
    return OpenAIClient(
        [API_KEY],
        base_url=url,
        retry=RetryPolicy(max_attempts=2, backoff_initial=0.01, backoff_max=0.02),
        sleep=mono.sleep,
        clock=mono,
        rng=random.Random(3),
    )


@pytest.fixture
def oai(start_sandbox: Callable[..., SandboxHandle]) -> SandboxHandle:
    return start_sandbox(provider="openai")


@pytest.fixture
async def oai_client(oai: SandboxHandle) -> AsyncIterator[OpenAIClient]:
    async with openai_client(oai.url + "/v1") as opened:
        yield opened


def daemon_with(client: TunerClient, ledger: Ledger, openai: OpenAIJobs | None) -> Daemon:
    return Daemon(client, ledger, [LogNotifier()], FAST, clock=lambda: NOW, openai=openai)


async def test_one_daemon_follows_openai_jobs_to_their_end(
    client: TunerClient,
    oai_client: OpenAIClient,
    oai: SandboxHandle,
    ledger: Ledger,
    tmp_path: Path,
) -> None:
    data = tmp_path / "train.jsonl"
    data.write_bytes(conversations())
    uploaded = await oai_client.files.upload(data)
    made = await oai_client.jobs.create(OpenAIJobCreate(BASE, uploaded.id, suffix="care"))
    jobs = OpenAIJobs(oai_client, ledger, backend=oai.url + "/v1", clock=lambda: NOW)
    daemon = daemon_with(client, ledger, jobs)

    first = await daemon.run_cycle()
    oai.advance(PAST_THE_END)
    last = await daemon.run_cycle()

    assert first.ran and first.error is None and first.openai_error is None
    assert first.openai is not None and first.openai.fetched == (made.id,) and first.busy
    record = ledger.get_job(made.id)
    assert record is not None and (record.provider, record.status) == ("openai", "SUCCESS")
    assert [t.to_status for t in ledger.transitions(made.id)] == ["VALIDATING", "SUCCESS"]
    assert ledger.checkpoints(made.id) and any(e.name == "metrics" for e in ledger.events(made.id))
    # VALIDATING on the first cycle, SUCCESS on the last, through the log notifier.
    assert (first.delivery.sent, last.delivery.sent) == (1, 1)
    sent = [n.payload for n in ledger.notifications_for_job(made.id)]
    assert [(p["provider"], p["provider_status"]) for p in sent][-1] == ("openai", "succeeded")
    assert not (await daemon.run_cycle()).busy


async def test_openai_down_is_one_warning_and_mistral_is_still_polled(
    client: TunerClient,
    ledger: Ledger,
    caplog: pytest.LogCaptureFixture,
    create_job: Callable[..., str],
) -> None:
    job_id = create_job()
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    async with openai_client(dead) as down:
        jobs = OpenAIJobs(down, ledger, backend=dead, clock=lambda: NOW)
        with caplog.at_level(logging.WARNING, logger="tuner.jobs.daemon"):
            report = await daemon_with(client, ledger, jobs).run_cycle()

    assert report.ran and report.error is None and report.poll is not None
    assert ledger.get_job(job_id) is not None  # Mistral's job was polled
    assert report.openai is None and report.openai_error is not None
    assert report.openai_error.startswith("OpenAI: ") and "\n" not in report.openai_error
    # The failure says whose server failed: the error classes are the same for both clients.
    [failure] = report.failures
    assert (failure.provider, failure.backend, failure.action) == ("openai", dead, "polling")
    assert str(failure).startswith(f"OpenAI: polling failed ({dead}): ")
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("OpenAI")]
    assert len(warnings) == 1 and warnings[0].endswith("(Mistral still polled)")


async def test_a_rejected_mistral_key_leaves_openai_polled(
    start_sandbox: Callable[..., SandboxHandle],
    oai_client: OpenAIClient,
    oai: SandboxHandle,
    ledger: Ledger,
    tmp_path: Path,
) -> None:
    locked = start_sandbox(api_key="right-key")
    data = tmp_path / "train.jsonl"
    data.write_bytes(conversations())
    uploaded = await oai_client.files.upload(data)
    made = await oai_client.jobs.create(OpenAIJobCreate(BASE, uploaded.id))
    jobs = OpenAIJobs(oai_client, ledger, backend=oai.url + "/v1", clock=lambda: NOW)
    async with make_client(locked) as wrong_key:
        daemon = daemon_with(wrong_key, ledger, jobs)
        report = await daemon.run_cycle()

    assert report.error is not None and report.error.status_code == 401  # type: ignore[attr-defined]
    assert daemon.fatal is None and not daemon.stopping
    assert report.openai is not None and report.openai.fetched == (made.id,)


async def test_every_providers_keys_rejected_stops_the_daemon_on_the_last_one(
    start_sandbox: Callable[..., SandboxHandle], ledger: Ledger
) -> None:
    locked = start_sandbox(api_key="right-key")
    locked_openai = start_sandbox(provider="openai", api_key="right-key")
    openai_url = locked_openai.url + "/v1"
    async with make_client(locked) as wrong_key, openai_client(openai_url) as wrong_openai:
        jobs = OpenAIJobs(wrong_openai, ledger, backend=openai_url, clock=lambda: NOW)
        daemon = daemon_with(wrong_key, ledger, jobs)
        await asyncio.wait_for(daemon.run(), timeout=5)

    fatal = daemon.fatal
    assert fatal is not None and (fatal.provider, fatal.backend) == ("openai", openai_url)
    assert isinstance(fatal.error, AuthenticationError) and API_KEY not in str(fatal)
    assert daemon.last_report is not None
    assert [f.provider for f in daemon.last_report.failures] == ["mistral", "openai"]


async def test_the_mistral_orchestrator_sends_openai_specs_to_their_own_flow(
    client: TunerClient, ledger: Ledger, tmp_path: Path
) -> None:
    from tuner.jobs.orchestrator import Orchestrator
    from tuner.jobs.spec import SpecError, load_spec

    from .test_openai_jobs import write_spec

    orchestrator = Orchestrator(client, ledger, clock=lambda: NOW, confirm=lambda plan: True)
    with pytest.raises(SpecError, match='provider = "openai": create it with `tuner jobs create`'):
        await orchestrator.create(load_spec(write_spec(tmp_path, "")))
    assert ledger.list_jobs() == [] and ledger.entries_in_state("pending") == []
