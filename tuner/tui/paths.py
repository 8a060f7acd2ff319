"""Path completion for the dashboard's file fields (a job spec, an evaluation file): the rest of
the first entry of the typed directory whose name starts with what was typed, as Textual shows
a suggestion (accepted with the right arrow or ``end``)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester

from tuner.textsafe import is_inert

MAX_ENTRIES = 2000
"""Entries of one directory looked at (a huge directory must not stall typing)."""


class PathSuggester(Suggester):
    """Completes a path from the file system; directories get a trailing separator."""

    def __init__(self, suffixes: tuple[str, ...] = ()) -> None:
        # Not cached: the directory may change between two prompts.
        super().__init__(use_cache=False, case_sensitive=True)
        self.suffixes = suffixes

    async def get_suggestion(self, value: str) -> str | None:
        return complete_path(value, self.suffixes)


def complete_path(value: str, suffixes: tuple[str, ...] = ()) -> str | None:
    """``value`` completed to the first matching entry (directories first, then files ending
    in one of ``suffixes``, or any file when none is given), in name order; None if none."""
    if not value:
        return None
    folder, _, prefix = value.rpartition(os.sep)
    base = Path(folder or ".").expanduser()
    if folder == "" and value.startswith(os.sep):
        base = Path(os.sep)
    try:
        entries = []
        with os.scandir(base) as listing:
            for index, entry in enumerate(listing):
                if index >= MAX_ENTRIES:
                    break
                hidden = entry.name.startswith(".") and not prefix.startswith(".")
                # A name holding control characters is never suggested: a suggestion is drawn
                # as is, and such a name is more likely a trap than the file meant.
                if entry.name.startswith(prefix) and not hidden and is_inert(entry.name):
                    entries.append(entry)
    except OSError:
        return None
    folders = sorted(e.name for e in entries if e.is_dir())
    files = sorted(
        e.name for e in entries if not e.is_dir() and (not suffixes or e.name.endswith(suffixes))
    )
    head = value[: len(value) - len(prefix)]
    for name in folders:
        if name != prefix:
            return f"{head}{name}{os.sep}"
    for name in files:
        if name != prefix:
            return f"{head}{name}"
    return None
