"""``tuner data dedupe``: exact and near duplicates removed, first kept, nothing else lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuner.datasets.dedupe import (
    MINHASH_SEED,
    NUM_PERM,
    Deduper,
    DedupeResult,
    Removal,
    dedupe_file,
    jaccard,
    minhash,
    minhash_of_hashes,
    minhashes_of,
    shingle_hashes_many,
    shingle_hashes_of,
    shingles,
)
from tuner.datasets.errors import DataInputError
from tuner.datasets.reader import MAX_LINE_BYTES
from tuner.datasets.rules import check_record
from tuner.datasets.samples import (
    InstructSample,
    Message,
    PretrainSample,
    Sample,
    sample_key,
)

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


def tool(name: str, description: str) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": {"type": "object"}},
    }


def with_tools(user: str, tools: list[dict[str, Any]]) -> bytes:
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": "Sure."}]
    return orjson.dumps({"messages": messages, "tools": tools})


def test_different_tools_make_a_different_conversation(tmp_path: Path) -> None:
    weather, stocks = tool("get_weather", "Weather now"), tool("get_quote", "A stock quote")
    lines = [
        with_tools(STORY, [weather]),
        with_tools(STORY, [stocks]),
        with_tools(STORY, []),
        # Same tools, keys in another order: the same conversation.
        orjson.dumps(
            {
                "tools": [{"function": weather["function"], "type": "function"}],
                "messages": [
                    {"content": STORY, "role": "user"},
                    {"content": "Sure.", "role": "assistant"},
                ],
            }
        ),
    ]
    result, out = run(tmp_path, lines)
    assert out == lines[:3]
    assert result.removed == [Removal(4, 1, 1.0, "exact")]
    # Near matching does not cross tool sets either.
    near_lines = [*lines[:3], with_tools(STORY.replace("coffee", "tea"), [stocks])]
    result, out = run(tmp_path, near_lines, near=0.8)
    assert [(r.line, r.duplicate_of, r.kind) for r in result.removed] == [(4, 2, "near")]


def _words_variant(words: list[str], changed: int) -> str:
    return " ".join(
        f"w{i}x" if i % 40 == 7 and i // 40 < changed else w for i, w in enumerate(words)
    )


def test_near_pairs_are_decided_on_their_exact_jaccard(tmp_path: Path) -> None:
    # 400 distinct words; changing k words far apart breaks 3k of the 3-grams, so variants fall
    # on both sides of the threshold and close to it. A MinHash estimate would decide such pairs
    # by chance; the exact Jaccard never does.
    words = [f"word{i}" for i in range(400)]
    base = chat(" ".join(words), "ok")
    base_set = shingles(_sample(base))
    similarities = []
    for changed in range(1, 9):
        variant = chat(_words_variant(words, changed), "ok")
        other = shingles(_sample(variant))
        exact = len(base_set & other) / len(base_set | other)
        similarities.append(exact)
        result, out = run(tmp_path, [base, variant], near=0.93)
        if exact >= 0.93:
            assert [(r.line, r.duplicate_of, r.kind) for r in result.removed] == [(2, 1, "near")]
            assert result.removed[0].similarity == pytest.approx(exact)
        else:
            assert result.removed == [] and out == [base, variant]
    assert any(0.93 <= j < 0.95 for j in similarities)
    assert any(0.91 < j < 0.93 for j in similarities)


def _sample(line: bytes) -> Sample:
    sample = check_record(line, path="t", line=1, expect=None).sample
    assert sample is not None
    return sample


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


_WORDS = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "fox", "Dog", "ünï", "7"]), max_size=40)


@settings(max_examples=200)
@given(_WORDS, _WORDS)
def test_hashed_shingles_are_the_shingles(one: list[str], two: list[str]) -> None:
    # The numpy path hashes exactly the shingle sets: same sizes, same exact Jaccard.
    first, second = PretrainSample(" ".join(one)), PretrainSample(" ".join(two))
    a, b = shingles(first), shingles(second)
    hashed_a, hashed_b = shingle_hashes_of(first), shingle_hashes_of(second)
    assert (len(hashed_a), len(hashed_b)) == (len(a), len(b))
    expected = len(a & b) / len(a | b) if a | b else 1.0
    assert jaccard(hashed_a, hashed_b) == pytest.approx(expected)


@settings(max_examples=100)
@given(st.lists(_WORDS, max_size=12))
def test_batched_hashes_and_sketches_are_the_single_ones(texts: list[list[str]]) -> None:
    samples = [PretrainSample(" ".join(words)) for words in texts]
    batched = shingle_hashes_many(samples)
    assert len(batched) == len(samples)
    for sample, hashes in zip(samples, batched, strict=True):
        assert hashes.tolist() == shingle_hashes_of(sample).tolist()
    for hashes, sketch in zip(batched, minhashes_of(batched), strict=True):
        if len(hashes):
            assert sketch is not None
            assert (sketch.hashvalues == minhash_of_hashes(hashes).hashvalues).all()
        else:
            assert sketch is None


def test_check_many_decides_as_check_one_by_one() -> None:
    words = [f"word{i}" for i in range(200)]
    texts = [" ".join(words), _words_variant(words, 1), "short", "short", _words_variant(words, 9)]
    samples = [(n, _sample(chat(t, "ok"))) for n, t in enumerate(texts * 3, start=1)]
    one_by_one = Deduper(near=0.9)
    expected = [one_by_one.check(line, sample) for line, sample in samples]
    assert Deduper(near=0.9).check_many(samples) == expected
    assert {r.kind for r in expected if r is not None} == {"exact", "near"}


def test_the_numpy_minhash_is_datasketchs() -> None:
    from datasketch import MinHash

    hashes = shingle_hashes_of(PretrainSample(STORY))
    reference = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, hashfunc=int)
    reference.update_batch(hashes.tolist())
    assert (minhash_of_hashes(hashes).hashvalues == reference.hashvalues).all()


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
