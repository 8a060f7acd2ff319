"""``tuner daemon``: follow every active job, record each change in the ledger, notify.

Runs until SIGTERM or Ctrl-C (stops within 5 s), or one cycle with ``--once`` for cron or a
systemd timer (see ``examples/systemd/``). Logs go to stderr (the journal under systemd).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.table import Table

from tuner.cli.context import (
    CommandContext,
    Failure,
    describe_api_error,
    load_context,
    run_async,
    session,
)
from tuner.cli.output import Exit, console, emit_json, err_console, fail, print_error, shown
from tuner.services import DaemonOptions, DaemonPlan, plan_daemon
from tuner.textsafe import inert

if TYPE_CHECKING:
    from tuner.jobs.daemon import CycleReport, Daemon, ProviderFailure

# The core is imported inside the command, so `tuner --help` stays fast.

DAEMON_HELP = (
    "Poll the API on a schedule, record every job change in the ledger, and notify "
    "(log always; --webhook, --command). One daemon per ledger (a lease); --once for cron."
)

# Library loggers that are too chatty at INFO; httpx's would also print every request URL,
# and a webhook URL is a secret.
_QUIET_LOGGERS = ("httpx", "httpcore", "apscheduler")


app = typer.Typer(help=DAEMON_HELP, invoke_without_command=True, no_args_is_help=False)
notifiers_app = typer.Typer(
    help="The notifiers registered in the ledger. A notifier a daemon ran with stays registered "
    "(every transition gets a notification for it, delivered by a daemon that has it) until "
    "it is removed here.",
    no_args_is_help=True,
)
app.add_typer(notifiers_app, name="notifiers")


@app.callback(invoke_without_command=True)
def daemon(
    context: typer.Context,
    interval: float | None = typer.Option(
        None,
        "--interval",
        min=0.05,
        show_default=False,
        help="Seconds between cycles while jobs are active (default: the daemon_interval "
        "setting (TUNER_DAEMON_INTERVAL or the config file), else 30).",
    ),
    idle_interval: float | None = typer.Option(
        None,
        "--idle-interval",
        min=0.05,
        show_default=False,
        help="Seconds between cycles when no job is active (default: the daemon_idle_interval "
        "setting (TUNER_DAEMON_IDLE_INTERVAL or the config file), else 300).",
    ),
    max_interval: float = typer.Option(
        1800.0,
        "--max-interval",
        min=0.05,
        help="The longest wait after rate limits (429) or failures.",
    ),
    once: bool = typer.Option(
        False,
        "--once",
        help="Run one cycle and exit (cron, systemd timer); exit 3 if the API cannot be reached.",
    ),
    webhook: str | None = typer.Option(
        None,
        "--webhook",
        show_default=False,
        help="POST each transition as JSON here (Slack-compatible `text`); https, or http on "
        "loopback; an empty value turns the setting off. Prefer the webhook_url setting "
        "(TUNER_WEBHOOK_URL or the config file): the URL is a secret.",
    ),
    webhook_timeout: float = typer.Option(
        10.0, "--webhook-timeout", min=0.1, help="Seconds a webhook POST may take."
    ),
    command: str | None = typer.Option(
        None,
        "--command",
        show_default=False,
        help="Run this shell command per transition (TUNER_JOB_ID, TUNER_JOB_STATUS, "
        "TUNER_JOB_PREVIOUS_STATUS, TUNER_TRANSITION_ID, TUNER_FINE_TUNED_MODEL, …; the JSON "
        "payload on stdin). Default: the notify_command setting (TUNER_NOTIFY_COMMAND or the "
        "config file); an empty value turns the setting off.",
    ),
    command_timeout: float = typer.Option(
        60.0, "--command-timeout", min=0.1, help="Seconds the command may run."
    ),
    lease_ttl: int = typer.Option(
        120,
        "--lease-ttl",
        min=3,
        help="Seconds the daemon lease outlives its last renewal (how soon another host may "
        "take over after a crash).",
    ),
    max_active: int | None = typer.Option(
        None,
        "--max-active",
        min=1,
        show_default=False,
        help="Queued specs are submitted while fewer jobs than this are active (default: the "
        "max_active_jobs setting (TUNER_MAX_ACTIVE_JOBS or the config file), else 3).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="With --once: print the cycle's figures as one JSON object."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    """Follow active jobs into the ledger and notify on every status change.

    Notifiers given here or by the settings are registered in the ledger and stay registered
    until `tuner daemon notifiers remove NAME`: a later run without them does not drop their
    notifications, which wait until a daemon that has them delivers them.
    """
    if context.invoked_subcommand is not None:
        return
    _configure_logging(verbose)
    ctx = load_context()
    try:
        plan = plan_daemon(
            ctx.settings,
            DaemonOptions(
                interval=interval,
                idle_interval=idle_interval,
                max_interval=max_interval,
                lease_ttl=lease_ttl,
                webhook=webhook,
                webhook_timeout=webhook_timeout,
                command=command,
                command_timeout=command_timeout,
                max_active=max_active,
            ),
        )
    except ValueError as exc:
        fail(str(exc), hint="See `tuner daemon --help`.")
    # Each provider's failures are caught in the daemon and reported with their own server
    # (describe_failure); what escapes is Mistral's client's.
    outcome = run_async(_serve(ctx, plan, once=once), api_url=ctx.backend)
    _finish(outcome, once=once, as_json=as_json)


def describe_failure(failure: ProviderFailure) -> Failure:
    """A provider's failure as the CLI reports any API error (``describe_api_error``), named
    after the provider, with that provider's server and settings in the message and hint."""
    report = describe_api_error(failure.error, failure.backend, provider=failure.provider)
    # "cannot reach URL" and "URL failed" name the server already; other answers do not.
    where = "" if failure.backend in report.message else f" ({failure.backend})"
    message = f"{failure.label}: {failure.action} failed{where}: {report.message}"
    return Failure(message, report.hint, report.code)


def explain_failure(failure: ProviderFailure) -> str:
    """A provider's failure as one log line, its hint included (the journal is all a daemon
    under systemd has to say what to fix)."""
    report = describe_failure(failure)
    return report.message if report.hint is None else f"{report.message}; hint: {report.hint}"


class InertFormatter(logging.Formatter):
    """Log lines quote job suffixes, model names and server messages: shown inert."""

    def format(self, record: logging.LogRecord) -> str:
        return inert(super().format(record), multiline=True)


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(InertFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


async def _serve(
    ctx: CommandContext, plan: DaemonPlan, *, once: bool
) -> tuple[Daemon, CycleReport | None]:
    from tuner.jobs.daemon import run_until_stopped

    async with session(ctx, notifiers=[n.name for n in plan.notifiers]) as s:
        daemon = s.daemon(plan, explain=explain_failure)
        report = await run_until_stopped(daemon, once=once)
        return daemon, report


def _finish(outcome: tuple[Daemon, CycleReport | None], *, once: bool, as_json: bool) -> None:
    daemon, report = outcome
    if daemon.fatal is not None:
        # Every provider's keys were rejected: say each failure of the cycle, the fatal last.
        failures = [f for f in (() if report is None else report.failures) if f != daemon.fatal]
        _fail_with([*failures, daemon.fatal], code=describe_failure(daemon.fatal).code)
    if not once or report is None:
        return
    if as_json:
        emit_json(_report_json(report))
    if not report.ran:
        err_console.print(
            f"[yellow]skipped:[/] another daemon holds the lease ({shown(report.holder)}); "
            "it is doing this work."
        )
        return
    waiting = (
        ("submission queue", report.queue_holder, report.queue_holder_expires_at,
         report.queued - report.openai_queued),
        ("OpenAI submission queue", report.openai_queue_holder,
         report.openai_queue_holder_expires_at, report.openai_queued),
    )  # fmt: skip
    for queue, holder, until, count in waiting:
        if holder is None or not count:
            continue
        when = "" if until is None else f" until {_when(until)} UTC"
        err_console.print(
            f"waiting: the {queue} is held by {shown(holder)}{when}; "
            f"{count} queued job(s) wait for it",
            markup=False,
        )
    if report.failures:
        _fail_with(report.failures, code=Exit.API)
    if report.interrupted:
        raise typer.Exit(int(Exit.OK))


def _fail_with(failures: Sequence[ProviderFailure], *, code: Exit) -> NoReturn:
    """Each failure as an error line with its hint, then exit with ``code``."""
    *earlier, last = [describe_failure(failure) for failure in failures]
    for failure in earlier:
        print_error(failure.message, failure.hint)
    fail(last.message, hint=last.hint, code=code)


def _report_json(report: CycleReport) -> dict[str, Any]:
    poll = report.poll
    body: dict[str, Any] = {
        "ran": report.ran,
        "lease_holder": report.holder,
        "error": None if report.error is None else str(report.error),
        "failures": [_failure_json(failure) for failure in report.failures],
        "submitted": report.submitted,
        "queued": report.queued,
        "queue_holder": report.queue_holder,
        "openai_queue_holder": report.openai_queue_holder,
        "notifications_sent": report.delivery.sent,
        "notifications_failed": report.delivery.failed,
        "interrupted": report.interrupted,
    }
    if poll is not None:
        body.update(
            active=poll.active,
            listed=dict(poll.listed),
            requests=poll.requests,
            list_requests=poll.list_requests,
            detail_requests=poll.detail_requests,
            request_bound=poll.request_bound,
            changed=list(poll.changed),
            left=list(poll.left),
            transitions=poll.transitions,
            checkpoints=poll.checkpoints,
            seconds=round(poll.elapsed, 3),
        )
    return body


def _failure_json(failure: ProviderFailure) -> dict[str, Any]:
    described = describe_failure(failure)
    return {
        "provider": failure.provider,
        "url": failure.backend,
        "action": failure.action,
        "message": described.message,
        "hint": described.hint,
    }


@notifiers_app.command("list")
def list_notifiers(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Registered notifiers: active or removed, where their target comes from, and how many
    notifications wait for them."""
    ledger = load_context().ledger()
    try:
        registry = ledger.notifier_registry()
    finally:
        ledger.close()
    if as_json:
        emit_json([record.model_dump() for record in registry])
        return
    if not registry:
        console.print("No notifier is registered; `tuner daemon --command …` or `--webhook …`.")
        return
    table = Table()
    for column in ("name", "state", "target from", "pending", "registered"):
        table.add_column(column)
    for record in registry:
        table.add_row(
            record.name,
            "active" if record.active else "removed",
            record.source or "-",
            str(record.pending),
            _when(record.registered_at),
        )
    console.print(table)


@notifiers_app.command("remove")
def remove_notifier(
    name: str = typer.Argument(
        ..., help="The notifier's name (see `tuner daemon notifiers list`)."
    ),
) -> None:
    """Remove a registered notifier: no more notifications are created for it, and those still
    waiting for it are given up (marked failed)."""
    from tuner.jobs.ledger import NotFoundError

    ctx = load_context()
    ledger = ctx.ledger()
    try:
        given_up = ledger.remove_notifier(name, now=int(time.time()))
    except NotFoundError as exc:
        fail(str(exc), hint="See `tuner daemon notifiers list`.", code=Exit.FAILED)
    finally:
        ledger.close()
    console.print(f"removed {name}; {given_up} waiting notification(s) given up", markup=False)


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")
