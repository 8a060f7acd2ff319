"""``tuner eval``: evaluate a tuned model against its base on held-out conversations.

Thin: parse options, call ``tuner.evals`` (the headless core), render. Runs are stored item by
item in the ledger, so ``tuner eval run`` with the same options resumes an interrupted run.
"""

from __future__ import annotations

import datetime
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from tuner.cli.context import load_context, run_async, session
from tuner.cli.output import (
    SIMULATED_STYLE,
    Exit,
    console,
    emit_json,
    err_console,
    fail,
    print_simulated_note,
    shown,
)
from tuner.jobs.records import SIMULATED

if TYPE_CHECKING:
    from tuner.cli.context import CommandContext
    from tuner.evals import EvalOptions, EvalSet, RunComparison, RunEvent, RunPlan, RunReport
    from tuner.evals.classifier_compare import ClassifierComparison
    from tuner.evals.classifier_run import ClassifierData, ClassifierReport
    from tuner.evals.classifier_runner import ClassifierOptions
    from tuner.jobs.ledger import Ledger
    from tuner.jobs.records import EvalRunRecord

ReportT = TypeVar("ReportT")

app = typer.Typer(
    help="Evaluate models on held-out conversations: scores, a pairwise judge, reports.",
    no_args_is_help=True,
)

# Exit status after Ctrl-C, as shells report a process stopped by SIGINT.
INTERRUPTED = 130
TOP_ITEMS = 5
EXCERPT_CHARS = 160
MARK = " ✓"

JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of the report.")


# --------------------------------------------------------------------------- progress


class EvalProgress:
    """The core's Progress protocol as a bar with failures and the estimated time left."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled and err_console.is_terminal
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self.failed = 0

    def start(self, task: str, total: int | None = None, unit: str = "") -> None:
        self.finish()
        self.failed = 0  # per task: answers, then verdicts
        if not self._enabled or not total:
            return
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TextColumn("[red]{task.fields[failed]}[/] failed"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(shown(task), total=total, failed=0)

    def advance(self, amount: int = 1) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=amount, failed=self.failed)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        self._bar = None
        self._task = None

    def on_event(self, event: RunEvent) -> None:
        from tuner.evals import AnswerRecorded

        failed = (
            event.error is not None if isinstance(event, AnswerRecorded) else event.status != "ok"
        )
        self.failed += failed


# --------------------------------------------------------------------------- run


@app.command()
def run(
    data: Path = typer.Option(
        ...,
        "--data",
        exists=True,
        dir_okay=False,
        help="Eval conversations (JSONL, training format).",
    ),
    model: str = typer.Option(
        ...,
        "--model",
        "-m",
        help="The model to evaluate (e.g. the tuned one). Prefix openai: for an OpenAI model "
        "(gpt-… and ft:gpt-… are OpenAI's without it); other ids are Mistral's.",
    ),
    baseline: str | None = typer.Option(
        None,
        "--baseline",
        "-b",
        help="The model to compare with (e.g. its base model); may be on the other provider.",
    ),
    judge: str | None = typer.Option(
        None,
        "--judge",
        help="A model that picks the better answer of each pair (needs --baseline); "
        "either provider.",
    ),
    embed_model: str | None = typer.Option(
        None,
        "--embed-model",
        help="Also score cosine similarity to the reference (e.g. mistral-embed).",
    ),
    concurrency: int = typer.Option(4, "--concurrency", "-c", min=1, help="Requests at a time."),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Only the first N conversations (a later run can extend it)."
    ),
    temperature: float | None = typer.Option(
        None,
        "--temperature",
        min=0.0,
        max=1.5,
        help="Sampling temperature \\[default: the model's].",
    ),
    max_tokens: int | None = typer.Option(
        None, "--max-tokens", min=1, help="Cap on answer length."
    ),
    prices: list[str] | None = typer.Option(
        None,
        "--price",
        help="MODEL=IN,OUT: USD per million input and output tokens, to show cost (repeatable).",
    ),
    new: bool = typer.Option(
        False, "--new", help="Start a new run instead of resuming the same one."
    ),
    run_id: str | None = typer.Option(
        None, "--run-id", help="Resume this run (see `tuner eval list`)."
    ),
    keep_failed: bool = typer.Option(
        False, "--keep-failed", help="On resume, do not ask again items that failed before."
    ),
    top: int = typer.Option(
        TOP_ITEMS, "--top", min=0, help="How many most-different items to show."
    ),
    html_out: Path | None = typer.Option(
        None,
        "--html",
        dir_okay=False,
        help="Classifier data: also write the report as HTML here (refuses to overwrite "
        "without --force).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite the --html file."),
    as_json: bool = JsonOpt,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Ask every model every conversation, score the answers, and report (resumable).

    Each model is asked through its own provider: Mistral (TUNER_API_URL, MISTRAL_API_KEY) or
    OpenAI (OPENAI_BASE_URL, OPENAI_API_KEY), so a Mistral-tuned and an OpenAI-tuned model can
    be compared on the same held-out set. The openai:/mistral: prefix is tuner's notation; the
    server is sent the id without it.

    Classifier data (lines with "labels") is evaluated as classification: --model is the
    fine-tuned classifier (scored by /v1/classifications), --baseline a chat model prompted to
    pick the label; the report has accuracy, macro-F1, per-label precision/recall and a
    confusion matrix per target. Stored and resumable like chat runs (`tuner eval show`).
    Both models must be Mistral's: OpenAI has no classification endpoint.
    """
    from tuner.evals import EvalConfigError, EvalDataError, EvalOptions, load_eval_set
    from tuner.evals.classifier_run import is_classifier_data
    from tuner.evals.classifier_runner import ClassifierOptions
    from tuner.evals.metrics import parse_prices

    if is_classifier_data(data):
        if judge or embed_model or temperature is not None or max_tokens is not None or prices:
            fail(
                "--judge, --embed-model, --temperature, --max-tokens and --price do not apply "
                "to classifier data"
            )
        classifier_options = ClassifierOptions(
            classifier=model,
            chat_model=baseline,
            concurrency=concurrency,
            run_id=run_id,
            new_run=new,
            retry_failed=not keep_failed,
        )
        _run_classifier(data, classifier_options, limit, html_out, force, as_json, quiet)
        return
    if html_out is not None:
        fail("--html is for classifier data; use `tuner eval report RUN_ID --out FILE`")

    try:
        options = EvalOptions(
            models=(model,) if baseline is None else (model, baseline),
            judge=judge,
            embed_model=embed_model,
            temperature=temperature,
            max_tokens=max_tokens,
            concurrency=concurrency,
            prices=parse_prices(prices or []),
            run_id=run_id,
            new_run=new,
            retry_failed=not keep_failed,
        )
        options.check()
    except (EvalConfigError, ValueError) as exc:
        fail(str(exc), hint="See `tuner eval run --help`.")
    try:
        eval_set = load_eval_set(data).limited(limit)
    except EvalDataError as exc:
        fail(str(exc), hint="Check it with `tuner data validate`.", code=Exit.FAILED)
    for skipped in eval_set.skipped[:5]:
        where = shown(f"{data}:{skipped.line}")
        err_console.print(f"[yellow]skipped[/] {where}: {shown(skipped.reason)}")
    if len(eval_set.skipped) > 5:
        err_console.print(f"[yellow]skipped[/] {len(eval_set.skipped) - 5} more line(s)")
    ctx = load_context()
    progress = EvalProgress(enabled=not quiet)
    report = _run_resumably(
        _run(ctx, eval_set, options, progress, quiet), progress, _server(ctx, options)
    )
    if as_json:
        emit_json(report.as_json())
    else:
        _print_report(report, top)
    _exit_for_failures(report)


def _run_classifier(
    data: Path,
    options: ClassifierOptions,
    limit: int | None,
    html_out: Path | None,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    from tuner.evals.classifier_run import load_classifier_data, render_html
    from tuner.evals.classifier_runner import NotMistralError

    if html_out is not None and html_out.exists() and not force:
        fail(f"{html_out} exists", hint="Add --force to overwrite it, or pick another --html.")
    try:
        options.check()
    except NotMistralError as exc:
        fail(
            str(exc),
            hint="Give --model a Mistral classifier and --baseline a Mistral chat model; "
            'OpenAI models are evaluated on chat data (lines with "messages").',
        )
    except ValueError as exc:
        fail(str(exc), hint="See `tuner eval run --help`.")
    loaded = load_classifier_data(data, limit)
    if not loaded.items:
        fail(f"{data}: no valid classifier line", code=Exit.FAILED)
    ctx = load_context()
    progress = EvalProgress(enabled=not quiet)
    report = _run_resumably(
        _run_classifier_async(ctx, loaded, options, progress, quiet),
        progress,
        ("mistral", ctx.backend),
    )
    if html_out is not None:
        _write_html(html_out, render_html(report))
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_classifier_report(report)
    _exit_for(sum(r.failed for r in report.results), report.items * len(report.results))


async def _run_classifier_async(
    ctx: CommandContext,
    data: ClassifierData,
    options: ClassifierOptions,
    progress: EvalProgress,
    quiet: bool,
) -> ClassifierReport:
    from tuner.evals import EvalConfigError
    from tuner.evals.classifier_runner import load_classifier_report

    async with session(ctx) as s:
        runner = s.classifier_runner(progress=progress)
        await runner.learn_backend()
        try:
            plan = await s.ledger.aio.call(runner.plan, data, options)
        except EvalConfigError as exc:
            fail(str(exc), hint="Add --new to start a separate run.")
        if not quiet:
            _announce(plan, f"{len(data.items)} items", len(options.models))
        outcome = await runner.run(data, options, run_id=plan.run_id)
        record = await s.ledger.aio.get_eval_run(outcome.run_id)
        assert record is not None
        return await s.ledger.aio.call(load_classifier_report, s.ledger, record)


def _run_resumably(
    run: Coroutine[Any, Any, ReportT],
    progress: EvalProgress,
    server: tuple[str | None, str | None],
) -> ReportT:
    """Run an evaluation; on Ctrl-C, say that what was answered is kept and exit 130."""
    provider, api_url = server
    try:
        return run_async(run, api_url=api_url, provider=provider)
    except KeyboardInterrupt:
        progress.finish()
        err_console.print(
            "[yellow]stopped.[/] Answers received so far are recorded; run the same command "
            "again to resume."
        )
        raise typer.Exit(INTERRUPTED) from None


def _announce(plan: RunPlan, items: str, models: int) -> None:
    """One line before a run (chat or classifier): new or resumed, and what is left to ask."""
    done = plan.answers_total - plan.answers_missing
    verb = f"resuming run {plan.run_id}" if plan.resumed else f"run {plan.run_id}"
    err_console.print(
        f"{verb}: {items} × {models} model(s), "
        f"{done} answer(s) already recorded, {plan.answers_missing} to ask"
    )


def _write_html(path: Path, page: str) -> None:
    from tuner.fsutil import atomic_writer

    try:
        with atomic_writer(path) as handle:
            handle.write(page.encode("utf-8"))
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}", code=Exit.FAILED)


def _print_classifier_report(report: ClassifierReport) -> None:
    from tuner.evals.classifier_metrics import NO_ANSWER

    if report.simulated_note:
        print_simulated_note(report.simulated_note)
    console.print(
        f"[bold]run {report.run_id}[/] · classifier · {shown(report.data)} · "
        f"{report.items} items · {shown(report.status)}"
    )
    for result in report.results:
        mark = f" [{SIMULATED_STYLE}] {SIMULATED} [/]" if result.backend.sandbox else ""
        console.print(f"\n[bold]{shown(result.model)}[/] ({result.role}){mark}")
        if result.failed:
            console.print(
                f"  [yellow]{result.failed} of {result.items} item(s) failed after retries[/] "
                "(counted as unanswered; a rerun asks them again)"
            )
        for target in result.targets:
            console.print(
                f"  target {shown(target.name)}: accuracy {target.accuracy:.1%}, "
                f"macro-F1 {target.macro_f1:.1%} ({target.items} items)"
            )
            table = Table(show_edge=False, pad_edge=False)
            for column in ("label", "precision", "recall", "F1", "support"):
                table.add_column(column, justify="left" if column == "label" else "right")
            for label, s in target.per_label.items():
                table.add_row(
                    shown(label),
                    f"{s.precision:.1%}",
                    f"{s.recall:.1%}",
                    f"{s.f1:.1%}",
                    str(s.support),
                )
            console.print(table)
            matrix = Table(
                title="confusion (rows: true)" if not target.multi else "per label",
                show_edge=False,
                pad_edge=False,
            )
            columns = ["tp", "fp", "fn", "tn"] if target.multi else [*target.labels, NO_ANSWER]
            matrix.add_column("")
            for column in columns:
                matrix.add_column(shown(column), justify="right")
            for label, row in zip(target.labels, target.confusion, strict=True):
                matrix.add_row(shown(label), *(str(n) for n in row))
            console.print(matrix)


def _exit_for_failures(report: RunReport) -> None:
    expected = len(report.rows) * len(report.models)
    _exit_for(sum(summary.failed for summary in report.models.values()), expected)


def _exit_for(failed: int, expected: int) -> None:
    """Exit 3 when no answer was received (the API failed), 4 when some were not (the report
    covers the rest); 0 when every model answered every item. Chat and classifier runs."""
    if not failed:
        return
    if failed >= expected:
        fail(
            f"every answer failed after retries ({failed} of {expected}); nothing was scored",
            hint="Check the server and the model names (`tuner models list`), then run the "
            "same command again: it retries the failed answers.",
            code=Exit.API,
        )
    fail(
        f"{failed} of {expected} answers failed after retries; the report covers the rest",
        hint="Run the same command again to retry them (--keep-failed keeps them as failures).",
        code=Exit.PARTIAL,
    )


async def _run(
    ctx: CommandContext,
    eval_set: EvalSet,
    options: EvalOptions,
    progress: EvalProgress,
    quiet: bool,
) -> RunReport:
    from tuner.evals import EvalConfigError, build_report

    async with session(ctx) as s:
        runner = s.eval_runner(progress=progress, listener=progress.on_event)
        await runner.learn_backend(options)
        try:
            plan = runner.plan(eval_set, options)
        except EvalConfigError as exc:
            fail(str(exc), hint="Add --new to start a separate run.")
        if not quiet:
            _announce(plan, f"{len(eval_set.items)} conversations", len(options.models))
        outcome = await runner.run(eval_set, options, run_id=plan.run_id)
        if outcome.failed and not quiet:
            err_console.print(
                f"[yellow]{outcome.failed} answer(s) failed after retries[/] (recorded with the "
                "reason; a rerun asks them again)"
            )
        record = await s.ledger.aio.get_eval_run(outcome.run_id)
        assert record is not None
        return build_report(record, await s.ledger.aio.eval_items(outcome.run_id), eval_set)


# --------------------------------------------------------------------------- rendering


def _excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _summary_table(report: RunReport) -> Table:
    from tuner.evals.report import SUMMARY_METRICS, format_metric

    models = list(report.models)
    roles = ["candidate", "baseline", *[f"model {i + 3}" for i in range(len(models) - 2)]]
    table = Table(show_edge=False)
    table.add_column("metric")
    for role in roles[: len(models)]:
        table.add_column(role, justify="right")
    for key, label, _ in SUMMARY_METRICS:
        values = [report.models[m].value(key) for m in models]
        if all(v is None for v in values):
            continue
        best = report.better(key)
        cells = [
            format_metric(v, key) + (MARK if m == best else "")
            for m, v in zip(models, values, strict=True)
        ]
        table.add_row(label, *cells)
    return table


def _print_report(report: RunReport, top: int) -> None:
    run = report.run
    if report.simulated_note:
        print_simulated_note(report.simulated_note)
    console.print(
        f"[bold]run {run.run_id}[/] · {shown(run.data_path)} · {len(report.rows)} items · "
        f"{run.status}"
    )
    for role, model in (("candidate", report.candidate), ("baseline", report.baseline)):
        if model is not None:
            console.print(f"  {role}: {shown(model)}{_origin_mark(report, model)}")
    if report.note:
        console.print(f"[dim]{shown(report.note)}[/]")
    console.print(_summary_table(report))
    console.print(
        f"[dim]{MARK.strip()} the better model on that metric; "
        "failed items are counted, not scored.[/]"
    )
    _print_judge(report)
    if top:
        _print_differences(report, top)


def _origin_mark(report: RunReport, model: str) -> str:
    """Where a model's answers came from, when the run's models have different origins or any
    is a sandbox: `` (openai, SIMULATED: sandbox at URL)``."""
    from tuner.evals.providers import provider_of

    backend = report.run.backend_of(model)
    mixed = len({provider_of(m) for m in report.run.models}) > 1
    if backend is None or not (mixed or report.model_simulated(model)):
        return ""
    where = backend.url or "an unknown URL"
    origin = f"{SIMULATED}: sandbox at {where}" if report.model_simulated(model) else where
    return f" [dim]({provider_of(model)}, {shown(origin)})[/]"


def _server(ctx: CommandContext, options: EvalOptions) -> tuple[str | None, str | None]:
    """The server named in API error messages, as (provider, URL): the one every model and the
    judge are on, or (None, None) ("the API", both URL settings) when they span providers."""
    from tuner.evals.providers import provider_of

    named = [*options.models, *([options.judge] if options.judge else [])]
    providers = {provider_of(model) for model in named}
    if providers == {"mistral"}:
        return "mistral", ctx.backend
    if providers == {"openai"}:
        return "openai", ctx.settings.openai_base_url
    return None, None


def _print_judge(report: RunReport) -> None:
    judge = report.judge
    if judge is None:
        return
    line = (
        f"judge {shown(report.run.judge or '')}: candidate wins {judge.wins}, ties {judge.ties}, "
        f"loses {judge.losses}"
    )
    if judge.win_rate is not None and judge.ci95 is not None:
        line += f"; win rate {judge.win_rate:.1%} (95% CI {judge.ci95[0]:.1%}–{judge.ci95[1]:.1%})"
    if judge.unparsed or judge.failed:
        line += f"; {judge.unparsed} unparsed, {judge.failed} failed"
    console.print(line)


def _print_differences(report: RunReport, top: int) -> None:
    pairs = report.differences("token_f1", limit=top)
    if not pairs:
        return
    console.print("\n[bold]where the models differ most[/] (token F1, candidate − baseline)")
    for row, difference in pairs:
        where = f" (line {row.item.line})" if row.item is not None else ""
        console.print(f"[bold]#{row.index}[/]{where} Δ {difference:+.2f}")
        if row.item is not None:
            console.print(f"  prompt:    {shown(_excerpt(row.item.last_user_text))}")
            console.print(f"  reference: {shown(_excerpt(row.item.reference.rendered()))}")
        for role, model in (("candidate", report.candidate), ("baseline", report.baseline)):
            if model is None:
                continue
            record = row.answers.get(model)
            text = record.response_text if record is not None else None
            score = row.metric(model, "token_f1")
            f1 = f"{score:.2f}" if score is not None else "–"
            console.print(f"  {role}: {shown(_excerpt(text))} [dim](F1 {f1})[/]")


# --------------------------------------------------------------------------- stored runs


def _ledger() -> Ledger:
    return load_context().ledger()


def _classifier_report(ledger: Ledger, run_id: str) -> ClassifierReport | None:
    """The report of a stored classifier run; None when the run is a chat evaluation."""
    from tuner.evals import RunNotFoundError, find_run
    from tuner.evals.classifier_runner import is_classifier_run, load_classifier_report

    try:
        run = find_run(ledger, run_id)
    except RunNotFoundError as exc:
        fail(str(exc), hint="See `tuner eval list`.")
    return load_classifier_report(ledger, run) if is_classifier_run(run) else None


def _report(ledger: Ledger, run_id: str) -> RunReport:
    from tuner.evals import RunNotFoundError, load_report

    try:
        return load_report(ledger, run_id)
    except RunNotFoundError as exc:
        fail(str(exc), hint="See `tuner eval list`.")


@app.command("list")
def list_runs(
    limit: int = typer.Option(50, "--limit", min=1, help="How many runs, newest first."),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Only runs that evaluated this model."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Evaluation runs in the ledger, newest first."""
    from tuner.evals.classifier_runner import is_classifier_run

    ledger = _ledger()
    try:
        runs = ledger.list_eval_runs(model=model, limit=limit)
        answered = {run.run_id: _answered(ledger, run.run_id) for run in runs}
    finally:
        ledger.close()
    if as_json:
        emit_json(
            [
                {
                    **run.model_dump(exclude={"backends"}),
                    "backend": run.backends_json(),
                    "simulated": run.simulated,
                    "kind": "classifier" if is_classifier_run(run) else "chat",
                    "answered": answered[run.run_id],
                }
                for run in runs
            ]
        )
        return
    if not runs:
        console.print("no evaluation runs yet; start one with `tuner eval run`")
        return
    for run in runs:
        created = datetime.datetime.fromtimestamp(run.created_at, datetime.UTC)
        judge = f" judge {run.judge}" if run.judge else ""
        mark = f"{SIMULATED}  " if run.simulated else ""
        mark += "classifier  " if is_classifier_run(run) else ""
        console.print(
            f"{run.run_id}  {mark}{created:%Y-%m-%d %H:%M}  {run.status:<9}  "
            f"{answered[run.run_id]:>5} answers  {shown(' vs '.join(run.models))}{shown(judge)}  "
            f"{shown(run.data_path)}"
        )


def _answered(ledger: Ledger, run_id: str) -> int:
    return sum(1 for item in ledger.eval_items(run_id) if item.error is None)


@app.command()
def show(
    run_id: str = typer.Argument(..., help="The run id (or a unique prefix of it)."),
    top: int = typer.Option(
        TOP_ITEMS, "--top", min=0, help="How many most-different items to show."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """The report of a stored run (chat or classifier)."""
    ledger = _ledger()
    try:
        found = _classifier_report(ledger, run_id)
        report = _report(ledger, run_id) if found is None else None
    finally:
        ledger.close()
    if found is not None:
        if as_json:
            emit_json(found.to_dict())
        else:
            _print_classifier_report(found)
        return
    assert report is not None
    if as_json:
        emit_json(report.as_json())
    else:
        _print_report(report, top)


@app.command()
def report(
    run_id: str = typer.Argument(..., help="The run id (or a unique prefix of it)."),
    html: Path = typer.Option(
        ..., "--html", dir_okay=False, help="Where to write the HTML report."
    ),
) -> None:
    """Write one self-contained HTML report (summary, distributions, answers side by side)."""
    from tuner.evals import render_html
    from tuner.evals.classifier_run import render_html as classifier_html

    ledger = _ledger()
    try:
        classified = _classifier_report(ledger, run_id)
        found = _report(ledger, run_id) if classified is None else None
    finally:
        ledger.close()
    if classified is not None:
        _write_html(html, classifier_html(classified))
        err_console.print(f"wrote {shown(html)} ({classified.items} items)")
        return
    assert found is not None
    _write_html(html, render_html(found))
    err_console.print(f"wrote {shown(html)} ({len(found.rows)} items)")


@app.command()
def compare(
    run_a: str = typer.Argument(..., help="The first run (e.g. the older model)."),
    run_b: str = typer.Argument(..., help="The second run, on the same eval data."),
    as_json: bool = JsonOpt,
) -> None:
    """Two runs on the same data: aggregates side by side, and B's candidate against A's.

    Classifier runs: per target, accuracy, macro-F1, per-label F1 and B − A on shared items."""
    from tuner.evals import DifferentDataError, compare_runs
    from tuner.evals.classifier_compare import load_classifier_comparison
    from tuner.evals.classifier_runner import is_classifier_run

    ledger = _ledger()
    try:
        found_a, found_b = _find(ledger, run_a), _find(ledger, run_b)
        kinds = (is_classifier_run(found_a), is_classifier_run(found_b))
        if kinds == (True, True):
            try:
                classified = load_classifier_comparison(ledger, found_a, found_b)
            except DifferentDataError as exc:
                fail(str(exc))
            if as_json:
                emit_json(classified.to_dict())
            else:
                _print_classifier_comparison(classified)
            return
        if any(kinds):
            which = found_a if kinds[0] else found_b
            fail(
                f"run {which.run_id} is a classifier evaluation and the other a chat one: "
                "they cannot be compared",
                hint="Compare two classifier runs or two chat runs (`tuner eval list` marks "
                "classifier runs).",
            )
        first, second = _report(ledger, found_a.run_id), _report(ledger, found_b.run_id)
    finally:
        ledger.close()
    try:
        comparison = compare_runs(first, second)
    except DifferentDataError as exc:
        fail(str(exc))
    if as_json:
        emit_json(comparison.as_json())
    else:
        _print_comparison(comparison)


def _find(ledger: Ledger, run_id: str) -> EvalRunRecord:
    from tuner.evals import RunNotFoundError, find_run

    try:
        return find_run(ledger, run_id)
    except RunNotFoundError as exc:
        fail(str(exc), hint="See `tuner eval list`.")


def _print_classifier_comparison(comparison: ClassifierComparison) -> None:
    if comparison.simulated_note:
        print_simulated_note(comparison.simulated_note)
    for name, run in (("A", comparison.a), ("B", comparison.b)):
        console.print(
            f"  {name} = run {shown(run.run_id)} · classifier · {shown(run.data)} · "
            f"{run.items} items · {shown(run.status)}"
        )
    for role in comparison.roles:
        console.print(f"\n[bold]{shown(role.role)}[/]: on {role.items} item(s) both answered")
        for name, result in (("A", role.a), ("B", role.b)):
            mark = f" [{SIMULATED_STYLE}] {SIMULATED} [/]" if result.backend.sandbox else ""
            console.print(f"  {name} = {shown(result.model)}{mark}")
        if not role.targets:
            console.print("  [yellow]no item answered in both runs: nothing to compare[/]")
            continue
        table = Table(show_edge=False)
        for column in ("target", "metric", "A", "B", "B − A"):
            table.add_column(column, justify="left" if column in ("target", "metric") else "right")
        for target in role.targets:
            rows = [
                ("accuracy", target.a.accuracy, target.b.accuracy),
                ("macro-F1", target.a.macro_f1, target.b.macro_f1),
                *(
                    (f"F1 {label}", target.a.per_label[label].f1, target.b.per_label[label].f1)
                    for label in target.label_f1_differences
                ),
            ]
            for position, (metric, a, b) in enumerate(rows):
                table.add_row(
                    shown(target.name) if position == 0 else "",
                    shown(metric),
                    f"{a:.1%}",
                    f"{b:.1%}",
                    f"{(b - a) * 100:+.1f} pt",
                )
        console.print(table)
    for sentence in comparison.unmatched:
        console.print(f"[dim]not compared: {shown(sentence)}[/]")


def _print_comparison(comparison: RunComparison) -> None:
    from tuner.evals.report import SUMMARY_METRICS, format_metric

    a, b = comparison.a, comparison.b
    if comparison.simulated_note:
        print_simulated_note(comparison.simulated_note)
    columns = [("A", a, m) for m in a.models] + [("B", b, m) for m in b.models]
    names = [f"{label}·{list(r.models).index(m) + 1}" for label, r, m in columns]
    for name, (_, found, model) in zip(names, columns, strict=True):
        mark = _origin_mark(found, model)
        console.print(f"  {name} = {shown(model)} (run {found.run.run_id}){mark}")
    table = Table(show_edge=False)
    table.add_column("metric")
    for name in names:
        table.add_column(name, justify="right")
    for key, label, _ in SUMMARY_METRICS:
        values = [r.models[m].value(key) for _, r, m in columns]
        if all(v is None for v in values):
            continue
        table.add_row(label, *[format_metric(v, key) for v in values])
    console.print(table)
    for paired in comparison.paired:
        if paired.mean_difference is None or paired.ci95 is None:
            continue
        console.print(
            f"{paired.metric}: B's candidate − A's candidate = {paired.mean_difference:+.3f} "
            f"(95% CI {paired.ci95[0]:+.3f} to {paired.ci95[1]:+.3f}) over {paired.items} items; "
            f"better on {paired.better}, worse on {paired.worse}, same on {paired.same}"
        )
