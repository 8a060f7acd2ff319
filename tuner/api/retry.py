"""Retry policy: which failures are retried, how long to wait, and the per-call budget.

Retried: connection errors, timeouts, 408, 429 and 5xx. The wait honours ``Retry-After`` (seconds
or an HTTP date, also ``retry-after-ms``) up to a cap; without it, exponential backoff with full
jitter (a uniform draw in ``[0, min(max, initial * 2**n)]``), which spreads clients that failed
together instead of having them retry in lockstep.
"""

from __future__ import annotations

import email.utils
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

RETRYABLE_STATUSES = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    """Attempts per call, the first included (1 = never retry)."""
    max_elapsed: float = 300.0
    """Seconds from the first attempt after which no new attempt starts."""
    retry_after_cap: float = 60.0
    """The longest ``Retry-After`` honoured; longer values are cut to this."""
    backoff_initial: float = 0.5
    backoff_max: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        for name in ("max_elapsed", "retry_after_cap", "backoff_initial", "backoff_max"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


def is_retryable_status(status_code: int) -> bool:
    return status_code in RETRYABLE_STATUSES or status_code >= 500


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait according to the response headers, or None when absent or unparsable.

    ``now`` is the wall-clock time (UNIX seconds), needed for the HTTP-date form.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = _parse_float(lowered.get("retry-after-ms"))
    if millis is not None:
        return max(0.0, millis / 1000.0)
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _parse_float(raw)
    if seconds is not None:
        return max(0.0, seconds)
    return _seconds_until_http_date(raw, now)


def _parse_float(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _seconds_until_http_date(raw: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def backoff_delay(policy: RetryPolicy, retry_number: int, rng: random.Random) -> float:
    """Full-jitter exponential backoff for the ``retry_number``-th retry (1-based)."""
    exponent = min(max(retry_number - 1, 0), 32)  # bounded so 2**n never overflows a float
    ceiling = min(policy.backoff_max, policy.backoff_initial * (2.0**exponent))
    return rng.uniform(0.0, ceiling)


def retry_delay(
    policy: RetryPolicy,
    headers: Mapping[str, str],
    retry_number: int,
    now: float,
    rng: random.Random,
) -> float:
    """The wait before the next attempt: capped Retry-After when given, else backoff."""
    advised = parse_retry_after(headers, now)
    if advised is not None:
        return min(advised, policy.retry_after_cap)
    return backoff_delay(policy, retry_number, rng)


class RetryBudget:
    """Attempts and elapsed time used by one call, against the policy's limits."""

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float]) -> None:
        self.policy = policy
        self._clock = clock
        self._started = clock()
        self.attempts = 0
        self.last_error: Exception | None = None

    def attempt_started(self) -> None:
        self.attempts += 1

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    def has_attempts_left(self) -> bool:
        return self.attempts < self.policy.max_attempts

    def allows_wait(self, seconds: float) -> bool:
        """Whether waiting ``seconds`` still leaves the next attempt inside the time budget."""
        return self.elapsed + seconds <= self.policy.max_elapsed

    def allows_retry(self, delay: float) -> bool:
        return self.has_attempts_left() and self.allows_wait(delay)
