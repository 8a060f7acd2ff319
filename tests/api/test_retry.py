"""The retry loop: what is retried, how long it waits, and where it gives up."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from tuner.api import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    InternalServerError,
    RetryPolicy,
)
from tuner.api.retry import backoff_delay, parse_retry_after, retry_delay

from .support import FILE_ID, ClientFactory, FakeTime, file_payload

pytestmark = pytest.mark.anyio

NOW = 1_760_000_000.0


def test_retry_after_in_seconds_and_as_http_date() -> None:
    assert parse_retry_after({"Retry-After": "7"}, NOW) == 7.0
    assert parse_retry_after({"retry-after": " 1.5 "}, NOW) == 1.5
    date = format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)
    assert parse_retry_after({"Retry-After": date}, NOW) == pytest.approx(30.0)
    past = format_datetime(datetime.fromtimestamp(NOW - 30, UTC), usegmt=True)
    assert parse_retry_after({"Retry-After": past}, NOW) == 0.0
    assert parse_retry_after({"retry-after-ms": "250"}, NOW) == 0.25
    assert parse_retry_after({"Retry-After": "soon"}, NOW) is None
    assert parse_retry_after({"Retry-After": "nan"}, NOW) is None
    assert parse_retry_after({}, NOW) is None


def test_retry_after_is_capped() -> None:
    policy = RetryPolicy(retry_after_cap=5.0)
    assert retry_delay(policy, {"Retry-After": "3600"}, 1, NOW, random.Random(0)) == 5.0


@settings(deadline=None)
@given(retry_number=st.integers(min_value=1, max_value=10_000), seed=st.integers())
def test_backoff_is_full_jitter_below_the_cap(retry_number: int, seed: int) -> None:
    policy = RetryPolicy(backoff_initial=0.5, backoff_max=8.0)
    delay = backoff_delay(policy, retry_number, random.Random(seed))
    ceiling = min(8.0, 0.5 * 2.0 ** min(retry_number - 1, 32))
    assert 0.0 <= delay <= ceiling


@settings(deadline=None)
@given(value=st.text(max_size=40))
def test_any_retry_after_header_gives_none_or_a_non_negative_wait(value: str) -> None:
    parsed = parse_retry_after({"Retry-After": value}, NOW)
    assert parsed is None or parsed >= 0.0


async def test_5xx_backs_off_then_succeeds(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    route = api.get(f"/v1/files/{FILE_ID}").mock(
        side_effect=[
            httpx.Response(500, json={"detail": "boom"}),
            httpx.Response(503, text="unavailable"),
            httpx.Response(200, json=file_payload()),
        ]
    )
    async with make_client() as client:
        file = await client.files.get(FILE_ID)
    assert file.id == FILE_ID
    assert route.call_count == 3
    assert len(fake_time.sleeps) == 2
    # Full jitter: each wait is within [0, initial * 2**n].
    assert 0.0 <= fake_time.sleeps[0] <= 0.5
    assert 0.0 <= fake_time.sleeps[1] <= 1.0


async def test_retry_after_seconds_is_honoured(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    api.get(f"/v1/files/{FILE_ID}").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "12"}, json={"detail": "later"}),
            httpx.Response(200, json=file_payload()),
        ]
    )
    async with make_client() as client:
        await client.files.get(FILE_ID)
    assert fake_time.sleeps == [12.0]


async def test_retry_after_http_date_is_honoured(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    when = datetime.fromtimestamp(fake_time.wall() + 20, UTC)
    api.get(f"/v1/files/{FILE_ID}").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)}),
            httpx.Response(200, json=file_payload()),
        ]
    )
    async with make_client() as client:
        await client.files.get(FILE_ID)
    assert fake_time.sleeps == [pytest.approx(20.0, abs=1.0)]


async def test_retry_after_beyond_the_cap_waits_the_cap(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    api.get(f"/v1/files/{FILE_ID}").mock(
        side_effect=[
            httpx.Response(502, headers={"Retry-After": "86400"}),
            httpx.Response(200, json=file_payload()),
        ]
    )
    policy = RetryPolicy(max_attempts=3, retry_after_cap=2.5)
    async with make_client(retry=policy) as client:
        await client.files.get(FILE_ID)
    assert fake_time.sleeps == [2.5]


async def test_attempt_budget_runs_out(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    route = api.get(f"/v1/files/{FILE_ID}").respond(500, json={"detail": "still down"})
    async with make_client(retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.files.get(FILE_ID)
    assert route.call_count == 3
    assert len(fake_time.sleeps) == 2
    assert caught.value.message == "still down"


async def test_time_budget_runs_out(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    route = api.get(f"/v1/files/{FILE_ID}").respond(503, headers={"Retry-After": "40"})
    policy = RetryPolicy(max_attempts=10, max_elapsed=100.0, retry_after_cap=60.0)
    async with make_client(retry=policy) as client:
        with pytest.raises(InternalServerError):
            await client.files.get(FILE_ID)
    # 40 s + 40 s fit in 100 s; a third wait would pass it, so the third failure is final.
    assert fake_time.sleeps == [40.0, 40.0]
    assert route.call_count == 3


async def test_failed_response_is_closed_before_sleeping(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    failed: list[httpx.Response] = []
    closed_at_sleep: list[bool] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if not failed:
            failed.append(httpx.Response(500, json={"detail": "x"}))
            return failed[0]
        return httpx.Response(200, json=file_payload())

    async def sleep(seconds: float) -> None:
        closed_at_sleep.append(failed[0].is_closed)
        await fake_time.sleep(seconds)

    api.get(f"/v1/files/{FILE_ID}").mock(side_effect=answer)
    async with make_client(sleep=sleep) as client:
        await client.files.get(FILE_ID)
    assert closed_at_sleep == [True]


async def test_connection_errors_and_timeouts_are_retried(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    api.get(f"/v1/files/{FILE_ID}").mock(
        side_effect=[
            httpx.ConnectError("connection refused"),
            httpx.ReadTimeout("read timed out"),
            httpx.Response(200, json=file_payload()),
        ]
    )
    async with make_client() as client:
        await client.files.get(FILE_ID)
    assert len(fake_time.sleeps) == 2


async def test_connection_error_after_the_budget(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    api.get(f"/v1/files/{FILE_ID}").mock(side_effect=httpx.ConnectError("refused"))
    async with make_client(retry=RetryPolicy(max_attempts=2)) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.files.get(FILE_ID)
    assert caught.value.maybe_sent is False
    assert "could not reach the API" in str(caught.value)


async def test_timeout_error_type(api: respx.MockRouter, make_client: ClientFactory) -> None:
    api.get(f"/v1/files/{FILE_ID}").mock(side_effect=httpx.ReadTimeout("slow"))
    async with make_client(retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(APITimeoutError) as caught:
            await client.files.get(FILE_ID)
    assert caught.value.maybe_sent is True


async def test_408_is_retried_but_400_is_not(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    slow = api.get(f"/v1/files/{FILE_ID}").mock(
        side_effect=[httpx.Response(408), httpx.Response(200, json=file_payload())]
    )
    bad = api.delete(f"/v1/files/{FILE_ID}").respond(400, json={"detail": "no"})
    async with make_client() as client:
        await client.files.get(FILE_ID)
        with pytest.raises(BadRequestError):
            await client.files.delete(FILE_ID)
    assert slow.call_count == 2
    assert bad.call_count == 1
    assert len(fake_time.sleeps) == 1


async def test_sandbox_header_is_recorded(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    api.get(f"/v1/files/{FILE_ID}").mock(
        side_effect=[
            httpx.Response(200, json=file_payload(), headers={"x-tuner-sandbox": "1"}),
            httpx.Response(200, json=file_payload()),
        ]
    )
    async with make_client() as client:
        assert client.is_sandbox is None
        await client.files.get(FILE_ID)
        assert client.is_sandbox is True
        await client.files.get(FILE_ID)
        assert client.is_sandbox is False
