"""`tuner data … --provider openai` end to end through the real CLI, on data written here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from tuner.cli.main import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def run_openai(command: str, path: Path, *args: str) -> tuple[int, str]:
    """``tuner data COMMAND PATH --provider openai ARGS``."""
    return run("data", command, str(path), "--provider", "openai", *args)


@pytest.fixture(autouse=True)
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TUNER_PROVIDER", raising=False)


def example(n: int) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "developer", "content": "Answer briefly."},
            {"role": "user", "content": f"What is {n} + {n}?"},
            {"role": "assistant", "content": str(2 * n)},
        ]
    }


def write(path: Path, lines: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


@pytest.fixture
def sft(tmp_path: Path) -> Path:
    return write(tmp_path / "sft.jsonl", [example(n) for n in range(12)])


def test_validate_with_openai_rules_and_estimated_counts(sft: Path) -> None:
    code, out = run_openai("validate", sft, "--model", "gpt-4o-mini", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["ok"] is True
    tokens = data["files"][0]["tokens"]
    assert tokens["tokenizer"] == "o200k_base, content exact, per-message overhead estimated"
    assert tokens["total"] > tokens["trained"] > 0
    # The same file under Mistral's rules: "developer" is not one of its roles.
    code, out = run("data", "validate", str(sft), "--json")
    assert code == 1
    assert {f["code"] for f in json.loads(out)["findings"]} == {
        "unknown_role",
        "too_few_conversations",
    }


def test_the_provider_setting_is_the_default(sft: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNER_PROVIDER", "openai")
    code, out = run("data", "validate", str(sft), "--json")
    assert code == 0, out
    assert "o200k_base" in json.loads(out)["files"][0]["tokens"]["tokenizer"]
    # --provider wins over the setting.
    code, _ = run("data", "validate", str(sft), "--provider", "mistral", "--json")
    assert code == 1


def test_text_report_labels_the_estimate(sft: Path) -> None:
    code, out = run_openai("validate", sft)
    assert code == 0, out
    assert "per-message overhead estimated" in out


def test_usage_errors_are_one_line_with_a_hint(sft: Path) -> None:
    code, out = run("data", "validate", str(sft), "--provider", "gemini")
    assert code == 2 and "--provider must be one of mistral, openai" in out
    code, out = run_openai("validate", sft, "--tokenizer", "v3-tekken")
    assert code == 2 and "--model" in out
    code, out = run_openai("validate", sft, "--model", "babbage-002")
    assert code == 2 and "completions model" in out
    code, out = run_openai("validate", sft, "--format", "pretrain")
    assert code == 2 and "instruct or preference" in out
    code, out = run_openai("validate", sft, "--labels", "t=a,b")
    assert code == 2 and "classifier" in out


def test_stats_with_openai(sft: Path) -> None:
    code, out = run_openai("stats", sft, "--model", "gpt-4.1-mini", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["conversations"] == 12
    assert data["share_with_system_prompt"] == 1.0  # developer messages count as one
    assert data["seq_len"] == 65_536
    assert "estimated" in data["tokenizer"]
    # Without --epochs: one epoch, said so; OpenAI's price table, unconfirmed and dated.
    est = data["estimate"]
    assert (est["provider"], est["epochs"], est["epochs_basis"]) == ("openai", 1, "default")
    assert est["data_tokens"] == data["tokens"]["total"] and est["examples"] == 12
    assert est["tokens_are_estimate"] is True and est["is_estimate"] is True
    assert (est["price_source"], est["price_as_of"]) == ("unconfirmed", "2026-04")
    assert est["usd_per_million_tokens"] == 5.0  # the gpt-4.1-mini snapshot's figure
    assert est["cost"] == round(data["tokens"]["total"] / 1e6 * 5.0, 4)


def test_stats_with_openai_epochs_prices_tokens_times_epochs(sft: Path) -> None:
    code, out = run_openai("stats", sft, "--model", "gpt-4o-mini", "--epochs", "3", "--json")
    assert code == 0, out
    data = json.loads(out)
    est = data["estimate"]
    assert (est["epochs"], est["epochs_basis"]) == (3, "given")
    assert est["train_tokens"] == 3 * data["tokens"]["total"]
    assert est["cost"] == round(3 * data["tokens"]["total"] / 1e6 * 3.0, 4)
    # The text report labels the tokens an estimate and the price unconfirmed with its date.
    code, out = run_openai("stats", sft, "--model", "gpt-4o-mini", "--epochs", "3")
    assert code == 0, out
    assert "Cost: ESTIMATE" in out and "price UNCONFIRMED (2026-04)" in out
    assert f"{3 * data['tokens']['total']:,}" in out and "(from --epochs)" in out
    assert "per-message overhead estimated" in out


def test_stats_with_openai_refuses_steps_and_fractional_epochs(sft: Path) -> None:
    code, out = run_openai("stats", sft, "--steps", "10")
    assert code == 2 and "not training steps" in out
    code, out = run_openai("stats", sft, "--epochs", "2.5")
    assert code == 2 and "whole number" in out


def test_stats_with_an_unpriced_openai_model_has_no_cost(sft: Path) -> None:
    code, out = run_openai("stats", sft, "--model", "gpt-4o-2024-05-13", "--json")
    assert code == 0, out
    est = json.loads(out)["estimate"]
    assert est["cost"] is None and "no training price known" in est["note"]


def test_split_with_openai_rules(sft: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out = run_openai(
        "split", sft, "--out-dir", str(out_dir), "--json", "--eval-fraction", "0.2"
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["invalid_lines"] == 0
    assert data["train_lines"] + data["eval_lines"] == 12
    # Under Mistral's rules every line is invalid (the developer role).
    code, out = run(
        "data",
        "split",
        str(sft),
        "--out-dir",
        str(out_dir),
        "--json",
        "--force",
    )
    assert json.loads(out)["invalid_lines"] == 12


def pair(n: int, preferred: str, rejected: str) -> dict[str, Any]:
    return {
        "input": {"messages": [{"role": "user", "content": f"Tell me about item {n} please."}]},
        "preferred_output": [{"role": "assistant", "content": preferred}],
        "non_preferred_output": [{"role": "assistant", "content": rejected}],
    }


def test_dedupe_reads_lines_with_openai_rules(sft: Path, tmp_path: Path) -> None:
    repeated = write(tmp_path / "repeated.jsonl", [*map(example, range(12)), example(3)])
    out = tmp_path / "deduped.jsonl"
    code, output = run("data", "dedupe", str(repeated), "--out", str(out), "--json")
    # Under Mistral's rules every line is invalid (a developer turn): none is compared.
    assert code == 0, output
    assert (json.loads(output)["removed"], json.loads(output)["invalid_lines"]) == ([], 13)
    out.unlink()
    code, output = run(
        "data", "dedupe", str(repeated), "--out", str(out), "--provider", "openai", "--json"
    )
    assert code == 0, output
    result = json.loads(output)
    assert result["invalid_lines"] == 0
    assert [(r["line"], r["duplicate_of"], r["kind"]) for r in result["removed"]] == [
        (13, 4, "exact")
    ]
    assert out.read_bytes() == sft.read_bytes()


def test_near_dedupe_keeps_dpo_pairs_with_the_same_prompt_and_other_answers(
    tmp_path: Path,
) -> None:
    lines = [pair(n, f"Item {n} is a lamp.", f"No idea about {n}.") for n in range(10)]
    # Same prompt as pair 0, other answers: another pair. A true repeat of pair 1 goes.
    lines += [pair(0, "It is a chair, made of oak.", "Cannot say."), lines[1]]
    source = write(tmp_path / "dpo.jsonl", lines)
    out = tmp_path / "dpo.deduped.jsonl"
    code, output = run(
        "data", "dedupe", str(source), "--out", str(out), "--near", "0.9",
        "--provider", "openai", "--json",
    )  # fmt: skip
    assert code == 0, output
    result = json.loads(output)
    assert [(r["line"], r["duplicate_of"]) for r in result["removed"]] == [(12, 2)]
    assert result["lines_written"] == 11


def test_fix_refuses_openai_data_in_one_line(sft: Path, tmp_path: Path) -> None:
    out = tmp_path / "fixed.jsonl"
    code, output = run("data", "fix", str(sft), "--out", str(out), "--provider", "openai")
    assert code == 2
    assert "Mistral's rules only" in output and "--provider openai" in output
    assert not out.exists() and not (tmp_path / "fixed.rejects.jsonl").exists()
