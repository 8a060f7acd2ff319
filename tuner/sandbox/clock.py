"""Simulated time: every job state in the sandbox is a function of the clock.

Nothing in the sandbox sleeps until training "progresses": job status, events and checkpoints are
computed from ``clock.now()`` on each request. A :class:`ScaledClock` runs ``speed`` times faster
than the wall clock (demos); a :class:`ManualClock` only moves when told to (tests), so tests
never wait on the wall clock.

Both clocks return UNIX seconds. Timestamps the sandbox hands out (``created_at``, event times)
are in simulated time, so at ``speed`` > 1 they run ahead of the wall clock; that is expected.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """The current simulated time, in UNIX seconds."""
        ...

    def resume_from(self, instant: float) -> None:
        """Never report a time before ``instant`` again.

        Called at start-up with the latest time a previous run of the server saw, so that a
        restart never moves jobs backwards (at ``speed`` > 1 simulated time is ahead of the wall
        clock, and a fresh clock would otherwise start from the wall clock).
        """
        ...


class ScaledClock:
    """The wall clock, scaled: ``speed`` simulated seconds pass per real second."""

    def __init__(self, speed: float = 1.0, *, wall: float | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._lock = threading.Lock()
        self._real_origin = time.monotonic()
        self._sim_origin = time.time() if wall is None else wall

    def now(self) -> float:
        with self._lock:
            return self._sim_origin + (time.monotonic() - self._real_origin) * self.speed

    def resume_from(self, instant: float) -> None:
        with self._lock:
            elapsed = (time.monotonic() - self._real_origin) * self.speed
            if self._sim_origin + elapsed < instant:
                self._sim_origin = instant - elapsed


class ManualClock:
    """A clock that stands still until :meth:`advance` is called (tests, scripted demos)."""

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._now = float(int(time.time())) if start is None else float(start)

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (>= 0) and return the new time."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, got {seconds}")
        with self._lock:
            self._now += seconds
            return self._now

    def resume_from(self, instant: float) -> None:
        with self._lock:
            self._now = max(self._now, instant)
