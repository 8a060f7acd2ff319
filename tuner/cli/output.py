"""Rendering helpers shared by the command groups: consoles, JSON, errors, progress."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import IntEnum
from typing import Any, NoReturn, TypeVar

import orjson
import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from tuner.jobs.records import Backend, simulated_note
from tuner.textsafe import inert, json_inert

# emoji=False: rich turns ":x:" into an emoji even with markup off, and model ids are full of
# colons (ft:open-mistral-7b:…:x:…), so an id or a file name would be shown as something else.
console = Console(highlight=False, soft_wrap=True, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)

# Piped or captured output has no terminal width; rich would assume 80 columns and fold tables
# of ids and model names into unreadable cells. Give such output room (COLUMNS still wins).
PIPED_WIDTH = 160
for _console in (console, err_console):
    if not _console.is_terminal and "COLUMNS" not in os.environ:
        _console.width = PIPED_WIDTH

M = TypeVar("M", bound=BaseModel)


class Exit(IntEnum):
    """The CLI's exit codes (architecture doc)."""

    OK = 0
    FAILED = 1  # the data or the job failed
    USAGE = 2  # usage or configuration error
    API = 3  # the API or the network failed after retries
    PARTIAL = 4  # done, but some requests failed after retries (the output says which)


def shown(value: object) -> str:
    """Untrusted text (data, ids, names, server messages) for a rich markup string: control
    characters escaped (:func:`tuner.textsafe.inert`) and markup brackets escaped."""
    return escape(inert(value))


def shown_text(value: object, *, multiline: bool = False) -> Text:
    """Untrusted text as a rich Text (never parsed as markup), control characters escaped."""
    return Text(inert(value, multiline=multiline))


def fail(message: str, hint: str | None = None, code: Exit = Exit.USAGE) -> NoReturn:
    """Print one clear line (and a hint) on stderr and exit; never a traceback for user errors.

    Messages often quote the server or the data, so both are shown inert, never as markup.
    """
    print_error(message, hint)
    raise typer.Exit(int(code))


def print_error(message: str, hint: str | None = None) -> None:
    """What :func:`fail` prints, without exiting: for a command with more than one failure to
    report before it exits (``fail`` with the last)."""
    err_console.print(f"[bold red]error:[/] {shown(message)}", markup=True, highlight=False)
    if hint:
        err_console.print(f"[dim]hint:[/] {shown(hint)}")


SIMULATED_STYLE = "bold black on yellow"
"""How every sandbox mark is drawn on the terminal: one look, wherever it appears."""


def simulated_banner(urls: Sequence[str | None]) -> None:
    """The SIMULATED mark above anything a sandbox produced (stdout, with what it marks)."""
    print_simulated_note(simulated_note(urls))


def print_simulated_note(note: str) -> None:
    """One SIMULATED note (a report's own wording, which may quote a URL) as the banner."""
    console.print(f" {inert(note)} ", style=SIMULATED_STYLE, markup=False)


def mark_origin(origin: Backend | None) -> None:
    """The SIMULATED banner when ``origin`` (the server that answered) is a sandbox."""
    if origin is not None and origin.sandbox:
        simulated_banner([origin.url])


def with_backend(data: dict[str, Any], origin: Backend | None) -> dict[str, Any]:
    """``data`` (one object a server answered) with ``"backend": {"url", "sandbox"}``."""
    return data if origin is None else {**data, "backend": origin.to_json()}


def emit_json(data: Any) -> None:
    """Exactly one JSON document on stdout (C1 and bidi characters as ``\\u`` escapes)."""
    sys.stdout.write(json_inert(json_text(data)) + "\n")
    sys.stdout.flush()


def json_text(data: Any) -> str:
    """``data`` as indented JSON, whatever numbers the server sent.

    orjson refuses integers beyond 64 bits (a job with ``training_steps`` 10**20 exists on a
    server as soon as it was accepted); the standard library writes them exactly, and takes
    every other value (datetimes, enums, dataclasses) through orjson's own conversion.
    """
    try:
        return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(data, indent=2, ensure_ascii=False, default=_via_orjson)


def _via_orjson(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def wire_json(model: BaseModel) -> dict[str, Any]:
    """An API object as JSON, under the API's own field names."""
    return model.model_dump(mode="json", by_alias=True)


def emit_listing(
    items: Sequence[M],
    *,
    as_json: bool,
    columns: Sequence[str],
    row: Callable[[M], Sequence[str]],
    empty: str | None = None,
    origin: Backend | None = None,
) -> None:
    """A listing command's output: the API objects as one JSON list, or a table of ``columns``
    with one ``row`` per item (``empty`` instead, when given and there are no items). Cells come
    from the server: they are shown inert, never as markup.

    ``origin`` is the server that listed them: each JSON object carries it as ``backend``, and
    a sandbox's listing is marked SIMULATED above the table."""
    if as_json:
        emit_json([with_backend(wire_json(item), origin) for item in items])
        return
    mark_origin(origin)
    if not items and empty is not None:
        console.print(empty)
        return
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(*(shown_text(cell) for cell in row(item)))
    console.print(table)


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
        self._task = self._bar.add_task(shown(task), total=total)  # may name files, models

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
