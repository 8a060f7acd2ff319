"""No data command destroys data: convert, fix, dedupe and split refuse to write over an existing
file or an input without --force; fix's rejects survive every later run; a failed convert keeps
the old output; bad --seq-len values and unwritable folders are one-line usage errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tuner.cli.main import app
from tuner.fsutil import TEMP_MARK

runner = CliRunner()


def run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def chat(user: str, answer: str = "ok") -> bytes:
    record = {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    }
    return orjson.dumps(record) + b"\n"


GOOD = b"".join(chat(f"question {i}") for i in range(20))
# Line 3 is JSON cut short: fix cannot repair it, so it goes to the rejects file.
WITH_BAD = chat("a") + chat("b") + b'{"messages": [\n' + chat("c")


def data_file(folder: Path, name: str = "data.jsonl", content: bytes = GOOD) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


def flat(text: str) -> str:
    """Text without whitespace: the console wraps at 80 columns and may fold a long path."""
    return "".join(text.split())


def assert_refused(code: int, out: str, *words: str) -> None:
    """Exit 2, one error (the console wraps long lines at 80 columns) and its hint, no traceback."""
    assert code == 2, out
    assert "Traceback" not in out
    assert out.startswith("error: ") and out.count("error: ") == 1, out
    message, _, hint = out.partition("\nhint: ")
    assert hint.strip() and "error" not in hint, out
    assert all(flat(word) in flat(message) for word in words), out


# Each command as (args writing OUT, given the source and OUT).
Command = Callable[[Path, Path], list[str | Path]]
COMMANDS: dict[str, Command] = {
    "convert": lambda src, out: ["data", "convert", src, "--out", out, "-q"],
    "fix": lambda src, out: ["data", "fix", src, "--out", out, "-q"],
    "dedupe": lambda src, out: ["data", "dedupe", src, "--out", out, "-q"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_existing_output_is_kept_without_force(tmp_path: Path, command: str) -> None:
    src = data_file(tmp_path)
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"precious\n")
    code, text = run(*COMMANDS[command](src, out))
    assert_refused(code, text, str(out), "exists")
    assert "--force" in text
    assert out.read_bytes() == b"precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "out.jsonl"]

    code, text = run(*COMMANDS[command](src, out), "--force")
    assert code == 0, text
    assert out.read_bytes().count(b"\n") == 20


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("alias", ["same path spelled otherwise", "hard link", "symlink"])
def test_an_output_that_is_the_input_is_refused(tmp_path: Path, command: str, alias: str) -> None:
    src = data_file(tmp_path, content=GOOD + GOOD[: len(chat("question 0"))])  # one duplicate
    (tmp_path / "sub").mkdir()
    if alias == "hard link":
        out = tmp_path / "sub" / "linked.jsonl"
        os.link(src, out)
    elif alias == "symlink":
        out = tmp_path / "sub" / "linked.jsonl"
        out.symlink_to(src)
    else:
        out = tmp_path / "sub" / ".." / "data.jsonl"
    before = src.read_bytes()
    code, text = run(*COMMANDS[command](src, out))
    assert_refused(code, text, "is also an input")
    assert src.read_bytes() == before

    # --force is the consent: the output replaces the file named OUT, whole.
    code, text = run(*COMMANDS[command](src, out), "--force")
    assert code == 0, text
    assert out.read_bytes().count(b"\n") in (20, 21)


def test_split_refuses_existing_outputs_and_an_output_that_is_the_input(tmp_path: Path) -> None:
    src = data_file(tmp_path)
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "data.eval.jsonl").write_bytes(b"precious\n")
    args = ["data", "split", src, "--eval-fraction", "0.1", "--out-dir", folder, "-q"]
    code, text = run(*args)
    assert_refused(code, text, "data.eval.jsonl", "exists")
    assert sorted(p.name for p in folder.iterdir()) == ["data.eval.jsonl"]

    # The train output is the input itself (same inode, another name).
    (folder / "data.eval.jsonl").unlink()
    os.link(src, folder / "data.train.jsonl")
    code, text = run(*args)
    assert_refused(code, text, "is also an input")
    assert src.read_bytes() == GOOD

    code, text = run(*args, "--force")
    assert code == 0, text
    assert src.read_bytes() == GOOD  # the link was replaced, not written through
    train = (folder / "data.train.jsonl").read_bytes().count(b"\n")
    assert train + (folder / "data.eval.jsonl").read_bytes().count(b"\n") == 20


def test_fix_rejects_naming_the_input_is_refused(tmp_path: Path) -> None:
    src = data_file(tmp_path, content=WITH_BAD)
    out = tmp_path / "fixed.jsonl"
    code, text = run("data", "fix", src, "--out", out, "--rejects", src, "-q")
    assert_refused(code, text, "is also an input")
    assert src.read_bytes() == WITH_BAD and not out.exists()

    # Forced, the input is still never written over: the rejects go beside it, numbered.
    code, text = run("data", "fix", src, "--out", out, "--rejects", src, "--force")
    assert code == 1, text
    assert src.read_bytes() == WITH_BAD
    numbered = tmp_path / "data.2.jsonl"
    assert numbered.read_bytes() == b'{"messages": [\n'
    assert flat(f"copied unchanged to {numbered}") in flat(text)


def test_fix_rejects_and_output_must_differ(tmp_path: Path) -> None:
    src = data_file(tmp_path, content=WITH_BAD)
    out = tmp_path / "fixed.jsonl"
    code, text = run("data", "fix", src, "--out", out, "--rejects", out, "--force")
    assert_refused(code, text, "both the output and the rejects")
    assert not out.exists()


def test_fix_in_place_twice_keeps_the_rejects(tmp_path: Path) -> None:
    src = data_file(tmp_path, content=WITH_BAD)
    rejects = tmp_path / "data.rejects.jsonl"
    code, text = run("data", "fix", src, "--in-place")
    assert code == 1, text
    assert rejects.read_bytes() == b'{"messages": [\n'
    assert src.read_bytes() == chat("a") + chat("b") + chat("c")
    assert flat(f"copied unchanged to {rejects}") in flat(text)

    # The second run has nothing to reject: it makes no rejects file and keeps the first one.
    code, text = run("data", "fix", src, "--in-place")
    assert code == 0, text
    assert rejects.read_bytes() == b'{"messages": [\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "data.rejects.jsonl"]

    # A third run that rejects again writes a numbered file beside the first.
    src.write_bytes(src.read_bytes() + b"[1, 2]\n")
    code, text = run("data", "fix", src, "--in-place", "--json")
    assert code == 1
    second = tmp_path / "data.rejects.2.jsonl"
    assert orjson.loads(text)["rejects"] == str(second)
    assert second.read_bytes() == b"[1, 2]\n"
    assert rejects.read_bytes() == b'{"messages": [\n'


def test_fix_without_rejected_lines_makes_no_rejects_file(tmp_path: Path) -> None:
    src = data_file(tmp_path)
    code, text = run("data", "fix", src, "--out", tmp_path / "fixed.jsonl", "--json")
    assert code == 0, text
    assert orjson.loads(text)["rejects"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "fixed.jsonl"]


def test_fix_that_keeps_no_line_leaves_the_input_and_says_so(tmp_path: Path) -> None:
    src = data_file(tmp_path, content=b"[1]\n[2]\n")
    code, text = run("data", "fix", src, "--in-place")
    assert code == 1, text
    assert src.read_bytes() == b"[1]\n[2]\n"
    assert (tmp_path / "data.rejects.jsonl").read_bytes() == b"[1]\n[2]\n"
    assert "Nothing written" in text and "left as it was" in text


def test_a_failed_convert_keeps_the_old_output(tmp_path: Path) -> None:
    src = data_file(tmp_path, "bad.jsonl", b'{"foo": 1}\n{"bar": 2}\n')
    out = tmp_path / "c.jsonl"
    code, text = run("data", "convert", src, "--out", out)
    assert code == 1, text
    assert not out.exists()  # no empty file either
    assert "nothing was converted" in text and "was not written" in text

    out.write_bytes(GOOD)
    code, text = run("data", "convert", src, "--out", out, "--force", "--json")
    assert code == 1, text
    assert orjson.loads(text)["written"] is False
    assert out.read_bytes() == GOOD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "c.jsonl"]


@pytest.mark.parametrize("value", ["0", "-3"])
@pytest.mark.parametrize("command", ["validate", "stats"])
def test_a_seq_len_below_one_is_a_usage_error(tmp_path: Path, command: str, value: str) -> None:
    src = data_file(tmp_path)
    code, text = run("data", command, src, f"--seq-len={value}", "-q")
    assert_refused(code, text, "sequence length", value)


def test_an_output_under_a_file_is_a_usage_error(tmp_path: Path) -> None:
    src = data_file(tmp_path)
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    for args in (
        ["data", "dedupe", src, "--out", blocker / "out.jsonl"],
        ["data", "convert", src, "--out", blocker / "deeper" / "out.jsonl"],
        ["data", "split", src, "--eval-fraction", "0.1", "--out-dir", blocker],
    ):
        code, text = run(*args, "--force")
        assert_refused(code, text, "is a file, not a folder")


def test_a_read_only_folder_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, for whom permission bits do not stop writes: the folder is made
    # read-only by answering os.access as a read-only file system would.
    src = data_file(tmp_path)
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        "tuner.fsutil.os.access",
        lambda path, mode: real_access(path, mode) and Path(path) != folder,
    )
    code, text = run("data", "fix", src, "--out", folder / "fixed.jsonl")
    assert_refused(code, text, "read-only", str(folder))
    assert list(folder.iterdir()) == []


def test_a_write_that_fails_at_once_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check passed but creating the file fails (e.g. a read-only mount met as root).
    src = data_file(tmp_path)

    def denied(*_args: object, **_kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tuner.fsutil.tempfile.mkstemp", denied)
    code, text = run("data", "dedupe", src, "--out", tmp_path / "out.jsonl")
    assert_refused(code, text, "cannot write", "Permission denied")


def test_the_next_run_removes_a_dead_runs_temporary_files_and_says_so(tmp_path: Path) -> None:
    src = data_file(tmp_path)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".out.jsonl{TEMP_MARK}{dead_pid}-abc123"
    stale.write_bytes(b"half a file")
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as alive:
        try:
            busy = tmp_path / f".other.jsonl{TEMP_MARK}{alive.pid}-def456"
            busy.write_bytes(b"another run's work in progress")
            code, text = run("data", "dedupe", src, "--out", tmp_path / "out.jsonl")
        finally:
            alive.kill()
    assert code == 0, text
    assert not stale.exists()
    assert flat(f"removed {stale}, left behind by an interrupted run") in flat(text)
    assert busy.exists()  # its process still ran: not ours to remove
