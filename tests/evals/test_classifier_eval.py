"""``tuner eval run`` on classifier data, against a sandbox classifier and a chat model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tuner.cli import context
from tuner.cli.main import app
from tuner.evals.classifier_run import Target, parse_choice
from tuner.sandbox import SandboxHandle

from .support import HELD_OUT_REVIEWS, TRAIN_REVIEWS, Recorder, cli_against, error_response


@pytest.fixture
def cli(
    classifier: tuple[SandboxHandle, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    return cli_against(classifier[0].url, tmp_path, monkeypatch)


def run(cli: CliRunner, *args: str) -> Any:
    return cli.invoke(app, ["eval", "run", *args], catch_exceptions=False)


def test_classifier_eval_json_html_and_terminal(
    cli: CliRunner, classifier: tuple[SandboxHandle, str], tmp_path: Path
) -> None:
    model = classifier[1]
    page = tmp_path / "report.html"
    args = ["--data", str(TRAIN_REVIEWS), "--model", model, "--baseline", "ministral-3b-latest"]
    result = run(cli, *args, "--json", "--html", str(page))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kind"] == "classifier" and report["simulated"] is True
    assert report["items"] == 27
    tuned, chat = report["results"]
    assert (tuned["model"], tuned["role"]) == (model, "classifier")
    assert chat["role"] == "chat"
    sentiment = tuned["targets"][0]
    assert sentiment["name"] == "sentiment"
    # On its own training data the stand-in classifier gets every sentiment right.
    assert sentiment["accuracy"] == 1.0
    assert sentiment["macro_f1"] == 1.0
    matrix = sentiment["confusion"]["matrix"]
    assert sum(map(sum, matrix)) == 27
    assert all(row[-1] == 0 for row in matrix)  # always an answer
    # The chat stand-in does not know the labels: it scores lower.
    assert chat["targets"][0]["accuracy"] < 1.0
    assert tuned["targets"][1]["loss_function"] == "multi_class"
    text = page.read_text(encoding="utf-8")
    assert "SIMULATED" in text and "macro-F1" in text

    again = run(cli, *args, "--html", str(page))
    assert again.exit_code == 2 and "--force" in again.output

    shown = run(cli, "--data", str(HELD_OUT_REVIEWS), "--model", model)
    assert shown.exit_code == 0, shown.output
    assert "SIMULATED" in shown.stdout
    assert "accuracy" in shown.stdout and "confusion" in shown.stdout


def test_a_model_that_cannot_classify_stops_the_run(cli: CliRunner) -> None:
    # An unknown model concerns every item: the run stops (recorded as failed) instead of
    # recording each item as failed.
    result = run(cli, "--data", str(HELD_OUT_REVIEWS), "--model", "ministral-3b-latest")
    assert result.exit_code == 1
    assert "ministral-3b-latest" in result.output
    listed = cli.invoke(app, ["eval", "list", "--json"], catch_exceptions=False)
    (stored,) = json.loads(listed.stdout)
    assert (stored["kind"], stored["status"], stored["answered"]) == ("classifier", "failed", 0)


def test_the_mistral_prefix_is_recorded_but_not_sent(
    cli: CliRunner, classifier: tuple[SandboxHandle, str]
) -> None:
    # "mistral:" is tuner's notation: the run keeps it, the server is sent the id without it
    # (sent as given, the classifier and the chat model were unknown to the server).
    tuned, chat = f"mistral:{classifier[1]}", "mistral:ministral-3b-latest"
    args = ["--data", str(HELD_OUT_REVIEWS), "--model", tuned, "--baseline", chat, "--json"]
    result = run(cli, *args)
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)["results"]
    assert [(r["model"], r["role"]) for r in results] == [(tuned, "classifier"), (chat, "chat")]
    assert results[0]["targets"][0]["accuracy"] > 0


@pytest.mark.parametrize(
    ("option", "openai_model"),
    [
        ("--baseline", "gpt-4o-mini-2024-07-18"),
        ("--baseline", "openai:gpt-4o-mini-2024-07-18"),
        ("--model", "openai:ft:gpt-4o-mini-2024-07-18:acme:care:abc123"),
        ("--model", "ft:gpt-4o-mini-2024-07-18:acme:care:abc123"),
    ],
)
def test_an_openai_model_is_refused_before_anything_is_asked_or_stored(
    cli: CliRunner, classifier: tuple[SandboxHandle, str], option: str, openai_model: str
) -> None:
    # OpenAI has no classification endpoint: sent to Mistral's, the model got a 400 and left a
    # failed run in the ledger. Now it is a usage error naming the model, and nothing is kept.
    models = {"--model": classifier[1], "--baseline": "ministral-3b-latest", option: openai_model}
    args = [arg for flag, model in models.items() for arg in (flag, model)]
    result = run(cli, "--data", str(HELD_OUT_REVIEWS), *args)
    assert result.exit_code == 2, result.output
    first, hint = result.stderr.strip().splitlines()
    assert openai_model in first and "Mistral classifier models only" in first
    assert hint.startswith("hint:")
    listed = cli.invoke(app, ["eval", "list", "--json"], catch_exceptions=False)
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []


@pytest.mark.parametrize(
    ("answer", "multi", "expected"),
    [
        ("positive", False, "positive"),
        ("Positive.", False, "positive"),
        ("I think it is negative, not positive", False, "negative"),
        ("no idea", False, None),
        ("app, quality", True, frozenset({"app", "quality"})),
        ("none", True, frozenset()),
        ("nothing fits", True, None),
    ],
)
def test_parse_choice(answer: str, multi: bool, expected: object) -> None:
    labels = ("app", "quality") if multi else ("positive", "negative", "neutral")
    assert parse_choice(answer, Target("t", labels, multi)) == expected


def _failing(paths: tuple[str, ...]) -> Recorder:
    """Classification and chat requests fail with 500 (those whose body has these keys)."""

    def intercept(body: dict[str, Any]) -> Any:
        if any(key in body for key in paths):
            return error_response(500, "the server is down")
        return None

    return Recorder(intercept)


@pytest.mark.parametrize(
    ("failing", "code", "said"),
    [
        (("messages", "input", "inputs"), 3, "every answer failed after retries (8 of 8)"),
        (("messages",), 4, "4 of 8 answers failed after retries"),
    ],
)
def test_failed_classifier_answers_give_the_documented_exit_code(
    cli: CliRunner,
    classifier: tuple[SandboxHandle, str],
    monkeypatch: pytest.MonkeyPatch,
    failing: tuple[str, ...],
    code: int,
    said: str,
) -> None:
    """As for chat runs: 3 when no answer at all came back, 4 when some did not."""
    monkeypatch.setenv("TUNER_RETRY_MAX_ATTEMPTS", "1")
    monkeypatch.setattr(context.hooks, "client_options", {"transport": _failing(failing)})
    args = ["--data", str(HELD_OUT_REVIEWS), "--model", classifier[1]]
    result = run(cli, *args, "--baseline", "ministral-3b-latest", "--limit", "4", "--quiet")
    assert result.exit_code == code, result.output
    assert said in result.stderr
