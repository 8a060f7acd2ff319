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
    RateLimitError,
    RetryPolicy,
)
from tuner.api.retry import backoff_delay, parse_retry_after, retry_delay

from .support import (
    FILE_ID,
    KEY_A,
    KEY_B,
    START_WALL,
    ClientFactory,
    FakeTime,
    bearer_of,
    file_payload,
)

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
    assert parse_retry_after({"Retry-After": "-5"}, NOW) == 0.0
    assert parse_retry_after({}, NOW) is None


def test_milliseconds_win_over_seconds_and_a_bad_ms_falls_back_to_seconds() -> None:
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}, NOW) == 1.5
    assert parse_retry_after({"Retry-After-Ms": "x", "Retry-After": "9"}, NOW) == 9.0


def test_the_delay_is_the_advised_wait_uncut_else_backoff() -> None:
    policy = RetryPolicy(retry_after_cap=5.0, backoff_initial=0.5)
    assert retry_delay(policy, 3600.0, 1, random.Random(0)) == 3600.0
    assert 0.0 <= retry_delay(policy, None, 1, random.Random(0)) <= 0.5


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


def utc(unix_seconds: float) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@pytest.mark.parametrize(
    ("headers", "waited"),
    [
        ({"Retry-After": "60"}, 60.0),  # exactly the cap is still waited for
        ({"Retry-After": "2.5"}, 2.5),
        ({"retry-after-ms": "1500"}, 1.5),
    ],
)
async def test_a_wait_within_the_cap_is_waited_exactly(
    api: respx.MockRouter,
    make_client: ClientFactory,
    fake_time: FakeTime,
    headers: dict[str, str],
    waited: float,
) -> None:
    limited = api.get(f"/v1/files/{FILE_ID}").mock(
        side_effect=[
            httpx.Response(429, headers=headers, json={"message": "Rate limit exceeded"}),
            httpx.Response(200, json=file_payload()),
        ]
    )
    async with make_client(retry=RetryPolicy(max_attempts=3, retry_after_cap=60.0)) as client:
        await client.files.get(FILE_ID)
    assert fake_time.sleeps == [waited]
    assert limited.call_count == 2


async def test_an_unparsable_retry_after_falls_back_to_backoff(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    api.get(f"/v1/files/{FILE_ID}").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "in a while"}),
            httpx.Response(200, json=file_payload()),
        ]
    )
    async with make_client() as client:
        await client.files.get(FILE_ID)
    assert len(fake_time.sleeps) == 1 and 0.0 <= fake_time.sleeps[0] <= 0.5


async def test_a_429_asking_longer_than_the_cap_gives_up_saying_when_to_retry(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    route = api.get(f"/v1/files/{FILE_ID}").respond(
        429, headers={"Retry-After": "3600"}, json={"message": "Rate limit exceeded"}
    )
    policy = RetryPolicy(max_attempts=5, max_elapsed=10_000.0, retry_after_cap=60.0)
    async with make_client(retry=policy) as client:
        asked_at = fake_time.wall()
        with pytest.raises(RateLimitError) as caught:
            await client.files.get(FILE_ID)
    assert route.call_count == 1  # no early retry into another 429
    assert fake_time.sleeps == []
    error = caught.value
    assert error.retry_after == 3600.0
    assert error.message == (
        "Rate limit exceeded; the server asked to wait 3600 s before retrying, longer than "
        f"retry_after_cap (60 s): retry after {utc(asked_at + 3600)}"
    )


async def test_an_http_date_past_the_cap_gives_up_with_that_date(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    when = START_WALL + fake_time.now + 7200
    date = format_datetime(datetime.fromtimestamp(when, UTC), usegmt=True)
    route = api.get(f"/v1/files/{FILE_ID}").respond(503, headers={"Retry-After": date})
    async with make_client(retry=RetryPolicy(max_attempts=5, retry_after_cap=60.0)) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.files.get(FILE_ID)
    assert route.call_count == 1
    assert fake_time.sleeps == []
    assert caught.value.retry_after == 7200.0
    assert "wait 7200 s" in caught.value.message
    assert caught.value.message.endswith(f"retry after {utc(when)}")


async def test_a_key_resting_past_the_cap_hands_over_to_a_ready_key(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if bearer_of(request) == KEY_A:
            return httpx.Response(429, headers={"Retry-After": "3600"})
        return httpx.Response(200, json=file_payload())

    route = api.get(f"/v1/files/{FILE_ID}").mock(side_effect=answer)
    async with make_client((KEY_A, KEY_B)) as client:
        await client.files.get(FILE_ID)
    assert [bearer_of(call.request) for call in route.calls] == [KEY_A, KEY_B]
    assert fake_time.sleeps == []


async def test_keys_resting_past_the_cap_end_the_next_call_at_once(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    route = api.get(f"/v1/files/{FILE_ID}").respond(429, headers={"Retry-After": "600"})
    policy = RetryPolicy(max_attempts=5, max_elapsed=10_000.0, retry_after_cap=60.0)
    async with make_client(retry=policy) as client:
        with pytest.raises(RateLimitError):
            await client.files.get(FILE_ID)
        fake_time.now += 100  # the key still rests for 500 s: nothing is sent
        with pytest.raises(RateLimitError) as caught:
            await client.files.get(FILE_ID)
    assert route.call_count == 1
    assert fake_time.sleeps == []
    assert caught.value.retry_after == 500.0
    assert caught.value.message == (
        f"all 1 API keys are rate limited for another 500 s: "
        f"retry after {utc(fake_time.wall() + 500)}"
    )


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


@pytest.mark.parametrize(
    ("headers", "asked"),
    [
        ({"Retry-After": "3600"}, 3600.0),
        ({"retry-after-ms": "7200000"}, 7200.0),
        ("date", 5400.0),
    ],
)
async def test_the_openai_client_takes_the_same_retry_after_policy(
    fake_time: FakeTime,
    headers: dict[str, str] | str,
    asked: float,
) -> None:
    # One parser and one policy for both clients: OpenAI's answers a wait past the cap with the
    # same error saying when to retry, and waits one within it exactly.
    from tuner.api.openai import OpenAIClient

    if headers == "date":
        when = datetime.fromtimestamp(fake_time.wall() + asked, UTC)
        headers = {"Retry-After": format_datetime(when, usegmt=True)}
    assert isinstance(headers, dict)
    base = "https://api.openai.test/v1"
    router = respx.mock(base_url=base, assert_all_called=False)
    limited = router.get("/files/file-abc").respond(
        429, headers=headers, json={"error": {"message": "Rate limit reached"}}
    )
    policy = RetryPolicy(max_attempts=5, max_elapsed=100_000.0, retry_after_cap=60.0)
    options: dict[str, object] = {
        "base_url": base,
        "retry": policy,
        "sleep": fake_time.sleep,
        "clock": fake_time.monotonic,
        "wall_clock": fake_time.wall,
    }
    async with router, OpenAIClient([KEY_A], **options) as client:  # type: ignore[arg-type]
        asked_at = fake_time.wall()
        with pytest.raises(RateLimitError) as caught:
            await client.files.get("file-abc")
        assert limited.call_count == 1 and fake_time.sleeps == []  # (respx resets on exit)
    assert caught.value.retry_after == pytest.approx(asked, abs=1.0)
    assert "longer than retry_after_cap (60 s): retry after " in caught.value.message
    assert caught.value.message.endswith(utc(asked_at + caught.value.retry_after))

    short = router.get("/files/file-def").mock(
        side_effect=[
            httpx.Response(429, headers={"retry-after-ms": "1500"}),
            httpx.Response(200, json={"id": "file-def", "object": "file", "bytes": 1}),
        ]
    )
    async with router, OpenAIClient([KEY_A], **options) as client:  # type: ignore[arg-type]
        await client.files.get("file-def")
        assert short.call_count == 2 and fake_time.sleeps == [1.5]
