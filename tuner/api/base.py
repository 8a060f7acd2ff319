"""What every provider's client shares over its ``Transport``: the settings it is built from
(timeouts and the retry policy, the same for every provider), how the transport is opened, and
the properties and closing that do not depend on the provider's API."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Self, TypedDict

import httpx
from pydantic import SecretStr

from tuner.api.keys import ApiKey, KeyPool, OwnerHook
from tuner.api.retry import RetryPolicy
from tuner.api.transport import Clock, Sleep, Timeouts, Transport
from tuner.config import ConfigError, Settings, check_api_url


class TransportOptions(TypedDict, total=False):
    """A client's constructor options that do not depend on the provider.

    ``timeouts`` and ``retry`` default to ``Timeouts()`` and ``RetryPolicy()``; ``http_client``
    or ``transport`` replace httpx's own; ``sleep``, ``clock`` (monotonic), ``wall_clock`` (UNIX
    time) and ``rng`` are there so tests can drive retries and rests without waiting;
    ``on_owner`` lets the ledger record which key created each file and job."""

    timeouts: Timeouts | None
    retry: RetryPolicy | None
    http_client: httpx.AsyncClient | None
    transport: httpx.AsyncBaseTransport | None
    sleep: Sleep
    clock: Clock
    wall_clock: Clock
    rng: random.Random | None
    on_owner: OwnerHook | None


class KeyHints(TypedDict, total=False):
    """Where a provider's keys come from, said when they are rejected or missing (the
    transport's own, Mistral's, for any left out)."""

    key_hint: str
    no_key_hint: str


def open_transport(
    api_keys: KeyPool | Iterable[str | SecretStr | ApiKey],
    options: TransportOptions,
    *,
    base_url: str,
    url_setting: str | None = None,
    headers: Mapping[str, str] | None = None,
    hints: KeyHints | None = None,
) -> Transport:
    """The transport a client talks through: ``base_url`` checked (``ConfigError`` names
    ``url_setting`` when given), the key pool, ``headers`` sent with every request, and
    the provider's key ``hints``."""
    _refuse_unknown(options)
    clock = options.get("clock", time.monotonic)
    return Transport(
        base_url=_checked_url(base_url, url_setting),
        keys=pool_of(api_keys, clock=clock, on_owner=options.get("on_owner")),
        timeouts=options.get("timeouts") or Timeouts(),
        retry=options.get("retry") or RetryPolicy(),
        http_client=options.get("http_client"),
        transport=options.get("transport"),
        sleep=options.get("sleep", asyncio.sleep),
        clock=clock,
        wall_clock=options.get("wall_clock", time.time),
        rng=options.get("rng"),
        headers=headers,
        **(hints or KeyHints()),
    )


def _refuse_unknown(options: TransportOptions) -> None:
    """A misspelt option fails as a misspelt keyword argument does, not ignored in silence."""
    unknown = sorted(set(options) - TransportOptions.__optional_keys__)
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r}")


def _checked_url(url: str, setting: str | None) -> str:
    try:
        return check_api_url(url)
    except ValueError as exc:
        raise ConfigError(f"{setting}: {exc}" if setting else str(exc)) from None


def pool_of(
    api_keys: KeyPool | Iterable[str | SecretStr | ApiKey],
    *,
    clock: Clock,
    on_owner: OwnerHook | None,
) -> KeyPool:
    """The key pool a client rotates over (a given pool as it is), with the owner hook set."""
    pool = api_keys if isinstance(api_keys, KeyPool) else KeyPool(api_keys, clock=clock)
    if on_owner is not None:
        pool.on_owner = on_owner
    return pool


def timeouts_from(settings: Settings) -> Timeouts:
    return Timeouts(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.write_timeout,
        pool=settings.pool_timeout,
        upload=settings.upload_timeout,
    )


def retry_from(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.retry_max_attempts,
        max_elapsed=settings.retry_max_elapsed,
        retry_after_cap=settings.retry_after_cap,
        backoff_initial=settings.retry_backoff_initial,
        backoff_max=settings.retry_backoff_max,
    )


class TransportClient:
    """A client over one ``Transport`` (set ``_transport`` in ``__init__``)."""

    _transport: Transport

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def keys(self) -> KeyPool:
        """The key pool: ``keys.snapshot()`` for the dashboard, ``keys.owners`` for the ledger."""
        return self._transport.keys

    @property
    def is_sandbox(self) -> bool | None:
        """None until the first response; then whether the backend marks itself a sandbox."""
        return self._transport.is_sandbox

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, keys={self.keys!r})"

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
