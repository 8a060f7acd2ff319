"""Writing files without destroying data.

Every command that writes a file goes through here:

- :func:`prepare_outputs` refuses, before any work starts, to write over an existing file or over
  one of the command's inputs (unless forced), and an output whose folder cannot be written; it
  also removes the temporary files that a killed run left in the output folders.
- :func:`atomic_writer` writes to a temporary file beside the target and renames it into place on
  success: the output appears whole under its name or not at all.
- :class:`NewFileWriter` creates a file only on its first write, under a name that does not exist
  yet: it never replaces a file (the rejects file of ``fix``).

Temporary files are named ``.<name>.tuner-tmp-<pid>-<random>``: a run killed with SIGKILL cannot
remove its own, so the next run in that folder removes those whose process is gone and says so.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

TEMP_MARK = ".tuner-tmp-"
_TEMP_NAME = re.compile(r"^\..+" + re.escape(TEMP_MARK) + r"(\d+)-[^/]*$")

PathLike = str | os.PathLike[str]


class OutputRefused(Exception):
    """An output that must not be written: it exists, is an input, or its folder is not writable.

    The message is one line naming the path and the reason; ``hint`` says what to do instead.
    """

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


# --------------------------------------------------------------------------- checks


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file: same inode, or the same resolved path."""
    try:
        return Path(a).samefile(b)
    except OSError:  # one of them does not exist (yet): compare where they would be
        return Path(a).resolve() == Path(b).resolve()


def check_folder(target: PathLike) -> None:
    """An :class:`OutputRefused` when no file can be created at ``target``.

    The nearest existing ancestor must be a folder this process may write in (missing folders
    below it are created by the writer). As root, permission bits do not stop writes, so only a
    read-only file system or a file in the way is caught here; the writer still reports any
    later failure.
    """
    path = Path(target)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputRefused(
            f"cannot write {path}: {folder} is a file, not a folder",
            "Give an output path inside a folder.",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputRefused(
            f"cannot write {path}: the folder {folder} is read-only",
            "Give an output path in a folder you can write to.",
        )


def check_output(target: PathLike, inputs: Sequence[PathLike] = (), *, force: bool) -> None:
    """Refuse to write ``target`` over one of ``inputs`` or an existing file, unless ``force``.

    A folder is never replaced, and an unwritable folder is refused, forced or not.
    """
    path = Path(target)
    if path.is_dir():
        raise OutputRefused(
            f"{path} is a folder", "Give a file path for the output, e.g. out.jsonl."
        )
    check_folder(path)
    if force:
        return
    for source in inputs:
        if same_file(path, source):
            raise OutputRefused(
                f"{path} is also an input: writing it would replace the input",
                "Give another output path, or pass --force to replace the input.",
            )
    if path.exists() or path.is_symlink():
        raise OutputRefused(
            f"{path} exists", "Give another output path, or pass --force to overwrite it."
        )


def prepare_outputs(
    outputs: Sequence[PathLike], inputs: Sequence[PathLike] = (), *, force: bool = False
) -> list[Path]:
    """Check every output (see :func:`check_output`; two outputs may not be the same file), then
    remove stale temporary files from their folders. Returns the temporary files removed.
    """
    paths = [Path(p) for p in outputs]
    for index, path in enumerate(paths):
        if any(same_file(path, earlier) for earlier in paths[:index]):
            raise OutputRefused(
                f"{path} is named for two outputs", "Give each output its own path."
            )
        check_output(path, inputs, force=force)
    removed: list[Path] = []
    for folder in dict.fromkeys(p.parent for p in paths):
        removed += remove_stale_temps(folder)
    return removed


def next_free_path(path: PathLike) -> Path:
    """``path`` if nothing is there, else the first free ``<stem>.<n><suffix>`` beside it."""
    candidates = _numbered(Path(path))
    while True:
        candidate = next(candidates)
        if not (candidate.exists() or candidate.is_symlink()):
            return candidate


def _numbered(path: Path) -> Iterator[Path]:
    yield path
    number = 2
    while True:
        yield path.with_name(f"{path.stem}.{number}{path.suffix}")
        number += 1


# --------------------------------------------------------------------------- temporary files


def _temp_file(target: Path) -> tuple[int, Path]:
    """A new temporary file beside ``target`` (file descriptor, path), named for cleanup."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}{TEMP_MARK}{os.getpid()}-", dir=target.parent
        )
    except (PermissionError, NotADirectoryError, FileExistsError) as error:
        raise OutputRefused(
            f"cannot write {target}: {error.strerror or error}",
            "Give an output path in a folder you can write to.",
        ) from None
    except OSError as error:
        if error.errno != errno.EROFS:
            raise
        raise OutputRefused(
            f"cannot write {target}: the file system is read-only",
            "Give an output path in a folder you can write to.",
        ) from None
    return fd, Path(name)


def temp_owner(path: PathLike) -> int | None:
    """The process id in a temporary file's name, or None for any other file."""
    match = _TEMP_NAME.match(Path(path).name)
    return int(match.group(1)) if match else None


def process_alive(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie (dead, waiting to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): kill(pid, 0) said it exists
    return stat.rpartition(")")[2].split()[0] != "Z"


def remove_stale_temps(folder: PathLike) -> list[Path]:
    """Remove the temporary files in ``folder`` whose writing process is gone; return them.

    A file whose process still runs is another run's work in progress and is left alone.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        pid = temp_owner(entry.name)
        if pid is None or pid == os.getpid() or process_alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError):
            Path(entry.path).unlink()
            removed.append(Path(entry.path))
    return removed


# --------------------------------------------------------------------------- writers


@contextlib.contextmanager
def atomic_writer(path: PathLike, *, keep_empty: bool = True) -> Iterator[BinaryIO]:
    """Write to a temporary file beside ``path`` and rename it into place on success.

    On any exception the temporary file is removed and ``path`` is left as it was, so a crash or
    bad input never leaves a half-written output (or a half-overwritten input with --in-place).
    With ``keep_empty=False`` nothing written means nothing renamed: ``path`` stays as it was and
    no empty file appears.
    """
    target = Path(path)
    fd, tmp = _temp_file(target)
    try:
        # mkstemp makes owner-only files; give the output the mode a plain open() would (or
        # keep the target's own mode, so --in-place never changes who can read a file).
        tmp.chmod(_mode_for(target))
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            written = handle.tell()
            if written or keep_empty:
                os.fsync(handle.fileno())
        if written or keep_empty:
            tmp.replace(target)
        else:
            tmp.unlink()
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@dataclass
class NewFileWriter:
    """A file created on the first :meth:`write` and never written over another file.

    :meth:`commit` gives it the first free name among ``path``, ``<stem>.2<suffix>``, … (a hard
    link, which fails rather than replace a file that appeared meanwhile). Nothing written means
    nothing created.
    """

    path: Path
    _tmp: Path | None = None
    _handle: BinaryIO | None = None

    def open(self) -> BinaryIO:
        """The handle to write to; the (temporary) file is created on the first call."""
        if self._handle is None:
            fd, self._tmp = _temp_file(self.path)
            self._tmp.chmod(_new_file_mode())
            self._handle = os.fdopen(fd, "wb")
        return self._handle

    def write(self, data: bytes) -> None:
        self.open().write(data)

    def commit(self) -> Path | None:
        """Put the file in place; its final path, or None when nothing was written."""
        if self._handle is None or self._tmp is None:
            return None
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        for candidate in _numbered(self.path):
            try:
                os.link(self._tmp, candidate)
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links: check, then rename
                if candidate.exists():
                    continue
                self._tmp.replace(candidate)
                return candidate
            self._tmp.unlink()
            return candidate
        raise AssertionError("unreachable: the numbered names never run out")

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()


def _mode_for(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return _new_file_mode()


def _new_file_mode() -> int:
    """The mode a plain open() gives a new file under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
