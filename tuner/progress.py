"""The small progress protocol the core reports through; the core never prints.

The CLI turns these calls into rich progress bars, the TUI into progress widgets, tests into
lists. ``NULL_PROGRESS`` is the default everywhere.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, task: str, total: int | None = None, unit: str = "") -> None:
        """A unit of work begins; ``total`` is None when unknown (e.g. lines of a stream)."""

    def advance(self, amount: int = 1) -> None:
        """``amount`` more units of the current task are done."""

    def finish(self) -> None:
        """The current task is done."""


class NullProgress:
    def start(self, task: str, total: int | None = None, unit: str = "") -> None:
        return None

    def advance(self, amount: int = 1) -> None:
        return None

    def finish(self) -> None:
        return None


NULL_PROGRESS: Progress = NullProgress()
