"""Evaluate against the sandbox: prefilled from a job, run with progress, both models' scores,
and an item side by side with the judge's reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from tuner.sandbox import SandboxHandle
from tuner.tui.screens.evaluate import EvalItemScreen, EvaluateScreen
from tuner.tui.screens.jobs import JobsScreen

from .conftest import AppFactory
from .support import BASE_MODEL, SUPPORT, SandboxJobs, plain, settle

pytestmark = pytest.mark.anyio
EVAL_ITEMS = 3


def tune(jobs: SandboxJobs, sandbox: SandboxHandle, tmp_path: Path) -> tuple[str, str, Path]:
    """A model tuned on the example data; an eval file of held-out conversations."""
    lines = SUPPORT.read_bytes().splitlines(keepends=True)
    held_out = tmp_path / "eval.jsonl"
    held_out.write_bytes(b"".join(lines[:EVAL_ITEMS]))
    job = jobs.create_job(jobs.upload(b"".join(lines[EVAL_ITEMS:120])), suffix="eval")
    sandbox.advance(1000)
    done = jobs.job(job["id"])
    assert done["status"] == "SUCCESS"
    return job["id"], str(done["fine_tuned_model"]), held_out


async def test_evaluate_a_job_from_the_jobs_screen(
    make_tui: AppFactory, jobs: SandboxJobs, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    job_id, model, held_out = tune(jobs, sandbox, tmp_path)
    app = make_tui()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        assert isinstance(app.screen, JobsScreen)
        app.screen.query_one("#jobs-table").select(job_id)  # type: ignore[attr-defined]
        await pilot.press("e")
        await settle(pilot, lambda: isinstance(app.screen, EvaluateScreen))
        screen = app.screen
        assert isinstance(screen, EvaluateScreen)
        # Prefilled from the job: its tuned model, and its base model as the baseline.
        assert screen.query_one("#eval-model").value == model  # type: ignore[attr-defined]
        assert screen.query_one("#eval-baseline").value == BASE_MODEL  # type: ignore[attr-defined]

        screen.query_one("#eval-path").value = str(held_out)  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: screen.completed == 1)
        report = screen.report
        assert report is not None
        assert report.run.status == "completed"
        assert list(report.models) == [model, BASE_MODEL]
        assert all(summary.answered == EVAL_ITEMS for summary in report.models.values())
        assert report.judge is not None and report.judge.judged == EVAL_ITEMS

        # The summary at the top names both models with their scores.
        summary = plain(screen.query_one("#eval-summary", Static).content, width=160)
        assert f"tuned: {model}" in summary and f"baseline: {BASE_MODEL}" in summary
        assert "token F1" in summary and "judge" in summary
        assert summary.lstrip().startswith("SIMULATED")  # the sandbox answered and judged
        items = screen.query_one("#eval-items", DataTable)
        assert items.row_count == EVAL_ITEMS
        assert "done" in str(screen.query_one("#eval-stage").render())

        # An item, side by side: prompt, reference, both answers, scores, the judge's reason.
        items.focus()
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, EvalItemScreen))
        answers = list(app.screen.query(".answer"))
        assert [a.border_title for a in answers] == [f"tuned: {model}", f"baseline: {BASE_MODEL}"]
        assert all("F1" in str(a.border_subtitle) for a in answers)
        assert app.screen.query_one("#eval-item-verdict") is not None
        titles = [p.border_title for p in app.screen.query(".message")]
        assert {"prompt", "reference"} <= set(titles)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, EvaluateScreen)

        # Running the same evaluation again resumes the stored run: nothing is asked again.
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: screen.completed == 2)
        assert "0 asked" in str(screen.query_one("#eval-stage").render())


async def test_evaluate_needs_a_file_and_a_model(make_tui: AppFactory) -> None:
    app = make_tui(mode="evaluate", probe=False, self_poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert any("eval file" in n.message for n in app._notifications)
        screen = app.screen
        screen.query_one("#eval-path").value = "/nonexistent/eval.jsonl"  # type: ignore[attr-defined]
        screen.query_one("#eval-model").value = "ft:x"  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        assert isinstance(app.screen, EvaluateScreen)


def rendered(widget: Widget) -> str:
    """What a widget shows on screen, its lines joined."""
    lines = widget.render_lines(Region(0, 0, *widget.outer_size))
    return "\n".join(strip.text for strip in lines)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_tuned_model_is_shown_whole(
    size: tuple[int, int],
    make_tui: AppFactory,
    jobs: SandboxJobs,
    sandbox: SandboxHandle,
    tmp_path: Path,
) -> None:
    # The longest suffix the API takes (18): the tuned model's id is 64 characters long.
    lines = SUPPORT.read_bytes().splitlines(keepends=True)
    held_out = tmp_path / "eval.jsonl"
    held_out.write_bytes(lines[0])
    job = jobs.create_job(jobs.upload(b"".join(lines[1:60])), suffix="support-2025-sweep")
    sandbox.advance(1000)
    model = str(jobs.job(job["id"])["fine_tuned_model"])
    assert len(model) == 64
    app = make_tui()
    async with app.run_test(size=size) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        app.screen.query_one("#jobs-table").select(job["id"])  # type: ignore[attr-defined]
        await pilot.press("e")
        await settle(pilot, lambda: isinstance(app.screen, EvaluateScreen))
        screen = app.screen
        assert isinstance(screen, EvaluateScreen)
        field = screen.query_one("#eval-model", Input)
        assert field.value == model
        assert model in rendered(field)  # the whole id in the field, not its first half

        screen.query_one("#eval-path", Input).value = str(held_out)
        screen.query_one("#eval-judge", Input).value = ""
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: screen.completed == 1)
        summary = rendered(screen.query_one("#eval-summary", Static))
        assert f"tuned: {model}" in summary
        assert f"baseline: {BASE_MODEL}" in summary


def test_a_run_over_a_sandbox_and_a_real_api_says_which_model_is_simulated() -> None:
    from tuner.evals.report import RunReport
    from tuner.jobs.records import Backend, EvalRunRecord
    from tuner.tui.screens.evaluate import run_head

    def report(*sandboxes: bool) -> str:
        run = EvalRunRecord(
            run_id="ev0123456789abcd",
            data_path="/data/eval.jsonl",
            data_hash="0" * 64,
            models=["openai:ft:gpt-4o-mini:tuned", "open-mistral-7b"],
            judge=None,
            params={},
            status="completed",
            created_at=1,
            updated_at=1,
            backends=[
                Backend(url=f"http://127.0.0.1:{port}", sandbox=flag)
                for port, flag in zip((9001, 9002), sandboxes, strict=True)
            ],
        )
        found = RunReport(run, models={}, judge=None, rows=[], items_in_file=None, note=None)
        return run_head(found).plain

    mixed = report(True, False).splitlines()
    assert mixed[0].startswith(" SIMULATED") and "127.0.0.1:9001" in mixed[0]
    assert "9002" not in mixed[0]  # the real API is not named a sandbox
    tuned = next(line for line in mixed if line.startswith("tuned: "))
    baseline = next(line for line in mixed if line.startswith("baseline: "))
    assert tuned.rstrip().endswith("SIMULATED") and baseline.rstrip().endswith("API")
    # One origin for both: the banner (or its absence) says it all, no per-model mark.
    marks = ("SIMULATED", "API")
    assert not any(line.rstrip().endswith(marks) for line in report(True, True).splitlines())
    assert "SIMULATED" not in report(False, False)
