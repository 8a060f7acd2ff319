"""Seeded fault injection: rate limits, server errors, dropped connections, slow answers and
jobs that fail mid-run.

A spec such as ``"429=0.1,500=0.05,drop=0.02,latency=0.3@0.2"`` means: answer 10 % of requests
with 429, 5 % with 500, close the connection without answering 2 %, and delay 20 % by 0.3 s.
Any 4xx/5xx code can be listed (``503=0.1``). One random generator seeded with ``seed`` decides,
drawing the same number of values for every request, so the same sequence of requests meets the
same faults on every run (concurrent requests are decided in arrival order).

``job_fail=0.3`` makes 30 % of created jobs fail while RUNNING (status FAILED, after part of their
steps and any checkpoints on the way, with an error in the FAILED event's ``data.error``). It is
decided when the job is created, by its own generator seeded with ``seed`` (two draws per job,
in creation order: whether it fails, and how far it gets), and stored with the job, so a restart
does not change a job's fate. It is independent of the per-request faults.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field


class FaultSpecError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FaultPlan:
    # (status code, probability), in the order given.
    statuses: tuple[tuple[int, float], ...] = ()
    drop: float = 0.0
    latency_seconds: float = 0.0
    latency_probability: float = 0.0
    # The share of created jobs that fail mid-run (not a per-request fault).
    job_fail: float = 0.0

    @property
    def empty(self) -> bool:
        return not self.statuses and not self.drop and not self.latency_probability


@dataclass(frozen=True, slots=True)
class Decision:
    delay: float = 0.0
    # An HTTP status to answer with instead of the real answer, or None.
    status: int | None = None
    drop: bool = False


def parse_faults(spec: str | None) -> FaultPlan:
    """Parse ``"429=0.1,500=0.05,drop=0.02,latency=0.3@0.2"``; raise FaultSpecError if malformed."""
    if spec is None or not spec.strip():
        return FaultPlan()
    statuses: list[tuple[int, float]] = []
    drop = 0.0
    latency = (0.0, 0.0)
    job_fail = 0.0
    for item in spec.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise FaultSpecError(f"fault {item.strip()!r} is not KEY=VALUE")
        if key == "drop":
            drop = _probability(key, value)
        elif key == "job_fail":
            job_fail = _probability(key, value)
        elif key == "latency":
            seconds, at, chance = value.partition("@")
            if not at:
                raise FaultSpecError(f"latency takes SECONDS@PROBABILITY, got {value!r}")
            latency = (_seconds(seconds), _probability(key, chance))
        elif key.isdigit() and 400 <= int(key) <= 599:
            statuses.append((int(key), _probability(key, value)))
        else:
            raise FaultSpecError(
                f"unknown fault {key!r}: use a 4xx/5xx status, 'drop', 'latency' or 'job_fail'"
            )
    total = sum(p for _, p in statuses) + drop
    if total > 1:
        raise FaultSpecError(f"fault probabilities add up to {total:g}, more than 1")
    return FaultPlan(tuple(statuses), drop, latency[0], latency[1], job_fail)


def _probability(key: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FaultSpecError(f"{key}: {value!r} is not a number") from None
    if not 0 <= number <= 1:
        raise FaultSpecError(f"{key}: probability {number:g} is not between 0 and 1")
    return number


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FaultSpecError(f"latency: {value!r} is not a number of seconds") from None
    if number < 0:
        raise FaultSpecError(f"latency: {number:g} seconds is negative")
    return number


# How far a failing job gets: between these shares of its steps.
FAIL_PROGRESS = (0.3, 0.8)


class JobFate:
    """Decides, job by job in creation order, which jobs fail mid-run and where (seeded)."""

    def __init__(self, probability: float, seed: int = 0) -> None:
        self.probability = probability
        self._rng = random.Random(f"{seed}:job_fail")
        self._lock = threading.Lock()

    def fail_fraction(self) -> float | None:
        """The share of its steps a new job completes before failing, or None: it succeeds."""
        if not self.probability:
            return None
        with self._lock:
            chance, progress = self._rng.random(), self._rng.random()
        if chance >= self.probability:
            return None
        low, high = FAIL_PROGRESS
        return round(low + (high - low) * progress, 6)


@dataclass
class FaultInjector:
    plan: FaultPlan
    seed: int = 0
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def decide(self) -> Decision:
        if self.plan.empty:
            return Decision()
        with self._lock:
            # Always two draws, so one request's outcome never shifts the next one's.
            slow, pick = self._rng.random(), self._rng.random()
        delay = self.plan.latency_seconds if slow < self.plan.latency_probability else 0.0
        edge = 0.0
        for status, probability in self.plan.statuses:
            edge += probability
            if pick < edge:
                return Decision(delay, status=status)
        if pick < edge + self.plan.drop:
            return Decision(delay, drop=True)
        return Decision(delay)
