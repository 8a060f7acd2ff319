"""``tuner data dedupe``: exact and near duplicates removed, first kept, nothing else lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuner.datasets.dedupe import (
    Deduper,
    DedupeResult,
    Removal,
    dedupe_file,
    minhash,
    shingles,
)
from tuner.datasets.errors import DataInputError
from tuner.datasets.reader import MAX_LINE_BYTES
from tuner.datasets.rules import check_record
from tuner.datasets.samples import InstructSample, Message, PretrainSample, sample_key

STORY = (
    "the quick brown fox jumps over the lazy dog while the farmer watches from the porch and"
    " drinks his morning coffee before the long day of work in the fields begins again"
)


def chat(user: str, assistant: str = "Sure.", system: str | None = None) -> bytes:
    messages: list[dict[str, Any]] = []
    if system is not None:
        messages.append({"role": "system", "content": system})
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return orjson.dumps({"messages": messages})


def run(tmp_path: Path, lines: list[bytes], **kwargs: Any) -> tuple[DedupeResult, list[bytes]]:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(x + b"\n" for x in lines))
    out = tmp_path / "out.jsonl"
    # force: a test may run twice in one tmp_path (the second run replaces the first's OUT).
    result = dedupe_file(src, out, force=True, **kwargs)
    return result, out.read_bytes().splitlines()


def test_exact_duplicates_keep_the_first(tmp_path: Path) -> None:
    lines = [
        chat("hello there", "hi"),
        chat("something else"),
        # Whitespace differences do not make a different conversation.
        chat("  hello   there\n", "hi "),
        chat("hello there", "hi"),
        # Key order and unknown keys do not either: the conversation is what counts.
        b'{"id": 9, "messages": [{"content": "something else", "role": "user"},'
        b' {"role": "assistant", "content": "Sure."}]}',
    ]
    result, out = run(tmp_path, lines)
    assert out == lines[:2]
    assert result.removed == [
        Removal(3, 1, 1.0, "exact"),
        Removal(4, 1, 1.0, "exact"),
        Removal(5, 2, 1.0, "exact"),
    ]
    assert (result.lines_read, result.lines_written, result.exact_removed) == (5, 2, 3)


def test_a_different_system_prompt_or_role_is_a_different_conversation(tmp_path: Path) -> None:
    lines = [chat("a b c", "d"), chat("a b c", "d", system="be brief"), chat("d", "a b c")]
    result, out = run(tmp_path, lines)
    assert out == lines and result.removed == []


def test_pretrain_files(tmp_path: Path) -> None:
    lines = [b'{"text": "one doc"}', b'{"text": "two"}', b'{"text": "one  doc"}']
    result, out = run(tmp_path, lines)
    assert out == lines[:2] and result.removed == [Removal(3, 1, 1.0, "exact")]


def test_invalid_lines_pass_through_unchanged(tmp_path: Path) -> None:
    lines = [
        chat("a"),
        b'{"messages": [{"role": "bot", "content": "x"}]}',
        b"",
        b"\xff not utf-8",
        b'{"messages": [{"role": "bot", "content": "x"}]}',
        chat("a"),
    ]
    result, out = run(tmp_path, lines)
    assert out == lines[:5]
    assert result.invalid_lines == 4
    assert {f.line for f in result.invalid} == {2, 3, 4, 5}
    assert all(f.is_error for f in result.invalid)
    assert result.removed == [Removal(6, 1, 1.0, "exact")]


def test_a_line_over_the_size_limit_is_copied_not_lost(tmp_path: Path) -> None:
    huge = b'{"text": "' + b"x" * MAX_LINE_BYTES + b'"}'
    lines = [b'{"text": "a"}', huge, b'{"text": "a"}']
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\r\n".join(lines) + b"\r\n")
    out = tmp_path / "out.jsonl"
    result = dedupe_file(src, out)
    assert out.read_bytes() == lines[0] + b"\n" + huge + b"\n"
    assert [(f.line, f.code) for f in result.invalid] == [(2, "line_too_long")]
    assert result.removed == [Removal(3, 1, 1.0, "exact")]


def test_in_place_with_force(tmp_path: Path) -> None:
    src = tmp_path / "data.jsonl"
    src.write_bytes(chat("a") + b"\n" + chat("a") + b"\n")
    dedupe_file(src, src, force=True)
    assert src.read_bytes() == chat("a") + b"\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]


@pytest.mark.parametrize("name", ["missing.jsonl", "", "empty.jsonl"])
def test_unreadable_inputs_are_one_line_errors(tmp_path: Path, name: str) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    with pytest.raises(DataInputError) as info:
        dedupe_file(tmp_path / name, tmp_path / "out.jsonl")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out.jsonl").exists()


# --- near duplicates --------------------------------------------------------------------------


def test_near_duplicates_are_removed_with_their_similarity(tmp_path: Path) -> None:
    lines = [
        chat(STORY, "A farm morning."),
        chat("an unrelated question about tax law in france", "See a lawyer."),
        # One word changed: most 3-grams are shared.
        chat(STORY.replace("coffee", "tea"), "A farm morning."),
        # Case and punctuation do not count.
        chat(STORY.upper().replace(" and ", ", and "), "A farm morning!"),
    ]
    exact_only, out = run(tmp_path, lines)
    assert out == lines and exact_only.removed == []

    result, out = run(tmp_path, lines, near=0.7)
    assert out == lines[:2]
    assert [(r.line, r.duplicate_of, r.kind) for r in result.removed] == [
        (3, 1, "near"),
        (4, 1, "near"),
    ]
    assert 0.7 <= result.removed[0].similarity < 1.0
    assert result.removed[1].similarity == 1.0
    assert result.near_removed == 2


def test_near_dedupe_is_deterministic(tmp_path: Path) -> None:
    variants = [STORY.replace(w, "x") for w in STORY.split()[:20]]
    lines = [chat(v) for v in variants]
    first, _ = run(tmp_path, lines, near=0.8)
    second, _ = run(tmp_path, lines, near=0.8)
    assert first.removed == second.removed and first.removed


def test_threshold_one_means_the_same_words(tmp_path: Path) -> None:
    # MinHashLSH cannot band at 1.0 by itself: candidates come from a lower threshold.
    lines = [chat("Hello, World!"), chat("hello world"), chat("hello world again")]
    result, out = run(tmp_path, lines, near=1.0)
    assert out == [lines[0], lines[2]]
    assert result.removed == [Removal(2, 1, 1.0, "near")]


@pytest.mark.parametrize("near", [0.0, -0.5, 1.5])
def test_threshold_out_of_range(tmp_path: Path, near: float) -> None:
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        run(tmp_path, [chat("a")], near=near)


def test_shingles_mark_roles_and_handle_short_texts() -> None:
    sample = InstructSample(
        (Message("user", "Hi, there"), Message("assistant", "Hello")), system_prompt="Be kind"
    )
    assert shingles(sample) == {
        "<system> be kind",
        "be kind <user>",
        "kind <user> hi",
        "<user> hi there",
        "hi there <assistant>",
        "there <assistant> hello",
    }
    assert shingles(PretrainSample("one two")) == {"one two"}
    assert shingles(PretrainSample("...")) == frozenset()


def test_minhash_estimates_similarity() -> None:
    a = PretrainSample(STORY)
    assert minhash(a).jaccard(minhash(PretrainSample(STORY.title()))) == 1.0
    assert minhash(a).jaccard(minhash(PretrainSample("nothing in common at all here"))) < 0.2


def test_deduper_reports_kept_keys_in_order() -> None:
    deduper = Deduper()
    one, two = PretrainSample("a"), PretrainSample("b")
    assert deduper.check(1, one) is None
    assert deduper.check(2, two) is None
    assert deduper.check(3, PretrainSample(" a ")) == Removal(3, 1, 1.0, "exact")
    assert list(deduper.kept.items()) == [(sample_key(one), 1), (sample_key(two), 2)]


# --- properties -------------------------------------------------------------------------------

texts = st.sampled_from(["a", "b", "c", " a", "b  ", "A", "a b", "a  b"])


@settings(
    deadline=None, max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(users=st.lists(texts, min_size=1, max_size=12), near=st.sampled_from([None, 0.9]))
def test_output_is_the_input_minus_duplicates(
    tmp_path: Path, users: list[str], near: float | None
) -> None:
    lines = [chat(u) for u in users]
    result, out = run(tmp_path, lines, near=near)
    removed = {r.line for r in result.removed}
    # Kept lines are the input's lines, in order, byte for byte.
    assert out == [x for n, x in enumerate(lines, start=1) if n not in removed]
    assert result.lines_written + len(result.removed) == result.lines_read == len(lines)
    samples = [check_record(x, path="", line=0, expect=None).sample for x in out]
    keys = [sample_key(s) for s in samples if s is not None]
    assert len(keys) == len(out)
    assert len(set(keys)) == len(keys)
    for removal in result.removed:
        assert removal.duplicate_of < removal.line and removal.duplicate_of not in removed
