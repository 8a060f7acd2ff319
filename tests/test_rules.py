"""Line-level rules: every category of docs/data.md, the leniency of the reference, samples."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tuner.datasets.findings import Category, Severity
from tuner.datasets.openai_codes import OPENAI_CODES
from tuner.datasets.rules import CODES, LineCheck, check_record, iter_codes
from tuner.datasets.samples import InstructSample, Message, PretrainSample, ToolCall

U = {"role": "user", "content": "What is the weather in Paris?"}
A = {"role": "assistant", "content": "Sunny, 24 °C."}
S = {"role": "system", "content": "You are a weather bot."}
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def call(call_id: str = "abcDEF123", name: str = "get_weather", args: Any = '{"city": "Paris"}'):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def calling(*calls: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": "", "tool_calls": list(calls)}


def answer(call_id: str = "abcDEF123", content: str = '{"temp": 24}') -> dict[str, Any]:
    return {"role": "tool", "content": content, "tool_call_id": call_id}


def conv(*messages: Any, **top: Any) -> dict[str, Any]:
    return {"messages": list(messages), **top}


def check(line: Any, expect: Any = None) -> LineCheck:
    data = line if isinstance(line, bytes) else json.dumps(line, ensure_ascii=False).encode()
    return check_record(data, path="train.jsonl", line=7, expect=expect)


def errors(result: LineCheck) -> list[str]:
    return [f.code for f in result.findings if f.severity is Severity.ERROR]


def warnings(result: LineCheck) -> list[str]:
    return [f.code for f in result.findings if f.severity is Severity.WARNING]


# --------------------------------------------------------------------------- must pass

MUST_PASS = {
    "simple": conv(U, A),
    "consecutive user turns": conv(U, U, A),
    "consecutive assistant turns": conv(U, A, A),
    "system first": conv(S, U, A),
    "system in the middle": conv(U, S, A),
    "system last": conv(U, A, S),
    "ends with a tool call": conv(U, calling(call()), tools=[TOOL]),
    "tool call answered": conv(U, calling(call()), answer(), A, tools=[TOOL]),
    "parallel tool calls": conv(
        U,
        calling(call("aaaaaaaa1"), call("bbbbbbbb2")),
        answer("aaaaaaaa1"),
        answer("bbbbbbbb2"),
        A,
        tools=[TOOL],
    ),
    "tool call with null content": conv(
        U, {"role": "assistant", "tool_calls": [call()]}, answer(), A, tools=[TOOL]
    ),
    "last call id null": conv(U, calling(call("null")), tools=[TOOL]),
    "extra keys id and user name": {
        "id": "conv-1",
        "messages": [{"role": "user", "content": "hi", "name": "Ann"}, A],
    },
    "weights 0 1 1.0": conv(
        U,
        {**A, "weight": 0},
        U,
        {**A, "weight": 1},
        U,
        {**A, "weight": 1.0},
    ),
    "weight null": conv(U, {**A, "weight": None}),
    "any language and emoji": conv(
        {"role": "user", "content": "こんにちは 👋 Привет مرحبا 🇫🇷"},
        {"role": "assistant", "content": "你好！🌞 Ça va ? ✓"},
    ),
    "interactions alias": {"interactions": [U, A]},
    "text alias on messages": conv(
        {"role": "user", "text": "hi"}, {"role": "assistant", "text": "yo"}
    ),
    "available_tools alias": {"messages": [U, calling(call())], "available_tools": [TOOL]},
    "top-level system_prompt": conv(U, A, system_prompt="Be brief."),
    "user text chunks": conv({"role": "user", "content": [{"type": "text", "text": "hi"}]}, A),
    "tool message with name": conv(
        U, calling(call()), {**answer(), "name": "get_weather"}, A, tools=[TOOL]
    ),
    "weight on a user turn is ignored": conv({**U, "weight": 5}, A),
    "tools null": conv(U, A, tools=None),
    "empty tools": conv(U, A, tools=[]),
    "pretrain": {"text": "Once upon a time."},
    "pretrain content alias": {"content": "Once upon a time."},
}


@pytest.mark.parametrize("name", list(MUST_PASS))
def test_valid_examples_pass(name: str) -> None:
    result = check(MUST_PASS[name])
    assert errors(result) == []
    assert result.sample is not None


def test_system_message_elsewhere_warns() -> None:
    assert warnings(check(conv(U, S, A))) == ["system_not_first"]
    assert warnings(check(conv(S, U, A))) == []


def test_unknown_keys_warn_in_one_finding() -> None:
    result = check(MUST_PASS["extra keys id and user name"])
    assert warnings(result) == ["unknown_key"]
    message = result.findings[0].message
    assert '"id" (top level)' in message
    assert '"name" (message 1 (user))' in message


# --------------------------------------------------------------------------- errors

ERROR_CASES: list[tuple[str, Any, str]] = [
    # encoding
    ("invalid utf-8", b'{"text": "caf\xe9"}', "invalid_utf8"),
    ("lone surrogate", b'{"text": "\\ud800 x"}', "lone_surrogate"),
    # json
    ("blank", b"", "blank_line"),
    ("whitespace only", b" \t \r", "blank_line"),
    ("bom", b'\xef\xbb\xbf{"text": "x"}', "bom"),
    ("truncated", b'{"text": "x"', "truncated"),
    ("truncated string", b'{"text": "x', "truncated"),
    ("trailing comma", b'{"text": "x",}', "trailing_comma"),
    ("trailing comma in list", b'{"messages": [1,]}', "trailing_comma"),
    ("single quotes", b"{'text': 'x'}", "single_quotes"),
    ("control character", b'{"text": "a\tb"}', "control_character"),
    ("invalid escape", b'{"text": "a\\qb"}', "invalid_escape"),
    ("bad unicode escape", b'{"text": "\\u12"}', "invalid_escape"),
    ("NaN", b'{"text": "x", "score": NaN}', "nan_infinity"),
    ("Infinity", b'{"text": "x", "score": -Infinity}', "nan_infinity"),
    ("trailing data", b'{"text": "x"} {"text": "y"}', "trailing_data"),
    ("python literal", b'{"text": "x", "ok": True}', "invalid_json"),
    ("unquoted key", b"{text: 1}", "invalid_json"),
    # not_object
    ("array", [U, A], "not_object"),
    ("string", "hello", "not_object"),
    ("number", 5, "not_object"),
    ("null", None, "not_object"),
    # schema
    ("no messages", {"conversation": []}, "missing_messages"),
    ("both aliases", {"messages": [U, A], "interactions": [U, A]}, "messages_and_interactions"),
    ("messages a string", {"messages": "hi"}, "messages_not_list"),
    ("message not an object", conv("hi", A), "message_not_object"),
    ("no role", conv({"content": "hi"}, A), "missing_role"),
    ("no content", conv({"role": "user"}, A), "missing_content"),
    ("null content", conv({"role": "user", "content": None}, A), "missing_content"),
    ("assistant no content", conv(U, {"role": "assistant"}), "missing_content"),
    (
        "tool no content",
        conv(U, calling(call()), {"role": "tool", "tool_call_id": "abcDEF123"}, A),
        "missing_content",
    ),
    (
        "text and content",
        conv({"role": "user", "content": "a", "text": "b"}, A),
        "text_and_content",
    ),
    ("content a number", conv({"role": "user", "content": 5}, A), "content_not_string"),
    (
        "assistant chunks",
        conv(U, {"role": "assistant", "content": [{"type": "text", "text": "x"}]}),
        "content_not_string",
    ),
    (
        "system chunks",
        conv({"role": "system", "content": [{"type": "text", "text": "x"}]}, U, A),
        "content_not_string",
    ),
    ("bad chunk", conv({"role": "user", "content": [{"text": "x"}]}, A), "invalid_chunk"),
    (
        "image chunk",
        conv({"role": "user", "content": [{"type": "image_url", "image_url": "http://x"}]}, A),
        "image_not_supported",
    ),
    ("classifier labels a string", {"text": "great", "labels": "positive"}, "labels_not_object"),
    ("classifier label a number", {"text": "great", "labels": {"s": 3}}, "invalid_label"),
    ("classifier empty text", {"text": " ", "labels": {"s": "positive"}}, "empty_input"),
    ("classifier no input", {"labels": {"s": "positive"}}, "missing_input"),
    ("classifier empty messages", {"messages": [], "labels": {"s": "a"}}, "empty_input"),
    ("system_prompt a number", conv(U, A, system_prompt=5), "system_prompt_not_string"),
    ("KTO label false", {**conv(U, A), "label": False}, "kto_undesirable"),
    ("KTO label false on a turn", conv(U, {**A, "label": False}), "kto_undesirable"),
    ("KTO tag false as text", {**conv(U, A), "kto_tag": "false"}, "kto_undesirable"),
    ("preference pair", {**conv(U), "chosen": A, "rejected": A}, "preference_pair"),
    ("OpenAI DPO keys", {**conv(U, A), "non_preferred_output": [A]}, "preference_pair"),
    # role
    ("capitalised role", conv({"role": "User", "content": "hi"}, A), "unknown_role"),
    ("bot role", conv(U, {"role": "bot", "content": "hi"}), "unknown_role"),
    ("function role", conv(U, {"role": "function", "content": "hi"}), "unknown_role"),
    ("null role", conv({"role": None, "content": "hi"}, A), "unknown_role"),
    # structure
    ("empty messages", conv(), "no_messages"),
    ("only a system message", conv(S), "no_messages"),
    ("single assistant", conv(A), "single_message"),
    ("system and assistant", conv(S, A), "single_message"),
    ("single user", conv(U), "last_not_assistant"),
    ("ends with user", conv(U, A, U), "last_not_assistant"),
    ("ends with tool", conv(U, calling(call()), answer(), tools=[TOOL]), "last_not_assistant"),
    ("two system messages", conv(S, S, U, A), "multiple_system"),
    ("system_prompt and system message", conv(S, U, A, system_prompt="x"), "multiple_system"),
    ("empty assistant", conv(U, {"role": "assistant", "content": ""}), "empty_assistant"),
    ("empty tool_calls", conv(U, {"role": "assistant", "tool_calls": []}), "empty_assistant"),
    ("tool after user", conv(U, answer(), A), "role_order"),
    ("tool after plain assistant", conv(U, A, answer(), A), "tool_count_mismatch"),
    (
        "unanswered call then assistant",
        conv(
            U, calling(call("aaaaaaaa1"), call("bbbbbbbb2")), answer("aaaaaaaa1"), A, tools=[TOOL]
        ),
        "tool_count_mismatch",
    ),
    (
        "too many answers",
        conv(U, calling(call()), answer(), answer(), A, tools=[TOOL]),
        "tool_count_mismatch",
    ),
    ("opens with a call", conv(calling(call()), answer(), A, tools=[TOOL]), "tool_count_mismatch"),
    # tool
    (
        "tools and available_tools",
        conv(U, A, tools=[TOOL], available_tools=[TOOL]),
        "tools_and_available_tools",
    ),
    ("tools not a list", conv(U, A, tools={"x": 1}), "tools_not_list"),
    ("tool not an object", conv(U, A, tools=["get_weather"]), "tool_not_object"),
    ("tool without function", conv(U, A, tools=[{"type": "function"}]), "tool_missing_function"),
    (
        "function without description",
        conv(U, A, tools=[{"function": {"name": "f", "parameters": {}}}]),
        "function_missing_key",
    ),
    (
        "description not a string",
        conv(U, A, tools=[{"function": {"name": "f", "description": 1, "parameters": {}}}]),
        "description_not_string",
    ),
    (
        "parameters a string",
        conv(U, A, tools=[{"function": {"name": "f", "description": "", "parameters": "{}"}}]),
        "parameters_not_object",
    ),
    (
        "parameters not a schema",
        conv(
            U, A, tools=[{"function": {"name": "f", "description": "", "parameters": {"type": 5}}}]
        ),
        "invalid_parameters_schema",
    ),
    (
        "bad function name",
        conv(
            U, A, tools=[{"function": {"name": "get weather", "description": "", "parameters": {}}}]
        ),
        "invalid_function_name",
    ),
    (
        "bad called name",
        conv(U, calling(call(name="get.weather")), tools=[TOOL]),
        "invalid_function_name",
    ),
    (
        "tool_calls not a list",
        conv(U, {"role": "assistant", "tool_calls": {"id": "x"}}),
        "tool_calls_not_list",
    ),
    (
        "call not an object",
        conv(U, {"role": "assistant", "tool_calls": ["x"]}),
        "tool_call_not_object",
    ),
    (
        "call without id",
        conv(
            U,
            {
                "role": "assistant",
                "tool_calls": [{"function": {"name": "get_weather", "arguments": "{}"}}],
            },
            tools=[TOOL],
        ),
        "tool_call_missing_key",
    ),
    (
        "call without arguments",
        conv(
            U,
            {
                "role": "assistant",
                "tool_calls": [{"id": "abcDEF123", "function": {"name": "get_weather"}}],
            },
            tools=[TOOL],
        ),
        "call_function_missing_key",
    ),
    (
        "arguments an object",
        conv(U, calling(call(args={"city": "Paris"})), tools=[TOOL]),
        "arguments_not_string",
    ),
    ("short call id", conv(U, calling(call("abc")), tools=[TOOL]), "invalid_call_id"),
    (
        "null id not last",
        conv(U, calling(call("null")), answer(), A, tools=[TOOL]),
        "invalid_call_id",
    ),
    (
        "tool message without id",
        conv(U, calling(call()), {"role": "tool", "content": "x"}, A, tools=[TOOL]),
        "missing_tool_call_id",
    ),
    (
        "bad tool_call_id",
        conv(U, calling(call()), answer("abc-12345"), A, tools=[TOOL]),
        "invalid_tool_call_id",
    ),
    (
        "bad tool name",
        conv(U, calling(call()), {**answer(), "name": "a b"}, A, tools=[TOOL]),
        "invalid_tool_name",
    ),
    (
        "content and calls",
        conv(
            U,
            {"role": "assistant", "content": "Let me check.", "tool_calls": [call()]},
            tools=[TOOL],
        ),
        "content_and_tool_calls",
    ),
    # weight
    ("weight 0.5", conv(U, {**A, "weight": 0.5}), "invalid_weight"),
    ("weight 2", conv(U, {**A, "weight": 2}), "invalid_weight"),
    ("weight a string", conv(U, {**A, "weight": "1"}), "invalid_weight"),
    ("weight true", conv(U, {**A, "weight": True}), "invalid_weight"),
    # pretrain
    ("pretrain null", {"text": None}, "missing_text"),
    ("pretrain both", {"text": "a", "content": "b"}, "text_and_content_keys"),
    ("pretrain number", {"text": 5}, "text_not_string"),
    ("pretrain list", {"content": ["a"]}, "text_not_string"),
]


@pytest.mark.parametrize(("name", "line", "code"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors(name: str, line: Any, code: str) -> None:
    result = check(line)
    assert code in errors(result), result.findings
    assert result.sample is None
    finding = next(f for f in result.findings if f.code == code)
    assert finding.path == "train.jsonl"
    assert finding.line == 7
    assert finding.category is CODES[code][0]
    assert finding.message
    assert finding.hint


def test_every_error_code_of_the_line_rules_is_exercised() -> None:
    exercised = {code for _, _, code in ERROR_CASES}
    # Codes that need a whole file (size, cross-line), an explicit format, a tokenizer failure,
    # or a checker bug are tested elsewhere.
    elsewhere = {
        "empty_file",
        "file_too_large",
        "json_array_file",
        "line_too_long",
        "wrong_format",
        "check_failed",
        "tokenize_failed",
        # classifier rules across lines: tests/test_classifier_data.py
        "missing_labels",
        "target_kind_changed",
        "label_not_in_set",
        # OpenAI's rules (--provider openai): tests/test_openai_rules.py
        *OPENAI_CODES,
    }
    line_errors = {code for code, (_, sev, _) in CODES.items() if sev is Severity.ERROR}
    assert line_errors - elsewhere <= exercised
    assert line_errors - elsewhere - exercised == set()


def test_error_lines_still_tell_their_format() -> None:
    assert check(conv({"role": "bot", "content": "x"}, A)).kind == "instruct"
    assert check({"text": 5}).kind == "pretrain"
    assert check(b"{").kind is None
    assert check([1]).kind is None


# --------------------------------------------------------------------------- warnings

WARNING_CASES: list[tuple[str, Any, str]] = [
    ("empty user content", conv({"role": "user", "content": ""}, A), "empty_content"),
    ("whitespace user content", conv({"role": "user", "content": " \n "}, A), "empty_content"),
    ("empty system", conv({"role": "system", "content": ""}, U, A), "empty_content"),
    ("empty top-level system_prompt", conv(U, A, system_prompt=" "), "empty_content"),
    (
        "empty tool content",
        conv(U, calling(call()), answer(content=""), A, tools=[TOOL]),
        "empty_content",
    ),
    ("whitespace assistant", conv(U, {"role": "assistant", "content": "  "}), "empty_content"),
    ("empty chunks", conv({"role": "user", "content": []}, A), "empty_content"),
    ("empty pretrain text", {"text": "  "}, "empty_content"),
    ("system not first", conv(U, S, A), "system_not_first"),
    ("all weights 0", conv(U, {**A, "weight": 0}, U, {**A, "weight": 0}), "nothing_trained"),
    (
        "tools and last weight 0",
        conv(U, calling(call()), answer(), {**A, "weight": 0}, tools=[TOOL]),
        "nothing_trained",
    ),
    ("unknown keys", {"messages": [U, A], "source": "web"}, "unknown_key"),
    ("unknown pretrain key", {"text": "x", "meta": {}}, "unknown_key"),
    (
        "unmatched tool_call_id",
        conv(U, calling(call("aaaaaaaa1")), answer("bbbbbbbb2"), A, tools=[TOOL]),
        "unmatched_tool_call_id",
    ),
    (
        "undeclared function",
        conv(U, calling(call(name="get_time")), tools=[TOOL]),
        "undeclared_function",
    ),
    ("no tools declared", conv(U, calling(call())), "undeclared_function"),
    (
        "arguments not json",
        conv(U, calling(call(args="city=Paris")), tools=[TOOL]),
        "arguments_not_json",
    ),
    (
        "arguments encoded twice",
        conv(U, calling(call(args=json.dumps('{"city": "Paris"}'))), tools=[TOOL]),
        "arguments_double_encoded",
    ),
    ("INST", conv({"role": "user", "content": "[INST] hi [/INST]"}, A), "special_token"),
    ("bos", conv(U, {"role": "assistant", "content": "<s>hi</s>"}), "special_token"),
    ("tool markers", conv(U, {"role": "assistant", "content": "[TOOL_CALLS] x"}), "special_token"),
    (
        "available tools",
        conv({"role": "user", "content": "[AVAILABLE_TOOLS] [/AVAILABLE_TOOLS]"}, A),
        "special_token",
    ),
    (
        "tool results",
        conv({"role": "user", "content": "[TOOL_RESULTS] x [/TOOL_RESULTS]"}, A),
        "special_token",
    ),
    (
        "system prompt marker",
        conv({"role": "user", "content": "[SYSTEM_PROMPT] x"}, A),
        "special_token",
    ),
    ("chatml markers", conv({"role": "user", "content": "<|im_start|>user"}, A), "special_token"),
    ("fim marker in pretrain", {"text": "def f(): <|fim_suffix|>"}, "special_token"),
    ("marker in system_prompt", conv(U, A, system_prompt="<|endoftext|>"), "special_token"),
]


@pytest.mark.parametrize(("name", "line", "code"), WARNING_CASES, ids=[c[0] for c in WARNING_CASES])
def test_warnings(name: str, line: Any, code: str) -> None:
    result = check(line)
    assert errors(result) == [], result.findings
    assert code in warnings(result)
    # Warnings leave the line usable.
    assert result.sample is not None


def test_every_line_warning_code_is_exercised() -> None:
    exercised = {code for _, _, code in WARNING_CASES}
    cross_line = {
        "too_few_conversations",
        "too_few_to_split",  # tuner data split's (tests/test_split.py)
        "eval_file_too_large",
        "duplicate",
        "over_seq_len",
        "train_eval_overlap",
        "rare_label",  # classifier files (tests/test_classifier_data.py)
        "class_imbalance",
        *OPENAI_CODES,  # OpenAI's rules: tests/test_openai_rules.py
    }
    line_warnings = {code for code, (_, sev, _) in CODES.items() if sev is Severity.WARNING}
    assert line_warnings - cross_line == exercised


def test_plain_text_is_not_a_special_token() -> None:
    text = "Use a <b>bold</b> tag, [link](x), a < b | c > d, and [INSTALL] here."
    assert warnings(check(conv({"role": "user", "content": text}, A))) == []


# --------------------------------------------------------------------------- all findings


def test_all_findings_of_a_line_are_reported() -> None:
    line = {
        "messages": [
            {"role": "User", "content": "hi"},
            {"role": "assistant", "content": "x", "weight": 3},
            {"role": "assistant", "content": [{"type": "text", "text": "x"}]},
            "oops",
        ],
        "tools": [{"type": "function"}],
        "extra": 1,
    }
    result = check(line)
    assert errors(result) == [
        "tool_missing_function",
        "unknown_role",
        "invalid_weight",
        "content_not_string",
        "message_not_object",
    ]
    assert warnings(result) == ["unknown_key"]


def test_json_problems_do_not_hide_the_rest() -> None:
    # NaN is not JSON, but the line is still read and checked with the rules.
    result = check(b'{"messages": [{"role": "bot", "content": "x"}], "score": NaN}')
    assert errors(result) == ["nan_infinity", "unknown_role"]
    result = check(b'\xef\xbb\xbf{"messages": [{"role": "user", "content": "caf\xe9"}]}')
    assert errors(result) == ["invalid_utf8", "bom", "last_not_assistant"]


def test_messages_quote_the_offending_value_shortened() -> None:
    role = "x" * 500
    result = check(conv({"role": role, "content": "hi"}, A))
    message = result.findings[0].message
    assert '"xxxxxxxx' in message
    assert len(message) < 120
    assert "…" in message


def test_messages_are_always_printable() -> None:
    result = check(b'{"text": "\\udc00"}')
    for finding in result.findings:
        finding.message.encode("utf-8")
        json.dumps(finding.to_dict())


def test_role_hints_suggest_the_right_role() -> None:
    assert "'user'" in str(check(conv({"role": "User", "content": "x"}, A)).findings[0].hint)
    assert "'assistant'" in str(check(conv(U, {"role": "gpt", "content": "x"})).findings[0].hint)
    assert "'tool'" in str(check(conv(U, {"role": "function", "content": "x"})).findings[0].hint)


def test_unsupported_data_says_so() -> None:
    for line in (conv({"role": "user", "content": [{"type": "image_url", "image_url": "u"}]}, A),):
        hint = next(f.hint for f in check(line).findings if f.is_error)
        assert hint is not None
        assert "not supported yet" in hint.lower()


# --------------------------------------------------------------------------- formats


def test_expected_format_rejects_the_other_format() -> None:
    result = check({"text": "x"}, expect="instruct")
    assert errors(result) == ["wrong_format"]
    assert result.kind == "pretrain"
    assert check(conv(U, A), expect="pretrain").findings[0].code == "wrong_format"
    assert check(conv(U, A), expect="instruct").sample is not None


def test_no_format_keys() -> None:
    assert errors(check({"a": 1})) == ["missing_messages"]
    assert errors(check({"a": 1}, expect="pretrain")) == ["missing_text"]


# --------------------------------------------------------------------------- samples


def test_instruct_sample_is_normalised() -> None:
    line = {
        "interactions": [
            {"role": "user", "text": "Weather?"},
            {"role": "system", "content": "Be brief."},
            {"role": "assistant", "content": "", "tool_calls": [call()], "weight": 1},
            answer(),
            {"role": "assistant", "content": "Sunny.", "weight": 0},
        ],
        "available_tools": [TOOL],
    }
    sample = check(line).sample
    assert sample == InstructSample(
        messages=(
            Message("user", "Weather?"),
            Message(
                "assistant",
                "",
                (ToolCall("abcDEF123", "get_weather", '{"city": "Paris"}'),),
                weight=1.0,
            ),
            Message("tool", '{"temp": 24}', tool_call_id="abcDEF123"),
            Message("assistant", "Sunny.", weight=0.0),
        ),
        tools=(TOOL,),
        system_prompt="Be brief.",
    )


def test_top_level_system_prompt_and_chunks() -> None:
    line = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
            A,
        ],
        "system_prompt": "Be brief.",
    }
    sample = check(line).sample
    assert isinstance(sample, InstructSample)
    assert sample.system_prompt == "Be brief."
    assert sample.messages[0].content == ("a", "b")
    assert sample.messages[0].text == "ab"


def test_pretrain_sample() -> None:
    assert check({"text": "hello"}).sample == PretrainSample("hello")
    assert check({"content": "hello"}).sample == PretrainSample("hello")


# --------------------------------------------------------------------------- codes table


def test_codes_table_is_well_formed() -> None:
    for code, category, severity, description in iter_codes():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", code)
        assert isinstance(category, Category)
        assert isinstance(severity, Severity)
        assert description.endswith(".")
    # Duplicates, length and overlap are warnings only (docs/data.md#warnings).
    for code in ("duplicate", "over_seq_len", "train_eval_overlap"):
        assert CODES[code][1] is Severity.WARNING


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (conv(A), "is an assistant message"),
        (conv(U), "is a user message"),
        (conv(U, A, {"role": "tool", "content": "x", "tool_call_id": "abcDEF123"}), "a tool"),
        (conv(U, A, tools=[{"type": "function", "function": []}]), "an array 'function'"),
    ],
)
def test_messages_use_the_right_article(line: dict[str, Any], words: str) -> None:
    messages = " ".join(f.message for f in check(line).findings)
    assert words in messages, messages
