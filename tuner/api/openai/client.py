"""``OpenAIClient``: the async client for OpenAI's fine-tuning API (or the OpenAI sandbox).

async with OpenAIClient.from_settings(load_settings().settings) as client:
    file = await client.files.upload("train.jsonl")
    job = await client.jobs.create(OpenAIJobCreate(model="gpt-4o-mini-2024-07-18",
                                                   training_file=file.id))
    async for event in client.jobs.events(job.id):
        ...

The same transport as the Mistral client: one retry loop, the key pool (429 rests, 401
removal, owner tracking), error mapping (OpenAI's ``{"error": {...}}`` body is read by
``tuner.api.errors``) and sandbox detection (``x-tuner-sandbox: 1``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Unpack

from pydantic import SecretStr

from tuner.api.base import (
    KeyHints,
    TransportClient,
    TransportOptions,
    open_transport,
    retry_from,
    timeouts_from,
)
from tuner.api.keys import ApiKey, KeyPool
from tuner.api.openai.resources import Chat, Files, Jobs
from tuner.config import DEFAULT_OPENAI_URL, Settings

PROVIDER = "openai"
ORGANIZATION_HEADER = "OpenAI-Organization"
PROJECT_HEADER = "OpenAI-Project"
_KEY_HINT = (
    "check OPENAI_API_KEY, TUNER_OPENAI_API_KEYS or openai_api_keys in the tuner config file"
)
_NO_KEY = "set OPENAI_API_KEY or TUNER_OPENAI_API_KEYS, or openai_api_keys in the tuner config file"


class OpenAIClient(TransportClient):
    provider = PROVIDER

    def __init__(
        self,
        api_keys: KeyPool | Iterable[str | SecretStr | ApiKey] = (),
        *,
        base_url: str = DEFAULT_OPENAI_URL,
        organization: str | None = None,
        project: str | None = None,
        **options: Unpack[TransportOptions],
    ) -> None:
        """``base_url`` includes OpenAI's ``/v1`` (https, or plain http on loopback only);
        ``organization``/``project`` are sent as OpenAI's headers on every request;
        ``options``: timeouts, retry policy, test clocks and the owner hook
        (:class:`~tuner.api.base.TransportOptions`)."""
        headers = {}
        if organization:
            headers[ORGANIZATION_HEADER] = organization
        if project:
            headers[PROJECT_HEADER] = project
        self._transport = open_transport(
            api_keys,
            options,
            base_url=base_url,
            url_setting="OPENAI_BASE_URL",
            headers=headers,
            hints=KeyHints(key_hint=_KEY_HINT, no_key_hint=_NO_KEY),
        )
        self.files = Files(self._transport)
        self.jobs = Jobs(self._transport)
        self.chat = Chat(self._transport)

    @classmethod
    def from_settings(cls, settings: Settings, **options: object) -> OpenAIClient:
        """A client for the configured OpenAI URL, keys, organisation and project, with the
        shared timeouts and retry policy. Raises ``ConfigError`` for an unusable URL."""
        timeouts, retry = timeouts_from(settings), retry_from(settings)
        return cls(
            settings.openai_key_pool(),
            base_url=settings.openai_base_url,
            organization=settings.openai_organization,
            project=settings.openai_project,
            timeouts=timeouts,
            retry=retry,
            **options,  # type: ignore[arg-type]
        )
