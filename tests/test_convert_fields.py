"""Every source field accounted for: KTO labels, preference pairs, media, reasoning, LLaMA-Factory.

The fixtures are written here from the public format descriptions (LLaMA-Factory's data/README.md
and v1 sample types, OpenAI's DPO format); no third-party data is copied.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from tuner.datasets.convert import (
    CONVERT_CODES,
    ConvertRefusedError,
    RecordError,
    convert,
    convert_record,
    convert_record_fields,
    preference_pair,
)
from tuner.datasets.fields import ConvertOptions
from tuner.datasets.findings import Severity
from tuner.datasets.mapping import Mapping

USER = {"role": "user", "content": "Capital of France?"}
GOOD = {"role": "assistant", "content": "Paris."}
BAD = {"role": "assistant", "content": "Lyon, obviously."}
KEEP = ConvertOptions(kto="keep-desirable")
CHOSEN = ConvertOptions(preference="chosen")
DROP_MEDIA = ConvertOptions(media="drop")
EXPECTED = [USER, GOOD]


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def refusal(record: dict[str, Any], **kwargs: Any) -> RecordError:
    with pytest.raises(RecordError) as caught:
        convert_record(record, **kwargs)
    assert caught.value.refused
    return caught.value


# --- KTO ---


def kto_record(label: object) -> dict[str, Any]:
    # LLaMA-Factory's KTO demo shape: OpenAI-style messages and a top-level boolean "label".
    return {"messages": [USER, GOOD if label in (True, "true") else BAD], "label": label}


def test_kto_labels_are_refused_by_default_naming_field_and_option() -> None:
    for label in (True, False):
        error = refusal(kto_record(label))
        assert error.code == "convert_kto_label"
        assert "'label'" in error.reason
        assert error.hint is not None and "--kto-keep-desirable" in error.hint


def test_kto_keep_desirable_converts_true_and_skips_false() -> None:
    sample, fields = convert_record_fields(kto_record(True), options=KEEP)
    assert sample["messages"] == EXPECTED
    assert "label" in fields.used
    with pytest.raises(RecordError) as caught:
        convert_record(kto_record(False), options=KEEP)
    assert caught.value.code == "convert_kto_undesirable"
    assert not caught.value.refused


def test_kto_label_as_csv_text_and_on_a_turn() -> None:
    assert refusal(kto_record("false")).code == "convert_kto_label"
    record = {"messages": [USER, {**BAD, "label": False}]}
    assert refusal(record).code == "convert_kto_label"
    with pytest.raises(RecordError, match="undesirable"):
        convert_record(record, options=KEEP)


def test_a_label_column_that_is_not_a_judgement_is_only_unused() -> None:
    sample, fields = convert_record_fields({"messages": [USER, GOOD], "label": "geography"})
    assert sample["messages"] == EXPECTED
    assert fields.unused == {"label"}


def test_kto_file_is_refused_whole_and_the_output_is_left_alone(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "kto.jsonl", [kto_record(True), kto_record(False)] * 5)
    out = tmp_path / "out.jsonl"
    out.write_text("keep me\n")
    with pytest.raises(ConvertRefusedError) as caught:
        convert([source], out, force=True)
    assert caught.value.finding.code == "convert_kto_label"
    assert caught.value.finding.line == 1
    assert str(caught.value).startswith(f"{source}:1: ")
    assert out.read_text() == "keep me\n"
    result = convert([source], out, options=KEEP, force=True)
    assert (result.converted, result.skipped_count) == (5, 5)
    assert result.skip_reasons == {"convert_kto_undesirable": 5}
    assert all(line["messages"] == EXPECTED for line in read_jsonl(out))


# --- preference pairs ---

SHAREGPT_PAIR = {
    "conversations": [{"from": "human", "value": "Capital of France?"}],
    "chosen": {"from": "gpt", "value": "Paris."},
    "rejected": {"from": "gpt", "value": "Lyon, obviously."},
}
ALPACA_PAIR = {
    "instruction": "Capital of France?",
    "input": "",
    "chosen": "Paris.",
    "rejected": "Lyon, obviously.",
}
OPENAI_DPO = {
    "input": {"messages": [USER], "tools": [], "parallel_tool_calls": True},
    "preferred_output": [GOOD],
    "non_preferred_output": [BAD],
}
V1_DPO = {
    "chosen_messages": [
        {"role": "user", "content": [{"type": "text", "value": USER["content"]}]},
        {"role": "assistant", "content": [{"type": "text", "value": GOOD["content"]}]},
    ],
    "rejected_messages": [
        {"role": "user", "content": [{"type": "text", "value": USER["content"]}]},
        {"role": "assistant", "content": [{"type": "text", "value": BAD["content"]}]},
    ],
}
WHOLE_CONVERSATIONS = {"chosen": [USER, GOOD], "rejected": [USER, BAD]}
PROMPT_PAIR = {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon, obviously."}
PAIRS = [SHAREGPT_PAIR, ALPACA_PAIR, OPENAI_DPO, V1_DPO, WHOLE_CONVERSATIONS, PROMPT_PAIR]


@pytest.mark.parametrize("record", PAIRS)
def test_preference_pairs_are_recognised_and_refused(record: dict[str, Any]) -> None:
    error = refusal(record)
    assert error.code == "convert_preference_pair"
    assert "no preference tuning" in error.reason
    assert error.hint is not None and "--preference chosen" in error.hint


@pytest.mark.parametrize("record", PAIRS)
def test_preference_chosen_builds_sft_from_the_chosen_answer(record: dict[str, Any]) -> None:
    sample, fields = convert_record_fields(record, options=CHOSEN)
    assert sample == {"messages": EXPECTED}
    assert not fields.unused
    assert fields.dropped == {
        "non_preferred_output" if "input" in record else "rejected_messages"
    } or fields.dropped == {"rejected"}


@pytest.mark.parametrize("record", PAIRS)
def test_preference_pair_keeps_both_sides(record: dict[str, Any]) -> None:
    pair = preference_pair(record)
    assert pair is not None
    assert pair.chosen == EXPECTED
    assert pair.rejected == [USER, BAD]


def test_openai_dpo_keeps_tools_and_system() -> None:
    tool = {
        "type": "function",
        "function": {"name": "capital", "description": "d", "parameters": {"type": "object"}},
    }
    record = {
        **OPENAI_DPO,
        "input": {"messages": [{"role": "system", "content": "Be brief."}, USER], "tools": [tool]},
    }
    sample = convert_record(record, options=CHOSEN)
    assert sample["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sample["tools"] == [tool]


def test_not_a_pair_is_none() -> None:
    assert preference_pair({"messages": [USER, GOOD]}) is None


def test_a_preference_file_is_refused_not_converted_then_failed(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "pairs.jsonl", [SHAREGPT_PAIR] * 12)
    out = tmp_path / "out.jsonl"
    with pytest.raises(ConvertRefusedError, match="no preference tuning"):
        convert([source], out)
    assert not out.exists()
    result = convert([source], out, options=CHOSEN)
    assert result.converted == 12
    assert result.sources[0].fields.dropped == {"rejected": 12}
    assert read_jsonl(out) == [{"messages": EXPECTED}] * 12


# --- media ---


def test_images_column_is_refused_naming_it() -> None:
    record = {
        "messages": [{"role": "user", "content": "<image>What is this?"}, GOOD],
        "images": ["photos/1.jpg"],
    }
    error = refusal(record)
    assert error.code == "convert_media"
    assert "'images'" in error.reason
    assert error.hint is not None and "--drop-media" in error.hint


def test_drop_media_strips_placeholders_and_reports_the_column() -> None:
    record = {
        "instruction": "<image>\nWhat is in the picture?",
        "output": "A lamp.",
        "images": ["a.jpg"],
        "videos": [],
    }
    sample, fields = convert_record_fields(record, options=DROP_MEDIA)
    assert sample["messages"][0] == {"role": "user", "content": "\nWhat is in the picture?"}
    assert fields.dropped == {"images"}
    assert not fields.unused


@pytest.mark.parametrize("column", ["videos", "audios"])
def test_video_and_audio_columns_are_refused(column: str) -> None:
    error = refusal({"messages": [USER, GOOD], column: ["clip"]})
    assert error.code == "convert_media" and repr(column) in error.reason


def test_image_chunks_are_refused_or_dropped() -> None:
    chunked = {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:..."}},
        ],
    }
    record = {"messages": [chunked, GOOD]}
    error = refusal(record)
    assert error.code == "convert_media" and "image_url" in error.reason
    sample, fields = convert_record_fields(record, options=DROP_MEDIA)
    assert sample["messages"][0] == {"role": "user", "content": "What is this?"}
    assert fields.dropped == {"image_url chunks"}


def test_placeholders_are_text_when_there_are_no_media() -> None:
    record = {"messages": [{"role": "user", "content": "Is <image> an HTML tag?"}, GOOD]}
    assert convert_record(record, options=DROP_MEDIA)["messages"][0]["content"] == (
        "Is <image> an HTML tag?"
    )


# --- LLaMA-Factory v1: chunks with "value", loss_weight, reasoning ---


def v1_turn(role: str, *chunks: dict[str, str], loss_weight: float) -> dict[str, Any]:
    return {"role": role, "content": list(chunks), "loss_weight": loss_weight}


def text(value: str) -> dict[str, str]:
    return {"type": "text", "value": value}


def test_v1_chunks_and_loss_weight_become_weights_on_assistant_turns_only() -> None:
    record = {
        "messages": [
            v1_turn("system", text("Be brief."), loss_weight=0.0),
            v1_turn("user", text("Hi"), loss_weight=0.0),
            v1_turn("assistant", text("Hello"), text("!"), loss_weight=0.0),
            v1_turn("user", text("Capital of France?"), loss_weight=1.0),
            v1_turn("assistant", text("Paris."), loss_weight=1.0),
        ]
    }
    assert convert_record(record)["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!", "weight": 0},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris.", "weight": 1},
    ]


@pytest.mark.parametrize("weight", [0.5, 2, "1", True])
def test_v1_loss_weight_other_than_0_or_1_is_a_finding(weight: object) -> None:
    record = {"messages": [USER, {**GOOD, "loss_weight": weight}]}
    with pytest.raises(RecordError) as caught:
        convert_record(record)
    assert caught.value.code == "convert_bad_weight"
    assert "loss_weight" in caught.value.reason


def test_v1_tool_call_and_tools_chunks() -> None:
    tools = [{"name": "capital", "description": "d", "parameters": {"type": "object"}}]
    record = {
        "messages": [
            v1_turn(
                "system", {"type": "tools", "value": orjson.dumps(tools).decode()}, loss_weight=0
            ),
            v1_turn("user", text("Capital of France?"), loss_weight=0),
            v1_turn(
                "assistant",
                {"type": "tool_call", "value": '{"name": "capital", "arguments": {"c": "FR"}}'},
                loss_weight=1,
            ),
            v1_turn("tool", text('{"capital": "Paris"}'), loss_weight=0),
            v1_turn("assistant", text("Paris."), loss_weight=1),
        ]
    }
    sample = convert_record(record)
    assert sample["tools"] == [{"type": "function", "function": tools[0]}]
    call = sample["messages"][1]
    assert call["weight"] == 1
    assert call["tool_calls"][0]["function"] == {"name": "capital", "arguments": '{"c":"FR"}'}
    assert sample["messages"][2]["tool_call_id"] == call["tool_calls"][0]["id"]


REASONING = {
    "messages": [
        v1_turn("user", text("2+2?"), loss_weight=0),
        v1_turn("assistant", {"type": "reasoning", "value": "Add them."}, text("4"), loss_weight=1),
    ]
}


def test_reasoning_chunk_is_refused_by_name() -> None:
    error = refusal(REASONING)
    assert error.code == "convert_reasoning"
    assert "'reasoning' chunk" in error.reason and "vision" not in error.reason
    assert error.hint is not None and "--reasoning drop" in error.hint


def test_reasoning_dropped_or_kept_untrained() -> None:
    dropped, fields = convert_record_fields(REASONING, options=ConvertOptions(reasoning="drop"))
    assert dropped["messages"][1:] == [{"role": "assistant", "content": "4", "weight": 1}]
    assert "reasoning chunks" in fields.dropped
    kept = convert_record(REASONING, options=ConvertOptions(reasoning="untrained"))
    assert kept["messages"][1:] == [
        {"role": "assistant", "content": "Add them.", "weight": 0},
        {"role": "assistant", "content": "4", "weight": 1},
    ]


def test_reasoning_content_key_follows_the_same_choice() -> None:
    record = {"messages": [USER, {**GOOD, "reasoning_content": "Recall."}]}
    assert refusal(record).code == "convert_reasoning"
    kept = convert_record(record, options=ConvertOptions(reasoning="untrained"))
    assert kept["messages"][1] == {"role": "assistant", "content": "Recall.", "weight": 0}


# --- chunk messages name the real cause, in JSON ---


@pytest.mark.parametrize(
    ("chunk", "cause"),
    [
        ({"type": "text", "txt": "x"}, "has no 'text' or 'value' string"),
        (5, "is a JSON number, not a chunk object"),
        ({"type": "document", "source": "x"}, "holds a document chunk"),
    ],
)
def test_unreadable_chunk_messages_name_the_cause_in_json(chunk: object, cause: str) -> None:
    record = {"messages": [{"role": "user", "content": [chunk]}, GOOD]}
    with pytest.raises(RecordError) as caught:
        convert_record(record)
    assert cause in caught.value.reason
    assert "not text" not in caught.value.reason
    assert orjson.dumps(chunk).decode() in caught.value.reason
    assert not re.search(r"\{'", caught.value.reason), "a Python repr"


# --- unused fields ---


def test_unused_columns_and_turn_keys_are_counted(tmp_path: Path) -> None:
    records = [
        {"id": n, "source": "web", "messages": [{**USER, "name": "ann"}, GOOD]} for n in range(3)
    ]
    records.append({"messages": [USER, GOOD], "source": ""})
    source = write_jsonl(tmp_path / "in.jsonl", records)
    result = convert([source], tmp_path / "out.jsonl")
    fields = result.sources[0].fields
    assert fields.unused == {"id": 3, "messages[].name": 3, "source": 3}
    assert fields.used["messages"] == 4 and fields.used["messages[].role"] == 4
    assert [w.code for w in result.warnings] == ["convert_unused_field"] * 3
    assert all(w.severity is Severity.WARNING and w.line is None for w in result.warnings)
    assert "'id' (3 of 4 converted records)" in result.warnings[0].message


def test_every_convert_code_is_documented() -> None:
    source = (Path(__file__).parent.parent / "tuner" / "datasets").glob("*.py")
    used = {
        code for path in source for code in re.findall(r'"(convert_[a-z_]+)"', path.read_text())
    }
    assert used <= set(CONVERT_CODES), used - set(CONVERT_CODES)


def test_mapping_names_kto_and_pair_columns() -> None:
    mapping = Mapping.model_validate(
        {"columns": {"kto_tag": "thumbs", "chosen": "better", "rejected": "worse"}}
    )
    assert refusal({"messages": [USER, GOOD], "thumbs": True}, mapping=mapping).code == (
        "convert_kto_label"
    )
    with pytest.raises(RecordError, match="not true or false"):
        convert_record({"messages": [USER, GOOD], "thumbs": "up"}, mapping=mapping, options=KEEP)
    pair = {"prompt": "Capital of France?", "better": "Paris.", "worse": "Lyon, obviously."}
    assert convert_record(pair, mapping=mapping, options=CHOSEN)["messages"] == EXPECTED
