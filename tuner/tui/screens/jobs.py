"""Jobs, the home screen: the live table of jobs and the actions on the selected one."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Static

from tuner.tui import format as fmt
from tuner.tui.screens.base import TunerScreen
from tuner.tui.screens.dialogs import ConfirmScreen, PromptScreen
from tuner.tui.views.jobs import JobRow, JobsSnapshot
from tuner.tui.widgets.inputs import TunerInput
from tuner.tui.widgets.jobs_table import JobsTable

if TYPE_CHECKING:
    from tuner.jobs.orchestrator import Plan

EMPTY_HINT = (
    "No jobs on this backend yet. Press [b]n[/b] to create one from a job spec "
    "(e.g. examples/jobs/support.toml), or [b]r[/b] to refresh."
)


class JobPreview(Static):
    """The selected job at a glance (wide terminals only)."""

    def show_row(self, row: JobRow | None, now: int) -> None:
        if row is None:
            self.update("")
            return
        text = Text()
        text.append(f"{fmt.plain(row.id)}\n", style="bold")
        text.append(fmt.status_label(row.status), style=fmt.status_style(row.status))
        text.append(f"\n\nmodel     {fmt.plain(row.model)}\n")
        text.append(f"suffix    {fmt.plain(row.suffix or '-')}\n")
        text.append(f"tuned     {fmt.plain(row.fine_tuned_model or '-')}\n")
        text.append(f"steps     {fmt.steps(row.step, row.total_steps)}\n")
        text.append(f"tokens    {fmt.count(row.trained_tokens)}\n")
        text.append(f"cost      {fmt.cost(row.cost, row.currency)}\n")
        text.append(f"created   {fmt.timestamp(row.created_at)} UTC\n")
        text.append(f"age       {fmt.age(now - row.created_at)}\n\n")
        text.append("enter: details, loss chart, lineage", style="dim")
        self.update(text)


class JobsScreen(TunerScreen):
    SECTION = "jobs"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", key_display="/", id="jobs.filter",
                tooltip="Show only jobs whose id, model, suffix or status match"),
        Binding("r", "refresh", "Refresh", id="jobs.refresh", tooltip="Poll now"),
        Binding("s", "start_job", "Start", id="jobs.start",
                tooltip="Start the selected VALIDATED job (asks first: it costs money)"),
        Binding("c", "cancel_job", "Cancel", id="jobs.cancel",
                tooltip="Cancel the selected job (asks first)"),
        Binding("e", "evaluate_job", "Evaluate", id="jobs.evaluate",
                tooltip="Evaluate the selected job's model against its base model"),
        Binding("n", "new_job", "New job", id="jobs.new",
                tooltip="Create a job from a job spec file (TOML)"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="jobs.clear_filter"),
    ]  # fmt: skip

    def compose_body(self) -> ComposeResult:
        yield TunerInput(
            placeholder="filter: id, model, suffix or status",
            id="jobs-filter",
            leave_on_escape=False,
        )
        with Horizontal(id="jobs-body"):
            with Vertical(id="jobs-main"):
                yield Static(EMPTY_HINT, id="jobs-empty")
                yield JobsTable(id="jobs-table")
            yield JobPreview(id="jobs-preview")

    @property
    def table(self) -> JobsTable:
        return self.query_one(JobsTable)

    def on_mount(self) -> None:
        self.tuner.jobs_signal.subscribe(self, self.show_snapshot)
        if self.tuner.snapshot is not None:
            self.show_snapshot(self.tuner.snapshot)
        self.table.focus()

    def show_snapshot(self, snapshot: JobsSnapshot) -> None:
        self.table.show_rows(snapshot.rows, self.tuner.now())
        self._after_change()

    def _after_change(self) -> None:
        empty = self.table.row_count == 0
        self.query_one("#jobs-empty").display = empty and not self.table.filter_text
        self._preview()

    def _preview(self) -> None:
        self.query_one(JobPreview).show_row(self.table.selected, self.tuner.now())

    @on(DataTable.RowHighlighted, "#jobs-table")
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._preview()

    @on(DataTable.RowSelected, "#jobs-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_job(event.row_key.value)

    def open_job(self, job_id: str) -> None:
        from tuner.tui.screens.job_detail import JobDetailScreen

        self.app.push_screen(JobDetailScreen(job_id))

    # -- the filter -------------------------------------------------------------------------

    def action_filter(self) -> None:
        field = self.query_one("#jobs-filter", TunerInput)
        field.display = True
        field.focus()

    @on(Input.Changed, "#jobs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)
        self._after_change()

    @on(Input.Submitted, "#jobs-filter")
    def _filter_done(self, _event: Input.Submitted) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        field = self.query_one("#jobs-filter", TunerInput)
        field.value = ""
        field.display = False
        self.table.set_filter("")
        self._after_change()
        self.table.focus()

    # -- actions on the selected job ----------------------------------------------------------

    def _selected_row(self) -> JobRow | None:
        row = self.table.selected
        if row is None:
            self.notify("no job selected", severity="warning")
        return row

    def action_refresh(self) -> None:
        self.tuner.request_refresh()

    def action_start_job(self) -> None:
        row = self._selected_row()
        if row is None:
            return
        if row.status != "VALIDATED":
            self.notify(
                f"job {fmt.short_id(row.id)} is {row.status}; only a VALIDATED job can be started",
                severity="warning",
                markup=False,
            )
            return
        detail = f"Cost: {fmt.cost(row.cost, row.currency)} (the server's figure)."

        def answered(yes: bool | None) -> None:
            if yes:
                self.start_job(row.id)

        self.app.push_screen(ConfirmScreen(f"Start job {row.id}?", detail=detail), answered)

    def action_cancel_job(self) -> None:
        row = self._selected_row()
        if row is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.cancel_job(row.id)

        question = f"Cancel job {row.id} ({row.suffix or row.model}, {row.status})?"
        self.app.push_screen(
            ConfirmScreen(question, detail="A cancelled job cannot be resumed.", yes="Cancel job"),
            answered,
        )

    @work(group="job-action", exclusive=True, exit_on_error=False, description="starting a job")
    async def start_job(self, job_id: str) -> None:
        job = await self.tuner.orchestrator().start(job_id)
        await self.tuner.record_job(job)
        self.notify(f"job {fmt.short_id(job_id)} started: {job.status}", markup=False)

    @work(group="job-action", exclusive=True, exit_on_error=False, description="cancelling a job")
    async def cancel_job(self, job_id: str) -> None:
        job = await self.tuner.orchestrator().cancel(job_id)
        await self.tuner.record_job(job)
        self.notify(f"job {fmt.short_id(job_id)}: {job.status}", markup=False)

    def action_evaluate_job(self) -> None:
        row = self._selected_row()
        if row is None:
            return
        if not row.fine_tuned_model:
            self.notify(
                f"job {fmt.short_id(row.id)} has no tuned model yet ({row.status})",
                severity="warning",
                markup=False,
            )
            return
        self.tuner.open_evaluate(row.fine_tuned_model, row.model)

    # -- a new job from a spec ----------------------------------------------------------------

    def action_new_job(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self.plan_job(path.strip())

        self.app.push_screen(
            PromptScreen("Job spec file (TOML):", placeholder="examples/jobs/support.toml"),
            chosen,
        )

    @work(group="new-job", exclusive=True, exit_on_error=False, description="checking the spec")
    async def plan_job(self, path: str) -> None:
        """Validate and estimate first (nothing uploaded); create only once confirmed."""
        from tuner.jobs.spec import SpecError, load_spec

        try:
            spec = load_spec(path)
            self.notify(f"validating the data of {path}…", markup=False)
            result = await self.tuner.orchestrator().create(spec, dry_run=True)
        except SpecError as error:
            self.notify(str(error), title="Job spec", severity="error", markup=False)
            return
        if result.outcome == "invalid":
            self.notify(f"the data has errors: {result.message}", severity="error", markup=False)
            return
        detail = describe_plan(result.plan)

        def answered(yes: bool | None) -> None:
            if yes:
                self.create_job(path)

        self.app.push_screen(
            ConfirmScreen(f"Create the job(s) of {path}?", detail=detail, yes="Create"),
            answered,
        )

    @work(group="new-job", exclusive=True, exit_on_error=False, description="creating a job")
    async def create_job(self, path: str) -> None:
        from tuner.jobs.spec import SpecError, load_spec

        # The estimate was agreed to; the server's own figure is shown again before starting.
        def approve_estimate(plan: Plan) -> bool:
            return plan.stage == "estimate"

        try:
            spec = load_spec(path)
        except SpecError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.notify("uploading and creating the job…")
        result = await self.tuner.orchestrator(approve_estimate).create(spec)
        self.tuner.request_refresh()
        if result.outcome == "declined" and result.jobs:
            job = result.jobs[0]
            self.ask_start_validated(job.id, describe_plan(result.plan))
            return
        message = result.message or result.outcome
        ids = ", ".join(fmt.short_id(job.id) for job in result.jobs)
        text = f"{message}{': ' + ids if ids else ''}"
        self.notify(text, severity="information" if result.ok else "error", markup=False)

    def ask_start_validated(self, job_id: str, detail: str) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.start_job(job_id)
            else:
                self.notify(
                    f"job {fmt.short_id(job_id)} left VALIDATED; start it with s", markup=False
                )

        self.app.push_screen(
            ConfirmScreen(f"Job {job_id} is validated. Start it?", detail=detail, yes="Start"),
            answered,
        )


def describe_plan(plan: Plan) -> str:
    """The plan's jobs and costs, for a confirmation dialog."""
    lines = []
    for job in plan.jobs:
        name = job.spec.suffix or plan.model
        cost = fmt.cost(job.cost) if job.cost is not None else "unknown"
        server = job.metadata or {}
        figure = "server" if server.get("cost") is not None else "estimate"
        lines.append(f"{name}: {plan.model}, {cost} ({figure})")
    total = plan.total_cost
    if len(plan.jobs) > 1 and total is not None:
        lines.append(f"total: {fmt.cost(total)}")
    return "\n".join(lines)
