"""Which provider answers a model in an evaluation, and one way to ask either of them.

A model id may name its provider with tuner's own prefix, ``openai:`` or ``mistral:``
(``openai:ft:gpt-4o-mini-2024-07-18:acme:care:abc123``); the prefix is tuner's notation, and the
server is sent the id without it. Without a prefix, ids that start with ``gpt-`` or ``ft:gpt-``
are OpenAI's (no Mistral model is named so); every other id is Mistral's, the default provider,
so existing runs and commands keep their meaning. Run records keep the id as given, prefix and
all, so the provider is part of a run's identity.

``ChatBackend`` hides the two clients' differences (Mistral's ``max_tokens`` and
``response_format`` parameters, OpenAI's ``max_completion_tokens``; how each learns whether its
server is a sandbox) from the runner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from tuner.api import NOT_GIVEN, ChatCompletion, NotGiven
from tuner.jobs.records import Backend, EvalRunRecord

if TYPE_CHECKING:
    # The clients name the chats' quoted base classes below, which ruff does not count as a
    # use; OpenAI's stays out of the import at run time (it is only loaded when asked for).
    from tuner.api import TunerClient  # noqa: F401
    from tuner.api.base import TransportClient
    from tuner.api.openai import OpenAIClient  # noqa: F401

Provider = Literal["mistral", "openai"]
PROVIDERS: tuple[Provider, ...] = ("mistral", "openai")
DEFAULT_PROVIDER: Provider = "mistral"
OPENAI_PREFIXES = ("gpt-", "ft:gpt-")
"""Unprefixed ids taken as OpenAI's: its chat models and models tuned from them."""
JUDGE_BACKEND = "judge_backend"
"""Where a run's parameters in the ledger keep the judge's backend (the ledger has one backend
per model; the judge's verdicts need their origin too)."""


@dataclass(frozen=True, slots=True)
class ModelRef:
    provider: Provider
    name: str
    """The id the provider's server is sent (without tuner's prefix)."""


def model_ref(model: str) -> ModelRef:
    """The provider and server-side id of ``model``; ``ValueError`` for ``openai:`` alone."""
    head, sep, rest = model.partition(":")
    if sep and head in PROVIDERS:
        if not rest.strip():
            raise ValueError(f"{model!r} names a provider but no model")
        return ModelRef(head, rest)
    if model.startswith(OPENAI_PREFIXES):
        return ModelRef("openai", model)
    return ModelRef(DEFAULT_PROVIDER, model)


def provider_of(model: str) -> Provider:
    return model_ref(model).provider


def judge_backend_of(run: EvalRunRecord) -> Backend | None:
    """The backend that judged ``run`` (None: no judge, or a run recorded before it was kept)."""
    stored = (run.params or {}).get(JUDGE_BACKEND)
    if not isinstance(stored, dict):
        return None
    return Backend(url=stored.get("url"), sandbox=stored.get("sandbox"))


class ChatBackend(Protocol):
    """What the runner needs of a provider: one chat completion, and where answers come from."""

    provider: Provider

    async def complete(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        response_format: Mapping[str, Any] | None = None,
    ) -> ChatCompletion: ...

    def origin(self) -> Backend:
        """The server's URL and whether it is a sandbox (None until it has answered)."""
        ...

    async def learn(self) -> None:
        """Ask the server once, cheaply, if it has not answered yet: is it a sandbox?"""
        ...


def _given(value: Any) -> Any:
    return NOT_GIVEN if value is None else value


ClientT = TypeVar("ClientT", bound="TransportClient")


class LazyClientChat(Generic[ClientT]):
    """What both providers' chats share: a client made on first use (so a run that never asks
    one provider never needs its key) and the backend it reports as a result's origin."""

    def __init__(self, client: ClientT | Callable[[], ClientT]) -> None:
        self._client = client

    @property
    def client(self) -> ClientT:
        if callable(self._client):
            self._client = self._client()
        return self._client

    def origin(self) -> Backend:
        return Backend(url=self.client.base_url, sandbox=self.client.is_sandbox)


class MistralChat(LazyClientChat["TunerClient"]):
    provider: Provider = "mistral"

    async def complete(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        response_format: Mapping[str, Any] | None = None,
    ) -> ChatCompletion:
        return await self.client.chat.complete(
            model=model,
            messages=list(messages),
            tools=list(tools) if tools else NOT_GIVEN,
            temperature=_given(temperature),
            max_tokens=_given(max_tokens),
            response_format=_given(response_format),
        )

    async def learn(self) -> None:
        if self.client.is_sandbox is None:
            await self.client.models.list()


class OpenAIChat(LazyClientChat["OpenAIClient"]):
    provider: Provider = "openai"

    async def complete(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        response_format: Mapping[str, Any] | None = None,
    ) -> ChatCompletion:
        extra: dict[str, Any] = {}
        if tools:
            extra["tools"] = list(tools)
        if response_format is not None:
            extra["response_format"] = dict(response_format)
        limit: int | NotGiven = NOT_GIVEN if max_tokens is None else max_tokens
        return await self.client.chat.complete(
            model=model,
            messages=messages,
            temperature=_given(temperature),
            max_completion_tokens=limit,
            extra_body=extra or None,
        )

    async def learn(self) -> None:
        # OpenAI's client has no model listing; the first page of one job is as cheap.
        if self.client.is_sandbox is None:
            await self.client.jobs.list(limit=1).first_page()
