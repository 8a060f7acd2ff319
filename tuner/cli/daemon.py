"""``tuner daemon``: follow every active job, record each change in the ledger, notify.

Runs until SIGTERM or Ctrl-C (stops within 5 s), or one cycle with ``--once`` for cron or a
systemd timer (see ``examples/systemd/``). Logs go to stderr (the journal under systemd).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from tuner.cli.context import (
    CommandContext,
    Session,
    describe_api_error,
    fail_api,
    hooks,
    load_context,
    run_async,
    session,
    wandb_key,
)
from tuner.cli.output import Exit, emit_json, err_console, fail, shown
from tuner.textsafe import inert

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tuner.config import Settings
    from tuner.jobs.daemon import CycleReport, Daemon, DaemonConfig, DrainQueue
    from tuner.jobs.notifiers import Notifier

T = TypeVar("T")

# The core is imported inside the command, so `tuner --help` stays fast.

DAEMON_HELP = (
    "Poll the API on a schedule, record every job change in the ledger, and notify "
    "(log always; --webhook, --command). One daemon per ledger (a lease); --once for cron."
)

# Library loggers that are too chatty at INFO; httpx's would also print every request URL,
# and a webhook URL is a secret.
_QUIET_LOGGERS = ("httpx", "httpcore", "apscheduler")


def daemon(
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
    """Follow active jobs into the ledger and notify on every status change."""
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
    outcome = run_async(_serve(ctx, plan, once=once), api_url=ctx.backend)
    _finish(outcome, once=once, as_json=as_json, api_url=ctx.backend)


@dataclass(frozen=True)
class DaemonOptions:
    """The command's options; None means "take the setting"."""

    interval: float | None = None
    idle_interval: float | None = None
    max_interval: float = 1800.0
    lease_ttl: int = 120
    webhook: str | None = None
    webhook_timeout: float = 10.0
    command: str | None = None
    command_timeout: float = 60.0
    max_active: int | None = None


@dataclass(frozen=True)
class DaemonPlan:
    """What the daemon runs with: its schedule, its notifiers and the queue's limit."""

    config: DaemonConfig
    notifiers: list[Notifier]
    max_active: int


def plan_daemon(settings: Settings, options: DaemonOptions) -> DaemonPlan:
    """Options over settings (environment, then config file, then defaults).

    Raises ``ValueError`` (never showing a webhook URL) for an unusable value.
    """
    from tuner.jobs.daemon import DaemonConfig

    def chosen(option: T | None, setting: T) -> T:
        return setting if option is None else option

    config = DaemonConfig(
        interval=chosen(options.interval, settings.daemon_interval),
        idle_interval=chosen(options.idle_interval, settings.daemon_idle_interval),
        max_interval=options.max_interval,
        lease_ttl=options.lease_ttl,
    )
    stored_url = settings.webhook_url
    webhook = chosen(options.webhook, None if stored_url is None else stored_url.get_secret_value())
    notifiers = _notifiers(
        webhook,
        options.webhook_timeout,
        chosen(options.command, settings.notify_command),
        options.command_timeout,
        settings.notify_env,
    )
    return DaemonPlan(config, notifiers, chosen(options.max_active, settings.max_active_jobs))


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


def _notifiers(
    webhook: str | None,
    webhook_timeout: float,
    command: str | None,
    command_timeout: float,
    command_env: Sequence[str] = (),
) -> list[Notifier]:
    from tuner.jobs.notifiers import CommandNotifier, LogNotifier, WebhookNotifier

    found: list[Notifier] = [LogNotifier()]
    if webhook:
        found.append(WebhookNotifier(webhook, timeout=webhook_timeout))
    if command:
        found.append(CommandNotifier(command, timeout=command_timeout, pass_env=command_env))
    return found


async def _serve(
    ctx: CommandContext, plan: DaemonPlan, *, once: bool
) -> tuple[Daemon, CycleReport | None]:
    from tuner.jobs.daemon import Daemon, run_until_stopped

    async with session(ctx, notifiers=[n.name for n in plan.notifiers]) as s:
        daemon = Daemon(
            s.client,
            s.ledger,
            plan.notifiers,
            plan.config,
            clock=hooks.now,
            drain_queue=_drain_queue(s, plan.max_active),
        )
        report = await run_until_stopped(daemon, once=once)
        return daemon, report


def _drain_queue(s: Session, max_active: int) -> DrainQueue:
    """The submission queue's drain, bound to this session and the daemon's clock; the W&B key
    for queued specs with an integration comes from WANDB_API_KEY (never from the ledger)."""
    from tuner.jobs.daemon import queue_drainer

    return queue_drainer(
        s.client,
        s.ledger,
        backend=s.backend,
        clock=hooks.now,
        max_active=max_active,
        wandb_key=wandb_key(),
    )


def _finish(
    outcome: tuple[Daemon, CycleReport | None], *, once: bool, as_json: bool, api_url: str
) -> None:
    daemon, report = outcome
    if daemon.fatal is not None:
        fail_api(daemon.fatal, api_url)
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
    if report.error is not None:
        failure = describe_api_error(report.error, api_url)
        fail(failure.message, hint=failure.hint, code=Exit.API)
    if report.interrupted:
        raise typer.Exit(int(Exit.OK))


def _report_json(report: CycleReport) -> dict[str, Any]:
    poll = report.poll
    body: dict[str, Any] = {
        "ran": report.ran,
        "lease_holder": report.holder,
        "error": None if report.error is None else str(report.error),
        "submitted": report.submitted,
        "queued": report.queued,
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
