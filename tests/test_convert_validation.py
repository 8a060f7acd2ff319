"""`convert` validates its output in the same pass as it writes it (OutputCheck): the report is
the one a separate `validate` of the written file gives, findings included, in one process and
on a worker pool."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tuner.cli.main import app
from tuner.datasets import validate as validate_module
from tuner.datasets.convert import convert
from tuner.datasets.report import Report
from tuner.datasets.tokens import counter_for
from tuner.datasets.validate import OutputCheck, ValidateOptions, validate_paths

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"
FACTORY = functools.partial(counter_for, "v3-sentencepiece")


def source_with_errors(tmp_path: Path) -> Path:
    """broken.jsonl (converts to lines the validator flags: last turn not the assistant's,
    bad weights, tool mismatches, special tokens, duplicates), then a long conversation and
    valid ones, so that the output spans several chunks."""
    long_answer = " ".join(f"word{i}" for i in range(400))
    extra = [
        {"messages": [{"role": "user", "content": "long"}, {"role": "assistant", "content": a}]}
        for a in (long_answer, long_answer + " again")
    ]
    extra += [
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]}
        for i in range(12)
    ]
    path = tmp_path / "source.jsonl"
    body = (EXAMPLES / "broken.jsonl").read_bytes()
    path.write_bytes(body + b"".join(json.dumps(e).encode() + b"\n" for e in extra))
    return path


def findings(report: Report) -> list[dict[str, Any]]:
    return [f.to_dict() for f in report.iter_findings()]


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Chunks of 4 lines, a pool whatever the size, and a 1,500-byte line limit (the long
    conversation is over it: its finding comes from its size alone)."""
    monkeypatch.setattr(validate_module, "CHUNK_LINES", 4)
    monkeypatch.setattr(validate_module, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(validate_module, "MAX_LINE_BYTES", 1500)
    yield


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(
    ("source", "options"),
    [
        ("errors", ValidateOptions(seq_len=200)),
        ("errors", ValidateOptions(strict=True)),
        ("support.sharegpt.jsonl", ValidateOptions(seq_len=500)),
    ],
)
def test_the_same_pass_report_equals_a_separate_validate(
    tmp_path: Path, small_limits: None, workers: int, source: str, options: ValidateOptions
) -> None:
    src = source_with_errors(tmp_path) if source == "errors" else EXAMPLES / source
    out = tmp_path / "out.jsonl"
    with OutputCheck(out, options=options, counter_factory=FACTORY, workers=workers) as check:
        result = convert([src], out, check=check)
        same_pass = check.finish()
    assert result.converted > 10
    separate = validate_paths([out], options=options, counter_factory=FACTORY, workers=1)
    assert same_pass.to_dict() == separate.to_dict()
    assert findings(same_pass) == findings(separate)
    if source == "errors":
        codes = {f["code"] for f in findings(separate)}
        assert {"last_not_assistant", "duplicate", "line_too_long"} <= codes
        assert ("over_seq_len" in codes) == (options.seq_len == 200)


def test_too_few_conversations_and_no_tokenizer(tmp_path: Path) -> None:
    src = tmp_path / "few.jsonl"
    src.write_text(
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hey"},
                ]
            }
        )
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    with OutputCheck(out, workers=1) as check:
        convert([src], out, check=check)
        same_pass = check.finish()
    separate = validate_paths([out], workers=1)
    assert same_pass.to_dict() == separate.to_dict()
    assert findings(same_pass) == findings(separate)
    assert "too_few_conversations" in {f["code"] for f in findings(same_pass)}


def test_the_cli_validation_equals_validate_of_the_output(tmp_path: Path) -> None:
    src = source_with_errors(tmp_path)
    out = tmp_path / "out.jsonl"
    runner = CliRunner()
    converted = runner.invoke(app, ["data", "convert", str(src), "--out", str(out), "--json"])
    assert converted.exit_code == 1, converted.output  # the output has errors
    validated = runner.invoke(app, ["data", "validate", str(out), "--json"])
    assert validated.exit_code == 1, validated.output
    assert json.loads(converted.output)["validation"] == json.loads(validated.output)
