"""`tuner data convert` and `validate` on KTO, preference, media and LLaMA-Factory data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner

from tuner.cli.main import app

runner = CliRunner()

USER = {"role": "user", "content": "Capital of France?"}
GOOD = {"role": "assistant", "content": "Paris."}
BAD = {"role": "assistant", "content": "Lyon, obviously."}


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(arg) for arg in args])
    return result.exit_code, result.stdout, result.stderr


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    return path


def kto_file(tmp_path: Path) -> Path:
    records = [
        {"messages": [USER, GOOD if n % 2 == 0 else BAD], "label": n % 2 == 0, "id": n}
        for n in range(24)
    ]
    return write_jsonl(tmp_path / "kto.jsonl", records)


def test_kto_is_refused_with_the_field_and_the_option(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    code, _, stderr = run("data", "convert", kto_file(tmp_path), "--out", out, "-q")
    assert code == 1
    assert "kto.jsonl:1:" in stderr and "'label'" in stderr
    assert "--kto-keep-desirable" in stderr
    assert not out.exists()


def test_kto_keep_desirable_reports_skips_and_unused_fields(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    code, stdout, _ = run(
        "data", "convert", kto_file(tmp_path), "--out", out, "--kto-keep-desirable", "-q"
    )
    assert code == 0, stdout
    assert "24 records read, 12 converted, 12 skipped" in stdout
    assert "convert_kto_undesirable" in stdout
    assert "fields used: label × 12, messages × 12" in stdout
    assert "warning convert_unused_field: not in the output: id × 12" in stdout
    assert all(json.loads(line)["messages"][1] == GOOD for line in out.read_text().splitlines())


def test_json_lists_fields_and_warnings(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    code, stdout, _ = run(
        "data", "convert", kto_file(tmp_path), "--out", out, "--kto-keep-desirable", "--json"
    )
    assert code == 0
    data = json.loads(stdout)
    fields = data["sources"][0]["fields"]
    assert fields["unused"] == {"id": 12}
    assert fields["used"]["label"] == 12
    assert fields["dropped"] == {}
    (warning,) = data["warnings"]
    assert warning["code"] == "convert_unused_field" and warning["severity"] == "warning"


def test_json_refusal_is_one_object(tmp_path: Path) -> None:
    code, stdout, _ = run(
        "data", "convert", kto_file(tmp_path), "--out", tmp_path / "o.jsonl", "--json"
    )
    assert code == 1
    data = json.loads(stdout)
    assert data["ok"] is False
    assert data["refused"]["code"] == "convert_kto_label"
    assert "--kto-keep-desirable" in data["refused"]["hint"]


def test_preference_pairs_never_convert_then_fail_validation(tmp_path: Path) -> None:
    pair = {
        "conversations": [{"from": "human", "value": "Capital of France?"}],
        "chosen": {"from": "gpt", "value": "Paris."},
        "rejected": {"from": "gpt", "value": "Lyon."},
    }
    source = write_jsonl(tmp_path / "pairs.jsonl", [pair] * 12)
    out = tmp_path / "out.jsonl"
    code, stdout, stderr = run("data", "convert", source, "--out", out, "-q")
    assert code == 1 and "converted" not in stdout
    assert "no preference tuning" in stderr and "--preference chosen" in stderr
    code, stdout, _ = run("data", "convert", source, "--out", out, "--preference", "chosen", "-q")
    assert code == 0, stdout
    assert "12 converted" in stdout and "dropped as asked: rejected × 12" in stdout
    assert "0 errors" in stdout


def test_media_refusal_names_the_column_and_drop_media_strips(tmp_path: Path) -> None:
    record = {
        "instruction": "<image>Describe the lamp.",
        "output": "A desk lamp.",
        "images": ["lamp.jpg"],
    }
    source = write_jsonl(tmp_path / "mm.jsonl", [record])
    out = tmp_path / "out.jsonl"
    code, _, stderr = run("data", "convert", source, "--out", out, "-q")
    assert code == 1 and "'images'" in stderr and "--drop-media" in stderr
    code, stdout, _ = run("data", "convert", source, "--out", out, "--drop-media", "-q")
    assert "dropped as asked: images × 1" in stdout
    assert json.loads(out.read_text())["messages"][0]["content"] == "Describe the lamp."


def test_bad_option_values_are_usage_errors(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "a.jsonl", [{"messages": [USER, GOOD]}])
    for option in (["--preference", "rejected"], ["--reasoning", "keep"]):
        code, _, stderr = run("data", "convert", source, "--out", tmp_path / "o.jsonl", *option)
        assert code == 2 and option[0] in stderr


def test_dataset_info_reads_file_name_tags_and_columns(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    turns = [{"who": "kunde", "text": "Capital of France?"}, {"who": "agent", "text": "Paris."}]
    write_jsonl(data / "chats.jsonl", [{"dialogue": turns}] * 10)
    info = data / "dataset_info.json"
    info.write_bytes(
        orjson.dumps(
            {
                "chats": {
                    "file_name": "chats.jsonl",
                    "formatting": "sharegpt",
                    "columns": {"messages": "dialogue"},
                    "tags": {
                        "role_tag": "who",
                        "content_tag": "text",
                        "user_tag": "kunde",
                        "assistant_tag": "agent",
                    },
                }
            }
        )
    )
    out = tmp_path / "out.jsonl"
    code, stdout, _ = run(
        "data", "convert", "--dataset-info", info, "--dataset", "chats", "--out", out, "-q"
    )
    assert code == 0, stdout
    assert "10 converted" in stdout
    assert json.loads(out.read_text().splitlines()[0])["messages"] == [USER, GOOD]
    code, _, stderr = run("data", "convert", "--dataset-info", info, "--out", out)
    assert code == 2 and "--dataset" in stderr
    code, _, stderr = run(
        "data", "convert", "--dataset-info", info, "--dataset", "nope", "--out", out
    )
    assert code == 2 and "no dataset 'nope'" in stderr
    code, _, stderr = run("data", "convert", "--out", out)
    assert code == 2 and "no source" in stderr


def test_validate_errors_on_kto_and_preference_lines(tmp_path: Path) -> None:
    lines = [
        {"messages": [USER, GOOD], "label": True},
        {"messages": [USER, BAD], "label": False},
        {"messages": [USER], "chosen": GOOD, "rejected": BAD},
        {"messages": [USER, {**BAD, "label": False}]},
    ]
    path = write_jsonl(tmp_path / "mixed.jsonl", lines)
    code, stdout, _ = run("data", "validate", path, "--json", "--workers", "1")
    assert code == 1
    findings = json.loads(stdout)["findings"]
    by_code: dict[str, list[int]] = {}
    for finding in findings:
        by_code.setdefault(finding["code"], []).append(finding["line"])
    assert by_code["kto_undesirable"] == [2, 4]
    assert by_code["preference_pair"] == [3]
    assert by_code["unknown_key"] == [1]  # a desirable label is harmless: a warning as before
    errors = [f for f in findings if f["code"] in ("kto_undesirable", "preference_pair")]
    assert all(f["severity"] == "error" for f in errors)
    assert any("--kto-keep-desirable" in f["hint"] for f in errors)
    assert any("--preference chosen" in f["hint"] for f in errors)


def test_field_names_from_the_data_print_as_written(tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\nkto_tag = "[/bold]"\n')
    source = write_jsonl(tmp_path / "a.jsonl", [{"messages": [USER, GOOD], "[/bold]": True}])
    code, _, stderr = run(
        "data", "convert", source, "--map", mapping, "--out", tmp_path / "o.jsonl", "-q"
    )
    assert code == 1
    assert "'[/bold]' labels answers" in stderr
