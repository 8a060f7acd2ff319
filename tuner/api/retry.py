"""Retry policy: which failures are retried, how long to wait, and the per-call budget.

Retried: connection errors, timeouts, 408, 429 and 5xx. Without a ``Retry-After``, the wait is
exponential backoff with full jitter (a uniform draw in ``[0, min(max, initial * 2**n)]``), which
spreads clients that failed together instead of having them retry in lockstep.

``Retry-After``: ``parse_retry_after`` is the one parser (``retry-after-ms`` in milliseconds, else
``Retry-After`` in seconds or as an HTTP date); the client parses it once, when the error response
arrives, into ``APIStatusError.retry_after``. The policy for the wait the server asks for:

- up to ``retry_after_cap`` (60 s by default): the client waits exactly that long and retries;
- longer than the cap: the client does **not** retry. Retrying sooner than asked only earns
  another 429 (and counts against the limit); waiting minutes inside one call looks like a hang.
  The call raises the error, its message saying how long the server asked to wait and the UTC
  time after which to retry, and ``error.retry_after`` keeps the seconds, so the daemon skips
  its cycles until then.

After a 429 only the key that got it rests (for the full advised time): with a key pool, a call
whose key must rest past the cap still goes on with another key that is ready within the cap.
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
    """The longest ``Retry-After`` waited for; a longer one ends the call (see module doc)."""
    backoff_initial: float = 0.5
    backoff_max: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        for name in ("max_elapsed", "retry_after_cap", "backoff_initial", "backoff_max"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    @property
    def longest_rest(self) -> float:
        """The longest a call waits for a resting key: a rest longer than this can only come
        from a ``Retry-After`` beyond the cap (backoff rests stay under ``backoff_max``)."""
        return max(self.retry_after_cap, self.backoff_max)


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
    policy: RetryPolicy, advised: float | None, retry_number: int, rng: random.Random
) -> float:
    """The wait before the next attempt: the server's ``advised`` wait when given (the caller
    gives up instead when it is longer than ``retry_after_cap``), else backoff."""
    if advised is not None:
        return advised
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
