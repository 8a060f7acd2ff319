"""One conversation of a training file, readable: roles coloured, trained turns marked, tool
calls as indented JSON, and the part a finding points at highlighted.

Everything here is the file's own text: shown through ``fmt.plain`` (control characters
escaped; content keeps its newlines) and as ``Text``, never as markup, titles included."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tuner.datasets.findings import Finding
from tuner.tui import format as fmt
from tuner.tui.views.conversation import LineContent, Pointer, pointer_of


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for chunk in content:
            if isinstance(chunk, dict) and chunk.get("type") == "text":
                parts.append(str(chunk.get("text", "")))
            else:
                parts.append(json.dumps(chunk, ensure_ascii=False))
        return "\n".join(parts)
    return json.dumps(content, ensure_ascii=False)


def _pretty_arguments(arguments: Any) -> str:
    """Tool-call arguments indented: a JSON string is parsed first, when it parses."""
    if isinstance(arguments, str):
        try:
            return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
        except ValueError:
            return arguments
    return json.dumps(arguments, indent=2, ensure_ascii=False)


def tool_calls_text(calls: Any, highlight: int | None = None) -> Text:
    text = Text()
    if not isinstance(calls, list):
        shown = fmt.plain(f"tool_calls: {json.dumps(calls, ensure_ascii=False)}")
        text.append(shown, style="bold red")
        return text
    for number, call in enumerate(calls, start=1):
        style = "on dark_red" if highlight == number else ""
        if not isinstance(call, dict):
            text.append(f"call {number}: {fmt.plain(json.dumps(call))}\n", style=style or "red")
            continue
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        name = function.get("name", "?") if isinstance(function, dict) else "?"
        text.append(f"→ call {number} ", style="bold yellow")
        text.append(fmt.plain(name), style=f"bold {style}".strip())
        text.append(f"  id={fmt.plain(call.get('id'))}\n", style="dim")
        arguments = function.get("arguments") if isinstance(function, dict) else None
        for line in _pretty_arguments(arguments).splitlines():
            text.append(f"    {fmt.plain(line)}\n", style=style)
    return text


def message_body(message: Any, pointer: Pointer, number: int) -> RenderableType:
    if not isinstance(message, dict):
        return Text(fmt.plain(json.dumps(message, ensure_ascii=False)), style="bold red")
    parts: list[RenderableType] = []
    content = message.get("content", message.get("text"))
    shown = _content_text(content)
    if shown:
        parts.append(Text(fmt.plain(shown, multiline=True)))
    if message.get("tool_calls") is not None:
        highlight = pointer.tool_call if pointer.message == number else None
        parts.append(tool_calls_text(message["tool_calls"], highlight))
    if message.get("role") == "tool":
        extra = [f"{k}={message[k]}" for k in ("tool_call_id", "name") if k in message]
        if extra:
            parts.append(Text(fmt.plain(" ".join(extra)), style="dim"))
    if not parts:
        parts.append(Text("(no content)", style="dim italic"))
    return Group(*parts)


def weight_label(message: Any) -> str:
    """Whether the platform trains on this turn: assistant turns unless ``weight`` is 0."""
    if not isinstance(message, dict) or message.get("role") != "assistant":
        return ""
    weight = message.get("weight", 1)
    if weight == 0:
        return "not trained (weight 0)"
    if weight == 1:
        return "trained"
    return f"weight {weight!r} (invalid)"


def raw_line(content: LineContent, column: int | None) -> Text:
    raw = content.raw
    if column is None or not 0 < column <= len(raw):
        return Text(fmt.plain(raw))
    # Escaping changes lengths: the pointed-at character is escaped on its own, then marked.
    text = Text(fmt.plain(raw[: column - 1]))
    text.append(fmt.plain(raw[column - 1]), style="bold reverse red")
    text.append(fmt.plain(raw[column:]))
    return text


class ConversationView(VerticalScroll):
    """Messages as bordered panels; ``offending`` ones get a red border."""

    def __init__(
        self, content: LineContent, findings: Sequence[Finding], *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.content = content
        self.findings = list(findings)
        self.pointers = [pointer_of(f.message) for f in self.findings]

    @property
    def offending_messages(self) -> set[int]:
        return {p.message for p in self.pointers if p.message is not None}

    def compose(self) -> ComposeResult:
        content = self.content
        for finding in self.findings:
            style = "bold red" if finding.is_error else "bold yellow"
            line = Text(f"{finding.severity.value} {finding.code}: ", style=style)
            line.append(fmt.plain(finding.message), style="")
            if finding.hint:
                line.append(f"\nhint: {fmt.plain(finding.hint)}", style="dim")
            yield Static(line, classes="finding")
        if not content.parsed:
            column = next((p.column for p in self.pointers if p.column is not None), None)
            panel = Static(raw_line(content, column), classes="message raw offending")
            panel.border_title = f"line {content.number} (not JSON)"
            yield panel
            return
        value = content.value
        if isinstance(value, dict) and not content.messages:
            panel = Static(
                Text(fmt.plain(json.dumps(value, indent=2, ensure_ascii=False), multiline=True)),
                classes="message raw",
            )
            panel.border_title = f"line {content.number}"
            yield panel
            return
        if content.tools:
            names = [
                str((t.get("function") or {}).get("name", "?")) if isinstance(t, dict) else "?"
                for t in content.tools
            ]
            shown = fmt.plain("tools: " + ", ".join(names))
            yield Static(Text(shown, style="dim"), classes="tools")
        offending = self.offending_messages
        pointer_by_message = {p.message: p for p in self.pointers if p.message is not None}
        for number, message in enumerate(content.messages, start=1):
            role = message.get("role") if isinstance(message, dict) else None
            pointer = pointer_by_message.get(number, Pointer())
            classes = f"message role-{role if role in fmt.ROLE_STYLES else 'other'}"
            if number in offending:
                classes += " offending"
            panel = Static(message_body(message, pointer, number), classes=classes)
            panel.border_title = Text(
                f"{number} {fmt.plain(role) if isinstance(role, str) else '?'}"
            )
            subtitle = weight_label(message)
            if number in offending:
                subtitle = (subtitle + " · " if subtitle else "") + "◀ finding"
            panel.border_subtitle = subtitle
            yield panel
