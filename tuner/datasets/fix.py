"""``tuner data fix``: repair what can be repaired safely, and say what was done, line by line.

Only fixes whose meaning is unambiguous are made; each one is recorded as a :class:`Change` with
a stable ``code`` (part of the ``--json`` output: never rename one):

- ``bom_removed``: a UTF-8 byte-order mark before line 1 removed.
- ``blank_line_removed``: a blank or whitespace-only line removed.
- ``crlf_to_lf``: the line's CRLF ending written as LF.
- ``final_newline_added``: the last line had no newline; one is written.
- ``interactions_renamed``: ``interactions`` renamed ``messages`` (same position).
- ``role_lowercased``: a role that differs from a valid one only in case or surrounding
  spaces (``"User"``) written in lowercase.
- ``text_renamed``: ``text`` on a message renamed ``content`` (same position).
- ``arguments_serialized``: a tool call's ``arguments`` object written as a JSON string.
- ``tool_call_id_added``: a missing call id or ``tool_call_id`` filled in where one call is
  answered by one tool message (the pairing is certain; with parallel calls it is not).
- ``tool_call_id_rewritten``: an id not matching ``^[a-zA-Z0-9]{9}$`` replaced by a
  deterministic one, in the call and in the tool messages that answer it.
- ``trailing_non_assistant_dropped`` (opt-in): messages after the last assistant turn removed,
  as mistral-finetune's ``reformat_data.py`` does.

Aliases (``interactions``, ``text`` on messages) are accepted by the platform, so renaming them
is not needed for upload; we still write the canonical names because every other consumer of
the file (mistral-finetune's own tooling, OpenAI-format readers, our evaluator) knows them, and
the rename cannot change meaning: it is only made when the canonical key is absent, at the same
position in the object. ``available_tools`` and ``system_prompt`` are left alone: turning a
top-level system prompt into a message would choose a position the data did not state. Roles
are only lowercased: guessing that ``bot`` means ``assistant`` is ``tuner data convert``'s job,
with a mapping the user states.

After fixing, every line is checked again with the validator's own per-line rules; lines that
still have errors are not written to OUT but listed in :attr:`FixResult.unfixable` (all their
error findings, with the input's line numbers) and, when ``rejects`` is given, copied unchanged
to that file, so nothing is lost.

Unchanged lines are copied byte for byte. A changed line is re-serialised with orjson; it is
re-parsed first with the standard library, which keeps integers beyond 64 bits exact (orjson
would turn them into floats) and lets us refuse lines whose objects repeat a key (re-serialising
would silently keep only the last value): such lines are left as they are.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

import orjson

from tuner.datasets.findings import Finding
from tuner.datasets.lines import check_input, copy_span
from tuner.datasets.reader import RawLine, iter_lines
from tuner.datasets.rules import ROLES, check_record, oversized_finding
from tuner.fsutil import (
    NewFileWriter,
    OutputRefused,
    atomic_writer,
    check_output,
    prepare_outputs,
    same_file,
)
from tuner.progress import NULL_PROGRESS, Progress

Format = Literal["instruct", "pretrain"]

BOM = b"\xef\xbb\xbf"
VALID_ID = re.compile(r"[a-zA-Z0-9]{9}")
NULL_CALL_ID = "null"
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_LENGTH = 9


# code -> what it means; every Change carries one of these (docs/data.md's table comes from here).
CHANGE_CODES: dict[str, str] = {
    "bom_removed": "A UTF-8 byte-order mark before line 1 removed.",
    "blank_line_removed": "A blank or whitespace-only line removed.",
    "crlf_to_lf": "A CRLF line ending written as LF.",
    "final_newline_added": "The last line had no newline; one is written.",
    "interactions_renamed": "'interactions' renamed 'messages'.",
    "role_lowercased": "A role such as 'User' written in lowercase.",
    "text_renamed": "'text' on a message renamed 'content'.",
    "arguments_serialized": "A tool call's 'arguments' object written as a JSON string.",
    "tool_call_id_added": "A missing id filled in where one call is answered by one tool message.",
    "tool_call_id_rewritten": "An invalid call id replaced, in the call and in its answers.",
    "trailing_non_assistant_dropped": "Messages after the last assistant turn removed (opt-in).",
}


@dataclass(frozen=True, slots=True)
class Change:
    line: int  # the input's 1-based physical line
    code: str
    description: str


@dataclass(slots=True)
class FixResult:
    path: str
    out: str
    lines_read: int = 0
    lines_written: int = 0
    # Lines written with at least one change (blank lines removed are counted apart).
    lines_changed: int = 0
    blank_dropped: int = 0
    # Lines left out of OUT because errors remain; their findings are in ``unfixable``.
    unfixable_lines: int = 0
    changes: list[Change] = field(default_factory=list)
    unfixable: list[Finding] = field(default_factory=list)
    # Where the unfixable lines were copied; None when no line was rejected (no file made).
    rejects: str | None = None
    # Temporary files of killed runs removed from the output folder before writing.
    temps_removed: list[str] = field(default_factory=list)

    @property
    def wrote_nothing(self) -> bool:
        """True when no line was written, so OUT was not written (or replaced) at all."""
        return self.lines_written == 0

    @property
    def ok(self) -> bool:
        """True when every non-blank line made it into OUT."""
        return self.unfixable_lines == 0


# --- fixes on one parsed record ---------------------------------------------------------------

# (code, description) pairs, in the order the fixes were made.
RecordChanges = list[tuple[str, str]]


def fix_record(
    record: dict[str, Any], *, drop_trailing_non_assistant: bool = False
) -> RecordChanges:
    """Apply every safe fix to one parsed line, in place; return what was changed.

    Records that are not instruct conversations (pretrain lines, or shapes too broken to read)
    are left alone: the re-check reports them.
    """
    changes: RecordChanges = []
    changes += rename_interactions(record)
    messages = record.get("messages")
    if not isinstance(messages, list):
        return changes
    for index, message in enumerate(messages):
        if isinstance(message, dict):
            changes += lowercase_role(message, index)
            changes += rename_text(message, index)
            changes += serialize_arguments(message, index)
    if drop_trailing_non_assistant:
        changes += drop_trailing(messages)
    changes += fill_missing_ids(messages)
    changes += rewrite_invalid_ids(messages)
    return changes


def _rename_key(obj: dict[str, Any], old: str, new: str) -> None:
    """Rename ``old`` to ``new`` keeping its position, so the rest of the line reads the same."""
    items = [(new if key == old else key, value) for key, value in obj.items()]
    obj.clear()
    obj.update(items)


def rename_interactions(record: dict[str, Any]) -> RecordChanges:
    if "interactions" not in record or "messages" in record:
        return []
    _rename_key(record, "interactions", "messages")
    return [("interactions_renamed", "'interactions' renamed 'messages'")]


def lowercase_role(message: dict[str, Any], index: int) -> RecordChanges:
    """``"User"`` or ``" assistant"`` -> the role it plainly is; other names (``bot``) are left."""
    role = message.get("role")
    if not isinstance(role, str) or role in ROLES or role.strip().lower() not in ROLES:
        return []
    message["role"] = role.strip().lower()
    return [("role_lowercased", f"message {index + 1}: role {role!r} written {message['role']!r}")]


def rename_text(message: dict[str, Any], index: int) -> RecordChanges:
    if "text" not in message or "content" in message:
        return []
    _rename_key(message, "text", "content")
    return [("text_renamed", f"message {index + 1}: 'text' renamed 'content'")]


def _dumps(value: Any) -> bytes:
    """Compact JSON; the standard library takes over for integers orjson cannot hold (> 64 bits)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        # orjson.JSONEncodeError is a TypeError; json.dumps keeps big integers exact.
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode("utf-8")


def serialize_arguments(message: dict[str, Any], index: int) -> RecordChanges:
    calls = message.get("tool_calls")
    if not isinstance(calls, list):
        return []
    changes: RecordChanges = []
    for position, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("arguments"), dict):
            continue
        function["arguments"] = _dumps(function["arguments"]).decode("utf-8")
        changes.append(
            (
                "arguments_serialized",
                f"message {index + 1}, tool call {position + 1}: 'arguments' object written as a"
                " JSON string",
            )
        )
    return changes


def _role(message: object) -> object:
    return message.get("role") if isinstance(message, dict) else None


def drop_trailing(messages: list[Any]) -> RecordChanges:
    """Remove messages after the last assistant turn, as mistral-finetune's reformat_data.py does.

    Nothing is removed when no assistant turn exists: that conversation has nothing to train on
    and emptying it would only hide the real problem from the re-check.
    """
    last = max((i for i, m in enumerate(messages) if _role(m) == "assistant"), default=None)
    if last is None or last == len(messages) - 1:
        return []
    dropped = messages[last + 1 :]
    del messages[last + 1 :]
    roles = ", ".join(str(_role(m)) for m in dropped)
    return [
        (
            "trailing_non_assistant_dropped",
            f"{len(dropped)} message(s) after the last assistant turn removed ({roles})",
        )
    ]


def _is_missing(value: object) -> bool:
    return value is None or value == ""


def _responses(messages: list[Any], index: int) -> list[dict[str, Any]]:
    """The consecutive tool messages right after ``messages[index]``: the answers to its calls."""
    answers: list[dict[str, Any]] = []
    for message in messages[index + 1 :]:
        if _role(message) != "tool":
            break
        answers.append(message)
    return answers


def fill_missing_ids(messages: list[Any]) -> RecordChanges:
    """Fill a missing call id or ``tool_call_id`` when one call is answered by one tool message.

    With several parallel calls the order of the answers says nothing certain about which
    answers which, so those are left for the user.
    """
    changes: RecordChanges = []
    taken = _ids_in(messages)
    for index, message in enumerate(messages):
        calls = message.get("tool_calls") if _role(message) == "assistant" else None
        if not isinstance(calls, list) or len(calls) != 1 or not isinstance(calls[0], dict):
            continue
        answers = _responses(messages, index)
        if len(answers) != 1:
            continue
        call, answer = calls[0], answers[0]
        new_id = _shared_id(call.get("id"), answer.get("tool_call_id"), index, taken)
        if new_id is None:
            continue
        _set_call_id(call, new_id)
        answer["tool_call_id"] = new_id
        changes.append(
            (
                "tool_call_id_added",
                f"message {index + 1}: the single tool call and its answer now share id {new_id!r}",
            )
        )
    return changes


def _shared_id(call_id: object, answer_id: object, index: int, taken: set[str]) -> object:
    """The id a lone call and its lone answer should share, or None when nothing is missing.

    The id one side already has is kept (the rewrite that follows makes it valid if it is not);
    a fresh one is made only when both lack it.
    """
    call_missing, answer_missing = _is_missing(call_id), _is_missing(answer_id)
    if not call_missing and not answer_missing:
        return None
    if call_missing and answer_missing:
        new_id = _fresh_id(f"added:{index}", taken)
        taken.add(new_id)
        return new_id
    present = answer_id if call_missing else call_id
    # Copying an object or a list into the other side would only double the error.
    return present if _is_scalar_id(present) else None


def _set_call_id(call: dict[str, Any], new_id: object) -> None:
    if "id" in call:
        call["id"] = new_id
        return
    # A new key goes first, where tools that write calls put it.
    items = list(call.items())
    call.clear()
    call["id"] = new_id
    call.update(items)


def _is_valid_id(value: object) -> bool:
    return isinstance(value, str) and VALID_ID.fullmatch(value) is not None


def _ids_in(messages: list[Any]) -> set[str]:
    """Every valid id already used in the conversation: new ids must not collide with them."""
    ids: set[str] = set()
    for message in messages:
        if not isinstance(message, dict):
            continue
        if _is_valid_id(message.get("tool_call_id")):
            ids.add(message["tool_call_id"])
        calls = message.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict) and _is_valid_id(call.get("id")):
                ids.add(call["id"])
    return ids


def _fresh_id(seed: str, taken: set[str]) -> str:
    """A valid id derived from ``seed`` (deterministic: the same input gives the same output)."""
    attempt = 0
    while True:
        digest = hashlib.blake2b(f"{seed}\x1f{attempt}".encode(), digest_size=16).digest()
        number = int.from_bytes(digest, "big")
        chars = []
        for _ in range(_ID_LENGTH):
            number, rest = divmod(number, len(_ID_ALPHABET))
            chars.append(_ID_ALPHABET[rest])
        candidate = "".join(chars)
        if candidate not in taken:
            return candidate
        attempt += 1


def _is_scalar_id(value: object) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _rewritable(value: object) -> bool:
    """An id we can replace: present, not valid, and a plain scalar we can key a mapping on."""
    return _is_scalar_id(value) and not _is_valid_id(value)


def rewrite_invalid_ids(messages: list[Any]) -> RecordChanges:
    """Replace invalid call ids with valid ones, the same way in calls and in their answers.

    Each assistant call gets its own new id (even when the data reused one old id across turns),
    and a tool message takes the id of the latest call that used its old id, which is the call
    it answers. A ``tool_call_id`` that matches no call is still made valid (the validator then
    warns that it answers nothing, as it would have before).
    """
    taken = _ids_in(messages)
    current: dict[str | int, str] = {}
    occurrences: dict[str | int, int] = {}
    changes: RecordChanges = []

    def replacement(old: str | int) -> str:
        occurrences[old] = occurrences.get(old, 0) + 1
        new = _fresh_id(f"{type(old).__name__}:{old}\x1f{occurrences[old]}", taken)
        taken.add(new)
        current[old] = new
        return new

    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        calls = message.get("tool_calls")
        # mistral-common's default id "null" is accepted on the last message's calls: leave it.
        null_ok = index == len(messages) - 1
        for call in calls if isinstance(calls, list) else []:
            if not isinstance(call, dict) or (null_ok and call.get("id") == NULL_CALL_ID):
                continue
            if _rewritable(call.get("id")):
                old = call["id"]
                call["id"] = replacement(old)
                changes.append(_id_change(index, "tool call id", old, call["id"]))
        if _rewritable(message.get("tool_call_id")):
            old = message["tool_call_id"]
            new = current.get(old) or replacement(old)
            message["tool_call_id"] = new
            changes.append(_id_change(index, "tool_call_id", old, new))
    return changes


def _id_change(index: int, what: str, old: object, new: str) -> tuple[str, str]:
    return ("tool_call_id_rewritten", f"message {index + 1}: {what} {old!r} rewritten to {new!r}")


# --- one line ---------------------------------------------------------------------------------


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKeyError
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _faithful_parse(data: bytes) -> Any:
    """Parse keeping big integers exact; None when re-serialising could lose anything."""
    try:
        return json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError):
        # RecursionError: nesting orjson accepts can still be too deep for the stdlib parser.
        return None


def fix_line(
    data: bytes, *, drop_trailing_non_assistant: bool = False
) -> tuple[bytes, RecordChanges]:
    """The fixed bytes of one line (no newline) and what changed; the input when nothing did."""
    try:
        quick = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data, []
    # orjson is fast and decides whether anything needs fixing at all (the common case: no).
    if not isinstance(quick, dict) or not fix_record(
        quick, drop_trailing_non_assistant=drop_trailing_non_assistant
    ):
        return data, []
    record = _faithful_parse(data)
    if not isinstance(record, dict):
        return data, []
    changes = fix_record(record, drop_trailing_non_assistant=drop_trailing_non_assistant)
    try:
        return _dumps(record), changes
    except (TypeError, UnicodeEncodeError, RecursionError):
        return data, []


# --- files ---------------------------------------------------------------------------------


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


@dataclass(slots=True)
class _Fixer:
    """Fixes, re-checks and routes the lines of one file, in order."""

    result: FixResult
    drop_trailing: bool
    expect: Format | None
    out: BinaryIO
    rejects: NewFileWriter
    last_written: int | None = None
    # Where the current line starts in the input: an over-long line is copied from there.
    offset: int = 0

    def line(self, raw: RawLine) -> None:
        self.result.lines_read += 1
        try:
            self._route(raw)
        finally:
            self.offset += raw.size + raw.crlf + 1

    def _route(self, raw: RawLine) -> None:
        if raw.data is None:
            self._unfixable(raw, [oversized_finding(self.result.path, raw)])
            return
        data, changes = _byte_fixes(raw, raw.data)
        if not data.strip():
            self.result.blank_dropped += 1
            self.result.changes.append(Change(raw.number, "blank_line_removed", "blank line"))
            return
        fixed, record_changes = fix_line(data, drop_trailing_non_assistant=self.drop_trailing)
        check = check_record(fixed, path=self.result.path, line=raw.number, expect=self.expect)
        if check.sample is None:
            self._unfixable(raw, check.findings)
            return
        if self.expect is None:
            self.expect = check.sample.kind
        changes += [Change(raw.number, code, text) for code, text in record_changes]
        self._write(raw.number, fixed, changes)

    def _write(self, number: int, data: bytes, changes: list[Change]) -> None:
        self.out.write(data + b"\n")
        self.last_written = number
        self.result.lines_written += 1
        self.result.lines_changed += bool(changes)
        self.result.changes.extend(changes)

    def _unfixable(self, raw: RawLine, findings: list[Finding]) -> None:
        self.result.unfixable_lines += 1
        self.result.unfixable.extend(f for f in findings if f.is_error)
        # The original bytes (CRLF, BOM and all): the user repairs them by hand. The file is
        # created here, on the first rejected line.
        ending = b"\r\n" if raw.crlf else b"\n"
        rejects = self.rejects.open()
        if raw.data is not None:
            rejects.write(raw.data + ending)
        else:
            copy_span(Path(self.result.path), self.offset, raw.size, rejects)
            rejects.write(ending)

    def final_newline(self, last: RawLine) -> None:
        """Every written line ends in a newline; say so when the input's last line had none."""
        if self.last_written != last.number or _ends_with_newline(Path(self.result.path)):
            return
        change = Change(last.number, "final_newline_added", "newline added at the end of the file")
        if not any(c.line == last.number for c in self.result.changes):
            self.result.lines_changed += 1
        self.result.changes.append(change)


def _byte_fixes(raw: RawLine, data: bytes) -> tuple[bytes, list[Change]]:
    """Fixes below the JSON level: the BOM of line 1 and the CRLF ending."""
    changes: list[Change] = []
    if raw.number == 1 and data.startswith(BOM):
        data = data[len(BOM) :]
        changes.append(Change(1, "bom_removed", "UTF-8 byte-order mark removed"))
    if raw.crlf and data.strip():
        changes.append(Change(raw.number, "crlf_to_lf", "CRLF line ending written as LF"))
    return data, changes


def default_rejects_path(out: str | os.PathLike[str]) -> Path:
    """``<stem of OUT>.rejects.jsonl`` beside OUT (a numbered one when that name is taken)."""
    target = Path(out)
    return target.with_name(f"{target.stem}.rejects.jsonl")


def fix_file(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    in_place: bool = False,
    drop_trailing_non_assistant: bool = False,
    rejects: str | os.PathLike[str] | None = None,
    expect: Format | None = None,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
) -> FixResult:
    """Write the fixed lines of ``src`` to ``out``, or back to ``src`` with ``in_place``.

    ``in_place`` is the consent to replace ``src``; otherwise ``out`` must not exist and must not
    be ``src`` unless ``force`` (:func:`tuner.fsutil.prepare_outputs`, which raises
    :class:`~tuner.fsutil.OutputRefused`).

    Lines that cannot be fixed are copied unchanged to ``rejects`` (default:
    :func:`default_rejects_path`). That file is created only when a line is first rejected and
    never written over a file: when its name is taken (say by an earlier run's rejects), the
    lines go to a numbered file beside it (``<stem>.rejects.2.jsonl``, …), so no later run can
    lose them. :attr:`FixResult.rejects` says where they are. ``rejects`` naming ``src`` is
    refused unless ``force``.

    OUT is written to a temporary file and renamed into place at the end (after the rejects are
    safe), so the input is never half-overwritten. When no line is written, OUT is not written
    at all (``src`` stays as it was with ``in_place``).
    """
    source = check_input(src)
    if in_place and out is not None and not same_file(out, source):
        raise ValueError("in_place writes back to the input: give no other output path")
    if not in_place and out is None:
        raise ValueError("give an output path, or in_place to replace the input")
    target = source if in_place else Path(cast("str | os.PathLike[str]", out))
    rejects_path = Path(rejects) if rejects is not None else default_rejects_path(target)
    removed = prepare_outputs([target], [source], force=force or in_place)
    if same_file(rejects_path, target):
        raise OutputRefused(
            f"{rejects_path} is named for both the output and the rejects",
            "Give the rejects file its own path.",
        )
    # Never overwritten (an existing name gets a numbered file beside it), but naming the input
    # is most likely a slip: refused like any output over an input.
    check_output(rejects_path, [source], force=force or not same_file(rejects_path, source))
    result = FixResult(path=str(source), out=str(target))
    result.temps_removed = [str(p) for p in removed]
    progress.start("fix", total=None, unit="lines")
    reject_file = NewFileWriter(rejects_path)
    try:
        with atomic_writer(target, keep_empty=False) as handle:
            fixer = _Fixer(result, drop_trailing_non_assistant, expect, handle, reject_file)
            last: RawLine | None = None
            for raw in iter_lines(source):
                fixer.line(raw)
                progress.advance()
                last = raw
            if last is not None:
                fixer.final_newline(last)
            # The rejects first: once OUT replaces the input, they are the only copy.
            committed = reject_file.commit()
            result.rejects = None if committed is None else str(committed)
    except BaseException:
        reject_file.discard()
        raise
    progress.finish()
    return result
