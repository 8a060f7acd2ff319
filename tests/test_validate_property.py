"""Properties: the line checker never raises, and the report accounts for every line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuner.datasets.findings import Severity
from tuner.datasets.rules import CODES, LineCheck, check_record
from tuner.datasets.samples import InstructSample, PretrainSample, sample_key
from tuner.datasets.validate import ValidateOptions, validate_paths


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for all examples of a hypothesis test (a file in it is rewritten)."""
    return tmp_path_factory.mktemp("examples")


SETTINGS = settings(max_examples=300, deadline=None)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

# Pieces of conversations, right and wrong, so generated lines reach the deep rules.
roles = st.sampled_from(["system", "user", "assistant", "tool", "User", "bot", None, 3])
contents = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "  ", "[INST] hi", "<|im_start|>", "ok"]),
    st.none(),
    st.integers(),
    st.lists(
        st.one_of(
            st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=5)}),
            st.fixed_dictionaries({"type": st.just("image_url"), "image_url": st.text()}),
            json_values,
        ),
        max_size=3,
    ),
)
call_ids = st.sampled_from(["abcDEF123", "a1b2c3d4e", "null", "bad", 7, None])
calls = st.fixed_dictionaries(
    {},
    optional={
        "id": call_ids,
        "type": st.just("function"),
        "function": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "name": st.sampled_from(["get_weather", "bad name", "", 5]),
                    "arguments": st.sampled_from(['{"a": 1}', "nope", {"a": 1}, None]),
                },
            ),
            json_values,
        ),
    },
)
messages = st.fixed_dictionaries(
    {},
    optional={
        "role": roles,
        "content": contents,
        "text": contents,
        "tool_calls": st.one_of(st.none(), st.lists(calls, max_size=3), json_values),
        "tool_call_id": call_ids,
        "weight": st.sampled_from([0, 1, 1.0, 0.5, True, "1", None]),
        "name": st.sampled_from(["get_weather", "a b", None]),
        "extra": json_values,
    },
)
tools = st.fixed_dictionaries(
    {},
    optional={
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {},
            optional={
                "name": st.sampled_from(["get_weather", "bad name", 1]),
                "description": st.sampled_from(["d", None, 2]),
                "parameters": st.sampled_from(
                    [{}, {"type": "object"}, {"type": 5}, "x", {"properties": []}]
                ),
            },
        ),
    },
)
conversations = st.fixed_dictionaries(
    {},
    optional={
        "messages": st.one_of(st.lists(messages, max_size=6), json_values),
        "interactions": st.lists(messages, max_size=3),
        "tools": st.one_of(st.lists(tools, max_size=2), json_values),
        "available_tools": st.lists(tools, max_size=1),
        "system_prompt": st.one_of(st.text(max_size=5), st.none(), st.integers()),
        "text": contents,
        "content": contents,
        "labels": json_values,
        "id": json_values,
    },
)
expects = st.sampled_from([None, "instruct", "pretrain"])


def assert_well_formed(result: LineCheck) -> None:
    has_error = False
    for finding in result.findings:
        assert finding.code in CODES
        assert finding.code != "check_failed", finding.message
        category, severity, _ = CODES[finding.code]
        assert (finding.category, finding.severity) == (category, severity)
        assert (finding.path, finding.line) == ("p.jsonl", 3)
        json.dumps(finding.to_dict()).encode("utf-8")
        has_error = has_error or severity is Severity.ERROR
    # The sample is there exactly when the line has no error.
    assert (result.sample is None) == has_error
    if result.sample is not None:
        assert result.kind == result.sample.kind
        assert isinstance(result.sample, InstructSample | PretrainSample)
        assert len(sample_key(result.sample)) == 32


@SETTINGS
@given(data=st.binary(max_size=200), expect=expects)
def test_random_bytes_never_raise(data: bytes, expect: Any) -> None:
    assert_well_formed(check_record(data, path="p.jsonl", line=3, expect=expect))


@SETTINGS
@given(value=json_values, expect=expects)
def test_random_json_never_raises(value: Any, expect: Any) -> None:
    data = json.dumps(value).encode()
    assert_well_formed(check_record(data, path="p.jsonl", line=3, expect=expect))


@SETTINGS
@given(line=conversations, expect=expects)
def test_random_conversations_never_raise(line: dict[str, Any], expect: Any) -> None:
    data = json.dumps(line).encode()
    assert_well_formed(check_record(data, path="p.jsonl", line=3, expect=expect))


@SETTINGS
@given(line=conversations, cut=st.integers(min_value=0, max_value=400))
def test_damaged_lines_never_raise(line: dict[str, Any], cut: int) -> None:
    data = json.dumps(line).encode()
    for damaged in (data[:cut], data.replace(b'"', b"'", 1), data + b",", b"\xef\xbb\xbf" + data):
        assert_well_formed(check_record(damaged, path="p.jsonl", line=3, expect=None))


@SETTINGS
@given(text=st.text())
def test_lone_surrogates_and_any_text(text: str) -> None:
    # json.dumps escapes lone surrogates (\udXXX); orjson refuses them, the fallback reports them.
    data = json.dumps({"text": text}).encode()
    result = check_record(data, path="p.jsonl", line=3, expect=None)
    assert_well_formed(result)
    has_surrogate = any("\ud800" <= ch <= "\udfff" for ch in text)
    assert ("lone_surrogate" in [f.code for f in result.findings]) == has_surrogate


def pair(user: str, assistant: str, role: str = "assistant") -> bytes:
    return orjson.dumps(
        {"messages": [{"role": "user", "content": user}, {"role": role, "content": assistant}]}
    )


LINE_POOL: list[bytes] = [
    pair("hi", "yo"),
    pair("hey", "yo"),
    pair("hi", "yo", role="bot"),
    pair("a b c d e f g h", "z"),
    orjson.dumps({"text": "a document"}),
    orjson.dumps({"text": 5}),
    b"{broken",
    b"",
    b"[1, 2]",
    b'{"messages": [], "x": NaN}',
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.integers(min_value=0, max_value=len(LINE_POOL) - 1), max_size=40),
    crlf=st.booleans(),
)
def test_report_accounts_for_every_line(workdir: Path, picks: list[int], crlf: bool) -> None:
    path = workdir / "train.jsonl"
    newline = b"\r\n" if crlf else b"\n"
    path.write_bytes(b"".join(LINE_POOL[i] + newline for i in picks))
    report = validate_paths([path], options=ValidateOptions(), workers=1)
    file = report.files[0]
    assert file.lines == len(picks)
    lines_with_errors = {f.line for f in report.iter_findings() if f.is_error and f.line}
    # Every line is either a valid conversation of the file's format or has an error.
    assert file.conversations + len(lines_with_errors) == len(picks)
    valid_of = {0, 1, 2, 3} if file.format != "pretrain" else {4}
    expected_valid = [i for i in picks if i in valid_of - {2}]
    assert file.conversations == len(expected_valid)
    duplicates = [f for f in report.iter_findings() if f.code == "duplicate"]
    assert len(duplicates) == len(expected_valid) - len(set(expected_valid))
    lines = [f.line or 0 for f in report.iter_findings()]
    assert lines == sorted(lines)
    # An empty file is an error; too few conversations only a warning.
    assert report.ok == (bool(picks) and not lines_with_errors)


@pytest.mark.parametrize("line", [b"{" * 5000, b"[" * 100000, b'{"a":' * 3000])
def test_deep_nesting(line: bytes) -> None:
    assert_well_formed(check_record(line, path="p.jsonl", line=3, expect=None))


def test_deep_nesting_inside_messages() -> None:
    deep: Any = "x"
    for _ in range(900):
        deep = [deep]
    line = json.dumps({"messages": [{"role": "user", "content": deep}], "tools": [deep]}).encode()
    assert_well_formed(check_record(line, path="p.jsonl", line=3, expect=None))
