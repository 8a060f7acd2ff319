"""``tuner data split``: a training file and an evaluation file that share no conversation.

The input is deduplicated first with the same code as ``tuner data dedupe`` (exact, and near
duplicates too with ``near=``), so no conversation, nor a whitespace variant of one, lands on
both sides. Each kept conversation then gets a rank, a keyed hash of its ``sample_key`` and the
seed; the ``round(fraction × n)`` lowest ranks go to evaluation (at least one, and at least one
left for training, when there are two or more). Ranking by content rather than shuffling
positions means the same input and seed always give the same split, and appending lines to a
file leaves the earlier lines where they were, except where the eval count changes.

Both outputs keep the input's line order and each kept line's bytes. Lines with errors go to
neither file; they are listed in :attr:`SplitResult.invalid`. The file is read twice (decide,
then write), so memory holds line numbers and keys, never the conversations.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tuner.datasets.dedupe import Deduper, Removal, validate_near
from tuner.datasets.findings import Finding
from tuner.datasets.lines import Format, check_input, checked_lines
from tuner.datasets.reader import iter_lines
from tuner.datasets.rules import make_finding

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


def validate_fraction(eval_fraction: float) -> None:
    if not 0.0 < eval_fraction < 1.0:
        raise ValueError(
            f"eval fraction must be between 0 and 1 (exclusive), got {eval_fraction};"
            " e.g. 0.1 puts 10% of the conversations in the eval file"
        )


def eval_count(n: int, eval_fraction: float) -> int:
    """How many of ``n`` conversations go to evaluation."""
    if n < 2:
        # One conversation cannot be both trained on and held out; training keeps it.
        return 0
    return min(max(round(eval_fraction * n), 1), n - 1)


def rank(key: str, seed: int) -> bytes:
    """The conversation's place in the seeded order: stable across runs, processes and machines."""
    return hashlib.blake2b(f"{seed}\x1f{key}".encode(), digest_size=16).digest()


def choose_eval(kept: Mapping[str, int], eval_fraction: float, seed: int) -> set[int]:
    """The line numbers that go to evaluation, among ``kept`` (sample key -> line)."""
    count = eval_count(len(kept), eval_fraction)
    ordered = sorted(kept.items(), key=lambda item: (rank(item[0], seed), item[1]))
    return {line for _, line in ordered[:count]}


def _size_warnings(result: SplitResult, kept: int) -> list[Finding]:
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
    if result.eval_bytes > limit:
        warnings.append(
            make_finding(
                result.eval_path,
                None,
                "eval_file_too_large",
                f"the eval file is {result.eval_bytes:,} bytes; the platform takes a validation"
                f" file of at most {EVAL_MAX_BYTES / 2**20:g} MB and {EVAL_MAX_FRACTION:.0%} of"
                f" the training data ({int(limit):,} bytes here)",
                "Use a smaller eval fraction.",
            )
        )
    return warnings


def split_file(
    src: str | os.PathLike[str],
    *,
    eval_fraction: float,
    out_dir: str | os.PathLike[str],
    seed: int = 42,
    near: float | None = None,
    expect: Format | None = None,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
) -> SplitResult:
    """Split ``src`` into ``<stem>.train.jsonl`` and ``<stem>.eval.jsonl`` under ``out_dir``.

    Neither output may exist or be ``src`` unless ``force`` (:func:`tuner.fsutil.prepare_outputs`).
    """
    validate_fraction(eval_fraction)
    validate_near(near)
    source = check_input(src)
    train_path, eval_path = output_paths(source, out_dir)
    removed = prepare_outputs([train_path, eval_path], [source], force=force)
    result = SplitResult(str(source), str(train_path), str(eval_path), seed)
    result.temps_removed = [str(p) for p in removed]

    deduper = Deduper(near)
    progress.start("split: deduplicate", total=None, unit="lines")
    for line in checked_lines(source, expect=expect):
        result.lines_read += 1
        progress.advance()
        if line.sample is None:
            result.invalid_lines += 1
            result.invalid.extend(f for f in line.findings if f.is_error)
            continue
        removal = deduper.check(line.number, line.sample)
        if removal is not None:
            result.removed.append(removal)
    progress.finish()

    kept = deduper.kept
    to_eval = choose_eval(kept, eval_fraction, seed)
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
    result.warnings = _size_warnings(result, len(kept))
    return result
