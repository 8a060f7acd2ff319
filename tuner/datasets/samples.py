"""Normalised training samples: what a valid line means, independent of the aliases it used.

The validator turns each valid line into one of these; the token counter, deduper, splitter and
writers work on them. Aliases are resolved here once (``interactions`` -> ``messages``, ``text`` ->
``content`` on messages, ``available_tools`` -> ``tools``, a top-level ``system_prompt``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # a JSON string, as the platform wants it


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    # A string, or for user messages a tuple of text chunks (``[{"type": "text", "text": ...}]``).
    content: str | tuple[str, ...] | None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    # Assistant turns only: 1 trains on the turn, 0 does not; None means the default (1).
    weight: float | None = None

    @property
    def text(self) -> str:
        """The content as one string (chunks joined), '' when there is none."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(self.content)


@dataclass(frozen=True, slots=True)
class InstructSample:
    # System messages are set aside (as mistral-finetune does) into ``system_prompt``;
    # ``messages`` holds the user, assistant and tool turns in order.
    messages: tuple[Message, ...]
    tools: tuple[dict[str, Any], ...] = ()
    # A top-level ``system_prompt`` or the (single) system message's content.
    system_prompt: str | None = None
    kind: Literal["instruct"] = field(default="instruct", init=False)


@dataclass(frozen=True, slots=True)
class PretrainSample:
    text: str
    kind: Literal["pretrain"] = field(default="pretrain", init=False)


Sample = InstructSample | PretrainSample


def _normalise(text: str) -> str:
    """Whitespace-insensitive form of a text: runs of whitespace become one space, ends trimmed."""
    return " ".join(text.split())


def sample_key(sample: Sample) -> str:
    """A stable key under which two samples count as the same conversation.

    Used for duplicate warnings, train/eval overlap and ``tuner data dedupe``/``split``: the same
    conversation "after normalising whitespace" (``docs/data.md#warnings``). Roles, texts, tool
    calls and the system prompt take part; weights and unknown keys do not.
    """
    import hashlib

    if isinstance(sample, PretrainSample):
        parts = ["P", _normalise(sample.text)]
    else:
        parts = ["I", _normalise(sample.system_prompt or "")]
        for message in sample.messages:
            parts.append(message.role)
            parts.append(_normalise(message.text))
            for call in message.tool_calls:
                parts.append(f"{call.name}({_normalise(call.arguments)})")
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
