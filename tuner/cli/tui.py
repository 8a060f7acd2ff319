"""``tuner tui``: the dashboard over the configured API and the ledger.

Thin: settings, client and ledger come from ``tuner.cli.context``; the app (``tuner.tui``) is
imported inside the command, so ``tuner --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from tuner.cli.context import load_context, require_ledger

TUI_HELP = (
    "The dashboard: jobs live (status, loss curves, checkpoints, lineage), datasets and their "
    "findings, files and models, evaluations side by side, and a chat playground."
)
SCREENS = ("jobs", "data", "files", "evaluate", "playground")


def tui(
    interval: float = typer.Option(
        10.0,
        "--interval",
        min=1.0,
        help="Seconds between refreshes (a refresh starts only after the previous one ended).",
    ),
    screen: str = typer.Option(
        "jobs", "--screen", help=f"The screen to start on: {', '.join(SCREENS)}."
    ),
    data: Path | None = typer.Option(
        None, "--data", show_default=False, help="A JSONL file to open in the Data screen."
    ),
    read_only: bool = typer.Option(
        False,
        "--no-poll",
        help="Never poll the API for job changes; only read the ledger (a daemon fills it).",
    ),
) -> None:
    if screen not in SCREENS:
        raise typer.BadParameter(f"choose one of {', '.join(SCREENS)}", param_hint="--screen")
    ctx = load_context()
    services = ctx.services()
    require_ledger(services)  # a ledger that cannot be opened: one line and exit 2
    from tuner.tui import make_app

    # The app builds the client after its first frame (the jobs come from the ledger alone).
    app = make_app(
        services=services,
        poll_interval=interval,
        self_poll=not read_only,
        close_client=True,
        mode=screen,  # type: ignore[arg-type]
        data_path=data,
    )
    try:
        app.run()
    finally:
        services.close_ledger()
