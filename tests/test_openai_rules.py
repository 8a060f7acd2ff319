"""OpenAI's data rules (``--provider openai``), one rule per test, on fixtures written here from
OpenAI's public format descriptions (docs/openai.md says which rule rests on what)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson
import pytest

from tuner.datasets import providers
from tuner.datasets.openai_rules import check_record
from tuner.datasets.rules import CODES
from tuner.datasets.samples import InstructSample, PreferenceSample, sample_key
from tuner.datasets.validate import ValidateOptions, validate_paths

USER = {"role": "user", "content": "What is the capital of France?"}
ANSWER = {"role": "assistant", "content": "Paris."}
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def call(call_id: str, city: str = "Oslo") -> dict[str, Any]:
    arguments = orjson.dumps({"city": city}).decode()
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
    }


def check(obj: Any, expect: Any = None) -> Any:
    return check_record(orjson.dumps(obj), path="t.jsonl", line=1, expect=expect)


def codes(obj: Any) -> list[str]:
    return [f.code for f in check(obj).findings]


def test_every_openai_code_is_in_the_one_table_and_tested_here() -> None:
    from tuner.datasets.openai_codes import OPENAI_CODES

    assert set(OPENAI_CODES) <= set(CODES)
    source = Path(__file__).read_text(encoding="utf-8")
    # Each code is the expected result of some test below (quoted as a string literal).
    untested = {code for code in OPENAI_CODES if source.count(f'"{code}"') < 1}
    assert untested == set()


# --------------------------------------------------------------------------- valid shapes


def test_plain_chat_with_system_and_developer_is_valid() -> None:
    line = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Answer in one word."},
            USER,
            ANSWER,
        ]
    }
    result = check(line)
    assert result.findings == []
    assert result.kind == "instruct"
    assert isinstance(result.sample, InstructSample)
    # System and developer messages stay in place, in order.
    assert [m.role for m in result.sample.messages] == ["system", "developer", "user", "assistant"]


def test_parallel_tool_calls_answered_by_id_are_valid() -> None:
    line = {
        "messages": [
            USER,
            {"role": "assistant", "tool_calls": [call("call_1"), call("call_2", "Rome")]},
            # Answers may come in any order: they name the call they answer.
            {"role": "tool", "tool_call_id": "call_2", "content": "18 C"},
            {"role": "tool", "tool_call_id": "call_1", "content": "3 C"},
            {"role": "assistant", "content": "Oslo 3 C, Rome 18 C."},
        ],
        "tools": [TOOL],
        "parallel_tool_calls": True,
    }
    result = check(line)
    assert result.findings == []
    assert result.sample is not None
    assert [c.id for c in result.sample.messages[1].tool_calls] == ["call_1", "call_2"]


def test_an_example_may_end_in_a_tool_call() -> None:
    line = {"messages": [USER, {"role": "assistant", "tool_calls": [call("c1")]}], "tools": [TOOL]}
    assert codes(line) == []


def test_weight_zero_on_an_earlier_turn_is_valid() -> None:
    line = {
        "messages": [
            USER,
            {"role": "assistant", "content": "Lyon.", "weight": 0},
            {"role": "user", "content": "Sure?"},
            {"role": "assistant", "content": "Paris.", "weight": 1},
        ]
    }
    result = check(line)
    assert result.findings == []
    assert [m.weight for m in result.sample.messages if m.role == "assistant"] == [0.0, 1.0]


def test_user_images_are_accepted_in_sft_data() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    line = {"messages": [{"role": "user", "content": [{"type": "text", "text": "What?"}, image]}]}
    line["messages"].append({"role": "assistant", "content": "A cat."})
    assert codes(line) == []


# --------------------------------------------------------------------------- each rule


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"role": "human", "content": "hi"}, "openai_unknown_role"),
        ({"role": "function", "name": "f", "content": "x"}, "openai_unknown_role"),
        ({"content": "hi"}, "missing_role"),
        ({"role": "user"}, "missing_content"),
        ({"role": "user", "content": 3}, "openai_invalid_content"),
        ({"role": "user", "content": [{"type": "audio"}]}, "openai_invalid_part"),
        (
            {"role": "system", "content": [{"type": "image_url", "image_url": {}}]},
            "openai_invalid_part",
        ),
        ({"role": "user", "content": "hi", "weight": 1}, "weight_not_assistant"),
    ],
)
def test_message_rules(message: dict[str, Any], code: str) -> None:
    assert code in codes({"messages": [message, ANSWER]})


def test_role_hints() -> None:
    (finding,) = check({"messages": [{"role": "human", "content": "hi"}, ANSWER]}).findings
    assert finding.hint == "Use 'user' for 'human' turns."
    (finding,) = check({"messages": [{"role": "User", "content": "hi"}, ANSWER]}).findings
    assert finding.hint == "Roles are lowercase: use 'user'."


@pytest.mark.parametrize("weight", [0.5, 2, "1", True, None])
def test_weight_must_be_0_or_1(weight: object) -> None:
    line = {"messages": [USER, {"role": "assistant", "content": "x", "weight": weight}]}
    assert "invalid_weight" in codes(line)


def test_the_last_message_must_be_an_assistant_turn() -> None:
    assert "last_not_assistant" in codes({"messages": [ANSWER, USER]})


def test_at_least_one_trained_assistant_turn() -> None:
    line = {"messages": [USER, {**ANSWER, "weight": 0}]}
    assert codes(line) == ["no_trained_assistant"]


def test_the_last_assistant_turn_must_be_trained() -> None:
    line = {
        "messages": [USER, ANSWER, {"role": "user", "content": "More?"}, {**ANSWER, "weight": 0}]
    }
    assert codes(line) == ["last_assistant_untrained"]


def test_empty_assistant_turn() -> None:
    assert "empty_assistant" in codes({"messages": [USER, {"role": "assistant", "content": " "}]})


def test_no_messages() -> None:
    assert codes({"messages": []}) == ["no_messages"]
    assert codes({"messages": "hi"}) == ["messages_not_list"]


def test_a_tool_message_must_answer_an_earlier_call() -> None:
    line = {"messages": [USER, {"role": "tool", "tool_call_id": "call_9", "content": "x"}, ANSWER]}
    assert "unknown_tool_call_id" in codes(line)


def test_a_call_answered_twice() -> None:
    line = {
        "messages": [
            USER,
            {"role": "assistant", "tool_calls": [call("c1")]},
            {"role": "tool", "tool_call_id": "c1", "content": "3 C"},
            {"role": "tool", "tool_call_id": "c1", "content": "3 C"},
            ANSWER,
        ],
        "tools": [TOOL],
    }
    found = check(line).findings
    assert [f.code for f in found] == ["unknown_tool_call_id"]
    assert "answered already" in found[0].message


def test_calls_must_be_answered_before_the_next_turn() -> None:
    line = {
        "messages": [USER, {"role": "assistant", "tool_calls": [call("c1")]}, USER, ANSWER],
        "tools": [TOOL],
    }
    assert codes(line) == ["unanswered_tool_call"]


def test_tool_message_needs_a_string_id() -> None:
    line = {"messages": [USER, {"role": "tool", "content": "x"}, ANSWER]}
    assert "missing_tool_call_id" in codes(line)
    line = {"messages": [USER, {"role": "tool", "tool_call_id": "", "content": "x"}, ANSWER]}
    assert "openai_invalid_call_id" in codes(line)


@pytest.mark.parametrize(
    ("bad_call", "code"),
    [
        ({**call("c1"), "id": 7}, "openai_invalid_call_id"),
        ({**call("c1"), "type": "code"}, "tool_call_type"),
        (
            {"type": "function", "function": {"name": "get_weather", "arguments": "{}"}},
            "tool_call_missing_key",
        ),
        ({"id": "c1", "function": {"name": "get_weather"}}, "call_function_missing_key"),
        (
            {"id": "c1", "function": {"name": "get_weather", "arguments": {"a": 1}}},
            "arguments_not_string",
        ),
        (
            {"id": "c1", "function": {"name": "get_weather", "arguments": "{oops"}},
            "arguments_not_json",
        ),
        (
            {"id": "c1", "function": {"name": "no such name!", "arguments": "{}"}},
            "invalid_function_name",
        ),
        ({"id": "c1", "function": {"name": "get_time", "arguments": "{}"}}, "undeclared_function"),
        ("not a call", "tool_call_not_object"),
    ],
)
def test_tool_call_rules(bad_call: Any, code: str) -> None:
    line = {"messages": [USER, {"role": "assistant", "tool_calls": [bad_call]}], "tools": [TOOL]}
    assert code in codes(line)


def test_two_calls_may_not_share_an_id() -> None:
    line = {"messages": [USER, {"role": "assistant", "tool_calls": [call("c1"), call("c1")]}]}
    line["tools"] = [TOOL]
    assert "duplicate_call_id" in codes(line)


def test_several_calls_while_parallel_calls_are_off_is_a_warning() -> None:
    line = {
        "messages": [USER, {"role": "assistant", "tool_calls": [call("c1"), call("c2")]}],
        "tools": [TOOL],
        "parallel_tool_calls": False,
    }
    result = check(line)
    assert [f.code for f in result.findings] == ["parallel_calls_disabled"]
    assert result.sample is not None  # a warning: the line is still valid
    line["parallel_tool_calls"] = "yes"
    assert "parallel_tool_calls_not_bool" in codes(line)


@pytest.mark.parametrize(
    ("tool", "code"),
    [
        ({"function": TOOL["function"]}, "tool_call_type"),
        ({"type": "function"}, "tool_missing_function"),
        ({"type": "function", "function": {"parameters": {}}}, "openai_function_missing_name"),
        (
            {"type": "function", "function": {"name": "f", "parameters": []}},
            "parameters_not_object",
        ),
        (
            {"type": "function", "function": {"name": "f", "parameters": {"type": 5}}},
            "invalid_parameters_schema",
        ),
        (
            {"type": "function", "function": {"name": "f", "description": 1}},
            "description_not_string",
        ),
        ("get_weather", "tool_not_object"),
    ],
)
def test_tool_definition_rules(tool: Any, code: str) -> None:
    assert code in codes({"messages": [USER, ANSWER], "tools": [tool]})


def test_description_and_parameters_are_optional() -> None:
    assert (
        codes(
            {"messages": [USER, ANSWER], "tools": [{"type": "function", "function": {"name": "f"}}]}
        )
        == []
    )


def test_unknown_keys_are_reported_not_dropped_in_silence() -> None:
    found = check({"messages": [USER, {**ANSWER, "mood": "happy"}], "source": "x"}).findings
    assert [f.code for f in found] == ["unknown_key"]
    assert "mood" in found[0].message and "source" in found[0].message


def test_lines_that_are_not_openai_chat() -> None:
    assert codes({"prompt": "x", "completion": "y"}) == ["openai_not_chat"]
    assert codes({"chosen": "a", "rejected": "b"}) == ["preference_pair"]
    assert codes([1, 2]) == ["not_object"]
    broken = check_record(b'{"messages": [', path="t", line=1, expect=None)
    assert [f.code for f in broken.findings] == ["truncated"]


# --------------------------------------------------------------------------- DPO


def dpo(**changes: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "input": {"messages": [USER], "tools": [], "parallel_tool_calls": True},
        "preferred_output": [{"role": "assistant", "content": "Paris."}],
        "non_preferred_output": [{"role": "assistant", "content": "Lyon, I think."}],
    }
    line.update(changes)
    return line


def test_a_dpo_line_is_valid() -> None:
    result = check(dpo())
    assert result.findings == []
    assert result.kind == "preference"
    assert isinstance(result.sample, PreferenceSample)
    assert result.sample.preferred[0].text == "Paris."
    assert result.sample.non_preferred[0].text == "Lyon, I think."


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"input": None}, "dpo_missing_key"),
        ({"input": {"prompt": "x"}}, "dpo_missing_key"),
        ({"preferred_output": {"role": "assistant", "content": "x"}}, "dpo_missing_key"),
        ({"non_preferred_output": []}, "dpo_output_shape"),
        ({"preferred_output": [USER]}, "dpo_output_shape"),
        ({"input": {"messages": [USER, ANSWER]}}, "dpo_input_ends_with_assistant"),
        ({"input": {"messages": []}}, "no_messages"),
        ({"preferred_output": [{**ANSWER, "weight": 1}]}, "weight_not_assistant"),
        (
            {
                "input": {
                    "messages": [
                        {
                            "role": "user",
                            "content": [{"type": "image_url", "image_url": {"url": "x"}}],
                        }
                    ]
                }
            },
            "openai_invalid_part",
        ),
    ],
)
def test_dpo_rules(changes: dict[str, Any], code: str) -> None:
    assert code in codes(dpo(**changes))


def test_an_output_may_hold_several_assistant_messages() -> None:
    # OpenAI's API description types each output as a list of assistant messages.
    result = check(dpo(preferred_output=[ANSWER, {"role": "assistant", "content": "Sure."}]))
    assert result.findings == []
    assert [m.text for m in result.sample.preferred] == ["Paris.", "Sure."]


def test_equal_answers_are_a_warning() -> None:
    result = check(dpo(non_preferred_output=[{"role": "assistant", "content": "Paris. "}]))
    assert [f.code for f in result.findings] == ["dpo_same_outputs"]


def test_a_dpo_line_in_an_sft_file_is_the_wrong_format() -> None:
    assert [f.code for f in check(dpo(), expect="instruct").findings] == ["wrong_format"]


def test_other_answers_to_the_same_prompt_are_not_duplicates() -> None:
    a = check(dpo()).sample
    b = check(dpo(non_preferred_output=[{"role": "assistant", "content": "Marseille."}])).sample
    assert sample_key(a) != sample_key(b)
    assert sample_key(a) == sample_key(check(dpo()).sample)


# --------------------------------------------------------------------------- file rules


def write(path: Path, lines: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def validate(paths: list[Path], **options: Any) -> Any:
    return validate_paths(
        paths, options=ValidateOptions(provider="openai", **options), workers=1
    ).to_dict()


def example(n: int) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": f"Question {n}?"}, {**ANSWER, "content": f"A{n}"}]
    }


def test_fewer_than_ten_examples_is_an_error_for_openai(tmp_path: Path) -> None:
    nine = write(tmp_path / "nine.jsonl", [example(n) for n in range(9)])
    report = validate([nine])
    assert not report["ok"]
    assert [f["code"] for f in report["findings"]] == ["too_few_examples"]
    ten = write(tmp_path / "ten.jsonl", [example(n) for n in range(10)])
    assert validate([ten])["ok"]


def test_the_mistral_rules_stay_the_default(tmp_path: Path) -> None:
    path = write(
        tmp_path / "dev.jsonl",
        [{"messages": [{"role": "developer", "content": "x"}, USER, ANSWER]}] * 10,
    )
    mistral = validate_paths([path], workers=1).to_dict()
    assert "unknown_role" in {f["code"] for f in mistral["findings"]}
    openai = validate([path])
    assert {f["code"] for f in openai["findings"]} == {"duplicate"}


def test_the_file_format_decides_sft_or_dpo(tmp_path: Path) -> None:
    path = write(tmp_path / "dpo.jsonl", [dpo(), example(1)])
    report = validate([path])
    assert report["files"][0]["format"] == "preference"
    assert sorted(f["code"] for f in report["findings"]) == ["too_few_examples", "wrong_format"]


def test_examples_longer_than_the_training_context_are_reported(tmp_path: Path) -> None:
    from tuner.datasets.openai_tokens import openai_counter_for

    path = write(tmp_path / "t.jsonl", [example(n) for n in range(10)])
    report = validate_paths(
        [path],
        options=ValidateOptions(provider="openai", seq_len=10),
        counter_factory=functools.partial(openai_counter_for, "o200k_base"),
        workers=1,
    ).to_dict()
    assert {f["code"] for f in report["findings"]} == {"over_training_context"}
    assert "estimate" in report["files"][0]["tokens"]["tokenizer"]


def test_unknown_provider_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown provider"):
        providers.check_provider("anthropic")
    with pytest.raises(ValueError, match="unknown provider"):
        ValidateOptions(provider="anthropic")


def test_worker_processes_give_the_same_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuner.datasets import validate as validate_module
    from tuner.datasets.openai_tokens import openai_counter_for

    monkeypatch.setattr(validate_module, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(validate_module, "CHUNK_LINES", 7)
    lines = [example(n) for n in range(40)] + [dpo(), {"messages": [USER]}]
    path = write(tmp_path / "t.jsonl", lines)
    factory = functools.partial(openai_counter_for, "o200k_base")
    reports = [
        validate_paths(
            [path],
            options=ValidateOptions(provider="openai"),
            counter_factory=factory,
            workers=workers,
        ).to_dict()
        for workers in (1, 2)
    ]
    assert reports[0] == reports[1]
    assert {f["code"] for f in reports[0]["findings"]} == {"wrong_format", "last_not_assistant"}
