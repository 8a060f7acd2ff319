"""What every top-level screen has: the section bar, the status bar, its body, the footer."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker

from tuner.tui.widgets.status import NavBar, StatusBar

if TYPE_CHECKING:
    from tuner.tui.app import TunerApp


class TunerScreen(Screen[None]):
    SECTION = "jobs"

    @property
    def tuner(self) -> TunerApp:
        return cast("TunerApp", self.app)

    def compose(self) -> ComposeResult:
        yield NavBar(self.SECTION)
        yield StatusBar()
        yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Worker messages do not bubble: each screen hands its failures to the app.
        self.tuner.report_worker(event)
