"""``tuner data split``: deterministic, disjoint train/eval files from a deduplicated input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuner.datasets.dedupe import Removal
from tuner.datasets.errors import DataInputError
from tuner.datasets.findings import Category, Severity
from tuner.datasets.rules import check_record
from tuner.datasets.samples import sample_key
from tuner.datasets.split import SplitResult, eval_count, split_file


def chat(user: str, assistant: str = "ok") -> bytes:
    return orjson.dumps(
        {
            "messages": [
                {"role": "user", "content": user},
                {"role": "assistant", "content": assistant},
            ]
        }
    )


def write(tmp_path: Path, lines: list[bytes], name: str = "data.jsonl") -> Path:
    src = tmp_path / name
    src.write_bytes(b"".join(x + b"\n" for x in lines))
    return src


def run(
    tmp_path: Path, lines: list[bytes], **kwargs: Any
) -> tuple[SplitResult, list[bytes], list[bytes]]:
    src = write(tmp_path, lines)
    kwargs.setdefault("eval_fraction", 0.1)
    # force: tests split twice in one tmp_path (hypothesis examples share it too).
    result = split_file(src, out_dir=tmp_path / "out", force=True, **kwargs)
    train = Path(result.train_path).read_bytes().splitlines()
    evals = Path(result.eval_path).read_bytes().splitlines()
    return result, train, evals


def key(data: bytes) -> str:
    sample = check_record(data, path="", line=0, expect=None).sample
    assert sample is not None
    return sample_key(sample)


def test_a_tenth_goes_to_eval_in_input_order(tmp_path: Path) -> None:
    lines = [chat(f"question {i}") for i in range(100)]
    result, train, evals = run(tmp_path, lines)
    assert Path(result.train_path) == tmp_path / "out" / "data.train.jsonl"
    assert Path(result.eval_path) == tmp_path / "out" / "data.eval.jsonl"
    assert (len(train), len(evals)) == (90, 10)
    assert (result.train_lines, result.eval_lines) == (90, 10)
    # Every line lands once, byte for byte, and each file keeps the input's order.
    assert sorted(train + evals) == sorted(lines)
    assert train == [x for x in lines if x in set(train)]
    assert evals == [x for x in lines if x in set(evals)]
    assert result.train_bytes == sum(len(x) + 1 for x in train)
    assert result.eval_bytes == sum(len(x) + 1 for x in evals)


def test_same_seed_same_split_other_seed_other_split(tmp_path: Path) -> None:
    lines = [chat(f"question {i}") for i in range(50)]
    _, _, first = run(tmp_path, lines, seed=7)
    _, _, again = run(tmp_path, lines, seed=7)
    _, _, other = run(tmp_path, lines, seed=8)
    assert first == again
    assert first != other


def test_appending_lines_keeps_earlier_choices_mostly(tmp_path: Path) -> None:
    # The rank is a hash of the content: eval picks do not reshuffle when the file grows.
    lines = [chat(f"question {i}") for i in range(200)]
    _, _, small = run(tmp_path, lines[:100], eval_fraction=0.2)
    _, _, large = run(tmp_path, lines, eval_fraction=0.2)
    assert len(set(small) & set(large)) >= 10


def test_duplicates_are_removed_first_so_nothing_overlaps(tmp_path: Path) -> None:
    lines = [chat(f"q{i % 10}") for i in range(40)] + [chat("q1  ")]
    result, train, evals = run(tmp_path, lines, eval_fraction=0.3)
    assert (len(train), len(evals)) == (7, 3)
    assert not {key(x) for x in train} & {key(x) for x in evals}
    assert len(result.removed) == 31
    assert Removal(41, 2, 1.0, "exact") in result.removed


def test_near_duplicates_can_be_removed_too(tmp_path: Path) -> None:
    story = " ".join(f"word{i}" for i in range(60))
    lines = [chat(story), chat(story.replace("word30", "other")), chat("different"), chat("x y z")]
    result, train, evals = run(tmp_path, lines, eval_fraction=0.34, near=0.8)
    assert [(r.line, r.duplicate_of, r.kind) for r in result.removed] == [(2, 1, "near")]
    assert sorted(train + evals) == sorted([lines[0], lines[2], lines[3]])


def test_invalid_lines_go_nowhere_but_are_listed(tmp_path: Path) -> None:
    lines = [chat("a"), b"{not json", chat("b"), b'{"messages": [{"role": "bot", "content": "x"}]}']
    result, train, evals = run(tmp_path, lines, eval_fraction=0.5)
    assert sorted(train + evals) == sorted([chat("a"), chat("b")])
    assert result.invalid_lines == 2
    assert {f.line for f in result.invalid} == {2, 4}
    assert all(f.is_error for f in result.invalid)


@pytest.mark.parametrize(
    ("n", "fraction", "expected"),
    [
        (0, 0.5, 0),
        (1, 0.9, 0),
        (2, 0.01, 1),
        (2, 0.99, 1),
        (10, 0.25, 2),
        (10, 0.99, 9),
        (7, 0.5, 4),
    ],
)
def test_eval_count(n: int, fraction: float, expected: int) -> None:
    assert eval_count(n, fraction) == expected


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_fraction_must_be_strictly_between_0_and_1(tmp_path: Path, fraction: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        run(tmp_path, [chat("a"), chat("b")], eval_fraction=fraction)
    assert not (tmp_path / "out").exists()


def test_one_conversation_stays_in_training_with_a_warning(tmp_path: Path) -> None:
    result, train, evals = run(tmp_path, [chat("a"), chat("a")], eval_fraction=0.5)
    assert (train, evals) == ([chat("a")], [])
    assert [w.code for w in result.warnings] == ["too_few_to_split"]


def test_an_eval_file_over_the_platform_limit_is_warned_about(tmp_path: Path) -> None:
    lines = [chat(f"question {i}") for i in range(40)]
    result, _, _ = run(tmp_path, lines, eval_fraction=0.25)
    (warning,) = result.warnings
    assert warning.code == "eval_file_too_large"
    assert (warning.severity, warning.category) == (Severity.WARNING, Category.SIZE)
    assert warning.path == result.eval_path
    assert f"{result.eval_bytes:,}" in warning.message

    small, _, _ = run(tmp_path, [chat(f"question {i}") for i in range(40)], eval_fraction=0.025)
    assert small.eval_lines == 1 and small.warnings == []


@pytest.mark.parametrize("name", ["missing.jsonl", "", "empty.jsonl"])
def test_unreadable_inputs_are_one_line_errors(tmp_path: Path, name: str) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    with pytest.raises(DataInputError) as info:
        split_file(tmp_path / name, eval_fraction=0.1, out_dir=tmp_path / "out")
    assert "\n" not in str(info.value)


# --- properties -------------------------------------------------------------------------------


@settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    users=st.lists(st.sampled_from([f"q{i}" for i in range(15)] + [" q1", "q2 "]), max_size=30),
    fraction=st.floats(0.01, 0.99),
    seed=st.integers(0, 2**64),
)
def test_split_is_a_deterministic_partition_of_the_deduped_input(
    tmp_path: Path, users: list[str], fraction: float, seed: int
) -> None:
    lines = [chat(u) for u in users] + [chat("always here")]
    result, train, evals = run(tmp_path, lines, eval_fraction=fraction, seed=seed)
    removed = {r.line for r in result.removed}
    deduped = [x for n, x in enumerate(lines, start=1) if n not in removed]
    assert sorted(train + evals) == sorted(deduped)
    assert not {key(x) for x in train} & {key(x) for x in evals}
    assert len(evals) == eval_count(len(deduped), fraction)
    again = split_file(
        tmp_path / "data.jsonl",
        eval_fraction=fraction,
        seed=seed,
        out_dir=tmp_path / "again",
        force=True,
    )
    assert Path(again.eval_path).read_bytes().splitlines() == evals
    assert Path(again.train_path).read_bytes().splitlines() == train
