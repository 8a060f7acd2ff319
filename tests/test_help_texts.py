"""Every command's ``--help`` shows its help texts whole.

Typer renders help with rich markup, which swallows anything that looks like a tag: an
unescaped ``[default: …]`` in a help text vanished and left "counts tokens ." behind. This test
renders each command's help and checks that every option's and command's text is in it, word
for word.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from tuner.cli.main import app

_BOX = re.compile(r"[│╭╮╰╯─]")


def _commands() -> Iterator[tuple[list[str], Any]]:
    """Every command with its path (typer's own click types: ``Any`` here)."""
    root = typer.main.get_command(app)

    def walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
        yield path, command
        # typer vendors its own click: a group is whatever lists sub-commands.
        if hasattr(command, "list_commands"):
            context = command.context_class(command)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None
                yield from walk(sub, [*path, name])

    yield from walk(root, [])


COMMANDS = list(_commands())


def _flat(text: str) -> str:
    """Help output without panel borders and line wrapping: one line of single spaces."""
    return " ".join(_BOX.sub(" ", text).split())


def _shown(text: str) -> str:
    """A help text as it should read on screen (``\\[`` is rich's escape for a bracket)."""
    return " ".join(text.replace("\\[", "[").split())


def _texts(command: Any) -> list[str]:
    texts = [param.help for param in command.params if getattr(param, "help", None)]
    if command.help:
        # The first paragraph: typer shows the whole docstring, but re-flows later paragraphs.
        texts.append(command.help.split("\n\n")[0])
    return [_shown(text) for text in texts if text]


def test_every_command_is_checked() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"data validate", "data split", "files download", "sandbox serve", "eval run"} <= names


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "tuner" for p, _ in COMMANDS]
)
def test_help_shows_every_text_whole(path: list[str], command: Any) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    shown = _flat(result.output)
    for text in _texts(command):
        assert text in shown, f"{' '.join(path)} --help lost part of: {text!r}"
    # What a swallowed tag leaves behind: a space before the full stop.
    assert not re.search(r"\w \.(\s|$)", shown), shown
    assert "a assistant" not in shown
