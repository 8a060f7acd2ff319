"""The ``tuner`` command."""

from __future__ import annotations

import typer

from tuner import __version__

app = typer.Typer(
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
