"""Eval items from JSONL: the prompt is cleaned for the chat API, the reference is the last turn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tuner.evals.dataset import EvalDataError, ToolCallAnswer, file_sha256, load_eval_set

from .support import EXAMPLES

LOOKUP_TOOL = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look up an order.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
        "x-internal": "dropped",
    },
    "owner": "dropped too",
}


def write(tmp_path: Path, records: list[Any], name: str = "eval.jsonl") -> Path:
    path = tmp_path / name
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_prompt_is_everything_before_the_last_assistant_turn(tmp_path: Path) -> None:
    record = {
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I help?", "weight": 0},
            {"role": "user", "content": "Reset my lamp"},
            {"role": "assistant", "content": "Hold the button for ten seconds.", "weight": 1},
        ]
    }
    eval_set = load_eval_set(write(tmp_path, [record]))
    (item,) = eval_set.items
    assert item.index == 0
    assert item.line == 1
    # No training-only "weight" anywhere in what is sent.
    assert list(item.messages) == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Reset my lamp"},
    ]
    assert item.reference.text == "Hold the button for ten seconds."
    assert item.reference.tool_calls == ()
    assert item.tools == ()
    assert item.last_user_text == "Reset my lamp"


def test_top_level_system_prompt_becomes_a_system_message(tmp_path: Path) -> None:
    record = {
        "system_prompt": "You are Lumen support.",
        "messages": [
            {"role": "user", "content": "Bonjour"},
            {"role": "assistant", "content": "Bonjour !"},
        ],
        "id": "an extra key the API would refuse",
    }
    (item,) = load_eval_set(write(tmp_path, [record])).items
    assert item.messages[0] == {"role": "system", "content": "You are Lumen support."}
    assert item.messages[1] == {"role": "user", "content": "Bonjour"}
    assert len(item.messages) == 2


def test_tools_and_tool_messages_are_cleaned(tmp_path: Path) -> None:
    record = {
        "tools": [LOOKUP_TOOL],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Where is BF-100001?", "mood": "grumpy"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "abcDEF123",
                        "type": "function",
                        "function": {
                            "name": "lookup_order",
                            "arguments": '{"order_id":"BF-100001"}',
                        },
                    }
                ],
            },
            {"role": "tool", "content": '{"status": "shipped"}', "tool_call_id": "abcDEF123"},
            {"role": "assistant", "content": "It has shipped."},
        ],
    }
    (item,) = load_eval_set(write(tmp_path, [record])).items
    assert item.tools == (
        {
            "type": "function",
            "function": {
                "name": "lookup_order",
                "description": "Look up an order.",
                "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
            },
        },
    )
    assert item.messages == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Where is BF-100001?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "abcDEF123",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": '{"order_id":"BF-100001"}'},
                }
            ],
        },
        {"role": "tool", "content": '{"status": "shipped"}', "tool_call_id": "abcDEF123"},
    )
    assert item.reference.text == "It has shipped."


def test_conversation_ending_in_a_tool_call(tmp_path: Path) -> None:
    record = {
        "tools": [LOOKUP_TOOL],
        "messages": [
            {"role": "user", "content": "Where is BF-100001?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "abcDEF123",
                        "type": "function",
                        "function": {
                            "name": "lookup_order",
                            "arguments": '{"order_id":"BF-100001"}',
                        },
                    }
                ],
            },
        ],
    }
    (item,) = load_eval_set(write(tmp_path, [record])).items
    assert item.reference.is_tool_call
    assert item.reference.tool_calls == (
        ToolCallAnswer("lookup_order", '{"order_id":"BF-100001"}'),
    )
    assert item.reference.rendered() == 'lookup_order({"order_id":"BF-100001"})'


def test_aliases_and_text_chunks(tmp_path: Path) -> None:
    record = {
        "interactions": [
            {"role": "user", "content": [{"type": "text", "text": "Part one. "}]},
            {"role": "assistant", "text": "Done."},
        ]
    }
    (item,) = load_eval_set(write(tmp_path, [record])).items
    assert item.messages == ({"role": "user", "content": [{"type": "text", "text": "Part one. "}]},)
    assert item.reference.text == "Done."
    assert item.last_user_text == "Part one. "


def test_bad_lines_are_skipped_with_a_reason(tmp_path: Path) -> None:
    good = {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}
    path = write(
        tmp_path,
        [
            good,
            "{not json",
            {"messages": [{"role": "user", "content": "no answer"}]},
            "",
            good,
        ],
    )
    eval_set = load_eval_set(path)
    assert [item.line for item in eval_set.items] == [1, 5]
    assert [item.index for item in eval_set.items] == [0, 1]
    assert [s.line for s in eval_set.skipped] == [2, 3]
    assert all(s.reason for s in eval_set.skipped)


def test_no_usable_conversation_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EvalDataError, match="no usable conversation"):
        load_eval_set(write(tmp_path, ["{}", "[]"]))
    with pytest.raises(EvalDataError, match="cannot read"):
        load_eval_set(tmp_path / "missing.jsonl")


def test_identity_of_the_eval_set(tmp_path: Path) -> None:
    eval_set = load_eval_set(EXAMPLES)
    assert len(eval_set.items) == 300
    assert eval_set.skipped == ()
    assert eval_set.data_hash == file_sha256(EXAMPLES)
    assert load_eval_set(EXAMPLES).items[7].prompt_hash == eval_set.items[7].prompt_hash
    assert len(eval_set.limited(20).items) == 20
    assert eval_set.limited(20).data_hash == eval_set.data_hash
    assert sum(item.reference.is_tool_call for item in eval_set.items) == 3
    # Every prompt is valid for the chat API: no training-only key survives.
    allowed = {"role", "content", "tool_calls", "tool_call_id"}
    for item in eval_set.items:
        for message in item.messages:
            assert set(message) <= allowed
            assert message["role"] in {"system", "user", "assistant", "tool"}
        assert item.messages[-1]["role"] in {"user", "tool"}
