"""``tuner data convert``: conversations in the shapes users bring -> Mistral instruct JSONL.

Shapes (``source_format``): ``mistral``/``openai`` (``messages``), ``sharegpt``
(``conversations: [{from, value}]``, LLaMA-Factory ``function_call``/``observation`` turns),
``alpaca`` (``instruction``, ``input``, ``output``, ``history``), ``prompt-completion``, or
``auto`` (decided per record from its keys). A :class:`~tuner.datasets.mapping.Mapping` says where
things are when the names differ. Every output line is ``{"messages": [...], "tools"?: [...]}``
with the system prompt as the first ``system`` message.

:func:`convert_record` is pure and raises :class:`RecordError`, so engines such as Ray Data or
Spark can map it over shards; :func:`convert` drives it over files and writes one JSONL
atomically. A record that cannot be converted is never dropped silently: it becomes a
:class:`~tuner.datasets.findings.Finding` in :attr:`ConvertResult.skipped`.

Finding codes (stable; part of the public interface):

- ``convert_bad_json``: a line, or a cell that should hold JSON, is not valid JSON.
- ``convert_bad_encoding``: a line is not valid UTF-8, or text cannot be written as UTF-8.
- ``convert_not_object``: a line or array element is not a JSON object.
- ``convert_bad_csv_row``: a CSV row with more or fewer fields than the header.
- ``convert_unknown_shape`` / ``convert_ambiguous_shape``: ``auto`` found no shape / several.
- ``convert_missing_column``: the chosen format's column is not in the record.
- ``convert_bad_type``: a value of the wrong type (turns not a list, content not text, ...).
- ``convert_missing_key``: a turn without a role, or without content.
- ``convert_unknown_role``: a role name that no default or ``[roles]`` entry maps.
- ``convert_unsupported_content``: non-text content chunks (images are not supported yet).
- ``convert_bad_tool_call`` / ``convert_bad_tools``: a malformed call or tools list.
- ``convert_orphan_tool_result``: a tool result with no call to answer.
- ``convert_unanswered_tool_call``: calls not all answered before the conversation goes on.
- ``convert_two_system_prompts``: a system column and a different system turn.
- ``convert_empty``: nothing to train on (no turns, empty prompt, output or completion).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import orjson

from tuner.datasets.findings import Category, Finding, Severity, excerpt
from tuner.datasets.formats import Source, UnreadableRow, UnreadableSourceError, open_source
from tuner.datasets.mapping import (
    DEFAULT_MAPPING,
    SOURCE_FORMATS,
    ColumnField,
    Mapping,
    ResolvedMapping,
)
from tuner.fsutil import atomic_writer, prepare_outputs
from tuner.progress import NULL_PROGRESS, Progress

CALL_ID_PATTERN = re.compile(r"^[a-zA-Z0-9]{9}$")
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ID_LENGTH = 9
# Progress is reported every this many rows: a per-row callback would dominate a fast loop.
_PROGRESS_EVERY = 256

Shape = Literal["messages", "alpaca", "prompt-completion"]
OutRole = Literal["system", "user", "assistant", "tool"]


class ConvertInputError(UnreadableSourceError):
    """A source that cannot be read at all (missing, unknown kind, corrupt); one-line message."""


class RecordError(Exception):
    """Why one record cannot be converted; becomes a skip finding with ``code`` and ``category``."""

    def __init__(
        self,
        reason: str,
        *,
        code: str = "convert_bad_type",
        category: Category = Category.SCHEMA,
        hint: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.category = category
        self.hint = hint


@dataclass(frozen=True, slots=True)
class SourceCounts:
    path: str
    read: int
    converted: int
    skipped: int


@dataclass(frozen=True, slots=True)
class ConvertResult:
    out: Path
    sources: list[SourceCounts]
    # One finding per record that was not converted, in source order.
    skipped: list[Finding]
    # How many records were skipped for each finding code.
    skip_reasons: dict[str, int]
    # Temporary files of killed runs removed from the output folder before writing.
    temps_removed: list[str] = field(default_factory=list)

    @property
    def read(self) -> int:
        return sum(source.read for source in self.sources)

    @property
    def converted(self) -> int:
        return sum(source.converted for source in self.sources)

    @property
    def skipped_count(self) -> int:
        return sum(source.skipped for source in self.sources)


# --- the engine over files ---


def convert(
    sources: Sequence[str | Path],
    out: str | Path,
    *,
    source_format: str = "auto",
    mapping: Mapping | None = None,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
) -> ConvertResult:
    """Convert ``sources`` (shards, in order) into one Mistral instruct JSONL file at ``out``.

    ``out`` must not exist and must not be a source unless ``force``
    (:func:`tuner.fsutil.prepare_outputs`). Every source is opened before anything is written,
    so an unreadable one raises :class:`ConvertInputError` and leaves ``out`` untouched (as does
    any failure midway); when no record converts, ``out`` is not written either.
    """
    chosen = mapping if mapping is not None else DEFAULT_MAPPING
    resolved = resolve_format(source_format, chosen)
    plan = chosen.resolve(resolved)
    removed = prepare_outputs([out], sources, force=force)
    opened = [_open(path, chosen.split) for path in sources]
    counts: list[SourceCounts] = []
    skipped: list[Finding] = []
    index = 0
    with atomic_writer(out, keep_empty=False) as handle:
        for source in opened:
            progress.start(f"Converting {source.path.name}", source.total, "rows")
            try:
                tally = _convert_source(source, handle, plan, index, skipped, progress)
            finally:
                progress.finish()
            counts.append(tally)
            index += tally.read
    reasons = Counter(finding.code for finding in skipped)
    return ConvertResult(Path(out), counts, skipped, dict(reasons), [str(p) for p in removed])


def resolve_format(source_format: str, mapping: Mapping) -> str:
    """An explicit ``source_format`` wins over the mapping's ``format``; ``auto`` defers to it."""
    if source_format not in SOURCE_FORMATS:
        raise ValueError(
            f"unknown source format {source_format!r} (expected {'|'.join(SOURCE_FORMATS)})"
        )
    return mapping.format if source_format == "auto" else source_format


def _open(path: str | Path, split: str) -> Source:
    try:
        return open_source(path, split=split)
    except UnreadableSourceError as exc:
        raise ConvertInputError(str(exc)) from exc


def _convert_source(
    source: Source,
    handle: BinaryIO,
    plan: ResolvedMapping,
    first_index: int,
    skipped: list[Finding],
    progress: Progress,
) -> SourceCounts:
    read = converted = 0
    path = str(source.path)
    for row, record in _rows(source):
        read += 1
        line = _convert_row(record, plan, first_index + read - 1)
        if isinstance(line, bytes):
            handle.write(line)
            converted += 1
        else:
            skipped.append(_finding(path, row, line))
        if read % _PROGRESS_EVERY == 0:
            progress.advance(_PROGRESS_EVERY)
    progress.advance(read % _PROGRESS_EVERY)
    return SourceCounts(path, read, converted, read - converted)


def _rows(source: Source) -> Iterator[tuple[int | None, dict[str, Any] | UnreadableRow]]:
    try:
        yield from source.rows()
    except UnreadableSourceError as exc:
        raise ConvertInputError(str(exc)) from exc


def _convert_row(
    record: dict[str, Any] | UnreadableRow, plan: ResolvedMapping, index: int
) -> bytes | UnreadableRow:
    """The output line for one row, or why there is none."""
    if isinstance(record, UnreadableRow):
        return record
    try:
        converted = _convert_planned(record, plan, index)
    except RecordError as exc:
        return UnreadableRow(exc.category, exc.code, exc.reason, exc.hint)
    try:
        return orjson.dumps(converted) + b"\n"
    except orjson.JSONEncodeError as exc:
        # Lone surrogates and values JSON cannot hold (e.g. decimals from Parquet).
        return UnreadableRow(
            Category.ENCODING, "convert_bad_encoding", f"cannot be written as JSON: {exc}"
        )


def _finding(path: str, row: int | None, problem: UnreadableRow) -> Finding:
    return Finding(
        path, row, Severity.ERROR, problem.category, problem.code, problem.message, problem.hint
    )


# --- one record ---


def convert_record(
    record: dict[str, Any],
    *,
    source_format: str = "auto",
    mapping: Mapping | None = None,
    index: int = 0,
) -> dict[str, Any]:
    """One source record as a Mistral instruct sample ``{"messages": [...], "tools"?: [...]}``.

    ``index`` (the record's position in the whole input) seeds the ids of tool calls the
    conversion invents, so the output is deterministic. Raises :class:`RecordError`.
    """
    chosen = mapping if mapping is not None else DEFAULT_MAPPING
    return _convert_planned(record, chosen.resolve(resolve_format(source_format, chosen)), index)


def _convert_planned(record: dict[str, Any], plan: ResolvedMapping, index: int) -> dict[str, Any]:
    shape = _detect_shape(record, plan) if plan.format == "auto" else _shape_of(plan.format)
    if shape == "messages":
        turns = _turns_from_list(record, plan)
    elif shape == "alpaca":
        turns = _alpaca_turns(record, plan)
    else:
        turns = _prompt_completion_turns(record, plan)
    system = _system_prompt(record, plan)
    tools = _tools(record, plan)
    sample: dict[str, Any] = {"messages": _assemble(turns, system, index)}
    if tools:
        sample["tools"] = tools
    return sample


def _shape_of(source_format: str) -> Shape:
    if source_format == "alpaca":
        return "alpaca"
    if source_format == "prompt-completion":
        return "prompt-completion"
    return "messages"


def _detect_shape(record: dict[str, Any], plan: ResolvedMapping) -> Shape:
    """The shape of a record from its keys (``auto``); raises when none or several fit."""
    found: list[str] = [key for key in plan.columns["messages"] if _has(record, key)]
    shapes: list[Shape] = ["messages"] if found else []
    if _has_all(record, plan, "instruction", "output"):
        shapes.append("alpaca")
        found += ["+".join(_present(record, plan, "instruction", "output"))]
    if _has_all(record, plan, "prompt", "completion"):
        shapes.append("prompt-completion")
        found += ["+".join(_present(record, plan, "prompt", "completion"))]
    if len(found) == 1:
        return shapes[0]
    if not found:
        keys = ", ".join(sorted(record)) or "none"
        raise RecordError(
            f"no known conversation shape in a record with keys: {excerpt(keys)}",
            code="convert_unknown_shape",
            hint=_unknown_shape_hint(record),
        )
    raise RecordError(
        f"the record fits several shapes ({', '.join(found)})",
        code="convert_ambiguous_shape",
        hint="pass --from, or set format (and columns) in a mapping file",
    )


def _unknown_shape_hint(record: dict[str, Any]) -> str:
    if _has(record, "text"):
        return "a record with only 'text' is pretraining data, not a conversation"
    if _has(record, "chosen") or _has(record, "rejected"):
        return "preference pairs (chosen/rejected) are not supported"
    return "name the record's columns in a mapping file ([columns])"


def _has(record: dict[str, Any], key: str) -> bool:
    # Columnar sources give every row every column, with None where a row has no value.
    return record.get(key) is not None


def _present(record: dict[str, Any], plan: ResolvedMapping, *fields: ColumnField) -> list[str]:
    names = []
    for name in fields:
        key = _first_key(record, plan.columns[name])
        if key is not None:
            names.append(key)
    return names


def _has_all(record: dict[str, Any], plan: ResolvedMapping, *fields: ColumnField) -> bool:
    return len(_present(record, plan, *fields)) == len(fields)


def _first_key(record: dict[str, Any], keys: Sequence[str]) -> str | None:
    # A plain loop: this runs several times per turn.
    for key in keys:
        if record.get(key) is not None:
            return key
    return None


# --- intermediate turns ---


@dataclass(frozen=True, slots=True)
class _Call:
    name: str
    arguments: str
    source_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Turn:
    role: OutRole
    content: str | None
    calls: tuple[_Call, ...] = ()
    # Tool results: the call id they answer in the source, and the function's name (legacy).
    answers: str | None = None
    name: str | None = None
    weight: Any = None


def _turns_from_list(record: dict[str, Any], plan: ResolvedMapping) -> list[_Turn]:
    columns = plan.columns["messages"]
    key = _first_key(record, columns)
    if key is None:
        raise RecordError(
            f"no {' or '.join(repr(c) for c in columns)} column in the record",
            code="convert_missing_column",
            hint="name the turns column in a mapping file ([columns] messages = ...)",
        )
    raw_turns = _json_value(record[key], key)
    if not isinstance(raw_turns, list):
        raise RecordError(f"{key!r} is not a list of turns: {excerpt(raw_turns)}")
    return [_turn(raw, number, plan) for number, raw in enumerate(raw_turns, start=1)]


def _turn(raw: object, number: int, plan: ResolvedMapping) -> _Turn:
    if not isinstance(raw, dict):
        raise RecordError(f"turn {number} is not an object: {excerpt(raw)}")
    role_key = _first_key(raw, plan.role_keys)
    if role_key is None:
        keys = " or ".join(repr(k) for k in plan.role_keys)
        raise RecordError(
            f"turn {number} has no role ({keys})",
            code="convert_missing_key",
            hint="name the role key in a mapping file ([keys] role = ...)",
        )
    role = plan.role_for(str(raw[role_key]))
    if role is None:
        name = str(raw[role_key])
        raise RecordError(
            f"unknown role {excerpt(name)!r} in turn {number}",
            code="convert_unknown_role",
            category=Category.ROLE,
            hint=f'map it in a mapping file: [roles] "{excerpt(name, 40)}" = "user" (or '
            "assistant, system, tool, tool_call)",
        )
    content_key = _first_key(raw, plan.content_keys)
    content = raw[content_key] if content_key is not None else None
    weight = raw.get("weight")
    if role == "tool_call":
        return _Turn("assistant", None, tuple(_calls_from_payload(content, number)), weight=weight)
    if role == "assistant":
        return _assistant_turn(raw, content, number, weight)
    if role == "tool":
        return _Turn(
            "tool",
            _tool_text(content, number),
            answers=_optional_str(raw.get("tool_call_id")),
            name=_optional_str(raw.get("name")),
            weight=weight,
        )
    return _Turn(role, _required_text(content, role, number, plan), weight=weight)


def _assistant_turn(raw: dict[str, Any], content: object, number: int, weight: Any) -> _Turn:
    calls: list[_Call] = []
    if raw.get("tool_calls") is not None:
        calls += _calls_from_openai(raw["tool_calls"], number)
    if raw.get("function_call") is not None:
        # Legacy OpenAI: one call without an id; the id is invented when assembling.
        calls += _calls_from_payload(raw["function_call"], number)
    text = _text(content, f"turn {number}")
    if text is None and not calls:
        raise RecordError(f"assistant turn {number} has no content", code="convert_missing_key")
    return _Turn("assistant", text, tuple(calls), weight=weight)


def _required_text(content: object, role: str, number: int, plan: ResolvedMapping) -> str:
    text = _text(content, f"turn {number}")
    if text is None:
        keys = " or ".join(repr(k) for k in plan.content_keys)
        raise RecordError(
            f"{role} turn {number} has no content ({keys})",
            code="convert_missing_key",
            hint="name the content key in a mapping file ([keys] content = ...)",
        )
    return text


def _text(value: object, where: str) -> str | None:
    """Text content: a string, a list of text chunks (joined), a number; None when absent."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise RecordError(f"the content of {where} is a boolean, not text")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "".join(_chunk_text(chunk, where) for chunk in value)
    raise RecordError(f"the content of {where} is not text: {excerpt(value)}")


def _chunk_text(chunk: object, where: str) -> str:
    if isinstance(chunk, str):
        return chunk
    if isinstance(chunk, dict) and chunk.get("type", "text") == "text":
        text = chunk.get("text")
        if isinstance(text, str):
            return text
    if isinstance(chunk, dict) and chunk.get("type") not in (None, "text"):
        raise RecordError(
            f"{where} holds a {excerpt(chunk.get('type'), 30)!r} chunk",
            code="convert_unsupported_content",
            hint="only text content is supported (vision content is not supported yet)",
        )
    raise RecordError(f"a content chunk of {where} is not text: {excerpt(chunk)}")


def _tool_text(content: object, number: int) -> str:
    # Tool results are often structured; the platform wants them as a string.
    if isinstance(content, dict | bool) or (
        isinstance(content, list) and not all(_is_text_chunk(chunk) for chunk in content)
    ):
        return orjson.dumps(content).decode()
    text = _text(content, f"turn {number}")
    if text is None:
        raise RecordError(f"tool turn {number} has no content", code="convert_missing_key")
    return text


def _is_text_chunk(chunk: object) -> bool:
    return isinstance(chunk, str) or (
        isinstance(chunk, dict)
        and chunk.get("type") == "text"
        and isinstance(chunk.get("text"), str)
    )


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# --- tool calls ---


def _calls_from_openai(value: object, number: int) -> list[_Call]:
    """OpenAI/Mistral ``tool_calls``: ``[{"id", "type", "function": {"name", "arguments"}}]``."""
    raw = _json_value(value, f"tool_calls of turn {number}")
    if not isinstance(raw, list):
        raise _bad_call(number, raw)
    calls = []
    for item in raw:
        if not isinstance(item, dict):
            raise _bad_call(number, item)
        function = item.get("function", item)
        call = _call(function, number)
        calls.append(_Call(call.name, call.arguments, _optional_str(item.get("id"))))
    return calls


def _calls_from_payload(value: object, number: int) -> list[_Call]:
    """A call payload ``{"name", "arguments"}`` (or a list of them, for parallel calls)."""
    raw = _json_value(value, f"the tool call of turn {number}")
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise _bad_call(number, raw)
    return [_call(item, number) for item in items]


def _call(function: object, number: int) -> _Call:
    if not isinstance(function, dict):
        raise _bad_call(number, function)
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise _bad_call(number, function)
    arguments = function.get("arguments")
    if arguments is None:
        # Some exports (glaive-style) name them "parameters".
        arguments = function.get("parameters")
    return _Call(name, _arguments(arguments, number), _optional_str(function.get("id")))


def _arguments(value: object, number: int) -> str:
    """Arguments as the JSON string the platform wants (objects are serialised)."""
    if value is None:
        return "{}"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    raise RecordError(
        f"the arguments of the tool call in turn {number} are not an object: {excerpt(value)}",
        code="convert_bad_tool_call",
        category=Category.TOOL,
    )


def _bad_call(number: int, value: object) -> RecordError:
    return RecordError(
        f'turn {number} holds a malformed tool call (want {{"name", "arguments"}}): '
        f"{excerpt(value)}",
        code="convert_bad_tool_call",
        category=Category.TOOL,
    )


def call_id(index: int, position: int) -> str:
    """A deterministic valid call id (9 chars of [a-zA-Z0-9]) for call ``position`` of a record."""
    digest = hashlib.blake2b(f"{index}:{position}".encode(), digest_size=_ID_LENGTH).digest()
    # The slight modulo bias does not matter: ids only need to differ within one conversation.
    return "".join(_ID_ALPHABET[byte % len(_ID_ALPHABET)] for byte in digest)


# --- system prompt and tools ---


def _system_prompt(record: dict[str, Any], plan: ResolvedMapping) -> str | None:
    key = _first_key(record, plan.columns["system"])
    if key is None:
        return None
    text = _text(record[key], f"the {key!r} column")
    # An empty cell means "no system prompt" (CSV and Parquet give every row every column).
    return text if text and text.strip() else None


def _tools(record: dict[str, Any], plan: ResolvedMapping) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    for key in plan.columns["tools"]:
        if _has(record, key):
            tools += _tool_list(record[key], key)
    return tools


def _tool_list(value: object, key: str) -> list[dict[str, Any]]:
    if isinstance(value, str) and not value.strip():
        return []
    raw = _json_value(value, key)
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise _bad_tools(key, raw)
    return [_tool(item, key) for item in items]


def _tool(item: object, key: str) -> dict[str, Any]:
    """A tools entry; a bare function schema (legacy ``functions``, LLaMA-Factory) is wrapped."""
    if isinstance(item, str):
        item = _json_value(item, key)
    if not isinstance(item, dict):
        raise _bad_tools(key, item)
    if isinstance(item.get("function"), dict):
        return {"type": "function", **item}
    if isinstance(item.get("name"), str):
        return {"type": "function", "function": item}
    raise _bad_tools(key, item)


def _bad_tools(key: str, value: object) -> RecordError:
    return RecordError(
        f"{key!r} is not a list of tools (function schemas): {excerpt(value)}",
        code="convert_bad_tools",
        category=Category.TOOL,
    )


def _json_value(value: object, what: str) -> Any:
    """``value``, or what it holds when it is JSON text (CSV cells, ShareGPT tool columns)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text.startswith(("[", "{")):
        return value
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RecordError(
            f"{what} is not valid JSON ({exc.msg}): {excerpt(text)}",
            code="convert_bad_json",
            category=Category.JSON,
        ) from exc


# --- Alpaca and prompt/completion ---


def _alpaca_turns(record: dict[str, Any], plan: ResolvedMapping) -> list[_Turn]:
    instruction = _column_text(record, plan, "instruction", required=True) or ""
    extra = _column_text(record, plan, "input", required=False) or ""
    output = _column_text(record, plan, "output", required=True) or ""
    # Instruction and input joined by a newline, as LLaMA-Factory does.
    prompt = "\n".join(part for part in (instruction, extra) if part.strip())
    if not prompt.strip():
        raise RecordError("empty instruction and input", code="convert_empty")
    if not output.strip():
        raise RecordError("empty output", code="convert_empty")
    turns = _history_turns(record, plan)
    turns += [_Turn("user", prompt), _Turn("assistant", output)]
    return turns


def _history_turns(record: dict[str, Any], plan: ResolvedMapping) -> list[_Turn]:
    key = _first_key(record, plan.columns["history"])
    if key is None:
        return []
    history = _json_value(record[key], key)
    if isinstance(history, str) and not history.strip():
        return []
    if not isinstance(history, list):
        raise RecordError(f"{key!r} is not a list of [user, assistant] pairs: {excerpt(history)}")
    turns: list[_Turn] = []
    for number, pair in enumerate(history, start=1):
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise RecordError(
                f"{key!r} entry {number} is not a [user, assistant] pair: {excerpt(pair)}"
            )
        turns += [_Turn("user", pair[0]), _Turn("assistant", pair[1])]
    return turns


def _prompt_completion_turns(record: dict[str, Any], plan: ResolvedMapping) -> list[_Turn]:
    prompt = _column_text(record, plan, "prompt", required=True) or ""
    completion = _column_text(record, plan, "completion", required=True) or ""
    if not prompt.strip():
        raise RecordError("empty prompt", code="convert_empty")
    if not completion.strip():
        raise RecordError("empty completion", code="convert_empty")
    return [_Turn("user", prompt), _Turn("assistant", completion)]


def _column_text(
    record: dict[str, Any], plan: ResolvedMapping, name: ColumnField, *, required: bool
) -> str | None:
    columns = plan.columns[name]
    key = _first_key(record, columns)
    if key is None:
        if required:
            raise RecordError(
                f"no {' or '.join(repr(c) for c in columns)} column in the record",
                code="convert_missing_column",
                hint=f"name it in a mapping file ([columns] {name} = ...)",
            )
        return None
    value = record[key]
    if isinstance(value, list):
        raise RecordError(f"{key!r} is a list, not text (ranking data is not supported)")
    return _text(value, f"the {key!r} column")


# --- assembling messages ---


@dataclass(slots=True)
class _Pending:
    id: str
    name: str
    source_id: str | None


@dataclass(slots=True)
class _Assembler:
    """Turns into Mistral messages, giving every call a valid id and every result its call's."""

    index: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)
    # Source ids already rewritten, so a later result can refer to an answered call too.
    id_map: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    position: int = 0
    # Whether the last message is an assistant call message with nothing answered yet.
    open_calls: bool = False

    def add(self, turn: _Turn) -> None:
        if turn.role == "tool":
            self._add_result(turn)
        elif turn.calls:
            self._add_calls(turn)
        else:
            self._require_answered(turn.role)
            self._append(_message(turn.role, turn.content, turn.weight))

    def finish(self) -> list[dict[str, Any]]:
        if self.pending and not self.open_calls:
            raise _unanswered(self.pending)
        return self.messages

    def _add_calls(self, turn: _Turn) -> None:
        if turn.content is not None and turn.content.strip():
            # The platform forbids text beside tool calls: keep the text as its own turn.
            self._require_answered("assistant")
            self._append(_message("assistant", turn.content, turn.weight))
        if self.open_calls:
            # Consecutive call turns (one ShareGPT turn per call) are one parallel call.
            message = self.messages[-1]
        else:
            self._require_answered("assistant")
            message = {"role": "assistant", "tool_calls": []}
            if turn.weight is not None:
                message["weight"] = turn.weight
            self._append(message)
            self.open_calls = True
        for call in turn.calls:
            new_id = self._id_for(call.source_id)
            message["tool_calls"].append(
                {
                    "id": new_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
            )
            self.pending.append(_Pending(new_id, call.name, call.source_id))

    def _add_result(self, turn: _Turn) -> None:
        answered = self._take_pending(turn)
        self.messages.append({"role": "tool", "content": turn.content, "tool_call_id": answered})
        self.open_calls = False

    def _take_pending(self, turn: _Turn) -> str:
        """The id of the call this result answers: by source id, then by name, then in order."""
        pending = self._match(turn)
        if pending is not None:
            self.pending.remove(pending)
            return pending.id
        if turn.answers is not None and turn.answers in self.id_map:
            return self.id_map[turn.answers]
        if turn.answers is not None and CALL_ID_PATTERN.match(turn.answers):
            return turn.answers
        raise RecordError(
            f"a tool result ({excerpt(turn.content or '', 40)}) answers no tool call",
            code="convert_orphan_tool_result",
            category=Category.STRUCTURE,
            hint="a tool/observation turn must follow an assistant tool call",
        )

    def _match(self, turn: _Turn) -> _Pending | None:
        if turn.answers is not None:
            by_id = next((p for p in self.pending if p.source_id == turn.answers), None)
            if by_id is not None:
                return by_id
        elif turn.name is not None:
            # Legacy OpenAI `function` messages name the function they answer.
            by_name = next((p for p in self.pending if p.name == turn.name), None)
            if by_name is not None:
                return by_name
        return self.pending[0] if self.pending else None

    def _require_answered(self, role: str) -> None:
        if self.pending:
            raise _unanswered(self.pending, before=role)
        self.open_calls = False

    def _id_for(self, source_id: str | None) -> str:
        # Valid ids are kept as they are; missing or invalid ones (OpenAI's "call_...") replaced.
        if source_id is not None and CALL_ID_PATTERN.match(source_id):
            self.used.add(source_id)
            return source_id
        new_id = call_id(self.index, self.position)
        while new_id in self.used:
            self.position += 1
            new_id = call_id(self.index, self.position)
        self.position += 1
        self.used.add(new_id)
        if source_id is not None:
            self.id_map[source_id] = new_id
        return new_id

    def _append(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


def _message(role: OutRole, content: str | None, weight: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"role": role, "content": content}
    if weight is not None:
        message["weight"] = weight
    return message


def _unanswered(pending: list[_Pending], before: str | None = None) -> RecordError:
    names = ", ".join(call.name for call in pending)
    where = f" before a {before} turn" if before else ""
    return RecordError(
        f"tool calls not answered{where}: {excerpt(names)}",
        code="convert_unanswered_tool_call",
        category=Category.STRUCTURE,
        hint="every call needs its tool result before the conversation goes on",
    )


def _assemble(turns: list[_Turn], system: str | None, index: int) -> list[dict[str, Any]]:
    _check_system(turns, system)
    turns = _split_joined_results(turns)
    assembler = _Assembler(index)
    for source_id in _valid_source_ids(turns):
        assembler.used.add(source_id)
    if system is not None and not any(turn.role == "system" for turn in turns):
        assembler.add(_Turn("system", system))
    for turn in turns:
        assembler.add(turn)
    messages = assembler.finish()
    if not any(message["role"] != "system" for message in messages):
        raise RecordError("no conversation turns", code="convert_empty")
    return messages


def _check_system(turns: list[_Turn], system: str | None) -> None:
    if system is None:
        return
    for turn in turns:
        if turn.role == "system" and turn.content != system:
            raise RecordError(
                f"a system column ({excerpt(system, 30)}) and a different system turn "
                f"({excerpt(turn.content or '', 30)})",
                code="convert_two_system_prompts",
                category=Category.STRUCTURE,
                hint="keep one: drop the system column from the mapping, or the system turn",
            )


def _valid_source_ids(turns: list[_Turn]) -> Iterator[str]:
    # Reserved up front so an invented id never collides with one that comes later.
    for turn in turns:
        for call in turn.calls:
            if call.source_id is not None and CALL_ID_PATTERN.match(call.source_id):
                yield call.source_id


# LLaMA-Factory's OpenAI converter joins the results of parallel calls into one observation turn
# with this separator; its ShareGPT data allows a single observation after a function_call turn.
_RESULT_SEPARATOR = "\n</tool_response>\n<tool_response>\n"


def _split_joined_results(turns: list[_Turn]) -> list[_Turn]:
    """One result turn answering N > 1 parallel calls becomes N results when it can be split.

    Splits a JSON array of exactly N items, or text with N-1 LLaMA-Factory separators; anything
    else is left alone (and then reported as unanswered calls).
    """
    result: list[_Turn] = []
    for position, turn in enumerate(turns):
        parts = _split_lone_result(turns, position) if turn.role == "tool" else None
        if parts is not None:
            result += [_Turn("tool", part) for part in parts]
        else:
            result.append(turn)
    return result


def _split_lone_result(turns: list[_Turn], position: int) -> list[str] | None:
    """The parts of the result at ``position`` if it alone follows several calls, else None."""
    following = turns[position + 1] if position + 1 < len(turns) else None
    if following is not None and following.role == "tool":
        return None
    calls = _open_call_count(turns, position)
    return _split_result(turns[position].content or "", calls) if calls > 1 else None


def _open_call_count(turns: list[_Turn], position: int) -> int:
    """How many calls the call turns right before ``position`` make (0 if none)."""
    count = 0
    for earlier in reversed(turns[:position]):
        if earlier.role != "assistant" or not earlier.calls:
            break
        count += len(earlier.calls)
        if earlier.content is not None and earlier.content.strip():
            break
    return count


def _split_result(text: str, parts: int) -> list[str] | None:
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            items = None
        if isinstance(items, list) and len(items) == parts:
            return [
                item if isinstance(item, str) else orjson.dumps(item).decode() for item in items
            ]
    if text.count(_RESULT_SEPARATOR) == parts - 1:
        return text.split(_RESULT_SEPARATOR)
    return None
