"""``tuner data dedupe``: remove repeated conversations, keeping the first of each.

Exact duplicates are the same conversation after normalising whitespace
(:func:`tuner.datasets.samples.sample_key`, the key the validator's ``duplicate`` warning uses):
the turns, the system prompt and the tool definitions. With ``near=THRESHOLD`` conversations whose
word 3-gram sets have a Jaccard similarity of at least THRESHOLD also count as duplicates, when
they offer the same tools. datasketch's MinHash (128 permutations, fixed seed, so runs are
repeatable) and MinHashLSH only *draw candidates*, at a threshold well below THRESHOLD
(:func:`candidate_threshold`), so that a pair at THRESHOLD is almost never missed by the banding;
each candidate is then decided on the exact Jaccard of the two shingle sets, never on the
estimate (at 128 permutations it errs by about ±0.09, which decided pairs near 0.9 by chance).
The exact sets are held as sorted arrays of 32-bit shingle hashes (4 bytes a shingle, about what
the MinHash itself takes), so a collision between two different shingles is the only error left.
Shingle hashes and sketches are computed on whole arrays in numpy (:func:`shingle_hashes_of`,
:func:`minhash_of_hashes`): building and hashing each 3-gram string, then feeding the sketch
item by item, took most of the time.

Each conversation is compared only with the conversations kept so far, so a cluster is anchored
on its first line and a removed line never causes another removal. Lines with errors cannot be
compared and are passed through unchanged (listed in :attr:`DedupeResult.invalid`): dedupe never
loses a line it did not prove to be a duplicate.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

import numpy as np

from tuner.datasets.findings import Finding
from tuner.datasets.lines import CheckedLine, Format, check_input, checked_lines, copy_line
from tuner.datasets.providers import DEFAULT_PROVIDER
from tuner.datasets.samples import (
    InstructSample,
    PreferenceSample,
    Sample,
    sample_key,
    tools_key,
)
from tuner.fsutil import atomic_writer, prepare_outputs
from tuner.progress import NULL_PROGRESS, Progress

if TYPE_CHECKING:
    # datasketch pulls in scipy (about 0.6 s): imported only when near-duplicates are wanted.
    from datasketch import LeanMinHash, MinHashLSH


NUM_PERM = 128
MINHASH_SEED = 1
SHINGLE_SIZE = 3
# How far below the user's threshold candidates are drawn. MinHashLSH picks its bands so that a
# pair at its own threshold is a candidate about half the time; 0.2 lower, a pair at the user's
# threshold is one in more than 99 cases of 100 (benchmarks/dedupe.py measures the recall).
CANDIDATE_MARGIN = 0.2
MIN_LSH_THRESHOLD = 0.3
# Lines decided together by dedupe_file (their hashes and sketches computed in one numpy pass);
# a batch holds the lines' bytes, so it stays small.
BATCH_LINES = 256

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Removal:
    line: int  # the removed line (1-based, physical)
    duplicate_of: int  # the kept line it repeats
    similarity: float  # 1.0 for exact duplicates; the exact shingle Jaccard for near ones
    kind: Literal["exact", "near"] = "exact"


@dataclass(slots=True)
class DedupeResult:
    path: str
    out: str
    lines_read: int = 0
    lines_written: int = 0
    removed: list[Removal] = field(default_factory=list)
    # Lines with errors, passed through unchanged; their error findings are in ``invalid``.
    invalid_lines: int = 0
    invalid: list[Finding] = field(default_factory=list)
    # Temporary files of killed runs removed from the output folder before writing.
    temps_removed: list[str] = field(default_factory=list)

    @property
    def exact_removed(self) -> int:
        return sum(1 for r in self.removed if r.kind == "exact")

    @property
    def near_removed(self) -> int:
        return sum(1 for r in self.removed if r.kind == "near")


# --- shingles and MinHash ---------------------------------------------------------------------


def _words(text: str) -> list[str]:
    # Case and punctuation are ignored: they are what near duplicates typically differ in.
    return _WORD.findall(text.casefold())


def sample_words(sample: Sample) -> list[str]:
    """The conversation as one word sequence, with role markers so turns do not blur together."""
    if not isinstance(sample, InstructSample):
        return _words(sample.text)
    words: list[str] = []
    if sample.system_prompt:
        words += ["<system>", *_words(sample.system_prompt)]
    for message in sample.messages:
        words += [f"<{message.role}>", *_words(message.text)]
        for call in message.tool_calls:
            words += ["<call>", call.name, *_words(call.arguments)]
    if isinstance(sample, PreferenceSample):
        # A DPO pair is its prompt and both answers: the same prompt with other answers is
        # another pair, as for the exact key (sample_key).
        for marker, answer in (
            ("<preferred>", sample.preferred),
            ("<rejected>", sample.non_preferred),
        ):
            words.append(marker)
            for message in answer:
                words += [f"<{message.role}>", *_words(message.text)]
    return words


def shingles(sample: Sample, size: int = SHINGLE_SIZE) -> frozenset[str]:
    """The set of word ``size``-grams of the conversation (one shingle when it is shorter)."""
    words = sample_words(sample)
    if len(words) <= size:
        return frozenset([" ".join(words)]) if words else frozenset()
    # zip over shifted copies (stopping at the shortest, hence strict=False): the n-grams
    # without building a slice per position.
    return frozenset(map(" ".join, zip(*(words[i:] for i in range(size)), strict=False)))


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's permutation parameters (``a``, ``b``) for our seed, as uint32 rows."""
    from datasketch import MinHash

    # Building the permutations is the costly part of a MinHash: done once.
    sketch = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, hashfunc=int, scheme="affine32")
    a, b = sketch.permutations
    return a.astype(np.uint32).reshape(1, -1), b.astype(np.uint32).reshape(1, -1)


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (uint32 arithmetic wraps, as the algorithm wants)."""
    values = values ^ (values >> 16)
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> 13)
    values = values * np.uint32(0xC2B2AE35)
    mixed: np.ndarray = values ^ (values >> 16)
    return mixed


# Odd 64-bit multipliers, one per position in a shingle.
_POSITION_MULTIPLIERS = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93],
    dtype=np.uint64,
)
_WORD_CACHE_LIMIT = 1_000_000  # remembered word hashes (tens of MB); emptied past this


class _WordHashes:
    """A stable 64-bit hash per word (BLAKE2b, so runs and processes agree), remembered:
    natural text repeats its words, and hashing each distinct word once is what makes
    shingling cheap."""

    def __init__(self) -> None:
        self._known: dict[str, int] = {}

    def __call__(self, words: list[str]) -> np.ndarray:
        known = self._known
        try:
            # Most words are known: C-speed lookups, a new word met as a KeyError.
            return np.fromiter(map(known.__getitem__, words), dtype=np.uint64, count=len(words))
        except KeyError:
            pass
        if len(known) > _WORD_CACHE_LIMIT:
            known.clear()
        for word in words:
            if word not in known:
                digest = hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8)
                known[word] = int.from_bytes(digest.digest(), "little")
        return np.fromiter(map(known.__getitem__, words), dtype=np.uint64, count=len(words))


_word_hashes = _WordHashes()


def shingle_hashes_of(sample: Sample, size: int = SHINGLE_SIZE) -> np.ndarray:
    """The sample's :func:`shingles` as sorted unique 32-bit hashes, without building them.

    Each word is hashed once (64 bits, uniform); a shingle's hash is the sum of its words'
    hashes times an odd multiplier per position, modulo 2**64, whose top 32 bits are kept:
    whole arrays at a time in numpy, where joining and hashing each 3-gram string cost most of
    the time. Two different shingles collide with probability about 2**-32, as with CRC-32
    before.
    """
    words = _word_hashes(sample_words(sample))
    count = len(words) - size + 1
    if count < 1:
        if not len(words):
            return np.empty(0, dtype=np.uint32)
        # Shorter than a shingle: the whole sequence is the one shingle (as in shingles()).
        count, size = 1, len(words)
    mixed = words[:count] * _POSITION_MULTIPLIERS[0]
    for position in range(1, size):
        mixed += words[position : position + count] * _POSITION_MULTIPLIERS[position]
    # The word hashes are uniform, so the sum's top bits already are: no finalizer needed
    # (the sketch mixes its input again).
    return np.unique((mixed >> np.uint64(32)).astype(np.uint32))


def minhash_of_hashes(hashes: np.ndarray) -> LeanMinHash:
    """The MinHash of a set of 32-bit shingle hashes: datasketch's ``affine32`` scheme (the
    MurmurHash3 finalizer, then ``a * h + b`` per permutation, in uint32), computed on the whole
    array in numpy instead of item by item (same values as ``MinHash.update_batch``)."""
    from datasketch import LeanMinHash

    a, b = _permutations()
    mixed = _fmix32(hashes.astype(np.uint32)).reshape(-1, 1)
    values = (mixed * a + b).min(axis=0) if len(mixed) else np.full(NUM_PERM, 2**32 - 1)
    # LeanMinHash: no permutation arrays, a fraction of the memory per kept conversation.
    return LeanMinHash(seed=MINHASH_SEED, hashvalues=values, scheme="affine32")


def minhash(sample: Sample) -> LeanMinHash:
    """The MinHash of the sample's shingles (deterministic: fixed seed and hash function)."""
    return minhash_of_hashes(shingle_hashes_of(sample))


def shingle_hashes_many(samples: Sequence[Sample], size: int = SHINGLE_SIZE) -> list[np.ndarray]:
    """:func:`shingle_hashes_of` for many samples at once: the same arrays, with one numpy pass
    over all their words (per-sample numpy calls on ~300-word arrays cost more in call overhead
    than in arithmetic)."""
    words = [_word_hashes(sample_words(sample)) for sample in samples]
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    result: list[np.ndarray] = [np.empty(0, dtype=np.uint32)] * len(samples)
    for index in np.flatnonzero((lengths > 0) & (lengths < size)):
        result[index] = shingle_hashes_of(samples[index], size)  # shorter than a shingle
    counts = np.maximum(lengths - size + 1, 0)
    if not counts.sum():
        return result
    flat = np.concatenate(words)
    span = len(flat) - size + 1
    mixed = flat[:span] * _POSITION_MULTIPLIERS[0]
    for position in range(1, size):
        mixed += flat[position : position + span] * _POSITION_MULTIPLIERS[position]
    # Keep the windows that lie inside one sample: those starting at a sample's first
    # len - size + 1 positions.
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    owners = np.repeat(np.arange(len(samples), dtype=np.uint64), counts)
    offsets = np.arange(len(owners)) - np.repeat(np.cumsum(counts) - counts, counts)
    positions = np.repeat(starts, counts) + offsets
    # One sort for the whole batch: (sample, hash) packed in 64 bits, then cut per sample.
    keys = np.unique(owners << np.uint64(32) | (mixed[positions] >> np.uint64(32)))
    bounds = np.searchsorted(keys >> np.uint64(32), np.arange(len(samples) + 1, dtype=np.uint64))
    hashes = (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    for index in np.flatnonzero(counts):
        result[index] = hashes[bounds[index] : bounds[index + 1]]
    return result


# Cells of the (shingles x permutations) array computed at once by minhashes_of (4 bytes each).
_SKETCH_CELLS = 1 << 21


def minhashes_of(hash_sets: Sequence[np.ndarray]) -> list[LeanMinHash | None]:
    """:func:`minhash_of_hashes` of many sets at once (None for an empty set): the permutations
    applied to all their hashes in a few large numpy operations, minimum per set by
    ``reduceat``."""
    from datasketch import LeanMinHash

    a, b = _permutations()
    sketches: list[LeanMinHash | None] = [None] * len(hash_sets)
    group: list[int] = []
    cells = 0
    for index in [*range(len(hash_sets)), -1]:
        if index >= 0 and not len(hash_sets[index]):
            continue
        if group and (index < 0 or cells + len(hash_sets[index]) * NUM_PERM > _SKETCH_CELLS):
            sets = [hash_sets[i] for i in group]
            mixed = _fmix32(np.concatenate(sets).astype(np.uint32)).reshape(-1, 1)
            starts = np.cumsum([0, *map(len, sets[:-1])])
            values = np.minimum.reduceat(mixed * a + b, starts, axis=0)
            for row, member in zip(values, group, strict=True):
                sketches[member] = LeanMinHash(seed=MINHASH_SEED, hashvalues=row, scheme="affine32")
            group, cells = [], 0
        if index >= 0:
            group.append(index)
            cells += len(hash_sets[index]) * NUM_PERM
    return sketches


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """The exact Jaccard similarity of two sorted unique hash arrays."""
    if not len(a) and not len(b):
        return 1.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)


def candidate_threshold(near: float) -> float:
    """The LSH threshold at which candidates are drawn for a user threshold ``near``."""
    return max(MIN_LSH_THRESHOLD, near - CANDIDATE_MARGIN)


# --- the streaming deduper --------------------------------------------------------------------


def validate_near(near: float | None) -> None:
    if near is not None and not 0.0 < near <= 1.0:
        raise ValueError(f"near-duplicate threshold must be in (0, 1], got {near}")


class Deduper:
    """Decides, conversation by conversation in file order, which ones repeat an earlier one."""

    def __init__(self, near: float | None = None) -> None:
        validate_near(near)
        self.near = near
        self._first: dict[str, int] = {}
        # Per kept line: its shingle hashes (the exact set) and, when it has tools, their key.
        self._sets: dict[int, np.ndarray] = {}
        self._tools: dict[int, str] = {}
        self._lsh: MinHashLSH | None = None
        if near is not None:
            from datasketch import MinHashLSH

            self._lsh = MinHashLSH(threshold=candidate_threshold(near), num_perm=NUM_PERM)

    @property
    def kept(self) -> Mapping[str, int]:
        """The sample key of every kept conversation and its line, in file order."""
        return self._first

    def check(self, line: int, sample: Sample) -> Removal | None:
        """The removal for ``line`` if it duplicates a kept line, else None (and it is kept)."""
        return self._check(line, sample, None)

    def check_many(self, lines: Sequence[tuple[int, Sample]]) -> list[Removal | None]:
        """:meth:`check` for each (line, sample), in order, with the same results; the
        near-duplicate hashes and sketches of all of them are computed together, in numpy."""
        if self._lsh is None:
            return [self.check(line, sample) for line, sample in lines]
        hash_sets = shingle_hashes_many([sample for _, sample in lines])
        sketches = minhashes_of(hash_sets)
        return [
            self._check(line, sample, (items, sketch))
            for (line, sample), items, sketch in zip(lines, hash_sets, sketches, strict=True)
        ]

    def _check(
        self, line: int, sample: Sample, near: tuple[np.ndarray, LeanMinHash | None] | None
    ) -> Removal | None:
        key = sample_key(sample)
        first = self._first.get(key)
        if first is not None:
            return Removal(line, first, 1.0, "exact")
        if self._lsh is not None:
            if near is None:
                items = shingle_hashes_of(sample)
                near = (items, minhash_of_hashes(items) if len(items) else None)
            removal = self._near_match(line, sample, *near)
            if removal is not None:
                return removal
        self._first[key] = line
        return None

    def _near_match(
        self, line: int, sample: Sample, items: np.ndarray, sketch: LeanMinHash | None
    ) -> Removal | None:
        assert self._lsh is not None and self.near is not None
        if sketch is None:
            # Nothing to compare (no words at all): exact matching already covered it.
            return None
        tools = (
            tools_key(sample.tools) if isinstance(sample, InstructSample) and sample.tools else None
        )
        best: tuple[float, int] | None = None
        for candidate in self._lsh.query(sketch):
            if self._tools.get(candidate) != tools:
                continue  # other tools offered: a different conversation, however similar
            similarity = jaccard(items, self._sets[candidate])
            if similarity >= self.near and _better(similarity, candidate, best):
                best = (similarity, candidate)
        if best is not None:
            return Removal(line, best[1], best[0], "near")
        self._lsh.insert(line, sketch)
        self._sets[line] = items
        if tools is not None:
            self._tools[line] = tools
        return None


def _better(similarity: float, line: int, best: tuple[float, int] | None) -> bool:
    """Highest similarity wins; among equals the earliest line (query order is not defined)."""
    return best is None or (similarity, -line) > (best[0], -best[1])


# --- the file ---------------------------------------------------------------------------------


def dedupe_file(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    near: float | None = None,
    expect: Format | None = None,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
    provider: str = DEFAULT_PROVIDER,
) -> DedupeResult:
    """Write ``src`` to ``out`` without its duplicate conversations, the lines read with
    ``provider``'s rules (a line those rules refuse is kept, never compared).

    ``out`` must not exist and must not be ``src`` unless ``force``
    (:func:`tuner.fsutil.prepare_outputs`). Kept lines, and lines with errors, are copied byte
    for byte in their order (line endings are written as LF).
    """
    validate_near(near)
    source = check_input(src)
    removed = prepare_outputs([out], [source], force=force)
    result = DedupeResult(path=str(source), out=os.fspath(out))
    result.temps_removed = [str(p) for p in removed]
    deduper = Deduper(near)
    progress.start("dedupe", total=None, unit="lines")
    with atomic_writer(out) as handle:
        batch: list[CheckedLine] = []
        for line in checked_lines(source, expect=expect, provider=provider):
            result.lines_read += 1
            progress.advance()
            batch.append(line)
            if len(batch) >= BATCH_LINES:
                _dedupe_batch(batch, deduper, source, handle, result)
                batch = []
        _dedupe_batch(batch, deduper, source, handle, result)
    progress.finish()
    return result


def _dedupe_batch(
    batch: list[CheckedLine],
    deduper: Deduper,
    source: Path,
    handle: BinaryIO,
    result: DedupeResult,
) -> None:
    """Decide a batch of lines (in order) and write those kept, and those with errors."""
    valid = [(line.number, line.sample) for line in batch if line.sample is not None]
    removals = iter(deduper.check_many(valid))
    for line in batch:
        if line.sample is None:
            result.invalid_lines += 1
            result.invalid.extend(f for f in line.findings if f.is_error)
        elif (removal := next(removals)) is not None:
            result.removed.append(removal)
            continue
        copy_line(source, line, handle)
        result.lines_written += 1
