"""One job in detail: hyperparameters, the server's cost and duration, events, checkpoints with
the best ``valid_loss`` marked, the loss chart, and the lineage from dataset to evaluations."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static, TabbedContent, TabPane, Tree

from tuner.api import APIError
from tuner.jobs.detail import JobDetail, LineageNode
from tuner.jobs.records import SIMULATED
from tuner.tui import format as fmt
from tuner.tui.screens.base import TunerScreen
from tuner.tui.screens.dialogs import ConfirmScreen, EventScreen
from tuner.tui.screens.jobs import CANCELLABLE
from tuner.tui.views.jobs import JobsSnapshot
from tuner.tui.widgets.charts import LossChart

LINEAGE_STYLES = {
    "dataset": "bold cyan",
    "file": "cyan",
    "job": "bold",
    "model": "bold green",
    "eval": "yellow",
    "root": "",
}


class JobDetailScreen(TunerScreen):
    SECTION = "jobs"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="job.back", tooltip="Back to the jobs"),
        Binding("r", "refresh", "Refresh", id="job.refresh", tooltip="Fetch the job again"),
        Binding("t", "next_tab", "Next tab", id="job.next_tab",
                tooltip="Overview, loss, checkpoints, events, lineage"),
        Binding("s", "start_job", "Start", id="job.start", tooltip="Start this VALIDATED job"),
        Binding("c", "cancel_job", "Cancel", id="job.cancel", tooltip="Cancel this job"),
        Binding("e", "evaluate", "Evaluate", id="job.evaluate",
                tooltip="Evaluate the tuned model against its base model (on its validation file)"),
        Binding("p", "playground", "Chat with model", id="job.playground", show=False,
                tooltip="Chat with the tuned model beside its base model"),
    ]  # fmt: skip
    TABS = ("overview", "loss", "checkpoints", "events", "lineage")
    HELP = "enter on an event shows all of it"

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id
        self.detail: JobDetail | None = None
        self.loaded = 0
        """Times the detail was shown (tests wait on it)."""

    def compose_body(self) -> ComposeResult:
        yield Static(Text(f"job {fmt.plain(self.job_id)}", style="bold"), id="job-title")
        with TabbedContent(id="job-tabs", initial="overview"):
            with TabPane("Overview", id="overview"), VerticalScroll(id="job-overview-scroll"):
                # Why it failed, in full (wrapped, never cut): shown only for a failed job.
                yield Static(id="job-error", classes="panel", markup=False)
                with Horizontal(id="job-overview"):
                    yield Static(id="job-hyper", classes="panel")
                    yield Static(id="job-meta", classes="panel")
                # A classifier job's targets (name, loss, weight, labels): shown only for one.
                yield Static(id="job-targets", classes="panel")
            with TabPane("Loss", id="loss"):
                yield LossChart(id="job-chart")
            with TabPane("Checkpoints", id="checkpoints"):
                yield DataTable(id="job-checkpoints", cursor_type="row", zebra_stripes=True)
            with TabPane("Events", id="events"):
                yield DataTable(id="job-events", cursor_type="row", zebra_stripes=True)
            with TabPane("Lineage", id="lineage"):
                yield Tree("lineage", id="job-lineage")

    def on_mount(self) -> None:
        self.query_one("#job-checkpoints", DataTable).add_columns(
            "Step", "train_loss", "valid_loss", "valid acc", "Created", "Best"
        )
        self.query_one("#job-events", DataTable).add_columns("Time (UTC)", "Event", "Data")
        self.tuner.jobs_signal.subscribe(self, self._jobs_changed)
        self.load(fetch=True)

    def _jobs_changed(self, snapshot: JobsSnapshot) -> None:
        # The refresh loop recorded something about this job: show it.
        row = next((r for r in snapshot.rows if r.id == self.job_id), None)
        detail = self.detail
        if row is None or detail is None:
            return
        if row.status != detail.job.status or (row.step or 0) != max(
            (c.step for c in detail.checkpoints), default=0
        ):
            self.load(fetch=False)

    def action_refresh(self) -> None:
        self.load(fetch=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Start, cancel and evaluate only where this job's status allows them."""
        detail = self.detail
        if action == "start_job":
            return True if detail is not None and why_not_start(detail) is None else None
        if action == "cancel_job":
            return True if detail is not None and detail.job.status in CANCELLABLE else None
        if action in ("evaluate", "playground"):
            return True if detail is not None and detail.job.fine_tuned_model else None
        return True

    @work(group="job-detail", exclusive=True, exit_on_error=False, description="loading the job")
    async def load(self, fetch: bool) -> None:
        app = self.tuner
        if fetch:
            try:
                # At the job's own provider (an OpenAI job with its events and checkpoints).
                await app.services.refresh_any(self.job_id)
            except APIError as error:
                app.notify_error(f"fetching job {fmt.short_id(self.job_id)}", error)
        detail = await app.ledger.aio.call(app.services.job_detail, self.job_id)
        if detail is None:
            self.notify(f"job {self.job_id} is not in the ledger", severity="error", markup=False)
            return
        self.show(detail)

    def show(self, detail: JobDetail) -> None:
        self.detail = detail
        job = detail.job
        title = Text()
        if job.simulated:
            title.append(f" {SIMULATED} ", style=fmt.SIMULATED_STYLE)
            title.append(" ")
        title.append(f"job {fmt.plain(job.id)}  ", style="bold")
        title.append(fmt.status_label(job.status), style=fmt.status_style(job.status))
        title.append(f"  {fmt.plain(job.model)}")
        if job.fine_tuned_model:
            title.append(" → ")
            title.append(fmt.plain(job.fine_tuned_model), style="bold green")
        self.query_one("#job-title", Static).update(title)
        self._show_failure(detail)
        self.query_one("#job-hyper", Static).update(hyper_table(detail))
        self.query_one("#job-meta", Static).update(meta_table(detail, self.tuner.now()))
        self._show_targets(detail)
        self._show_chart(detail)
        self._show_checkpoints(detail)
        self._show_events(detail)
        self._show_lineage(detail.lineage())
        self.refresh_bindings()
        self.loaded += 1

    def _show_failure(self, detail: JobDetail) -> None:
        panel = self.query_one("#job-error", Static)
        reason = detail.failure
        panel.display = reason is not None
        if reason is not None:
            text = Text(f"{fmt.status_label(detail.job.status)}: ", style="bold red")
            text.append(fmt.plain(reason, multiline=True))  # the server's words: shown inert
            panel.update(text)

    def _show_targets(self, detail: JobDetail) -> None:
        panel = self.query_one("#job-targets", Static)
        table = targets_table(detail)
        panel.display = table is not None
        if table is not None:
            panel.update(table)

    def _show_chart(self, detail: JobDetail) -> None:
        best = detail.best_checkpoint
        marked = None
        if best is not None:
            marked = (best.step, float(best.metrics["valid_loss"]))
        self.query_one(LossChart).show_losses(
            detail.series("train_loss"), detail.series("valid_loss"), marked
        )

    def _show_checkpoints(self, detail: JobDetail) -> None:
        table = self.query_one("#job-checkpoints", DataTable)
        table.clear()
        best = detail.best_checkpoint
        for checkpoint in sorted(detail.checkpoints, key=lambda c: c.step):
            metrics: dict[str, Any] = checkpoint.metrics
            is_best = best is not None and checkpoint.step == best.step
            mark = Text("★ best valid_loss", style="bold green") if is_best else Text("")
            table.add_row(
                Text(str(checkpoint.step), justify="right"),
                Text(fmt.number(metrics.get("train_loss"), 4), justify="right"),
                Text(
                    fmt.number(metrics.get("valid_loss"), 4),
                    justify="right",
                    style="bold green" if is_best else "",
                ),
                Text(fmt.number(metrics.get("valid_mean_token_accuracy"), 3), justify="right"),
                Text(fmt.timestamp(checkpoint.created_at, seconds=True)),
                mark,
                key=str(checkpoint.step),
            )

    def _show_events(self, detail: JobDetail) -> None:
        table = self.query_one("#job-events", DataTable)
        table.clear()
        for index, event in enumerate(detail.events):
            data = event.data
            if isinstance(data, dict):
                shown = ", ".join(f"{k}={v}" for k, v in data.items())
            else:
                shown = "" if data is None else str(data)
            table.add_row(
                Text(fmt.timestamp(event.created_at, seconds=True)),
                Text(fmt.plain(event.name)),
                Text(fmt.truncate(shown, 60)),
                key=str(index),
            )

    @on(DataTable.RowSelected, "#job-events")
    def _event_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an event: the whole of it (the table cuts its data at 60 characters)."""
        detail = self.detail
        if detail is None or event.row_key.value is None:
            return
        index = int(event.row_key.value)
        if 0 <= index < len(detail.events):
            self.app.push_screen(EventScreen(detail.events[index]))

    def _show_lineage(self, roots: list[LineageNode]) -> None:
        tree: Tree[LineageNode] = self.query_one("#job-lineage", Tree)
        tree.clear()
        tree.show_root = False

        def add(parent: Any, node: LineageNode) -> None:
            if node.children:
                branch = parent.add(node_label(node), data=node, expand=True)
                for child in node.children:
                    add(branch, child)
            else:
                parent.add_leaf(node_label(node), data=node)

        for root in roots:
            add(tree.root, root)
        tree.root.expand_all()

    @on(Tree.NodeSelected, "#job-lineage")
    def _lineage_selected(self, event: Tree.NodeSelected[LineageNode]) -> None:
        """Enter on an evaluation run: open it in Evaluate."""
        node = event.node.data
        if node is not None and node.kind == "eval" and node.ref:
            self.tuner.open_eval_run(node.ref)

    def action_next_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        current = tabs.active
        index = self.TABS.index(current) if current in self.TABS else -1
        tabs.active = self.TABS[(index + 1) % len(self.TABS)]

    # -- actions ----------------------------------------------------------------------------

    def action_start_job(self) -> None:
        detail = self.detail
        if detail is None:
            return
        why = why_not_start(detail)
        if why is not None:
            self.notify(why, severity="warning", markup=False)
            return
        meta = detail.job.metadata or {}

        def answered(yes: bool | None) -> None:
            if yes:
                self.act("start")

        self.app.push_screen(
            ConfirmScreen(
                f"Start job {self.job_id}?",
                detail=f"Cost: {fmt.cost(meta.get('cost'), meta.get('cost_currency'))}",
            ),
            answered,
        )

    def action_cancel_job(self) -> None:
        detail = self.detail
        if detail is None or detail.job.status not in CANCELLABLE:
            self.notify("this job cannot be cancelled now", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.act("cancel")

        self.app.push_screen(
            ConfirmScreen(
                f"Cancel job {self.job_id}?",
                detail="A cancelled job cannot be resumed.",
                yes="Cancel job",
            ),
            answered,
        )

    @work(group="job-detail-action", exclusive=True, exit_on_error=False, description="acting")
    async def act(self, how: str) -> None:
        if how == "start":
            job = await self.tuner.orchestrator().start(self.job_id)
            await self.tuner.record_job(job)
            status = job.status
        else:
            status = await self.tuner.cancel_job(self.job_id)  # at the job's own provider
        self.notify(f"job {fmt.short_id(self.job_id)}: {status}", markup=False)
        self.load(fetch=False)

    def action_playground(self) -> None:
        detail = self.detail
        if detail is None or not detail.job.fine_tuned_model:
            self.notify("this job has no tuned model yet", severity="warning")
            return
        self.tuner.open_playground(detail.job.fine_tuned_model, detail.job.model)

    def action_evaluate(self) -> None:
        detail = self.detail
        if detail is None or not detail.job.fine_tuned_model:
            self.notify("this job has no tuned model yet", severity="warning")
            return
        self.tuner.open_evaluate(
            detail.job.fine_tuned_model, detail.job.model, detail.validation_path
        )


def node_label(node: LineageNode) -> Text:
    text = Text(fmt.plain(node.label), style=LINEAGE_STYLES.get(node.kind, ""))
    if node.detail:
        text.append(f"  {fmt.plain(node.detail)}", style="dim")
    return text


def hyper_table(detail: JobDetail) -> Table:
    table = Table(title="Hyperparameters", show_header=False, box=None, title_justify="left")
    table.add_column(style="dim")
    table.add_column()
    for key, value in sorted((detail.job.hyperparameters or {}).items()):
        if value is not None:
            shown = fmt.number(value) if isinstance(value, float) else str(value)
            table.add_row(Text(fmt.plain(key)), Text(fmt.plain(shown)))
    table.add_row("suffix", Text(fmt.plain(detail.job.suffix or "-")))
    table.add_row("auto_start", Text(auto_start_text(detail)))
    return table


def targets_table(detail: JobDetail) -> Table | None:
    """A classifier job's targets, one row each (labels wrapped, never cut); None for a job
    without targets. Names and labels come from the server or the spec: shown inert."""
    targets = detail.classifier_targets()
    if not targets:
        return None
    source = "server" if detail.classifier_targets_source == "server" else "job spec"
    table = Table(
        title=f"Classifier targets (from the {source})",
        title_justify="left",
        box=None,
        padding=(0, 1),
        header_style="dim",
    )
    table.add_column("target", no_wrap=True, style="bold")
    table.add_column("loss", no_wrap=True)
    table.add_column("weight", justify="right", no_wrap=True)
    table.add_column("labels", overflow="fold")
    for target in targets:
        loss = target["loss_function"]
        table.add_row(
            Text(fmt.plain(target["name"])),
            Text(fmt.plain(loss)) if loss else Text("server default", style="dim"),
            Text(f"{target['weight']:g}"),
            Text(", ".join(fmt.plain(label) for label in target["labels"]) or "-"),
        )
    return table


def why_not_start(detail: JobDetail) -> str | None:
    """Why the job cannot be started (None: it can)."""
    if detail.job.provider == "openai":
        return "an OpenAI job starts when it is created: there is nothing to start"
    if detail.job.status != "VALIDATED":
        return f"the job is {detail.job.status}; only a VALIDATED job can be started"
    return None


def auto_start_text(detail: JobDetail) -> str:
    """The spec's ``auto_start`` (tuner creates jobs with the server's set to false and starts
    them itself once the cost is agreed); the server's for a job made outside tuner."""
    wanted = detail.spec_auto_start
    if wanted is None:
        server = detail.job.auto_start
        return "-" if server is None else f"{str(server).lower()} (server)"
    return "true (started once agreed)" if wanted else "false (left VALIDATED)"


def meta_table(detail: JobDetail, now: int) -> Table:
    job = detail.job
    meta = job.metadata or {}
    table = Table(title="Server metadata", show_header=False, box=None, title_justify="left")
    table.add_column(style="dim")
    table.add_column()
    table.add_row("cost", Text(fmt.cost(meta.get("cost"), meta.get("cost_currency"))))
    table.add_row("expected duration", fmt.duration(meta.get("expected_duration_seconds")))
    table.add_row("train tokens", fmt.count(meta.get("train_tokens")))
    table.add_row("data tokens", fmt.count(meta.get("data_tokens")))
    table.add_row("tokens per step", fmt.count(meta.get("train_tokens_per_step")))
    table.add_row("trained tokens", fmt.count(job.trained_tokens))
    table.add_row("created", f"{fmt.timestamp(job.created_at)} UTC")
    ran = _running_time(detail)
    if ran is not None:
        table.add_row("ran for", fmt.duration(ran))
    table.add_row("age", fmt.age(now - (job.created_at or job.first_seen_at)))
    return table


def _running_time(detail: JobDetail) -> float | None:
    """From the first RUNNING event to the terminal one (or to the last event)."""
    times: dict[str, int] = {}
    for event in detail.events:
        status = (event.data or {}).get("status") if isinstance(event.data, dict) else None
        if status and event.created_at is not None:
            times.setdefault(status, event.created_at)
            times[f"last:{status}"] = event.created_at
    started = times.get("last:RUNNING")
    if started is None:
        return None
    for end in ("SUCCESS", "FAILED", "CANCELLED"):
        if end in times:
            return float(times[end] - started)
    return None
