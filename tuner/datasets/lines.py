"""Reading a training file line by line as the validator reads it, for the transforms.

``dedupe``, ``split``, ``fix`` and ``stats`` share these: the input check (a one-line error for a
missing, directory or empty file), every line with its findings and sample (the first valid line
decides the format), and copying lines (an over-long one streamed from the file, never held).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from tuner.datasets.errors import check_readable, input_error
from tuner.datasets.findings import Finding
from tuner.datasets.providers import DEFAULT_PROVIDER, check_line
from tuner.datasets.reader import RawLine, iter_lines
from tuner.datasets.rules import oversized_finding
from tuner.datasets.samples import Sample

Format = Literal["instruct", "pretrain", "classifier", "preference"]


def check_input(path: str | os.PathLike[str]) -> Path:
    """The input as a Path; a one-line DataInputError when it is missing, a directory or empty."""
    if check_readable(path) == 0:
        raise input_error(path, "the file is empty")
    return Path(path)


@dataclass(frozen=True, slots=True)
class CheckedLine:
    raw: RawLine
    # Where the line starts in the file: an over-long line is copied from there, never held.
    offset: int
    findings: list[Finding]
    sample: Sample | None

    @property
    def number(self) -> int:
        return self.raw.number


def checked_lines(
    path: Path, *, expect: Format | None = None, provider: str = DEFAULT_PROVIDER
) -> Iterator[CheckedLine]:
    """Every line of ``path`` with the validator's findings and, when it has no error, its sample.

    Without ``expect`` the file's format is the format of its first valid line, as the validator
    decides it. ``provider`` says whose rules (``tuner.datasets.providers``).
    """
    name = str(path)
    offset = 0
    for raw in iter_lines(path):
        if raw.data is None:
            findings = [oversized_finding(name, raw)]
            sample: Sample | None = None
        else:
            check = check_line(provider, raw.data, path=name, line=raw.number, expect=expect)
            findings, sample = check.findings, check.sample
            if expect is None and sample is not None:
                expect = sample.kind
        yield CheckedLine(raw, offset, findings, sample)
        offset += raw.size + raw.crlf + 1


def copy_line(source: Path, line: CheckedLine, out: BinaryIO) -> None:
    """Write the line and a newline to ``out``; an over-long line is streamed from ``source``."""
    if line.raw.data is not None:
        out.write(line.raw.data + b"\n")
    else:
        copy_span(source, line.offset, line.raw.size, out)
        out.write(b"\n")


def copy_span(source: Path, offset: int, size: int, out: BinaryIO) -> None:
    """Copy ``size`` bytes of ``source`` from ``offset`` to ``out`` in bounded chunks."""
    with source.open("rb") as handle:
        handle.seek(offset)
        remaining = size
        while remaining:
            chunk = handle.read(min(remaining, 1 << 20))
            if not chunk:
                break
            out.write(chunk)
            remaining -= len(chunk)
