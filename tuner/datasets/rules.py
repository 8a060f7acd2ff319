"""The line-level rules of ``docs/data.md``: one JSONL line in, its findings out.

:func:`check_record` is pure and never raises, whatever the bytes: it runs on every line of files
of any size, in worker processes, and one odd line must never stop the others from being checked.
It reports *all* findings of a line, and returns the normalised sample only when the line has no
error. Where the reference validator (mistral-finetune's ``build_instruct_sample`` plus
mistral-common's ``MistralRequestValidatorV3`` in fine-tuning mode) is lenient we are exactly as
lenient, so a file it accepts does not fail here; where the JSON standard is stricter (NaN), or
where it crashes or stays silent, we report properly.

Speed: the common case is one ``orjson.loads`` and plain dict/list checks; the standard library's
parser is only used, after orjson has refused a line, to say precisely what is wrong with it.

Codes are stable (they appear in ``--json`` output and ``docs/data.md#finding-codes``):
:data:`CODES` lists them all (the converter's: ``tuner.datasets.convert.CONVERT_CODES``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard, cast

import orjson

from tuner.datasets import classifier
from tuner.datasets.findings import Category, Finding, Severity, a_or_an, excerpt
from tuner.datasets.openai_codes import OPENAI_CODES
from tuner.datasets.samples import (
    InstructSample,
    Message,
    PretrainSample,
    Role,
    Sample,
    ToolCall,
)

# "preference": OpenAI DPO lines (tuner.datasets.openai_rules); the Mistral rules never give it.
Kind = Literal["instruct", "pretrain", "classifier", "preference"]

E, W = Severity.ERROR, Severity.WARNING
C = Category

# code -> (category, severity, description). docs/data.md's table of codes is generated from this.
CODES: dict[str, tuple[Category, Severity, str]] = {
    # encoding
    "invalid_utf8": (C.ENCODING, E, "The line is not valid UTF-8."),
    "lone_surrogate": (C.ENCODING, E, 'A string holds a lone surrogate escape such as "\\ud800".'),
    # json
    "blank_line": (C.JSON, E, "The line is empty or holds only whitespace."),
    "bom": (C.JSON, E, "The line starts with a UTF-8 byte-order mark."),
    "truncated": (C.JSON, E, "The JSON ends before the value is complete."),
    "trailing_comma": (C.JSON, E, "A comma before a closing } or ]."),
    "single_quotes": (C.JSON, E, "Strings or keys in single quotes."),
    "control_character": (C.JSON, E, "A raw control character (tab, CR, ...) inside a string."),
    "invalid_escape": (C.JSON, E, "A backslash escape JSON does not know (\\x, \\', a bad \\u)."),
    "nan_infinity": (C.JSON, E, "NaN, Infinity or -Infinity, which are not JSON."),
    "trailing_data": (C.JSON, E, "More data after the JSON value (often two objects on a line)."),
    "invalid_json": (C.JSON, E, "Any other JSON syntax error."),
    # not_object
    "not_object": (C.NOT_OBJECT, E, "The line's JSON value is not an object."),
    # schema
    "missing_messages": (C.SCHEMA, E, "No 'messages' (or 'interactions') key."),
    "messages_and_interactions": (C.SCHEMA, E, "Both 'messages' and its alias 'interactions'."),
    "messages_not_list": (C.SCHEMA, E, "'messages' is not a list."),
    "message_not_object": (C.SCHEMA, E, "A message is not an object."),
    "missing_role": (C.SCHEMA, E, "A message has no 'role'."),
    "missing_content": (C.SCHEMA, E, "'content' missing or null on a message without tool calls."),
    "text_and_content": (C.SCHEMA, E, "A message has both 'text' and 'content'."),
    "content_not_string": (C.SCHEMA, E, "Content is not a string (lists: user messages only)."),
    "invalid_chunk": (C.SCHEMA, E, "A content chunk is not {'type': 'text', 'text': '...'}."),
    "image_not_supported": (C.SCHEMA, E, "An image chunk: vision data is not supported yet."),
    "system_prompt_not_string": (C.SCHEMA, E, "The top-level 'system_prompt' is not a string."),
    "wrong_format": (C.SCHEMA, E, "A pretrain line in an instruct file, or the other way round."),
    # Stricter than the reference validator, which ignores these keys and would train anyway.
    "kto_undesirable": (C.SCHEMA, E, "A 'label': false (KTO) marks an answer as undesirable."),
    "preference_pair": (C.SCHEMA, E, "'chosen'/'rejected' (or DPO) keys: a preference pair."),
    "check_failed": (C.SCHEMA, E, "The checker failed on this line (a bug: please report it)."),
    "tokenize_failed": (C.SCHEMA, E, "The tokenizer could not encode this conversation."),
    # role
    "unknown_role": (C.ROLE, E, "A role other than system, user, assistant or tool."),
    # structure
    "no_messages": (C.STRUCTURE, E, "No messages once the system message is set aside."),
    "single_message": (C.STRUCTURE, E, "A single message that is not a user message."),
    "last_not_assistant": (C.STRUCTURE, E, "The last message is not an assistant message."),
    "multiple_system": (C.STRUCTURE, E, "More than one system prompt."),
    "empty_assistant": (C.STRUCTURE, E, "An assistant message with empty content, no tool calls."),
    "role_order": (C.STRUCTURE, E, "A role that may not follow the previous one."),
    "tool_count_mismatch": (C.STRUCTURE, E, "Tool calls and tool messages do not pair up."),
    # tool (errors)
    "tools_and_available_tools": (C.TOOL, E, "Both 'tools' and its alias 'available_tools'."),
    "tools_not_list": (C.TOOL, E, "'tools' is not a list."),
    "tool_not_object": (C.TOOL, E, "A 'tools' entry is not an object."),
    "tool_missing_function": (C.TOOL, E, "A 'tools' entry has no 'function' object."),
    "function_missing_key": (C.TOOL, E, "A function lacks 'name', 'description' or 'parameters'."),
    "description_not_string": (C.TOOL, E, "A function's 'description' is not a string."),
    "parameters_not_object": (C.TOOL, E, "A function's 'parameters' is not an object."),
    "invalid_parameters_schema": (C.TOOL, E, "'parameters' is not a valid JSON schema (draft 7)."),
    "invalid_function_name": (C.TOOL, E, "A function name not matching ^[a-zA-Z0-9_-]{1,64}$."),
    "tool_calls_not_list": (C.TOOL, E, "'tool_calls' is not a list."),
    "tool_call_not_object": (C.TOOL, E, "A tool call is not an object."),
    "tool_call_missing_key": (C.TOOL, E, "A tool call without 'id' or 'function'."),
    "call_function_missing_key": (C.TOOL, E, "A tool call's function lacks 'name' or 'arguments'."),
    "arguments_not_string": (C.TOOL, E, "A tool call's 'arguments' is not a (JSON) string."),
    "invalid_call_id": (C.TOOL, E, "A tool call id not matching ^[a-zA-Z0-9]{9}$."),
    "missing_tool_call_id": (C.TOOL, E, "A tool message without 'tool_call_id'."),
    "invalid_tool_call_id": (C.TOOL, E, "A 'tool_call_id' not matching ^[a-zA-Z0-9]{9}$."),
    "invalid_tool_name": (C.TOOL, E, "A tool message 'name' not matching ^[a-zA-Z0-9_-]{1,64}$."),
    "content_and_tool_calls": (C.TOOL, E, "An assistant message with both content and tool calls."),
    # tool (warnings)
    "unmatched_tool_call_id": (C.TOOL, W, "A 'tool_call_id' that matches no earlier call id."),
    "undeclared_function": (C.TOOL, W, "A call to a function not declared in 'tools'."),
    "arguments_not_json": (C.TOOL, W, "A tool call's 'arguments' string is not valid JSON."),
    "arguments_double_encoded": (
        C.TOOL,
        W,
        "A tool call's 'arguments' is a JSON string holding another JSON string (encoded twice).",
    ),
    # weight
    "invalid_weight": (C.WEIGHT, E, "An assistant 'weight' that is not 0 or 1."),
    # pretrain
    "missing_text": (C.PRETRAIN, E, "A pretrain line without 'text' (or 'content')."),
    "text_and_content_keys": (C.PRETRAIN, E, "A pretrain line with both 'text' and 'content'."),
    "text_not_string": (C.PRETRAIN, E, "A pretrain 'text' that is not a string."),
    # size
    "empty_file": (C.SIZE, E, "The file is empty."),
    "json_array_file": (
        C.JSON,
        E,
        "The file is one JSON array, not JSON Lines (convert it with `tuner data convert`).",
    ),
    "file_too_large": (C.SIZE, E, "The file is larger than the upload limit (512 MB)."),
    "line_too_long": (C.SIZE, E, "A line longer than 16 MB."),
    "too_few_conversations": (C.SIZE, W, "Fewer than 10 valid conversations in a training file."),
    "eval_file_too_large": (C.SIZE, W, "An evaluation file over 1 MB or 5% of the training data."),
    "too_few_to_split": (C.SIZE, W, "Fewer than two valid conversations: nothing can be held out."),
    # cross-line warnings
    "duplicate": (C.DUPLICATE, W, "The same conversation (whitespace normalised) seen earlier."),
    "over_seq_len": (C.LENGTH, W, "A conversation with more tokens than seq_len."),
    "train_eval_overlap": (C.OVERLAP, W, "A conversation in both training and evaluation data."),
    # content warnings
    "empty_content": (C.CONTENT, W, "Empty/whitespace-only content (whitespace-only: assistant)."),
    "system_not_first": (C.CONTENT, W, "A system message that is not the first message."),
    "nothing_trained": (C.CONTENT, W, "No assistant turn is trained (every weight is 0)."),
    "unknown_key": (C.CONTENT, W, "Keys the platform ignores."),
    # special tokens
    "special_token": (
        C.SPECIAL_TOKEN,
        W,
        "Content holds control tokens ([INST], <s>, <|...|>).",
    ),
}
# Classifier lines and OpenAI's rules have their own modules; their codes join the one table.
CODES.update(classifier.CODES)
CODES.update(OPENAI_CODES)

ROLES = frozenset({"system", "user", "assistant", "tool"})
_TOP_KEYS = frozenset({"messages", "interactions", "tools", "available_tools", "system_prompt"})
_PRETRAIN_KEYS = frozenset({"text", "content"})
# Keys that mark a line as preference or KTO data. The reference validator ignores unknown keys,
# so such a line would be trained as if it were plain SFT data: the rejected answer dropped in
# silence, an undesirable answer learned. Here they are errors, on purpose (see the README).
_PREFERENCE_KEYS = frozenset(
    {
        "chosen",
        "rejected",
        "preferred_output",
        "non_preferred_output",
        "chosen_messages",
        "rejected_messages",
    }
)
_KTO_KEYS = frozenset({"label", "kto_tag"})
_HINT_KTO = (
    "Mistral would train on this undesirable answer: drop the line, or convert the source with "
    "`tuner data convert --kto-keep-desirable`."
)
_HINT_PREFERENCE = (
    "Mistral's fine-tuning API has no preference tuning: build SFT data from the chosen answers "
    "with `tuner data convert SRC --preference chosen --out OUT.jsonl`."
)
_MESSAGE_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "text"}),
    "user": frozenset({"role", "content", "text"}),
    "assistant": frozenset({"role", "content", "text", "tool_calls", "weight"}),
    "tool": frozenset({"role", "content", "text", "tool_call_id", "name"}),
}
# Which role may follow which, once system messages are set aside (mistral-common's order rule).
_NEXT_ROLES: dict[str, frozenset[str]] = {
    "user": frozenset({"user", "assistant"}),
    "assistant": frozenset({"assistant", "user", "tool"}),
    "tool": frozenset({"tool", "assistant", "user"}),
}
_ROLE_HINTS = {
    "human": "user",
    "bot": "assistant",
    "gpt": "assistant",
    "model": "assistant",
    "ai": "assistant",
    "chatbot": "assistant",
    "function": "tool",
    "ipython": "tool",
    "observation": "tool",
    "developer": "system",
}
_IMAGE_CHUNKS = frozenset({"image_url", "image", "input_image"})
_NAME_RE = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_CALL_ID_RE = re.compile(r"[a-zA-Z0-9]{9}")
# mistral-common lets the last assistant turn's call id be "null" in fine-tuning mode.
_NULL_CALL_ID = "null"
_SPECIAL_RE = re.compile(
    r"<s>|</s>|\[/?INST\]|\[TOOL_CALLS\]|\[/?AVAILABLE_TOOLS\]|\[/?TOOL_RESULTS\]"
    r"|\[/?SYSTEM_PROMPT\]|<\|[^|<>\s]{1,64}\|>"
)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_JSON_WS = b" \t\r\n"
_MAX_LISTED = 5

_HINT_JSON = "Each line must be one JSON object; write it with a JSON library (json.dumps)."
_HINT_UNSUPPORTED = "Not supported yet: tuner checks instruct and pretrain data only."
_HINT_DOUBLE_ENCODED = "`tuner data fix` decodes it once, so the model learns to write the object."
_HINT_CALL_ID = "Call ids are 9 letters or digits, e.g. 'a1B2c3D4e'; the tool message repeats it."


@dataclass(slots=True)
class LineCheck:
    findings: list[Finding]
    # The normalised sample; None exactly when the line has an error.
    sample: Sample | None
    # The format the line is written in (also for a broken line, when it can be told).
    kind: Kind | None


# --------------------------------------------------------------------------- entry points


def check_record(data: bytes, *, path: str, line: int, expect: Kind | None) -> LineCheck:
    """All findings of one JSONL line (without its newline), and its sample if it has no error.

    ``expect`` is the file's format when known; a line of the other format is a ``schema`` error.
    With ``expect=None`` the line is checked as the format its keys say. Never raises.
    """
    return run_line_check(_check, data, path=path, line=line, expect=expect)


# A provider's rules for one line: its sample (None if there is none) and the format it found.
LineChecker = Callable[[bytes, "_Out", Kind | None], tuple[Sample | None, Kind | None]]


def run_line_check(
    check: LineChecker, data: bytes, *, path: str, line: int, expect: Kind | None
) -> LineCheck:
    """Run one provider's ``check`` on a line: its findings, and its sample if it has no error.

    Never raises: a checker that fails is reported as ``check_failed`` on that line alone.
    """
    out = _Out(path, line)
    sample: Sample | None
    kind: Kind | None
    try:
        sample, kind = check(data, out, expect)
    except Exception as exc:  # a last resort: one line must never stop a whole file
        out.add(
            "check_failed",
            f"the checker failed: {type(exc).__name__}: {_printable(excerpt(str(exc)))}",
        )
        sample, kind = None, None
    return LineCheck(out.findings, None if out.errors else sample, kind)


def line_too_long(path: str, line: int, size: int, limit: int) -> Finding:
    """The ``size`` error of a line the reader read past (``RawLine.data is None``)."""
    return make_finding(
        path,
        line,
        "line_too_long",
        f"the line is {size:,} bytes, over the {limit // 2**20} MB limit for one line",
        "Split the conversation or shorten its content; no single sample may be this large.",
    )


def oversized_finding(path: str, raw: Any, limit: int = 16 * 2**20) -> Finding:
    """:func:`line_too_long` for a :class:`~tuner.datasets.reader.RawLine` with ``data=None``."""
    return line_too_long(path, int(raw.number), int(raw.size), limit)


def wrong_format_finding(path: str, line: int, kind: Kind, fmt: Kind) -> Finding:
    """The ``schema`` error of a line written in the other format than the file's."""
    key = {
        "instruct": "'messages'",
        "pretrain": "'text'",
        "classifier": "'labels'",
        "preference": "'preferred_output'",
    }[kind]
    return make_finding(
        path,
        line,
        "wrong_format",
        f"this line is {kind} data ({key}), but the file is {fmt} data",
        "Keep one format per file: instruct lines have 'messages', pretrain lines have 'text'.",
    )


def make_finding(
    path: str, line: int | None, code: str, message: str, hint: str | None = None
) -> Finding:
    """A finding whose category and severity come from :data:`CODES`."""
    category, severity, _ = CODES[code]
    return Finding(path, line, severity, category, code, message, hint)


# --------------------------------------------------------------------------- helpers


class _Out:
    """Collects a line's findings."""

    __slots__ = ("errors", "findings", "line", "path")

    def __init__(self, path: str, line: int) -> None:
        self.path = path
        self.line = line
        self.findings: list[Finding] = []
        self.errors = 0

    def add(self, code: str, message: str, hint: str | None = None) -> None:
        category, severity, _ = CODES[code]
        self.findings.append(Finding(self.path, self.line, severity, category, code, message, hint))
        if severity is Severity.ERROR:
            self.errors += 1

    def add_wrong_format(self, kind: Kind, expect: Kind) -> None:
        """The line is ``kind`` data in a file of ``expect`` data."""
        self.findings.append(wrong_format_finding(self.path, self.line, kind, expect))
        self.errors += 1


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _show(value: object, limit: int = 60) -> str:
    """A value as it would look in JSON, shortened: for quoting offending values in messages."""
    if isinstance(value, str):
        return '"' + _printable(excerpt(value, limit)) + '"'
    try:
        text = orjson.dumps(value).decode()
    except (TypeError, ValueError):
        text = repr(value)
    return _printable(excerpt(text, limit))


def _printable(text: str) -> str:
    """``text`` with lone surrogates escaped: messages must encode as UTF-8 (JSON, terminals)."""
    if _SURROGATE_RE.search(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _keys(mapping: dict[str, Any]) -> str:
    names = [_show(k, 30) for k in list(mapping)[:_MAX_LISTED]]
    more = "…" if len(mapping) > _MAX_LISTED else ""
    return ", ".join(names) + more if names else "none"


def _name_ok(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _NAME_RE.fullmatch(value) is not None


def _call_id_ok(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _CALL_ID_RE.fullmatch(value) is not None


def _blank(text: str) -> bool:
    return not text or text.isspace()


# ------------------------------------------------------------------ tools (both providers)


def report_missing_keys(
    out: _Out, code: str, label: str, obj: dict[str, Any], keys: Sequence[str], hint: str
) -> None:
    """One ``code`` finding naming those of ``keys`` that ``obj`` lacks (none if it has all)."""
    missing = [k for k in keys if k not in obj]
    if missing:
        out.add(code, f"{label} has no {', '.join(repr(k) for k in missing)}", hint)


def tool_function(out: _Out, label: str, tool: dict[str, Any], hint: str) -> dict[str, Any] | None:
    """A 'tools' entry's 'function' object (None, reported, if it is missing or not an object)."""
    function = tool.get("function")
    if isinstance(function, dict):
        return function
    what = "no 'function'" if function is None else f"{a_or_an(_json_type(function))} 'function'"
    out.add("tool_missing_function", f"{label} has {what}", hint)
    return None


def declare_function(out: _Out, label: str, name: object, declared: set[str]) -> None:
    """Add a tool's function name to ``declared``, or report it if it is not a valid name."""
    if _name_ok(name):
        declared.add(name)
        return
    out.add(
        "invalid_function_name",
        f"{label}.function name {_show(name)} is not 1-64 letters, digits, _ or -",
        "Rename the function, e.g. 'get_weather'.",
    )


def check_parameters(
    out: _Out, label: str, parameters: object, *, not_object_hint: str, schema_hint: str
) -> None:
    """A tool function's 'parameters': a JSON object that is a valid JSON schema."""
    if not isinstance(parameters, dict):
        out.add(
            "parameters_not_object",
            f"{label}.function parameters is a JSON {_json_type(parameters)}: {_show(parameters)}",
            not_object_hint,
        )
        return
    problem = _parameters_problem(parameters)
    if problem is not None:
        out.add(
            "invalid_parameters_schema",
            f"{label}.function parameters is not a valid JSON schema: {excerpt(problem)}",
            schema_hint,
        )


# ------------------------------------------------------------------ tool calls (both providers)


def call_object(out: _Out, label: str, call: object, hint: str) -> dict[str, Any] | None:
    """A tool call as an object (None, reported, if it is not); reports a missing id/function."""
    if not isinstance(call, dict):
        out.add("tool_call_not_object", f"{label} is a JSON {_json_type(call)}", hint)
        return None
    report_missing_keys(out, "tool_call_missing_key", label, call, ("id", "function"), hint)
    return call


def check_call_function(
    out: _Out,
    label: str,
    call: dict[str, Any],
    call_id: object,
    *,
    hint: str,
    declared: Collection[str],
    double_hint: str,
) -> ToolCall | None:
    """A tool call's 'function' (name and arguments); the call when it is whole, else None.

    The rules are the same on both platforms; the id rules are not, so the caller checks the id
    and passes it in. ``hint`` says what a tool call looks like on the platform, ``double_hint``
    how to mend doubly encoded arguments.
    """
    function = call.get("function")
    if "function" not in call:
        return None
    if not isinstance(function, dict):
        out.add(
            "call_function_missing_key",
            f"{label} function is a JSON {_json_type(function)}, not an object",
            hint,
        )
        return None
    report_missing_keys(
        out, "call_function_missing_key", f"{label} function", function, ("name", "arguments"), hint
    )
    name = function.get("name")
    if "name" in function:
        _check_call_name(out, label, name, declared)
    arguments = function.get("arguments")
    if "arguments" in function:
        _check_arguments(out, label, arguments, double_hint)
    if isinstance(call_id, str) and isinstance(name, str) and isinstance(arguments, str):
        return ToolCall(call_id, name, arguments)
    return None


def _check_call_name(out: _Out, label: str, name: object, declared: Collection[str]) -> None:
    if not _name_ok(name):
        out.add(
            "invalid_function_name",
            f"{label} calls {_show(name)}, not 1-64 letters, digits, _ or -",
            "Use the function's declared name, e.g. 'get_weather'.",
        )
    elif name not in declared:
        listed = ", ".join(sorted(declared)[:_MAX_LISTED]) or "no tools declared"
        out.add(
            "undeclared_function",
            f"{label} calls {_show(name)}, which is not declared in 'tools' ({listed})",
            "Declare the function in the line's 'tools'.",
        )


def _check_arguments(out: _Out, label: str, arguments: object, double_hint: str) -> None:
    if not isinstance(arguments, str):
        out.add(
            "arguments_not_string",
            f"{label} arguments is a JSON {_json_type(arguments)}, not a string: "
            f"{_show(arguments)}",
            'Encode the arguments as a JSON string: "arguments": "{\\"city\\": \\"Paris\\"}".',
        )
        return
    try:
        orjson.loads(arguments)
    except ValueError:
        out.add(
            "arguments_not_json",
            f"{label} arguments is not valid JSON: {_show(arguments)}",
            "Write the arguments as a JSON object in a string.",
        )
        return
    if decode_double_encoded(arguments) is not None:
        out.add(
            "arguments_double_encoded",
            f"{label} arguments is a JSON string holding JSON text, encoded twice:"
            f" {_show(arguments)}",
            double_hint,
        )


# --------------------------------------------------------------------------- parsing


_NOTHING = object()


class _NonFinite(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _reject_constant(name: str) -> float:
    raise _NonFinite(name)


def _parse(data: bytes, out: _Out) -> Any:
    """The line's JSON value, or ``_NOTHING`` when there is none to check further."""
    try:
        return orjson.loads(data)
    except ValueError:
        pass
    return _parse_slowly(data, out)


def parse_object(data: bytes, out: _Out, hint: str) -> dict[str, Any] | None:
    """The line's JSON object; None if it is not JSON (reported) or not an object (reported)."""
    value = _parse(data, out)
    if value is _NOTHING:
        return None
    if not isinstance(value, dict):
        out.add(
            "not_object",
            f"the line is a JSON {_json_type(value)}, not an object: {_show(value)}",
            hint,
        )
        return None
    return value


def _parse_slowly(data: bytes, out: _Out) -> Any:
    """Explain why orjson refused the line; return a value when one can still be checked."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 4]
        out.add(
            "invalid_utf8",
            f"invalid UTF-8 at byte {exc.start + 1}: {bad!r}",
            "Save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8, or re-export as UTF-8).",
        )
        text = data.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        out.add(
            "bom",
            "the line starts with a UTF-8 byte-order mark (BOM)",
            "Save the file as UTF-8 without BOM (`tuner data fix` removes it).",
        )
        text = text[1:]
    if not text.strip(" \t\r\n"):
        out.add(
            "blank_line",
            "the line is empty" if not text else "the line holds only whitespace",
            "Remove blank lines: every line must hold one conversation.",
        )
        return _NOTHING
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except _NonFinite as exc:
        out.add(
            "nan_infinity",
            f"{exc.name} is not a JSON value",
            "Replace NaN/Infinity with a number or null (json.dumps(..., allow_nan=False)).",
        )
        value = _loads_lenient(text)
    except json.JSONDecodeError as exc:
        code, message = _explain(exc, text)
        out.add(code, message, _HINT_JSON)
        return _NOTHING
    except RecursionError:
        out.add("invalid_json", "the JSON is nested too deeply to read", _HINT_JSON)
        return _NOTHING
    bad_string = _find_lone_surrogate(value)
    if bad_string is not None:
        out.add(
            "lone_surrogate",
            f"a string holds a lone surrogate escape: {_show(bad_string)}",
            "Remove the broken \\ud800-\\udfff escape; emoji need both halves of the pair.",
        )
    return value


def _loads_lenient(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _NOTHING


def _explain(exc: json.JSONDecodeError, text: str) -> tuple[str, str]:
    """A precise code and message for a JSON syntax error."""
    pos = exc.pos
    column = pos + 1
    near = excerpt(text[max(0, pos - 15) : pos + 25], 40)
    rest = text[pos:].strip(" \t\r\n")
    char = text[pos] if pos < len(text) else ""
    before = text[:pos].rstrip(" \t\r\n")
    msg = exc.msg
    if msg.startswith("Invalid control character"):
        return "control_character", f"raw control character {char!r} in a string at column {column}"
    if msg.startswith("Invalid \\"):
        return "invalid_escape", f"invalid escape at column {column}: …{near}…"
    if msg.startswith("Extra data"):
        return "trailing_data", f"data after the JSON value at column {column}: {_show(rest, 40)}"
    if msg.startswith("Unterminated string") or not rest:
        return "truncated", f"the JSON ends before the value is complete (column {column})"
    if char == "'":
        return "single_quotes", f"single-quoted string at column {column}: …{near}…"
    if char in "}]" and before.endswith(","):
        return "trailing_comma", f"trailing comma before {char!r} at column {column}: …{near}…"
    if msg.startswith("Expecting property name") and char.isalpha():
        return "invalid_json", f"a key without double quotes at column {column}: …{near}…"
    if msg == "Expecting value" and char.isalpha():
        word = re.match(r"\w+", text[pos:])
        shown = word.group(0) if word else char
        return "invalid_json", f"{shown!r} is not a JSON value (column {column}): …{near}…"
    return "invalid_json", f"{msg.lower()} at column {column}: …{near}…"


def _find_lone_surrogate(value: Any) -> str | None:
    """The first string (key or value) holding a lone surrogate, walking without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE_RE.search(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


# --------------------------------------------------------------------------- dispatch


def _kind_of(obj: dict[str, Any]) -> Kind | None:
    if classifier.is_classifier(obj):
        return "classifier"
    if "messages" in obj or "interactions" in obj:
        return "instruct"
    if "text" in obj or "content" in obj:
        return "pretrain"
    return None


def _check(data: bytes, out: _Out, expect: Kind | None) -> tuple[Sample | None, Kind | None]:
    value = parse_object(
        data, out, 'Each line must be one object: {"messages": [...]} or {"text": "..."}.'
    )
    if value is None:
        return None, None
    kind = _kind_of(value)
    if expect == "classifier" and kind != "classifier":
        kind = "classifier"  # forced or decided by the file: report the missing labels
    if kind == "classifier" and expect in (None, "classifier"):
        return classifier.check_line(value, out.add), kind
    if kind is None:
        code = "missing_text" if expect == "pretrain" else "missing_messages"
        out.add(
            code,
            f"no 'messages' (instruct) or 'text' (pretrain) key; keys found: {_keys(value)}",
            "Instruct lines need 'messages': [...]; pretrain lines need 'text': '...'.",
        )
        return None, None
    if expect is not None and kind != expect:
        out.add_wrong_format(kind, expect)
        return None, kind
    if kind == "instruct":
        return _Instruct(value, out).check(), kind
    return _check_pretrain(value, out), kind


def _check_pretrain(obj: dict[str, Any], out: _Out) -> PretrainSample | None:
    if "text" in obj and "content" in obj:
        out.add(
            "text_and_content_keys",
            "both 'text' and 'content'; a pretrain line has one of them",
            "Keep only 'text'.",
        )
    value = obj.get("text")
    if value is None:
        value = obj.get("content")
    unknown = [k for k in obj if k not in _PRETRAIN_KEYS]
    if unknown:
        out.add(
            "unknown_key",
            f"keys ignored by the platform: {', '.join(_show(k, 30) for k in unknown[:5])}",
            "Remove them, or keep them knowing they are not used for training.",
        )
    if value is None:
        out.add("missing_text", "'text' is null", "Give the document as a string in 'text'.")
        return None
    if not isinstance(value, str):
        out.add(
            "text_not_string",
            f"'text' is a JSON {_json_type(value)}, not a string: {_show(value)}",
            "Give the document as a string in 'text'.",
        )
        return None
    if _blank(value):
        out.add("empty_content", "'text' is empty or whitespace-only", "Remove the line.")
    _special_tokens(value, "'text'", out)
    return PretrainSample(value)


def _special_tokens(text: str, where: str, out: _Out) -> None:
    if "<" not in text and "[" not in text:
        return
    found = _SPECIAL_RE.findall(text)
    if not found:
        return
    shown = ", ".join(_show(t, 30) for t in dict.fromkeys(found))
    out.add(
        "special_token",
        f"{where} contains tokenizer control token(s): {shown}",
        "Remove or rewrite them: control tokens in content are a known cause of failed jobs.",
    )


# --------------------------------------------------------------------------- instruct


@functools.lru_cache(maxsize=1024)
def _schema_error(canonical: bytes) -> str | None:
    """Why a tool's parameters are not a draft-7 JSON schema (cached: files repeat their tools)."""
    return _schema_error_of(orjson.loads(canonical))


def _schema_error_of(parameters: dict[str, Any]) -> str | None:
    import jsonschema  # only files with tools pay for the import

    try:
        jsonschema.Draft7Validator.check_schema(parameters)
    except jsonschema.exceptions.SchemaError as exc:
        return str(exc.message)
    except (RecursionError, TypeError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _parameters_problem(parameters: dict[str, Any]) -> str | None:
    try:
        canonical = orjson.dumps(parameters, option=orjson.OPT_SORT_KEYS)
    except (TypeError, ValueError):  # values orjson cannot write (huge ints): check uncached
        return _schema_error_of(parameters)
    return _schema_error(canonical)


@dataclass(slots=True)
class _Turn:
    """What the structure rules need of a non-system message."""

    number: int  # 1-based position in the line's message list
    role: str
    calls: int  # len(tool_calls); 0 when there are none
    has_calls: bool  # tool_calls present (not null), even if empty


class _Instruct:
    """Checks one instruct line; built per line, so state is plain attributes."""

    __slots__ = (
        "call_ids",
        "declared",
        "has_tools",
        "messages",
        "obj",
        "out",
        "roles_ok",
        "system_prompt",
        "system_seen",
        "tools",
        "turns",
        "unknown",
    )

    def __init__(self, obj: dict[str, Any], out: _Out) -> None:
        self.obj = obj
        self.out = out
        self.messages: list[Message] = []
        self.turns: list[_Turn] = []
        self.tools: tuple[dict[str, Any], ...] = ()
        self.declared: set[str] = set()
        self.has_tools = False
        self.call_ids: set[str] = set()
        self.system_prompt: str | None = None
        self.system_seen = False
        self.roles_ok = True
        self.unknown: list[str] = []

    def check(self) -> InstructSample | None:
        obj, out = self.obj, self.out
        if "messages" in obj and "interactions" in obj:
            out.add(
                "messages_and_interactions",
                "both 'messages' and 'interactions'; they are aliases, keep one",
                "Keep 'messages'.",
            )
        key = "messages" if "messages" in obj else "interactions"
        raw = obj[key]
        self._top_level_system_prompt()
        self._tools()
        self._preference_and_kto(obj, "the line")
        for key in obj:
            if key not in _TOP_KEYS and key not in _PREFERENCE_KEYS and not _undesirable(obj, key):
                self.unknown.append(f"{_show(key, 30)} (top level)")
        if not isinstance(raw, list):
            out.add(
                "messages_not_list",
                f"'{key}' is a JSON {_json_type(raw)}, not a list: {_show(raw)}",
                'Give it as a list of {"role": ..., "content": ...} objects.',
            )
            self._unknown_keys()
            return None
        last = _last_non_system(raw)
        for index, message in enumerate(raw):
            self._message(index, message, index == last)
        if self.roles_ok:
            self._structure(had_system=self.system_seen)
        self._unknown_keys()
        if out.errors:
            return None
        self._trained()
        return InstructSample(
            messages=tuple(self.messages), tools=self.tools, system_prompt=self.system_prompt
        )

    # ----------------------------------------------------------------- top level

    def _top_level_system_prompt(self) -> None:
        value = self.obj.get("system_prompt")
        if value is None:
            return
        if not isinstance(value, str):
            self.out.add(
                "system_prompt_not_string",
                f"'system_prompt' is a JSON {_json_type(value)}, not a string: {_show(value)}",
                "Give the system prompt as a string.",
            )
            # It still counts as a system prompt for the "more than one" rule.
            self.system_seen = True
            return
        self.system_prompt = value
        self.system_seen = True
        if _blank(value):
            self.out.add(
                "empty_content",
                "'system_prompt' is empty or whitespace-only",
                "Remove it or write the system prompt.",
            )
        _special_tokens(value, "'system_prompt'", self.out)

    def _tools(self) -> None:
        obj, out = self.obj, self.out
        if "tools" in obj and "available_tools" in obj:
            out.add(
                "tools_and_available_tools",
                "both 'tools' and 'available_tools'; they are aliases, keep one",
                "Keep 'tools'.",
            )
        key = "tools" if obj.get("tools") is not None else "available_tools"
        raw = obj.get(key)
        if raw is None:
            return
        if not isinstance(raw, list):
            out.add(
                "tools_not_list",
                f"'{key}' is a JSON {_json_type(raw)}, not a list: {_show(raw)}",
                'Give tools as a list of {"type": "function", "function": {...}} objects.',
            )
            return
        for index, tool in enumerate(raw):
            self._tool(f"{key}[{index}]", tool)
        self.tools = tuple(t for t in raw if isinstance(t, dict))
        self.has_tools = bool(raw)

    def _tool(self, label: str, tool: object) -> None:
        out = self.out
        hint = 'A tool is {"type": "function", "function": {"name", "description", "parameters"}}.'
        if not isinstance(tool, dict):
            out.add("tool_not_object", f"{label} is a JSON {_json_type(tool)}, not an object", hint)
            return
        function = tool_function(out, label, tool, hint)
        if function is None:
            return
        report_missing_keys(
            out,
            "function_missing_key",
            f"{label}.function",
            function,
            ("name", "description", "parameters"),
            hint + " Use {} for a function without parameters.",
        )
        if "name" in function:
            declare_function(out, label, function["name"], self.declared)
        if "description" in function and not isinstance(function["description"], str):
            out.add(
                "description_not_string",
                f"{label}.function description is a JSON {_json_type(function['description'])}",
                "Describe the function in a string.",
            )
        if "parameters" in function:
            check_parameters(
                out,
                label,
                function["parameters"],
                not_object_hint="Give a JSON schema object; {} for a function without parameters.",
                schema_hint='Write a draft-7 JSON schema, e.g. {"type": "object", '
                '"properties": {...}}.',
            )

    # ----------------------------------------------------------------- messages

    def _message(self, index: int, message: object, is_last: bool) -> None:
        out = self.out
        number = index + 1
        label = f"message {number}"
        if not isinstance(message, dict):
            out.add(
                "message_not_object",
                f"{label} is a JSON {_json_type(message)}, not an object: {_show(message)}",
                'A message is {"role": "user", "content": "..."}.',
            )
            self.roles_ok = False
            return
        role = self._role(label, message)
        if role is not None:
            label = f"{label} ({role})"
        if "text" in message and "content" in message:
            out.add(
                "text_and_content",
                f"{label} has both 'text' and 'content'; they are aliases, keep one",
                "Keep 'content'.",
            )
        content = message.get("content")
        if content is None:
            content = message.get("text")
        has_calls = role == "assistant" and message.get("tool_calls") is not None
        if content is None and not has_calls:
            out.add(
                "missing_content",
                f"{label} has no content" + ("" if role != "assistant" else " and no tool calls"),
                "Give every message a 'content' string.",
            )
        if role is None:
            return
        self._preference_and_kto(message, label)
        for key in message:
            if key not in _MESSAGE_KEYS[role] and not _undesirable(message, key):
                self.unknown.append(f"{_show(key, 30)} ({label})")
        value = self._content(label, role, content)
        if role == "system":
            self._system(index, label, value)
            return
        calls: tuple[ToolCall, ...] = ()
        weight: float | None = None
        tool_call_id: str | None = None
        call_count = 0
        if role == "assistant":
            weight = self._weight(label, message)
            raw_calls = message.get("tool_calls")
            if has_calls:
                calls, call_count = self._calls(label, raw_calls, is_last)
            self._assistant_content(label, content, value, raw_calls)
        elif role == "tool":
            tool_call_id = self._tool_message(label, message)
        self.turns.append(_Turn(number, role, call_count, has_calls))
        self.messages.append(Message(cast(Role, role), value, calls, tool_call_id, weight))

    def _role(self, label: str, message: dict[str, Any]) -> str | None:
        if "role" not in message:
            self.out.add(
                "missing_role",
                f"{label} has no 'role' (keys: {_keys(message)})",
                "Give every message a role: system, user, assistant or tool.",
            )
            self.roles_ok = False
            return None
        role = message["role"]
        if isinstance(role, str) and role in ROLES:
            return role
        self.roles_ok = False
        self.out.add("unknown_role", f"{label} has role {_show(role)}", _role_hint(role))
        return None

    def _content(self, label: str, role: str, content: object) -> str | tuple[str, ...] | None:
        """The content as the sample holds it; schema errors for other types."""
        if content is None or isinstance(content, str):
            if isinstance(content, str):
                self._content_warnings(label, role, content)
            return content
        if isinstance(content, list) and role == "user":
            return self._chunks(label, content)
        allowed = " (a list of text chunks is accepted on user messages only)"
        self.out.add(
            "content_not_string",
            f"{label} content is a JSON {_json_type(content)}, not a string: {_show(content)}"
            + (allowed if isinstance(content, list) else ""),
            "Give the content as a string.",
        )
        return None

    def _chunks(self, label: str, chunks: list[Any]) -> tuple[str, ...]:
        texts: list[str] = []
        for position, chunk in enumerate(chunks, start=1):
            kind = chunk.get("type") if isinstance(chunk, dict) else None
            text = chunk.get("text") if isinstance(chunk, dict) else None
            if kind in _IMAGE_CHUNKS:
                self.out.add(
                    "image_not_supported",
                    f"{label} chunk {position} is an image ({_show(kind)})",
                    _HINT_UNSUPPORTED + " Vision data cannot be checked here.",
                )
            elif kind == "text" and isinstance(text, str):
                texts.append(text)
            else:
                self.out.add(
                    "invalid_chunk",
                    f"{label} chunk {position} is not a text chunk: {_show(chunk)}",
                    'A chunk is {"type": "text", "text": "..."}; or give the content as a string.',
                )
        joined = "".join(texts)
        self._content_warnings(label, "user", joined)
        return tuple(texts)

    def _content_warnings(self, label: str, role: str, text: str) -> None:
        if role == "assistant":
            # Empty assistant content is a structure error (see _assistant_content);
            # whitespace-only content trains the model to answer with blanks.
            if text and text.isspace():
                self.out.add(
                    "empty_content",
                    f"{label} content is whitespace-only",
                    "Write the answer or drop the turn.",
                )
        elif _blank(text):
            self.out.add(
                "empty_content",
                f"{label} content is {'empty' if not text else 'whitespace-only'}",
                "Write the content or remove the message.",
            )
        _special_tokens(text, f"{label} content", self.out)

    def _system(self, index: int, label: str, value: str | tuple[str, ...] | None) -> None:
        if self.system_seen:
            self.out.add(
                "multiple_system",
                f"{label} is a second system prompt"
                + (" (there is a top-level 'system_prompt')" if self._top_level() else ""),
                "Merge them into one system message.",
            )
        elif index != 0:
            self.out.add(
                "system_not_first",
                f"{label} is not the first message; it is used as the system prompt anyway",
                "Move the system message to the start of the conversation.",
            )
        if not self.system_seen and isinstance(value, str):
            self.system_prompt = value
        self.system_seen = True

    def _top_level(self) -> bool:
        return self.obj.get("system_prompt") is not None

    def _weight(self, label: str, message: dict[str, Any]) -> float | None:
        value = message.get("weight")
        if value is None:
            return None
        if not isinstance(value, bool) and isinstance(value, int | float) and value in (0, 1):
            return float(value)
        self.out.add(
            "invalid_weight",
            f"{label} weight is {_show(value)}; it must be 0 or 1",
            "Use 1 to train on the turn, 0 to skip it (or leave 'weight' out).",
        )
        return None

    def _assistant_content(
        self,
        label: str,
        content: object,
        value: str | tuple[str, ...] | None,
        raw_calls: object,
    ) -> None:
        if content is not None and value is None:
            return  # content of the wrong type: already a schema error
        has_text = bool(value)
        has_calls = bool(raw_calls) if isinstance(raw_calls, list) else raw_calls is not None
        if has_text and has_calls:
            self.out.add(
                "content_and_tool_calls",
                f"{label} has both content and tool calls: {_show(content)}",
                'Give tool calls with "content": "" (or no content), and the text in another turn.',
            )
        elif not has_text and not has_calls and content is not None and value is not None:
            self.out.add(
                "empty_assistant",
                f"{label} has empty content and no tool calls",
                "Write the answer, or remove the turn.",
            )
        elif not has_text and not has_calls and raw_calls is not None:
            self.out.add(
                "empty_assistant",
                f"{label} has an empty tool_calls list and no content",
                "Give at least one tool call, or the answer as content.",
            )

    def _calls(self, label: str, raw: object, is_last: bool) -> tuple[tuple[ToolCall, ...], int]:
        if not isinstance(raw, list):
            self.out.add(
                "tool_calls_not_list",
                f"{label} tool_calls is a JSON {_json_type(raw)}, not a list: {_show(raw)}",
                'Give a list of {"id": ..., "type": "function", "function": {...}} objects.',
            )
            return (), 0
        calls: list[ToolCall] = []
        for position, call in enumerate(raw, start=1):
            made = self._call(f"{label} tool call {position}", call, is_last)
            if made is not None:
                calls.append(made)
        return tuple(calls), len(raw)

    def _call(self, label: str, raw: object, is_last: bool) -> ToolCall | None:
        hint = 'A tool call is {"id": "a1B2c3D4e", "function": {"name": ..., "arguments": "{}"}}.'
        call = call_object(self.out, label, raw, hint)
        if call is None:
            return None
        call_id = call.get("id")
        if "id" in call:
            self._call_id(label, call_id, is_last)
        return check_call_function(
            self.out,
            label,
            call,
            call_id,
            hint=hint,
            declared=self.declared,
            double_hint=_HINT_DOUBLE_ENCODED,
        )

    def _call_id(self, label: str, call_id: object, is_last: bool) -> None:
        if call_id == _NULL_CALL_ID and is_last:
            return
        if _call_id_ok(call_id):
            self.call_ids.add(call_id)
            return
        extra = " ('null' is allowed on the last message only)" if call_id == _NULL_CALL_ID else ""
        self.out.add(
            "invalid_call_id",
            f"{label} id {_show(call_id)} is not 9 letters or digits{extra}",
            _HINT_CALL_ID,
        )

    def _tool_message(self, label: str, message: dict[str, Any]) -> str | None:
        out = self.out
        call_id = message.get("tool_call_id")
        result: str | None = None
        if call_id is None:
            out.add(
                "missing_tool_call_id",
                f"{label} has no 'tool_call_id'",
                "Give the id of the tool call this message answers.",
            )
        elif not _call_id_ok(call_id):
            out.add(
                "invalid_tool_call_id",
                f"{label} tool_call_id {_show(call_id)} is not 9 letters or digits",
                _HINT_CALL_ID,
            )
        else:
            result = call_id
            if call_id not in self.call_ids:
                out.add(
                    "unmatched_tool_call_id",
                    f"{label} answers {_show(call_id)}, which no earlier tool call has as id",
                    "Use the id of the tool call this message answers.",
                )
        name = message.get("name")
        if name is not None and not _name_ok(name):
            out.add(
                "invalid_tool_name",
                f"{label} name {_show(name)} is not 1-64 letters, digits, _ or -",
                "Use the called function's name, or leave 'name' out.",
            )
        return result

    def _preference_and_kto(self, obj: dict[str, Any], where: str) -> None:
        pair = sorted(key for key in obj if key in _PREFERENCE_KEYS)
        if pair:
            keys = ", ".join(repr(key) for key in pair)
            self.out.add(
                "preference_pair",
                f"{where} holds preference data ({keys}); the platform would ignore these keys "
                "and train on the messages alone",
                _HINT_PREFERENCE,
            )
        for key in sorted(obj):
            if _undesirable(obj, key):
                self.out.add(
                    "kto_undesirable",
                    f"{where} has {key!r}: false, marking the answer as undesirable (KTO)",
                    _HINT_KTO,
                )

    def _unknown_keys(self) -> None:
        if not self.unknown:
            return
        listed = "; ".join(self.unknown[:_MAX_LISTED])
        more = f"; and {len(self.unknown) - _MAX_LISTED} more" if len(self.unknown) > 5 else ""
        self.out.add(
            "unknown_key",
            f"keys ignored by the platform: {listed}{more}",
            "Remove them, or keep them knowing they are not used for training.",
        )

    # ----------------------------------------------------------------- structure

    def _structure(self, *, had_system: bool) -> None:
        out, turns = self.out, self.turns
        if not turns:
            out.add(
                "no_messages",
                "no messages"
                + (" besides the system prompt" if had_system else "")
                + "; a conversation needs user and assistant turns",
                "Add a user message and the assistant's answer.",
            )
            return
        if len(turns) == 1 and turns[0].role != "user":
            out.add(
                "single_message",
                f"the only message (besides any system prompt) is {a_or_an(turns[0].role)} message",
                "A conversation starts with a user message followed by the assistant's answer.",
            )
        last = turns[-1]
        if last.role != "assistant":
            out.add(
                "last_not_assistant",
                f"the last message is {a_or_an(last.role)} message (message {last.number})",
                "End every conversation with the assistant turn to train on.",
            )
        if self._order():
            self._pairing()

    def _order(self) -> bool:
        ok = True
        for previous, turn in zip(self.turns, self.turns[1:], strict=False):
            if turn.role not in _NEXT_ROLES[previous.role]:
                ok = False
                self.out.add(
                    "role_order",
                    f"message {turn.number} ({turn.role}) follows {a_or_an(previous.role)} message",
                    "A tool message must follow the assistant turn whose call it answers.",
                )
        return ok

    def _pairing(self) -> None:
        """mistral-common's count rule: each assistant turn's calls are answered before the next.

        As there, the first message is not counted (so a conversation cannot open with a call),
        and calls left unanswered at the end are fine (a last turn may be a tool call).
        """
        expected = 0
        opened_by = 0
        for turn in self.turns[1:]:
            if turn.role == "tool":
                expected -= 1
            elif turn.role == "assistant":
                if expected != 0:
                    self._mismatch(turn.number, expected, opened_by)
                expected = turn.calls if turn.has_calls else 0
                opened_by = turn.number
        if expected < 0:
            self._mismatch(None, expected, opened_by)

    def _mismatch(self, at: int | None, expected: int, opened_by: int) -> None:
        where = f"before message {at}" if at is not None else "at the end"
        if expected > 0:
            what = f"{expected} tool call(s) of message {opened_by} left unanswered {where}"
        elif opened_by:
            what = f"{-expected} more tool message(s) than calls after message {opened_by} {where}"
        else:
            what = f"{-expected} tool message(s) with no tool call to answer {where}"
        self.out.add(
            "tool_count_mismatch",
            what,
            "Answer each tool call with one tool message before the next assistant turn "
            "(a conversation cannot open with a tool call).",
        )

    def _trained(self) -> None:
        """Warn when no assistant turn would be trained (all weights 0)."""
        assistants = [m for m in self.messages if m.role == "assistant"]
        if not assistants:
            return
        if self.has_tools:
            # mistral-finetune trains only the last message of conversations with tools.
            last = self.messages[-1]
            trained = last.role == "assistant" and last.weight != 0
            if not trained:
                self.out.add(
                    "nothing_trained",
                    "with tools, only the last assistant turn is trained, and it has weight 0",
                    "Give the last assistant turn weight 1 (or leave 'weight' out).",
                )
            return
        if all(m.weight == 0 for m in assistants):
            self.out.add(
                "nothing_trained",
                "every assistant turn has weight 0: nothing to train on",
                "Give at least one assistant turn weight 1 (or leave 'weight' out).",
            )


def _last_non_system(raw: list[Any]) -> int:
    """Index of the last message that is not a system message (-1 when there is none)."""
    for index in range(len(raw) - 1, -1, -1):
        item = raw[index]
        if not (isinstance(item, dict) and item.get("role") == "system"):
            return index
    return -1


def _role_hint(role: object) -> str:
    if isinstance(role, str):
        lowered = role.strip().lower()
        if lowered in ROLES:
            return f"Roles are lowercase: use {lowered!r}."
        if lowered in _ROLE_HINTS:
            return f"Use {_ROLE_HINTS[lowered]!r} for {role!r} turns."
    return "Use one of 'system', 'user', 'assistant', 'tool'."


def _undesirable(obj: dict[str, Any], key: str) -> bool:
    """A KTO label saying the answer is undesirable (CSV-born exports write it as text)."""
    value = obj[key]
    return key in _KTO_KEYS and (value is False or value == "false")


def iter_codes() -> Iterator[tuple[str, Category, Severity, str]]:
    """Every code with its category, severity and description (for docs/data.md and --help)."""
    for code, (category, severity, description) in CODES.items():
        yield code, category, severity, description


def decode_double_encoded(arguments: str) -> str | None:
    """The arguments decoded down to the JSON object or array text they hold, or None.

    ``"\"{\\\"city\\\": \\\"Paris\\\"}\""`` (a JSON string whose value is itself JSON
    object text) gives ``'{"city": "Paris"}'``. Only an object or array at the bottom counts: a
    JSON string that holds plain text (``"\"Paris\""``) is left alone.
    """
    text = arguments
    decoded = False
    for _ in range(8):  # more layers than anyone writes by accident
        try:
            value = orjson.loads(text)
        except ValueError:
            return None
        if isinstance(value, dict | list):
            return text if decoded else None
        if not isinstance(value, str):
            return None
        text = value
        decoded = True
    return None
