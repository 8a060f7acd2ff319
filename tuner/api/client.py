"""``TunerClient``: the async client for the Mistral fine-tuning API (or the local sandbox).

async with TunerClient.from_settings(load_settings().settings) as client:
    file = await client.files.upload("train.jsonl", progress=on_progress)
    job = await client.jobs.create(JobCreate(model="open-mistral-7b", training_files=[file.id]))
    async for job in client.jobs.list(status="RUNNING"):
        ...
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable

import httpx
from pydantic import SecretStr

from tuner.api.base import TransportClient, pool_of, retry_from, timeouts_from
from tuner.api.keys import ApiKey, KeyPool, OwnerHook
from tuner.api.resources.chat import Chat
from tuner.api.resources.classifiers import Classifiers
from tuner.api.resources.embeddings import Embeddings
from tuner.api.resources.files import Files
from tuner.api.resources.jobs import Jobs
from tuner.api.resources.models import Models
from tuner.api.retry import RetryPolicy
from tuner.api.transport import Clock, Sleep, Timeouts, Transport
from tuner.config import DEFAULT_API_URL, ConfigError, Settings, check_api_url


class TunerClient(TransportClient):
    def __init__(
        self,
        api_keys: KeyPool | Iterable[str | SecretStr | ApiKey] = (),
        *,
        base_url: str = DEFAULT_API_URL,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        rng: random.Random | None = None,
        on_owner: OwnerHook | None = None,
    ) -> None:
        """``sleep``, ``clock`` (monotonic), ``wall_clock`` (UNIX time) and ``rng`` are there so
        tests can drive retries and rests without waiting; ``on_owner`` lets the ledger record
        which key created each file and job."""
        pool = pool_of(api_keys, clock=clock, on_owner=on_owner)
        self._transport = Transport(
            base_url=_checked_url(base_url),
            keys=pool,
            timeouts=timeouts or Timeouts(),
            retry=retry or RetryPolicy(),
            http_client=http_client,
            transport=transport,
            sleep=sleep,
            clock=clock,
            wall_clock=wall_clock,
            rng=rng,
        )
        self.files = Files(self._transport)
        self.jobs = Jobs(self._transport)
        self.models = Models(self._transport)
        self.chat = Chat(self._transport)
        self.embeddings = Embeddings(self._transport)
        self.classifiers = Classifiers(self._transport)

    @classmethod
    def from_settings(cls, settings: Settings, **options: object) -> TunerClient:
        """A client for the configured URL, keys, timeouts and retry policy.

        ``options`` are passed to the constructor (e.g. ``on_owner=``, or ``sleep=`` in tests).
        """
        timeouts, retry = timeouts_from(settings), retry_from(settings)
        return cls(
            settings.key_pool(),
            base_url=settings.api_url,
            timeouts=timeouts,
            retry=retry,
            **options,  # type: ignore[arg-type]
        )

    @property
    def timeouts(self) -> Timeouts:
        return self._transport.timeouts

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._transport.policy


def _checked_url(url: str) -> str:
    try:
        return check_api_url(url)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
