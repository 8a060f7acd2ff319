"""``tuner data fix``: safe fixes, each explained; what cannot be fixed is listed, never lost."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuner.datasets.errors import DataInputError
from tuner.datasets.fix import (
    CHANGE_CODES,
    Change,
    FixResult,
    fix_file,
    fix_line,
    fix_record,
)
from tuner.datasets.reader import MAX_LINE_BYTES
from tuner.datasets.rules import check_record

VALID_ID = re.compile(r"[a-zA-Z0-9]{9}")


def line(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj)


def chat(*turns: str) -> dict[str, Any]:
    roles = ["user", "assistant"]
    return {"messages": [{"role": roles[i % 2], "content": t} for i, t in enumerate(turns)]}


def tool_chat(
    call_id: Any, answer_id: Any, *, arguments: Any = '{"city": "Paris"}'
) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "w", "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": answer_id, "content": "sunny"},
            {"role": "assistant", "content": "It is sunny."},
        ]
    }


def run(tmp_path: Path, data: bytes, **kwargs: Any) -> tuple[FixResult, bytes]:
    """Fix ``data``; the output's bytes (b"" when no line was kept: then no file is written)."""
    src = tmp_path / "in.jsonl"
    src.write_bytes(data)
    out = tmp_path / "out.jsonl"
    # Hypothesis examples share tmp_path: OUT may be left from the previous example.
    out.unlink(missing_ok=True)
    result = fix_file(src, out, **kwargs)
    assert out.exists() != result.wrote_nothing
    return result, out.read_bytes() if out.exists() else b""


def codes(result: FixResult, number: int | None = None) -> list[str]:
    return [c.code for c in result.changes if number is None or c.line == number]


def assert_valid(data: bytes) -> None:
    expect = None
    for number, raw in enumerate(data.split(b"\n")[:-1], start=1):
        check = check_record(raw, path="out", line=number, expect=expect)
        assert check.sample is not None, check.findings
        expect = check.sample.kind


# --- files that need nothing ------------------------------------------------------------------


def test_valid_lines_are_copied_byte_for_byte(tmp_path: Path) -> None:
    # Spacing, key order, unknown keys and escapes are the user's: an untouched line keeps them.
    data = (
        b'{ "id": 7, "messages" : [{"role": "user", "content": "caf\\u00e9 \xf0\x9f\x98\x80"},'
        b' {"role": "assistant", "content": "ok", "weight": 1.0}], "extra": {"b": 1, "a": 2}}\n'
        + line(chat("a", "b"))
        + b"\n"
    )
    result, out = run(tmp_path, data)
    assert out == data
    assert result.changes == []
    assert (result.lines_read, result.lines_written, result.lines_changed) == (2, 2, 0)
    assert result.ok


def test_pretrain_lines_pass_through(tmp_path: Path) -> None:
    data = b'{"text": "a document"}\n{"text": "another"}\n'
    result, out = run(tmp_path, data)
    assert out == data and result.changes == []


# --- byte-level fixes -------------------------------------------------------------------------


def test_bom_crlf_and_blank_lines(tmp_path: Path) -> None:
    data = (
        b"\xef\xbb\xbf"
        + line(chat("a", "b"))
        + b"\r\n\r\n   \t\n"
        + line(chat("c", "d"))
        + b"\r\n"
        + line(chat("e", "f"))
        + b"\n"
    )
    result, out = run(tmp_path, data)
    assert out == b"".join(line(chat(*p)) + b"\n" for p in (("a", "b"), ("c", "d"), ("e", "f")))
    assert codes(result, 1) == ["bom_removed", "crlf_to_lf"]
    # Line numbers are the input's physical lines, blank ones included.
    assert codes(result, 2) == ["blank_line_removed"]
    assert codes(result, 3) == ["blank_line_removed"]
    assert codes(result, 4) == ["crlf_to_lf"]
    assert codes(result, 5) == []
    assert result.blank_dropped == 2
    assert (result.lines_read, result.lines_written, result.lines_changed) == (5, 3, 2)


def test_final_newline_is_added_and_said(tmp_path: Path) -> None:
    data = line(chat("a", "b")) + b"\n" + line(chat("c", "d"))
    result, out = run(tmp_path, data)
    assert out == data + b"\n"
    assert result.changes == [
        Change(2, "final_newline_added", "newline added at the end of the file")
    ]
    assert result.lines_changed == 1


# --- record-level fixes -----------------------------------------------------------------------


def test_aliases_are_renamed_in_place_keeping_key_order(tmp_path: Path) -> None:
    record = {
        "id": 1,
        "interactions": [
            {"role": "user", "text": "hi", "name": "ann"},
            {"role": "assistant", "text": "hello"},
        ],
        "meta": True,
    }
    result, out = run(tmp_path, line(record) + b"\n")
    fixed = orjson.loads(out)
    assert list(fixed) == ["id", "messages", "meta"]
    assert list(fixed["messages"][0]) == ["role", "content", "name"]
    assert fixed["messages"][1] == {"role": "assistant", "content": "hello"}
    assert codes(result) == ["interactions_renamed", "text_renamed", "text_renamed"]


def test_text_beside_content_is_left_for_the_user(tmp_path: Path) -> None:
    record = chat("a", "b")
    record["messages"][0]["text"] = "other"
    result, out = run(tmp_path, line(record) + b"\n")
    assert out == b""
    assert [f.code for f in result.unfixable] == ["text_and_content"]


def test_role_case_is_fixed_but_other_names_are_not(tmp_path: Path) -> None:
    fixable = {
        "messages": [{"role": "User", "content": "a"}, {"role": " assistant ", "content": "b"}]
    }
    unknown = {
        "messages": [{"role": "human", "content": "a"}, {"role": "assistant", "content": "b"}]
    }
    result, out = run(tmp_path, line(fixable) + b"\n" + line(unknown) + b"\n")
    assert out == line(chat("a", "b")) + b"\n"
    assert codes(result) == ["role_lowercased", "role_lowercased"]
    assert [(f.line, f.code) for f in result.unfixable] == [(2, "unknown_role")]


def test_arguments_object_becomes_a_json_string(tmp_path: Path) -> None:
    record = tool_chat("abcDEF123", "abcDEF123", arguments={"city": "Zürich", "days": 3})
    result, out = run(tmp_path, line(record) + b"\n")
    call = orjson.loads(out)["messages"][1]["tool_calls"][0]
    assert isinstance(call["function"]["arguments"], str)
    assert orjson.loads(call["function"]["arguments"]) == {"city": "Zürich", "days": 3}
    assert codes(result) == ["arguments_serialized"]
    assert_valid(out)


def test_invalid_ids_are_rewritten_consistently(tmp_path: Path) -> None:
    result, out = run(tmp_path, line(tool_chat("call_8f3a", "call_8f3a")) + b"\n")
    messages = orjson.loads(out)["messages"]
    new_id = messages[1]["tool_calls"][0]["id"]
    assert VALID_ID.fullmatch(new_id)
    assert messages[2]["tool_call_id"] == new_id
    assert codes(result) == ["tool_call_id_rewritten", "tool_call_id_rewritten"]
    assert "'call_8f3a'" in result.changes[0].description
    assert_valid(out)


def test_rewritten_ids_are_deterministic_and_unique(tmp_path: Path) -> None:
    record = {
        "messages": [
            {"role": "user", "content": "two cities"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": "call_1", "function": {"name": "w", "arguments": "{}"}},
                    {"id": 2, "function": {"name": "w", "arguments": "{}"}},
                    {"id": "keepMe123", "function": {"name": "w", "arguments": "{}"}},
                ],
            },
            {"role": "tool", "tool_call_id": 2, "content": "rain"},
            {"role": "tool", "tool_call_id": "call_1", "content": "sun"},
            {"role": "tool", "tool_call_id": "keepMe123", "content": "fog"},
            {"role": "assistant", "content": "done"},
            {"role": "user", "content": "again"},
            # The same old id reused in a later turn gets its own new id.
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": "call_1", "function": {"name": "w", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "snow"},
            {"role": "assistant", "content": "done again"},
        ]
    }
    first, out1 = run(tmp_path, line(record) + b"\n")
    second, out2 = run(tmp_path, line(record) + b"\n")
    assert out1 == out2 and first.changes == second.changes
    messages = orjson.loads(out1)["messages"]
    calls = [c["id"] for c in messages[1]["tool_calls"]]
    assert calls[2] == "keepMe123"
    later = messages[7]["tool_calls"][0]["id"]
    assert len({*calls, later}) == 4
    assert all(VALID_ID.fullmatch(i) for i in (*calls, later))
    # Each answer keeps answering the call it answered before.
    assert [messages[i]["tool_call_id"] for i in (2, 3, 4, 8)] == [
        calls[1],
        calls[0],
        calls[2],
        later,
    ]
    assert_valid(out1)


def test_null_id_on_the_last_call_is_left_alone() -> None:
    record = {
        "messages": [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "tool_calls": [{"id": "null", "function": {"name": "w", "arguments": "{}"}}],
            },
        ]
    }
    assert fix_record(record) == []


def test_a_missing_id_is_filled_when_the_pairing_is_certain(tmp_path: Path) -> None:
    both_missing = tool_chat(None, None)
    del both_missing["messages"][1]["tool_calls"][0]["id"]
    del both_missing["messages"][2]["tool_call_id"]
    answer_has_it = tool_chat(None, "Qw3rtY789")
    result, out = run(tmp_path, line(both_missing) + b"\n" + line(answer_has_it) + b"\n")
    rows = [orjson.loads(x) for x in out.splitlines()]
    for row in rows:
        call = row["messages"][1]["tool_calls"][0]
        assert next(iter(call)) == "id"
        assert VALID_ID.fullmatch(call["id"])
        assert row["messages"][2]["tool_call_id"] == call["id"]
    assert rows[1]["messages"][1]["tool_calls"][0]["id"] == "Qw3rtY789"
    assert codes(result) == ["tool_call_id_added", "tool_call_id_added"]
    assert_valid(out)


def test_parallel_calls_without_ids_are_not_guessed(tmp_path: Path) -> None:
    record = {
        "messages": [
            {"role": "user", "content": "two cities"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"function": {"name": "w", "arguments": "{}"}},
                    {"function": {"name": "w", "arguments": "{}"}},
                ],
            },
            {"role": "tool", "content": "rain"},
            {"role": "tool", "content": "sun"},
            {"role": "assistant", "content": "done"},
        ]
    }
    result, out = run(tmp_path, line(record) + b"\n")
    assert out == b""
    assert {f.code for f in result.unfixable} == {"tool_call_missing_key", "missing_tool_call_id"}


def test_trailing_non_assistant_messages_are_dropped_only_when_asked(tmp_path: Path) -> None:
    data = line(chat("a", "b", "c")) + b"\n" + line(tool_chat("abcDEF123", "abcDEF123")) + b"\n"
    without, out = run(tmp_path, data)
    assert out == line(tool_chat("abcDEF123", "abcDEF123")) + b"\n"
    assert [(f.line, f.code) for f in without.unfixable] == [(1, "last_not_assistant")]

    result, out = run(tmp_path, data, drop_trailing_non_assistant=True)
    assert out.splitlines()[0] == line(chat("a", "b"))
    assert result.changes == [
        Change(
            1,
            "trailing_non_assistant_dropped",
            "1 message(s) after the last assistant turn removed (user)",
        )
    ]
    assert result.ok


def test_dropping_never_empties_a_conversation(tmp_path: Path) -> None:
    record = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}
    result, out = run(tmp_path, line(record) + b"\n", drop_trailing_non_assistant=True)
    assert out == b""
    assert [f.code for f in result.unfixable] == ["last_not_assistant"]
    assert codes(result) == []


# --- what cannot be fixed ---------------------------------------------------------------------


def test_unfixable_lines_are_listed_with_all_their_errors(tmp_path: Path) -> None:
    bad = (
        b'{"messages": [{"role": "user", "content": 3},'
        b' {"role": "assistant", "content": "x", "weight": 2}]}'
    )
    data = line(chat("a", "b")) + b"\n" + bad + b"\n\xff\xfe\n" + b"{'single': 1}\n"
    rejects = tmp_path / "rejects.jsonl"
    result, out = run(tmp_path, data, rejects=rejects)
    assert out == line(chat("a", "b")) + b"\n"
    assert result.unfixable_lines == 3 and not result.ok
    by_line = {(f.line, f.code) for f in result.unfixable}
    assert {(2, "content_not_string"), (2, "invalid_weight")} <= by_line
    assert (3, "invalid_utf8") in by_line
    assert (4, "single_quotes") in by_line
    assert all(f.is_error and f.path.endswith("in.jsonl") for f in result.unfixable)
    # The rejected lines are kept as they were, so nothing is lost.
    assert rejects.read_bytes() == bad + b"\n\xff\xfe\n{'single': 1}\n"


def test_a_line_over_the_size_limit_goes_to_rejects_whole(tmp_path: Path) -> None:
    huge = b'{"text": "' + b"x" * MAX_LINE_BYTES + b'"}'
    data = b'{"text": "a"}\r\n' + huge + b'\r\n{"text": "b"}\n'
    rejects = tmp_path / "rejects.jsonl"
    result, out = run(tmp_path, data, rejects=rejects)
    assert out == b'{"text": "a"}\n{"text": "b"}\n'
    assert [(f.line, f.code) for f in result.unfixable] == [(2, "line_too_long")]
    assert rejects.read_bytes() == huge + b"\r\n"


def test_lines_with_repeated_keys_are_not_reserialised() -> None:
    # orjson would keep only the last "messages": the line is left for the user instead.
    data = (
        b'{"messages": [], "messages": [{"role": "user", "text": "a"},'
        b' {"role": "assistant", "content": "b"}]}'
    )
    assert fix_line(data) == (data, [])


def test_big_integers_survive_reserialisation() -> None:
    record = chat("a", "b")
    record["messages"][0]["text"] = record["messages"][0].pop("content")
    data = line(record)[:-1] + b',"id":123456789012345678901234567890}'
    fixed, changes = fix_line(data)
    assert b'"id":123456789012345678901234567890' in fixed
    assert [code for code, _ in changes] == ["text_renamed"]


def test_every_change_code_is_documented(tmp_path: Path) -> None:
    record = tool_chat("bad id", "bad id", arguments={"x": 1})
    record["interactions"] = record.pop("messages")
    record["interactions"][0] = {"role": "User", "text": "hi"}
    record["interactions"].append({"role": "user", "content": "more"})
    data = b"\xef\xbb\xbf" + line(record) + b"\r\n\n" + line(tool_chat(None, None))
    result, _ = run(tmp_path, data, drop_trailing_non_assistant=True)
    assert set(codes(result)) == set(CHANGE_CODES)


# --- in place, atomicity and bad inputs -------------------------------------------------------


def test_in_place(tmp_path: Path) -> None:
    src = tmp_path / "data.jsonl"
    src.write_bytes(line(tool_chat("x", "x")) + b"\n\n")
    result = fix_file(src, in_place=True)
    assert result.lines_written == 1
    assert_valid(src.read_bytes())
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]


class Boom(Exception):
    pass


class FailingProgress:
    def __init__(self) -> None:
        self.advanced = 0

    def start(self, task: str, total: int | None = None, unit: str = "") -> None:
        return None

    def advance(self, amount: int = 1) -> None:
        self.advanced += amount
        if self.advanced == 2:
            raise Boom

    def finish(self) -> None:
        return None


def test_a_failure_midway_leaves_the_input_untouched(tmp_path: Path) -> None:
    src = tmp_path / "data.jsonl"
    original = b"".join(line(tool_chat("x", "x")) + b"\n" for _ in range(3))
    src.write_bytes(original)
    with pytest.raises(Boom):
        fix_file(src, in_place=True, progress=FailingProgress())
    assert src.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p / "missing.jsonl", "no such file"),
        (lambda p: p, "is a directory"),
        (lambda p: (p / "empty.jsonl", (p / "empty.jsonl").write_bytes(b""))[0], "empty"),
    ],
)
def test_unreadable_inputs_are_one_line_errors(tmp_path: Path, make: Any, reason: str) -> None:
    with pytest.raises(DataInputError) as info:
        fix_file(make(tmp_path), tmp_path / "out.jsonl")
    assert reason in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out.jsonl").exists()


# --- properties -------------------------------------------------------------------------------

ids = st.one_of(
    st.from_regex(r"[a-zA-Z0-9]{9}", fullmatch=True),
    st.text(min_size=1, max_size=12).filter(lambda s: not VALID_ID.fullmatch(s)),
    st.integers(min_value=0, max_value=99),
)
words = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=20
).filter(lambda s: s.strip() != "")


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(["content", "text"]))
        messages.append({"role": draw(st.sampled_from(["user", "User"])), key: draw(words)})
        if draw(st.booleans()):
            n = draw(st.integers(1, 3))
            call_ids = draw(st.lists(ids, min_size=n, max_size=n, unique=True))
            arguments = draw(st.sampled_from(['{"a": 1}', {"a": [1, "x"]}]))
            calls = [{"id": i, "function": {"name": "f", "arguments": arguments}} for i in call_ids]
            messages.append({"role": "assistant", "content": "", "tool_calls": calls})
            messages += [{"role": "tool", "tool_call_id": i, "content": "r"} for i in call_ids]
        messages.append({"role": "assistant", "content": draw(words)})
    key = draw(st.sampled_from(["messages", "interactions"]))
    return {key: messages}


@settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(conversations(), min_size=1, max_size=5), crlf=st.booleans())
def test_fixing_makes_valid_lines_and_is_idempotent(
    tmp_path: Path, records: list[dict[str, Any]], crlf: bool
) -> None:
    ending = b"\r\n" if crlf else b"\n"
    data = b"".join(line(r) + ending for r in records)
    result, out = run(tmp_path, data)
    assert result.ok, result.unfixable
    assert result.lines_written == len(records)
    assert_valid(out)
    again, out_again = run(tmp_path, out)
    assert out_again == out and again.changes == []
