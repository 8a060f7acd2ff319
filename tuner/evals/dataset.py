"""Eval items from a JSONL file of conversations (the training format).

Each valid conversation becomes one item: the prompt is every message before its last assistant
turn, the reference is that turn. Lines go through the same validator as ``tuner data validate``
(``tuner.datasets.rules``), whose normalised sample resolves the aliases (``interactions``,
``text``, ``available_tools``, a top-level ``system_prompt``); the prompt is then rebuilt from
that sample with only the fields the chat API accepts, because the API refuses unknown fields
(422 ``extra_forbidden``) and training-only ones such as ``weight`` have no meaning there.

Lines that are not valid conversations are skipped and reported (``EvalSet.skipped``), never
silently dropped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tuner.datasets.reader import iter_lines
from tuner.datasets.rules import check_record, oversized_finding
from tuner.datasets.samples import InstructSample, Message
from tuner.datasets.samples import ToolCall as SampleToolCall

JsonDict = dict[str, Any]
# The keys of a tool definition the chat API knows; anything else would be refused.
_FUNCTION_KEYS = ("name", "description", "parameters", "strict")


class EvalDataError(Exception):
    """The eval file cannot be used (unreadable, or not one usable conversation in it)."""


@dataclass(frozen=True, slots=True)
class ToolCallAnswer:
    """One function call of an answer or a reference; ``arguments`` is a JSON string."""

    name: str
    arguments: str

    def as_json(self) -> JsonDict:
        return {"name": self.name, "arguments": self.arguments}


@dataclass(frozen=True, slots=True)
class Answer:
    """What a model said, or what it should have said: text and/or tool calls."""

    text: str
    tool_calls: tuple[ToolCallAnswer, ...] = ()

    @property
    def is_tool_call(self) -> bool:
        return bool(self.tool_calls)

    def rendered(self) -> str:
        """One string for text metrics, embeddings and the judge: the text, then each call."""
        calls = [f"{call.name}({call.arguments})" for call in self.tool_calls]
        return "\n".join(part for part in [self.text, *calls] if part)


@dataclass(frozen=True, slots=True)
class EvalItem:
    index: int
    """0-based position among the file's usable conversations: stable for the same file."""
    line: int
    """1-based line of the eval file."""
    messages: tuple[JsonDict, ...]
    """The prompt, as chat-completions messages."""
    tools: tuple[JsonDict, ...]
    reference: Answer
    prompt_hash: str
    """SHA-256 of the prompt as sent; an answer recorded for another prompt is stale."""

    @property
    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message["role"] == "user":
                return content_text(message.get("content"))
        return ""


@dataclass(frozen=True, slots=True)
class SkippedLine:
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class EvalSet:
    path: Path
    data_hash: str
    """SHA-256 of the file's bytes: the identity of the eval set in the ledger."""
    items: tuple[EvalItem, ...]
    skipped: tuple[SkippedLine, ...] = field(default=())

    def limited(self, limit: int | None) -> EvalSet:
        """The first ``limit`` items (all when None); same path and hash, so the same run."""
        if limit is None:
            return self
        return EvalSet(self.path, self.data_hash, self.items[:limit], self.skipped)


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_eval_set(path: str | os.PathLike[str]) -> EvalSet:
    """Read every conversation of ``path`` as an eval item; raises ``EvalDataError``."""
    source = Path(path)
    try:
        data_hash = file_sha256(source)
        items, skipped = _read_items(source)
    except OSError as exc:
        raise EvalDataError(f"cannot read {source}: {exc.strerror or exc}") from None
    if not items:
        detail = f" ({len(skipped)} line(s) skipped, first: {skipped[0].reason})" if skipped else ""
        raise EvalDataError(f"{source} holds no usable conversation{detail}")
    return EvalSet(source, data_hash, tuple(items), tuple(skipped))


def _read_items(path: Path) -> tuple[list[EvalItem], list[SkippedLine]]:
    items: list[EvalItem] = []
    skipped: list[SkippedLine] = []
    for line, outcome in _samples(path):
        if isinstance(outcome, str):
            skipped.append(SkippedLine(line, outcome))
            continue
        item = item_from_sample(outcome, index=len(items), line=line)
        if item is None:
            skipped.append(SkippedLine(line, "no assistant turn to use as the reference"))
        else:
            items.append(item)
    return items, skipped


def _samples(path: Path) -> Iterator[tuple[int, InstructSample | str]]:
    """(line, sample) for valid conversations, (line, reason) for the others; blank lines skip."""
    name = os.fspath(path)
    for raw in iter_lines(path):
        if raw.data is None:
            yield raw.number, oversized_finding(name, raw).message
            continue
        if not raw.data.strip():
            continue
        check = check_record(raw.data, path=name, line=raw.number, expect="instruct")
        if isinstance(check.sample, InstructSample):
            yield raw.number, check.sample
            continue
        errors = [f for f in check.findings if f.severity == "error"]
        reason = f"{errors[0].code}: {errors[0].message}" if errors else "not a conversation"
        yield raw.number, reason


def item_from_sample(sample: InstructSample, *, index: int, line: int) -> EvalItem | None:
    """The eval item of one conversation; None when it has no assistant turn."""
    last = _last_assistant(sample.messages)
    if last is None:
        return None
    prompt: list[JsonDict] = []
    if sample.system_prompt is not None:
        prompt.append({"role": "system", "content": sample.system_prompt})
    prompt.extend(chat_message(m) for m in sample.messages[:last])
    if not any(m["role"] == "user" for m in prompt):
        return None
    reference = sample.messages[last]
    tools = tuple(clean_tool(tool) for tool in sample.tools)
    return EvalItem(
        index=index,
        line=line,
        messages=tuple(prompt),
        tools=tools,
        reference=Answer(reference.text, tuple(_answer_call(c) for c in reference.tool_calls)),
        prompt_hash=prompt_hash(prompt, tools),
    )


def _last_assistant(messages: Sequence[Message]) -> int | None:
    for position in range(len(messages) - 1, -1, -1):
        if messages[position].role == "assistant":
            return position
    return None


def _answer_call(call: SampleToolCall) -> ToolCallAnswer:
    return ToolCallAnswer(call.name, call.arguments)


def chat_message(message: Message) -> JsonDict:
    """A training message as the chat API takes it: no ``weight``, no unknown keys."""
    out: JsonDict = {"role": message.role}
    if isinstance(message.content, tuple):
        out["content"] = [{"type": "text", "text": text} for text in message.content]
    elif message.content is not None:
        out["content"] = message.content
    if message.tool_calls:
        out["content"] = out.get("content") or ""
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def clean_tool(tool: Mapping[str, Any]) -> JsonDict:
    """A tool definition with only the keys the chat API accepts."""
    function = tool.get("function")
    if not isinstance(function, Mapping):
        return {"type": "function", "function": {}}
    return {
        "type": "function",
        "function": {key: function[key] for key in _FUNCTION_KEYS if key in function},
    }


def content_text(content: object) -> str:
    """The text of a message's content (a string, or text chunks joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(chunk.get("text", "")) for chunk in content if isinstance(chunk, Mapping)
        )
    return ""


def prompt_hash(messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 of the prompt as sent (keys sorted), recorded with each answer."""
    payload = orjson.dumps(
        {"messages": list(messages), "tools": list(tools)}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(payload).hexdigest()
