"""The streaming line reader: line splitting rules, over-long lines, flat memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuner.datasets.reader import MAX_LINE_BYTES, RawLine, iter_lines


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for all examples of a hypothesis test (a file in it is rewritten)."""
    return tmp_path_factory.mktemp("examples")


def lines_of(tmp_path: Path, content: bytes, **kwargs: int) -> list[RawLine]:
    path = tmp_path / "f.jsonl"
    path.write_bytes(content)
    return list(iter_lines(path, **kwargs))


def datas(lines: list[RawLine]) -> list[bytes | None]:
    return [line.data for line in lines]


def reference_split(content: bytes) -> list[bytes]:
    """The rules, written the obvious (whole file in memory) way."""
    if not content:
        return []
    parts = content.split(b"\n")
    if parts[-1] == b"":
        parts.pop()  # a final "\n" does not make an empty last line
    last_had_newline = content.endswith(b"\n")
    out = []
    for index, part in enumerate(parts):
        ends_with_newline = index < len(parts) - 1 or last_had_newline
        out.append(part[:-1] if ends_with_newline and part.endswith(b"\r") else part)
    return out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", []),
        (b"\n", [b""]),
        (b"a", [b"a"]),
        (b"a\n", [b"a"]),
        (b"a\nb", [b"a", b"b"]),
        (b"a\n\nb\n", [b"a", b"", b"b"]),
        (b"a\r\nb\r\n", [b"a", b"b"]),
        (b"a\r\r\n", [b"a\r"]),  # only one \r is dropped
        (b"a\rb\n", [b"a\rb"]),  # a lone \r is not a line break
        (b"a\r", [b"a\r"]),  # no \n follows: the \r stays
        (b"\n\n", [b"", b""]),
    ],
)
def test_splitting_rules(tmp_path: Path, content: bytes, expected: list[bytes]) -> None:
    assert datas(lines_of(tmp_path, content)) == expected


def test_numbers_sizes_and_crlf(tmp_path: Path) -> None:
    lines = lines_of(tmp_path, b"ab\r\n\ncde\n")
    assert lines == [
        RawLine(1, b"ab", 2, True),
        RawLine(2, b"", 0, False),
        RawLine(3, b"cde", 3, False),
    ]


@settings(max_examples=300, deadline=None)
@given(
    content=st.lists(st.sampled_from([b"a", b"\n", b"\r", b"\r\n", b"xyz", b"{}"])).map(b"".join),
    block=st.integers(min_value=1, max_value=7),
)
def test_any_block_size_gives_the_same_lines(workdir: Path, content: bytes, block: int) -> None:
    lines = lines_of(workdir, content, block_bytes=block)
    assert datas(lines) == reference_split(content)
    assert [line.number for line in lines] == list(range(1, len(lines) + 1))
    assert [line.size for line in lines] == [len(d) for d in reference_split(content)]


@pytest.mark.parametrize("block", [1, 3, 1 << 20])
def test_over_long_lines_are_skipped_not_held(tmp_path: Path, block: int) -> None:
    content = b"12345\n" + b"x" * 11 + b"\nabc\r\n" + b"y" * 9 + b"\r\n" + b"z" * 12
    lines = lines_of(tmp_path, content, max_line_bytes=10, block_bytes=block)
    assert lines == [
        RawLine(1, b"12345", 5, False),
        RawLine(2, None, 11, False),
        RawLine(3, b"abc", 3, True),
        RawLine(4, b"y" * 9, 9, True),
        RawLine(5, None, 12, False),
    ]


@pytest.mark.parametrize("block", [1, 4, 64])
def test_limit_boundary(tmp_path: Path, block: int) -> None:
    content = b"a" * 10 + b"\n" + b"b" * 10 + b"\r\n" + b"c" * 11 + b"\r\n" + b"d" * 10 + b"\r"
    lines = lines_of(tmp_path, content, max_line_bytes=10, block_bytes=block)
    assert datas(lines) == [b"a" * 10, b"b" * 10, None, None]
    # The last line has no "\n", so its "\r" is part of it: 11 bytes, over the limit.
    assert [line.size for line in lines] == [10, 10, 11, 11]


def test_hundred_megabyte_line_keeps_memory_flat(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as handle:
        handle.write(b'{"text": "ok"}\n')
        chunk = b"x" * (1 << 20)
        for _ in range(100):
            handle.write(chunk)
        handle.write(b"\n")
        handle.write(b'{"text": "after"}\n')
    tracemalloc.start()
    try:
        lines = list(iter_lines(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert datas(lines) == [b'{"text": "ok"}', None, b'{"text": "after"}']
    assert lines[1].size == 100 * (1 << 20)
    # At most one line's worth (the limit) plus a block or two is ever held.
    assert peak < MAX_LINE_BYTES + 8 * (1 << 20)


def test_sparse_file_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "sparse.jsonl"
    with path.open("wb") as handle:
        handle.truncate(40 * (1 << 20))  # a hole: no disk used, all NUL bytes, no "\n"
    lines = list(iter_lines(path))
    assert lines == [RawLine(1, None, 40 * (1 << 20), False)]


def test_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(iter_lines(tmp_path / "nope.jsonl"))
