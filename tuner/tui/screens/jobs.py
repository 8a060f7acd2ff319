"""Jobs, the home screen: the live table of jobs and the actions on the selected one."""

from __future__ import annotations

from collections.abc import Callable
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
    from tuner.jobs.openai_create import OpenAIPlan
    from tuner.jobs.orchestrator import Plan
    from tuner.jobs.spec import SpecFile

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
        for name, value in row.sweep_values.items():
            text.append(f"sweep     {fmt.plain(name)} = {fmt.plain(str(value))}\n", style="cyan")
        if row.best_valid_loss is not None:
            text.append(f"val loss  {fmt.number(row.best_valid_loss)} (best)\n")
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
        Binding("p", "playground", "Chat with model", id="jobs.playground", show=False,
                tooltip="Chat with the selected job's tuned model beside its base model"),
        Binding("n", "new_job", "New job", id="jobs.new",
                tooltip="Create a job from a job spec file (TOML)"),
        # Not in the footer (room at 80 columns): in the help (?) and the palette.
        Binding("v", "compare", "Compare", id="jobs.compare", show=False,
                tooltip="Columns for swept hyperparameters and the best validation loss"),
        Binding("o", "sort", "Sort", id="jobs.sort", show=False,
                tooltip="Order by age, suffix, status, val loss or cost (or click a header)"),
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
        self.refresh_bindings()  # the selected job's status may have changed

    def _after_change(self) -> None:
        empty = self.table.row_count == 0
        self.query_one("#jobs-empty").display = empty and not self.table.filter_text
        self._preview()

    def _preview(self) -> None:
        self.query_one(JobPreview).show_row(self.table.selected, self.tuner.now())

    @on(DataTable.RowHighlighted, "#jobs-table")
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._preview()
        self.refresh_bindings()  # start/cancel/evaluate depend on the selected job

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Start, cancel and evaluate are offered only where the selected job allows them
        (None: shown disabled in the footer, refused if pressed)."""
        check = ROW_ACTIONS.get(action)
        if check is None:
            return True
        row = self.table.selected if self.is_mounted else None
        return True if row is not None and check(row) is None else None

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
        # Now, not after the next refresh (``focus()`` defers): keys typed right after ``/``
        # in one burst belong to the filter, not to the table (``e`` would evaluate).
        self.set_focus(field)

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

    # -- columns and order --------------------------------------------------------------------

    def action_compare(self) -> None:
        table = self.table
        table.set_compare(not table.compare)
        self.notify(
            "compare: swept hyperparameters and best validation loss"
            if table.compare
            else "compare off: model, tokens and cost",
            timeout=2,
        )

    def action_sort(self) -> None:
        key = self.table.next_sort()
        self.notify(f"sorted by {key.replace('_', ' ')}", timeout=2)

    # -- actions on the selected job ----------------------------------------------------------

    def _selected_row(self) -> JobRow | None:
        row = self.table.selected
        if row is None:
            self.notify("no job selected", severity="warning")
        return row

    def action_refresh(self) -> None:
        self.tuner.refresh_now()

    def _refused(self, action: str) -> JobRow | None:
        """The selected row if ``action`` applies to it; otherwise say why and None."""
        row = self._selected_row()
        if row is None:
            return None
        why = ROW_ACTIONS[action](row)
        if why is not None:
            self.notify(why, severity="warning", markup=False)
            return None
        return row

    def action_start_job(self) -> None:
        row = self._refused("start_job")
        if row is None:
            return
        detail = f"Cost: {fmt.cost(row.cost, row.currency)} (the server's figure)."

        def answered(yes: bool | None) -> None:
            if yes:
                self.start_job(row.id)

        self.app.push_screen(ConfirmScreen(f"Start job {row.id}?", detail=detail), answered)

    def action_cancel_job(self) -> None:
        row = self._refused("cancel_job")
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

    # Not exclusive: answering two "Start it?" prompts in a row starts both jobs.
    @work(group="job-action", exit_on_error=False, description="starting a job")
    async def start_job(self, job_id: str) -> None:
        job = await self.tuner.orchestrator().start(job_id)
        await self.tuner.record_job(job)
        self.notify(f"job {fmt.short_id(job_id)} started: {job.status}", markup=False)

    @work(group="job-action", exit_on_error=False, description="cancelling a job")
    async def cancel_job(self, job_id: str) -> None:
        status = await self.tuner.cancel_job(job_id)  # at the job's own provider
        self.notify(f"job {fmt.short_id(job_id)}: {status}", markup=False)

    def action_evaluate_job(self) -> None:
        row = self._refused("evaluate_job")
        if row is None or row.fine_tuned_model is None:
            return
        self.evaluate(row.id, row.fine_tuned_model, row.model)

    @work(group="job-open", exit_on_error=False, description="opening Evaluate")
    async def evaluate(self, job_id: str, model: str, baseline: str) -> None:
        """Evaluate, prefilled with the file the job was validated on (when recorded)."""
        detail = await self.tuner.ledger.aio.call(self.tuner.services.job_detail, job_id)
        path = detail.validation_path if detail is not None else None
        self.tuner.open_evaluate(model, baseline, path)

    def action_playground(self) -> None:
        row = self._refused("playground")
        if row is not None and row.fine_tuned_model is not None:
            self.tuner.open_playground(row.fine_tuned_model, row.model)

    # -- a new job from a spec ----------------------------------------------------------------

    def action_new_job(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self.plan_job(path.strip())

        from tuner.tui.paths import PathSuggester

        self.app.push_screen(
            PromptScreen(
                "Job spec file (TOML; → completes the path):",
                placeholder="examples/jobs/support.toml",
                suggester=PathSuggester((".toml",)),
            ),
            chosen,
        )

    # Not exclusive: a second spec checked or created while the first is still being created
    # must not cancel the first (its job would be left VALIDATED with nobody asked to start it).
    @work(group="new-job", exit_on_error=False, description="checking the spec")
    async def plan_job(self, path: str) -> None:
        """Validate and estimate first (nothing uploaded); create only once confirmed."""
        from tuner.jobs.spec import SpecError, load_spec

        try:
            spec = load_spec(path)
            if spec.job.is_openai:
                await self.plan_openai_job(path, spec)
                return
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

    @work(group="new-job", exit_on_error=False, description="creating a job")
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

    # -- an OpenAI spec: the local estimate is the only confirmation (creating starts it) ------

    async def plan_openai_job(self, path: str, spec: SpecFile) -> None:
        """Count and estimate locally (nothing uploaded); create and start once confirmed,
        through the core's ``OpenAICreator`` (what ``tuner jobs create`` runs)."""
        if not self.tuner.services.has_openai:
            self.notify(
                f"{path} is an OpenAI spec: set OPENAI_API_KEY to create it",
                title="Job spec",
                severity="error",
                markup=False,
            )
            return
        self.notify(f"counting the data of {path}…", markup=False)
        creator = self.tuner.services.openai_creator()
        result = await creator.create(spec, dry_run=True)
        if result.outcome != "dry_run":
            self.notify(result.message or result.outcome, severity="error", markup=False)
            return
        agreed = result.plan.total_cost

        def answered(yes: bool | None) -> None:
            if yes:
                self.create_openai_job(path, agreed)

        count = len(result.plan.jobs)
        what = "this job" if count == 1 else f"these {count} jobs"
        self.app.push_screen(
            ConfirmScreen(
                f"Create and start {what} on OpenAI ({path})?",
                detail=describe_openai_plan(result.plan),
                yes="Create and start",
            ),
            answered,
        )

    @work(group="new-job", exit_on_error=False, description="creating an OpenAI job")
    async def create_openai_job(self, path: str, agreed: float | None) -> None:
        from tuner.jobs.spec import SpecError, load_spec

        # Only the estimate that was agreed to: a file changed since then is asked about again.
        def same_estimate(plan: OpenAIPlan) -> bool:
            return plan.total_cost == agreed

        try:
            spec = load_spec(path)
        except SpecError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.notify("uploading and creating the OpenAI job…")
        creator = self.tuner.services.openai_creator(confirm=same_estimate)
        result = await creator.create(spec)
        self.tuner.request_refresh()
        ids = ", ".join(fmt.short_id(job.id) for job in result.jobs)
        text = result.message or result.outcome
        if result.queued:
            text += f" ({result.queued} wait in the OpenAI queue)"
        self.notify(
            f"{text}{': ' + ids if ids else ''}",
            severity="information" if result.ok else "error",
            markup=False,
        )

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


CANCELLABLE = frozenset({"QUEUED", "STARTED", "VALIDATING", "VALIDATED", "RUNNING"})
"""Statuses the API lets a job be cancelled from."""


def why_not_start(row: JobRow) -> str | None:
    if row.provider == "openai":
        return f"job {fmt.short_id(row.id)} is OpenAI's: creating an OpenAI job starts it"
    if row.status == "VALIDATED":
        return None
    return f"job {fmt.short_id(row.id)} is {row.status}; only a VALIDATED job can be started"


def why_not_cancel(row: JobRow) -> str | None:
    if row.is_local:
        return "this spec is still in the local queue: no job to cancel on the server yet"
    if row.status in CANCELLABLE:
        return None
    return f"job {fmt.short_id(row.id)} is {row.status}: it cannot be cancelled"


def why_not_evaluate(row: JobRow) -> str | None:
    if row.fine_tuned_model:
        return None
    return f"job {fmt.short_id(row.id)} has no tuned model yet ({row.status})"


ROW_ACTIONS: dict[str, Callable[[JobRow], str | None]] = {
    "start_job": why_not_start,
    "cancel_job": why_not_cancel,
    "evaluate_job": why_not_evaluate,
    "playground": why_not_evaluate,
}
"""The actions on the selected job, and why each does not apply to a row (None: it does)."""


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


def describe_openai_plan(plan: OpenAIPlan) -> str:
    """An OpenAI plan's local estimates, for a confirmation dialog (OpenAI gives no figure
    before a job runs, and creating one starts it)."""
    lines = []
    notes: set[str] = set()
    for job in plan.jobs:
        name = job.spec.suffix or plan.model
        est = job.estimate
        if est is None:
            lines.append(f"{name}: {plan.model}, cost unknown (no local estimate)")
            continue
        notes.add(est.note)
        cost = fmt.cost(job.cost, "USD") if job.cost is not None else "unknown"
        lines.append(
            f"{name}: {plan.model}, {est.examples:,} examples, {est.data_tokens:,} tokens, "
            f"{cost} (estimate)"
        )
    total = plan.total_cost
    if len(plan.jobs) > 1 and total is not None:
        lines.append(f"total: {fmt.cost(total, 'USD')} (estimate)")
    lines.extend(sorted(notes))
    lines.append("Creating an OpenAI job starts it: training is billed.")
    return "\n".join(lines)
