"""``tuner jobs`` for OpenAI and across providers: what differs from Mistral's commands.

- ``create`` with an OpenAI spec: the local estimate is the only confirmation (creating an
  OpenAI job starts it), shown with the price table's source and date;
- ``list``: every provider that has a key, one table with a provider column (``--json``: each
  job under its API's own field names plus ``provider``); a provider that fails is one warning
  line and the others are still listed;
- ``show``/``events``/``checkpoints``/``cancel``/``watch``: routed to the job's provider by
  the core (``Services.refresh_any``, ``cancel_any``, ``watch_job``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from tuner.cli.context import CommandContext, describe_api_error, fail_api, run_async, session
from tuner.cli.output import (
    Exit,
    console,
    emit_json,
    err_console,
    fail,
    progress_for,
    shown,
    shown_text,
    simulated_banner,
    wire_json,
    with_backend,
)
from tuner.jobs.records import Backend

if TYPE_CHECKING:
    from tuner.jobs.openai_create import OpenAICreateResult, OpenAIPlan
    from tuner.jobs.spec import SpecFile
    from tuner.services import Services

OPENAI = "openai"
MISTRAL = "mistral"


# --------------------------------------------------------------------------- create


def create_openai(
    spec_file: SpecFile,
    ctx: CommandContext,
    out: Console,
    *,
    yes: bool,
    max_cost: float | None,
    dry_run: bool,
    as_json: bool,
    max_active: int | None,
    quiet: bool,
    ask: Any,
) -> None:
    """``tuner jobs create`` for an OpenAI spec (see the module doc)."""
    from tuner.jobs.spec import SpecError

    def confirm(plan: OpenAIPlan) -> bool:
        render_openai_plan(plan, out)
        count = len(plan.jobs)
        total = plan.total_cost
        cost = f" for about ${total:,.2f}" if total is not None else " (cost unknown)"
        what = "this job" if count == 1 else f"these {count} jobs"
        return yes or bool(ask(f"Create and start {what} on OpenAI{cost}?"))

    async def body() -> OpenAICreateResult:
        async with session(ctx) as s:
            with progress_for(quiet or as_json) as progress:
                creator = s.openai_creator(
                    confirm=confirm, progress=progress, max_active=max_active
                )
                return await creator.create(spec_file, max_cost=max_cost, dry_run=dry_run)

    try:
        result = run_async(body(), api_url=ctx.settings.openai_base_url, provider=OPENAI)
    except SpecError as exc:
        fail(str(exc), hint="Fix the job spec and run the command again.")
    _report(result, out, as_json)


def _report(result: OpenAICreateResult, out: Console, as_json: bool) -> None:
    from tuner.cli.data import render_refusal

    validation = None if result.report is None else result.report.to_dict()
    if result.outcome == "invalid":
        # As for a Mistral spec: the findings that stopped it, then one line (and the command).
        assert validation is not None
        render_refusal(validation, as_json=as_json, listing="jobs")
        fail(result.message or _TEXT["invalid"], code=Exit.FAILED)
    if result.outcome == "dry_run":
        if as_json:
            emit_json({"ok": True, "validation": validation, "plan": result.plan.to_dict()})
        else:
            render_openai_plan(result.plan, out)
            out.print(
                "[bold green]OK[/]: the data is valid under OpenAI's rules; nothing was uploaded "
                "(--dry-run)."
            )
        return
    if as_json:
        origin = Backend(url=result.backend, sandbox=result.sandbox)
        emit_json([with_backend(_job_json(job), origin) for job in result.jobs])
    if result.outcome in ("over_budget", "duplicate"):
        render_openai_plan(result.plan, out)
    if result.sandbox and result.jobs and not as_json:
        simulated_banner([result.backend])
    for job in result.jobs:
        out.print(
            f"[bold]{shown(job.id)}[/]  {shown(job.ledger_status or job.status)} "
            f"({shown(job.status)})  {shown(job.model)}  {shown(job.suffix or '-')}"
        )
    if result.queued:
        out.print(
            f"{result.queued} job(s) wait in the OpenAI submission queue; `tuner daemon` "
            "creates them as running jobs finish."
        )
    if result.reused:
        out.print(
            f"[yellow]note:[/] {result.reused} member(s) of this spec were still queued by an "
            "earlier run that did not finish; they were used, not queued again."
        )
    if not result.ok:
        fail(
            result.message or _TEXT[result.outcome],
            hint=_OVER_BUDGET_HINT if result.outcome == "over_budget" else None,
            code=Exit.FAILED,
        )
    if result.message:
        out.print(f"[yellow]note:[/] {shown(result.message)}")


_TEXT = {
    "declined": "not created: the cost was not confirmed",
    "failed": "the job could not be created",
    "invalid": "the data breaks OpenAI's rules; nothing was uploaded",
    "over_budget": "refused: over the --max-cost budget",
    "duplicate": "the same job exists already",
}
_OVER_BUDGET_HINT = (
    "Nothing was uploaded or created. Raise --max-cost, or set a smaller n_epochs in the spec "
    "(`--dry-run` shows the estimate)."
)


def render_openai_plan(plan: OpenAIPlan, out: Console) -> None:
    """The local estimate of each job: the only figures there are before an OpenAI job runs."""
    table = Table(
        title=f"OpenAI {shown(plan.model)}: cost ESTIMATES (creating a job starts it)",
        title_justify="left",
    )
    for column in ("suffix", "method", "examples", "tokens", "epochs", "USD/M", "cost"):
        table.add_column(column, justify="left" if column in ("suffix", "method") else "right")
    notes: set[str] = set()
    for job in plan.jobs:
        est = job.estimate
        if est is not None:
            notes.add(est.note)
        table.add_row(
            shown_text(job.spec.suffix or "-"),
            shown_text(job.spec.openai_method),
            "-" if est is None else f"{est.examples:,}",
            "-" if est is None else f"{est.data_tokens:,}",
            "-" if est is None or est.epochs is None else str(est.epochs),
            "-"
            if est is None or est.usd_per_million_tokens is None
            else f"{est.usd_per_million_tokens:g}",
            "?" if job.cost is None else f"${job.cost:,.2f}",
        )
    out.print(table)
    for note in sorted(notes):
        out.print(f"[dim]{shown(note)}[/]")
    if any(job.estimate is None for job in plan.jobs):
        out.print(
            "[dim]no estimate: the training file is not local, or its model family is unknown[/]"
        )
    if plan.max_cost is not None:
        out.print(f"budget (--max-cost): {plan.max_cost:,.2f}")


def _job_json(job: Any) -> dict[str, Any]:
    return {**wire_json(job), "provider": OPENAI, "ledger_status": job.ledger_status}


# --------------------------------------------------------------------------- list


@dataclass(frozen=True)
class ListedJob:
    """One job of any provider, as ``tuner jobs list`` shows it."""

    provider: str
    id: str
    status: str
    """The ledger's state."""
    provider_status: str
    model: str
    suffix: str | None
    fine_tuned_model: str | None
    created_at: int | None
    json: dict[str, Any]


async def list_all(s: Services, filters: dict[str, str]) -> tuple[list[ListedJob], list[str]]:
    """Every provider's jobs that has a key (Mistral's when no provider has one, so its
    missing-key error is what the user sees); the warnings of providers that failed.

    Raises the API error when the only provider asked fails.
    """
    from tuner.api import APIError
    from tuner.config import ConfigError

    providers = []
    if s.polls_mistral:
        providers.append(MISTRAL)
    if s.has_openai:
        providers.append(OPENAI)
    listed: list[ListedJob] = []
    warnings: list[str] = []
    for provider in providers:
        try:
            if provider == MISTRAL:
                listed += await _mistral(s, filters)
            else:
                listed += await _openai(s, filters)
        except (APIError, ConfigError) as error:
            url = s.backend if provider == MISTRAL else s.settings.openai_base_url
            if len(providers) == 1:
                if isinstance(error, APIError):  # named as its own provider's server
                    fail_api(error, url, provider=provider)
                raise
            text = (
                describe_api_error(error, url, provider=provider).message
                if isinstance(error, APIError)
                else str(error)
            )
            warnings.append(f"{provider}: {text.splitlines()[0]}")
    listed.sort(key=lambda job: job.created_at or 0, reverse=True)
    return listed, warnings


async def _mistral(s: Services, filters: dict[str, str]) -> list[ListedJob]:
    origin_json: dict[str, Any] | None = None
    jobs = await s.sync_jobs(**filters)
    origin_json = s.origin().to_json()
    return [
        ListedJob(
            MISTRAL,
            job.id,
            job.status,
            job.status,
            job.model,
            job.suffix,
            job.fine_tuned_model,
            job.created_at,
            {**wire_json(job), "provider": MISTRAL, "backend": origin_json},
        )
        for job in jobs
    ]


async def _openai(s: Services, filters: dict[str, str]) -> list[ListedJob]:
    jobs = await s.openai_jobs().sync_jobs()
    origin = s.openai_origin().to_json()
    found = []
    for job in jobs:
        status = job.ledger_status or job.status.upper()
        wanted = {
            "status": status,
            "model": job.model,
            "suffix": job.suffix,
        }
        # OpenAI's list filters only by metadata: tuner's filters are applied here.
        if any(
            wanted[key] is None or str(wanted[key]).upper() != value.upper()
            for key, value in filters.items()
        ):
            continue
        found.append(
            ListedJob(
                OPENAI,
                job.id,
                status,
                job.status,
                job.model,
                job.suffix,
                job.fine_tuned_model,
                job.created_at,
                {**_job_json(job), "backend": origin},
            )
        )
    return found


def emit_jobs(jobs: list[ListedJob], warnings: list[str], *, as_json: bool, when: Any) -> None:
    """The listing: JSON (each job with ``provider`` and ``backend``) or one table."""
    for warning in warnings:
        err_console.print(f"[yellow]warning:[/] {shown(warning)} (the other providers are listed)")
    if as_json:
        emit_json([job.json for job in jobs])
        return
    sandboxes = sorted(
        {str(job.json["backend"]["url"]) for job in jobs if job.json["backend"].get("sandbox")}
    )
    if sandboxes:
        simulated_banner(list(sandboxes))
    if not jobs:
        console.print("No jobs.")
        return
    table = Table()
    for column in ("provider", "id", "status", "model", "suffix", "fine-tuned model", "created"):
        table.add_column(column, overflow="fold")
    for job in jobs:
        status = job.status
        if job.provider_status.upper() != job.status:
            status = f"{job.status} ({job.provider_status})"
        table.add_row(
            *(
                shown_text(cell)
                for cell in (
                    job.provider,
                    job.id,
                    status,
                    job.model,
                    job.suffix or "-",
                    job.fine_tuned_model or "-",
                    when(job.created_at),
                )
            )
        )
    console.print(table)
