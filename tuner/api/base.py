"""What every provider's client shares over its ``Transport``: the settings it is built from
(timeouts and the retry policy, the same for every provider), and the properties and closing
that do not depend on the provider's API."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Self

from pydantic import SecretStr

from tuner.api.keys import ApiKey, KeyPool, OwnerHook
from tuner.api.retry import RetryPolicy
from tuner.api.transport import Clock, Timeouts, Transport
from tuner.config import Settings


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
