"""``tuner jobs``: create jobs from specs, and list, show, start, cancel and follow them.

Thin: parse, call ``tuner.jobs`` (the orchestrator and the ledger), render. Every listing takes
``--json`` (one JSON document on stdout; prompts and progress go to stderr).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgressBar
from rich.table import Table

from tuner.cli.context import CommandContext, load_context, run_async, session
from tuner.cli.output import (
    Exit,
    console,
    emit_json,
    err_console,
    fail,
    mark_origin,
    progress_for,
    shown,
    shown_text,
    simulated_banner,
    wire_json,
    with_backend,
)
from tuner.jobs.ledger import LedgerCorruptError, LedgerError, open_ledger
from tuner.textsafe import inert

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from tuner.api import Job
    from tuner.jobs.orchestrator import CreateResult, Plan
    from tuner.jobs.records import Backend
    from tuner.jobs.watch import WatchFrame
    from tuner.services import CancelOutcome

app = typer.Typer(
    help="Create fine-tuning jobs from specs; list, show, start, cancel and follow them.",
    no_args_is_help=True,
)

JsonOpt = typer.Option(False, "--json", help="Print JSON instead of text.")
YesOpt = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bars.")
MaxCostOpt = typer.Option(
    None,
    "--max-cost",
    min=0.0,
    help="Refuse when a job's billed cost (with the $4 minimum fee) is above this; "
    "for a sweep, also the total.",
)
MaxActiveOpt = typer.Option(
    None,
    "--max-active",
    min=1,
    help="Jobs the submission queue lets run at once (default: the max_active_jobs setting "
    "(TUNER_MAX_ACTIVE_JOBS or the config file), else 3).",
    show_default=False,
)
IntervalOpt = typer.Option(10.0, "--interval", min=0.0, help="Seconds between polls.")
_FULL_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_OPENAI_ID = re.compile(r"^ftjob-[A-Za-z0-9]{8,}$")
"""OpenAI's job ids (``ftjob-`` and a random part): full ids, never prefixes of one."""


def full_job_id(value: str) -> str:
    """A job id, or a unique prefix of one the ledger knows (the short ids tables show)."""
    if _FULL_ID.match(value) or _OPENAI_ID.match(value):
        return value
    try:
        with open_ledger() as ledger:
            prefix = value.lower()
            matches = [job.id for job in ledger.list_jobs() if job.id.startswith(prefix)]
    except LedgerCorruptError:
        raise  # a damaged ledger is said as such (one line, by the root command), not "no job"
    except LedgerError:
        matches = []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise typer.BadParameter(
            f"no job in the ledger starts with {value!r}: give the full id (see `tuner jobs list`)"
        )
    raise typer.BadParameter(f"{value!r} is the start of {len(matches)} jobs: give more of it")


def _provider_of(job_id: str) -> str:
    """The job's provider: as the ledger knows it, else as its id says (the core's rule). A
    damaged ledger is refused rather than guessed past."""
    from tuner.services import job_provider_of

    try:
        with open_ledger() as ledger:
            record = ledger.get_job(job_id)
    except LedgerCorruptError:
        raise
    except LedgerError:
        record = None
    return job_provider_of(job_id, record)


def _server(job_id: str, ctx: CommandContext) -> tuple[str, str]:
    """The server a command about ``job_id`` talks to, for error messages: its provider and
    that provider's URL."""
    provider = _provider_of(job_id)
    return provider, ctx.settings.openai_base_url if provider == "openai" else ctx.backend


def _mistral_only(job_id: str, what: str, hint: str) -> None:
    """Exit 2 when ``job_id`` is an OpenAI job: ``what`` is a Mistral-only command."""
    if _provider_of(job_id) == "openai":
        fail(f"job {job_id} is an OpenAI job: {what}", hint=hint)


IdArg = typer.Argument(..., help="The job id, or a unique start of it.", callback=full_job_id)


def _ask(question: str) -> bool:
    """A yes/no question on stderr (stdout may carry JSON); no answer means no."""
    try:
        return typer.confirm(question, default=False, err=True)
    except click.exceptions.Abort:
        return False


# --------------------------------------------------------------------------- create


@app.command()
def create(
    spec: Path = typer.Argument(..., help="The job spec (TOML); paths in it are relative to it."),
    yes: bool = YesOpt,
    max_cost: float | None = MaxCostOpt,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Validate the data and estimate the cost; create nothing."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the created jobs as a JSON list."),
    max_active: int | None = MaxActiveOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Validate, upload, create, show the cost, confirm, start.

    An OpenAI spec (provider = "openai") is counted and estimated locally and confirmed before
    anything is uploaded: creating an OpenAI job starts it, so there is no later confirmation.

    The model must be fine-tunable and the data valid before anything is uploaded; each file is
    uploaded once (an unchanged file already on the server is reused). A single job is created
    with auto_start=false, and once VALIDATED its cost (local estimate beside the server's) is
    shown for confirmation. A sweep's estimate is confirmed once; its members go through the
    submission queue and are started within the budget, by this command or later the daemon.
    """
    from tuner.jobs.spec import SpecError, load_spec

    try:
        spec_file = load_spec(spec)
    except SpecError as exc:
        fail(str(exc), hint="See examples/jobs/*.toml for the spec format.")
    ctx = load_context()
    out = err_console if as_json else console
    if spec_file.job.is_openai:
        from tuner.cli.jobs_openai import create_openai

        create_openai(
            spec_file,
            ctx,
            out,
            yes=yes,
            max_cost=max_cost,
            dry_run=dry_run,
            as_json=as_json,
            max_active=max_active,
            quiet=quiet,
            ask=_ask,
        )
        return

    def confirm(plan: Plan) -> bool:
        render_plan(plan, out)
        return yes or _ask(_question(plan))

    async def body() -> tuple[CreateResult, Backend]:
        async with session(ctx) as s:
            with progress_for(quiet or as_json) as progress:
                orch = s.orchestrator(progress=progress, confirm=confirm, max_active=max_active)
                created = await orch.create(spec_file, max_cost=max_cost, dry_run=dry_run)
                return created, s.origin()

    result, origin = _run_create(body, ctx)
    _report_create(result, out, as_json, origin)


def _run_create(
    body: Callable[[], Coroutine[Any, Any, tuple[CreateResult, Backend]]], ctx: CommandContext
) -> tuple[CreateResult, Backend]:
    from tuner.jobs.orchestrator import OrchestratorError
    from tuner.jobs.spec import SpecError

    try:
        result = run_async(body(), api_url=ctx.backend)
    except SpecError as exc:
        fail(str(exc), hint="Fix the job spec and run the command again.")
    except OrchestratorError as exc:
        fail(str(exc), code=Exit.FAILED)
    return result


def _question(plan: Plan) -> str:
    total = plan.total_cost
    cost = f" for about ${total:,.2f}" if total is not None else ""
    count = len(plan.jobs)
    what = "this job" if count == 1 else f"these {count} jobs"
    return f"Start {what}{cost}?"


def _report_create(result: CreateResult, out: Console, as_json: bool, origin: Backend) -> None:
    from tuner.cli.data import render_refusal

    if result.outcome == "invalid":
        assert result.report is not None
        render_refusal(result.report.to_dict(), as_json=as_json, listing="jobs")
        fail(result.message or "the data has errors", code=Exit.FAILED)
    if result.outcome == "dry_run":
        if as_json:
            emit_json(_dry_run_json(result))
        else:
            render_plan(result.plan, out)
            if result.message:
                out.print(f"[dim]{escape(result.message)}[/]")
            out.print("[bold green]OK[/]: the data is valid; nothing was uploaded (--dry-run).")
        return
    if as_json:
        emit_json([with_backend(wire_json(job), origin) for job in result.jobs])
    elif result.jobs:
        mark_origin(origin)
    _summarise(result, out)
    if not result.ok:
        fail(
            result.message or _OUTCOME_TEXT[result.outcome],
            hint=_OVER_BUDGET_HINT if result.outcome == "over_budget" and not result.jobs else None,
            code=Exit.FAILED,
        )


def _dry_run_json(result: CreateResult) -> dict[str, Any]:
    return {
        "ok": True,
        "note": result.message,
        "validation": None if result.report is None else result.report.to_dict(),
        "plan": result.plan.to_dict(),
    }


_OVER_BUDGET_HINT = (
    "Nothing was uploaded or created. Raise --max-cost, or lower training_steps or epochs in "
    "the spec (`--dry-run` shows the estimate)."
)
_OUTCOME_TEXT = {
    "over_budget": "refused: over the --max-cost budget",
    "declined": "not started: the cost was not confirmed",
    "failed": "the job failed",
    "started": "started",
    "validated": "left VALIDATED",
    "queued": "queued",
    "submitted": "submitted",
}


def _summarise(result: CreateResult, out: Console) -> None:
    if result.outcome in ("validated", "over_budget"):
        render_plan(result.plan, out)  # nobody was asked, so the cost was not shown yet
    for job in result.jobs:
        out.print(
            f"[bold]{shown(job.id)}[/]  {shown(job.status)}  {shown(job.model)}  "
            f"{shown(job.suffix or '-')}"
        )
    outcome = result.outcome
    if outcome == "validated":
        ids = " ".join(job.id for job in result.jobs if job.status == "VALIDATED")
        out.print(f"Left VALIDATED; start it with: tuner jobs start {shown(ids)}")
    elif outcome in ("declined", "over_budget") and result.jobs:
        job_id = shown(result.jobs[0].id)
        out.print(
            f"The job waits VALIDATED: `tuner jobs start {job_id}` or `tuner jobs cancel {job_id}`."
        )
    elif outcome in ("queued", "submitted") and result.queued:
        out.print(
            f"{result.queued} job(s) wait in the submission queue; `tuner daemon` submits them "
            "as running jobs finish."
        )
    if result.reused:
        out.print(
            f"[yellow]note:[/] {result.reused} member(s) of this spec were still queued by an "
            "earlier run that did not finish; they were used, not queued again."
        )
    if result.message and result.ok:
        out.print(f"[yellow]note:[/] {shown(result.message)}")


def render_plan(plan: Plan, out: Console) -> None:
    """The estimate (and, once validated, the server's figures) for confirmation."""
    if len(plan.jobs) == 1:
        _render_one(plan, out)
    else:
        _render_sweep(plan, out)
    if plan.max_cost is not None:
        out.print(f"budget (--max-cost): {plan.max_cost:,.2f}")


def _render_one(plan: Plan, out: Console) -> None:
    job = plan.jobs[0]
    title = shown(f"{plan.model} {job.spec.suffix or ''}".strip())
    table = Table(title=f"Cost of {title} (local figures are ESTIMATES)", title_justify="left")
    table.add_column("field")
    table.add_column("local estimate", justify="right")
    dry = job.server_source == "server dry run"
    table.add_column("server (dry run)" if dry else "server", justify="right")
    if job.estimate is None and job.metadata is None:
        out.print(f"{title}: no cost estimate (no price known for {plan.model}).")
        return
    rows: list[tuple[str, Any, Any]] = [tuple(row) for row in job.comparison]
    if not rows:  # no local estimate: the server's figures alone
        meta = job.metadata or {}
        rows = [(key, "-", value) for key, value in meta.items() if value is not None]
    for name, local, server in rows:
        table.add_row(
            shown_text(name),
            shown_text(_shown(local)),
            shown_text(_shown(server) if server is not None else "-"),
        )
    out.print(table)
    if job.cost is not None:
        out.print(f"billed (at least the $4 minimum per job): about ${job.cost:,.2f}")


def _render_sweep(plan: Plan, out: Console) -> None:
    table = Table(
        title=f"Sweep of {len(plan.jobs)} {plan.model} jobs (costs are ESTIMATES)",
        title_justify="left",
    )
    table.add_column("suffix")
    table.add_column("values")
    table.add_column("steps", justify="right")
    table.add_column("billed", justify="right")
    for job in plan.jobs:
        values = ", ".join(f"{k}={v}" for k, v in job.spec.sweep_values.items())
        steps = job.estimate.training_steps if job.estimate is not None else None
        table.add_row(
            shown_text(job.spec.suffix or "-"),
            shown_text(values),
            _shown(steps) if steps is not None else "-",
            f"${job.cost:,.2f}" if job.cost is not None else "?",
        )
    out.print(table)
    total = plan.total_cost
    out.print(f"total: {'$' + format(total, ',.2f') if total is not None else 'unknown'}")


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# --------------------------------------------------------------------------- list and show


@app.command("list")
def list_jobs(
    status: str | None = typer.Option(None, "--status", help="Only jobs in this status."),
    model: str | None = typer.Option(None, "--model", help="Only jobs of this base model."),
    suffix: str | None = typer.Option(None, "--suffix", help="Only jobs with this suffix."),
    as_json: bool = JsonOpt,
) -> None:
    """Every job the API lists (all pages) of every provider that has a key (Mistral, OpenAI);
    each is recorded in the ledger. A provider that fails is one warning on stderr and the
    others are still listed. Statuses are the ledger's, with the provider's own word beside
    them when it differs; --json gives each job as its API has it, plus "provider"."""
    from tuner.cli.jobs_openai import ListedJob, emit_jobs, list_all

    filters = {
        key: value
        for key, value in {"status": status, "model": model, "suffix": suffix}.items()
        if value is not None
    }
    ctx = load_context()

    async def body() -> tuple[list[ListedJob], list[str]]:
        async with session(ctx) as s:
            return await list_all(s, filters)

    listed, warnings = run_async(body(), api_url=ctx.backend)
    emit_jobs(listed, warnings, as_json=as_json, when=_when)


def _when(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


def _refreshed(job_id: str, ctx: CommandContext) -> dict[str, Any]:
    """The job from the API, recorded, then read back from the ledger with its history."""

    async def body() -> dict[str, Any]:
        async with session(ctx) as s:
            await s.refresh_any(job_id)
            detail = await asyncio.to_thread(s.job_detail, job_id)
            if detail is None:
                fail(f"job {job_id} is not in the ledger", code=Exit.FAILED)
            return detail.to_dict()

    provider, url = _server(job_id, ctx)
    return run_async(body(), api_url=url, provider=provider)


@app.command()
def show(job_id: str = IdArg, as_json: bool = JsonOpt) -> None:
    """One job, refreshed from the API, with its transitions, checkpoints and events."""
    ctx = load_context()
    view = _refreshed(job_id, ctx)
    if as_json:
        emit_json(view)
        return
    _mark_view(view)
    # Everything in the view came from the server: shown inert, never as markup.
    status = view["status"]
    if str(view["provider_status"]).upper() != status:
        status = f"{status} ({view['provider_status']})"
    console.print(f"[bold]{shown(view['id'])}[/]  {shown(status)}  {shown(view['provider'])}")
    for key in ("model", "suffix", "fine_tuned_model", "trained_tokens", "sweep_id"):
        if view[key] is not None:
            console.print(f"  {key.replace('_', ' '):<18} {shown(view[key])}")
    console.print(f"  {'created':<18} {_when(view['created_at'])}")
    if view["hyperparameters"]:
        values = ", ".join(f"{k}={v}" for k, v in view["hyperparameters"].items() if v is not None)
        console.print(f"  {'hyperparameters':<18} {shown(values)}")
    # The server's targets when its job object carries them, else the spec's (said so).
    sent = " (as tuner sent it)" if view.get("classifier_targets_source") == "spec" else ""
    for target in view.get("classifier_targets") or []:
        console.print(f"  {'target':<18} {shown(_target_line(target))}{sent}")
    if view["provider"] == "openai":
        _openai_costs(view)
    if view["metadata"] and view["metadata"].get("cost") is not None:
        meta = view["metadata"]
        cost = f"{meta['cost']} {meta.get('cost_currency') or ''}"
        console.print(f"  {'cost':<18} {shown(cost)}")
    console.print("\n[bold]transitions[/]")
    for t in view["transitions"]:
        console.print(f"  {_when(t['at'])}  {shown(t['from'] or '-')} → {shown(t['to'])}")
    _render_checkpoints(view["checkpoints"])
    console.print(f"\n{len(view['events'])} event(s): `tuner jobs events {job_id}`")


def _mark_view(view: dict[str, Any]) -> None:
    """The SIMULATED banner above what a job detail view shows, when a sandbox reported it."""
    if view["backend"]["sandbox"]:
        simulated_banner([view["backend"]["url"]])


def _openai_costs(view: dict[str, Any]) -> None:
    """An OpenAI job's local estimate (agreed before it was created) beside what its own
    ``trained_tokens`` cost at the price table's figure (OpenAI reports no cost)."""
    from tuner.datasets.openai_cost import trained_cost

    meta = (view["spec"] or {}).get("tuner")
    estimated = meta.get("estimated_cost") if isinstance(meta, dict) else None
    if isinstance(estimated, int | float):
        console.print(f"  {'cost (estimate)':<18} ${estimated:,.2f} (agreed before creation)")
    tokens = view["trained_tokens"]
    found = trained_cost(view["model"], tokens) if isinstance(tokens, int) else None
    if found is not None:
        cost, price = found
        console.print(
            f"  {'cost (trained)':<18} ${cost:,.2f} ({tokens:,} trained tokens at "
            f"${price.usd_per_million_tokens:g}/M, price {price.source} {price.as_of})"
        )


def _target_line(target: dict[str, Any]) -> str:
    """A classifier target on one line, names and labels quoted as JSON (the caller shows the
    line inert)."""
    from tuner.datasets.classifier import shown as quoted

    labels = ", ".join(quoted(label) for label in target.get("labels") or [])
    weight = target.get("weight")
    # No loss function given: the server chooses (its default is not confirmed, see
    # docs/classifier.md), so none is made up here.
    kind = target.get("loss_function") or "loss function: server default"
    about = f"{kind}, weight {weight}" if weight is not None else kind
    return f"{quoted(target.get('name'))} ({about}): {labels}"


def _render_checkpoints(checkpoints: list[dict[str, Any]]) -> None:
    if not checkpoints:
        return
    table = Table(title="checkpoints", title_justify="left")
    for column in ("step", "train loss", "valid loss", "valid accuracy"):
        table.add_column(column, justify="right")
    for c in sorted(checkpoints, key=lambda item: item["step"]):
        metrics = c["metrics"] or {}
        table.add_row(
            shown_text(c["step"]),
            *(
                shown_text(_shown(metrics.get(k)) if metrics.get(k) is not None else "-")
                for k in ("train_loss", "valid_loss", "valid_mean_token_accuracy")
            ),
        )
    console.print(table)


@app.command()
def events(job_id: str = IdArg, as_json: bool = JsonOpt) -> None:
    """A job's events (status changes and others), oldest first."""
    view = _refreshed(job_id, load_context())
    if as_json:
        emit_json([{**event, "backend": view["backend"]} for event in view["events"]])
        return
    _mark_view(view)
    for event in sorted(view["events"], key=lambda e: e["created_at"] or 0):
        data = event["data"]
        detail = ", ".join(f"{k}={v}" for k, v in data.items()) if isinstance(data, dict) else ""
        line = f"{_when(event['created_at'])}  {event['name']}  {detail}"
        console.print(inert(line), markup=False)


@app.command()
def checkpoints(job_id: str = IdArg, as_json: bool = JsonOpt) -> None:
    """A job's checkpoints with their metrics."""
    view = _refreshed(job_id, load_context())
    if as_json:
        emit_json([{**point, "backend": view["backend"]} for point in view["checkpoints"]])
        return
    _mark_view(view)
    if not view["checkpoints"]:
        console.print("No checkpoints yet.")
    _render_checkpoints(view["checkpoints"])


# --------------------------------------------------------------------------- start and cancel


@app.command()
def start(job_id: str = IdArg, yes: bool = YesOpt, max_cost: float | None = MaxCostOpt) -> None:
    """Start a VALIDATED job, after showing its cost (asks unless --yes)."""
    from tuner.jobs.submit import billed_cost

    _mistral_only(
        job_id,
        "creating an OpenAI job starts it, so there is nothing to start",
        "Follow it with `tuner jobs show ID` or the daemon.",
    )
    ctx = load_context()

    async def body() -> Job | None:
        async with session(ctx) as s:
            orch = s.orchestrator()
            job = await orch.refresh(job_id)
            mark_origin(s.origin())
            if job.status != "VALIDATED":
                fail(f"job {job_id} is {job.status}; only a VALIDATED job can be started")
            cost = billed_cost(job.metadata.cost if job.metadata else None)
            if cost is not None:
                console.print(f"{shown(job_id)}: billed about ${cost:,.2f} (the server's metadata)")
            if max_cost is not None and (cost is None or cost > max_cost):
                fail(f"refused: the cost is over --max-cost {max_cost:,.2f}", code=Exit.FAILED)
            if not yes and not _ask(f"Start job {job_id}?"):
                return None
            return await orch.start(job_id)

    job = run_async(body(), api_url=ctx.backend)
    if job is None:
        fail("not started", code=Exit.FAILED)
    console.print(f"[bold]{shown(job.id)}[/]  {shown(job.status)}")


@app.command()
def cancel(job_id: str = IdArg, yes: bool = YesOpt) -> None:
    """Cancel a job at its provider (asks unless --yes); steps already trained are billed."""
    ctx = load_context()
    if not yes and not _ask(f"Cancel job {job_id}? Steps already trained are billed."):
        fail("not cancelled", code=Exit.FAILED)

    async def body() -> CancelOutcome:
        async with session(ctx) as s:
            return await s.cancel_any(job_id)

    provider, url = _server(job_id, ctx)
    outcome = run_async(body(), api_url=url, provider=provider)
    mark_origin(outcome.origin)
    console.print(f"[bold]{shown(outcome.id)}[/]  {shown(outcome.shown_status)}")


# --------------------------------------------------------------------------- watch


@app.command()
def watch(job_id: str = IdArg, interval: float = IntervalOpt) -> None:
    """Follow one job until it ends: status, a progress bar over steps, the latest losses.

    Mistral's and OpenAI's jobs alike (each polled at its own provider, recorded in the
    ledger). Exit 0 on SUCCESS, 1 when it ends otherwise, 3 when the API cannot be reached.
    """
    ctx = load_context()

    async def body() -> WatchFrame:
        async with session(ctx) as s:
            with JobView(console) as view:
                last: WatchFrame | None = None
                async for frame in s.watch_job(job_id, interval=interval):
                    view.update(frame)
                    last = frame
            assert last is not None  # watch yields at least once
            return last

    provider, url = _server(job_id, ctx)
    frame = run_async(body(), api_url=url, provider=provider)
    if not frame.succeeded:
        fail(f"{frame.failure or frame.status} (it ended there)", code=Exit.FAILED)
    console.print(f"[bold green]SUCCESS[/]: {shown(frame.fine_tuned_model or frame.id)}")


class JobView:
    """One job in the terminal: a bar over training steps with the status and latest losses.

    Piped (not a terminal), it prints a line whenever what it would show changes instead.
    """

    def __init__(self, out: Console) -> None:
        self._out = out
        self._bar: RichProgressBar | None = None
        self._task: Any = None
        self._last_line: str | None = None
        self._flagged = False

    def __enter__(self) -> JobView:
        if self._out.is_terminal:
            self._bar = RichProgressBar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("steps  {task.fields[losses]}"),
                TimeElapsedColumn(),
                console=self._out,
            )
            self._bar.start()
            self._task = self._bar.add_task("", total=None, losses="")
        return self

    def update(self, frame: WatchFrame) -> None:
        losses = _losses(frame)
        status = frame.status
        if frame.provider_status != status:  # OpenAI's own word beside the ledger's
            status = f"{status} ({frame.provider_status})"
        if frame.sandbox and not self._flagged:
            simulated_banner([frame.backend])
            self._flagged = True
        if self._bar is not None:
            self._bar.update(
                self._task,
                description=shown(f"{frame.id[:8]} {status}"),
                total=frame.total_steps,
                completed=frame.step,
                losses=losses,
            )
            return
        line = f"{frame.id}  {status}  step {frame.step}/{frame.total_steps or '?'}  {losses}"
        line = line.rstrip()
        if line != self._last_line:
            self._out.print(inert(line), markup=False)
            self._last_line = line

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()


def _losses(frame: WatchFrame) -> str:
    """The newest losses the job reported."""
    parts = [
        f"{label} {value:.4f}"
        for label, value in (("train loss", frame.train_loss), ("valid loss", frame.valid_loss))
        if value is not None
    ]
    return "  ".join(parts)
