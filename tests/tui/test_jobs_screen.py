"""The Jobs screen against the sandbox: the table, in-place updates, actions with confirmation,
the filter, the refresh loop (never overlapping, quiet while a daemon polls), errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.binding import Binding
from textual.command import CommandPalette

from tests.jobs.flow_support import training_bytes
from tuner.jobs.ledger import Ledger
from tuner.sandbox import SandboxHandle
from tuner.tui import app as app_module
from tuner.tui.screens import data, dialogs, evaluate, files, job_detail, playground
from tuner.tui.screens.dialogs import ConfirmScreen, PromptScreen
from tuner.tui.screens.job_detail import JobDetailScreen
from tuner.tui.screens.jobs import JobsScreen
from tuner.tui.widgets import inputs, jobs_table
from tuner.tui.widgets.jobs_table import JobsTable
from tuner.tui.widgets.status import StatusBar

from .conftest import AppFactory
from .support import BASE_MODEL, SandboxJobs, settle

pytestmark = pytest.mark.anyio


def binding_owners() -> list[Any]:
    return [
        app_module.TunerApp,
        JobsScreen,
        job_detail.JobDetailScreen,
        data.DataScreen,
        data.ConversationScreen,
        files.FilesScreen,
        evaluate.EvaluateScreen,
        evaluate.EvalItemScreen,
        playground.PlaygroundScreen,
        dialogs.ConfirmScreen,
        dialogs.PromptScreen,
        inputs.TunerInput,
        jobs_table.JobsTable,
    ]


def table_of(app: Any) -> JobsTable:
    return app.screen.query_one(JobsTable)


def cell(table: JobsTable, job_id: str, column: str) -> str:
    return str(table.get_cell(job_id, column).plain)


def two_jobs(jobs: SandboxJobs) -> tuple[str, str]:
    """A running job (100 steps) and a job parked at VALIDATED; the second is newer."""
    running = jobs.create_job(
        jobs.upload(training_bytes()), suffix="alpha", hyperparameters={"training_steps": 100}
    )
    jobs.sandbox.advance(1)
    parked = jobs.create_job(
        jobs.upload(training_bytes(tag="B "), "b.jsonl"), suffix="beta", auto_start=False
    )
    jobs.sandbox.advance(300)
    return running["id"], parked["id"]


async def test_the_table_shows_the_jobs_newest_first(
    make_tui: AppFactory, jobs: SandboxJobs
) -> None:
    running, parked = two_jobs(jobs)
    app = make_tui()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        assert isinstance(app.screen, JobsScreen)
        table = table_of(app)
        assert table.row_count == 2
        assert [table.coordinate_to_cell_key((i, 0))[0].value for i in range(2)] == [
            parked,
            running,
        ]
        assert cell(table, running, "status") == "RUNNING"
        assert cell(table, parked, "status") == "VALIDATED"
        assert cell(table, parked, "model") == BASE_MODEL
        assert cell(table, parked, "suffix") == "beta"
        assert cell(table, parked, "cost") == "$2.62"
        assert cell(table, running, "steps").endswith("/100")
        assert cell(table, running, "age") == "5m"
        # The status bar says it is the sandbox, the key is fine, and the TUI polls itself.
        bar = app.screen.query_one(StatusBar)
        assert "SANDBOX" in str(bar.query_one("#status-backend").render())
        assert "keys 1/1" in str(bar.query_one("#status-keys").render())
        assert "no daemon" in str(bar.query_one("#status-daemon").render())


async def test_a_job_reaching_success_updates_its_row_in_place(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    running, _ = two_jobs(jobs)
    app = make_tui()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        table = table_of(app)
        await pilot.press("down")  # select the running job (second row)
        assert table.selected_id == running
        rows_before = dict(table.rows)
        progress_before = cell(table, running, "steps")

        sandbox.advance(400)  # halfway: checkpoints appear while it runs
        await pilot.press("r")
        await settle(pilot, lambda: app.cycles >= 2)
        assert cell(table, running, "status") == "RUNNING"
        assert cell(table, running, "steps") != progress_before

        sandbox.advance(2000)
        await pilot.press("r")
        await settle(pilot, lambda: app.cycles >= 3)
        assert cell(table, running, "status") == "SUCCESS"
        assert cell(table, running, "steps") == "100/100"
        assert cell(table, running, "tokens") == "13.11M"
        # Updated in place: same rows, same keys, the selection still on the same job.
        assert table.row_count == 2
        assert table.rows.keys() == rows_before.keys()
        assert table.selected_id == running
        assert app.ledger.get_job(running).status == "SUCCESS"  # type: ignore[union-attr]


async def test_cancel_and_start_ask_first(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    running, parked = two_jobs(jobs)
    app = make_tui()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        table = table_of(app)
        table.select(running)

        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # changed my mind
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        assert jobs.job(running)["status"] == "RUNNING"

        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot, lambda: cell(table, running, "status") == "CANCELLING")
        assert jobs.job(running)["status"] == "CANCELLATION_REQUESTED"

        sandbox.advance(10)
        await pilot.press("r")
        await settle(pilot, lambda: cell(table, running, "status") == "CANCELLED")

        # Starting costs money: the server's cost is shown, and asked about, first.
        table.select(parked)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "$2.62" in app.screen.detail
        await pilot.press("y")
        await settle(pilot, lambda: cell(table, parked, "status") != "VALIDATED")
        assert jobs.job(parked)["status"] in ("QUEUED", "RUNNING")
        # A job that is not VALIDATED cannot be started: not offered, and said if reached.
        table.select(running)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        app.screen.action_start_job()  # type: ignore[attr-defined]
        await settle(pilot)
        assert any("only a VALIDATED job" in n.message for n in app._notifications)


async def test_filter_then_open_a_job(make_tui: AppFactory, jobs: SandboxJobs) -> None:
    running, parked = two_jobs(jobs)
    app = make_tui()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        table = table_of(app)
        await pilot.press("slash", *"beta")
        await settle(pilot)
        assert table.row_count == 1
        assert table.selected_id == parked
        await pilot.press("enter")  # back to the table, filter kept
        assert table.row_count == 1
        assert app.screen.focused is table
        await pilot.press("escape")
        await settle(pilot)
        assert table.row_count == 2
        assert {running, parked} == set(table.rows_by_id)

        # enter opens the selected job; escape comes back.
        table.select(running)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, JobDetailScreen)
        assert app.screen.job_id == running
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)


async def test_a_new_job_from_a_spec_is_validated_confirmed_and_started(
    make_tui: AppFactory, jobs: SandboxJobs, tmp_path: Path
) -> None:
    data = tmp_path / "train.jsonl"
    data.write_bytes(training_bytes(tag="Spec: "))
    spec = tmp_path / "job.toml"
    spec.write_text(
        f'model = "{BASE_MODEL}"\nsuffix = "from-tui"\n'
        'training_files = [{ path = "train.jsonl", weight = 1.0 }]\n'
        "[hyperparameters]\ntraining_steps = 10\n",
        encoding="utf-8",
    )
    app = make_tui()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("#prompt-input").value = str(spec)  # type: ignore[attr-defined]
        await pilot.press("enter")
        # Validated and estimated locally, nothing uploaded yet: the cost is asked about.
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "from-tui" in app.screen.detail
        assert not list(jobs.http.get("/v1/files").json()["data"])
        await pilot.press("y")
        # Uploaded, created, validated on the server: its own figure is asked about again.
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "validated" in app.screen.question
        await pilot.press("y")
        table = table_of(app)
        await settle(pilot, lambda: table.row_count == 1 and app.snapshot is not None)
        job_id = next(iter(table.rows_by_id))
        await settle(pilot, lambda: jobs.job(job_id)["status"] in ("QUEUED", "RUNNING"))
        assert cell(table, job_id, "suffix") == "from-tui"
        record = app.ledger.get_job(job_id)
        assert record is not None and record.spec is not None  # the spec is in the ledger


async def test_refreshes_never_overlap(
    make_tui: AppFactory, jobs: SandboxJobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_jobs(jobs)
    from tuner.jobs import poller

    real = poller.poll_once
    running = 0
    most = 0
    calls = 0

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal running, most, calls
        running += 1
        calls += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0)  # give a second refresh every chance to start
            return await real(*args, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(poller, "poll_once", counted)
    app = make_tui()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        before = app.cycles
        for _ in range(5):
            app.request_refresh()
        await settle(pilot, lambda: app.cycles >= before + 2)
        await settle(pilot)
        assert most == 1
        # Five requests during one refresh make one more refresh, not five.
        assert app.cycles == before + 2
        assert calls == app.cycles

        # With an interval, the next refresh is armed only once a refresh has finished.
        app.config.poll_interval = 3600.0
        app.request_refresh()
        await settle(pilot, lambda: app.cycles >= before + 3)
        timer = app._timer
        assert timer is not None and not app._cycle_running
        app._on_timer()  # the timer fires
        assert app._cycle_running and app._timer is None
        await settle(pilot, lambda: app.cycles >= before + 4)
        assert app._timer is not None and app._timer is not timer


async def test_a_running_daemon_means_the_dashboard_only_reads(
    make_tui: AppFactory, jobs: SandboxJobs, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_jobs(jobs)
    from tuner.jobs import poller

    async def must_not_poll(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the dashboard polled while a daemon holds the lease")

    monkeypatch.setattr(poller, "poll_once", must_not_poll)
    now = int(jobs.sandbox.clock.now())
    assert ledger.acquire_lease("daemon", "box:4242:abc", 120, now)
    app = make_tui(watch_running=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        text = str(app.screen.query_one("#status-daemon").render())
        assert "daemon" in text and "box:4242" in text
        assert table_of(app).row_count == 0  # nothing in the ledger, and nobody asked


async def test_an_unreachable_api_is_a_notification_not_a_crash(
    ledger: Ledger, sandbox: SandboxHandle
) -> None:
    from tuner.api import RetryPolicy, TunerClient
    from tuner.tui import make_app

    async def no_sleep(_seconds: float) -> None:
        return None

    client = TunerClient(
        ["k" * 20],
        base_url="http://127.0.0.1:9",  # discard port: nothing listens
        retry=RetryPolicy(max_attempts=1, max_elapsed=1.0),
        sleep=no_sleep,
    )
    app = make_app(
        client=client,
        ledger=ledger,
        clock=sandbox.clock.now,
        poll_interval=None,
        cursor_blink=False,
        close_client=True,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        messages = [n.message for n in app._notifications]
        assert any("listing" in m or "polling" in m for m in messages)
        assert app.reachable is False
        assert "unreachable" in str(app.screen.query_one("#status-backend").render())
        await pilot.press("r")  # still alive, still answering keys
        await settle(pilot, lambda: app.cycles >= 2)


async def test_every_binding_is_in_the_command_palette(
    make_tui: AppFactory, jobs: SandboxJobs
) -> None:
    from tuner.tui.commands import ActionsProvider

    two_jobs(jobs)
    app = make_tui()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        provider = ActionsProvider(app.screen)
        names = {name for name, _, _ in provider._commands()}
        for binding in JobsScreen.BINDINGS:
            assert binding.description in names  # type: ignore[union-attr]
        assert {"Jobs", "Data", "Files & models", "Evaluate", "Playground"} <= names
        # Every binding of every screen (and widget) has an id, so keymaps can remap it.
        for owner in binding_owners():
            for binding in owner.BINDINGS:
                assert isinstance(binding, Binding) and binding.id, (owner, binding)
        # The palette opens on ctrl+p; a hit found by name runs its action.
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        await settle(pilot)
        hits = [hit async for hit in ActionsProvider(app.screen).search("Files & models")]
        assert hits
        best = max(hits, key=lambda hit: hit.score)
        await best.command()  # type: ignore[misc]
        await settle(pilot)
        assert app.current_mode == "files"


def three_jobs(jobs: SandboxJobs) -> dict[str, str]:
    """Three jobs, oldest first: bravo parked VALIDATED (50 steps), alpha RUNNING with
    validation data (1000 steps), charlie finished (10 steps). Suffix → job id."""
    sandbox = jobs.sandbox
    bravo = jobs.create_job(
        jobs.upload(training_bytes(tag="B "), "b.jsonl"),
        suffix="bravo",
        auto_start=False,
        hyperparameters={"training_steps": 50},
    )
    sandbox.advance(10)
    alpha = jobs.create_job(
        jobs.upload(training_bytes(tag="A "), "a.jsonl"),
        suffix="alpha",
        validation_files=[jobs.upload(training_bytes(tag="V "), "v.jsonl")],
        hyperparameters={"training_steps": 1000},
    )
    sandbox.advance(10)
    charlie = jobs.create_job(
        jobs.upload(training_bytes(tag="C "), "c.jsonl"),
        suffix="charlie",
        hyperparameters={"training_steps": 10},
    )
    sandbox.advance(1200)
    ids = {"bravo": bravo["id"], "alpha": alpha["id"], "charlie": charlie["id"]}
    statuses = {name: jobs.job(job_id)["status"] for name, job_id in ids.items()}
    assert statuses == {"bravo": "VALIDATED", "alpha": "RUNNING", "charlie": "SUCCESS"}
    return ids


def suffix_order(table: JobsTable) -> list[str]:
    """The rows' suffixes, top to bottom."""
    rows = (table.coordinate_to_cell_key((i, 0))[0].value for i in range(table.row_count))
    return [str(table.rows_by_id[str(job_id)].suffix) for job_id in rows]


async def click_header(pilot: Any, table: JobsTable, column: str) -> None:
    """A mouse click on a column's header."""
    x = 0
    for key in table.column_keys:
        if key == column:
            break
        x += table.columns[key].get_render_width(table)  # type: ignore[index]
    assert await pilot.click(table, offset=(x + 2, 0))
    await settle(pilot)


async def test_a_header_click_sorts_by_that_column_and_again_reverses(
    make_tui: AppFactory, jobs: SandboxJobs
) -> None:
    three_jobs(jobs)
    app = make_tui()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        table = table_of(app)
        assert suffix_order(table) == ["charlie", "alpha", "bravo"]  # newest first

        await click_header(pilot, table, "suffix")
        assert suffix_order(table) == ["alpha", "bravo", "charlie"]
        await click_header(pilot, table, "suffix")
        assert suffix_order(table) == ["charlie", "bravo", "alpha"]

        await click_header(pilot, table, "status")  # RUNNING, SUCCESS, VALIDATED
        assert suffix_order(table) == ["alpha", "charlie", "bravo"]
        await click_header(pilot, table, "cost")  # 10, 50 and 1000 steps: cheapest first
        assert suffix_order(table) == ["charlie", "bravo", "alpha"]
        await click_header(pilot, table, "age")
        assert suffix_order(table) == ["charlie", "alpha", "bravo"]

        # The order holds through a refresh, and the selection stays on its job.
        await click_header(pilot, table, "suffix")
        table.move_cursor(row=2)
        assert table.selected is not None and table.selected.suffix == "charlie"
        await pilot.press("r")
        await settle(pilot, lambda: app.cycles >= 2)
        assert suffix_order(table) == ["alpha", "bravo", "charlie"]
        assert table.selected is not None and table.selected.suffix == "charlie"


async def test_o_cycles_through_the_sort_keys(make_tui: AppFactory, jobs: SandboxJobs) -> None:
    three_jobs(jobs)
    app = make_tui()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        table = table_of(app)
        table.focus()
        best = {row.suffix: row.best_valid_loss for row in table.rows_by_id.values()}
        assert best["alpha"] is not None  # in training, with validation data
        assert suffix_order(table) == ["charlie", "alpha", "bravo"]
        expected = [
            ("suffix", ["alpha", "bravo", "charlie"]),
            ("status", ["alpha", "charlie", "bravo"]),
            # The one job with a validation loss first; the others after it, oldest first.
            ("val loss", ["alpha", "bravo", "charlie"]),
            ("cost", ["charlie", "bravo", "alpha"]),
            ("age", ["charlie", "alpha", "bravo"]),  # back to the start: newest first
        ]
        for name, order in expected:
            await pilot.press("o")
            await settle(pilot)
            assert suffix_order(table) == order, name
            assert app._notifications, name
            assert list(app._notifications)[-1].message == f"sorted by {name}"
