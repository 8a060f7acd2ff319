"""The API key pool: rotation over healthy keys, rests after 429, removal after 401.

Keys are only ever shown by their last four characters (``…abcd``). The pool also remembers which
key created a file or job (so later requests about that id go through the same key, which is the
one sure to see it) and keeps the last rate-limit headers each key got, for the dashboard.

The pool is synchronous and does not sleep: the client asks ``next_wait()`` and sleeps itself,
with its injectable sleep and clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from pydantic import SecretStr

logger = logging.getLogger("tuner.api")

OwnerHook = Callable[[str, str], None]
"""Called with ``(resource_id, key_hint)`` when a key creates a file or job (e.g. the ledger)."""

RemovalHook = Callable[[str], None]
"""Called with the key hint when a key is taken out of the pool after a 401."""

KeyState = Literal["ready", "resting", "removed"]

_RATE_LIMIT_PREFIXES = ("x-ratelimit", "ratelimitbysize", "x-ratelimitbysize")


def key_hint(secret: str) -> str:
    """How a key is shown to people: its last four characters."""
    if len(secret) < 8:
        # Four characters of a very short key would be most of it.
        return "…" + "*" * 4
    return "…" + secret[-4:]


class ApiKey:
    """One API key. Its repr and str show only the hint."""

    __slots__ = ("_secret", "hint")

    def __init__(self, secret: str | SecretStr) -> None:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        value = value.strip()
        if value.lower().startswith("bearer "):
            value = value[len("bearer ") :].strip()
        if not value:
            raise ValueError("an API key must not be empty")
        self._secret = value
        self.hint = key_hint(value)

    def reveal(self) -> str:
        return self._secret

    def __repr__(self) -> str:
        return f"ApiKey({self.hint})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._secret == self._secret

    def __hash__(self) -> int:
        return hash(self._secret)


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """A snapshot of one key, safe to show: no secret in it."""

    hint: str
    state: KeyState
    rest_seconds: float
    requests: int
    rate_limited: int
    rate_limits: Mapping[str, str]
    """The last ``x-ratelimit-*`` / ``ratelimitbysize-*`` headers this key received."""
    rate_limits_at: float | None
    """When those headers were received (the pool's clock)."""


@dataclass(slots=True)
class _Slot:
    key: ApiKey
    resting_until: float = 0.0
    removed: bool = False
    requests: int = 0
    rate_limited: int = 0
    rate_limits: dict[str, str] = field(default_factory=dict)
    rate_limits_at: float | None = None


class NoUsableKeyError(Exception):
    """Every key was removed (or none was configured); the client turns this into a 401 error."""


class KeyPool:
    def __init__(
        self,
        keys: Iterable[str | SecretStr | ApiKey],
        *,
        clock: Callable[[], float] = time.monotonic,
        on_owner: OwnerHook | None = None,
        on_removed: RemovalHook | None = None,
    ) -> None:
        self._slots: list[_Slot] = []
        for raw in keys:
            key = raw if isinstance(raw, ApiKey) else ApiKey(raw)
            if all(slot.key != key for slot in self._slots):
                self._slots.append(_Slot(key))
        self._clock = clock
        self._cursor = 0
        self._owners: dict[str, str] = {}
        self.on_owner = on_owner
        self.on_removed = on_removed

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        return f"KeyPool({', '.join(slot.key.hint for slot in self._slots)})"

    @property
    def hints(self) -> tuple[str, ...]:
        return tuple(slot.key.hint for slot in self._slots)

    @property
    def removed_hints(self) -> tuple[str, ...]:
        return tuple(slot.key.hint for slot in self._slots if slot.removed)

    def secrets(self) -> tuple[str, ...]:
        """Every key's value, for scrubbing error texts; never show these."""
        return tuple(slot.key.reveal() for slot in self._slots)

    # -- choosing a key ------------------------------------------------------------------------

    def next_wait(self) -> float | None:
        """0 if a key is ready, else seconds until the first rest ends; None if no key is left."""
        now = self._clock()
        wakes = [slot.resting_until for slot in self._slots if not slot.removed]
        if not wakes:
            return None
        return max(0.0, min(wakes) - now)

    def take(self, prefer: str | None = None) -> ApiKey:
        """A ready key: the preferred one (by hint) if it is ready, else the next in rotation."""
        now = self._clock()
        if prefer is not None:
            for slot in self._slots:
                if slot.key.hint == prefer and self._is_ready(slot, now):
                    slot.requests += 1
                    return slot.key
        count = len(self._slots)
        for step in range(count):
            index = (self._cursor + step) % count
            slot = self._slots[index]
            if self._is_ready(slot, now):
                self._cursor = (index + 1) % count
                slot.requests += 1
                return slot.key
        raise NoUsableKeyError("no API key is ready")

    @staticmethod
    def _is_ready(slot: _Slot, now: float) -> bool:
        return not slot.removed and slot.resting_until <= now

    # -- what happened to a key ----------------------------------------------------------------

    def rest(self, key: ApiKey, seconds: float) -> None:
        """After a 429: the key is not used again for ``seconds``."""
        slot = self._slot(key)
        if slot is None:
            return
        slot.rate_limited += 1
        slot.resting_until = max(slot.resting_until, self._clock() + max(0.0, seconds))
        logger.info("API key %s is rate limited; resting it for %.1f s", key.hint, seconds)

    def remove(self, key: ApiKey) -> None:
        """After a 401: the key is taken out for the life of the pool and reported once."""
        slot = self._slot(key)
        if slot is None or slot.removed:
            return
        slot.removed = True
        logger.warning("API key %s was rejected (401) and taken out of the pool", key.hint)
        if self.on_removed is not None:
            self.on_removed(key.hint)

    def observe(self, key: ApiKey, headers: Mapping[str, str]) -> None:
        """Keep the rate-limit headers of a response made with ``key``."""
        slot = self._slot(key)
        if slot is None:
            return
        limits = {
            name.lower(): value
            for name, value in headers.items()
            if name.lower().startswith(_RATE_LIMIT_PREFIXES)
        }
        if limits:
            slot.rate_limits = limits
            slot.rate_limits_at = self._clock()

    def _slot(self, key: ApiKey) -> _Slot | None:
        for slot in self._slots:
            if slot.key == key:
                return slot
        return None

    # -- which key owns what -------------------------------------------------------------------

    def record_owner(self, resource_id: str, key: ApiKey) -> None:
        """Remember that ``key`` created ``resource_id`` (a file or job id) and tell the hook."""
        self._owners[resource_id] = key.hint
        if self.on_owner is not None:
            self.on_owner(resource_id, key.hint)

    def load_owners(self, owners: Mapping[str, str]) -> None:
        """Seed the map from a store (e.g. the ledger): resource id → key hint."""
        self._owners.update(owners)

    def owner_of(self, resource_id: str) -> str | None:
        return self._owners.get(resource_id)

    @property
    def owners(self) -> Mapping[str, str]:
        return MappingProxyType(self._owners)

    # -- for the dashboard ---------------------------------------------------------------------

    def snapshot(self) -> tuple[KeyStatus, ...]:
        now = self._clock()
        return tuple(self._status(slot, now) for slot in self._slots)

    @staticmethod
    def _status(slot: _Slot, now: float) -> KeyStatus:
        state: KeyState
        if slot.removed:
            state = "removed"
        elif slot.resting_until > now:
            state = "resting"
        else:
            state = "ready"
        return KeyStatus(
            hint=slot.key.hint,
            state=state,
            rest_seconds=max(0.0, slot.resting_until - now) if state == "resting" else 0.0,
            requests=slot.requests,
            rate_limited=slot.rate_limited,
            rate_limits=MappingProxyType(dict(slot.rate_limits)),
            rate_limits_at=slot.rate_limits_at,
        )
