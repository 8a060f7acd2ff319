"""``tuner data validate``: every rule of ``docs/data.md`` over whole files, fast.

The work splits in two:

- per line (pure, parallel): :func:`check_chunk` runs :func:`~tuner.datasets.rules.check_record`,
  :func:`~tuner.datasets.samples.sample_key` and the token counter over a chunk of lines and returns
  compact, picklable columns (findings, 64-bit keys, token counts, formats), never whole samples;
  with ``workers > 1`` chunks run in a process pool, each worker building its counter once;
- across lines (in this process, in file order): the file's format, duplicates, train/eval overlap,
  length against ``seq_len``, counts and token statistics, file sizes.

Memory stays flat: the file is streamed in chunks, at most ``workers * 2`` chunks are in flight,
duplicate detection keeps one 64-bit hash per conversation, and findings are stored compactly.
Results are consumed in submission order, so findings come out in file order and line order.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import cast

from tuner.datasets import classifier
from tuner.datasets.counting import TokenCount, TokenCounter
from tuner.datasets.errors import DataInputError, check_readable, input_error
from tuner.datasets.findings import Finding
from tuner.datasets.providers import DEFAULT_PROVIDER, check_line, check_provider
from tuner.datasets.reader import is_json_array, iter_lines
from tuner.datasets.report import FileReport, Report
from tuner.datasets.rules import (
    Kind,
    line_too_long,
    make_finding,
    wrong_format_finding,
)
from tuner.datasets.samples import Sample, sample_key
from tuner.datasets.workers import die_with_parent
from tuner.progress import NULL_PROGRESS, Progress

# Limits; module constants so tests can patch them.
MAX_FILE_BYTES = 512 * 2**20  # the platform's upload limit
MAX_LINE_BYTES = 16 * 2**20
MIN_CONVERSATIONS = 10
EVAL_MAX_BYTES = 2**20
EVAL_MAX_FRACTION = 0.05

# A chunk is what one worker call handles: also the token counter's batch. Its objects (parsed
# JSON, samples, the counter's texts) take several times its bytes and a worker's memory keeps
# that high-water mark, so chunks stay small: 1 MB measured as fast as 4 MB, 35 MB less per worker.
CHUNK_LINES = 1000
CHUNK_BYTES = 2**20
# Below this much input a pool costs more (process start, tokenizer load) than it saves.
POOL_MIN_BYTES = 8 * 2**20
IN_FLIGHT_PER_WORKER = 2
# Lines held back while waiting for the first valid line to decide the file's format; past this,
# earlier broken lines are reported as they are (memory stays bounded on a hopeless file).
MAX_PENDING_LINES = 10_000

CounterFactory = Callable[[], TokenCounter]
# Extra figures a caller wants per valid conversation (e.g. turn counts for ``stats``), computed
# in the worker beside the checks: a module-level function, so that tasks pickle.
Measure = Callable[[Sample], tuple[int, ...]]
_KINDS: tuple[Kind | None, ...] = (None, "instruct", "pretrain", "classifier", "preference")
_KIND_CODE: dict[Kind | None, int] = {kind: code for code, kind in enumerate(_KINDS)}
# A finding as it travels from a worker: (line, code, message, hint).
RawFinding = tuple[int, str, str, str | None]
_NO_FINDINGS: tuple[RawFinding, ...] = ()
# Duplicate maps pack (file index, line) in one int.
_LINE_BITS = 40


def default_workers() -> int:
    """Worker processes by default: the machine's cores, at least 2 and at most 4."""
    return max(2, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class ValidateOptions:
    # "instruct", "pretrain" or "classifier"; None: decided by each file's first valid line.
    fmt: str | None = None
    # Classifier data: each target's allowed labels (a label outside is an error); None: any.
    label_sets: Mapping[str, Sequence[str]] | None = None
    # Warn about conversations with more tokens than this; None: no length check.
    seq_len: int | None = None
    # Warnings count as errors.
    strict: bool = False
    # Worker processes (1: everything in this process); None: :func:`default_workers`.
    workers: int | None = None
    # Whose rules: "mistral" or "openai" (tuner.datasets.providers).
    provider: str = DEFAULT_PROVIDER

    def __post_init__(self) -> None:
        check_provider(self.provider)
        if self.fmt not in (None, "instruct", "pretrain", "classifier", "preference"):
            raise ValueError(
                "format must be 'instruct', 'pretrain', 'classifier' or 'preference' (OpenAI "
                f"DPO), not {self.fmt!r}"
            )
        if self.seq_len is not None and self.seq_len < 1:
            raise ValueError(f"seq_len must be positive, not {self.seq_len}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")


# --------------------------------------------------------------------------- per chunk (workers)


@dataclass(frozen=True, slots=True)
class ChunkTask:
    path: str
    expect: Kind | None
    # (line number, bytes or None when over the line limit, size in bytes)
    lines: list[tuple[int, bytes | None, int]]
    max_line_bytes: int = MAX_LINE_BYTES
    provider: str = DEFAULT_PROVIDER
    measure: Measure | None = None


@dataclass(slots=True)
class ChunkResult:
    """Compact per-line columns for one chunk, in line order."""

    numbers: array[int]
    kinds: bytes  # index into _KINDS
    keys: array[int]  # 64-bit sample key; 0 for a line with an error
    totals: array[int]  # token count; -1 when not counted
    trained: array[int]
    findings: list[RawFinding]  # sorted by line; a line's own findings keep their order
    tokenizer: str | None
    nbytes: int
    # With ``ChunkTask.measure``: its figures per line, () for a line without a sample.
    measures: list[tuple[int, ...]] | None = None


def sample_hash(sample: Sample) -> int:
    """The sample's duplicate key as a non-zero 64-bit int (compact in maps and arrays)."""
    return int(sample_key(sample)[:16], 16) or 1


def check_chunk(task: ChunkTask, counter: TokenCounter | None) -> ChunkResult:
    """Check and count one chunk of lines: pure, so it can run in any process."""
    numbers = array("q")
    kinds = bytearray()
    keys = array("Q")
    findings: list[RawFinding] = []
    samples: list[Sample] = []
    slots: list[int] = []
    measure = task.measure
    measures: list[tuple[int, ...]] | None = None if measure is None else []
    nbytes = 0
    for number, data, size in task.lines:
        nbytes += size + 1
        numbers.append(number)
        if measures is not None:
            measures.append(())
        if data is None:
            finding = line_too_long(task.path, number, size, task.max_line_bytes)
            findings.append(_raw(finding))
            kinds.append(0)
            keys.append(0)
            continue
        check = check_line(task.provider, data, path=task.path, line=number, expect=task.expect)
        findings.extend(_raw(f) for f in check.findings)
        kinds.append(_KIND_CODE[check.kind])
        if check.sample is None:
            keys.append(0)
        else:
            keys.append(sample_hash(check.sample))
            samples.append(check.sample)
            slots.append(len(numbers) - 1)
            if measure is not None and measures is not None:
                measures[-1] = measure(check.sample)
    totals = array("q", [-1]) * len(numbers)
    trained = array("q", [-1]) * len(numbers)
    if counter is not None and samples:
        counts = _count(counter, samples)
        for slot, count in zip(slots, counts, strict=True):
            if count is None:
                keys[slot] = 0
                findings.append(_tokenize_failed(task.path, numbers[slot]))
            else:
                totals[slot] = count.total
                trained[slot] = count.trained
        # A tokenizer failure is added after the line's own findings: restore line order.
        findings.sort(key=lambda f: f[0])
    return ChunkResult(
        numbers,
        bytes(kinds),
        keys,
        totals,
        trained,
        findings,
        None if counter is None else counter.name,
        nbytes,
        measures,
    )


def _raw(finding: Finding) -> RawFinding:
    return (cast(int, finding.line), finding.code, finding.message, finding.hint)


def _count(counter: TokenCounter, samples: list[Sample]) -> list[TokenCount | None]:
    """Counts in one batch; if the batch fails, one by one, so one bad sample costs one line."""
    try:
        return list(counter.count(samples))
    except Exception:  # the tokenizer's own failure on some content: find the culprit
        results: list[TokenCount | None] = []
        for sample in samples:
            try:
                results.append(counter.count([sample])[0])
            except Exception:
                results.append(None)
        return results


def _tokenize_failed(path: str, line: int) -> RawFinding:
    finding = make_finding(
        path,
        line,
        "tokenize_failed",
        "the tokenizer could not encode this conversation",
        "Look for unusual characters or very long content in this line.",
    )
    return _raw(finding)


_WORKER_COUNTER: TokenCounter | None = None


def _init_worker(factory: CounterFactory | None, parent_pid: int) -> None:
    """Pool initializer: exit with the parent; build the worker's counter once (tokenizers are
    never pickled)."""
    global _WORKER_COUNTER
    die_with_parent(parent_pid)
    _WORKER_COUNTER = factory() if factory is not None else None


def _worker_check(task: ChunkTask) -> ChunkResult:
    return check_chunk(task, _WORKER_COUNTER)


# --------------------------------------------------------------------------- runners


class _InProcess:
    """Chunks checked one after the other in this process."""

    def __init__(self, factory: CounterFactory | None) -> None:
        self.counter = factory() if factory is not None else None

    def run(self, tasks: Iterator[ChunkTask]) -> Iterator[ChunkResult]:
        for task in tasks:
            yield check_chunk(task, self.counter)

    def feed(self, task: ChunkTask) -> Iterator[ChunkResult]:
        """Take one more chunk; the results ready now, in order (for lines pushed as written)."""
        yield check_chunk(task, self.counter)

    def drain(self) -> Iterator[ChunkResult]:
        """The results still pending, in order."""
        return iter(())

    def start(self) -> None:
        return None

    def abort(self) -> None:
        return None

    def close(self) -> None:
        return None


class _Pool:
    """Chunks checked by worker processes; results come back in submission order.

    The counter is built in the workers only: building it here too before forking was measured
    to add ~50 MB to this process without saving any in the workers.
    """

    def __init__(self, factory: CounterFactory | None, workers: int, context: BaseContext) -> None:
        self.counter: TokenCounter | None = None
        self.limit = workers * IN_FLIGHT_PER_WORKER
        self.executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(factory, os.getpid()),
        )
        self.window: deque[Future[ChunkResult]] = deque()

    def run(self, tasks: Iterator[ChunkTask]) -> Iterator[ChunkResult]:
        for task in tasks:
            yield from self.feed(task)
        yield from self.drain()

    def feed(self, task: ChunkTask) -> Iterator[ChunkResult]:
        """Submit one more chunk; once the window is full, the oldest result (waited for)."""
        self.window.append(self.executor.submit(_worker_check, task))
        if len(self.window) >= self.limit:
            yield self.window.popleft().result()

    def drain(self) -> Iterator[ChunkResult]:
        while self.window:
            yield self.window.popleft().result()

    def start(self) -> None:
        """Start the workers now: forked while this process is small, they do not carry a
        copy of what it holds later (e.g. a huge record being converted)."""
        self.executor.submit(int)  # with fork, every worker is started by the first submit

    def abort(self) -> None:
        """Stop the workers now (Ctrl-C, an error): waiting for their chunks took seconds."""
        # concurrent.futures has no public way before Python 3.14 (terminate_workers).
        for process in list(self.executor._processes.values()):
            process.terminate()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def _pool_context(factory: CounterFactory | None) -> BaseContext | None:
    """How to start workers; None when a pool cannot be used (run in this process instead).

    fork is fastest (no re-import, no tokenizer file re-read) but unsafe in a process that runs
    other threads (e.g. the TUI's workers); spawn needs a picklable counter factory.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    try:
        pickle.dumps(factory)
    except Exception:
        return None
    return multiprocessing.get_context("spawn")


def _make_runner(
    factory: CounterFactory | None, workers: int, total_bytes: int
) -> _InProcess | _Pool:
    if workers > 1 and total_bytes >= POOL_MIN_BYTES:
        context = _pool_context(factory)
        if context is not None:
            return _Pool(factory, workers, context)
    return _InProcess(factory)


# --------------------------------------------------------------------------- reading


def _chunks(
    path: str,
    expect: Kind | None,
    max_line_bytes: int,
    provider: str = DEFAULT_PROVIDER,
    measure: Measure | None = None,
) -> Iterator[ChunkTask]:
    lines: list[tuple[int, bytes | None, int]] = []
    nbytes = 0
    try:
        for raw in iter_lines(path, max_line_bytes=max_line_bytes):
            lines.append((raw.number, raw.data, raw.size))
            nbytes += raw.size
            if len(lines) >= CHUNK_LINES or nbytes >= CHUNK_BYTES:
                yield ChunkTask(path, expect, lines, max_line_bytes, provider, measure)
                lines, nbytes = [], 0
    except OSError as error:
        raise input_error(path, f"cannot read ({error.strerror or error})") from None
    except EOFError:  # a truncated .gz
        raise input_error(path, "cannot read (the compressed file ends early)") from None
    if lines:
        yield ChunkTask(path, expect, lines, max_line_bytes, provider, measure)


# --------------------------------------------------------------------------- across lines


@dataclass(slots=True)
class _Shared:
    """State across files of one run."""

    names: list[str]
    seq_len: int | None
    # Training conversations seen: 64-bit key -> (file index << 40 | line).
    train_keys: dict[int, int] = field(default_factory=dict)
    tokenizer: str | None = None
    provider: str = DEFAULT_PROVIDER


class _FileRun:
    """Folds one file's chunk results, in order, into its FileReport."""

    def __init__(self, report: FileReport, index: int, fmt: Kind | None, shared: _Shared) -> None:
        self.report = report
        self.index = index
        self.fmt = fmt
        self.shared = shared
        self.log = report.line_findings
        # Duplicates are looked for among training files together, and within the eval file.
        self.seen: dict[int, int] = {} if report.is_eval else shared.train_keys
        self.pending: list[tuple[int, Kind | None, Sequence[RawFinding]]] = []
        # Broken lines are held back until the first valid line says the file's format.
        self.holding = fmt is None

    def fold(self, result: ChunkResult) -> list[int]:
        """Take one chunk's results; the indexes (in the chunk) of its valid conversations."""
        if result.tokenizer is not None:
            self.shared.tokenizer = result.tokenizer
        findings = result.findings
        position = 0
        accepted: list[int] = []
        for index, number in enumerate(result.numbers):
            own: Sequence[RawFinding] = _NO_FINDINGS
            if position < len(findings) and findings[position][0] == number:
                start = position
                while position < len(findings) and findings[position][0] == number:
                    position += 1
                own = findings[start:position]
            if self._line(
                number,
                _KINDS[result.kinds[index]],
                own,
                result.keys[index],
                result.totals[index],
                result.trained[index],
            ):
                accepted.append(index)
        if result.numbers:
            self.report.lines = result.numbers[-1]
        return accepted

    def _line(
        self,
        number: int,
        kind: Kind | None,
        findings: Sequence[RawFinding],
        key: int,
        total: int,
        trained: int,
    ) -> bool:
        if self.fmt is None:
            if key:
                # The first valid line decides the format, also for the broken lines before it.
                self.fmt = kind
                self._release()
            elif self.holding:
                self.pending.append((number, kind, findings))
                if len(self.pending) > MAX_PENDING_LINES:
                    self._release()
                return False
        return self._accept(number, kind, findings, key, total, trained)

    def _release(self) -> None:
        """Stop holding lines back: report the held ones with what is known of the format."""
        self.holding = False
        pending, self.pending = self.pending, []
        for number, kind, findings in pending:
            self._accept(number, kind, findings, 0, -1, -1)

    def finish(self) -> None:
        self._release()
        self.report.format = self.fmt

    def _accept(
        self,
        number: int,
        kind: Kind | None,
        findings: Sequence[RawFinding],
        key: int,
        total: int,
        trained: int,
    ) -> bool:
        """Log the line's findings; True when it is a valid conversation of the file's format."""
        fmt, log = self.fmt, self.log
        if kind is not None and fmt is not None and kind != fmt:
            if fmt == "classifier":
                self.log.add_finding(classifier.missing_labels_finding(self.report.path, number))
            else:
                self.log.add_finding(wrong_format_finding(self.report.path, number, kind, fmt))
            return False
        for line, code, message, hint in findings:
            if code == "missing_messages" and fmt == "pretrain":
                code = "missing_text"  # decided after the line was checked
            log.add(line, code, message, hint)
        if not key:
            return False
        self.report.conversations += 1
        if total >= 0:
            self._tokens(number, total, trained)
        self._duplicate(number, key)
        return True

    def _tokens(self, number: int, total: int, trained: int) -> None:
        report = self.report
        report.token_counts.append(total)
        report.tokens_total += total
        report.tokens_trained += trained
        seq_len = self.shared.seq_len
        if seq_len is not None and total > seq_len and self.shared.provider == "openai":
            self.log.add(
                number,
                "over_training_context",
                f"the example has about {total:,} tokens (estimate), more than the {seq_len:,} "
                "one training example may have",
                "Shorten or split it: OpenAI truncates (or refuses) what exceeds the context.",
            )
        elif seq_len is not None and total > seq_len:
            self.log.add(
                number,
                "over_seq_len",
                f"the conversation has {total:,} tokens, more than seq_len {seq_len:,}",
                "Shorten or split it: the platform cuts or drops what exceeds seq_len.",
            )

    def _duplicate(self, number: int, key: int) -> None:
        packed = self.index << _LINE_BITS | number
        if self.report.is_eval:
            first_train = self.shared.train_keys.get(key)
            if first_train is not None:
                self.log.add(
                    number,
                    "train_eval_overlap",
                    f"this conversation is also in the training data ({self._where(first_train)})",
                    "Remove it from one of the files: evaluation data must be unseen in training.",
                )
        first = self.seen.setdefault(key, packed)
        if first != packed:
            self.log.add(
                number,
                "duplicate",
                f"the same conversation as {self._where(first)}",
                "Remove the repeat (`tuner data dedupe`): duplicates over-weight a conversation.",
            )

    def _where(self, packed: int) -> str:
        index, line = packed >> _LINE_BITS, packed & ((1 << _LINE_BITS) - 1)
        if index == self.index:
            return f"line {line}"
        return f"{self.shared.names[index]} line {line}"


# --------------------------------------------------------------------------- entry point


def validate_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    options: ValidateOptions | None = None,
    counter_factory: CounterFactory | None = None,
    eval_path: str | os.PathLike[str] | None = None,
    progress: Progress = NULL_PROGRESS,
    workers: int | None = None,
) -> Report:
    """Validate training files (and an evaluation file) against the platform's rules.

    ``counter_factory`` builds the token counter (called once per worker process, so it must be
    picklable when workers are spawned, e.g. ``functools.partial(counter_for, name)``); None
    skips token counting and the length check. ``workers`` overrides ``options.workers``.

    Raises :class:`DataInputError` when an input is missing, a directory or unreadable (every
    problem inside a readable file is a finding in the returned report), ``ValueError`` for
    ``workers < 1``.
    """
    options = options or ValidateOptions()
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    train = [os.fspath(p) for p in paths]
    if not train:
        raise DataInputError("no training file given")
    names = [*train, os.fspath(eval_path)] if eval_path is not None else train
    sizes = [check_readable(name) for name in names]
    count = workers or options.workers or default_workers()
    shared = _Shared(names=names, seq_len=options.seq_len, provider=options.provider)
    fmt = cast(Kind | None, options.fmt)
    reports = [
        FileReport(name, size=size, is_eval=index >= len(train), strict=options.strict)
        for index, (name, size) in enumerate(zip(names, sizes, strict=True))
    ]
    runner = _make_runner(counter_factory, count, sum(sizes))
    try:
        if runner.counter is not None:
            shared.tokenizer = runner.counter.name
        for index, report in enumerate(reports):
            _validate_file(report, index, fmt, shared, runner, progress, options.label_sets)
    except BaseException:
        runner.abort()
        raise
    finally:
        runner.close()
    _cross_file_checks(reports, shared, counted=counter_factory is not None)
    return Report(reports, strict=options.strict)


def _validate_file(
    report: FileReport,
    index: int,
    fmt: Kind | None,
    shared: _Shared,
    runner: _InProcess | _Pool,
    progress: Progress,
    label_sets: Mapping[str, Sequence[str]] | None = None,
) -> None:
    path = report.path
    _size_findings(report)
    if report.size and is_json_array(path):
        # One finding, not one per line of a pretty-printed array: `fix` cannot help here.
        report.add_file_finding(
            make_finding(
                path,
                None,
                "json_array_file",
                "the file is one JSON array, not JSON Lines (one conversation per line)",
                f"Convert it: tuner data convert {path} --out <name>.jsonl",
            )
        )
        return
    run = _FileRun(report, index, fmt, shared)
    progress.start(f"validating {Path(path).name}", total=report.size, unit="B")
    try:
        for result in runner.run(_chunks(path, fmt, MAX_LINE_BYTES, shared.provider)):
            run.fold(result)
            progress.advance(result.nbytes)
    finally:
        progress.finish()
    run.finish()
    _classifier_pass(report, label_sets)


def _size_findings(report: FileReport) -> None:
    if report.size == 0:
        report.add_file_finding(
            make_finding(
                report.path, None, "empty_file", "the file is empty", "Give a file with data."
            )
        )
    elif report.size > MAX_FILE_BYTES:
        report.add_file_finding(
            make_finding(
                report.path,
                None,
                "file_too_large",
                f"the file is {_human(report.size)}, over the upload limit of "
                f"{_human(MAX_FILE_BYTES)}",
                "Split it into several files (training_files takes a list, with weights).",
            )
        )


def _classifier_pass(
    report: FileReport, label_sets: Mapping[str, Sequence[str]] | None = None
) -> None:
    if report.format == "classifier" and report.size:
        # Rules across lines (label kinds, sets, distribution) need a second pass.
        for finding in classifier.file_findings(report.path, label_sets=label_sets):
            if finding.line is None:
                report.add_file_finding(finding)
            else:
                report.line_findings.add_finding(finding)


# --------------------------------------------------------------------------- other entry points


def measure_file(
    path: str | os.PathLike[str],
    measure: Measure,
    *,
    counter_factory: CounterFactory,
    workers: int | None = None,
    progress: Progress = NULL_PROGRESS,
    provider: str = DEFAULT_PROVIDER,
) -> tuple[FileReport, list[tuple[int, ...]]]:
    """Read one file exactly as :func:`validate_paths` reads it, on the same worker processes,
    with ``measure``'s figures for each valid conversation (``tuner data stats``).

    Returns the file's report (format, lines, valid conversations, their token counts in file
    order, line findings; the file-level rules are left out) and the figures of each valid
    conversation, in the same order as ``report.token_counts``. ``measure`` must be a
    module-level function when workers are spawned. Raises :class:`DataInputError` as
    :func:`validate_paths` does.
    """
    name = os.fspath(path)
    size = check_readable(name)
    report = FileReport(name, size=size)
    check_provider(provider)
    shared = _Shared(names=[name], seq_len=None, provider=provider)
    run = _FileRun(report, 0, None, shared)
    figures: list[tuple[int, ...]] = []
    runner = _make_runner(counter_factory, workers or default_workers(), size)
    if runner.counter is not None:
        shared.tokenizer = runner.counter.name
    progress.start(f"reading {Path(name).name}", total=size, unit="B")
    try:
        for result in runner.run(_chunks(name, None, MAX_LINE_BYTES, provider, measure)):
            measures = result.measures or []
            figures.extend(measures[index] for index in run.fold(result))
            progress.advance(result.nbytes)
    except BaseException:
        runner.abort()
        raise
    finally:
        runner.close()
        progress.finish()
    run.finish()
    report.tokenizer = shared.tokenizer
    return report, figures


class OutputCheck:
    """Validates a JSONL file line by line while it is being written (``tuner data convert``).

    Each line goes through the same per-line checks on the same workers as in
    :func:`validate_paths`, and :meth:`finish` applies the same cross-line and file rules, so
    the report is the one ``validate_paths([path])`` gives on the finished file, without reading
    it again. Use it as a context manager (its workers stop on leaving it, at once on an error);
    :meth:`add` every line as it is written, then call :meth:`finish` once the file is complete.
    ``expected_bytes`` (e.g. the sources' size) decides whether a worker pool pays off.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        options: ValidateOptions | None = None,
        counter_factory: CounterFactory | None = None,
        workers: int | None = None,
        expected_bytes: int = 0,
    ) -> None:
        self.options = options or ValidateOptions()
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.path = os.fspath(path)
        self._report = FileReport(self.path, strict=self.options.strict)
        self._shared = _Shared(names=[self.path], seq_len=self.options.seq_len)
        self._run = _FileRun(self._report, 0, cast(Kind | None, self.options.fmt), self._shared)
        self._counted = counter_factory is not None
        count = workers or self.options.workers or default_workers()
        self._runner = _make_runner(counter_factory, count, expected_bytes)
        if self._runner.counter is not None:
            self._shared.tokenizer = self._runner.counter.name
        self._runner.start()
        self._lines: list[tuple[int, bytes | None, int]] = []
        self._next = 1  # the number of the first line in self._lines
        self._chunk_bytes = 0
        self._size = 0

    def __enter__(self) -> OutputCheck:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self._runner.abort()
        self._runner.close()

    def add(self, line: bytes) -> None:
        """One line as written: its bytes ending in ``\n``, with no other newline inside."""
        size = len(line) - 1
        self._size += size + 1
        # An over-long line is reported from its size alone (never copied, as the reader never
        # holds one).
        data = line[:-1] if size <= MAX_LINE_BYTES else None
        self._lines.append((self._next + len(self._lines), data, size))
        self._chunk_bytes += size
        if len(self._lines) >= CHUNK_LINES or self._chunk_bytes >= CHUNK_BYTES:
            self._submit()

    def _submit(self) -> None:
        expect = cast(Kind | None, self.options.fmt)
        task = ChunkTask(self.path, expect, self._lines, MAX_LINE_BYTES)
        self._next += len(self._lines)
        self._lines, self._chunk_bytes = [], 0
        for result in self._runner.feed(task):
            self._run.fold(result)

    def finish(self) -> Report:
        """The report of the whole file (call once, after the last line, with the file closed)."""
        if self._lines:
            self._submit()
        for result in self._runner.drain():
            self._run.fold(result)
        self._run.finish()
        report = self._report
        report.size = self._size
        _size_findings(report)
        _classifier_pass(report, self.options.label_sets)
        _cross_file_checks([report], self._shared, counted=self._counted)
        return Report([report], strict=self.options.strict)


def _cross_file_checks(reports: list[FileReport], shared: _Shared, *, counted: bool) -> None:
    train_bytes = sum(r.size for r in reports if not r.is_eval)
    for report in reports:
        if counted:
            report.tokenizer = shared.tokenizer
        if shared.provider == "openai":
            _openai_file_checks(report)
        elif report.is_eval:
            _eval_size(report, train_bytes)
        elif (
            report.size
            and report.conversations < MIN_CONVERSATIONS
            and not any(f.code == "json_array_file" for f in report.file_findings)
        ):
            report.add_file_finding(
                make_finding(
                    report.path,
                    None,
                    "too_few_conversations",
                    f"only {report.conversations} valid conversation(s); "
                    f"the platform wants at least {MIN_CONVERSATIONS}",
                    "Add conversations, or fix the broken lines.",
                )
            )


def _openai_file_checks(report: FileReport) -> None:
    """OpenAI fails a job whose training file has fewer than 10 examples; no eval size rule."""
    if (
        report.is_eval
        or not report.size
        or report.conversations >= MIN_CONVERSATIONS
        or any(f.code == "json_array_file" for f in report.file_findings)
    ):
        return
    report.add_file_finding(
        make_finding(
            report.path,
            None,
            "too_few_examples",
            f"only {report.conversations} valid example(s); OpenAI needs at least "
            f"{MIN_CONVERSATIONS} in a training file",
            "Add examples, or fix the broken lines.",
        )
    )


def _human(size: int) -> str:
    if size < 2**20:
        return f"{size:,} bytes"
    return f"{size / 2**20:,.1f} MB"


def _eval_size(report: FileReport, train_bytes: int) -> None:
    limit = min(EVAL_MAX_BYTES, EVAL_MAX_FRACTION * train_bytes)
    if report.size <= limit:
        return
    share = f"{report.size / train_bytes:.1%}" if train_bytes else "no training data"
    report.add_file_finding(
        make_finding(
            report.path,
            None,
            "eval_file_too_large",
            f"the evaluation file is {_human(report.size)} ({share} of the training "
            f"data); the platform takes at most {EVAL_MAX_BYTES / 2**20:g} MB and "
            f"{EVAL_MAX_FRACTION:.0%}",
            "Use a smaller evaluation split (`tuner data split`).",
        )
    )


__all__ = [
    "MAX_FILE_BYTES",
    "ChunkResult",
    "ChunkTask",
    "DataInputError",
    "FileReport",
    "OutputCheck",
    "Report",
    "ValidateOptions",
    "check_chunk",
    "default_workers",
    "measure_file",
    "validate_paths",
]
