from __future__ import annotations

import os
from pathlib import Path

import pytest

from tuner.fsutil import atomic_writer


def test_writes_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "a.jsonl"
    with atomic_writer(target) as handle:
        handle.write(b"one\n")
    assert target.read_bytes() == b"one\n"
    assert [p.name for p in target.parent.iterdir()] == ["a.jsonl"]


def test_failure_leaves_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "a.jsonl"
    target.write_bytes(b"original\n")
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write(b"partial")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"original\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl"]


def test_new_file_gets_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with atomic_writer(tmp_path / "new.jsonl") as handle:
            handle.write(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "new.jsonl").stat().st_mode & 0o777 == 0o644


def test_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "kept.jsonl"
    target.write_bytes(b"x")
    target.chmod(0o640)
    with atomic_writer(target) as handle:
        handle.write(b"y")
    assert target.stat().st_mode & 0o777 == 0o640
