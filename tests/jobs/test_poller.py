"""The poller against the sandbox (real HTTP on 127.0.0.1, manual clock): what it records and
how many requests it takes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest

from tuner.api import RateLimitError, TunerClient
from tuner.jobs.ledger import Ledger
from tuner.jobs.poller import ACTIVE_STATUSES, CycleResult, poll_once
from tuner.sandbox import SandboxHandle

from .conftest import CreateJob
from .flow_support import NOW, FakeMonotonic, make_client, statuses

pytestmark = pytest.mark.anyio


@pytest.fixture
def ledger_notifiers() -> Sequence[str]:
    return ("log",)  # one outbox row per transition


async def poll(client: TunerClient, ledger: Ledger, **options: Any) -> CycleResult:
    return await poll_once(client, ledger, backend=client.base_url, now=NOW, **options)


async def test_follows_a_job_from_queued_to_success(
    client: TunerClient,
    ledger: Ledger,
    sandbox: SandboxHandle,
    http: httpx.Client,
    create_job: CreateJob,
) -> None:
    job_id = create_job(hyperparameters={"training_steps": 50})

    first = await poll(client, ledger)
    assert first.changed == (job_id,)
    assert statuses(ledger, job_id) == ["QUEUED"]

    sandbox.advance(6)
    assert (await poll(client, ledger)).transitions == 1
    sandbox.advance(15)
    await poll(client, ledger)
    assert statuses(ledger, job_id) == ["QUEUED", "VALIDATING", "VALIDATED"]
    assert ledger.get_job(job_id).metadata["train_tokens_per_step"] == 131072  # type: ignore[union-attr]

    assert http.post(f"/v1/fine_tuning/jobs/{job_id}/start").status_code == 200
    await poll(client, ledger)
    sandbox.advance(11)
    running = await poll(client, ledger)
    assert running.listed["RUNNING"] == 1
    sandbox.advance(300)  # half-way: nothing the list shows has moved
    quiet = await poll(client, ledger)
    assert quiet.changed == () and quiet.detail_requests == 0

    sandbox.advance(300)
    done = await poll(client, ledger)
    assert done.left == (job_id,)  # no longer in any active list: fetched once
    assert done.detail_requests == 1
    assert statuses(ledger, job_id) == [
        "QUEUED",
        "VALIDATING",
        "VALIDATED",
        "QUEUED",
        "RUNNING",
        "SUCCESS",
    ]
    record = ledger.get_job(job_id)
    assert record is not None and record.fine_tuned_model is not None
    assert record.fine_tuned_model.startswith("ft:open-mistral-7b:")
    assert [c.step for c in ledger.checkpoints(job_id)] == [10, 20, 30, 40, 50]
    assert [e.data["status"] for e in ledger.events(job_id)][-1] == "SUCCESS"
    assert [n.payload["to_status"] for n in ledger.notifications_for_job(job_id)] == [
        "QUEUED",
        "VALIDATING",
        "VALIDATED",
        "QUEUED",
        "RUNNING",
        "SUCCESS",
    ]

    after = await poll(client, ledger)
    assert after.active == 0 and after.left == () and after.detail_requests == 0


async def test_a_quiet_poll_costs_one_list_request_per_status(
    client: TunerClient, ledger: Ledger, create_job: CreateJob
) -> None:
    create_job("a")
    create_job("b")
    await poll(client, ledger)

    quiet = await poll(client, ledger)

    assert quiet.list_requests == len(ACTIVE_STATUSES) == quiet.list_bound
    assert quiet.detail_requests == 0
    assert quiet.changed == () and quiet.transitions == 0
    assert quiet.listed["QUEUED"] == 2


async def test_requests_grow_with_the_pages_of_active_jobs(
    client: TunerClient, ledger: Ledger, create_job: CreateJob
) -> None:
    created = {create_job(f"s{i}") for i in range(7)}

    result = await poll(client, ledger, page_size=3)

    # QUEUED holds 7 jobs: 3 pages of 3; each other status one empty page.
    assert result.list_requests == 3 + (len(ACTIVE_STATUSES) - 1) == result.list_bound
    assert set(result.changed) == created
    assert result.detail_requests == 7 == result.detail_bound
    assert result.requests <= result.request_bound


async def test_only_changed_jobs_are_fetched(
    client: TunerClient, ledger: Ledger, sandbox: SandboxHandle, create_job: CreateJob
) -> None:
    early = create_job("early")
    await poll(client, ledger)
    sandbox.advance(3)
    late = create_job("late")
    sandbox.advance(3)  # early: VALIDATING now; late: still QUEUED, unchanged once recorded
    await poll(client, ledger)

    sandbox.advance(1)
    result = await poll(client, ledger)
    assert result.changed == () and result.detail_requests == 0

    sandbox.advance(2)  # late turns VALIDATING; early does not move
    result = await poll(client, ledger)
    assert result.changed == (late,)
    assert statuses(ledger, late) == ["QUEUED", "VALIDATING"]
    assert statuses(ledger, early) == ["QUEUED", "VALIDATING"]


async def test_a_job_the_api_no_longer_knows_is_reported_not_retried_forever(
    client: TunerClient, ledger: Ledger
) -> None:
    ghost = str(uuid.uuid4())
    ledger.apply_snapshot(
        {"id": ghost, "model": "open-mistral-7b", "status": "RUNNING"},
        backend=client.base_url,
        now=NOW,
    )

    result = await poll(client, ledger)

    assert result.left == (ghost,) and result.missing == (ghost,)
    assert result.detail_requests == 1


async def test_jobs_of_another_backend_are_left_alone(client: TunerClient, ledger: Ledger) -> None:
    ledger.apply_snapshot(
        {"id": str(uuid.uuid4()), "model": "open-mistral-7b", "status": "RUNNING"},
        backend="https://api.mistral.ai",
        now=NOW,
    )

    result = await poll(client, ledger)

    assert result.left == () and result.detail_requests == 0


async def test_polling_twice_records_each_change_once(
    client: TunerClient, ledger: Ledger, sandbox: SandboxHandle, create_job: CreateJob
) -> None:
    job_id = create_job()
    await poll(client, ledger)
    sandbox.advance(30)
    await poll(client, ledger)
    # Another reader (a dashboard) applies the same detail: nothing new is recorded.
    again = ledger.apply_snapshot(await client.jobs.get(job_id), backend=client.base_url, now=NOW)
    assert not again.changed
    assert statuses(ledger, job_id) == ["QUEUED", "VALIDATED"]
    assert len(ledger.notifications_for_job(job_id)) == 2


async def test_a_rate_limited_listing_raises_for_the_daemon_to_back_off(
    start_sandbox: Callable[..., SandboxHandle], ledger: Ledger
) -> None:
    limited = start_sandbox(faults="429=1")
    async with make_client(limited, max_attempts=1) as api:
        with pytest.raises(RateLimitError) as caught:
            await poll(api, ledger)
    assert caught.value.headers.get("retry-after") is not None


async def test_a_retry_after_past_the_cap_ends_the_poll_saying_when(
    start_sandbox: Callable[..., SandboxHandle], ledger: Ledger
) -> None:
    limited = start_sandbox(faults="429=1")  # every answer: 429 with Retry-After: 1
    mono = FakeMonotonic()
    async with make_client(limited, max_attempts=6, monotonic=mono, retry_after_cap=0.5) as api:
        with pytest.raises(RateLimitError) as caught:
            await poll(api, ledger)
        sent = sum(status.requests for status in api.keys.snapshot())
    assert sent == 1 and mono.slept == []  # no early retry into another 429
    assert caught.value.retry_after == 1.0
    assert "asked to wait 1 s" in caught.value.message and "retry after " in caught.value.message
