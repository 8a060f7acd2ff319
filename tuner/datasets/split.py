"""``tuner data split``: a training file and an evaluation file that share no conversation.

The input is deduplicated first with the same code as ``tuner data dedupe`` (exact, and near
duplicates too with ``near=``), so no conversation, nor a whitespace variant of one, lands on
both sides. Each kept conversation then gets a rank, a keyed hash of its ``sample_key`` and the
seed, and evaluation takes conversations in rank order. How many is decided by **bytes**, the
unit the platform's validation-file limit is in (1 MB and 5% of the training data, the
validator's ``EVAL_MAX_BYTES`` and ``EVAL_MAX_FRACTION``), not by counting lines, which on
conversations of uneven length missed the share by a third:

- ``eval_fraction="auto"`` (the default): as many as fit the platform's limit, i.e. the longest
  rank-ordered prefix whose bytes are at most 1 MB and 5% of what is left for training;
- ``eval_fraction=F`` (0 < F < 1): the rank-ordered prefix whose bytes come closest to F of the
  deduplicated data's bytes (with conversations of equal length, F × n of them rounded half up).

Either way at least one conversation goes to evaluation and one stays for training, when there
are two or more. Ranking by content rather than shuffling positions means the same input and seed
always give the same split, and appending lines to a file leaves the earlier choices mostly where
they were. Classifier data is split stratified by label (:func:`choose_eval_stratified`): the
same number of conversations goes to evaluation, each label (combination) sending its share of
it, rounded by largest remainder, so rare labels appear on both sides.

Both outputs keep the input's line order and each kept line's bytes. Lines with errors go to
neither file; they are listed in :attr:`SplitResult.invalid`. The file is read twice (decide,
then write), so memory holds line numbers, sizes and keys, never the conversations.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tuner.datasets.classifier import stratum
from tuner.datasets.dedupe import Deduper, Removal, validate_near
from tuner.datasets.findings import Finding
from tuner.datasets.lines import Format, check_input, checked_lines
from tuner.datasets.providers import DEFAULT_PROVIDER
from tuner.datasets.reader import iter_lines
from tuner.datasets.rules import make_finding
from tuner.datasets.samples import ClassifierSample

# The platform's limit on a file given as ``validation_files`` (1 MB and 5% of the training
# data), kept where the validator keeps it so that split and validate never disagree.
from tuner.datasets.validate import EVAL_MAX_BYTES, EVAL_MAX_FRACTION
from tuner.fsutil import atomic_writer, prepare_outputs
from tuner.progress import NULL_PROGRESS, Progress


@dataclass(slots=True)
class SplitResult:
    path: str
    train_path: str
    eval_path: str
    seed: int
    # "auto", or the share of the deduplicated data's bytes asked for.
    eval_fraction: float | Literal["auto"] = "auto"
    lines_read: int = 0
    train_lines: int = 0
    eval_lines: int = 0
    # Bytes written, newlines included: what the platform's size limits apply to.
    train_bytes: int = 0
    eval_bytes: int = 0
    removed: list[Removal] = field(default_factory=list)
    invalid_lines: int = 0
    invalid: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    # Temporary files of killed runs removed from the output folder before writing.
    temps_removed: list[str] = field(default_factory=list)


def output_paths(src: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``<out_dir>/<stem>.train.jsonl`` and ``<out_dir>/<stem>.eval.jsonl``."""
    stem = Path(src).stem
    directory = Path(out_dir)
    return directory / f"{stem}.train.jsonl", directory / f"{stem}.eval.jsonl"


EvalFraction = float | Literal["auto"]


def validate_fraction(eval_fraction: EvalFraction) -> None:
    if eval_fraction == "auto":
        return
    if isinstance(eval_fraction, str) or not 0.0 < eval_fraction < 1.0:
        raise ValueError(
            f"eval fraction must be auto or between 0 and 1 (exclusive), got {eval_fraction};"
            " e.g. 0.1 holds out 10% of the data's bytes"
        )


def parse_fraction(text: str) -> EvalFraction:
    """``auto`` or a number, from the command line (ValueError otherwise)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"eval fraction must be auto or a number, got {text!r}") from None
    validate_fraction(value)
    return value


def auto_limit(total_bytes: int) -> int:
    """The most eval bytes that meet the platform's limit when the rest is the training data.

    ``eval <= EVAL_MAX_FRACTION × (total - eval)`` is ``eval <= total × f / (1 + f)``.
    """
    share = int(total_bytes * EVAL_MAX_FRACTION / (1 + EVAL_MAX_FRACTION))
    return min(EVAL_MAX_BYTES, share)


def eval_count(sizes: list[int], eval_fraction: EvalFraction) -> int:
    """How many of the conversations (their sizes in rank order) go to evaluation."""
    n = len(sizes)
    if n < 2:
        # One conversation cannot be both trained on and held out; training keeps it.
        return 0
    total = sum(sizes)
    count = 0
    taken = 0
    if eval_fraction == "auto":
        limit = auto_limit(total)
        while count < n and taken + sizes[count] <= limit:
            taken += sizes[count]
            count += 1
    else:
        target = eval_fraction * total
        # Extend the prefix while that brings its bytes closer to the target (a tie extends it:
        # with equal sizes this is round-half-up of fraction × n).
        while count < n and abs(taken + sizes[count] - target) <= abs(taken - target):
            taken += sizes[count]
            count += 1
    return min(max(count, 1), n - 1)


def rank(key: str, seed: int) -> bytes:
    """The conversation's place in the seeded order: stable across runs, processes and machines."""
    return hashlib.blake2b(f"{seed}\x1f{key}".encode(), digest_size=16).digest()


def choose_eval(
    kept: Mapping[str, int], sizes: Mapping[int, int], eval_fraction: EvalFraction, seed: int
) -> set[int]:
    """The line numbers that go to evaluation, among ``kept`` (sample key -> line).

    ``sizes`` gives each kept line's size in bytes, its newline included.
    """
    ordered = sorted(kept.items(), key=lambda item: (rank(item[0], seed), item[1]))
    count = eval_count([sizes[line] for _, line in ordered], eval_fraction)
    return {line for _, line in ordered[:count]}


def choose_eval_stratified(
    kept: Mapping[str, int], strata: Mapping[int, str], total: int, seed: int
) -> set[int]:
    """``total`` lines to evaluation, drawn per stratum (line -> group): every group gives its
    proportional share, the remainders going to the groups with the largest fractions."""
    groups: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for key, line in kept.items():
        groups[strata.get(line, "")].append((key, line))
    quotas = {name: total * len(items) / len(kept) for name, items in groups.items()}
    counts = {name: int(quota) for name, quota in quotas.items()}
    left = total - sum(counts.values())
    for name in sorted(groups, key=lambda g: (counts[g] - quotas[g], g))[:left]:
        counts[name] += 1
    chosen: set[int] = set()
    for name, items in groups.items():
        ordered = sorted(items, key=lambda item: (rank(item[0], seed), item[1]))
        chosen.update(line for _, line in ordered[: counts[name]])
    return chosen


def _size_warnings(
    result: SplitResult, kept: int, provider: str = DEFAULT_PROVIDER
) -> list[Finding]:
    warnings: list[Finding] = []
    if kept < 2:
        warnings.append(
            make_finding(
                result.path,
                None,
                "too_few_to_split",
                f"only {kept} valid conversation(s) after deduplication: the eval file is empty",
                "Add conversations, or train without a validation file.",
            )
        )
    limit = min(EVAL_MAX_BYTES, EVAL_MAX_FRACTION * result.train_bytes)
    # The 1 MB / 5% limit on validation files is Mistral's; OpenAI states none.
    if result.eval_bytes > limit and provider != "openai":
        warnings.append(
            make_finding(
                result.eval_path,
                None,
                "eval_file_too_large",
                f"the eval file is {result.eval_bytes:,} bytes; the platform takes a validation"
                f" file of at most {EVAL_MAX_BYTES / 2**20:g} MB and {EVAL_MAX_FRACTION:.0%} of"
                f" the training data ({int(limit):,} bytes here)",
                "Use a smaller eval fraction, or --eval-fraction auto.",
            )
        )
    return warnings


def split_file(
    src: str | os.PathLike[str],
    *,
    eval_fraction: EvalFraction = "auto",
    out_dir: str | os.PathLike[str],
    seed: int = 42,
    near: float | None = None,
    expect: Format | None = None,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
    provider: str = DEFAULT_PROVIDER,
) -> SplitResult:
    """Split ``src`` into ``<stem>.train.jsonl`` and ``<stem>.eval.jsonl`` under ``out_dir``.

    Neither output may exist or be ``src`` unless ``force`` (:func:`tuner.fsutil.prepare_outputs`).
    """
    validate_fraction(eval_fraction)
    validate_near(near)
    source = check_input(src)
    train_path, eval_path = output_paths(source, out_dir)
    removed = prepare_outputs([train_path, eval_path], [source], force=force)
    result = SplitResult(str(source), str(train_path), str(eval_path), seed, eval_fraction)
    result.temps_removed = [str(p) for p in removed]
    sizes: dict[int, int] = {}

    deduper = Deduper(near)
    strata: dict[int, str] = {}
    progress.start("split: deduplicate", total=None, unit="lines")
    for line in checked_lines(source, expect=expect, provider=provider):
        result.lines_read += 1
        progress.advance()
        if line.sample is None:
            result.invalid_lines += 1
            result.invalid.extend(f for f in line.findings if f.is_error)
            continue
        removal = deduper.check(line.number, line.sample)
        if removal is not None:
            result.removed.append(removal)
        else:
            sizes[line.number] = line.raw.size + 1
            if isinstance(line.sample, ClassifierSample):
                strata[line.number] = stratum(line.sample)
    progress.finish()

    kept = deduper.kept
    to_eval = choose_eval(kept, sizes, eval_fraction, seed)
    if strata and kept:
        # As many as the byte rule chose, drawn per label so every label is on both sides.
        to_eval = choose_eval_stratified(kept, strata, len(to_eval), seed)
    to_train = set(kept.values()) - to_eval
    progress.start("split: write", total=result.lines_read, unit="lines")
    with contextlib.ExitStack() as stack:
        train = stack.enter_context(atomic_writer(train_path))
        evals = stack.enter_context(atomic_writer(eval_path))
        for raw in iter_lines(source):
            progress.advance()
            if raw.data is None:
                continue
            if raw.number in to_eval:
                evals.write(raw.data + b"\n")
                result.eval_lines += 1
                result.eval_bytes += len(raw.data) + 1
            elif raw.number in to_train:
                train.write(raw.data + b"\n")
                result.train_lines += 1
                result.train_bytes += len(raw.data) + 1
    progress.finish()
    result.warnings = _size_warnings(result, len(kept), provider)
    return result
