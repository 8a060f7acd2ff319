"""Whole-file validation: cross-line rules, sizes, formats, tokens, the report and the pool."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tuner.datasets import validate as validate_module
from tuner.datasets.counting import TokenCount
from tuner.datasets.errors import DataInputError
from tuner.datasets.findings import Category, Severity
from tuner.datasets.report import FindingLog
from tuner.datasets.samples import InstructSample, Sample
from tuner.datasets.validate import Report, ValidateOptions, validate_paths


class FakeCounter:
    """Deterministic stand-in for a tokenizer: one token per word, plus markers."""

    name = "fake-words"

    def count(self, samples: Sequence[Sample]) -> list[TokenCount]:
        return [self._one(sample) for sample in samples]

    @staticmethod
    def _one(sample: Sample) -> TokenCount:
        if not isinstance(sample, InstructSample):
            if "EXPLODE" in sample.text:
                raise ValueError("cannot encode")
            words = len(sample.text.split()) + 2
            return TokenCount(words, words)
        total, trained = 1 + len((sample.system_prompt or "").split()), 0
        for message in sample.messages:
            if "EXPLODE" in message.text:
                raise ValueError("cannot encode")
            size = len(message.text.split()) + 2
            total += size
            if message.role == "assistant" and message.weight != 0:
                trained += size
        return TokenCount(total, trained)


def chat(question: str, answer: str = "Fine, thanks.") -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]
    }


def write(path: Path, lines: Sequence[Any], *, newline: bytes = b"\n") -> Path:
    raw = [line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines]
    path.write_bytes(b"".join(line + newline for line in raw))
    return path


def conversations(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [chat(f"question number {i} here") for i in range(start, start + count)]


def run(
    paths: Sequence[Path],
    *,
    counter: bool = True,
    eval_path: Path | None = None,
    workers: int = 1,
    **options: Any,
) -> Report:
    return validate_paths(
        paths,
        options=ValidateOptions(**options),
        counter_factory=FakeCounter if counter else None,
        eval_path=eval_path,
        workers=workers,
    )


def codes(report: Report) -> list[tuple[int | None, str]]:
    return [(f.line, f.code) for f in report.iter_findings()]


# --------------------------------------------------------------------------- the report


def test_report_has_exactly_the_documented_shape(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [*conversations(12), b"{bad"])
    data = run([path]).to_dict()
    assert list(data) == ["ok", "files", "findings"]
    assert data["ok"] is False
    (file,) = data["files"]
    assert list(file) == [
        "path",
        "format",
        "lines",
        "conversations",
        "errors",
        "warnings",
        "tokens",
    ]
    assert list(file["tokens"]) == ["tokenizer", "total", "trained", "min", "p50", "p95", "max"]
    assert file["path"] == str(path)
    assert (file["format"], file["lines"], file["conversations"]) == ("instruct", 13, 12)
    assert (file["errors"], file["warnings"]) == (1, 0)
    (finding,) = data["findings"]
    assert finding == {
        "path": str(path),
        "line": 13,
        "severity": "error",
        "category": "json",
        "code": "invalid_json",
        "message": finding["message"],
        "hint": finding["hint"],
    }
    json.dumps(data)  # plain JSON types only


def test_valid_file_is_ok(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", conversations(10), newline=b"\r\n")
    report = run([path])
    assert report.ok
    assert codes(report) == []
    assert report.files[0].conversations == 10


def test_token_statistics(tmp_path: Path) -> None:
    lines = [chat("a " * n, "b " * n) for n in range(1, 21)]
    lines.append({**chat("x", "y"), "messages": [*chat("x", "y")["messages"]]})
    path = write(tmp_path / "train.jsonl", lines)
    report = run([path])
    tokens = report.to_dict()["files"][0]["tokens"]
    expected = [1 + (n + 2) * 2 for n in range(1, 21)] + [1 + 3 + 3]
    assert list(report.files[0].token_counts) == expected
    ordered = sorted(expected)
    assert tokens == {
        "tokenizer": "fake-words",
        "total": sum(expected),
        "trained": sum(n + 2 for n in range(1, 21)) + 3,
        "min": ordered[0],
        "p50": ordered[10],  # nearest rank: ceil(0.5 * 21) = 11th
        "p95": ordered[19],  # ceil(0.95 * 21) = 20th
        "max": ordered[-1],
    }


def test_without_counter_tokens_are_null(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", conversations(10))
    data = run([path], counter=False, seq_len=1).to_dict()
    assert data["files"][0]["tokens"] is None
    assert data["ok"]  # no length check either


def test_no_conversations_gives_empty_stats(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [b"[]"])
    tokens = run([path]).to_dict()["files"][0]["tokens"]
    assert tokens == {
        "tokenizer": "fake-words",
        "total": 0,
        "trained": 0,
        "min": 0,
        "p50": 0,
        "p95": 0,
        "max": 0,
    }


# --------------------------------------------------------------------------- inputs


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(DataInputError) as caught:
        run([missing])
    assert str(caught.value) == f"{missing}: no such file"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(DataInputError, match="is a directory"):
        run([tmp_path])


def test_missing_eval_file_fails_before_any_work(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", conversations(10))
    with pytest.raises(DataInputError, match=r"eval\.jsonl: no such file"):
        run([path], eval_path=tmp_path / "eval.jsonl")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "train.jsonl", conversations(10))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    # Patched where the check opens files (running as root, chmod 000 would not stop a read).
    monkeypatch.setattr("tuner.datasets.errors.open", refuse, raising=False)
    with pytest.raises(DataInputError) as caught:
        run([path])
    assert str(caught.value) == f"{path}: permission denied"


def test_no_training_file() -> None:
    with pytest.raises(DataInputError):
        run([])


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="format"):
        ValidateOptions(fmt="chat")
    with pytest.raises(ValueError, match="seq_len"):
        ValidateOptions(seq_len=0)
    with pytest.raises(ValueError, match="workers"):
        ValidateOptions(workers=0)


# --------------------------------------------------------------------------- sizes


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"")
    report = run([path])
    assert codes(report) == [(None, "empty_file")]
    assert not report.ok
    assert report.files[0].format is None


def test_file_over_the_upload_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The 512 MB rule with an injected limit: the file is still checked line by line.
    monkeypatch.setattr(validate_module, "MAX_FILE_BYTES", 100)
    path = write(tmp_path / "train.jsonl", [*conversations(10), b"[1]"])
    report = run([path])
    assert codes(report) == [(None, "file_too_large"), (11, "not_object")]
    finding = next(report.iter_findings())
    assert finding.category is Category.SIZE
    assert finding.severity is Severity.ERROR


def test_line_over_the_line_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate_module, "MAX_LINE_BYTES", 200)
    long_line = chat("word " * 100)
    path = write(tmp_path / "train.jsonl", [*conversations(5), long_line, *conversations(5, 5)])
    report = run([path])
    assert codes(report) == [(6, "line_too_long")]
    assert report.files[0].conversations == 10
    assert report.files[0].lines == 11


def test_too_few_conversations(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [*conversations(9), b"{"])
    report = run([path])
    assert codes(report) == [(None, "too_few_conversations"), (10, "truncated")]
    message = next(report.iter_findings()).message
    assert "only 9 valid conversation" in message


def test_eval_file_larger_than_five_percent(tmp_path: Path) -> None:
    train = write(tmp_path / "train.jsonl", conversations(20))
    evaluation = write(tmp_path / "eval.jsonl", conversations(3, 100))
    report = run([train], eval_path=evaluation)
    assert [f.code for f in report.files[1].findings()] == ["eval_file_too_large"]
    assert report.files[1].is_eval
    assert report.ok  # a warning


def test_eval_file_over_one_megabyte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate_module, "EVAL_MAX_BYTES", 50)
    monkeypatch.setattr(validate_module, "EVAL_MAX_FRACTION", 1.0)
    train = write(tmp_path / "train.jsonl", conversations(20))
    small = write(tmp_path / "small.jsonl", [b'{"text": "x"}'])
    big = write(tmp_path / "big.jsonl", conversations(1, 100))
    assert [f.code for f in run([train], eval_path=small).files[1].findings()] == []
    assert [f.code for f in run([train], eval_path=big).files[1].findings()] == [
        "eval_file_too_large"
    ]


# --------------------------------------------------------------------------- cross-line


def test_duplicates_name_the_first_line(tmp_path: Path) -> None:
    lines = conversations(10)
    lines.insert(5, chat("question   number 2\there"))  # same after normalising whitespace
    path = write(tmp_path / "train.jsonl", lines)
    report = run([path])
    (finding,) = report.iter_findings()
    assert (finding.line, finding.code) == (6, "duplicate")
    assert finding.message == "the same conversation as line 3"
    assert finding.category is Category.DUPLICATE
    assert report.ok


def test_duplicates_across_training_files(tmp_path: Path) -> None:
    first = write(tmp_path / "a.jsonl", conversations(10))
    second = write(tmp_path / "b.jsonl", conversations(10, 9))
    report = run([first, second])
    (finding,) = report.iter_findings()
    assert (finding.path, finding.line, finding.code) == (str(second), 1, "duplicate")
    assert finding.message == f"the same conversation as {first} line 10"


def test_train_eval_overlap(tmp_path: Path) -> None:
    train = write(tmp_path / "train.jsonl", conversations(100))
    evaluation = write(tmp_path / "eval.jsonl", [chat("unseen"), conversations(1, 42)[0]])
    report = run([train], eval_path=evaluation)
    (finding,) = report.files[1].findings()
    assert (finding.line, finding.code, finding.category) == (2, "train_eval_overlap", "overlap")
    assert finding.message == f"this conversation is also in the training data ({train} line 43)"


def test_length_against_seq_len(tmp_path: Path) -> None:
    lines = [*conversations(10), chat("many " * 50)]
    path = write(tmp_path / "train.jsonl", lines)
    report = run([path], seq_len=40)
    (finding,) = report.iter_findings()
    assert (finding.line, finding.code, finding.category) == (11, "over_seq_len", "length")
    assert finding.message == "the conversation has 57 tokens, more than seq_len 40"


def test_strict_promotes_warnings(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [chat("a"), chat("a")])
    lenient = run([path])
    assert lenient.ok
    assert (lenient.errors, lenient.warnings) == (0, 2)
    strict = run([path], strict=True)
    assert not strict.ok
    assert (strict.errors, strict.warnings) == (2, 0)
    assert {f.severity for f in strict.iter_findings()} == {Severity.ERROR}
    assert strict.to_dict()["files"][0]["errors"] == 2


def test_tokenizer_failure_costs_one_line(tmp_path: Path) -> None:
    lines = [*conversations(10), chat("EXPLODE"), chat("fine")]
    path = write(tmp_path / "train.jsonl", lines)
    report = run([path])
    assert codes(report) == [(11, "tokenize_failed")]
    assert report.files[0].conversations == 11
    assert len(report.files[0].token_counts) == 11


# --------------------------------------------------------------------------- formats


def test_format_is_decided_by_the_first_valid_line(tmp_path: Path) -> None:
    lines: list[Any] = [
        {"text": 5},  # broken pretrain, before the first valid line
        b"{",
        *conversations(10),
        {"text": "a pretrain line"},
        {"foo": 1},
    ]
    report = run([write(tmp_path / "train.jsonl", lines)])
    assert report.files[0].format == "instruct"
    assert codes(report) == [
        (1, "wrong_format"),
        (2, "truncated"),
        (13, "wrong_format"),
        (14, "missing_messages"),
    ]


def test_format_still_decided_after_holding_back_too_many_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validate_module, "MAX_PENDING_LINES", 2)
    lines: list[Any] = [{"text": 5}, b"{", b"{", b"{", *conversations(10), {"text": "doc"}]
    report = run([write(tmp_path / "train.jsonl", lines)])
    assert report.files[0].format == "instruct"
    # The first lines were reported before the format was known; later ones know it.
    assert codes(report) == [
        (1, "text_not_string"),
        (2, "truncated"),
        (3, "truncated"),
        (4, "truncated"),
        (15, "wrong_format"),
    ]


def test_pretrain_file(tmp_path: Path) -> None:
    lines: list[Any] = [{"text": f"document {i}"} for i in range(10)]
    lines += [chat("x"), {"foo": 1}]
    report = run([write(tmp_path / "train.jsonl", lines)])
    assert report.files[0].format == "pretrain"
    assert codes(report) == [(11, "wrong_format"), (12, "missing_text")]
    assert [f.category for f in report.iter_findings()] == ["schema", "pretrain"]
    assert report.files[0].tokens_total == sum(len(f"document {i}".split()) + 2 for i in range(10))


def test_explicit_format(tmp_path: Path) -> None:
    lines: list[Any] = [{"text": "doc"}, *conversations(10)]
    report = run([write(tmp_path / "train.jsonl", lines)], fmt="instruct")
    assert codes(report) == [(1, "wrong_format")]
    assert report.files[0].format == "instruct"


def test_all_broken_file_keeps_its_findings(tmp_path: Path) -> None:
    lines: list[Any] = [{"text": 5}, chat("x") | {"messages": "no"}, b"nope"]
    report = run([write(tmp_path / "train.jsonl", lines)])
    assert report.files[0].format is None
    assert codes(report) == [
        (None, "too_few_conversations"),
        (1, "text_not_string"),
        (2, "messages_not_list"),
        (3, "invalid_json"),
    ]


def test_every_line_is_checked_after_broken_ones(tmp_path: Path) -> None:
    broken_role = {"messages": [{"role": "bot"}]}
    lines: list[Any] = [b"\xff\xfe", b"", *conversations(10), b"[]", broken_role]
    report = run([write(tmp_path / "train.jsonl", lines)])
    found = codes(report)
    assert found[0] == (1, "invalid_utf8")
    assert (2, "blank_line") in found
    assert (13, "not_object") in found
    assert (14, "unknown_role") in found
    assert report.files[0].conversations == 10


# --------------------------------------------------------------------------- order, pool, memory


def mixed_file(path: Path, count: int) -> Path:
    lines: list[Any] = []
    for i in range(count):
        kind = i % 7
        if kind == 0:
            lines.append(chat(f"q{i % 50}"))  # duplicates
        elif kind == 1:
            lines.append(b"{broken")
        elif kind == 2:
            lines.append({"messages": [{"role": "bot", "content": "x"}], "id": i})
        else:
            lines.append(chat(f"question {i}", "word " * (i % 40)))
    return write(path, lines)


def test_findings_are_in_file_then_line_order(tmp_path: Path) -> None:
    first = mixed_file(tmp_path / "a.jsonl", 300)
    second = mixed_file(tmp_path / "b.jsonl", 300)
    report = run([first, second], seq_len=30)
    seen = [(f.path, f.line or 0) for f in report.iter_findings()]
    order = {str(first): 0, str(second): 1}
    assert seen == sorted(seen, key=lambda item: (order[item[0]], item[1]))


def test_pool_gives_the_same_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = mixed_file(tmp_path / "a.jsonl", 2000)
    second = mixed_file(tmp_path / "b.jsonl", 500)
    evaluation = write(tmp_path / "eval.jsonl", conversations(30, 1990))
    monkeypatch.setattr(validate_module, "CHUNK_LINES", 97)
    single = run([first, second], eval_path=evaluation, seq_len=30, workers=1).to_dict()
    monkeypatch.setattr(validate_module, "POOL_MIN_BYTES", 0)
    pooled = run([first, second], eval_path=evaluation, seq_len=30, workers=2).to_dict()
    assert pooled == single
    assert pooled["files"][0]["tokens"]["tokenizer"] == "fake-words"


def test_spawned_workers_when_threads_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # fork is unsafe beside other threads (a TUI, a progress bar): workers are spawned instead,
    # which needs a picklable counter factory.
    path = mixed_file(tmp_path / "a.jsonl", 400)
    single = run([path], seq_len=30).to_dict()
    monkeypatch.setattr(validate_module, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(validate_module.threading, "active_count", lambda: 2)
    context = validate_module._pool_context(FakeCounter)
    assert context is not None
    assert context.get_start_method() == "spawn"
    assert run([path], seq_len=30, workers=2).to_dict() == single


def test_unpicklable_factory_runs_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = mixed_file(tmp_path / "a.jsonl", 100)
    monkeypatch.setattr(validate_module, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(validate_module.threading, "active_count", lambda: 2)

    def factory() -> FakeCounter:
        return FakeCounter()  # a local function: cannot be pickled for spawned workers

    assert validate_module._pool_context(factory) is None
    report = validate_paths([path], counter_factory=factory, workers=2)
    assert report.to_dict() == run([path]).to_dict()


def test_workers_must_be_positive(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", conversations(10))
    with pytest.raises(ValueError, match="workers"):
        validate_paths([path], workers=0)


def test_chunking_does_not_change_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = mixed_file(tmp_path / "a.jsonl", 500)
    reports = []
    for size in (1, 13, 1000):
        monkeypatch.setattr(validate_module, "CHUNK_LINES", size)
        reports.append(run([path], seq_len=30).to_dict())
    assert reports[0] == reports[1] == reports[2]


def test_memory_stays_flat(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    # Long words keep the per-line work in C (tracemalloc slows every Python allocation).
    filler = "lorem" * 6000
    with path.open("wb") as handle:
        for i in range(1200):
            handle.write(json.dumps(chat(f"{i} {filler}", filler)).encode() + b"\n")
    size = path.stat().st_size
    assert size > 60 * 2**20
    tracemalloc.start()
    try:
        report = run([path])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.files[0].conversations == 1200
    # One chunk in flight, one line's objects, compact per-line state: far below the file size.
    assert peak < 20 * 2**20


class RecordingProgress:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def start(self, task: str, total: int | None = None, unit: str = "") -> None:
        self.calls.append(("start", (task, total, unit)))

    def advance(self, amount: int = 1) -> None:
        self.calls.append(("advance", amount))

    def finish(self) -> None:
        self.calls.append(("finish", None))


def test_progress_reports_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate_module, "CHUNK_LINES", 4)
    path = write(tmp_path / "train.jsonl", conversations(10))
    progress = RecordingProgress()
    validate_paths([path], progress=progress, workers=1)
    size = path.stat().st_size
    assert progress.calls[0] == ("start", ("validating train.jsonl", size, "B"))
    assert progress.calls[-1] == ("finish", None)
    advances = [amount for name, amount in progress.calls if name == "advance"]
    assert len(advances) == 3
    assert sum(advances) == size


# --------------------------------------------------------------------------- finding log


def test_finding_log_round_trips_compactly() -> None:
    log = FindingLog("f.jsonl")
    added = []
    for i in range(5000):
        line = None if i % 1000 == 0 else i
        code = ("duplicate", "invalid_json", "unknown_role")[i % 3]
        message = f"message {i} with \x00 nul, é, and a lone \udc00"
        hint = None if i % 2 else f"hint {i % 5}"
        log.add(line, code, message, hint)
        added.append((line, code, message.encode("utf-8", "backslashreplace").decode(), hint))
    found = [(f.line, f.code, f.message, f.hint) for f in log]
    assert found == added
    assert len(log) == 5000
    assert (log.errors, log.warnings) == (3333, 1667)


# --------------------------------------------------------------------------- containers


@pytest.mark.parametrize("layout", ["pretty", "one line"])
def test_a_json_array_file_is_one_finding_pointing_to_convert(tmp_path: Path, layout: str) -> None:
    records = conversations(12)
    text = json.dumps(records, indent=2) if layout == "pretty" else json.dumps(records)
    path = tmp_path / "data.json"
    path.write_text(text)
    report = run([path])
    assert codes(report) == [(None, "json_array_file")]
    (finding,) = report.iter_findings()
    assert finding.is_error and finding.hint is not None and "tuner data convert" in finding.hint
    assert not report.ok


def test_a_line_holding_an_array_of_numbers_is_still_read_as_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "data.jsonl", [[1, 2, 3], *conversations(11)])
    assert (1, "not_object") in codes(validate_paths([path], workers=1))


def test_gzip_jsonl_is_validated_like_the_plain_file(tmp_path: Path) -> None:
    import gzip

    plain = write(tmp_path / "data.jsonl", [*conversations(11), b"{broken"])
    packed = tmp_path / "data.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert codes(run([packed])) == codes(run([plain])) == [(12, "invalid_json")]
    assert run([packed]).files[0].conversations == 11
