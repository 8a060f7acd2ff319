"""Benchmark: recall and precision of `tuner data dedupe --near 0.9` on injected near duplicates.

    python benchmarks/dedupe.py                     # 10,000 and 50,000 conversations
    python benchmarks/dedupe.py --sizes 200000      # a larger run

Makes a seeded synthetic JSONL file under ``.bench/``: distinct conversations (a system prompt, a
user and an assistant turn, ~300 words from a 20,000-word made-up vocabulary) and, for 10% of
them, a variant placed later in the file with some words replaced. The "true" similarity of a pair
is the exact Jaccard of the lowercase word 3-gram sets of the joined message contents. Variants
are drawn either as positives (true Jaccard >= 0.92, which the target says must be found) or as
negatives (true Jaccard <= 0.88, which must never be removed at ``--near 0.9``).

In the same run, on the same file, it measures:

(a) the baseline, the previous method: ``MinHashLSH(threshold=0.9)`` candidates decided on the
    128-permutation MinHash estimate;
(b) ``tuner.datasets.dedupe.dedupe_file(near=0.9)``: candidates drawn at a lower LSH threshold and
    decided on the exact Jaccard.

Reports, for each: recall (positive variants removed as duplicates of their own original), false
positives (any other removal: a negative variant, or a conversation removed against one it was
not made from), and seconds. Exits 1 when (b) misses a target: recall >= 95%, 0 false positives.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tuner.datasets.dedupe import dedupe_file, minhash, shingles  # noqa: E402
from tuner.datasets.rules import check_record  # noqa: E402

BENCH_DIR = ROOT / ".bench"
NEAR = 0.9
POSITIVE = 0.92
NEGATIVE = 0.88
TARGET_RECALL = 0.95
_WORD = re.compile(r"\w+")


@dataclass
class Pair:
    original: int  # line of the original
    variant: int  # line of the variant
    similarity: float  # true Jaccard


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    syllables = ["ka", "lo", "ri", "mon", "tes", "va", "del", "pra", "qui", "zen", "ul", "ber"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choices(syllables, k=rng.randint(2, 4))))
    return sorted(words)


def _turns(rng: random.Random, vocab: list[str]) -> list[list[str]]:
    return [rng.choices(vocab, k=n) for n in (rng.randint(10, 20), rng.randint(100, 150), 150)]


def _record(turns: list[list[str]]) -> bytes:
    system, user, assistant = (" ".join(t) for t in turns)
    return orjson.dumps(
        {
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user.capitalize() + "?"},
                {"role": "assistant", "content": assistant + "."},
            ]
        }
    )


def true_jaccard(a: list[list[str]], b: list[list[str]]) -> float:
    """Exact Jaccard of the lowercase word 3-gram sets of the joined message contents."""

    def grams(turns: list[list[str]]) -> set[tuple[str, ...]]:
        words = _WORD.findall(" ".join(" ".join(t) for t in turns).lower())
        return set(zip(words, words[1:], words[2:], strict=False))

    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


def _variant(
    rng: random.Random, vocab: list[str], turns: list[list[str]], positive: bool
) -> tuple[list[list[str]], float]:
    """A copy of ``turns`` with words replaced until its similarity is in the wanted band."""
    while True:
        copy = [list(t) for t in turns]
        changes = rng.randint(1, 3) if positive else rng.randint(6, 25)
        for _ in range(changes):
            turn = copy[rng.randrange(1, 3)]
            turn[rng.randrange(len(turn))] = rng.choice(vocab)
        similarity = true_jaccard(turns, copy)
        if (positive and similarity >= POSITIVE) or (not positive and similarity <= NEGATIVE):
            return copy, similarity


def make_file(path: Path, conversations: int, seed: int = 7) -> list[Pair]:
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    originals = conversations * 10 // 11
    bases = [_turns(rng, vocab) for _ in range(originals)]
    lines = [_record(t) for t in bases]
    pairs: list[Pair] = []
    for index in rng.sample(range(originals), conversations - originals):
        turns, similarity = _variant(rng, vocab, bases[index], positive=rng.random() < 0.6)
        lines.append(_record(turns))
        pairs.append(Pair(index + 1, len(lines), similarity))
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return pairs


def baseline(path: Path) -> dict[int, int]:
    """The previous method: LSH at 0.9, pairs decided on the MinHash estimate."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=NEAR, num_perm=128)
    sketches: dict[int, Any] = {}
    removed: dict[int, int] = {}
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        sample = check_record(raw, path=str(path), line=number, expect=None).sample
        assert sample is not None and shingles(sample)
        sketch = minhash(sample)
        best = max(
            (
                (sketch.jaccard(sketches[c]), -c)
                for c in lsh.query(sketch)
                if sketch.jaccard(sketches[c]) >= NEAR
            ),
            default=None,
        )
        if best is not None:
            removed[number] = -best[1]
            continue
        lsh.insert(number, sketch)
        sketches[number] = sketch
    return removed


def tuner_near(path: Path) -> dict[int, int]:
    result = dedupe_file(path, path.with_suffix(".out.jsonl"), near=NEAR, force=True)
    return {r.line: r.duplicate_of for r in result.removed}


def score(removed: dict[int, int], pairs: list[Pair]) -> tuple[float, int, int]:
    """(recall of positive pairs, false positives, positives)."""
    by_variant = {p.variant: p for p in pairs}
    positives = [p for p in pairs if p.similarity >= POSITIVE]
    found = sum(1 for p in positives if removed.get(p.variant) == p.original)
    false = 0
    for line, kept in removed.items():
        pair = by_variant.get(line)
        if pair is None or pair.original != kept or pair.similarity < NEAR:
            false += 1
    return found / len(positives), false, len(positives)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    args = parser.parse_args()
    BENCH_DIR.mkdir(exist_ok=True)
    ok = True
    for size in args.sizes:
        path = BENCH_DIR / f"dedupe-{size}.jsonl"
        pairs = make_file(path, size)
        print(f"{size:,} conversations, {len(pairs):,} injected variants ({path})")
        for name, run in (("baseline (LSH 0.9 + estimate)", baseline), ("tuner", tuner_near)):
            started, cpu_started = time.perf_counter(), time.process_time()
            removed = run(path)
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            recall, false, positives = score(removed, pairs)
            # CPU seconds beside wall-clock ones: on a shared machine the latter mostly measure
            # the other processes.
            print(
                f"  {name:31} recall {recall:6.1%} of {positives:,} pairs >= {POSITIVE},"
                f" {false} false positive(s), {seconds:.1f} s (CPU {cpu:.1f} s)"
            )
        ok = ok and recall >= TARGET_RECALL and false == 0
    print("targets met" if ok else f"TARGET MISSED (recall >= {TARGET_RECALL:.0%}, 0 false)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
