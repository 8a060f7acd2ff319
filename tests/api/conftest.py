"""Fixtures for the API client tests: a fake clock, a respx router, a client factory.

No test touches the network: respx intercepts every request (unmatched ones fail), and all
sleeps go to ``FakeTime.sleep``, which advances a fake clock instead of waiting.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import respx

from tuner.api import KeyPool, RetryPolicy, TunerClient

from .support import BASE_URL, KEY_A, ClientFactory, FakeTime


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
def make_client(fake_time: FakeTime) -> ClientFactory:
    def factory(
        keys: tuple[str, ...] | KeyPool = (KEY_A,),
        *,
        retry: RetryPolicy | None = None,
        **options: Any,
    ) -> TunerClient:
        pool = keys if isinstance(keys, KeyPool) else KeyPool(keys, clock=fake_time.monotonic)
        settings: dict[str, Any] = {
            "base_url": BASE_URL,
            "retry": retry or RetryPolicy(max_attempts=4, max_elapsed=600.0),
            "sleep": fake_time.sleep,
            "clock": fake_time.monotonic,
            "wall_clock": fake_time.wall,
            "rng": random.Random(7),
        }
        settings.update(options)
        return TunerClient(pool, **settings)

    return factory
