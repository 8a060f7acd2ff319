"""Errors of the data layer that stop a command before any finding can be made."""

from __future__ import annotations

import os
from pathlib import Path


class DataInputError(Exception):
    """An input cannot be read at all: missing, a directory, unreadable.

    The message is one line naming the path and the reason (``"train.jsonl: no such file"``);
    the CLI prints it and exits 2. Problems *inside* a readable file are findings, not this.
    """


def input_error(path: str | os.PathLike[str], reason: str) -> DataInputError:
    """The one-line error for ``path``: ``"<path>: <reason>"``."""
    return DataInputError(f"{os.fspath(path)}: {reason}")


def check_readable(path: str | os.PathLike[str]) -> int:
    """The size in bytes of the file at ``path``, or a :class:`DataInputError` saying why not.

    Opens the file once, so a permission problem is reported here, before any work starts.
    """
    if Path(path).is_dir():
        raise input_error(path, "is a directory, not a JSONL file")
    try:
        with open(path, "rb") as handle:  # noqa: PTH123 - only probing that it opens
            return os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        raise input_error(path, "no such file") from None
    except PermissionError:
        raise input_error(path, "permission denied") from None
    except OSError as error:
        raise input_error(path, f"cannot read ({error.strerror or error})") from None
