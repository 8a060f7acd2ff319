from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuner.fsutil import (
    TEMP_MARK,
    NewFileWriter,
    OutputRefused,
    atomic_writer,
    next_free_path,
    prepare_outputs,
    process_alive,
    remove_stale_temps,
    temp_owner,
)


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


def test_an_empty_write_can_leave_the_target_alone(tmp_path: Path) -> None:
    target = tmp_path / "a.jsonl"
    target.write_bytes(b"original\n")
    with atomic_writer(target, keep_empty=False):
        pass
    assert target.read_bytes() == b"original\n"
    with atomic_writer(tmp_path / "new.jsonl", keep_empty=False):
        pass
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl"]


def test_temporary_files_name_their_process(tmp_path: Path) -> None:
    seen: list[str] = []
    with atomic_writer(tmp_path / "a.jsonl") as handle:
        handle.write(b"x")
        seen = [p.name for p in tmp_path.iterdir()]
    (name,) = seen
    assert name.startswith(f".a.jsonl{TEMP_MARK}{os.getpid()}-")
    assert temp_owner(name) == os.getpid()
    assert temp_owner("a.jsonl") is None and temp_owner(".a.jsonl.tmp") is None


def test_prepare_outputs_refuses_and_allows_with_force(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"x\n")
    out = tmp_path / "out.jsonl"
    assert prepare_outputs([out], [src]) == []
    out.write_bytes(b"y\n")
    with pytest.raises(OutputRefused, match="exists") as info:
        prepare_outputs([out], [src])
    assert "--force" in info.value.hint
    prepare_outputs([out], [src], force=True)
    with pytest.raises(OutputRefused, match="is also an input"):
        prepare_outputs([tmp_path / "sub" / ".." / "in.jsonl"], [src])
    with pytest.raises(OutputRefused, match="named for two outputs"):
        prepare_outputs([out, tmp_path / "." / "out.jsonl"], force=True)
    with pytest.raises(OutputRefused, match="is a folder"):
        prepare_outputs([tmp_path], force=True)
    with pytest.raises(OutputRefused, match="not a folder"):
        prepare_outputs([src / "x.jsonl"], force=True)


def test_next_free_path_numbers_beside_a_taken_name(tmp_path: Path) -> None:
    path = tmp_path / "d.rejects.jsonl"
    assert next_free_path(path) == path
    path.write_bytes(b"")
    assert next_free_path(path) == tmp_path / "d.rejects.2.jsonl"
    (tmp_path / "d.rejects.2.jsonl").write_bytes(b"")
    assert next_free_path(path) == tmp_path / "d.rejects.3.jsonl"


def test_a_new_file_appears_on_first_write_and_never_replaces_one(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    unused = NewFileWriter(path)
    assert unused.commit() is None
    assert list(tmp_path.iterdir()) == []

    first = NewFileWriter(path)
    first.write(b"one\n")
    second = NewFileWriter(path)
    second.write(b"two\n")
    # Both were open at once: the second to finish gets a numbered name, the first is kept.
    assert first.commit() == path
    assert second.commit() == tmp_path / "r.2.jsonl"
    assert path.read_bytes() == b"one\n"
    assert (tmp_path / "r.2.jsonl").read_bytes() == b"two\n"

    dropped = NewFileWriter(path)
    dropped.write(b"three\n")
    dropped.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.2.jsonl", "r.jsonl"]


def test_stale_temporary_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as running:
        try:
            dead_pid = _a_dead_pid()
            stale = tmp_path / f".a.jsonl{TEMP_MARK}{dead_pid}-x1"
            busy = tmp_path / f".b.jsonl{TEMP_MARK}{running.pid}-x2"
            mine = tmp_path / f".c.jsonl{TEMP_MARK}{os.getpid()}-x3"
            other = tmp_path / "d.jsonl"
            for path in (stale, busy, mine, other):
                path.write_bytes(b"")
            assert remove_stale_temps(tmp_path) == [stale]
        finally:
            running.kill()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (busy, mine, other))


def _a_dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = int(done.stdout)
    assert not process_alive(pid)
    return pid
