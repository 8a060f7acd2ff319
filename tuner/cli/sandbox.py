"""``tuner sandbox``: run the local stand-in for the fine-tuning API (training is simulated)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from tuner.cli.output import err_console, fail
from tuner.config import is_loopback_host

app = typer.Typer(
    help="A local server that speaks the fine-tuning API, for offline use, demos and tests. "
    "It SIMULATES training; it is not the Mistral API.",
    no_args_is_help=True,
)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8000, "--port", help="Port to bind; 0 picks a free one."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Where files, jobs and models persist \\[default: XDG data dir]."
    ),
    speed: float = typer.Option(
        1.0, "--speed", help="Simulated-clock speed: 100 makes a 100-step job finish in seconds."
    ),
    manual_clock: bool = typer.Option(
        False, "--manual-clock", help="Freeze the clock; move it with POST /sandbox/clock/advance."
    ),
    faults: str | None = typer.Option(
        None,
        "--faults",
        help='Seeded fault injection, e.g. "429=0.1,500=0.05,drop=0.02,latency=0.3@0.2".',
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for faults and simulated losses."),
    api_key: str | None = typer.Option(
        None,
        "--api-key",
        help="Accept only this bearer key \\[default: any non-empty key; required with a "
        "non-loopback --host].",
    ),
    allowed_host: list[str] = typer.Option(
        [],
        "--allowed-host",
        help="With a non-loopback --host: a further Host name to answer (repeatable). Loopback "
        "names are always answered; any other Host gets 400.",
    ),
    provider: str = typer.Option(
        "mistral",
        "--provider",
        help="Whose API to speak: mistral, or openai (OpenAI's paths and shapes under /v1).",
    ),
) -> None:
    """Serve the sandbox API until Ctrl-C.

    It listens on loopback unless --host says otherwise; a non-loopback --host needs --api-key
    (else anyone on the network could list, download and delete its files).
    """
    from tuner.sandbox.server import DataDirError
    from tuner.sandbox.server import serve as run

    if not is_loopback_host(host) and api_key is not None:
        err_console.print(
            f"[yellow]warning:[/] binding {escape(host)}: the sandbox is reachable from other "
            "machines."
        )
    try:
        run(
            host=host,
            port=port,
            data_dir=data_dir,
            speed=speed,
            faults=faults,
            seed=seed,
            api_key=api_key,
            manual_clock=manual_clock,
            provider=provider,
            allowed_hosts=allowed_host,
        )
    except DataDirError as exc:
        fail(str(exc), hint="Give --data-dir a directory (it is created if missing).")
    except ValueError as exc:
        fail(str(exc), hint="See `tuner sandbox serve --help`.")
    except OSError as exc:
        fail(f"cannot bind {host}:{port}: {exc.strerror or exc}", hint="Try another --port.")
