"""`tuner data convert --provider openai`: preference pairs become OpenAI DPO lines (the Mistral
path keeps refusing them), plain conversations OpenAI chat lines; fixtures written here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from tuner.cli.main import app
from tuner.datasets.convert import ConvertRefusedError, convert
from tuner.datasets.fields import ConvertOptions
from tuner.datasets.openai_convert import convert_openai
from tuner.datasets.openai_rules import check_record

runner = CliRunner()

ASSISTANT = "assistant"
PAIRS: list[dict[str, Any]] = [
    # A prompt column and two answer texts.
    {"prompt": "Name a primary colour.", "chosen": "Red.", "rejected": "Purple."},
    # A conversation so far, and one turn per side.
    {
        "messages": [
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "Hi"},
        ],
        "chosen": {"role": ASSISTANT, "content": "Hello!"},
        "rejected": {"role": ASSISTANT, "content": "What?"},
    },
    # Whole conversations per side: the shared beginning is the prompt.
    {
        "chosen": [{"role": "user", "content": "Q"}, {"role": ASSISTANT, "content": "A"}],
        "rejected": [{"role": "user", "content": "Q"}, {"role": ASSISTANT, "content": "B"}],
    },
]


def write(path: Path, lines: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_pairs_become_dpo_lines_that_pass_openai_rules(tmp_path: Path) -> None:
    src = write(tmp_path / "pairs.jsonl", PAIRS)
    out = tmp_path / "dpo.jsonl"
    converted = convert_openai([src], out)
    assert converted.method == "dpo"
    assert converted.result.converted == 3
    written = lines(out)
    assert written[0] == {
        "input": {"messages": [{"role": "user", "content": "Name a primary colour."}]},
        "preferred_output": [{"role": ASSISTANT, "content": "Red."}],
        "non_preferred_output": [{"role": ASSISTANT, "content": "Purple."}],
    }
    assert [m["role"] for m in written[1]["input"]["messages"]] == ["system", "user"]
    assert written[2]["input"]["messages"] == [{"role": "user", "content": "Q"}]
    for number, line in enumerate(out.read_bytes().splitlines(), start=1):
        check = check_record(line, path=str(out), line=number, expect="preference")
        assert check.findings == [] and check.sample is not None


def test_both_sides_are_reported_as_used(tmp_path: Path) -> None:
    src = write(tmp_path / "pairs.jsonl", [{**PAIRS[0], "source": "mine"}])
    converted = convert_openai([src], tmp_path / "o.jsonl")
    fields = converted.result.sources[0].fields
    assert {"prompt", "chosen", "rejected"} <= set(fields.used)
    assert fields.dropped == {}
    assert fields.unused == {"source": 1}
    (warning,) = converted.result.warnings
    assert "OpenAI's format has no place" in warning.message


def test_the_mistral_path_still_refuses_pairs(tmp_path: Path) -> None:
    src = write(tmp_path / "pairs.jsonl", PAIRS)
    with pytest.raises(ConvertRefusedError, match="no preference tuning"):
        convert([src], tmp_path / "m.jsonl")
    assert not (tmp_path / "m.jsonl").exists()


def test_a_pair_of_several_turns_per_side_is_skipped_with_its_reason(tmp_path: Path) -> None:
    long_side = [
        {"role": "user", "content": "Q"},
        {"role": ASSISTANT, "content": "A"},
        {"role": "user", "content": "more"},
        {"role": ASSISTANT, "content": "A2"},
    ]
    bad = {
        "chosen": long_side,
        "rejected": [{"role": "user", "content": "Q"}, {"role": ASSISTANT, "content": "B"}],
    }
    no_prompt = {"chosen": "Red.", "rejected": "Blue."}
    src = write(tmp_path / "pairs.jsonl", [PAIRS[0], bad, no_prompt])
    converted = convert_openai([src], tmp_path / "o.jsonl")
    assert converted.result.converted == 1
    assert converted.result.skip_reasons == {"convert_dpo_shape": 2}
    assert [f.line for f in converted.result.skipped] == [2, 3]


def test_one_file_holds_one_method(tmp_path: Path) -> None:
    plain = {"messages": [{"role": "user", "content": "q"}, {"role": ASSISTANT, "content": "a"}]}
    src = write(tmp_path / "mixed.jsonl", [plain, PAIRS[0]])
    converted = convert_openai([src], tmp_path / "o.jsonl")
    assert converted.method == "sft"
    assert converted.result.skip_reasons == {"convert_other_method": 1}
    dpo = convert_openai([src], tmp_path / "d.jsonl", method="dpo")
    assert dpo.method == "dpo"
    assert dpo.result.skip_reasons == {"convert_other_method": 1}
    assert dpo.result.skipped[0].line == 1


def test_method_sft_refuses_pairs_unless_chosen_is_kept(tmp_path: Path) -> None:
    src = write(tmp_path / "pairs.jsonl", PAIRS)
    with pytest.raises(ConvertRefusedError, match="--method sft"):
        convert_openai([src], tmp_path / "s.jsonl", method="sft")
    kept = convert_openai(
        [src], tmp_path / "s.jsonl", method="sft", options=ConvertOptions(preference="chosen")
    )
    assert kept.method == "sft"
    assert lines(tmp_path / "s.jsonl")[0]["messages"][-1] == {"role": ASSISTANT, "content": "Red."}


def test_cli_says_which_method_it_produced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TUNER_PROVIDER", raising=False)
    src = write(tmp_path / "pairs.jsonl", PAIRS * 4)
    out = tmp_path / "dpo.jsonl"
    result = runner.invoke(
        app, ["data", "convert", str(src), "--provider", "openai", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["provider"], data["method"], data["converted"]) == ("openai", "dpo", 12)
    assert data["validation"]["files"][0]["format"] == "preference"
    # Mistral keeps refusing; --method is an OpenAI option.
    result = runner.invoke(app, ["data", "convert", str(src), "--out", str(tmp_path / "m.jsonl")])
    assert result.exit_code == 1 and "preference" in result.output
    result = runner.invoke(
        app, ["data", "convert", str(src), "--method", "dpo", "--out", str(tmp_path / "m.jsonl")]
    )
    assert result.exit_code == 2 and "--provider openai" in result.output
    text = runner.invoke(
        app,
        ["data", "convert", str(src), "--provider", "openai", "--out", str(out), "--force"],
    )
    assert text.exit_code == 0, text.output
    assert "OpenAI preference pairs (DPO) data" in text.output
