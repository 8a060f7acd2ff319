"""The two header lines of every screen: where you are (and can go), and how things stand."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Static

from tuner.tui import format as fmt
from tuner.tui.views.jobs import StatusInfo

SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("1", "jobs", "Jobs"),
    ("2", "data", "Data"),
    ("3", "files", "Files & models"),
    ("4", "evaluate", "Evaluate"),
    ("5", "playground", "Playground"),
)


class NavBar(Static):
    """The sections, each clickable, with its key; the current one highlighted."""

    DEFAULT_CSS = """
    NavBar { height: 1; background: $panel; }
    """

    def __init__(self, current: str) -> None:
        super().__init__(self._markup(current))
        self.current = current

    @staticmethod
    def _markup(current: str) -> str:
        parts = ["[b]tuner[/b] "]
        for key, mode, title in SECTIONS:
            label = f" {key} {title} "
            if mode == current:
                parts.append(f"[reverse b]{label}[/]")
            else:
                parts.append(f"[@click=app.switch_mode('{mode}')]{label}[/]")
        return "".join(parts)


class StatusBar(Horizontal):
    """Backend (the sandbox marked clearly), key-pool health, and who polls when."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $boost; }
    StatusBar > Label { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    StatusBar > #status-backend { width: 1fr; }
    StatusBar > #status-keys { width: auto; padding: 0 1; }
    StatusBar > #status-daemon { width: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Label(id="status-backend")
        yield Label(id="status-keys")
        yield Label(id="status-daemon")

    def on_mount(self) -> None:
        app = self.app
        signal = getattr(app, "status_signal", None)
        if signal is not None:
            signal.subscribe(self, self.show)
        current = getattr(app, "status", None)
        if current is not None:
            self.show(current)

    def show(self, info: StatusInfo) -> None:
        self.query_one("#status-backend", Label).update(backend_text(info))
        self.query_one("#status-keys", Label).update(keys_text(info))
        self.query_one("#status-daemon", Label).update(daemon_text(info))


def backend_text(info: StatusInfo) -> Text:
    text = Text()
    if info.sandbox:
        text.append(" SANDBOX ", style=fmt.SIMULATED_STYLE)
        text.append(" simulated ", style="yellow")
    elif info.sandbox is False:
        text.append(" API ", style="bold black on green")
        text.append(" ")
    else:
        text.append(" ? ", style="reverse")
        text.append(" ")
    for provider in info.other_sandboxes:  # the status bar's URL is Mistral's: these are not
        text.append(f" {provider}: SANDBOX ", style=fmt.SIMULATED_STYLE)
        text.append(" ")
    if info.reachable is False:
        # Before the URL, which is what gets cut at 80 columns.
        text.append("unreachable ", style="bold red")
    text.append(fmt.plain(info.backend), style="dim")
    return text


def keys_text(info: StatusInfo) -> Text:
    keys = info.keys
    if keys is None:
        return Text("keys …", style="dim")
    if keys.total == 0:
        return Text("no API key", style="bold red")
    style = "green"
    if keys.removed:
        style = "bold red"
    elif keys.resting:
        style = "yellow"
    text = Text(f"keys {keys.ready}/{keys.total}", style=style)
    if keys.resting:
        text.append(f", {keys.resting} resting", style="yellow")
    if keys.removed:
        text.append(f", {keys.removed} rejected", style="bold red")
    return text


def daemon_text(info: StatusInfo) -> Text:
    text = Text()
    if info.daemon is not None:
        owner = ":".join(info.daemon.owner.split(":")[:2])
        text.append("daemon ", style="green")
        text.append("● ", style="bold green")
        text.append(fmt.plain(owner), style="dim")
        if info.daemon_cycle is None:
            text.append(" · no poll yet ")
        else:
            text.append(f" · last poll {fmt.age(info.now - info.daemon_cycle)} ago ")
        return text
    text.append("no daemon", style="yellow")
    every = "on demand" if info.poll_interval is None else f"every {info.poll_interval:g}s"
    text.append(f" · polls {every}")
    if info.refreshing:
        text.append(", refreshing…", style="bold")
    elif info.last_poll is not None:
        text.append(f", last {fmt.age(info.now - info.last_poll)} ago")
    text.append(" ")
    return text
