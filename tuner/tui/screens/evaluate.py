"""Evaluate: pick an eval file, a tuned model and a baseline, run, then read the summary and
the items side by side (prompt, reference, both answers, scores, the judge's reason)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.suggester import Suggester
from textual.widgets import Button, DataTable, Footer, Label, ProgressBar, Static

from tuner.jobs.records import SIMULATED
from tuner.tui import format as fmt
from tuner.tui.messages import EvalProgress
from tuner.tui.paths import PathSuggester
from tuner.tui.screens.base import TunerScreen
from tuner.tui.widgets.inputs import TunerInput

if TYPE_CHECKING:
    from tuner.evals.classifier_metrics import TargetMetrics
    from tuner.evals.classifier_run import ClassifierReport
    from tuner.evals.report import ItemRow, RunReport

CONFUSION_MAX_LABELS = 6
"""A single-label target's confusion matrix is shown when it has at most this many labels
(each model's matrix is then a few columns wide; a wider one would wrap into noise)."""


class ModelSuggester(Suggester):
    """Completes model ids from the models the API listed (read when asked, so the list can
    arrive after the screen opened)."""

    def __init__(self, models: Any) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._models = models

    async def get_suggestion(self, value: str) -> str | None:
        for model in self._models():
            if model.startswith(value):
                return str(model)
        return None


class ScreenProgress:
    """The core's progress protocol as messages to the screen (which coalesce)."""

    def __init__(self, screen: EvaluateScreen) -> None:
        self.screen = screen
        self.stage = ""
        self.total: int | None = None
        self.done = 0

    def start(self, task: str, total: int | None = None, unit: str = "") -> None:
        self.stage, self.total, self.done = task, total, 0
        self.screen.post_message(EvalProgress(task, 0, total))

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        self.screen.post_message(EvalProgress(self.stage, self.done, self.total))

    def finish(self) -> None:
        return None


def summary_table(report: RunReport) -> Table:
    from tuner.evals.report import SUMMARY_METRICS

    models = list(report.models)
    table = Table(box=None, padding=(0, 1), expand=False)
    table.add_column("metric", style="dim", no_wrap=True, min_width=19)
    for index in range(len(models)):
        table.add_column("tuned" if index == 0 else "baseline", justify="right", no_wrap=True)
    for key, label, _ in SUMMARY_METRICS:
        values = [report.models[m].value(key) for m in models]
        if all(v is None for v in values):
            continue
        if key in ("mean_latency_s", "p95_latency_s", "prompt_tokens", "completion_tokens"):
            continue  # shown in the item detail; they vary from run to run
        better = report.better(key)
        cells = [
            Text(metric_value(key, value), style="bold green" if model == better else "")
            for model, value in zip(models, values, strict=True)
        ]
        table.add_row(Text(label), *cells)
    return table


def simulated_head(note: str | None) -> Text:
    """The start of a run's heading: its SIMULATED note on a line of its own when a sandbox
    answered, else nothing."""
    head = Text()
    if note:
        head.append(f" {note} ", style=fmt.SIMULATED_STYLE)
        head.append("\n")
    return head


def run_head(report: RunReport) -> Text:
    """A chat run's heading: SIMULATED when a sandbox answered, the run, each model (with where
    its answers came from when the models' origins differ), the judge."""
    run = report.run
    head = simulated_head(report.simulated_note)
    head.append(f"run {run.run_id}", style="bold")
    head.append(f"  {run.status}  {fmt.plain(Path(run.data_path).name)}  ")
    head.append(f"{len(report.rows)} items", style="dim")
    # One line each: the tuned model's id is long, and a wrapped line would part a label
    # from its model (a longer id folds, whole, onto the next line).
    head.append("\ntuned: ", style="dim")
    head.append(fmt.plain(report.candidate), style="bold green")
    head.append_text(_origin(report, report.candidate))
    if report.baseline is not None:
        head.append("\nbaseline: ", style="dim")
        head.append(fmt.plain(report.baseline), style="bold")
        head.append_text(_origin(report, report.baseline))
    head.append_text(judge_text(report))
    return head


def _origin(report: RunReport, model: str) -> Text:
    """`` SIMULATED``/`` API`` beside a model when the run's models came from different kinds of
    server (a sandbox and a real API): the banner alone would not say which."""
    if len({report.model_simulated(m) for m in report.run.models}) < 2:
        return Text()
    if report.model_simulated(model):
        return Text(f"  {SIMULATED} ", style=fmt.SIMULATED_STYLE)
    return Text("  API ", style="bold black on green")


def judge_text(report: RunReport) -> Text:
    judge = report.judge
    if judge is None:
        return Text("")
    rate = fmt.score(judge.win_rate) if judge.win_rate is not None else "-"
    text = Text(f"\njudge {fmt.plain(report.run.judge)}: ", style="dim")
    text.append(f"{judge.wins} wins, {judge.ties} ties, {judge.losses} losses", style="bold")
    text.append(f" for the tuned model (win rate {rate})")
    return text


def metric_value(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    if key in ("answered", "failed", "prompt_tokens", "completion_tokens"):
        return str(int(value))
    if key == "mean_length_words":
        return f"{value:.1f}"
    if key == "cost_usd":
        return fmt.cost(value)
    return fmt.score(value)


def verdict_text(row: ItemRow, candidate: str) -> Text:
    verdict = row.verdict
    if verdict is None:
        return Text("-", style="dim")
    if verdict.get("status") != "ok":
        return Text(fmt.plain(verdict.get("status")), style="yellow")
    outcome = verdict.get("outcome")
    style = {"win": "bold green", "loss": "bold red", "tie": "yellow"}.get(str(outcome), "")
    return Text(fmt.plain(outcome), style=style)


def classifier_head(report: ClassifierReport) -> Text:
    """A classifier run's heading: SIMULATED when a sandbox answered, the run, each model."""
    head = simulated_head(report.simulated_note)
    head.append(f"run {fmt.plain(report.run_id)}", style="bold")
    head.append(f"  {fmt.plain(report.status)}  classifier  {fmt.plain(Path(report.data).name)}  ")
    head.append(f"{report.items} items", style="dim")
    for result in report.results:
        head.append(f"\n{fmt.plain(result.role)}: ", style="dim")
        style = "bold green" if result.role == "classifier" else "bold"
        head.append(fmt.plain(result.model), style=style)
        if result.failed:
            head.append(f"  ({result.failed} failed, counted unanswered)", style="yellow")
    return head


def classifier_body(report: ClassifierReport) -> Group:
    """Per target: each model's accuracy and macro-F1, per-label precision and recall, and a
    compact confusion matrix when the labels are few. Every name and label came from a data
    file or a server: shown inert."""
    parts: list[Any] = []
    names = [t.name for t in report.results[0].targets] if report.results else []
    for index, name in enumerate(names):
        per_model = [(r.model, r.role, r.targets[index]) for r in report.results]
        kind = "multi-label" if per_model[0][2].multi else "single-label"
        parts.append(Text(f"target {fmt.plain(name)} ({kind})", style="bold"))
        parts.append(target_table(per_model))
        parts.extend(confusion_tables(per_model))
        parts.append(Text(""))
    return Group(*parts)


def target_table(per_model: list[tuple[str, str, TargetMetrics]]) -> Table:
    """Accuracy and macro-F1, then precision/recall per label, one column pair per model."""
    table = Table(box=None, padding=(0, 1), expand=False)
    table.add_column("", style="dim", no_wrap=True)
    for _model, role, _metrics in per_model:
        # Text, not str: a str header would be read as markup.
        table.add_column(Text(f"{fmt.plain(role)} P"), justify="right", no_wrap=True)
        table.add_column("R", justify="right", no_wrap=True)
    best_acc = max(m.accuracy for _, _, m in per_model)
    best_f1 = max(m.macro_f1 for _, _, m in per_model)
    table.add_row(
        Text("accuracy"),
        *(
            cell
            for _, _, m in per_model
            for cell in (_pct(m.accuracy, m.accuracy == best_acc), Text(""))
        ),
    )
    table.add_row(
        Text("macro-F1"),
        *(
            cell
            for _, _, m in per_model
            for cell in (_pct(m.macro_f1, m.macro_f1 == best_f1), Text(""))
        ),
    )
    labels = per_model[0][2].labels if per_model else ()
    for label in labels:
        cells: list[Text] = []
        for _, _, m in per_model:
            scores = m.per_label.get(label)
            cells.append(_pct(scores.precision if scores else None))
            cells.append(_pct(scores.recall if scores else None))
        support = per_model[0][2].per_label.get(label)
        name = f"{fmt.plain(label)} ({support.support})" if support else fmt.plain(label)
        table.add_row(Text(name), *cells)
    return table


def confusion_tables(per_model: list[tuple[str, str, TargetMetrics]]) -> list[Table]:
    """Each model's confusion matrix of a single-label target (rows: true labels; columns:
    predicted, then no answer), when it has few labels; none otherwise."""
    from tuner.evals.classifier_metrics import NO_ANSWER

    shown: list[Table] = []
    for _model, role, m in per_model:
        if m.multi or len(m.labels) > CONFUSION_MAX_LABELS:
            continue
        table = Table(
            title=Text(f"{fmt.plain(role)}: true \u2193 predicted \u2192", style="dim"),
            title_justify="left",
            box=None,
            padding=(0, 1),
            expand=False,
        )
        table.add_column("", style="dim", no_wrap=True)
        for column in (*m.labels, NO_ANSWER):
            header = Text(fmt.truncate(fmt.plain(column), 12))  # data's labels: never markup
            table.add_column(header, justify="right", no_wrap=True)
        for i, (label, row) in enumerate(zip(m.labels, m.confusion, strict=True)):
            cells = [
                Text(str(n), style="bold green" if i == j and n else "") for j, n in enumerate(row)
            ]
            table.add_row(Text(fmt.truncate(fmt.plain(label), 16)), *cells)
        shown.append(table)
    return shown


def _pct(value: float | None, best: bool = False) -> Text:
    if value is None:
        return Text("-", justify="right")
    return Text(f"{value:.1%}", style="bold green" if best else "", justify="right")


class EvaluateScreen(TunerScreen):
    SECTION = "evaluate"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "run", "Run", id="eval.run", tooltip="Run the evaluation"),
        Binding("ctrl+l", "latest", "Latest run", id="eval.latest",
                tooltip="Show the newest run in the ledger"),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.report: RunReport | None = None
        self.classifier_report: ClassifierReport | None = None
        """The run shown when it is a classifier evaluation (then ``report`` is None)."""
        self.completed = 0
        """Runs finished in this screen (tests wait on it)."""
        self.shown = 0

    def compose_body(self) -> ComposeResult:
        models = self.tuner_models
        # The tuned model has a row of its own: a tuned model's id (``ft:<base>:<owner>:<date>:
        # <suffix>:<id>``, longer for a classifier) is what tells runs apart, so it is shown
        # whole rather than cut at half the width; the limit sits beside the file it limits.
        with Vertical(id="eval-form"):
            with Horizontal(classes="form-row"):
                yield Label("eval file", classes="form-label")
                yield TunerInput(
                    placeholder="held-out conversations (.jsonl)",
                    id="eval-path",
                    compact=True,
                    suggester=PathSuggester((".jsonl",)),
                )
                yield Label("limit", classes="form-label")
                yield TunerInput(placeholder="all", id="eval-limit", compact=True)
                yield Button("Run", id="eval-run", variant="primary", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("tuned", classes="form-label")
                yield TunerInput(
                    placeholder="ft:… (the fine-tuned model)",
                    id="eval-model",
                    compact=True,
                    suggester=ModelSuggester(models),
                )
            with Horizontal(classes="form-row"):
                yield Label("baseline", classes="form-label")
                yield TunerInput(
                    placeholder="open-mistral-7b",
                    id="eval-baseline",
                    compact=True,
                    suggester=ModelSuggester(models),
                )
                yield Label("judge", classes="form-label")
                yield TunerInput(
                    value=self.tuner.config.judge,
                    id="eval-judge",
                    compact=True,
                    placeholder="none",
                    suggester=ModelSuggester(models),
                )
            with Horizontal(classes="form-row", id="eval-progress-row"):
                yield ProgressBar(id="eval-progress", show_eta=False)
                yield Label("", id="eval-stage")
        yield Static("", id="eval-summary")
        yield DataTable(id="eval-items", cursor_type="row", zebra_stripes=True)
        # A classifier run's metrics, in place of the items table (scrolls when long).
        with VerticalScroll(id="eval-classifier"):
            yield Static("", id="eval-classifier-body")

    @property
    def tuner_models(self) -> Any:
        return lambda: self.tuner.models

    def on_mount(self) -> None:
        table = self.query_one("#eval-items", DataTable)
        table.add_columns("#", "Prompt", "F1 tuned", "F1 base", "Judge")
        self.query_one("#eval-progress-row").display = False
        self.query_one("#eval-classifier").display = False
        table.focus()
        run_id, self.tuner.pending_run = self.tuner.pending_run, None
        self.latest(run_id)

    def on_screen_resume(self) -> None:
        run_id = self.tuner.pending_run
        if run_id is not None:
            self.tuner.pending_run = None
            self.latest(run_id)
        pending = self.tuner.pending_eval
        if pending is None:
            return
        self.tuner.pending_eval = None
        model, baseline, path = pending
        if model:
            self.query_one("#eval-model", TunerInput).value = model
        if baseline:
            self.query_one("#eval-baseline", TunerInput).value = baseline
        if path:
            self.query_one("#eval-path", TunerInput).value = path
        self.query_one("#eval-path", TunerInput).focus()

    # -- running ----------------------------------------------------------------------------

    def action_run(self) -> None:
        self.start_run()

    @on(Button.Pressed, "#eval-run")
    def _run_pressed(self, _event: Button.Pressed) -> None:
        self.start_run()

    def _value(self, name: str) -> str:
        return self.query_one(f"#{name}", TunerInput).value.strip()

    def start_run(self) -> None:
        path, model = self._value("eval-path"), self._value("eval-model")
        baseline, judge = self._value("eval-baseline"), self._value("eval-judge")
        limit_text = self._value("eval-limit")
        if not path or not model:
            self.notify("give an eval file and a tuned model", severity="warning")
            return
        try:
            limit = int(limit_text) if limit_text else None
        except ValueError:
            self.notify(f"limit must be a number, not {limit_text!r}", severity="error")
            return
        self.run_eval(path, model, baseline or None, judge or None, limit)

    @work(group="eval", exclusive=True, exit_on_error=False, description="evaluating")
    async def run_eval(
        self, path: str, model: str, baseline: str | None, judge: str | None, limit: int | None
    ) -> None:
        from tuner.evals import (
            EvalConfigError,
            EvalDataError,
            EvalOptions,
            load_eval_set,
            load_report,
        )

        app = self.tuner
        models = (model, baseline) if baseline else (model,)
        options = EvalOptions(models=models, judge=judge if baseline else None)
        try:
            eval_set = (await asyncio.to_thread(load_eval_set, path)).limited(limit)
            options.check()
        except (EvalDataError, EvalConfigError) as error:
            self.notify(str(error), title="Evaluate", severity="error", markup=False)
            return
        self.query_one("#eval-progress-row").display = True
        bar = self.query_one("#eval-progress", ProgressBar)
        bar.update(total=None, progress=0)
        runner = app.services.eval_runner(progress=ScreenProgress(self))
        try:
            outcome = await runner.run(eval_set, options)
        except EvalConfigError as error:
            self.notify(str(error), title="Evaluate", severity="error", markup=False)
            return
        report = await app.ledger.aio.call(load_report, app.ledger, outcome.run_id)
        self.query_one("#eval-stage", Label).update(
            Text(f"done: {outcome.asked} asked, {outcome.failed} failed, {outcome.judged} judged")
        )
        self.show_report(report)
        self.completed += 1

    def on_eval_progress(self, message: EvalProgress) -> None:
        self.query_one("#eval-progress-row").display = True
        bar = self.query_one("#eval-progress", ProgressBar)
        bar.update(total=message.total, progress=message.done)
        total = "?" if message.total is None else str(message.total)
        stage = Text(f"{message.stage}: {message.done}/{total}")
        self.query_one("#eval-stage", Label).update(stage)

    # -- showing ----------------------------------------------------------------------------

    def action_latest(self) -> None:
        self.latest()

    @work(group="eval-show", exclusive=True, exit_on_error=False, description="reading runs")
    async def latest(self, run_id: str | None = None) -> None:
        """Show the newest run, or ``run_id`` (opened from a job's lineage)."""
        from tuner.evals import load_report
        from tuner.evals.classifier_runner import is_classifier_run, load_classifier_report

        ledger = self.tuner.ledger
        if run_id is None:
            runs = await ledger.aio.list_eval_runs(limit=1)
            if not runs:
                self.query_one("#eval-summary", Static).update(
                    Text("No evaluation yet: fill in the form and press Run (ctrl+r).", style="dim")
                )
                return
            run_id = runs[0].run_id
        run = await ledger.aio.call(ledger.get_eval_run, run_id)
        if run is not None and is_classifier_run(run):
            scored = await ledger.aio.call(load_classifier_report, ledger, run)
            self.show_classifier_report(scored)
            return
        report = await ledger.aio.call(load_report, ledger, run_id)
        self.show_report(report)

    def show_classifier_report(self, report: ClassifierReport) -> None:
        """A classifier run's metrics in the summary; no items table (its items are labels,
        not answers to read side by side)."""
        self.report = None
        self.classifier_report = report
        self.query_one("#eval-summary", Static).update(classifier_head(report))
        table = self.query_one("#eval-items", DataTable)
        table.clear()
        table.display = False
        self.query_one("#eval-classifier").display = True
        self.query_one("#eval-classifier-body", Static).update(classifier_body(report))
        self.shown += 1

    def show_report(self, report: RunReport) -> None:
        self.report = report
        self.classifier_report = None
        self.query_one("#eval-items", DataTable).display = True
        self.query_one("#eval-classifier").display = False
        head = run_head(report)
        self.query_one("#eval-summary", Static).update(Group(head, summary_table(report)))
        table = self.query_one("#eval-items", DataTable)
        table.clear()
        candidate, baseline = report.candidate, report.baseline
        # The terminal's width, not the screen's: this can run before the screen's first layout
        # (a fast ledger read on mount), when the screen's own size is still 0 by 0.
        room = max(20, self.app.size.width - 36)
        for row in report.rows:
            prompt = row.item.last_user_text if row.item is not None else "(eval file changed)"
            table.add_row(
                Text(str(row.index), justify="right"),
                Text(fmt.truncate(prompt, room)),
                Text(fmt.score(row.metric(candidate, "token_f1")), justify="right"),
                Text(
                    fmt.score(row.metric(baseline, "token_f1")) if baseline else "-",
                    justify="right",
                ),
                verdict_text(row, candidate),
                key=str(row.index),
            )
        self.shown += 1

    @on(DataTable.RowSelected, "#eval-items")
    def _item_selected(self, event: DataTable.RowSelected) -> None:
        report = self.report
        if report is None or event.row_key.value is None:
            return
        index = int(event.row_key.value)
        row = next((r for r in report.rows if r.index == index), None)
        if row is not None:
            self.app.push_screen(EvalItemScreen(report, row))


class EvalItemScreen(Screen[None]):
    """One item: the prompt and reference, then both answers side by side with their scores."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="eval_item.back",
                tooltip="Back to the items"),
    ]  # fmt: skip

    def __init__(self, report: RunReport, row: ItemRow) -> None:
        super().__init__()
        self.report = report
        self.row = row

    def compose(self) -> ComposeResult:
        row, report = self.row, self.report
        item = row.item
        with VerticalScroll(id="eval-item"):
            title = Text(f"item {row.index}", style="bold")
            if item is not None:
                title.append(f"  {fmt.truncate(item.last_user_text, 80)}", style="")
            yield Static(title, id="eval-item-title")
            with Horizontal(id="eval-answers"):
                for index, model in enumerate(report.run.models):
                    record = row.answers.get(model)
                    role = "tuned" if index == 0 else "baseline"
                    answer = Static(_answer(record), classes="message role-assistant answer")
                    answer.border_title = Text(f"{role}: {fmt.plain(model)}")
                    answer.border_subtitle = _scores(record)
                    yield answer
            verdict = row.verdict
            if verdict is not None:
                reason = verdict.get("reason") or verdict.get("raw") or verdict.get("error") or ""
                judge = fmt.plain(verdict.get("judge", report.run.judge))
                text = Text(f"judge ({judge}): ", style="bold")
                text.append(
                    fmt.plain(verdict.get("outcome") or verdict.get("status")),
                    style="bold green" if verdict.get("outcome") == "win" else "bold",
                )
                text.append(f"  {fmt.plain(reason, multiline=True)}")
                yield Static(text, id="eval-item-verdict")
            if item is not None:
                reference = Static(
                    Text(fmt.plain(item.reference.rendered(), multiline=True)),
                    classes="message role-tool",
                )
                reference.border_title = "reference"
                yield reference
                panel = Static(prompt_text(item.messages), classes="message role-user")
                panel.border_title = "prompt"
                yield panel
        yield Footer()


def prompt_text(messages: Any) -> Text:
    """The prompt's messages, one after the other, tool calls written out."""
    text = Text()
    for message in messages:
        role = str(message.get("role"))
        text.append(f"{fmt.plain(role)}: ", style=f"bold {fmt.ROLE_STYLES.get(role, '')}")
        content = message.get("content")
        if content:
            text.append(fmt.plain(content, multiline=True))
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            called = f"→ {function.get('name')}({function.get('arguments')})"
            text.append(fmt.plain(called), style="yellow")
        text.append("\n")
    text.rstrip()
    return text


def _answer(record: Any) -> Text:
    if record is None:
        return Text("(not asked)", style="dim")
    if record.error is not None:
        return Text(f"failed: {fmt.plain(record.error, multiline=True)}", style="bold red")
    return Text(fmt.plain(record.response_text or "", multiline=True))


def _scores(record: Any) -> str:
    if record is None or record.error is not None:
        return ""
    metrics = (record.scores or {}).get("metrics") or {}
    shown = []
    for key, label in (("token_f1", "F1"), ("rouge_l", "ROUGE-L"), ("exact_match", "EM")):
        value = metrics.get(key)
        if isinstance(value, int | float):
            shown.append(f"{label} {value:.2f}")
    return " · ".join(shown)
