"""`tuner data …` end to end through the real CLI (typer's runner, same process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tuner.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "data"
MAPPINGS = ROOT / "examples" / "mappings"

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_validate_json_has_the_documented_shape() -> None:
    code, out = run("data", "validate", str(EXAMPLES / "support.jsonl"), "--json", "--workers", "1")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"ok", "files", "findings"}
    assert data["ok"] is True
    (file,) = data["files"]
    assert set(file) == {"path", "format", "lines", "conversations", "errors", "warnings", "tokens"}
    assert file["conversations"] == 300
    assert set(file["tokens"]) == {"tokenizer", "total", "trained", "min", "p50", "p95", "max"}
    assert file["tokens"]["tokenizer"] == "v3-sentencepiece"
    assert 0 < file["tokens"]["trained"] < file["tokens"]["total"]


def test_validate_broken_file_reports_every_line_and_exits_1() -> None:
    code, out = run("data", "validate", str(EXAMPLES / "broken.jsonl"), "--json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False
    lines_with_errors = {f["line"] for f in data["findings"] if f["severity"] == "error"}
    # broken.README.md lists the broken lines; spot-check several kinds.
    assert {2, 3, 4, 5, 6, 7, 10, 12, 13, 14, 20} <= lines_with_errors
    for finding in data["findings"]:
        assert set(finding) == {"path", "line", "severity", "category", "code", "message", "hint"}


def test_validate_human_output_groups_by_code() -> None:
    code, out = run("data", "validate", str(EXAMPLES / "broken.jsonl"))
    assert code == 1
    assert "unknown_role" in out and "broken.jsonl:5" in out
    assert "FAILED" in out


def test_missing_file_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    code, out = run("data", "validate", str(tmp_path / "nope.jsonl"))
    assert code == 2
    assert "nope.jsonl" in out
    assert "Traceback" not in out


def test_directory_is_a_usage_error(tmp_path: Path) -> None:
    code, out = run("data", "validate", str(tmp_path))
    assert code == 2
    assert "Traceback" not in out


def test_strict_turns_warnings_into_failure(tmp_path: Path) -> None:
    few = tmp_path / "few.jsonl"
    few.write_text(
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hello"},
                ]
            }
        )
        + "\n"
    )
    assert run("data", "validate", str(few))[0] == 0  # only a too-few warning
    assert run("data", "validate", str(few), "--strict")[0] == 1


def test_unknown_model_is_a_usage_error() -> None:
    code, out = run("data", "validate", str(EXAMPLES / "support.jsonl"), "--model", "gpt-9")
    assert code == 2
    assert "gpt-9" in out


def test_stats_json_with_estimate() -> None:
    code, out = run(
        "data",
        "stats",
        str(EXAMPLES / "support.jsonl"),
        "--model",
        "open-mistral-7b",
        "--steps",
        "10",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["conversations"] == 300
    assert data["estimate"]["is_estimate"] is True
    assert data["estimate"]["train_tokens"] == 10 * 131_072
    assert data["estimate"]["token_cost"] == pytest.approx(2.6214, abs=1e-4)
    assert sum(b["count"] for b in data["histogram"]) == 300


def test_stats_reads_a_gzip_file_as_the_plain_one(tmp_path: Path) -> None:
    import gzip

    packed = tmp_path / "support.jsonl.gz"
    packed.write_bytes(gzip.compress((EXAMPLES / "support.jsonl").read_bytes()))
    results = []
    for path in (EXAMPLES / "support.jsonl", packed):
        code, out = run("data", "stats", str(path), "--model", "open-mistral-7b", "--json")
        assert code == 0, out
        data = json.loads(out)
        del data["path"]
        results.append(data)
    assert results[0] == results[1] and results[0]["conversations"] == 300


def test_convert_fix_split_dedupe_flow(tmp_path: Path) -> None:
    converted = tmp_path / "support.jsonl"
    code, out = run(
        "data",
        "convert",
        str(EXAMPLES / "support.sharegpt.jsonl"),
        "--map",
        str(MAPPINGS / "sharegpt.toml"),
        "--out",
        str(converted),
        "--json",
    )
    assert code == 0, out
    summary = json.loads(out)
    assert summary["converted"] == 300 and summary["skipped"] == 0
    assert summary["validation"]["ok"] is True

    code, out = run(
        "data",
        "split",
        str(converted),
        "--eval-fraction",
        "0.05",
        "--seed",
        "3",
        "--out-dir",
        str(tmp_path),
        "--json",
    )
    assert code == 0, out
    split = json.loads(out)
    assert split["train_lines"] + split["eval_lines"] == 300
    train = set((tmp_path / "support.train.jsonl").read_text().splitlines())
    held = set((tmp_path / "support.eval.jsonl").read_text().splitlines())
    assert train and held and not train & held

    doubled = tmp_path / "doubled.jsonl"
    doubled.write_bytes(converted.read_bytes() * 2)
    code, out = run("data", "dedupe", str(doubled), "--out", str(tmp_path / "d.jsonl"), "--json")
    assert code == 0
    assert len(json.loads(out)["removed"]) == 300
    assert (tmp_path / "d.jsonl").read_bytes() == converted.read_bytes()


def test_split_defaults_to_auto_and_refuses_a_bad_fraction(tmp_path: Path) -> None:
    converted = tmp_path / "support.jsonl"
    code, out = run(
        "data", "convert", str(EXAMPLES / "support.sharegpt.jsonl"), "--map",
        str(MAPPINGS / "sharegpt.toml"), "--out", str(converted), "--json",
    )  # fmt: skip
    assert code == 0, out
    code, out = run("data", "split", str(converted), "--out-dir", str(tmp_path), "--json")
    assert code == 0, out
    split = json.loads(out)
    assert split["eval_fraction"] == "auto" and split["warnings"] == []
    assert 0 < split["eval_bytes"] <= 0.05 * split["train_bytes"]
    for bad in ("half", "1.5", "0"):
        code, out = run("data", "split", str(converted), "--eval-fraction", bad)
        assert code == 2 and "eval fraction must be auto" in out, out


def test_convert_labels_records_and_names_splits(tmp_path: Path) -> None:
    import datasets

    saved = tmp_path / "dd"
    good = {"prompt": "Capital of France?", "completion": "Paris."}
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list([good, {"prompt": "x", "completion": ""}]),
            "test": datasets.Dataset.from_list([good]),
        }
    ).save_to_disk(str(saved))
    out = tmp_path / "out.jsonl"
    code, text = run("data", "convert", str(saved), "--out", str(out))
    text = "".join(text.split())  # the console wraps long paths
    assert code == 2 and "2splits(train,test)" in text and "--splitNAME" in text
    code, text = run("data", "convert", str(saved), "--split", "train", "--out", str(out))
    text = "".join(text.split())
    assert "split'train'of'train','test'" in text
    assert f"{saved}record2:emptycompletion".replace(" ", "") in text, text


def test_fix_lists_changes_keeps_rejects_and_exits_1(tmp_path: Path) -> None:
    out_path = tmp_path / "fixed.jsonl"
    code, out = run("data", "fix", str(EXAMPLES / "broken.jsonl"), "--out", str(out_path), "--json")
    assert code == 1  # some lines cannot be fixed
    data = json.loads(out)
    assert {c["code"] for c in data["changes"]} >= {"blank_line_removed", "tool_call_id_rewritten"}
    rejects = Path(data["rejects"])
    assert len(rejects.read_text().splitlines()) == data["unfixable_lines"]
    # Nothing lost: every non-blank input line is in the output or in the rejects.
    total = data["lines_written"] + data["unfixable_lines"] + data["blank_dropped"]
    assert total == data["lines_read"]
    fixed = run("data", "validate", str(out_path), "--json")
    assert json.loads(fixed[1])["files"][0]["errors"] == 0


def test_fix_needs_out_or_in_place() -> None:
    code, out = run("data", "fix", str(EXAMPLES / "broken.jsonl"))
    assert code == 2
    assert "--in-place" in out


def test_stats_missing_or_empty_file_is_a_usage_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    for path in (tmp_path / "nope.jsonl", empty):
        code, out = run("data", "stats", str(path))
        assert code == 2, out
        assert path.name in out and "Traceback" not in out


def test_stats_counts_lines_of_the_other_format_as_invalid(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.jsonl"
    conversation = {
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey"}]
    }
    mixed.write_text(json.dumps(conversation) + "\n" + json.dumps({"text": "doc"}) + "\n")
    code, out = run("data", "stats", str(mixed), "--json")
    assert code == 0, out
    data = json.loads(out)
    assert (data["format"], data["conversations"], data["invalid_lines"]) == ("instruct", 1, 1)
