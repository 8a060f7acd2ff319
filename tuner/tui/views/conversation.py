"""One line of a JSONL data file, and the place in it a validation finding points to."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_MESSAGE_NUMBER = re.compile(r"\bmessage (\d+)\b")
_TOOL_CALL_NUMBER = re.compile(r"\btool call (\d+)\b")
_COLUMN = re.compile(r"\bcolumn (\d+)\b")


@dataclass(frozen=True, slots=True)
class Pointer:
    """Where in a line a finding points: a message (1-based), a tool call, a column."""

    message: int | None = None
    tool_call: int | None = None
    column: int | None = None


def pointer_of(message: str) -> Pointer:
    """Read the place a finding's message names (``message 3``, ``tool call 1``,
    ``column 132``); the validator's messages name them this way."""

    def first(pattern: re.Pattern[str]) -> int | None:
        found = pattern.search(message)
        return int(found.group(1)) if found else None

    return Pointer(first(_MESSAGE_NUMBER), first(_TOOL_CALL_NUMBER), first(_COLUMN))


@dataclass(frozen=True, slots=True)
class LineContent:
    """One line of a JSONL file: its parsed value when it is JSON, else the raw text."""

    number: int
    raw: str
    value: Any = None
    parsed: bool = False
    messages: list[Any] = field(default_factory=list)
    tools: list[Any] = field(default_factory=list)


def read_line(path: str, number: int, *, limit: int = 1 << 20) -> LineContent:
    """Line ``number`` (1-based) of ``path``; at most ``limit`` bytes of it are kept."""
    import orjson

    with open(path, "rb") as handle:  # noqa: PTH123 - a plain binary read, line by line
        for index, data in enumerate(handle, start=1):
            if index == number:
                data = data.rstrip(b"\r\n")[:limit]
                raw = data.decode("utf-8", "replace")
                try:
                    value = orjson.loads(data)
                except orjson.JSONDecodeError:
                    return LineContent(number, raw)
                messages: list[Any] = []
                tools: list[Any] = []
                if isinstance(value, dict):
                    found = value.get("messages", value.get("interactions"))
                    messages = found if isinstance(found, list) else []
                    listed = value.get("tools", value.get("available_tools"))
                    tools = listed if isinstance(listed, list) else []
                return LineContent(number, raw, value, True, messages, tools)
    raise LookupError(f"{path} has no line {number}")
