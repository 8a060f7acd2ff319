"""Normalised training samples: what a valid line means, independent of the aliases it used.

The validator turns each valid line into one of these; the token counter, deduper, splitter and
writers work on them. Aliases are resolved here once (``interactions`` -> ``messages``, ``text`` ->
``content`` on messages, ``available_tools`` -> ``tools``, a top-level ``system_prompt``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# "developer" is OpenAI's (its data keeps system and developer messages in place, in order).
Role = Literal["system", "developer", "user", "assistant", "tool"]


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
    # OpenAI's optional participant name (it is part of what the model reads, so it is counted).
    name: str | None = None

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


@dataclass(frozen=True, slots=True)
class ClassifierSample(PretrainSample):
    """A classifier line: the text to classify (a chat's contents joined) and its labels.

    A :class:`PretrainSample` to the token counter and the duplicate key (the text is what the
    model reads); ``labels`` maps each target to its label(s), ``multi`` names the targets
    written as a list (multi-label).
    """

    labels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    multi: frozenset[str] = frozenset()
    kind: Literal["classifier"] = field(default="classifier", init=False)  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class PreferenceSample(InstructSample):
    """An OpenAI DPO line: the prompt (``messages``, ``tools``) and the two answers to compare.

    An :class:`InstructSample` to the code that only reads the prompt; ``preferred`` and
    ``non_preferred`` each hold the assistant message(s) of one answer.
    """

    preferred: tuple[Message, ...] = ()
    non_preferred: tuple[Message, ...] = ()
    kind: Literal["preference"] = field(default="preference", init=False)  # type: ignore[assignment]


Sample = InstructSample | PretrainSample


def _normalise(text: str) -> str:
    """Whitespace-insensitive form of a text: runs of whitespace become one space, ends trimmed."""
    return " ".join(text.split())


def sample_key(sample: Sample) -> str:
    """A stable key under which two samples count as the same conversation.

    Used for duplicate warnings, train/eval overlap and ``tuner data dedupe``/``split``: the same
    conversation "after normalising whitespace" (``docs/data.md#warnings``). Roles, texts, tool
    calls, the system prompt and the tool definitions take part (the same turns offered different
    tools teach a different choice, so they are not duplicates); weights and unknown keys do not.
    """
    import hashlib

    if isinstance(sample, PretrainSample):
        parts = ["P", _normalise(sample.text)]
    else:
        parts = ["I", _normalise(sample.system_prompt or "")]
        parts.extend(_message_parts(sample.messages))
        if sample.tools:
            parts.append("T" + tools_key(sample.tools))
        if isinstance(sample, PreferenceSample):
            # The same prompt with other answers is another preference pair, not a duplicate.
            for label, answer in (("+", sample.preferred), ("-", sample.non_preferred)):
                parts.append(label)
                parts.extend(_message_parts(answer))
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def _message_parts(messages: tuple[Message, ...]) -> list[str]:
    parts: list[str] = []
    for message in messages:
        parts.append(message.role)
        parts.append(_normalise(message.text))
        for call in message.tool_calls:
            parts.append(f"{call.name}({_normalise(call.arguments)})")
    return parts


def tools_key(tools: tuple[dict[str, Any], ...]) -> str:
    """The tool definitions in a canonical form: key order and JSON whitespace do not matter."""
    import orjson

    return orjson.dumps(list(tools), option=orjson.OPT_SORT_KEYS).decode()
