"""The validation report: per-file figures and every finding, compact enough for huge broken files.

Findings are the product, so all are kept; a file where every one of millions of lines is broken
must still fit in memory. :class:`FindingLog` therefore stores a line's finding as a few integers
(line, code index, hint index) plus its message, with messages packed into zlib-compressed blocks
(they are highly repetitive). Findings come back out as ordinary :class:`Finding` objects, in the
order they were added.

``Report.to_dict()`` is the ``--json`` shape (see :meth:`Report.to_dict`).
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tuner.datasets.findings import Category, Finding, Severity
from tuner.datasets.rules import CODES
from tuner.datasets.summary import percentile

_CODE_NAMES: list[str] = list(CODES)
_CODE_INDEX: dict[str, int] = {code: index for index, code in enumerate(_CODE_NAMES)}
# Messages are packed once this many are waiting: big enough for zlib to find the repetition.
_BLOCK_MESSAGES = 2048
_NO_LINE = -1


class FindingLog:
    """An append-only, compact, ordered store of one file's findings."""

    __slots__ = (
        "_blocks",
        "_codes",
        "_hint_index",
        "_hint_table",
        "_hints",
        "_lines",
        "_waiting",
        "errors",
        "path",
        "warnings",
    )

    def __init__(self, path: str) -> None:
        self.path = path
        self._lines = array("q")
        self._codes = array("H")
        self._hints = array("I")
        self._hint_table: list[str | None] = [None]
        self._hint_index: dict[str | None, int] = {None: 0}
        # Packed messages: (zlib of the UTF-8 messages laid end to end, their byte lengths).
        self._blocks: list[tuple[bytes, array[int]]] = []
        self._waiting: list[str] = []
        self.errors = 0
        self.warnings = 0

    def __len__(self) -> int:
        return len(self._codes)

    def add(self, line: int | None, code: str, message: str, hint: str | None = None) -> None:
        """Record a finding; its category and severity are those of ``code`` in ``CODES``."""
        self._lines.append(_NO_LINE if line is None else line)
        self._codes.append(_CODE_INDEX[code])
        hint_id = self._hint_index.get(hint)
        if hint_id is None:
            hint_id = self._hint_index[hint] = len(self._hint_table)
            self._hint_table.append(hint)
        self._hints.append(hint_id)
        if CODES[code][1] is Severity.ERROR:
            self.errors += 1
        else:
            self.warnings += 1
        self._waiting.append(message)
        if len(self._waiting) >= _BLOCK_MESSAGES:
            self._pack()

    def add_finding(self, finding: Finding) -> None:
        self.add(finding.line, finding.code, finding.message, finding.hint)

    def extend(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.add_finding(finding)

    def _pack(self) -> None:
        encoded = [m.encode("utf-8", "backslashreplace") for m in self._waiting]
        lengths = array("I", map(len, encoded))
        self._blocks.append((zlib.compress(b"".join(encoded), 1), lengths))
        self._waiting = []

    def _messages(self) -> Iterator[str]:
        for packed, lengths in self._blocks:
            data = zlib.decompress(packed)
            start = 0
            for length in lengths:
                yield data[start : start + length].decode("utf-8")
                start += length
        for message in self._waiting:
            # As packing does: messages must be valid UTF-8 wherever they come from.
            yield message.encode("utf-8", "backslashreplace").decode("utf-8")

    def __iter__(self) -> Iterator[Finding]:
        for index, message in enumerate(self._messages()):
            code = _CODE_NAMES[self._codes[index]]
            category, severity, _ = CODES[code]
            line = self._lines[index]
            yield Finding(
                self.path,
                None if line == _NO_LINE else line,
                severity,
                category,
                code,
                message,
                self._hint_table[self._hints[index]],
            )


@dataclass(frozen=True, slots=True)
class TokenStats:
    tokenizer: str
    total: int
    trained: int
    # Over the file's valid conversations; all 0 when it has none.
    min: int
    p50: int
    p95: int
    max: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer,
            "total": self.total,
            "trained": self.trained,
            "min": self.min,
            "p50": self.p50,
            "p95": self.p95,
            "max": self.max,
        }


@dataclass(eq=False)
class FileReport:
    path: str
    format: str | None = None
    # Physical lines read.
    lines: int = 0
    # Valid conversations (lines with no error), of the file's format.
    conversations: int = 0
    size: int = 0
    # The file passed as evaluation data (``eval_path``).
    is_eval: bool = False
    strict: bool = False
    # Name of the tokenizer that counted; None when tokens were not counted.
    tokenizer: str | None = None
    tokens_total: int = 0
    tokens_trained: int = 0
    # Per valid conversation, in file order: its exact token count (for stats and histograms).
    token_counts: array[int] = field(default_factory=lambda: array("I"))
    # Findings about the whole file (line None), shown before the line findings.
    file_findings: list[Finding] = field(default_factory=list)
    line_findings: FindingLog = field(init=False)

    def __post_init__(self) -> None:
        self.line_findings = FindingLog(self.path)

    def add_file_finding(self, finding: Finding) -> None:
        self.file_findings.append(finding)

    @property
    def _raw_errors(self) -> int:
        return self.line_findings.errors + sum(f.is_error for f in self.file_findings)

    @property
    def _raw_warnings(self) -> int:
        return self.line_findings.warnings + sum(not f.is_error for f in self.file_findings)

    @property
    def errors(self) -> int:
        """Errors, counting warnings too under ``strict``."""
        return self._raw_errors + (self._raw_warnings if self.strict else 0)

    @property
    def warnings(self) -> int:
        return 0 if self.strict else self._raw_warnings

    @property
    def tokens(self) -> TokenStats | None:
        if self.tokenizer is None:
            return None
        counts = sorted(self.token_counts)
        if not counts:
            # Zeros, as the project's other summaries (tuner.datasets.summary.EMPTY) report them.
            return TokenStats(self.tokenizer, 0, 0, 0, 0, 0, 0)
        return TokenStats(
            self.tokenizer,
            self.tokens_total,
            self.tokens_trained,
            counts[0],
            percentile(counts, 50),
            percentile(counts, 95),
            counts[-1],
        )

    def findings(self) -> Iterator[Finding]:
        """File-level findings, then line findings in line order (promoted under ``strict``)."""
        for finding in self.file_findings:
            yield finding.promoted() if self.strict else finding
        for finding in self.line_findings:
            yield finding.promoted() if self.strict else finding

    def to_dict(self) -> dict[str, Any]:
        tokens = self.tokens
        return {
            "path": self.path,
            "format": self.format,
            "lines": self.lines,
            "conversations": self.conversations,
            "errors": self.errors,
            "warnings": self.warnings,
            "tokens": None if tokens is None else tokens.to_dict(),
        }


@dataclass(eq=False)
class Report:
    files: list[FileReport]
    strict: bool = False

    @property
    def ok(self) -> bool:
        """No errors in any file (under ``strict``, no warnings either)."""
        return self.errors == 0

    @property
    def errors(self) -> int:
        return sum(f.errors for f in self.files)

    @property
    def warnings(self) -> int:
        return sum(f.warnings for f in self.files)

    def iter_findings(self) -> Iterator[Finding]:
        """Every finding, in file order then line order."""
        for file in self.files:
            yield from file.findings()

    @property
    def findings(self) -> list[Finding]:
        return list(self.iter_findings())

    def by_code(self) -> dict[str, int]:
        """How many findings of each code (after ``strict`` promotion, codes are unchanged)."""
        counts: dict[str, int] = {}
        for finding in self.iter_findings():
            counts[finding.code] = counts.get(finding.code, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """``{"ok", "files": [{"path", "format", "lines", "conversations", "errors", "warnings",
        "tokens": {"tokenizer", "total", "trained", "min", "p50", "p95", "max"} | null}],
        "findings": [{"path", "line", "severity", "category", "code", "message", "hint"}]}``.

        ``tokens`` is null when no token counter was given.
        """
        return {
            "ok": self.ok,
            "files": [file.to_dict() for file in self.files],
            "findings": [finding.to_dict() for finding in self.iter_findings()],
        }


__all__ = ["Category", "FileReport", "FindingLog", "Report", "Severity", "TokenStats"]
