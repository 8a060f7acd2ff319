"""The ``tuner`` command."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from tuner import __version__


class _TunerGroup(TyperGroup):
    """The root command: a ledger error from any command is one line and exit 2.

    Commands that go through ``run_async`` already turn ``LedgerError`` into one line; this
    catches the rest (a damaged ledger met by a synchronous command, or while resolving a job
    id), so no ledger failure ends in a traceback.
    """

    def invoke(self, ctx: Any) -> Any:  # typer.Context; typer vendors click, so Any
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from tuner.jobs.ledger.errors import LedgerError  # here: `tuner --help` stays fast

            if not isinstance(exc, LedgerError):
                raise
            from tuner.cli.context import LEDGER_HINT
            from tuner.cli.output import Exit, fail

            fail(f"ledger: {exc}", hint=LEDGER_HINT, code=Exit.USAGE)


app = typer.Typer(
    cls=_TunerGroup,
    name="tuner",
    help="Validate training data, launch and follow Mistral fine-tuning jobs, evaluate models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tuner {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """tuner: the Mistral fine-tuning toolkit."""


def _register() -> None:
    from tuner.cli import daemon, data, sandbox

    app.add_typer(data.app, name="data")
    app.add_typer(daemon.app, name="daemon")
    app.add_typer(sandbox.app, name="sandbox")
    from tuner.cli import eval as eval_cli

    app.add_typer(eval_cli.app, name="eval")
    from tuner.cli import files, jobs, models, tui

    for group, name in ((files, "files"), (jobs, "jobs"), (models, "models")):
        app.add_typer(group.app, name=name)
    app.command("tui", help=tui.TUI_HELP)(tui.tui)


_register()


def main() -> None:
    app()
