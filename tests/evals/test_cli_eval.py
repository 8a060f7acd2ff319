"""``tuner eval`` end to end against the sandbox: run, resume, list, show, report, compare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tuner.cli import context
from tuner.cli.main import app

from .conftest import Tuned
from .support import BASE_MODEL, JUDGE_MODEL, Recorder, cli_against, error_response


@pytest.fixture
def cli(tuned: Tuned, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return cli_against(tuned.sandbox.url, tmp_path, monkeypatch)


def invoke(cli: CliRunner, *args: str) -> Any:
    return cli.invoke(app, list(args), catch_exceptions=False)


def run_json(cli: CliRunner, tuned: Tuned, *extra: str) -> dict[str, Any]:
    result = invoke(
        cli,
        "eval",
        "run",
        "--data",
        str(tuned.eval),
        "--model",
        tuned.model,
        "--baseline",
        BASE_MODEL,
        "--json",
        "--quiet",
        *extra,
    )
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_run_json_then_resume(cli: CliRunner, tuned: Tuned) -> None:
    first = run_json(cli, tuned, "--judge", JUDGE_MODEL, "--limit", "8")
    assert first["items"] == 8
    models = first["models"]
    assert set(models) == {tuned.model, BASE_MODEL}
    for scores in models.values():
        assert {"exact_match", "token_f1", "rouge_l", "mean_latency_s", "failed"} <= set(scores)
    assert set(first["judge"]) >= {"wins", "ties", "losses", "win_rate", "ci95"}
    assert first["judge"]["wins"] + first["judge"]["ties"] + first["judge"]["losses"] == 8

    # The same command without --limit extends the same run.
    full = run_json(cli, tuned, "--judge", JUDGE_MODEL)
    assert full["run_id"] == first["run_id"]
    assert full["items"] == 20
    assert models[tuned.model]["token_f1"] is not None
    assert full["models"][tuned.model]["token_f1"] > full["models"][BASE_MODEL]["token_f1"]

    fresh = run_json(cli, tuned, "--judge", JUDGE_MODEL, "--limit", "2", "--new")
    assert fresh["run_id"] != first["run_id"]
    assert fresh["items"] == 2
    listed = json.loads(invoke(cli, "eval", "list", "--json").stdout)
    assert {run["run_id"] for run in listed} == {first["run_id"], fresh["run_id"]}


def test_terminal_report_and_stored_runs(cli: CliRunner, tuned: Tuned, tmp_path: Path) -> None:
    result = invoke(
        cli,
        "eval",
        "run",
        "--data",
        str(tuned.eval),
        "-m",
        tuned.model,
        "-b",
        BASE_MODEL,
        "--limit",
        "6",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.lstrip().startswith("SIMULATED")  # the sandbox answered: said first
    assert "token F1" in out
    assert "✓" in out
    assert f"candidate: {tuned.model}" in out
    assert "where the models differ most" in out

    listed = invoke(cli, "eval", "list", "--json")
    assert listed.exit_code == 0
    (run,) = json.loads(listed.stdout)
    assert run["models"] == [tuned.model, BASE_MODEL]
    assert run["status"] == "completed"
    assert run["answered"] == 12
    assert run["simulated"] is True
    assert run["backend"] == {"url": tuned.sandbox.url, "sandbox": True}
    run_id = run["run_id"]
    assert run_id in invoke(cli, "eval", "list").stdout
    assert "SIMULATED" in invoke(cli, "eval", "list").stdout

    shown = invoke(cli, "eval", "show", run_id[:8], "--json")
    assert json.loads(shown.stdout)["run_id"] == run_id
    assert json.loads(shown.stdout)["backend"]["sandbox"] is True
    shown_text = invoke(cli, "eval", "show", run_id).stdout
    assert "token F1" in shown_text and "SIMULATED" in shown_text

    page = tmp_path / "out" / "report.html"
    written = invoke(cli, "eval", "report", run_id, "--html", str(page))
    assert written.exit_code == 0, written.output
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<svg" in text and "<script" not in text
    assert 'class="simulated"' in text

    # A second run on the same data, of the base model alone, to compare with.
    other = invoke(
        cli,
        "eval",
        "run",
        "--data",
        str(tuned.eval),
        "-m",
        BASE_MODEL,
        "--limit",
        "6",
        "--quiet",
        "--json",
    )
    assert other.exit_code == 0, other.output
    compared = invoke(cli, "eval", "compare", run_id, json.loads(other.stdout)["run_id"], "--json")
    assert compared.exit_code == 0, compared.output
    body = json.loads(compared.stdout)
    assert body["candidate_a"] == tuned.model
    assert body["candidate_b"] == BASE_MODEL
    assert body["paired"][0]["items"] == 6
    assert body["paired"][0]["mean_difference"] < 0  # the base does worse than the tuned model
    compared_text = invoke(cli, "eval", "compare", run_id, json.loads(other.stdout)["run_id"])
    assert "token_f1" in compared_text.stdout
    # Both runs asked the sandbox: the comparison is as SIMULATED as they are, model by model.
    assert compared_text.stdout.lstrip().startswith("SIMULATED")
    assert compared_text.stdout.count("SIMULATED: sandbox at") == 3  # A·1, A·2 and B·1


def test_user_errors_exit_with_one_line(cli: CliRunner, tuned: Tuned, tmp_path: Path) -> None:
    missing = invoke(cli, "eval", "show", "nothing-here")
    assert missing.exit_code == 2
    assert "no evaluation run" in missing.stderr

    judge_alone = invoke(
        cli, "eval", "run", "--data", str(tuned.eval), "-m", BASE_MODEL, "--judge", JUDGE_MODEL
    )
    assert judge_alone.exit_code == 2
    assert "needs exactly two models" in judge_alone.stderr

    bad_price = invoke(
        cli, "eval", "run", "--data", str(tuned.eval), "-m", BASE_MODEL, "--price", "x"
    )
    assert bad_price.exit_code == 2

    empty = tmp_path / "empty.jsonl"
    empty.write_text("{}\n", encoding="utf-8")
    no_items = invoke(cli, "eval", "run", "--data", str(empty), "-m", BASE_MODEL)
    assert no_items.exit_code == 1
    assert "no usable conversation" in no_items.stderr

    unknown = invoke(cli, "eval", "run", "--data", str(tuned.eval), "-m", "no-such-model", "-q")
    assert unknown.exit_code == 1
    assert "Invalid model" in unknown.stderr
    assert "Traceback" not in unknown.output


def test_progress_counts_failures() -> None:
    from tuner.cli.eval import EvalProgress
    from tuner.evals import AnswerRecorded, RunEvent, VerdictRecorded

    progress = EvalProgress(enabled=False)  # not a terminal here: counts, draws nothing
    progress.start("asking the models", total=3, unit="answers")
    events: list[RunEvent] = [
        AnswerRecorded(0, "m", None),
        AnswerRecorded(1, "m", "503 overloaded"),
        VerdictRecorded(0, "ok"),
        VerdictRecorded(1, "unparsed"),
    ]
    for event in events:
        progress.on_event(event)
        progress.advance()
    progress.finish()
    assert progress.failed == 2


def _failing_chats(only: str | None) -> Recorder:
    """Chat requests fail with 500 (for every model, or only ``only``); the rest go through."""

    def intercept(body: dict[str, Any]) -> Any:
        if "messages" in body and (only is None or body.get("model") == only):
            return error_response(500, "the server is down")
        return None

    return Recorder(intercept)


@pytest.mark.parametrize(
    ("only", "code", "said"),
    [
        (None, 3, "every answer failed after retries (12 of 12)"),
        (BASE_MODEL, 4, "6 of 12 answers failed after retries"),
    ],
)
def test_failed_answers_give_an_honest_exit_code(
    cli: CliRunner,
    tuned: Tuned,
    monkeypatch: pytest.MonkeyPatch,
    only: str | None,
    code: int,
    said: str,
) -> None:
    monkeypatch.setenv("TUNER_RETRY_MAX_ATTEMPTS", "1")
    monkeypatch.setattr(
        context.hooks, "client_options", {"transport": _failing_chats(only)}, raising=True
    )
    result = invoke(
        cli,
        "eval",
        "run",
        "--data",
        str(tuned.eval),
        "-m",
        tuned.model,
        "-b",
        BASE_MODEL,
        "--limit",
        "6",
        "--quiet",
        "--json",
    )
    assert result.exit_code == code, result.output
    assert said in result.stderr
    assert "run the same command again" in result.stderr.lower()
    assert json.loads(result.stdout)["run_id"]  # the report of what was answered is still given
