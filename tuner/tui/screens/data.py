"""Data: open a local JSONL file, see its validation summary, findings and token lengths;
open a finding's conversation; run fix or split from here."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Input,
    Label,
    Static,
    TabbedContent,
    TabPane,
)

from tuner.tui import format as fmt
from tuner.tui.paths import PathSuggester
from tuner.tui.screens.base import TunerScreen
from tuner.tui.screens.dialogs import PromptScreen
from tuner.tui.views.charts import histogram
from tuner.tui.views.conversation import LineContent, read_line
from tuner.tui.widgets.charts import Histogram
from tuner.tui.widgets.conversation import ConversationView
from tuner.tui.widgets.inputs import TunerInput

if TYPE_CHECKING:
    from tuner.datasets.findings import Finding
    from tuner.datasets.fix import FixResult
    from tuner.datasets.report import Report
    from tuner.datasets.tokenizers import Counting

FINDINGS_SHOWN = 5000
DATA_SUFFIXES = (".jsonl", ".jsonl.gz")
"""What the open prompt completes to (besides folders): the files validation reads."""


def validate_file(path: str, model: str, provider: str) -> tuple[Report, Counting]:
    """Validate one file by ``provider``'s rules, counting with the model's tokenizer (empty:
    the provider's default model, as the CLI without ``--model``); blocking: run it in a thread.
    Returns the counting used too, so that the screen can say what it applied."""
    from tuner.datasets.providers import counter_factory, resolve_counting_for
    from tuner.datasets.validate import ValidateOptions, validate_paths

    counting = resolve_counting_for(provider, model or None)
    options = ValidateOptions(seq_len=counting.seq_len, provider=provider)
    factory = counter_factory(provider, counting.tokenizer)
    # One process: the dashboard runs threads, so a fork-based pool is not safe here.
    report = validate_paths([path], options=options, counter_factory=factory, workers=1)
    return report, counting


def rules_text(provider: str, counting: Counting) -> str:
    """Whose rules a report applied and whose tokens it counted (``OpenAI's rules, tokens of
    gpt-4.1-mini-2025-04-14``)."""
    from tuner.datasets.providers import PROVIDER_NAMES

    counted = counting.model or counting.tokenizer
    return f"{PROVIDER_NAMES[provider]}'s rules, tokens of {fmt.plain(counted)}"


def fix_beside(path: str) -> FixResult:
    """Fix ``path`` into ``<stem>.fixed.jsonl`` beside it (numbered when taken), by the core's
    rules: the rejects file only when a line is rejected, nothing written over (blocking)."""
    from tuner.datasets.fix import fix_file
    from tuner.fsutil import next_free_path

    source = Path(path)
    return fix_file(source, next_free_path(source.with_name(f"{source.stem}.fixed.jsonl")))


def summary_text(report: Report, rules: str) -> Text:
    """Three lines: the file, its state and whose ``rules`` applied; lines and findings; tokens."""
    file = report.files[0]
    text = Text()
    text.append(fmt.plain(Path(file.path).name), style="bold")
    text.append("  ")
    text.append("valid" if report.ok else "has errors", "bold green" if report.ok else "bold red")
    text.append(f"  {file.format or '?'}, {fmt.size(file.size)} · {rules}\n")
    text.append(f"{file.lines} lines, {file.conversations} valid conversations · ")
    text.append(f"{file.errors} errors", style="red" if file.errors else "")
    text.append(", ")
    text.append(f"{file.warnings} warnings", style="yellow" if file.warnings else "")
    tokens = file.tokens
    if tokens is not None:
        text.append(
            f"\n{fmt.count(tokens.total)} tokens ({fmt.count(tokens.trained)} trained) · per "
            f"conversation min {tokens.min}, p50 {tokens.p50}, p95 {tokens.p95}, max {tokens.max}"
        )
    return text


class DataScreen(TunerScreen):
    SECTION = "data"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open", "Open", id="data.open", tooltip="Open a JSONL file"),
        Binding("f", "fix", "Fix", id="data.fix",
                tooltip="Write a fixed copy (what can be fixed safely) and open it"),
        Binding("p", "split", "Split", id="data.split",
                tooltip="Split into train and eval files"),
        Binding("t", "next_tab", "Findings/lengths", id="data.tab",
                tooltip="Switch between findings and the token-length histogram"),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.report: Report | None = None
        self.path: str | None = None
        self.findings: list[Finding] = []
        self.loaded = 0

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="data-open", classes="form-row"):
            yield Label("file", classes="form-label")
            yield TunerInput(
                placeholder="path to a .jsonl file (o)",
                id="data-path",
                compact=True,
                suggester=PathSuggester(DATA_SUFFIXES),
            )
            yield Label("tokenizer of", classes="form-label")
            yield TunerInput(value=self._initial_model(), id="data-model", compact=True)
            yield Button("Open", id="data-open-button", variant="primary", compact=True)
        yield Static("Open a JSONL training file to validate it.", id="data-summary")
        with TabbedContent(id="data-tabs", initial="findings"):
            with TabPane("Findings", id="findings"):
                yield DataTable(id="data-findings", cursor_type="row", zebra_stripes=True)
            with TabPane("Token lengths", id="lengths"):
                yield Histogram(id="data-histogram")

    @property
    def provider(self) -> str:
        """Whose rules the screen applies: the ``provider`` setting (``TUNER_PROVIDER``), as
        ``tuner data`` commands do without ``--provider``."""
        return self.tuner.services.settings.provider

    def _initial_model(self) -> str:
        # The dashboard's base model is a Mistral one; OpenAI data is counted with the model
        # the CLI uses without --model.
        if self.provider == "mistral":
            return self.tuner.config.base_model
        from tuner.datasets.providers import default_model

        return default_model(self.provider)

    def on_mount(self) -> None:
        self.query_one("#data-findings", DataTable).add_columns("Line", "Sev", "Code", "Message")
        path = self.tuner.config.data_path
        if path is not None:
            self.query_one("#data-path", TunerInput).value = str(path)
            self.open_path(str(path))
        else:
            self.query_one("#data-findings", DataTable).focus()

    # -- opening ----------------------------------------------------------------------------

    def action_open(self) -> None:
        self.query_one("#data-path", TunerInput).focus()

    @on(Input.Submitted, "#data-path, #data-model")
    def _submitted(self, _event: Input.Submitted) -> None:
        self.open_path(self.query_one("#data-path", TunerInput).value.strip())

    @on(Button.Pressed, "#data-open-button")
    def _pressed(self, _event: Button.Pressed) -> None:
        self.open_path(self.query_one("#data-path", TunerInput).value.strip())

    def open_path(self, path: str) -> None:
        if not path:
            self.notify("give a file path first", severity="warning")
            return
        model = self.query_one("#data-model", TunerInput).value.strip()
        self.query_one("#data-summary", Static).update(Text(f"validating {fmt.plain(path)}…"))
        self.validate(path, model)

    @work(group="data", exclusive=True, exit_on_error=False, description="validating")
    async def validate(self, path: str, model: str) -> None:
        from tuner.datasets.errors import DataInputError
        from tuner.datasets.tokenizers import UnknownModelError

        provider = self.provider
        try:
            report, counting = await asyncio.to_thread(validate_file, path, model, provider)
        except (DataInputError, UnknownModelError, OSError) as error:
            self.query_one("#data-summary", Static).update(
                Text(fmt.plain(error, multiline=True), style="bold red")
            )
            self.notify(str(error), title="Data", severity="error", markup=False)
            return
        findings = await asyncio.to_thread(lambda: list(report.iter_findings()))
        self.show_report(path, report, findings, rules_text(provider, counting))

    def show_report(self, path: str, report: Report, findings: list[Finding], rules: str) -> None:
        self.report = report
        self.path = path
        self.findings = findings
        self.query_one("#data-summary", Static).update(summary_text(report, rules))
        table = self.query_one("#data-findings", DataTable)
        table.clear()
        for index, finding in enumerate(findings[:FINDINGS_SHOWN]):
            severity = Text("error", "bold red") if finding.is_error else Text("warn", "yellow")
            table.add_row(
                Text("-" if finding.line is None else str(finding.line), justify="right"),
                severity,
                Text(finding.code),
                Text(fmt.plain(finding.message)),
                key=str(index),
            )
        if len(findings) > FINDINGS_SHOWN:
            self.notify(f"showing the first {FINDINGS_SHOWN} of {len(findings)} findings")
        file = report.files[0]
        labels, counts = histogram(list(file.token_counts))
        title = f"tokens per conversation ({file.tokenizer})" if file.tokenizer else "tokens"
        self.query_one(Histogram).show_counts(labels, counts, title)
        if findings:
            table.focus()
        self.loaded += 1

    # -- a finding's conversation -----------------------------------------------------------

    @on(DataTable.RowSelected, "#data-findings")
    def _finding_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is None:
            return
        finding = self.findings[int(event.row_key.value)]
        if finding.line is None:
            self.notify("this finding is about the whole file", severity="information")
            return
        self.open_conversation(finding.line)

    @work(group="conversation", exclusive=True, exit_on_error=False, description="reading a line")
    async def open_conversation(self, line: int) -> None:
        path = self.path
        if path is None:
            return
        content = await asyncio.to_thread(read_line, path, line)
        same_line = [f for f in self.findings if f.line == line]
        self.app.push_screen(ConversationScreen(path, content, same_line))

    # -- fix and split ----------------------------------------------------------------------

    def _need_file(self) -> str | None:
        if self.path is None:
            self.notify("open a file first", severity="warning")
        return self.path

    def action_fix(self) -> None:
        path = self._need_file()
        if path is None:
            return
        if self.provider != "mistral":
            # As `tuner data fix`: its fixes and its idea of a valid line are Mistral's; on
            # OpenAI data it would reject lines OpenAI accepts.
            self.notify(
                "fix applies Mistral's rules only: fix what the findings list at the source",
                title="Fix",
                severity="warning",
            )
            return
        self.fix(path)

    @work(group="data-tool", exclusive=True, exit_on_error=False, description="fixing")
    async def fix(self, path: str) -> None:
        from tuner.datasets.errors import DataInputError
        from tuner.fsutil import OutputRefused

        try:
            result = await asyncio.to_thread(fix_beside, path)
        except (DataInputError, OutputRefused, OSError) as error:
            self.notify(str(error), title="Fix", severity="error", markup=False)
            return
        left_out = f"{result.unfixable_lines} left out"
        if result.rejects is not None:
            left_out += f" (in {Path(result.rejects).name})"
        if result.wrote_nothing:
            self.notify(f"nothing written: {left_out}", title="Fix", severity="error", markup=False)
            return
        out = result.out
        self.notify(
            f"{result.lines_changed} line(s) fixed, {left_out} → {Path(out).name}",
            title="Fix",
            markup=False,
        )
        self.query_one("#data-path", TunerInput).value = out
        self.open_path(out)

    def action_split(self) -> None:
        path = self._need_file()
        if path is None:
            return

        def answered(value: str | None) -> None:
            if value is None:
                return
            from tuner.datasets.split import parse_fraction

            try:
                fraction = parse_fraction(value)
            except ValueError as error:
                self.notify(str(error), severity="error", markup=False)
                return
            self.split(path, fraction, self.provider)

        self.app.push_screen(
            PromptScreen(
                "Share of the data's bytes for evaluation (0-1; auto: the platform's limit):",
                value="auto",
            ),
            answered,
        )

    @work(group="data-tool", exclusive=True, exit_on_error=False, description="splitting")
    async def split(self, path: str, fraction: float | Literal["auto"], provider: str) -> None:
        from tuner.datasets.split import split_file
        from tuner.fsutil import OutputRefused

        source = Path(path)
        try:
            result = await asyncio.to_thread(
                split_file,
                source,
                eval_fraction=fraction,
                out_dir=source.parent,
                provider=provider,
            )
        except (ValueError, OutputRefused) as error:
            self.notify(str(error), title="Split", severity="error", markup=False)
            return
        notes = "; ".join(f.message for f in result.warnings)
        self.notify(
            f"{result.train_lines} train → {Path(result.train_path).name}, "
            f"{result.eval_lines} eval → {Path(result.eval_path).name}"
            + (f" ({len(result.removed)} duplicates removed)" if result.removed else "")
            + (f"; {notes}" if notes else ""),
            title="Split",
            markup=False,
        )

    def action_next_tab(self) -> None:
        tabs = self.query_one("#data-tabs", TabbedContent)
        tabs.active = "lengths" if tabs.active == "findings" else "findings"


class ConversationScreen(Screen[None]):
    """The conversation a finding is about."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="conversation.back",
                tooltip="Back to the findings"),
    ]  # fmt: skip

    def __init__(self, path: str, content: LineContent, findings: list[Any]) -> None:
        super().__init__()
        self.path = path
        self.content = content
        self.findings = findings

    def compose(self) -> ComposeResult:
        name = fmt.plain(Path(self.path).name)
        title = Text(f"{name}, line {self.content.number}", style="bold")
        yield Static(title, id="conversation-title")
        yield ConversationView(self.content, self.findings, id="conversation")
        yield Footer()

    def on_mount(self) -> None:
        view = self.query_one(ConversationView)
        view.focus()
        offending = view.query(".offending")
        if offending:
            self.call_after_refresh(view.scroll_to_widget, offending.first(), animate=False)
