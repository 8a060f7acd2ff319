"""LLaMA-Factory's dataset_info.json read as a mapping (entries written from its data/README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tuner.datasets.convert import RecordError, convert, convert_record
from tuner.datasets.fields import ConvertOptions
from tuner.datasets.llamafactory import load_dataset_info
from tuner.datasets.mapping import MappingError

EXPECTED = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Capital of France?"},
    {"role": "assistant", "content": "Paris."},
]


def info_file(tmp_path: Path, entries: dict[str, Any]) -> Path:
    path = tmp_path / "dataset_info.json"
    path.write_bytes(orjson.dumps(entries))
    return path


def test_sharegpt_entry_with_custom_tags(tmp_path: Path) -> None:
    path = info_file(
        tmp_path,
        {
            "chats": {
                "file_name": "chats.jsonl",
                "formatting": "sharegpt",
                "columns": {"messages": "dialogue", "system": "persona"},
                "tags": {
                    "role_tag": "speaker",
                    "content_tag": "said",
                    "user_tag": "kunde",
                    "assistant_tag": "agent",
                    "system_tag": "rahmen",
                },
            }
        },
    )
    info = load_dataset_info(path, "chats")
    assert info.files == [tmp_path / "chats.jsonl"]
    assert info.mapping.format == "sharegpt"
    record = {
        "dialogue": [
            {"speaker": "kunde", "said": "Capital of France?"},
            {"speaker": "agent", "said": "Paris."},
        ],
        "persona": "Be brief.",
    }
    assert convert_record(record, mapping=info.mapping)["messages"] == EXPECTED
    # The tag names the system turn too.
    turns = [{"speaker": "rahmen", "said": "Be brief."}, *record["dialogue"]]
    assert convert_record({"dialogue": turns}, mapping=info.mapping)["messages"] == EXPECTED


def test_alpaca_entry_renames_prompt_query_response(tmp_path: Path) -> None:
    path = info_file(
        tmp_path,
        {
            "qa": {
                "file_name": "qa.json",
                "columns": {
                    "prompt": "question",
                    "query": "context",
                    "response": "answer",
                    "system": "sys",
                },
            }
        },
    )
    mapping = load_dataset_info(path, "qa").mapping
    assert mapping.format == "alpaca"
    record = {
        "question": "Capital of France?",
        "context": "",
        "answer": "Paris.",
        "sys": "Be brief.",
    }
    assert convert_record(record, mapping=mapping)["messages"] == EXPECTED


def test_kto_tag_and_ranking_entries(tmp_path: Path) -> None:
    path = info_file(
        tmp_path,
        {
            "kto": {
                "file_name": "kto.json",
                "formatting": "sharegpt",
                "columns": {"messages": "messages", "kto_tag": "verdict"},
                "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user"},
            },
            "dpo": {
                "file_name": "dpo.json",
                "ranking": True,
                "columns": {"prompt": "q", "chosen": "good", "rejected": "bad"},
            },
        },
    )
    kto = load_dataset_info(path, "kto").mapping
    record = {
        "messages": [
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Lyon."},
        ],
        "verdict": False,
    }
    with pytest.raises(RecordError) as caught:
        convert_record(record, mapping=kto)
    assert caught.value.code == "convert_kto_label" and "'verdict'" in caught.value.reason
    dpo = load_dataset_info(path, "dpo").mapping
    pair = {"q": "Capital of France?", "good": "Paris.", "bad": "Lyon."}
    with pytest.raises(RecordError) as refused:
        convert_record(pair, mapping=dpo)
    assert refused.value.code == "convert_preference_pair"
    sample = convert_record(pair, mapping=dpo, options=ConvertOptions(preference="chosen"))
    assert sample["messages"] == EXPECTED[1:]


def test_file_name_is_relative_to_the_info_file_and_converts(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "qa.json").write_bytes(
        orjson.dumps(
            [{"instruction": "Capital of France?", "output": "Paris.", "system": "Be brief."}]
        )
    )
    path = info_file(tmp_path, {"qa": {"file_name": "data/qa.json", "num_samples": 10}})
    info = load_dataset_info(path, "qa")
    assert info.not_applied == ["num_samples"]
    result = convert(info.files, tmp_path / "out.jsonl", mapping=info.mapping)
    assert result.converted == 1
    assert orjson.loads((tmp_path / "out.jsonl").read_bytes())["messages"] == EXPECTED


def test_a_folder_of_files_is_read_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "shards"
    folder.mkdir()
    for name in ("b.jsonl", "a.jsonl"):
        (folder / name).write_text("{}\n")
    info = load_dataset_info(info_file(tmp_path, {"s": {"file_name": "shards"}}), "s")
    assert info.files == [folder / "a.jsonl", folder / "b.jsonl"]


@pytest.mark.parametrize(
    ("entries", "name", "message"),
    [
        ({"a": {"file_name": "a.json"}, "b": {"file_name": "b.json"}}, "c", "no dataset 'c'"),
        ({"a": {"hf_hub_url": "org/data"}}, "a", "hf_hub_url 'org/data'"),
        ({"a": {"file_name": "a.json", "formatting": "chatml"}}, "a", "'chatml' is not alpaca"),
        ({"a": {"file_name": "a.json", "columns": {"answer": "x"}}}, "a", "unknown column"),
        ({"a": {"file_name": "a.json", "tags": {"bot_tag": "x"}}}, "a", "unknown tag 'bot_tag'"),
        ({"a": {"file_name": "a.json", "load_from": "x"}}, "a", "unknown key(s) 'load_from'"),
    ],
)
def test_problems_name_the_file_dataset_and_key(
    tmp_path: Path, entries: dict[str, Any], name: str, message: str
) -> None:
    path = info_file(tmp_path, entries)
    with pytest.raises(MappingError) as caught:
        load_dataset_info(path, name)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    if "no dataset" in message:
        assert "datasets: a, b" in str(caught.value)


def test_unreadable_info_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="no such file"):
        load_dataset_info(tmp_path / "missing.json", "x")
    bad = tmp_path / "dataset_info.json"
    bad.write_text("{oops")
    with pytest.raises(MappingError, match="not valid JSON"):
        load_dataset_info(bad, "x")
