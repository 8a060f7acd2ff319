"""Untrusted text made inert for terminals: the one function every renderer uses.

Training data, ids, names and server messages reach a terminal (the CLI, the dashboard) and can
carry escape sequences: ``ESC [2J`` clears the screen, an OSC 8 sequence turns text into a
hyperlink to anywhere, C1 controls (``\\u009b`` is a one-character CSI) do the same on terminals
that honour them, and BEL, backspace or CR overwrite what was shown. :func:`inert` shows each such
character escaped instead (``\\x1b``, ``\\u009b``, ``\\r``), so the text reads as what it is and
the terminal never acts on it. Bidirectional-override characters are escaped too, so a name
cannot display reversed.

This module imports neither textual nor typer nor rich: the core, the CLI and the TUI share it.
Rich markup (``[link=…]``) is a separate injection, handled where rich prints (``markup=False``
or ``rich.markup.escape``).
"""

from __future__ import annotations

# C0 controls, DEL and the C1 controls, with the short forms people know for three of them.
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# Bidirectional embeddings, overrides and isolates; line and paragraph separators.
_FORMAT = (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029)


def _escape(code: int) -> str:
    char = chr(code)
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


_TABLE: dict[int, str] = {
    code: _escape(code) for code in (*range(0x20), 0x7F, *range(0x80, 0xA0), *_FORMAT)
}
# Multi-line text (conversation content, long messages) keeps its newlines and tabs.
_TABLE_MULTILINE: dict[int, str] = {
    code: text for code, text in _TABLE.items() if chr(code) not in ("\n", "\t")
}


def inert(text: object, *, multiline: bool = False) -> str:
    """``text`` (``str()`` of it) with every terminal control character shown escaped.

    Ids, names, statuses and one-line messages use the default: no newline survives, so one
    value stays on one line. ``multiline=True`` keeps newlines and tabs, for content a renderer
    shows on several lines; everything else is still escaped.
    """
    shown = text if isinstance(text, str) else str(text)
    return shown.translate(_TABLE_MULTILINE if multiline else _TABLE)


# One visible character per control character: the C0 "control pictures" (U+2400 + code, ␛ for
# ESC), ␡ for DEL, and U+FFFD for the C1 and bidirectional characters.
_TABLE_IN_PLACE: dict[int, str] = {
    code: chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7F else "\ufffd"
    for code in _TABLE
}


def inert_in_place(text: str) -> str:
    """``text`` with each terminal control character replaced by one visible character.

    For text being edited (an input field): the characters keep their positions, so a cursor
    and a selection still line up with the value, which :func:`inert`'s longer escapes would
    shift. Everywhere else use :func:`inert`, which says exactly which character it was.
    """
    return text.translate(_TABLE_IN_PLACE)


# What JSON encoders leave raw inside strings: DEL, the C1 controls, bidi and separators (C0
# controls are always escaped by JSON itself).
_TABLE_JSON: dict[int, str] = {code: f"\\u{code:04x}" for code in _TABLE if code >= 0x7F}


def json_inert(document: str) -> str:
    """A JSON document with the terminal controls JSON leaves raw written as ``\\u`` escapes.

    The document means exactly the same (these characters occur only inside strings, where
    ``\\u009b`` and the raw character are the same value), but printed on a terminal it can
    neither drive it (C1 CSI) nor display reversed (bidi overrides).
    """
    return document.translate(_TABLE_JSON)


def is_inert(text: str) -> bool:
    """True when :func:`inert` would leave ``text`` unchanged (no control character at all)."""
    return inert(text) == text
