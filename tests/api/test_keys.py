"""The key pool: rotation, rests after 429, removal after 401, owners, rate-limit snapshots."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import respx

from tuner.api import (
    AuthenticationError,
    JobCreate,
    KeyPool,
    RateLimitError,
    RetryPolicy,
    TrainingFile,
)
from tuner.api.keys import ApiKey, key_hint

from .support import (
    FILE_ID,
    FILE_ID_2,
    JOB_ID,
    KEY_A,
    KEY_B,
    KEY_C,
    ClientFactory,
    FakeTime,
    bearer_of,
    file_payload,
    job_payload,
)

pytestmark = pytest.mark.anyio


def test_key_hint_and_repr_show_only_the_last_four() -> None:
    key = ApiKey(KEY_A)
    assert key.hint == "…AAAA"
    assert repr(key) == str(key) == "ApiKey(…AAAA)"
    assert repr(KeyPool([KEY_A, KEY_B])) == "KeyPool(…AAAA, …BBBB)"
    assert key_hint("short") == "…****"


def test_pool_dedupes_and_strips_a_bearer_prefix() -> None:
    pool = KeyPool([KEY_A, f"Bearer {KEY_A}", KEY_B])
    assert pool.hints == ("…AAAA", "…BBBB")


async def test_requests_rotate_over_keys(api: respx.MockRouter, make_client: ClientFactory) -> None:
    route = api.get(f"/v1/files/{FILE_ID}").respond(200, json=file_payload())
    async with make_client((KEY_A, KEY_B, KEY_C)) as client:
        for _ in range(4):
            await client.files.get(FILE_ID)
    assert [bearer_of(call.request) for call in route.calls] == [KEY_A, KEY_B, KEY_C, KEY_A]


async def test_a_429_rests_the_key_and_the_next_key_answers(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if bearer_of(request) == KEY_A:
            return httpx.Response(429, headers={"Retry-After": "30"}, json={"message": "slow"})
        return httpx.Response(200, json=file_payload())

    route = api.get(f"/v1/files/{FILE_ID}").mock(side_effect=answer)
    async with make_client((KEY_A, KEY_B)) as client:
        await client.files.get(FILE_ID)
        # A rests for 30 s, so the next calls go to B without waiting.
        await client.files.get(FILE_ID)
        await client.files.get(FILE_ID)
        states = {s.hint: (s.state, s.rest_seconds) for s in client.keys.snapshot()}
    assert [bearer_of(call.request) for call in route.calls] == [KEY_A, KEY_B, KEY_B, KEY_B]
    assert fake_time.sleeps == []
    assert states == {"…AAAA": ("resting", 30.0), "…BBBB": ("ready", 0.0)}


async def test_when_every_key_rests_the_client_waits_for_the_first_to_wake(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "20"}),
            httpx.Response(429, headers={"Retry-After": "5"}),
            httpx.Response(200, json=file_payload()),
        ]
    )
    route = api.get(f"/v1/files/{FILE_ID}").mock(side_effect=lambda request: next(answers))
    async with make_client((KEY_A, KEY_B)) as client:
        await client.files.get(FILE_ID)
    # A rests 20 s, B rests 5 s: wait 5 s for B, which then answers.
    assert fake_time.sleeps == [5.0]
    assert [bearer_of(call.request) for call in route.calls] == [KEY_A, KEY_B, KEY_B]


async def test_rests_longer_than_the_budget_raise_the_rate_limit_error(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    api.get(f"/v1/files/{FILE_ID}").respond(
        429, headers={"Retry-After": "50"}, json={"message": "Rate limit exceeded"}
    )
    policy = RetryPolicy(max_attempts=5, max_elapsed=30.0)
    async with make_client((KEY_A,), retry=policy) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.files.get(FILE_ID)
    assert caught.value.message == "Rate limit exceeded"
    assert fake_time.sleeps == []


async def test_a_401_key_is_taken_out_and_reported_by_its_last_four(
    api: respx.MockRouter, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if bearer_of(request) == KEY_B:
            return httpx.Response(401, json={"message": "Unauthorized", "request_id": "r"})
        return httpx.Response(200, json=file_payload())

    removed: list[str] = []
    route = api.get(f"/v1/files/{FILE_ID}").mock(side_effect=answer)
    pool = KeyPool([KEY_A, KEY_B, KEY_C], on_removed=removed.append)
    caplog.set_level(logging.WARNING, logger="tuner.api")
    async with make_client(pool) as client:
        for _ in range(4):
            await client.files.get(FILE_ID)
        assert client.keys.removed_hints == ("…BBBB",)
    used = [bearer_of(call.request) for call in route.calls]
    assert used == [KEY_A, KEY_B, KEY_C, KEY_A, KEY_C]
    assert removed == ["…BBBB"]
    assert any("…BBBB" in record.getMessage() for record in caplog.records)


async def test_all_keys_rejected_raises_authentication_error_with_a_hint(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = api.get(f"/v1/files/{FILE_ID}").respond(401, json={"message": "Unauthorized"})
    async with make_client((KEY_A, KEY_B)) as client:
        with pytest.raises(AuthenticationError) as first:
            await client.files.get(FILE_ID)
        with pytest.raises(AuthenticationError) as second:
            await client.files.get(FILE_ID)
    assert route.call_count == 2  # once per key; the second call sends nothing
    for error in (first.value, second.value):
        assert "…AAAA" in error.message and "…BBBB" in error.message
        assert "MISTRAL_API_KEY" in error.message


async def test_no_key_at_all(api: respx.MockRouter, make_client: ClientFactory) -> None:
    async with make_client(()) as client:
        with pytest.raises(AuthenticationError, match="no API key configured"):
            await client.files.get(FILE_ID)


async def test_rate_limit_headers_are_kept_per_key(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    headers = {
        "x-ratelimit-limit-req-minute": "60",
        "x-ratelimit-remaining-req-minute": "59",
        "ratelimitbysize-remaining": "499000",
        "content-type": "application/json",
    }
    api.get(f"/v1/files/{FILE_ID}").respond(200, json=file_payload(), headers=headers)
    async with make_client((KEY_A, KEY_B)) as client:
        await client.files.get(FILE_ID)
        snapshot = {status.hint: status for status in client.keys.snapshot()}
    assert dict(snapshot["…AAAA"].rate_limits) == {
        "x-ratelimit-limit-req-minute": "60",
        "x-ratelimit-remaining-req-minute": "59",
        "ratelimitbysize-remaining": "499000",
    }
    assert snapshot["…AAAA"].requests == 1
    assert dict(snapshot["…BBBB"].rate_limits) == {}


async def test_the_key_that_uploaded_a_file_is_recorded_and_preferred(
    api: respx.MockRouter, make_client: ClientFactory, tmp_path: Path
) -> None:
    source = tmp_path / "train.jsonl"
    source.write_text('{"messages": []}\n')
    api.post("/v1/files").respond(200, json=file_payload(FILE_ID_2))
    got = api.get(f"/v1/files/{FILE_ID_2}").respond(200, json=file_payload(FILE_ID_2))
    owners: list[tuple[str, str]] = []
    async with make_client(
        (KEY_A, KEY_B), on_owner=lambda rid, hint: owners.append((rid, hint))
    ) as client:
        await client.files.upload(source)  # rotation: made with A
        for _ in range(3):
            await client.files.get(FILE_ID_2)
        assert client.keys.owner_of(FILE_ID_2) == "…AAAA"
    assert owners == [(FILE_ID_2, "…AAAA")]
    assert [bearer_of(call.request) for call in got.calls] == [KEY_A, KEY_A, KEY_A]


def test_owners_can_be_seeded_from_a_store() -> None:
    pool = KeyPool([KEY_A, KEY_B])
    pool.load_owners({FILE_ID: "…BBBB"})
    assert pool.take(prefer=pool.owner_of(FILE_ID)).hint == "…BBBB"
    assert dict(pool.owners) == {FILE_ID: "…BBBB"}


async def test_requests_about_a_job_go_through_the_key_that_created_it(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    model_id = "ft:open-mistral-7b:57d37e6c:20240531:e8b9c1a2"
    api.post("/v1/fine_tuning/jobs").respond(200, json=job_payload())
    got = api.get(f"/v1/fine_tuning/jobs/{JOB_ID}").respond(
        200, json=job_payload(status="SUCCESS", fine_tuned_model=model_id)
    )
    cancel = api.post(f"/v1/fine_tuning/jobs/{JOB_ID}/cancel").respond(200, json=job_payload())
    spec = JobCreate(model="open-mistral-7b", training_files=[TrainingFile(file_id=FILE_ID)])
    async with make_client((KEY_A, KEY_B)) as client:
        await client.jobs.create(spec)  # rotation: made with A
        await client.jobs.get(JOB_ID)
        await client.jobs.cancel(JOB_ID)
        # The model a job made is filed under the same key.
        assert client.keys.owner_of(model_id) == "…AAAA"
    assert [bearer_of(c.request) for c in [*got.calls, *cancel.calls]] == [KEY_A, KEY_A]
