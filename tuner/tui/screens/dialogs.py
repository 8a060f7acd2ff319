"""Small modal dialogs: a yes/no confirmation and a one-line prompt."""

from __future__ import annotations

import json
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Label, Static

from tuner.jobs.records import EventRecord
from tuner.tui import format as fmt
from tuner.tui.widgets.inputs import TunerInput


class ConfirmScreen(ModalScreen[bool]):
    """Ask before doing something that cannot be undone or that costs money."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="dialog.yes", tooltip="Confirm"),
        Binding("n,escape", "answer(False)", "No", id="dialog.no", tooltip="Go back"),
    ]

    def __init__(self, question: str, *, detail: str = "", yes: str = "Yes", no: str = "No"):
        super().__init__()
        self.question = question
        self.detail = detail
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            # Questions name jobs, models and files: shown inert (tuner.textsafe).
            yield Label(fmt.plain(self.question), classes="dialog-question", markup=False)
            if self.detail:
                detail = fmt.plain(self.detail, multiline=True)
                yield Static(detail, classes="dialog-detail", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes_label} (y)", variant="error", id="yes")
                yield Button(f"{self.no_label} (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text (a path, a name, a fraction); None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Go back"),
    ]

    def __init__(
        self,
        question: str,
        *,
        value: str = "",
        placeholder: str = "",
        suggester: Suggester | None = None,
    ) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.placeholder = placeholder
        self.suggester = suggester

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(fmt.plain(self.question), classes="dialog-question", markup=False)
            yield TunerInput(
                value=self.value,
                placeholder=self.placeholder,
                id="prompt-input",
                suggester=self.suggester,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK (enter)", variant="primary", id="ok")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#prompt-input", TunerInput).focus()

    def on_input_submitted(self, event: TunerInput.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.dismiss(self.query_one("#prompt-input", TunerInput).value)
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class EventScreen(ModalScreen[None]):
    """One job event in full: its name, time and data (pretty JSON, wrapped, scrollable)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "close", "Close", id="event.close", tooltip="Back to the events"),
    ]

    def __init__(self, event: EventRecord) -> None:
        super().__init__()
        self.event = event

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide"):
            title = f"{self.event.name} at {fmt.timestamp(self.event.created_at, seconds=True)} UTC"
            yield Label(title, classes="dialog-question", markup=False)
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(event_text(self.event.data), id="event-data", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close (esc)", variant="primary", id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


def event_text(data: object) -> str:
    """An event's data in full: JSON, indented, keys in order."""
    if data is None:
        return "(no data)"
    if isinstance(data, str):
        return data
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


class HelpScreen(ModalScreen[None]):
    """``?`` / F1: the keys of the screen it was opened on, Quit included; scrolls at 80x24."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close", id="help.close",
                tooltip="Close the help"),
    ]  # fmt: skip

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, pad_edge=False)
        table.add_column("Key", style="bold", no_wrap=True, max_width=12)
        table.add_column("Action", no_wrap=True, max_width=16)
        table.add_column("What it does", style="dim")
        for keys, action, what in self.rows:
            table.add_row(keys, action, what)
        with Vertical(classes="dialog dialog-wide", id="help"):
            yield Label("Keys of this screen (esc closes)", classes="dialog-question")
            with VerticalScroll(classes="dialog-scroll", id="help-scroll"):
                yield Static(table, id="help-keys")

    def on_mount(self) -> None:
        self.query_one("#help-scroll", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
