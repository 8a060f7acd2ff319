"""``tuner data dedupe``: remove repeated conversations, keeping the first of each.

Exact duplicates are the same conversation after normalising whitespace
(:func:`tuner.datasets.samples.sample_key`, the key the validator's ``duplicate`` warning uses).
With ``near=THRESHOLD`` conversations whose word 3-gram sets have a Jaccard similarity of at
least THRESHOLD also count as duplicates: datasketch's MinHash (128 permutations, fixed seed, so
runs are repeatable) estimates the similarity and MinHashLSH finds the candidates without
comparing every pair. The similarity reported for a near duplicate is that estimate (typical
error about ±0.09 at 128 permutations), not an exact Jaccard: holding every shingle set to
compute it exactly would make memory grow with the file.

Each conversation is compared only with the conversations kept so far, so a cluster is anchored
on its first line and a removed line never causes another removal. Lines with errors cannot be
compared and are passed through unchanged (listed in :attr:`DedupeResult.invalid`): dedupe never
loses a line it did not prove to be a duplicate.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Literal

from tuner.datasets.findings import Finding
from tuner.datasets.lines import Format, check_input, checked_lines, copy_line
from tuner.datasets.samples import InstructSample, Sample, sample_key
from tuner.fsutil import atomic_writer, prepare_outputs
from tuner.progress import NULL_PROGRESS, Progress

if TYPE_CHECKING:
    # datasketch pulls in scipy (about 0.6 s): imported only when near-duplicates are wanted.
    from datasketch import LeanMinHash, MinHash, MinHashLSH


NUM_PERM = 128
MINHASH_SEED = 1
SHINGLE_SIZE = 3
# MinHashLSH cannot band for thresholds near 1 (fewer than two bands); above this, candidates
# are found at this threshold and then filtered by the estimate against the user's threshold.
MAX_LSH_THRESHOLD = 0.9

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Removal:
    line: int  # the removed line (1-based, physical)
    duplicate_of: int  # the kept line it repeats
    similarity: float  # 1.0 for exact duplicates; the MinHash estimate for near ones
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
def _template() -> MinHash:
    from datasketch import MinHash

    # Building the permutations is the costly part of a MinHash; copies share the parameters.
    # CRC-32 instead of the default SHA-1: hashing every shingle is most of the time spent, CRC-32
    # is a few times cheaper, and datasketch's affine32 scheme mixes its output (MurmurHash3
    # finalizer) before permuting, so its linearity does not show; both give 32 bits.
    return MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, hashfunc=zlib.crc32)


def minhash_of(items: Iterable[str]) -> LeanMinHash:
    """The MinHash of a set of strings (same parameters for every sketch, so any two compare)."""
    from datasketch import LeanMinHash

    sketch = _template().copy()
    sketch.update_batch([item.encode("utf-8") for item in items])
    # LeanMinHash drops the permutation arrays: a fraction of the memory per kept conversation.
    return LeanMinHash(sketch)


def minhash(sample: Sample) -> LeanMinHash:
    """The MinHash of the sample's shingles (deterministic: fixed seed and hash function)."""
    return minhash_of(shingles(sample))


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
        self._sketches: dict[int, LeanMinHash] = {}
        self._lsh: MinHashLSH | None = None
        if near is not None:
            from datasketch import MinHashLSH

            self._lsh = MinHashLSH(threshold=min(near, MAX_LSH_THRESHOLD), num_perm=NUM_PERM)

    @property
    def kept(self) -> Mapping[str, int]:
        """The sample key of every kept conversation and its line, in file order."""
        return self._first

    def check(self, line: int, sample: Sample) -> Removal | None:
        """The removal for ``line`` if it duplicates a kept line, else None (and it is kept)."""
        key = sample_key(sample)
        first = self._first.get(key)
        if first is not None:
            return Removal(line, first, 1.0, "exact")
        if self._lsh is not None:
            near = self._near_match(line, sample)
            if near is not None:
                return near
        self._first[key] = line
        return None

    def _near_match(self, line: int, sample: Sample) -> Removal | None:
        assert self._lsh is not None and self.near is not None
        items = shingles(sample)
        if not items:
            # Nothing to compare (no words at all): exact matching already covered it.
            return None
        sketch = minhash_of(items)
        best: tuple[float, int] | None = None
        for candidate in self._lsh.query(sketch):
            similarity = float(sketch.jaccard(self._sketches[candidate]))
            if similarity >= self.near and _better(similarity, candidate, best):
                best = (similarity, candidate)
        if best is not None:
            return Removal(line, best[1], best[0], "near")
        self._lsh.insert(line, sketch)
        self._sketches[line] = sketch
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
) -> DedupeResult:
    """Write ``src`` to ``out`` without its duplicate conversations.

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
        for line in checked_lines(source, expect=expect):
            result.lines_read += 1
            progress.advance()
            if line.sample is None:
                result.invalid_lines += 1
                result.invalid.extend(f for f in line.findings if f.is_error)
            elif (removal := deduper.check(line.number, line.sample)) is not None:
                result.removed.append(removal)
                continue
            copy_line(source, line, handle)
            result.lines_written += 1
    progress.finish()
    return result
