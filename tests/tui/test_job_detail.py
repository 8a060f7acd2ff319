"""Job detail against the sandbox: metadata, checkpoints with the best valid_loss marked, the
loss chart's data, events, and the lineage dataset → file → job → model → evaluation runs."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import DataTable, TabbedContent, Tree

from tests.jobs.flow_support import training_bytes
from tuner.jobs.detail import load_job_detail
from tuner.jobs.ledger import Ledger
from tuner.sandbox import SandboxHandle
from tuner.tui.screens.dialogs import ConfirmScreen, EventScreen
from tuner.tui.screens.job_detail import (
    JobDetailScreen,
    hyper_table,
    meta_table,
    targets_table,
)
from tuner.tui.widgets.charts import LossChart
from tuner.tui.widgets.jobs_table import JobsTable

from .conftest import AppFactory
from .support import REPO, START, SandboxJobs, create_from_spec, plain, settle

pytestmark = pytest.mark.anyio


def finished_job(jobs: SandboxJobs, ledger: Ledger, sandbox: SandboxHandle) -> tuple[str, str]:
    """A 100-step job with validation data, run to SUCCESS; its files known to the ledger."""
    content = training_bytes()
    train = jobs.upload(content)
    valid = jobs.upload(training_bytes(tag="Quick question: "), "valid.jsonl")
    digest = hashlib.sha256(content).hexdigest()
    now = int(sandbox.clock.now())
    ledger.record_dataset(
        digest, path="/data/jobs/../support.jsonl", size_bytes=len(content), line_count=12, now=now
    )
    ledger.record_file(
        train, backend=sandbox.url, uploaded_at=now, content_hash=digest, filename="train.jsonl"
    )
    job = jobs.create_job(
        train, suffix="support", validation_files=[valid], hyperparameters={"training_steps": 100}
    )
    sandbox.advance(5000)
    done = jobs.job(job["id"])
    assert done["status"] == "SUCCESS"
    return job["id"], done["fine_tuned_model"]


async def test_detail_shows_checkpoints_chart_events_and_lineage(
    make_tui: AppFactory, jobs: SandboxJobs, ledger: Ledger, sandbox: SandboxHandle
) -> None:
    job_id, model = finished_job(jobs, ledger, sandbox)
    ledger.create_eval_run(
        data_path="/data/eval.jsonl",
        data_hash="a" * 64,
        models=[model, "open-mistral-7b"],
        now=int(sandbox.clock.now()),
        run_id="ev-lineage-test",
        status="completed",
    )
    app = make_tui()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        app.screen.open_job(job_id)  # type: ignore[attr-defined]
        await settle(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.loaded)
        screen = app.screen
        assert isinstance(screen, JobDetailScreen)
        detail = screen.detail
        assert detail is not None

        # Checkpoints: every tenth step, the lowest valid_loss marked.
        checkpoints = screen.query_one("#job-checkpoints", DataTable)
        assert checkpoints.row_count == 10
        losses = {c.step: c.metrics["valid_loss"] for c in detail.checkpoints}
        best = min(losses, key=lambda step: losses[step])
        assert "best" in checkpoints.get_cell(str(best), checkpoints.ordered_columns[-1].key).plain
        others = [s for s in losses if s != best]
        assert all(
            checkpoints.get_cell(str(s), checkpoints.ordered_columns[-1].key).plain == ""
            for s in others
        )

        # The chart plots both losses over the steps.
        steps, train = detail.series("train_loss")
        assert steps == list(range(10, 101, 10)) and len(train) == 10
        assert len(detail.series("valid_loss")[1]) == 10
        assert screen.query_one(LossChart) is not None

        # Events, oldest first, ending in SUCCESS.
        events = screen.query_one("#job-events", DataTable)
        assert events.row_count == len(detail.events) >= 6
        last = events.get_row_at(events.row_count - 1)
        assert "SUCCESS" in last[2].plain

        # Lineage: dataset → file → job → model → evaluation run.
        tree = screen.query_one("#job-lineage", Tree)
        labels = [node.label.plain for node in _walk(tree.root)]
        assert any(label.startswith("dataset /data/support.jsonl") for label in labels)
        assert any(label.startswith("file train.jsonl") for label in labels)
        assert any(label.startswith(f"job {job_id}") for label in labels)
        assert any(label.startswith(f"model {model}") for label in labels)
        assert any(label.startswith("eval ev-lineage-test") for label in labels)

        # A completion job: no classifier targets panel.
        assert not screen.query_one("#job-targets").display

        # Metadata: the server's cost and duration.
        meta = plain(meta_table(detail, app.now()))
        assert "$26.21" in meta and "17 min" in meta and "13.11M" in meta
        hyper = plain(hyper_table(detail))
        assert "training_steps" in hyper and "100" in hyper

        # t cycles through the tabs.
        tabs = screen.query_one(TabbedContent)
        assert tabs.active == "overview"
        await pilot.press("t")
        assert tabs.active == "loss"

        # p: the playground with the tuned model beside its base model.
        await pilot.press("p")
        await settle(pilot, lambda: app.current_mode == "playground")
        assert app.screen.query_one("#pg-model-a").value == model  # type: ignore[attr-defined]
        assert app.screen.comparing  # type: ignore[attr-defined]
        app.switch_mode("jobs")
        await settle(pilot, lambda: isinstance(app.screen, JobDetailScreen))

        # The lineage's evaluation run opens in Evaluate.
        tabs.active = "lineage"
        await settle(pilot)
        eval_node = next(n for n in _walk(tree.root) if n.label.plain.startswith("eval "))
        tree.focus()
        tree.move_cursor(eval_node)
        await pilot.press("enter")
        await settle(
            pilot,
            lambda: (
                app.current_mode == "evaluate" and getattr(app.screen, "report", None) is not None
            ),
        )
        assert app.screen.report.run.run_id == "ev-lineage-test"  # type: ignore[attr-defined]


def _walk(node):  # type: ignore[no-untyped-def]
    yield node
    for child in node.children:
        yield from _walk(child)


async def test_detail_of_a_running_job_follows_it_to_success(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    job = jobs.create_job(jobs.upload(training_bytes()), hyperparameters={"training_steps": 50})
    sandbox.advance(200)
    app = make_tui()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        app.screen.open_job(job["id"])  # type: ignore[attr-defined]
        await settle(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.loaded)
        screen = app.screen
        assert isinstance(screen, JobDetailScreen)
        assert screen.detail is not None and screen.detail.job.status == "RUNNING"
        seen = len(screen.detail.checkpoints)

        sandbox.advance(3000)
        await pilot.press("r")
        await settle(pilot, lambda: screen.detail is not None and screen.detail.job.is_terminal)
        assert screen.detail is not None
        assert screen.detail.job.status == "SUCCESS"
        assert len(screen.detail.checkpoints) > seen
        assert screen.detail.job.fine_tuned_model
        title = str(screen.query_one("#job-title").render())
        assert "SUCCESS" in title and screen.detail.job.fine_tuned_model in title
        assert title.lstrip().startswith("SIMULATED")  # the sandbox's job


async def test_start_then_cancel_from_the_detail(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    job = jobs.create_job(jobs.upload(training_bytes()), auto_start=False)
    sandbox.advance(60)
    app = make_tui()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        app.screen.open_job(job["id"])  # type: ignore[attr-defined]
        await settle(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.loaded)
        screen = app.screen
        assert isinstance(screen, JobDetailScreen)
        assert screen.detail is not None and screen.detail.job.status == "VALIDATED"

        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen) and "$2.62" in app.screen.detail
        await pilot.press("y")
        await settle(
            pilot, lambda: screen.detail is not None and screen.detail.job.status != "VALIDATED"
        )
        assert jobs.job(job["id"])["status"] in ("QUEUED", "RUNNING")

        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot, lambda: screen.detail.job.status == "CANCELLATION_REQUESTED")  # type: ignore[union-attr]
        assert jobs.job(job["id"])["status"] == "CANCELLATION_REQUESTED"


LONG_ERROR = (
    "Training diverged at step 412: the loss became NaN after the learning rate warm-up; "
    "lower learning_rate (tried 1e-3) or check the data for empty assistant turns. "
    "Support reference: run-7f3a9c2e-0b1d-4e5f-8a6b-1c2d3e4f5a6b, end of message."
)


async def test_a_failed_job_says_why_in_full_and_events_expand(
    make_tui: AppFactory, ledger: Ledger, sandbox: SandboxHandle
) -> None:
    # A failed job as the ledger records it, with a longer error than the sandbox's (the next
    # test fails a job on the sandbox itself).
    now = int(sandbox.clock.now())
    snapshot = {
        "id": "ftjob-failed-0001",
        "model": "open-mistral-7b",
        "status": "FAILED",
        "suffix": "diverged",
        "auto_start": False,
        "created_at": now - 600,
        "hyperparameters": {"training_steps": 1000, "learning_rate": 1e-3},
        "events": [
            {"name": "status-updated", "data": {"status": "RUNNING"}, "created_at": now - 500},
            {
                "name": "status-updated",
                "data": {"status": "FAILED", "error": LONG_ERROR},
                "created_at": now - 100,
            },
        ],
    }
    ledger.upsert_job(
        snapshot,
        backend=sandbox.url,
        now=now,
        spec={"model": "open-mistral-7b", "tuner": {"start": "confirm"}},
    )
    app = make_tui(self_poll=False, watch_running=False, probe=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        app.screen.open_job("ftjob-failed-0001")  # type: ignore[attr-defined]
        await settle(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.loaded)
        screen = app.screen
        panel = screen.query_one("#job-error")
        await settle(pilot, lambda: panel.display and panel.size.height > 1)
        assert panel.size.height >= 4  # wrapped over several lines
        lines = panel.render_lines(Region(0, 0, *panel.outer_size))
        shown = " ".join(" ".join(strip.text.lstrip("█▌▐ ") for strip in lines).split())
        assert LONG_ERROR in shown  # whole: nothing cut at 80 columns
        # The spec said auto_start = true; tuner created it with the server's set to false.
        assert "true" in plain(hyper_table(screen.detail))  # type: ignore[arg-type]

        screen.query_one(TabbedContent).active = "events"
        await settle(pilot)
        events = screen.query_one("#job-events", DataTable)
        events.focus()
        events.move_cursor(row=1)
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, EventScreen))
        text = str(app.screen.query_one("#event-data").render())
        assert LONG_ERROR in " ".join(text.split())
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, JobDetailScreen))


@pytest.mark.parametrize("sandbox_faults", ["job_fail=1.0"])
async def test_a_job_that_failed_mid_run_on_the_sandbox_says_why(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle
) -> None:
    # The sandbox's job_fail fault: the job runs part of its steps, then FAILED with an error,
    # while the dashboard watches.
    job = jobs.create_job(jobs.upload(training_bytes()), hyperparameters={"training_steps": 100})
    sandbox.advance(200)
    app = make_tui()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        table = app.screen.query_one("#jobs-table", JobsTable)
        assert table.rows_by_id[job["id"]].status == "RUNNING"
        sandbox.advance(5000)
        await pilot.press("r")
        await settle(pilot, lambda: table.rows_by_id[job["id"]].status == "FAILED")
        served = jobs.job(job["id"])
        assert served["status"] == "FAILED"
        error = served["events"][-1]["data"]["error"]
        assert error.startswith("Training failed at step ") and len(error) > 80
        reached = max(c["step_number"] for c in served["checkpoints"])
        row = table.get_row(job["id"])
        assert row[table.get_column_index("status")].plain == "FAILED"
        # It keeps the progress it made before failing.
        assert row[table.get_column_index("steps")].plain == f"{reached}/100"

        app.screen.open_job(job["id"])  # type: ignore[attr-defined]
        await settle(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.loaded)
        screen = app.screen
        assert isinstance(screen, JobDetailScreen)
        assert screen.detail is not None and screen.detail.failure == error
        panel = screen.query_one("#job-error")
        await settle(pilot, lambda: panel.display and panel.size.height > 1)
        lines = panel.render_lines(Region(0, 0, *panel.outer_size))
        shown = " ".join(" ".join(strip.text.lstrip("█▌▐ ") for strip in lines).split())
        assert f"FAILED: {error}" in shown  # whole, wrapped at 80 columns

        # The FAILED event opens in full from the events tab.
        screen.query_one(TabbedContent).active = "events"
        await settle(pilot)
        events = screen.query_one("#job-events", DataTable)
        events.focus()
        events.move_cursor(row=events.row_count - 1)
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, EventScreen))
        text = str(app.screen.query_one("#event-data").render())
        assert error in " ".join(text.split())


def test_the_validation_file_is_found_for_an_evaluation(ledger: Ledger) -> None:
    # e on a job prefills Evaluate with the file the job was validated on, as recorded.
    digest = "b" * 64
    ledger.record_dataset(
        digest, path="/work/jobs/../data/eval.jsonl", size_bytes=10, line_count=2, now=START
    )
    ledger.record_file(
        "file-valid", backend="http://x", uploaded_at=START, content_hash=digest, filename="e"
    )
    snapshot = {
        "id": "job-with-validation",
        "model": "open-mistral-7b",
        "status": "SUCCESS",
        "training_files": ["file-train"],
        "validation_files": ["file-valid"],
    }
    ledger.upsert_job(snapshot, backend="http://x", now=START)
    detail = load_job_detail(ledger, "job-with-validation")
    assert detail is not None
    assert detail.validation_path == "/work/data/eval.jsonl"  # normalised


def copy_classifier_example(folder: Path) -> Path:
    """examples/jobs/classifier.toml with its data, as a user's checkout would have them."""
    (folder / "data").mkdir()
    shutil.copy(REPO / "examples" / "data" / "reviews.train.jsonl", folder / "data")
    (folder / "jobs").mkdir()
    return Path(shutil.copy(REPO / "examples" / "jobs" / "classifier.toml", folder / "jobs"))


CLASSIFIER_TARGETS = [
    # name, loss function, weight, labels: as the example spec says or its data gives.
    ("sentiment", "single_class", "1", "positive, negative, neutral"),
    ("topics", "multi_class", "0.5", "app, delivery, quality, support"),
]


async def test_a_classifier_job_shows_its_targets(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    # Created from the dashboard (n, the example classifier spec, yes twice), run on the
    # sandbox to SUCCESS, then opened: the overview lists each target.
    spec = copy_classifier_example(tmp_path)
    app = make_tui()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        await create_from_spec(pilot, spec)
        table = app.screen.query_one("#jobs-table", JobsTable)
        await settle(pilot, lambda: table.row_count == 1)
        job_id = next(iter(table.rows_by_id))
        sandbox.advance(5000)
        await pilot.press("r")
        await settle(pilot, lambda: table.rows_by_id[job_id].status == "SUCCESS")
        served = jobs.job(job_id)
        assert served["job_type"] == "classifier"

        app.screen.open_job(job_id)  # type: ignore[attr-defined]
        await settle(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.loaded)
        screen = app.screen
        assert isinstance(screen, JobDetailScreen) and screen.detail is not None
        assert screen.detail.classifier_targets_source == "server"
        panel = screen.query_one("#job-targets")
        await settle(pilot, lambda: panel.display and panel.size.height > 1)
        lines = [strip.text for strip in panel.render_lines(Region(0, 0, *panel.outer_size))]
        assert "Classifier targets (from the server)" in lines[0]
        for name, loss, weight, labels in CLASSIFIER_TARGETS:
            row = next(line for line in lines if line.split()[:1] == [name])
            assert row.split()[1:3] == [loss, weight]
            assert row.split(None, 3)[3].strip() == labels
        # The server's targets are the ones the dashboard shows.
        assert [t["name"] for t in served["classifier_targets"]] == ["sentiment", "topics"]
        # The title shows the classifier's tuned model whole (ft:classifier:…, 71 characters).
        title = screen.query_one("#job-title")
        shown = [strip.text.strip() for strip in title.render_lines(Region(0, 0, *title.size))]
        assert served["fine_tuned_model"] in shown


def test_targets_come_from_the_server_else_from_the_spec(ledger: Ledger) -> None:
    spec = {
        "model": "ministral-3b-latest",
        "job_type": "classifier",
        "classifier_targets": [
            {
                "name": "sentiment",
                "labels": ["positive", "negative"],
                "loss_function": "single_class",
            }
        ],
    }
    listed = {"id": "clf-1", "model": "ministral-3b-latest", "status": "QUEUED"}
    # Known from a list answer only (no targets in it): the spec tuner sent says.
    ledger.upsert_job(
        {**listed, "job_type": "classifier"}, backend="http://x", now=START, spec=spec
    )
    detail = load_job_detail(ledger, "clf-1")
    assert detail is not None and detail.classifier_targets_source == "spec"
    assert detail.classifier_targets() == [
        {
            "name": "sentiment",
            "labels": ["positive", "negative"],
            "weight": 1.0,  # left out of the spec: the API's default
            "loss_function": "single_class",
        }
    ]
    # The server's detailed answer, made outside tuner (no spec): every field from it.
    detailed = {
        "id": "clf-2",
        "model": "ministral-3b-latest",
        "status": "RUNNING",
        "job_type": "classifier",
        "classifier_targets": [
            {"name": "topics", "labels": ["app", "\x1b[31mred"], "weight": 0.5,
             "loss_function": "multi_class"}
        ],
    }  # fmt: skip
    ledger.upsert_job(detailed, backend="http://x", now=START)
    detail = load_job_detail(ledger, "clf-2")
    assert detail is not None and detail.classifier_targets_source == "server"
    [target] = detail.classifier_targets()
    assert (target["weight"], target["loss_function"]) == (0.5, "multi_class")
    table = targets_table(detail)
    assert table is not None
    shown = plain(table)
    assert "\x1b" not in shown and "\\x1b[31mred" in shown  # a label cannot colour the screen
    # Not a classifier job: no targets, no panel.
    ledger.upsert_job(listed | {"id": "plain-1"}, backend="http://x", now=START)
    detail = load_job_detail(ledger, "plain-1")
    assert detail is not None and detail.classifier_targets() == []
    assert detail.classifier_targets_source is None and targets_table(detail) is None
