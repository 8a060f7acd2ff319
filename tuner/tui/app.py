"""The dashboard app: sections as modes, one refresh loop, errors as notifications.

``make_app(services=...)`` builds it over the core's ``tuner.services.Services`` (the CLI's: the
same client, ledger, orchestrator and queue ``tuner jobs`` uses); tests may pass
``client=..., ledger=..., clock=...`` instead, from which ``make_app`` builds the services. The
app builds the client in a worker after the first frame when it does not exist yet, so start-up
pays neither for ``tuner.api`` nor httpx before the jobs show (the first frame reads only the
ledger). All I/O runs in workers: async workers for the async client, ``ledger.aio`` (the
ledger's own worker thread) for the (blocking) ledger. The refresh loop is dolphie's: the next
refresh is armed only once the previous one has finished, so refreshes never overlap; it goes on
while a dialog is open (a "Start it?" prompt may wait a long time, and the table behind it must
not go stale). The status bar's "last polled" age ticks every second between refreshes.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.signal import Signal
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from tuner.config import Settings
from tuner.jobs.ledger import Ledger, LedgerError
from tuner.services import Services
from tuner.tui import format as fmt
from tuner.tui.commands import ActionsProvider, binding_ids, help_rows
from tuner.tui.config import DEFAULT_POLL_INTERVAL, Mode, TuiConfig
from tuner.tui.screens.jobs import JobsScreen
from tuner.tui.views.jobs import JobsSnapshot, StatusInfo, key_health, load_jobs
from tuner.tui.widgets.status import SECTIONS

if TYPE_CHECKING:
    from tuner.api import Job, TunerClient
    from tuner.api.openai import OpenAIClient
    from tuner.jobs.orchestrator import Orchestrator

SECTIONS_GROUP = Binding.Group("screens", compact=True)

RUNNING_REFRESH_CONCURRENCY = 4
STATUS_TICK = 1.0
"""Seconds between updates of the status bar's ages."""
KEYMAP_WARNING_SECONDS = 30.0
"""A keymap naming unknown bindings is worth reading: the warning stays this long."""
SYSTEM_COMMANDS_REPLACED = frozenset({"Quit", "Keys"})
"""Textual's palette commands that the app's own bindings (q, ?) replace."""
MOVES: dict[str, tuple[str, ...]] = {
    "down": ("cursor_down", "scroll_down"),
    "up": ("cursor_up", "scroll_up"),
    "top": ("scroll_top", "scroll_home", "first"),
    "bottom": ("scroll_bottom", "scroll_end", "last"),
}
"""The widget actions j/k/g/G run, the first the focused widget has."""


def _lazy(module: str, name: str) -> Callable[[], Screen[Any]]:
    """A mode's screen, imported when first shown: start-up pays only for the jobs screen."""

    def make() -> Screen[Any]:
        screen_class: type[Screen[Any]] = getattr(importlib.import_module(module), name)
        return screen_class()

    return make


def _is_api_error(error: BaseException) -> bool:
    # Imported here: ``tuner.api`` (httpx) loads after the first frame, with the client.
    from tuner.api import APIError

    return isinstance(error, APIError)


def describe(error: BaseException) -> str:
    """One line for a notification; API errors are already scrubbed of secrets."""
    if isinstance(error, LedgerError) or _is_api_error(error):
        return str(error)
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class TunerApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "tuner"
    SUB_TITLE = "fine-tuning dashboard"
    # textual declares this `ClassVar[...] | None`, which mypy reads as an instance variable.
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (90, "-normal"),
        (130, "-wide"),
    ]
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "jobs": JobsScreen,
        "data": _lazy("tuner.tui.screens.data", "DataScreen"),
        "files": _lazy("tuner.tui.screens.files", "FilesScreen"),
        "evaluate": _lazy("tuner.tui.screens.evaluate", "EvaluateScreen"),
        "playground": _lazy("tuner.tui.screens.playground", "PlaygroundScreen"),
    }
    COMMANDS = App.COMMANDS | {ActionsProvider}
    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(
                key,
                f"switch_mode('{mode}')",
                title,
                id=f"nav.{mode}",
                tooltip=f"Go to {title}",
                group=SECTIONS_GROUP,
                show=False,  # the section bar shows them; the footer keeps room at 80 columns
            )
            for key, mode, title in SECTIONS
        ),
        Binding(
            "q",
            "leave",
            "Quit",
            show=False,  # in the help (?), which the footer shows
            id="app.leave",
            tooltip="Leave the dashboard (asks first); on a sub-screen, go back",
        ),
        Binding(
            "ctrl+q",
            "quit",
            "Quit now",
            show=False,
            priority=True,
            id="app.quit",
            tooltip="Leave the dashboard without asking",
        ),
        Binding(
            "question_mark,f1",
            "help",
            "Help",
            id="app.help",
            tooltip="The keys of this screen",
        ),
        # Vim-style movement for whatever list has the focus (an input keeps its letters).
        Binding("j", "move('down')", "Down", show=False, id="app.down", tooltip="Move down"),
        Binding("k", "move('up')", "Up", show=False, id="app.up", tooltip="Move up"),
        Binding("g", "move('top')", "Top", show=False, id="app.top", tooltip="Go to the top"),
        Binding(
            "G", "move('bottom')", "Bottom", show=False, id="app.bottom", tooltip="Go to the end"
        ),
    ]

    def __init__(self, config: TuiConfig) -> None:
        super().__init__()
        self.config = config
        self.cursor_blink_enabled = config.cursor_blink
        self.jobs_signal: Signal[JobsSnapshot] = Signal(self, "jobs")
        self.status_signal: Signal[StatusInfo] = Signal(self, "status")
        self.snapshot: JobsSnapshot | None = None
        self.models: list[str] = []
        self.fine_tuned_models: list[str] = []
        self.last_poll: int | None = None
        self.reachable: bool | None = None
        self.pending_eval: tuple[str | None, str | None, str | None] | None = None
        self.pending_run: str | None = None
        self.pending_chat: tuple[str, str | None] | None = None
        self.cycles = 0
        """Refresh cycles completed (tests wait on it)."""
        self._cycle_running = False
        self._cycle_again = False
        self._timer: Timer | None = None
        self._last_error: str | None = None
        self._last_openai_error: str | None = None
        """Kept apart from Mistral's: OpenAI down is said once, not after each Mistral poll."""
        self._models_asked_for: set[str] = set()
        """Tuned models seen in the ledger for which the models were listed again."""
        self.services = config.services
        self._first_frame = asyncio.Event()
        """Set once the first ledger read has been drawn (or the first refresh ended)."""
        self.status = self._status()

    # -- shorthands ---------------------------------------------------------------------------

    @property
    def client(self) -> TunerClient:
        """The client; built here, blocking, if needed before the start-up worker built it
        (start-up code awaits ``ready_client`` instead)."""
        return self.services.client

    async def ready_client(self) -> TunerClient:
        """The client, built in a thread after the first frame when it does not exist yet."""
        if self.services.has_client:
            return self.services.client
        await self._first_frame.wait()
        return await asyncio.to_thread(lambda: self.services.client)

    @property
    def ledger(self) -> Ledger:
        return self.services.ledger

    @property
    def backend(self) -> str:
        return self.services.backend

    def now(self) -> int:
        return self.services.clock()

    # -- start and stop -----------------------------------------------------------------------

    def on_mount(self) -> None:
        self._apply_keymap()
        self.switch_mode(self.config.mode)
        # The freshness counter ("last 5s ago") counts between refreshes.
        self.set_interval(STATUS_TICK, self.publish_status, name="status tick")
        if not self.services.has_client:
            self._connect()
        if self.config.probe:
            self.probe()
        self.request_refresh()

    def _apply_keymap(self) -> None:
        """The ``tui_keymap`` setting: binding id → keys (posting's keymap), e.g.
        ``{"jobs.new" = "N"}``. Unknown ids are reported, not ignored in silence."""
        keymap = dict(self.config.keymap)
        if not keymap:
            return
        unknown = sorted(set(keymap) - binding_ids(self))
        if unknown:
            self.notify(
                f"tui_keymap: no binding has the id {', '.join(unknown)}",
                title="Keymap",
                severity="warning",
                markup=False,
                timeout=KEYMAP_WARNING_SECONDS,
            )
        self.set_keymap({key: value for key, value in keymap.items() if key not in unknown})

    @work(group="client", exit_on_error=False, description="creating the API client")
    async def _connect(self) -> None:
        """Build the client after the first frame (its imports are most of the rest of
        start-up), then show the key pool in the status bar."""
        await self.ready_client()
        self.publish_status()

    def _drawn(self) -> None:
        self._first_frame.set()

    async def on_unmount(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self.config.close_client:
            await self.services.aclose_client()

    # -- the refresh loop ---------------------------------------------------------------------

    def request_refresh(self) -> None:
        """Refresh now, or right after the refresh in progress (never two at once)."""
        if self._cycle_running:
            self._cycle_again = True
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._cycle_running = True
        self.publish_status()
        self._refresh_cycle()

    def refresh_now(self) -> None:
        """``r``: refresh, and say so (the status bar shows "refreshing…" until it is done)."""
        again = self._cycle_running
        self.request_refresh()
        self.notify(
            "a refresh is running; another follows it" if again else "refreshing…",
            title="Refresh",
            timeout=2,
        )

    def _on_timer(self) -> None:
        # Also while a dialog is open: polling never waits for an answer.
        self._timer = None
        self.request_refresh()

    @property
    def refreshing(self) -> bool:
        """Whether a refresh is in progress (the status bar says so)."""
        return self._cycle_running

    def _arm_timer(self) -> None:
        interval = self.config.poll_interval
        if interval is not None and self.is_running:
            self._timer = self.set_timer(interval, self._on_timer, name="refresh")

    @work(group="refresh", exit_on_error=False, description="refreshing jobs")
    async def _refresh_cycle(self) -> None:
        try:
            await self._cycle()
        finally:
            self._first_frame.set()  # never wait for a frame after a refresh that failed
            self._cycle_running = False
            self.cycles += 1
            self.publish_status()
            if self._cycle_again:
                self._cycle_again = False
                self.request_refresh()
            else:
                self._arm_timer()

    async def _cycle(self) -> None:
        snapshot = await self._read_ledger()
        openai_polled = False
        if snapshot.daemon is None and self.config.self_poll:
            if self.last_poll is None and not snapshot.rows:
                await self._guard(self._sync_all(), "listing jobs")
            polled = await self._guard(self._poll(), "polling the API")
            if polled:
                self.last_poll = self.now()
                # No daemon: the dashboard drains the submission queue itself (what the daemon
                # would do), so queued sweep members are created and agreed starts happen.
                await self._guard(self._drain_queue(snapshot), "submitting queued jobs")
            if self.services.has_openai:
                # OpenAI's jobs too, as the daemon polls them: every active one in detail.
                openai_polled = await self._guard(
                    self._poll_openai(snapshot), "polling OpenAI", reach=False
                )
            snapshot = await self._read_ledger()
        if self.config.watch_running:
            running = [
                row.id
                for row in snapshot.rows
                if row.status == "RUNNING" and not (openai_polled and row.provider == "openai")
            ]
            if running:
                await self._guard(self._refresh_running(running), "refreshing running jobs")
                snapshot = await self._read_ledger()
        await self._learn_new_models(snapshot)

    async def _learn_new_models(self, snapshot: JobsSnapshot) -> None:
        """A job finished with a model the pickers do not know: ask for the models again, so
        Evaluate and the Playground suggest it (once per new model, not on every poll)."""
        if not self.config.probe:
            return
        tuned = {row.fine_tuned_model for row in snapshot.rows if row.fine_tuned_model}
        new = tuned - self._models_asked_for - set(self.models)
        if not new or (not self._models_asked_for and not self.models):
            self._models_asked_for |= tuned
            return  # the start-up probe asks anyway
        self._models_asked_for |= tuned
        await self._guard(self._load_models(), "listing models")

    async def _read_ledger(self) -> JobsSnapshot:
        # Another provider's jobs too (OpenAI, when it has a key): one table, a provider column.
        also = (self.services.openai_backend,) if self.services.has_openai else ()
        snapshot = await self.ledger.aio.call(
            load_jobs, self.ledger, self.backend, self.now(), also
        )
        self.snapshot = snapshot
        self.jobs_signal.publish(snapshot)
        self.publish_status()
        if not self._first_frame.is_set():
            self.call_after_refresh(self._drawn)
        return snapshot

    async def _guard(self, step: Awaitable[object], what: str, *, reach: bool = True) -> bool:
        """Run one step of a refresh; an API failure is a notification (once), not a crash.
        ``reach``: the step talks to the status bar's backend (Mistral's), so its outcome says
        whether that backend is reachable (OpenAI's steps do not)."""
        try:
            await step
        except Exception as error:
            if not _is_api_error(error):
                raise
            message = f"{what}: {describe(error)}"
            if reach:
                self.reachable = False
                said, self._last_error = self._last_error, message
            else:
                said, self._last_openai_error = self._last_openai_error, message
            if message != said:
                self.notify(message, title="API", severity="error", markup=False)
            return False
        if reach:
            self.reachable = True
            self._last_error = None
        else:
            self._last_openai_error = None
        return True

    async def _poll_openai(self, snapshot: JobsSnapshot) -> None:
        """One poll of OpenAI's jobs through the core (``OpenAIJobs.poll``), and a cycle of
        OpenAI's submission queue when specs wait in it."""
        from tuner.config import ConfigError

        try:
            jobs = self.services.openai_jobs()
        except ConfigError as unusable:  # an unusable OPENAI_BASE_URL: said once, Mistral goes on
            if str(unusable) != self._last_openai_error:
                self._last_openai_error = str(unusable)
                self.notify(str(unusable), title="OpenAI", severity="error", markup=False)
            return
        await jobs.poll()
        if any(row.is_local and row.provider == "openai" for row in snapshot.rows):
            report = await jobs.cycle(refresh=False)
            for error in report.errors:
                self.notify(error, title="OpenAI queue", severity="warning", markup=False)

    async def _poll(self) -> None:
        from tuner.jobs.poller import poll_once

        await poll_once(
            await self.ready_client(), self.ledger, backend=self.backend, now=self.now()
        )

    async def _drain_queue(self, snapshot: JobsSnapshot) -> None:
        """One submission-queue cycle, as the daemon runs it, when there is work for one:
        specs waiting in the queue, or jobs agreed to start unattended once VALIDATED. It
        shares the services' cycle lock with the creates of this dashboard, so they take
        turns."""
        if not snapshot.queued and not snapshot.startable:
            return
        await self.ready_client()
        report = await self.services.orchestrator().submitter.cycle(refresh=False)
        for error in report.errors:  # tolerated: the next cycle tries again
            self.notify(error, title="Queue", severity="warning", markup=False)
        if report.created:
            self.notify(f"{len(report.created)} queued job(s) created on the server")

    async def _sync_all(self) -> None:
        """First start on this backend: record every job the API lists (as ``tuner jobs
        list`` does: through the core, which also records the key that owns each job)."""
        await self.ready_client()
        await self.services.sync_jobs()

    async def _refresh_running(self, job_ids: Iterable[str]) -> None:
        """GET running jobs, so their checkpoints show before their status next changes."""
        await self.ready_client()
        gate = asyncio.Semaphore(RUNNING_REFRESH_CONCURRENCY)

        async def one(job_id: str) -> None:
            async with gate:
                # At the job's own provider (an OpenAI row's events and checkpoints too).
                await self.services.refresh_any(job_id)

        await asyncio.gather(*(one(job_id) for job_id in job_ids))

    def orchestrator(self, confirm: Callable[[Any], bool] | None = None) -> Orchestrator:
        """The core's orchestrator (the one ``tuner jobs`` uses: the W&B key, the max-active
        limit and the submission queue included); ``confirm`` is asked about costs (default:
        refuse)."""
        return self.services.orchestrator(confirm=confirm)

    async def record_job(self, job: Job) -> None:
        """Record a job the user just acted on (start, cancel) and refresh the table."""
        await self.services.record_job(job)
        await self._read_ledger()

    async def cancel_job(self, job_id: str) -> str:
        """Cancel a job at its own provider (the core's ``cancel_any``, as ``tuner jobs cancel``
        does), show the table again; the status as shown."""
        if await self.services.job_provider(job_id) != "openai":
            await self.ready_client()
        outcome = await self.services.cancel_any(job_id)
        await self._read_ledger()
        return outcome.shown_status

    # -- the status bar -----------------------------------------------------------------------

    def _status(self) -> StatusInfo:
        snapshot = self.snapshot
        # None until built: the backend and the keys show as unknown.
        client = self.services.client if self.services.has_client else None
        return StatusInfo(
            backend=self.backend,
            sandbox=client.is_sandbox if client is not None else None,
            keys=key_health([status.state for status in client.keys.snapshot()])
            if client is not None
            else None,
            daemon=snapshot.daemon if snapshot else None,
            last_update=snapshot.last_update if snapshot else None,
            last_poll=self.last_poll,
            poll_interval=self.config.poll_interval,
            reachable=self.reachable,
            now=self.now(),
            daemon_cycle=snapshot.daemon_cycle if snapshot else None,
            refreshing=self._cycle_running,
            other_sandboxes=snapshot.simulated_providers if snapshot else (),
        )

    def publish_status(self) -> None:
        self.status = self._status()
        self.status_signal.publish(self.status)

    @work(group="probe", exclusive=True, exit_on_error=False, description="asking for models")
    async def probe(self) -> None:
        """Ask for the models once: says whether the backend is the sandbox, and fills the
        model pickers of the Evaluate and Playground screens."""
        ok = await self._guard(self._load_models(), "listing models")
        if ok:
            self.publish_status()

    async def _load_models(self) -> None:
        listing = await (await self.ready_client()).models.list()
        self.models = sorted(card.id for card in listing.data)
        self.fine_tuned_models = sorted(
            card.id for card in listing.data if getattr(card, "type", None) == "fine-tuned"
        )

    # -- errors -------------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.report_worker(event)

    def report_worker(self, event: Worker.StateChanged) -> None:
        """Any worker that fails ends as a notification, never as a crash."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            what = event.worker.description or event.worker.name or "background work"
            self.notify(
                f"{what}: {describe(event.worker.error)}",
                title="Error",
                severity="error",
                markup=False,
            )

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast (widgets' ``notify`` lands here) shows its text inert: messages quote
        servers, data and file names. Callers pass ``markup=False`` for such text as well."""
        super().notify(
            fmt.plain(message, multiline=True),
            title=fmt.plain(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def notify_error(self, what: str, error: BaseException) -> None:
        self.notify(f"{what}: {describe(error)}", title="Error", severity="error", markup=False)

    # -- between screens ----------------------------------------------------------------------

    def open_evaluate(
        self, model: str | None, baseline: str | None, path: str | None = None
    ) -> None:
        """The Evaluate screen, prefilled with a job's tuned model, its base model and (when
        the ledger knows it) the file the job was validated on."""
        self.pending_eval = (model, baseline, path)
        self.switch_mode("evaluate")

    def open_eval_run(self, run_id: str) -> None:
        """The Evaluate screen showing one run (from a job's lineage)."""
        self.pending_run = run_id
        self.switch_mode("evaluate")

    def open_playground(self, model: str, baseline: str | None) -> None:
        """The Playground with a job's tuned model (and its base model to compare with)."""
        self.pending_chat = (model, baseline)
        self.switch_mode("playground")

    # -- conventions: q, help, movement ------------------------------------------------------

    def action_leave(self) -> None:
        """``q``: back from a sub-screen (a job, a conversation); at the top level, quit once
        the user says ``y``. In a dialog, ``q`` is the dialog's business (ignored here)."""
        screen = self.screen
        if isinstance(screen, ModalScreen):
            return
        if len(self.screen_stack) > 1:
            self.pop_screen()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        from tuner.tui.screens.dialogs import ConfirmScreen

        self.push_screen(ConfirmScreen("Quit tuner?", yes="Quit"), answered)

    def action_help(self) -> None:
        from tuner.tui.screens.dialogs import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        self.push_screen(HelpScreen(help_rows(self, self.screen)))

    def action_move(self, where: str) -> None:
        """j/k/g/G on the focused widget, as its own arrow, home and end keys would."""
        widget = self.focused
        if widget is None:
            return
        names = MOVES[where]
        for name in names:
            method = getattr(widget, f"action_{name}", None)
            if callable(method):
                method()
                return

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Quit and help are the app's own bindings (listed once, by the actions provider).
        for command in super().get_system_commands(screen):
            if command.title not in SYSTEM_COMMANDS_REPLACED:
                yield command
        yield SystemCommand(
            "Refresh jobs now", "Poll the API (or read the ledger) now", self.refresh_now
        )
        yield SystemCommand(
            "Sync every job from the API",
            "List all jobs of this backend (all pages) into the ledger",
            self.sync_all,
        )

    @work(group="sync", exclusive=True, exit_on_error=False, description="syncing jobs")
    async def sync_all(self) -> None:
        if await self._guard(self._sync_all(), "listing jobs"):
            await self._read_ledger()
            self.notify("every job of this backend is in the ledger")


def make_app(
    *,
    services: Services | None = None,
    client: TunerClient | None = None,
    client_factory: Callable[[], TunerClient] | None = None,
    ledger: Ledger | None = None,
    clock: Callable[[], float] = time.time,
    backend: str | None = None,
    poll_interval: float | None = DEFAULT_POLL_INTERVAL,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    self_poll: bool = True,
    watch_running: bool = True,
    cursor_blink: bool = True,
    close_client: bool = False,
    mode: Mode = "jobs",
    data_path: str | Path | None = None,
    probe: bool = True,
    openai_client: OpenAIClient | None = None,
) -> TunerApp:
    """The dashboard over ``services`` (the CLI's), or over services built here from
    ``client`` (or the ``client_factory`` that builds it after the first frame; ``backend`` is
    then required), ``ledger``, ``clock``, ``sleep`` and, for OpenAI's jobs, ``openai_client``
    with default settings (tests). See ``TuiConfig`` for the options."""
    if services is None:
        services = services_for(
            client=client,
            client_factory=client_factory,
            ledger=ledger,
            clock=clock,
            backend=backend,
            sleep=sleep,
            openai_client=openai_client,
        )
    config = TuiConfig(
        services=services,
        keymap=dict(getattr(services.settings, "tui_keymap", None) or {}),
        poll_interval=poll_interval,
        self_poll=self_poll,
        watch_running=watch_running,
        cursor_blink=cursor_blink,
        close_client=close_client,
        mode=mode,
        data_path=Path(data_path) if data_path is not None else None,
        probe=probe,
    )
    return TunerApp(config)


def services_for(
    *,
    client: TunerClient | None,
    client_factory: Callable[[], TunerClient] | None,
    ledger: Ledger | None,
    clock: Callable[[], float],
    backend: str | None,
    sleep: Callable[[float], Awaitable[None]],
    openai_client: OpenAIClient | None = None,
) -> Services:
    """Services over an injected client (or factory), ledger and OpenAI client (optional),
    with default settings."""
    if (client is None) == (client_factory is None):
        raise ValueError("give either a client or a client factory")
    if ledger is None:
        raise ValueError("give the ledger (or services)")
    url = backend or (client.base_url if client is not None else None)
    if not url:
        raise ValueError("a client factory needs the backend (the API URL)")
    # model_construct: the defaults of every setting, without reading the environment or a
    # config file (the injected client already carries URL, keys and timeouts).
    fields: dict[str, Any] = {"api_url": url}
    if openai_client is not None:
        fields["openai_base_url"] = openai_client.base_url
    settings = Settings.model_construct(**fields)
    return Services(
        settings,
        client=client,
        client_factory=client_factory,
        ledger=ledger,
        clock=lambda: int(clock()),
        sleep=sleep,
        openai_client=openai_client,
    )
