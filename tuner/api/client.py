"""``TunerClient``: the async client for the Mistral fine-tuning API (or the local sandbox).

async with TunerClient.from_settings(load_settings().settings) as client:
    file = await client.files.upload("train.jsonl", progress=on_progress)
    job = await client.jobs.create(JobCreate(model="open-mistral-7b", training_files=[file.id]))
    async for job in client.jobs.list(status="RUNNING"):
        ...
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Unpack

from pydantic import SecretStr

from tuner.api.base import (
    TransportClient,
    TransportOptions,
    open_transport,
    retry_from,
    timeouts_from,
)
from tuner.api.keys import ApiKey, KeyPool
from tuner.api.resources.chat import Chat
from tuner.api.resources.classifiers import Classifiers
from tuner.api.resources.embeddings import Embeddings
from tuner.api.resources.files import Files
from tuner.api.resources.jobs import Jobs
from tuner.api.resources.models import Models
from tuner.api.retry import RetryPolicy
from tuner.api.transport import Timeouts
from tuner.config import DEFAULT_API_URL, Settings


class TunerClient(TransportClient):
    def __init__(
        self,
        api_keys: KeyPool | Iterable[str | SecretStr | ApiKey] = (),
        *,
        base_url: str = DEFAULT_API_URL,
        **options: Unpack[TransportOptions],
    ) -> None:
        """``options``: timeouts, retry policy, test clocks and the owner hook
        (:class:`~tuner.api.base.TransportOptions`)."""
        self._transport = open_transport(api_keys, options, base_url=base_url)
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
