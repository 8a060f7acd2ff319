"""How values look in the dashboard: ages, sizes, token counts, costs, statuses.

Pure functions over plain values (no textual, no I/O), so they are tested on their own. Text
from data or a server (ids, names, suffixes, statuses, messages, content) goes through
:func:`plain` (or a helper that uses it) before it is shown: escape sequences are shown escaped,
never sent to the terminal. Widgets show it as ``rich.text.Text`` or with ``markup=False``, so
it is never read as markup either.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from tuner.textsafe import inert

# Colour of each job status: one style per state, consistent in every screen.
STATUS_STYLES: dict[str, str] = {
    "QUEUED": "dim",
    "STARTED": "cyan",
    "VALIDATING": "cyan",
    "VALIDATED": "bold cyan",
    "RUNNING": "bold yellow",
    "SUCCESS": "bold green",
    "FAILED": "bold red",
    "FAILED_VALIDATION": "bold red",
    "CANCELLATION_REQUESTED": "magenta",
    "CANCELLED": "dim magenta",
}
# Short labels where the full status would not fit in a table column.
STATUS_SHORT: dict[str, str] = {
    "FAILED_VALIDATION": "INVALID",
    "CANCELLATION_REQUESTED": "CANCELLING",
}

ROLE_STYLES: dict[str, str] = {
    "system": "magenta",
    "user": "cyan",
    "assistant": "green",
    "tool": "yellow",
}


SIMULATED_STYLE = "bold black on yellow"
"""How every sandbox mark is drawn (SIMULATED, SANDBOX): one look, wherever it appears."""


def plain(text: object, *, multiline: bool = False) -> str:
    """Untrusted text as the dashboard shows it: control characters shown escaped (one line,
    unless ``multiline``: conversation content and long messages keep their newlines)."""
    return inert(text, multiline=multiline)


def status_style(status: str) -> str:
    return STATUS_STYLES.get(status, "")


def status_label(status: str, *, short: bool = False) -> str:
    return plain(STATUS_SHORT.get(status, status) if short else status)


def age(seconds: float | None) -> str:
    """A compact age: ``42s``, ``5m``, ``3h``, ``12d``; ``-`` when unknown."""
    if seconds is None or math.isnan(seconds):
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def duration(seconds: float | None) -> str:
    """A duration for people: ``2 min``, ``1 h 05 min``, ``40 s``."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, _ = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def timestamp(unix: float | None, *, seconds: bool = False) -> str:
    """UTC ``YYYY-MM-DD HH:MM[:SS]``; ``-`` when unknown (UTC: the same on every machine)."""
    if unix is None:
        return "-"
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(unix, UTC).strftime(shape)


def count(value: int | None) -> str:
    """Token and line counts: ``950``, ``12.3k``, ``1.31M``; ``-`` when unknown."""
    if value is None:
        return "-"
    if value < 1000:
        return str(value)
    if value < 1_000_000:
        return f"{value / 1000:.1f}k"
    if value < 1_000_000_000:
        return f"{value / 1_000_000:.2f}M"
    return f"{value / 1_000_000_000:.2f}G"


def size(value: int | None) -> str:
    """Bytes: ``512 B``, ``12.0 KB``, ``3.4 MB``."""
    if value is None:
        return "-"
    if value < 1024:
        return f"{value} B"
    if value < 1024**2:
        return f"{value / 1024:.1f} KB"
    if value < 1024**3:
        return f"{value / 1024**2:.1f} MB"
    return f"{value / 1024**3:.1f} GB"


def cost(value: float | None, currency: str | None = None) -> str:
    if value is None:
        return "-"
    symbol = {"USD": "$", "EUR": "€"}.get((currency or "USD").upper())
    if symbol is None:
        return f"{value:.2f} {plain(currency)}"
    return f"{symbol}{value:.2f}"


def steps(done: int | None, total: int | None) -> str:
    """Progress in steps: ``40/100``; ``-`` when nothing is known."""
    if total is None and done is None:
        return "-"
    shown = "-" if done is None else str(done)
    return shown if total is None else f"{shown}/{total}"


def number(value: float | None, digits: int = 4) -> str:
    """A measured value: ``digits`` significant digits, big values with separators."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def score(value: float | None) -> str:
    """A metric in [0, 1] (or any float) with three decimals."""
    return "-" if value is None else f"{value:.3f}"


def short_id(job_id: str, length: int = 8) -> str:
    return plain(job_id[:length])


def truncate(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with an ellipsis; line breaks become spaces; control
    characters are shown escaped (:func:`plain`)."""
    flat = plain(" ".join(text.split()))
    if width <= 0:
        return ""
    return flat if len(flat) <= width else flat[: max(0, width - 1)] + "…"
