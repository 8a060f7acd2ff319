"""Streaming JSONL line reader: physical lines as bytes, memory flat whatever the file size.

The rules (``docs/data.md#reading-a-file``): lines are split on ``\\n`` only; one
``\\r`` right before it is dropped (CRLF files are fine; a lone ``\\r`` inside a line is JSON
whitespace, not a break); a final ``\\n`` does not make an empty last line; line numbers are
1-based physical lines. A line longer than the limit is yielded with ``data=None`` and read past
without being held whole in memory. Decoding is left to the caller: invalid UTF-8 is a finding on
one line, never a reason to stop reading.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple

MAX_LINE_BYTES = 16 * 2**20
# Large reads amortise the per-call cost; bytes.split does the line splitting in C.
BLOCK_BYTES = 1 << 20


class RawLine(NamedTuple):
    # 1-based physical line number.
    number: int
    # The line without its "\n" (and without the "\r" before it); None when over the limit.
    data: bytes | None
    # Length of the line in bytes, as ``data`` would have it (also for an over-long line).
    size: int
    # True when the line ended in "\r\n" (the "\r" is not part of ``data``).
    crlf: bool = False


class _Pending:
    """The unfinished line carried from one block to the next (bounded by the line limit)."""

    __slots__ = ("last_byte", "length", "limit", "overlong", "pieces")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pieces: list[bytes] = []
        self.length = 0
        self.overlong = False
        self.last_byte = -1

    def add(self, piece: bytes) -> None:
        if not piece:
            return
        self.length += len(piece)
        self.last_byte = piece[-1]
        if self.overlong:
            return
        self.pieces.append(piece)
        # One byte of slack: a "\r" that turns out to precede "\n" does not count.
        if self.length > self.limit + 1:
            self.overlong = True
            self.pieces.clear()

    def finish(self, number: int, end: bytes, *, newline: bool) -> RawLine:
        """The line made of the carried pieces plus ``end``; resets for the next line."""
        self.add(end)
        crlf = newline and self.last_byte == 0x0D
        size = self.length - 1 if crlf else self.length
        data: bytes | None = None
        if not self.overlong and size <= self.limit:
            data = self.pieces[0] if len(self.pieces) == 1 else b"".join(self.pieces)
            if crlf:
                data = data[:-1]
        self.pieces = []
        self.length = 0
        self.overlong = False
        self.last_byte = -1
        return RawLine(number, data, size, crlf)


def iter_lines(
    path: str | os.PathLike[str],
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[RawLine]:
    """Yield every physical line of ``path`` in order (see the module docstring for the rules).

    Raises ``OSError`` when the file cannot be opened or read; the caller decides what that means.
    """
    pending = _Pending(max_line_bytes)
    number = 0
    with open(path, "rb", buffering=0) as handle:  # noqa: PTH123 - raw unbuffered reads
        while block := handle.read(block_bytes):
            pieces = block.split(b"\n")
            last = pieces.pop()
            for piece in pieces:
                number += 1
                if pending.length:
                    yield pending.finish(number, piece, newline=True)
                else:
                    yield _whole_line(number, piece, max_line_bytes)
            pending.add(last)
    if pending.length:
        # The last line has no "\n": its trailing "\r", if any, is kept (it is not a CRLF).
        yield pending.finish(number + 1, b"", newline=False)


def _whole_line(number: int, piece: bytes, limit: int) -> RawLine:
    """A line that fits in one block: the fast path, no joining."""
    crlf = piece.endswith(b"\r")
    if crlf:
        piece = piece[:-1]
    size = len(piece)
    return RawLine(number, piece if size <= limit else None, size, crlf)
