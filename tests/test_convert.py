"""``tuner data convert``: shapes, mapping, readers, skip reporting and well-formed output."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuner.datasets.convert import (
    ConvertInputError,
    RecordError,
    call_id,
    convert,
    convert_record,
)
from tuner.datasets.findings import Category, Severity
from tuner.datasets.formats import BATCH_ROWS
from tuner.datasets.mapping import Mapping

ID = re.compile(r"^[a-zA-Z0-9]{9}$")


# --- a checker for what the platform wants ---


def assert_wellformed(sample: dict[str, Any]) -> None:
    """Roles, order, tool-call pairing, ids and argument strings as the validator wants them."""
    assert set(sample) <= {"messages", "tools"}
    messages = sample["messages"]
    assert isinstance(messages, list) and messages
    roles = [message["role"] for message in messages]
    assert set(roles) <= {"system", "user", "assistant", "tool"}
    assert "system" not in roles[1:], "a system prompt only comes first"
    assert any(role != "system" for role in roles)
    pending: list[str] = []
    known: set[str] = set()
    for message in messages:
        role = message["role"]
        if role == "tool":
            assert ID.match(message["tool_call_id"])
            assert message["tool_call_id"] in pending, "a result answers an open call"
            pending.remove(message["tool_call_id"])
            assert isinstance(message["content"], str)
            continue
        assert not pending, "calls are answered before the conversation goes on"
        if role == "assistant" and "tool_calls" in message:
            assert not message.get("content"), "no text beside tool calls"
            assert message["tool_calls"]
            for call in message["tool_calls"]:
                assert ID.match(call["id"])
                assert call["id"] not in known
                known.add(call["id"])
                assert call["type"] == "function"
                assert isinstance(call["function"]["name"], str)
                assert isinstance(call["function"]["arguments"], str)
                json.loads(call["function"]["arguments"])
                pending.append(call["id"])
        else:
            assert isinstance(message["content"], str)
    last = messages[-1]
    assert last["role"] == "assistant"
    for tool in sample.get("tools", []):
        assert tool["type"] == "function"
        assert isinstance(tool["function"]["name"], str)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    lines = path.read_bytes().splitlines()
    return [orjson.loads(line) for line in lines]


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    return path


SHAREGPT = {
    "conversations": [
        {"from": "human", "value": "Hi"},
        {"from": "gpt", "value": "Hello!"},
    ],
    "system": "Be brief.",
}
OPENAI = {
    "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]
}
ALPACA = {"instruction": "Add the numbers.", "input": "2 3", "output": "5"}
PROMPT_COMPLETION = {"prompt": "Capital of France?", "completion": "Paris."}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


# --- shapes ---


def test_sharegpt_with_system_column() -> None:
    sample = convert_record(SHAREGPT)
    assert sample == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
        ]
    }
    assert_wellformed(sample)


def test_sharegpt_function_call_and_observation() -> None:
    record = {
        "conversations": [
            {"from": "human", "value": "Weather in Paris?"},
            {
                "from": "function_call",
                "value": '{"name": "get_weather", "arguments": {"city": "Paris"}}',
            },
            {"from": "observation", "value": '{"temp": 21}'},
            {"from": "gpt", "value": "21 degrees."},
        ],
        # LLaMA-Factory keeps tools as a JSON string of bare function schemas.
        "tools": json.dumps([WEATHER_TOOL["function"]]),
    }
    sample = convert_record(record, source_format="sharegpt", index=7)
    assert_wellformed(sample)
    assert sample["tools"] == [WEATHER_TOOL]
    call_message, result = sample["messages"][1], sample["messages"][2]
    call = call_message["tool_calls"][0]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert call["id"] == call_id(7, 0)
    assert result == {"role": "tool", "content": '{"temp": 21}', "tool_call_id": call["id"]}


def test_sharegpt_parallel_calls_in_one_turn_answered_in_order() -> None:
    record = {
        "conversations": [
            {"from": "human", "value": "Paris and Rome?"},
            {
                "from": "function_call",
                "value": json.dumps(
                    [
                        {"name": "get_weather", "arguments": {"city": "Paris"}},
                        {"name": "get_weather", "arguments": {"city": "Rome"}},
                    ]
                ),
            },
            {"from": "observation", "value": "sunny"},
            {"from": "observation", "value": "rainy"},
            {"from": "gpt", "value": "Sunny, then rainy."},
        ]
    }
    sample = convert_record(record)
    assert_wellformed(sample)
    calls = sample["messages"][1]["tool_calls"]
    assert [m.get("tool_call_id") for m in sample["messages"][2:4]] == [c["id"] for c in calls]


def test_consecutive_call_turns_become_one_parallel_call() -> None:
    record = {
        "conversations": [
            {"from": "human", "value": "Paris and Rome?"},
            {"from": "function_call", "value": '{"name": "w", "arguments": {"c": "P"}}'},
            {"from": "function_call", "value": '{"name": "w", "arguments": {"c": "R"}}'},
            {"from": "observation", "value": "sunny"},
            {"from": "observation", "value": "rainy"},
            {"from": "gpt", "value": "ok"},
        ]
    }
    sample = convert_record(record)
    assert_wellformed(sample)
    assert [m["role"] for m in sample["messages"]] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
    ]
    assert len(sample["messages"][1]["tool_calls"]) == 2


@pytest.mark.parametrize(
    "joined",
    [
        json.dumps(["sunny", {"temp": 9}]),
        "sunny\n</tool_response>\n<tool_response>\n{'temp': 9}",
    ],
)
def test_one_observation_for_parallel_calls_is_split(joined: str) -> None:
    record = {
        "conversations": [
            {"from": "human", "value": "Paris and Rome?"},
            {
                "from": "function_call",
                "value": '[{"name": "w", "arguments": {}}, {"name": "w", "arguments": {}}]',
            },
            {"from": "observation", "value": joined},
            {"from": "gpt", "value": "ok"},
        ]
    }
    sample = convert_record(record)
    assert_wellformed(sample)
    results = [m for m in sample["messages"] if m["role"] == "tool"]
    assert len(results) == 2
    assert results[0]["content"] == "sunny"


def test_openai_ids_are_replaced_consistently() -> None:
    record = {
        "messages": [
            {"role": "user", "content": "Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_Paris123456789",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "call_Rome",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": {"city": "Rome"}},
                    },
                ],
            },
            # Answered out of order: ids decide, not positions.
            {"role": "tool", "tool_call_id": "call_Rome", "content": "rainy"},
            {"role": "tool", "tool_call_id": "call_Paris123456789", "content": "sunny"},
            {"role": "assistant", "content": "Sunny in Paris, rainy in Rome.", "weight": 1},
        ],
        "tools": [WEATHER_TOOL],
        "id": "ignored",
    }
    sample = convert_record(record, source_format="openai", index=3)
    assert_wellformed(sample)
    paris, rome = sample["messages"][1]["tool_calls"]
    assert rome["function"]["arguments"] == '{"city":"Rome"}'
    assert paris["function"]["arguments"] == '{"city": "Paris"}'
    assert sample["messages"][2] == {"role": "tool", "content": "rainy", "tool_call_id": rome["id"]}
    assert sample["messages"][3]["tool_call_id"] == paris["id"]
    assert sample["messages"][4]["weight"] == 1
    assert sample["tools"] == [WEATHER_TOOL]


def test_valid_mistral_ids_and_weights_pass_through() -> None:
    record = {
        "messages": [
            {"role": "system", "content": "Sys"},
            {"role": "user", "content": "Q"},
            {"role": "assistant", "content": "draft", "weight": 0},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "TX92Jm8Zi",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "content": "r", "tool_call_id": "TX92Jm8Zi"},
            {"role": "assistant", "content": "A", "weight": 1},
        ],
        "tools": [WEATHER_TOOL],
    }
    sample = convert_record(record, source_format="mistral")
    assert_wellformed(sample)
    assert sample == record


def test_legacy_functions_become_tools_and_tool_calls() -> None:
    record = {
        "messages": [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
            },
            {"role": "function", "name": "get_weather", "content": "cold"},
            {"role": "assistant", "content": "Cold."},
        ],
        "functions": [WEATHER_TOOL["function"]],
    }
    sample = convert_record(record)
    assert_wellformed(sample)
    assert sample["tools"] == [WEATHER_TOOL]
    call = sample["messages"][1]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather"
    assert sample["messages"][2] == {"role": "tool", "content": "cold", "tool_call_id": call["id"]}


def test_legacy_function_results_match_calls_by_name() -> None:
    record = {
        "messages": [
            {"role": "user", "content": "Both?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"function": {"name": "a", "arguments": "{}"}},
                    {"function": {"name": "b", "arguments": "{}"}},
                ],
            },
            {"role": "function", "name": "b", "content": "B"},
            {"role": "function", "name": "a", "content": "A"},
            {"role": "assistant", "content": "done"},
        ]
    }
    sample = convert_record(record)
    assert_wellformed(sample)
    ids = {c["function"]["name"]: c["id"] for c in sample["messages"][1]["tool_calls"]}
    assert sample["messages"][2]["tool_call_id"] == ids["b"]
    assert sample["messages"][3]["tool_call_id"] == ids["a"]


def test_text_beside_tool_calls_becomes_its_own_turn() -> None:
    record = {
        "messages": [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": "Let me check.",
                "tool_calls": [{"id": "x", "function": {"name": "w", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "x", "content": "sunny"},
            {"role": "assistant", "content": "Sunny."},
        ]
    }
    sample = convert_record(record)
    assert_wellformed(sample)
    assert sample["messages"][1] == {"role": "assistant", "content": "Let me check."}
    assert "tool_calls" in sample["messages"][2]


def test_conversation_may_end_with_a_tool_call() -> None:
    record = {
        "conversations": [
            {"from": "human", "value": "Weather?"},
            {"from": "function_call", "value": '{"name": "w", "arguments": {}}'},
        ]
    }
    sample = convert_record(record)
    assert sample["messages"][-1]["tool_calls"][0]["function"]["arguments"] == "{}"


def test_alpaca_with_history_and_system() -> None:
    record = {**ALPACA, "system": "You add.", "history": [["1 1", "2"], ["2 2", "4"]]}
    sample = convert_record(record, source_format="alpaca")
    assert_wellformed(sample)
    assert sample["messages"] == [
        {"role": "system", "content": "You add."},
        {"role": "user", "content": "1 1"},
        {"role": "assistant", "content": "2"},
        {"role": "user", "content": "2 2"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "Add the numbers.\n2 3"},
        {"role": "assistant", "content": "5"},
    ]


def test_alpaca_without_input_and_empty_system() -> None:
    sample = convert_record({"instruction": "Say hi.", "input": "", "output": "hi", "system": ""})
    assert sample["messages"] == [
        {"role": "user", "content": "Say hi."},
        {"role": "assistant", "content": "hi"},
    ]


def test_prompt_completion() -> None:
    sample = convert_record(PROMPT_COMPLETION, source_format="prompt-completion")
    assert sample["messages"] == [
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."},
    ]


@pytest.mark.parametrize(
    "record", [SHAREGPT, OPENAI, ALPACA, PROMPT_COMPLETION], ids=lambda r: next(iter(r))
)
def test_auto_detects_every_shape(record: dict[str, Any]) -> None:
    assert_wellformed(convert_record(record))


def test_columnar_nulls_do_not_count_as_columns() -> None:
    # A Parquet file with mixed shapes gives every row every column, None where absent.
    record = {**OPENAI, "conversations": None, "instruction": None, "output": None}
    assert_wellformed(convert_record(record))


def test_user_text_chunks_are_joined() -> None:
    record = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hel"}, {"type": "text", "text": "lo"}],
            },
            {"role": "assistant", "content": "Hi"},
        ]
    }
    assert convert_record(record)["messages"][0] == {"role": "user", "content": "Hello"}


def test_aliases_interactions_and_system_prompt() -> None:
    record = {"interactions": OPENAI["messages"], "system_prompt": "S"}
    sample = convert_record(record)
    assert sample["messages"][0] == {"role": "system", "content": "S"}


def test_identical_system_column_and_turn_are_one_prompt() -> None:
    record = {
        "conversations": [{"from": "system", "value": "S"}, *SHAREGPT["conversations"]],
        "system": "S",
    }
    sample = convert_record(record)
    assert [m["role"] for m in sample["messages"]] == ["system", "user", "assistant"]


def test_mapping_renames_columns_keys_and_roles() -> None:
    mapping = Mapping.model_validate(
        {
            "format": "sharegpt",
            "columns": {"messages": "dialog", "system": "persona", "tools": "fns"},
            "keys": {"role": "speaker", "content": "said"},
            "roles": {"Kunde": "user", "Agent": "assistant", "Rechner": "tool", "Ruf": "tool_call"},
        }
    )
    record = {
        "dialog": [
            {"speaker": "Kunde", "said": "Wetter?"},
            {"speaker": "Ruf", "said": {"name": "get_weather", "arguments": {"city": "Bonn"}}},
            {"speaker": "Rechner", "said": "kalt"},
            {"speaker": "Agent", "said": "Kalt."},
        ],
        "persona": "Sei kurz.",
        "fns": [WEATHER_TOOL],
    }
    sample = convert_record(record, mapping=mapping, index=1)
    assert_wellformed(sample)
    assert sample["messages"][0] == {"role": "system", "content": "Sei kurz."}
    assert sample["tools"] == [WEATHER_TOOL]


def test_mapping_alpaca_columns() -> None:
    mapping = Mapping.model_validate(
        {"columns": {"instruction": "question", "output": "answer", "input": "context"}}
    )
    record = {"question": "Q?", "context": "C", "answer": "A"}
    sample = convert_record(record, source_format="alpaca", mapping=mapping)
    assert sample["messages"][0] == {"role": "user", "content": "Q?\nC"}


def test_explicit_format_overrides_mapping_format() -> None:
    mapping = Mapping.model_validate({"format": "alpaca"})
    assert_wellformed(
        convert_record(PROMPT_COMPLETION, source_format="prompt-completion", mapping=mapping)
    )
    with pytest.raises(RecordError) as caught:
        convert_record(PROMPT_COMPLETION, mapping=mapping)
    assert caught.value.code == "convert_missing_column"


def test_ids_are_deterministic_and_depend_on_index() -> None:
    record = {
        "conversations": [
            {"from": "human", "value": "x"},
            {"from": "function_call", "value": '{"name": "f", "arguments": {}}'},
            {"from": "observation", "value": "y"},
            {"from": "gpt", "value": "z"},
        ]
    }
    first = convert_record(record, index=5)
    assert first == convert_record(record, index=5)
    other = convert_record(record, index=6)
    assert (
        first["messages"][1]["tool_calls"][0]["id"] != other["messages"][1]["tool_calls"][0]["id"]
    )


@given(st.integers(min_value=0, max_value=2**40), st.integers(min_value=0, max_value=1000))
def test_call_ids_are_always_valid(index: int, position: int) -> None:
    assert ID.match(call_id(index, position))


def test_invented_ids_avoid_ids_already_in_the_record() -> None:
    taken = call_id(0, 0)
    record = {
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"function": {"name": "a", "arguments": "{}"}}]},
            {"role": "tool", "content": "A"},
            {
                "role": "assistant",
                "tool_calls": [{"id": taken, "function": {"name": "b", "arguments": "{}"}}],
            },
            {"role": "tool", "content": "B", "tool_call_id": taken},
            {"role": "assistant", "content": "done"},
        ]
    }
    sample = convert_record(record, index=0)
    assert_wellformed(sample)
    assert sample["messages"][3]["tool_calls"][0]["id"] == taken


# --- records that are skipped, with their reason ---


@pytest.mark.parametrize(
    ("record", "fmt", "code", "category"),
    [
        ({"text": "pretrain"}, "auto", "convert_unknown_shape", Category.SCHEMA),
        ({**OPENAI, **PROMPT_COMPLETION}, "auto", "convert_ambiguous_shape", Category.SCHEMA),
        ({**OPENAI, "conversations": []}, "auto", "convert_ambiguous_shape", Category.SCHEMA),
        ({"messages": "hello"}, "auto", "convert_bad_type", Category.SCHEMA),
        ({"messages": "[{oops"}, "auto", "convert_bad_json", Category.JSON),
        ({"messages": []}, "auto", "convert_empty", Category.SCHEMA),
        (
            {"messages": [{"role": "system", "content": "S"}]},
            "auto",
            "convert_empty",
            Category.SCHEMA,
        ),
        (
            {"messages": [{"role": "narrator", "content": "x"}]},
            "auto",
            "convert_unknown_role",
            Category.ROLE,
        ),
        ({"messages": [{"content": "x"}]}, "auto", "convert_missing_key", Category.SCHEMA),
        ({"messages": [{"role": "user"}]}, "auto", "convert_missing_key", Category.SCHEMA),
        ({"messages": ["hi"]}, "auto", "convert_bad_type", Category.SCHEMA),
        (
            {"messages": [{"role": "user", "content": [{"type": "file", "file": "x"}]}]},
            "auto",
            "convert_unsupported_content",
            Category.SCHEMA,
        ),
        (
            {
                "conversations": [
                    {"from": "human", "value": "x"},
                    {"from": "observation", "value": "y"},
                ]
            },
            "auto",
            "convert_orphan_tool_result",
            Category.STRUCTURE,
        ),
        (
            {
                "conversations": [
                    {"from": "human", "value": "x"},
                    {"from": "function_call", "value": '{"name": "f", "arguments": {}}'},
                    {"from": "gpt", "value": "y"},
                ]
            },
            "auto",
            "convert_unanswered_tool_call",
            Category.STRUCTURE,
        ),
        (
            {
                "conversations": [
                    {"from": "human", "value": "x"},
                    {"from": "function_call", "value": "f()"},
                ]
            },
            "auto",
            "convert_bad_tool_call",
            Category.TOOL,
        ),
        (
            {
                "conversations": [
                    {"from": "human", "value": "x"},
                    {"from": "function_call", "value": "{bad"},
                ]
            },
            "auto",
            "convert_bad_json",
            Category.JSON,
        ),
        ({**OPENAI, "tools": "[1, 2]"}, "auto", "convert_bad_tools", Category.TOOL),
        ({**OPENAI, "tools": "not json"}, "auto", "convert_bad_tools", Category.TOOL),
        (
            {"messages": [{"role": "system", "content": "A"}, *OPENAI["messages"]], "system": "B"},
            "auto",
            "convert_two_system_prompts",
            Category.STRUCTURE,
        ),
        ({"instruction": "x", "output": ""}, "auto", "convert_empty", Category.SCHEMA),
        (
            {"instruction": "", "input": " ", "output": "y"},
            "auto",
            "convert_empty",
            Category.SCHEMA,
        ),
        ({"instruction": "x", "output": ["a", "b"]}, "auto", "convert_bad_type", Category.SCHEMA),
        ({**ALPACA, "history": [["only one"]]}, "auto", "convert_bad_type", Category.SCHEMA),
        ({"prompt": "x", "completion": "  "}, "auto", "convert_empty", Category.SCHEMA),
        (SHAREGPT, "openai", "convert_missing_column", Category.SCHEMA),
        (OPENAI, "alpaca", "convert_missing_column", Category.SCHEMA),
    ],
)
def test_unconvertible_records_raise_with_a_reason(
    record: dict[str, Any], fmt: str, code: str, category: Category
) -> None:
    with pytest.raises(RecordError) as caught:
        convert_record(record, source_format=fmt)
    assert caught.value.code == code
    assert caught.value.category is category
    assert caught.value.reason


def test_unknown_role_hint_names_the_mapping() -> None:
    with pytest.raises(RecordError) as caught:
        convert_record({"conversations": [{"from": "Kunde", "value": "x"}]})
    assert "'Kunde'" in caught.value.reason
    assert caught.value.hint is not None and "[roles]" in caught.value.hint


def test_unknown_source_format_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="unknown source format"):
        convert_record(OPENAI, source_format="chatml")


# --- property: whatever ShareGPT conversation, the output is well-formed ---

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8
)
_call = st.fixed_dictionaries(
    {
        "name": st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
        "arguments": st.dictionaries(_text, _text, max_size=2),
    }
)


@st.composite
def _exchanges(draw: st.DrawFn) -> list[dict[str, str]]:
    """A user turn, then optionally tool rounds, then an assistant answer; repeated."""
    turns: list[dict[str, str]] = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        turns.append(
            {"from": draw(st.sampled_from(["human", "user", "Human"])), "value": draw(_text)}
        )
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            calls = draw(st.lists(_call, min_size=1, max_size=3))
            payload: Any = calls if len(calls) > 1 or draw(st.booleans()) else calls[0]
            turns.append({"from": "function_call", "value": json.dumps(payload)})
            for _ in calls:
                turns.append(
                    {"from": draw(st.sampled_from(["observation", "tool"])), "value": draw(_text)}
                )
        turns.append(
            {"from": draw(st.sampled_from(["gpt", "assistant", "GPT"])), "value": draw(_text)}
        )
    return turns


@settings(max_examples=60)
@given(_exchanges(), st.integers(min_value=0, max_value=10**6), st.one_of(st.none(), _text))
def test_any_sharegpt_conversation_converts_wellformed(
    turns: list[dict[str, str]], index: int, system: str | None
) -> None:
    record: dict[str, Any] = {"conversations": turns}
    if system is not None:
        record["system"] = system
    sample = convert_record(record, index=index)
    assert_wellformed(sample)
    user_turns = sum(1 for turn in turns if turn["from"].lower() in ("human", "user"))
    assert sum(1 for m in sample["messages"] if m["role"] == "user") == user_turns


# --- the engine over files ---


class RecordingProgress:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def start(self, task: str, total: int | None = None, unit: str = "") -> None:
        self.events.append(("start", total))

    def advance(self, amount: int = 1) -> None:
        self.events.append(("advance", amount))

    def finish(self) -> None:
        self.events.append(("finish", None))

    def advanced(self) -> int:
        return sum(amount for kind, amount in self.events if kind == "advance")


def test_jsonl_with_bad_lines_reports_physical_lines(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        b"\xef\xbb\xbf"
        + orjson.dumps(SHAREGPT)
        + b"\r\n"
        + b"\n"  # a blank line: no record, nothing lost
        + b'{"messages": [oops\n'
        + b"[1, 2]\n"
        + b'{"text": "\xff"}\n'
        + orjson.dumps({"conversations": [{"from": "alien", "value": "x"}]})
        + b"\n"
        + orjson.dumps(OPENAI)
        + b"\n"
    )
    out = tmp_path / "out.jsonl"
    progress = RecordingProgress()
    result = convert([src], out, progress=progress)

    lines = read_jsonl(out)
    assert len(lines) == 2
    for line in lines:
        assert_wellformed(line)
    assert result.read == 6
    assert result.converted == 2
    assert result.skipped_count == 4
    assert [(f.line, f.code, f.category) for f in result.skipped] == [
        (3, "convert_bad_json", Category.JSON),
        (4, "convert_not_object", Category.NOT_OBJECT),
        (5, "convert_bad_encoding", Category.ENCODING),
        (6, "convert_unknown_role", Category.ROLE),
    ]
    assert all(f.path == str(src) and f.severity is Severity.ERROR for f in result.skipped)
    assert result.skip_reasons == {
        "convert_bad_json": 1,
        "convert_not_object": 1,
        "convert_bad_encoding": 1,
        "convert_unknown_role": 1,
    }
    assert progress.events[0] == ("start", None)
    assert progress.events[-1] == ("finish", None)
    assert progress.advanced() == 6


def test_json_array_single_object_and_jsonl_named_json(tmp_path: Path) -> None:
    array = tmp_path / "array.json"
    array.write_text(json.dumps([ALPACA, "not an object", PROMPT_COMPLETION], indent=2))
    single = tmp_path / "single.json"
    single.write_text(json.dumps(SHAREGPT, indent=2))
    lines = tmp_path / "lines.json"
    write_jsonl(lines, [OPENAI, OPENAI])
    out = tmp_path / "out.jsonl"
    result = convert([array, single, lines], out)
    assert [(s.read, s.converted, s.skipped) for s in result.sources] == [
        (3, 2, 1),
        (1, 1, 0),
        (2, 2, 0),
    ]
    assert result.skipped[0].line == 2
    assert result.skipped[0].code == "convert_not_object"
    assert len(read_jsonl(out)) == 5


def test_json_that_is_neither_is_unreadable(tmp_path: Path) -> None:
    src = tmp_path / "bad.json"
    src.write_text('[{"a": 1},')
    with pytest.raises(ConvertInputError, match="not valid JSON"):
        convert([src], tmp_path / "out.jsonl")
    scalar = tmp_path / "scalar.json"
    scalar.write_text("42")
    with pytest.raises(ConvertInputError, match="number"):
        convert([scalar], tmp_path / "out.jsonl")


def test_csv_with_json_cells_multiline_values_and_mapping(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    with src.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "conversation", "persona"])
        turns = [
            {"from": "human", "value": "line one\nline two"},
            {"from": "gpt", "value": "ok, 42"},
        ]
        writer.writerow(["1", json.dumps(turns, indent=1), "Be kind."])
        writer.writerow(["2", "[not json", ""])
        writer.writerow(["3", json.dumps(turns), ""])
    mapping = Mapping.model_validate({"columns": {"messages": "conversation", "system": "persona"}})
    out = tmp_path / "out.jsonl"
    result = convert([src], out, mapping=mapping)
    lines = read_jsonl(out)
    assert len(lines) == 2
    assert lines[0]["messages"][0] == {"role": "system", "content": "Be kind."}
    assert lines[0]["messages"][1]["content"] == "line one\nline two"
    assert lines[1]["messages"][0]["role"] == "user"  # an empty cell is no system prompt
    assert [(f.line, f.code) for f in result.skipped] == [(2, "convert_bad_json")]


def test_csv_alpaca_keeps_cells_as_text_and_reports_malformed_rows(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        'instruction,input,output\nAdd,"1,2",3\nNumber?,,007\ntoo,many,fields,here\nSay hi,,hi\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    result = convert([src], out)
    lines = read_jsonl(out)
    assert [line["messages"][1]["content"] for line in lines] == ["3", "007", "hi"]
    assert lines[0]["messages"][0]["content"] == "Add\n1,2"
    assert [f.code for f in result.skipped] == ["convert_bad_csv_row"]
    assert result.read == 4


def test_tsv(tmp_path: Path) -> None:
    src = tmp_path / "in.tsv"
    src.write_text("prompt\tcompletion\nHi, you\tHello\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    convert([src], out, source_format="prompt-completion")
    assert read_jsonl(out)[0]["messages"][0]["content"] == "Hi, you"


def _messages_table(count: int) -> pa.Table:
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"q{i}", "tool_calls": None, "tool_call_id": None},
                {"role": "assistant", "content": f"a{i}", "tool_calls": None, "tool_call_id": None},
            ],
            "system": None if i % 2 else f"s{i}",
        }
        for i in range(count)
    ]
    return pa.Table.from_pylist(rows)


def test_parquet_in_batches_keeps_order(tmp_path: Path) -> None:
    count = BATCH_ROWS * 2 + 7
    src = tmp_path / "in.parquet"
    pq.write_table(_messages_table(count), src, row_group_size=100)
    out = tmp_path / "out.jsonl"
    progress = RecordingProgress()
    result = convert([src], out, progress=progress)
    lines = read_jsonl(out)
    assert result.converted == count
    assert [line["messages"][-1]["content"] for line in lines] == [f"a{i}" for i in range(count)]
    assert lines[0]["messages"][0] == {"role": "system", "content": "s0"}
    assert lines[1]["messages"][0] == {"role": "user", "content": "q1"}
    for line in lines[:3]:
        assert_wellformed(line)
    assert progress.events[0] == ("start", count)
    assert progress.advanced() == count


def test_parquet_row_numbers_for_skips(tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(
        pa.Table.from_pylist(
            [PROMPT_COMPLETION, {"prompt": "x", "completion": ""}, PROMPT_COMPLETION]
        ),
        src,
    )
    result = convert([src], tmp_path / "out.jsonl")
    assert [(f.path, f.line, f.code) for f in result.skipped] == [(str(src), 2, "convert_empty")]


@pytest.mark.parametrize("layout", ["file", "stream", "feather"])
def test_arrow_ipc_layouts(tmp_path: Path, layout: str) -> None:
    table = _messages_table(BATCH_ROWS + 3)
    src = tmp_path / ("in.feather" if layout == "feather" else "in.arrow")
    if layout == "feather":
        feather.write_feather(table, src)
    elif layout == "file":
        with ipc.new_file(src, table.schema) as writer:
            writer.write_table(table)
    else:
        with ipc.new_stream(src, table.schema) as writer:
            writer.write_table(table)
    out = tmp_path / "out.jsonl"
    result = convert([src], out)
    assert result.converted == BATCH_ROWS + 3
    assert read_jsonl(out)[-1]["messages"][-1]["content"] == f"a{BATCH_ROWS + 2}"


def test_hf_dataset_saved_to_disk(tmp_path: Path) -> None:
    import datasets

    rows = [SHAREGPT, {"conversations": [{"from": "human", "value": "x"}], "system": ""}]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "ds"))
    out = tmp_path / "out.jsonl"
    progress = RecordingProgress()
    result = convert([tmp_path / "ds"], out, progress=progress)
    # A lone user turn converts (the validator reports the missing answer); nothing is skipped.
    assert result.converted == 2
    first, second = read_jsonl(out)
    assert first["messages"][0] == {"role": "system", "content": "Be brief."}
    assert second["messages"] == [{"role": "user", "content": "x"}]
    assert progress.events[0] == ("start", 2)


def test_hf_dataset_dict_picks_split(tmp_path: Path) -> None:
    import datasets

    saved = tmp_path / "dd"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list([ALPACA, ALPACA]),
            "test": datasets.Dataset.from_list([PROMPT_COMPLETION]),
        }
    ).save_to_disk(str(saved))
    out = tmp_path / "out.jsonl"
    assert convert([saved], out).converted == 2
    test_split = Mapping.model_validate({"split": "test"})
    convert([saved], out, mapping=test_split, force=True)
    assert read_jsonl(out)[0]["messages"][1]["content"] == "Paris."
    with pytest.raises(ConvertInputError, match=r"no split 'dev'.*test, train"):
        convert([saved], out, mapping=Mapping.model_validate({"split": "dev"}), force=True)


def test_shards_go_into_one_output_in_order(tmp_path: Path) -> None:
    first = write_jsonl(tmp_path / "a.jsonl", [OPENAI, {"text": "pretrain"}])
    second = tmp_path / "b.parquet"
    pq.write_table(pa.Table.from_pylist([PROMPT_COMPLETION]), second)
    out = tmp_path / "out.jsonl"
    result = convert([first, second], out)
    assert [(s.path, s.read, s.converted, s.skipped) for s in result.sources] == [
        (str(first), 2, 1, 1),
        (str(second), 1, 1, 0),
    ]
    assert [line["messages"][1]["content"] for line in read_jsonl(out)] == ["Hello!", "Paris."]
    assert result.skipped[0].hint is not None and "pretraining" in result.skipped[0].hint


def test_tool_call_ids_differ_across_records(tmp_path: Path) -> None:
    record = {
        "conversations": [
            {"from": "human", "value": "x"},
            {"from": "function_call", "value": '{"name": "f", "arguments": {"a": 1}}'},
            {"from": "observation", "value": "y"},
            {"from": "gpt", "value": "z"},
        ]
    }
    src = write_jsonl(tmp_path / "in.jsonl", [record, record])
    out = tmp_path / "out.jsonl"
    convert([src], out)
    first, second = read_jsonl(out)
    assert_wellformed(first)
    assert (
        first["messages"][1]["tool_calls"][0]["id"] != second["messages"][1]["tool_calls"][0]["id"]
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.jsonl", "no such file"),
        (lambda d: (d / "plain").mkdir() or d / "plain", "not a dataset saved with save_to_disk"),
        (
            lambda d: (d / "data.xlsx").write_bytes(b"x") and d / "data.xlsx",
            "unknown extension '.xlsx'",
        ),
        (
            lambda d: (d / "bad.parquet").write_bytes(b"not parquet") and d / "bad.parquet",
            "not a Parquet",
        ),
        (
            lambda d: (d / "bad.arrow").write_bytes(b"not arrow at all") and d / "bad.arrow",
            "not an Arrow",
        ),
    ],
)
def test_unreadable_source_raises_and_leaves_output_alone(
    tmp_path: Path, make: Any, message: str
) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [OPENAI])
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    with pytest.raises(ConvertInputError, match=message) as caught:
        convert([good, make(tmp_path)], out, force=True)
    assert "\n" not in str(caught.value)
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_unknown_source_format_raises_before_writing(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [OPENAI])
    with pytest.raises(ValueError, match="unknown source format"):
        convert([src], tmp_path / "out.jsonl", source_format="xml")
    assert not (tmp_path / "out.jsonl").exists()


def test_every_record_skipped_writes_nothing_and_reports(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [SHAREGPT, SHAREGPT])
    out = tmp_path / "out.jsonl"
    result = convert([src], out, source_format="alpaca")
    assert not out.exists()  # no empty file
    assert [p.name for p in tmp_path.iterdir()] == ["in.jsonl"]
    assert result.converted == 0
    assert result.skip_reasons == {"convert_missing_column": 2}
    assert [f.line for f in result.skipped] == [1, 2]


# --- property: no input crashes the record function ---

_KEYS = st.sampled_from(
    [
        "messages",
        "conversations",
        "role",
        "from",
        "content",
        "value",
        "text",
        "type",
        "tool_calls",
        "function_call",
        "function",
        "name",
        "arguments",
        "id",
        "tool_call_id",
        "instruction",
        "input",
        "output",
        "history",
        "prompt",
        "completion",
        "tools",
        "functions",
        "system",
        "weight",
    ]
)
_ROLES = st.sampled_from(["user", "gpt", "tool", "function", "function_call", "system", "x"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text | _ROLES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=150)
@given(st.dictionaries(_KEYS, _JSON, max_size=6))
def test_any_record_converts_or_raises_a_record_error(record: dict[str, Any]) -> None:
    try:
        sample = convert_record(record)
    except RecordError as exc:
        assert exc.code.startswith("convert_")
        return
    orjson.dumps(sample)
    assert sample["messages"]


def test_structured_tool_results_become_json_text() -> None:
    record = {
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {}}}]},
            {"role": "tool", "content": [{"temp": 1}, {"temp": 2}]},
            {"role": "assistant", "content": "y"},
        ]
    }
    sample = convert_record(record)
    assert_wellformed(sample)
    assert sample["messages"][2]["content"] == '[{"temp":1},{"temp":2}]'


def test_available_tools_alias_and_bare_function_schemas() -> None:
    record = {**OPENAI, "available_tools": [WEATHER_TOOL["function"]]}
    assert convert_record(record)["tools"] == [WEATHER_TOOL]


def test_csv_that_is_not_utf8_is_unreadable(tmp_path: Path) -> None:
    src = tmp_path / "latin1.csv"
    src.write_bytes(b"prompt,completion\ncaf\xe9,ok\n")
    with pytest.raises(ConvertInputError, match="CSV"):
        convert([src], tmp_path / "out.jsonl")


def test_unanswered_call_message_reads_right() -> None:
    record = {
        "conversations": [
            {"from": "human", "value": "x"},
            {"from": "function_call", "value": '{"name": "f", "arguments": {}}'},
            {"from": "gpt", "value": "y"},
        ]
    }
    with pytest.raises(RecordError) as caught:
        convert_record(record)
    assert "before an assistant turn" in caught.value.reason
