"""The submission queue's submitter against a real sandbox: exactly once (also across a crash and
under injected faults), the concurrency limit, the agreed budget, secrets kept out of the ledger."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tuner.api import AuthenticationError, JobCreate, TunerClient
from tuner.jobs.ledger import Ledger
from tuner.jobs.orchestrator import Orchestrator
from tuner.jobs.spec import load_spec
from tuner.jobs.submit import (
    LEASE_NAME,
    SubmissionMeta,
    Submitter,
    billed_cost,
    drain_queue,
    is_parked,
    meta_of,
    request_from,
    submission_spec,
)
from tuner.sandbox import SandboxHandle

from .flow_support import (
    START,
    FakeMonotonic,
    advancing_sleep,
    make_client,
    sandbox_clock,
    server_jobs,
    small_training,
    write_spec,
)

WANDB_KEY = "wandb-secret-key-0123456789abcdef01234567"
MakeSubmitter = Callable[..., Submitter]


@pytest.fixture
def submitter(client: TunerClient, ledger: Ledger, sandbox: SandboxHandle) -> MakeSubmitter:
    def make(**options: Any) -> Submitter:
        return Submitter(
            client, ledger, backend=sandbox.url, clock=sandbox_clock(sandbox), **options
        )

    return make


@pytest.fixture
async def file_id(client: TunerClient, tmp_path: Path) -> str:
    uploaded = await client.files.upload(small_training(tmp_path / "train.jsonl"))
    return uploaded.id


def queued(file_id: str, suffix: str, **meta: Any) -> dict[str, Any]:
    request = JobCreate(
        model="open-mistral-7b",
        training_files=[file_id],
        suffix=suffix,
        hyperparameters={"training_steps": 10},
    )
    return submission_spec(request, SubmissionMeta(**meta))


@pytest.mark.anyio
async def test_a_create_sent_before_a_crash_is_found_not_sent_again(
    submitter: MakeSubmitter,
    ledger: Ledger,
    client: TunerClient,
    sandbox: SandboxHandle,
    file_id: str,
) -> None:
    spec = queued(file_id, "crash-1")
    [entry] = ledger.enqueue([spec], now=START)
    claimed = ledger.claim_next(START)
    assert claimed is not None and claimed.state == "submitting"
    # The create reaches the API, then the process dies before recording the answer.
    sent = await client.jobs.create(request_from(spec, wandb_key=None))
    sandbox.advance(5)

    report = await submitter().cycle()

    [outcome] = report.submissions
    assert outcome.kind == "recovered" and outcome.job is not None
    assert outcome.job.id == sent.id
    after = ledger.get_queue_entry(entry.id)
    assert after is not None and after.state == "submitted" and after.job_id == sent.id
    assert [job.id for job in server_jobs(sandbox)] == [sent.id]
    record = ledger.get_job(sent.id)
    assert record is not None and meta_of(record.spec) == SubmissionMeta()


@pytest.mark.anyio
async def test_a_create_lost_before_sending_is_sent_once(
    submitter: MakeSubmitter, ledger: Ledger, sandbox: SandboxHandle, file_id: str
) -> None:
    [entry] = ledger.enqueue([queued(file_id, "crash-2")], now=START)
    ledger.claim_next(START)  # claimed, then the process died before sending
    sandbox.advance(5)

    report = await submitter().cycle()

    [outcome] = report.submissions
    assert outcome.kind == "submitted"
    assert len(server_jobs(sandbox)) == 1
    after = ledger.get_queue_entry(entry.id)
    assert after is not None and after.state == "submitted" and after.attempts == 2


@pytest.mark.anyio
async def test_a_job_of_another_entry_is_not_taken_for_this_one(
    submitter: MakeSubmitter, ledger: Ledger, sandbox: SandboxHandle, file_id: str
) -> None:
    # The same request queued twice: after a crash, the first entry's job (same model, suffix,
    # files, made moments ago) must not be mistaken for the second's.
    spec = queued(file_id, "twin")
    first, second = ledger.enqueue([spec, spec], now=START)
    await submitter(max_active=1).cycle()
    done = ledger.get_queue_entry(first.id)
    assert done is not None and done.state == "submitted"
    claimed = ledger.claim_next(START)  # the second is claimed; the process dies
    assert claimed is not None and claimed.id == second.id

    report = await submitter(max_active=1).cycle()

    assert report.submissions == []  # nothing recovered; no room to send it
    after = ledger.get_queue_entry(second.id)
    assert after is not None and after.state == "pending" and after.job_id is None
    assert len(server_jobs(sandbox)) == 1


@pytest.mark.anyio
async def test_at_most_max_active_jobs_run_at_once(
    submitter: MakeSubmitter, ledger: Ledger, sandbox: SandboxHandle, file_id: str
) -> None:
    ledger.enqueue([queued(file_id, f"limit-{i}", start="approved") for i in range(5)], now=START)
    # A job parked at VALIDATED for a person to start does not hold a place.
    ledger.enqueue([queued(file_id, "parked", start="manual")], now=START)
    sub = submitter(max_active=2)
    peak = 0
    for _ in range(200):
        await sub.cycle()
        active = await sub.active_jobs()
        peak = max(peak, len(active))
        if not ledger.entries_in_state("pending") and not active:
            break
        sandbox.advance(10)

    assert peak == 2
    jobs = ledger.list_jobs(backend=sandbox.url)
    assert len(jobs) == 6 == len(server_jobs(sandbox))
    assert sorted(j.status for j in jobs) == ["SUCCESS"] * 5 + ["VALIDATED"]
    assert [is_parked(j) for j in jobs if j.status == "VALIDATED"] == [True]


@pytest.mark.anyio
async def test_an_approved_job_over_its_budget_is_not_started(
    submitter: MakeSubmitter, ledger: Ledger, sandbox: SandboxHandle, file_id: str
) -> None:
    ledger.enqueue([queued(file_id, "too-dear", start="approved", max_cost=3.0)], now=START)
    sub = submitter()
    [created] = (await sub.cycle()).created
    sandbox.advance(30)  # validated: metadata.cost 2.62, billed at the $4 minimum

    report = await sub.cycle()

    assert report.started == []
    [(job_id, reason)] = report.refused
    assert job_id == created.id and "over the agreed 3.00" in reason
    record = ledger.get_job(created.id)
    assert record is not None and record.status == "VALIDATED" and is_parked(record)
    meta = meta_of(record.spec)
    assert meta is not None and meta.start == "refused" and meta.refused == reason
    assert (await sub.cycle()).refused == []  # decided once


@pytest.mark.anyio
async def test_the_wandb_key_goes_to_the_api_but_never_to_the_ledger(
    submitter: MakeSubmitter, ledger: Ledger, sandbox: SandboxHandle, file_id: str
) -> None:
    request = JobCreate(
        model="open-mistral-7b",
        training_files=[file_id],
        integrations=[{"project": "support-bot", "api_key": WANDB_KEY}],
    )
    spec = submission_spec(request, SubmissionMeta())
    [entry] = ledger.enqueue([spec], now=START)
    assert WANDB_KEY not in repr(entry.spec) and "api_key" not in repr(entry.spec)

    without = await submitter().cycle()
    assert [s.kind for s in without.submissions] == ["failed"]
    assert "WANDB_API_KEY" in (without.submissions[0].error or "")

    ledger.requeue(entry.id, now=START)
    report = await submitter(wandb_key=SecretStr(WANDB_KEY)).cycle()

    [outcome] = report.submissions
    assert outcome.kind == "submitted" and outcome.job is not None
    assert outcome.job.integrations[0].project == "support-bot"
    record = ledger.get_job(outcome.job.id)
    assert record is not None
    assert WANDB_KEY not in repr(record) and WANDB_KEY not in repr(ledger.get_queue_entry(entry.id))


@pytest.mark.anyio
async def test_a_refused_create_fails_the_entry_without_retrying(
    submitter: MakeSubmitter, ledger: Ledger, sandbox: SandboxHandle
) -> None:
    [entry] = ledger.enqueue([queued("00000000-0000-4000-8000-000000000000", "no-file")], now=START)

    report = await submitter().cycle()

    [outcome] = report.submissions
    assert outcome.kind == "failed" and "404" in (outcome.error or "")
    after = ledger.get_queue_entry(entry.id)
    assert after is not None and after.state == "failed" and after.attempts == 1
    assert server_jobs(sandbox) == []


@pytest.mark.anyio
async def test_only_one_process_drains_at_a_time(
    submitter: MakeSubmitter, ledger: Ledger, sandbox: SandboxHandle, file_id: str
) -> None:
    ledger.enqueue([queued(file_id, "leased")], now=START)
    assert ledger.acquire_lease(LEASE_NAME, "someone-else", 60, START)

    report = await submitter().cycle()

    assert report.busy and report.submissions == []
    assert server_jobs(sandbox) == []


@pytest.mark.anyio
async def test_a_rejected_key_is_raised_and_the_entry_waits(
    start_sandbox: Callable[..., SandboxHandle], ledger: Ledger
) -> None:
    sandbox = start_sandbox(api_key="the-only-valid-key-0123")
    [entry] = ledger.enqueue([queued("00000000-0000-4000-8000-000000000000", "auth")], now=START)
    async with make_client(sandbox) as client:
        sub = Submitter(client, ledger, backend=sandbox.url, clock=sandbox_clock(sandbox))
        with pytest.raises(AuthenticationError):
            await sub.cycle()
    after = ledger.get_queue_entry(entry.id)
    assert after is not None and after.state == "pending"
    assert ledger.lease_holder(LEASE_NAME, START) is None  # released on the way out


@pytest.mark.anyio
async def test_drain_queue_is_one_cycle_for_the_daemon(
    client: TunerClient, ledger: Ledger, sandbox: SandboxHandle, file_id: str
) -> None:
    ledger.enqueue([queued(file_id, f"daemon-{i}") for i in range(3)], now=START)

    report = await drain_queue(
        client, ledger, backend=sandbox.url, clock=sandbox_clock(sandbox), max_active=2
    )

    assert len(report.created) == 2 and len(server_jobs(sandbox)) == 2
    assert len(ledger.entries_in_state("pending")) == 1


def test_billed_cost_has_the_minimum_fee() -> None:
    assert billed_cost(None) is None
    assert billed_cost(2.6214) == 4.0
    assert billed_cost(13.1) == 13.1


@pytest.mark.anyio
async def test_a_sweep_of_30_under_faults_makes_each_job_exactly_once(
    start_sandbox: Callable[..., SandboxHandle], tmp_path: Path, ledger: Ledger
) -> None:
    sandbox = start_sandbox(faults="429=0.1,500=0.05,drop=0.02", seed=20251009)
    small_training(tmp_path / "train.jsonl")
    spec = write_spec(
        tmp_path / "sweep.toml",
        """
model = "open-mistral-7b"
suffix = "faults"
training_files = ["train.jsonl"]
[sweep]
learning_rate = [1e-4, 8e-5, 6e-5, 4e-5, 2e-5]
training_steps = [1, 2, 3, 4, 5, 6]
""",
    )
    mono = FakeMonotonic()
    async with make_client(sandbox, max_attempts=8, monotonic=mono) as client:
        orch = Orchestrator(
            client,
            ledger,
            clock=sandbox_clock(sandbox),
            sleep=advancing_sleep(sandbox),
            confirm=lambda plan: len(plan.jobs) == 30,
            max_active=10,
            poll_interval=10.0,
            validate_workers=1,
        )
        result = await orch.create(load_spec(spec))
        assert result.outcome == "submitted", result.message
        sweep = result.sweep_id
        assert sweep is not None
        for _ in range(300):
            await orch.cycle()
            jobs = ledger.list_jobs(sweep_id=sweep)
            if len(jobs) == 30 and all(job.is_terminal for job in jobs):
                break
            sandbox.advance(30)

    stored = server_jobs(sandbox)
    assert len(stored) == 30
    assert len({job.suffix for job in stored}) == 30
    jobs = ledger.list_jobs(sweep_id=sweep)
    assert len(jobs) == 30 and {job.status for job in jobs} == {"SUCCESS"}
    entries = ledger.entries_in_state("submitted", sweep_id=sweep)
    assert len({entry.job_id for entry in entries}) == 30
    assert mono.slept, "no fault was met: the test proves nothing"
