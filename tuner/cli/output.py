"""Rendering helpers shared by the command groups: consoles, JSON, errors, progress."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False)


class Exit(IntEnum):
    """The CLI's exit codes (architecture doc)."""

    OK = 0
    FAILED = 1  # the data or the job failed
    USAGE = 2  # usage or configuration error
    API = 3  # the API or the network failed after retries


def fail(message: str, hint: str | None = None, code: Exit = Exit.USAGE) -> NoReturn:
    """Print one clear line (and a hint) on stderr and exit; never a traceback for user errors."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    if hint:
        err_console.print(f"[dim]hint:[/] {hint}")
    raise typer.Exit(int(code))


def emit_json(data: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    sys.stdout.flush()


class RichProgress:
    """The core's Progress protocol as a rich progress bar on stderr (quiet when not a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled and err_console.is_terminal
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def start(self, task: str, total: int | None = None, unit: str = "") -> None:
        if not self._enabled:
            return
        self.finish()
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(task, total=total)

    def advance(self, amount: int = 1) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, amount)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        self._bar = None
        self._task = None


@contextmanager
def progress_for(quiet: bool) -> Iterator[RichProgress]:
    progress = RichProgress(enabled=not quiet)
    try:
        yield progress
    finally:
        progress.finish()
