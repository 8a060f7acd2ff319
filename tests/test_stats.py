"""`tuner data stats` on the validator's worker path: the same figures in one process and on a
pool, and the same figures as a plain serial reading of the file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tuner.cli.main import app
from tuner.datasets import validate as validate_module
from tuner.datasets.lines import checked_lines
from tuner.datasets.samples import InstructSample
from tuner.datasets.tokens import counter_for

ROOT = Path(__file__).resolve().parents[1]
SUPPORT = ROOT / "examples" / "data" / "support.jsonl"
TOKENIZER = "v3-sentencepiece"  # what --model open-mistral-7b counts with


def extra_lines() -> list[bytes]:
    """Lines that exercise every figure: weights, invalid lines, another format, a repeat."""
    weighted = {
        "messages": [
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "first answer", "weight": 0},
            {"role": "user", "content": "two"},
            {"role": "assistant", "content": "second answer"},
        ]
    }
    return [
        json.dumps(weighted).encode(),
        b"{broken json",
        b"",
        json.dumps({"text": "a pretrain line in an instruct file"}).encode(),
        json.dumps({"messages": [{"role": "user", "content": "no answer"}]}).encode(),
    ]


@pytest.fixture
def mixed_file(tmp_path: Path) -> Path:
    lines = SUPPORT.read_bytes().splitlines()
    body = [*extra_lines()[:2], *lines[:150], *extra_lines()[2:], *lines[150:], lines[3]]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(body) + b"\n")
    return path


@pytest.fixture
def small_chunks_and_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Chunks of 7 lines (many chunks, results folded across them) and a pool whatever the
    file's size; yields the kinds of runner used, to prove the pool ran."""
    monkeypatch.setattr(validate_module, "CHUNK_LINES", 7)
    monkeypatch.setattr(validate_module, "POOL_MIN_BYTES", 0)
    used: list[str] = []
    real = validate_module._make_runner

    def recording(*args: Any) -> Any:
        runner = real(*args)
        used.append(type(runner).__name__)
        return runner

    monkeypatch.setattr(validate_module, "_make_runner", recording)
    yield used


def stats_json(path: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        app, ["data", "stats", str(path), "--model", "open-mistral-7b", "--json", *args]
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_stats_on_two_workers_equal_stats_in_one_process(
    mixed_file: Path, small_chunks_and_pool: list[str]
) -> None:
    serial = stats_json(mixed_file, "--workers", "1", "--seq-len", "300", "--steps", "5")
    parallel = stats_json(mixed_file, "--workers", "2", "--seq-len", "300", "--steps", "5")
    assert small_chunks_and_pool == ["_InProcess", "_Pool"]
    assert parallel == serial
    assert serial["invalid_lines"] == 4 and serial["over_seq_len"] > 0


def test_stats_equal_a_plain_serial_reading(mixed_file: Path) -> None:
    """The figures, recomputed here the simple way: every line checked in order, every valid
    sample counted with the tokenizer on its own."""
    samples = []
    lines = 0
    for line in checked_lines(mixed_file):
        lines += 1
        if line.sample is not None:
            samples.append(line.sample)
    counts = counter_for(TOKENIZER).count(samples)
    instruct = [s for s in samples if isinstance(s, InstructSample)]
    assert len(instruct) == len(samples)

    data = stats_json(mixed_file, "--workers", "1")
    assert data["tokenizer"] == TOKENIZER
    assert (data["lines"], data["conversations"]) == (lines, len(samples))
    assert data["invalid_lines"] == lines - len(samples) == 4
    assert data["tokens"]["total"] == sum(c.total for c in counts)
    assert data["tokens"]["max"] == max(c.total for c in counts)
    assert data["trained_tokens"] == sum(c.trained for c in counts)
    assert data["messages"]["total"] == sum(
        len(s.messages) + bool(s.system_prompt) for s in instruct
    )
    assert data["user_turns"]["total"] == sum(
        sum(m.role == "user" for m in s.messages) for s in instruct
    )
    assert data["assistant_turns"]["max"] == max(
        sum(m.role == "assistant" for m in s.messages) for s in instruct
    )
    with_tools = sum(bool(s.tools) or any(m.tool_calls for m in s.messages) for s in instruct)
    assert 0 < with_tools < len(instruct)
    assert data["share_with_tools"] == with_tools / len(instruct)
    untrained = sum(
        any(m.role == "assistant" and m.weight == 0 for m in s.messages) for s in instruct
    )
    assert data["share_with_untrained_turns"] == untrained / len(instruct)
    with_system = sum(s.system_prompt is not None for s in instruct)
    assert data["share_with_system_prompt"] == with_system / len(instruct)
