"""``tuner data convert --text COL --label TARGET=COL``: classifier data from tables.

Reads the same sources as the conversation converter (JSONL/JSON, CSV/TSV, Parquet, Arrow, saved
Hugging Face datasets, through :func:`tuner.datasets.formats.open_source`) and writes one
``{"text": ..., "labels": {target: label | [labels]}}`` line per row. A label column marked
multi-label (``TARGET=COL[]``) takes a list, or a string split on ``|`` (an empty cell: no label
applies); otherwise the cell is one label (numbers become their text, as ``3`` → ``"3"``).

Nothing is lost in silence: a row without usable text or with an empty single label is skipped
with its reason, and columns the mapping does not use are reported by name.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tuner.datasets.formats import UnreadableRow, open_source
from tuner.fsutil import atomic_writer

MULTI_SEPARATOR = "|"


class LabelSpecError(ValueError):
    """A ``--label`` that is not ``TARGET=COLUMN`` or ``TARGET=COLUMN[]``."""


@dataclass(frozen=True, slots=True)
class LabelColumn:
    target: str
    column: str
    multi: bool = False

    @classmethod
    def parse(cls, spec: str) -> LabelColumn:
        target, sep, column = spec.partition("=")
        multi = column.endswith("[]")
        column = column.removesuffix("[]")
        if not sep or not target.strip() or not column.strip():
            raise LabelSpecError(f"--label takes TARGET=COLUMN (or TARGET=COLUMN[]), not {spec!r}")
        return cls(target.strip(), column.strip(), multi)


@dataclass(frozen=True, slots=True)
class Skipped:
    source: str
    row: int | None
    reason: str


@dataclass(slots=True)
class ClassifierConversion:
    out: Path
    read: int = 0
    converted: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    unused_columns: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "read": self.read,
            "converted": self.converted,
            "skipped": [
                {"source": s.source, "row": s.row, "reason": s.reason} for s in self.skipped
            ],
            "unused_columns": sorted(self.unused_columns),
        }


def _label(value: object, multi: bool) -> str | list[str] | None:
    """The cell as a label (or list of labels); None when a single label is missing."""
    if multi:
        if value is None:
            return []
        if isinstance(value, list):
            return [str(v).strip() for v in value if str(v).strip()]
        return [part.strip() for part in str(value).split(MULTI_SEPARATOR) if part.strip()]
    if value is None or isinstance(value, list | dict):
        return None
    text = str(value).strip()
    return text or None


def convert_classifier(
    sources: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    text_column: str,
    labels: Sequence[LabelColumn],
) -> ClassifierConversion:
    """Write classifier JSONL from ``sources``; raises UnreadableSourceError for a bad source."""
    if not labels:
        raise LabelSpecError("give at least one --label TARGET=COLUMN")
    opened = [open_source(Path(source)) for source in sources]
    used = {text_column, *(label.column for label in labels)}
    result = ClassifierConversion(Path(out))
    with atomic_writer(out) as handle:
        for source in opened:
            for row, record in source.rows():
                result.read += 1
                if isinstance(record, UnreadableRow):
                    result.skipped.append(Skipped(str(source.path), row, record.message))
                    continue
                result.unused_columns.update(k for k in record if k not in used)
                line, reason = _line(record, text_column, labels)
                if line is None:
                    result.skipped.append(Skipped(str(source.path), row, reason))
                    continue
                handle.write(orjson.dumps(line) + b"\n")
                result.converted += 1
    return result


def _line(
    record: dict[str, Any], text_column: str, labels: Sequence[LabelColumn]
) -> tuple[dict[str, Any] | None, str]:
    text = record.get(text_column)
    if not isinstance(text, str) or not text.strip():
        return None, f"no text in column {text_column!r}"
    values: dict[str, str | list[str]] = {}
    for label in labels:
        if label.column not in record:
            return None, f"no column {label.column!r} (target {label.target!r})"
        value = _label(record[label.column], label.multi)
        if value is None:
            return None, f"no label in column {label.column!r} (target {label.target!r})"
        values[label.target] = value
    return {"text": text, "labels": values}, ""
