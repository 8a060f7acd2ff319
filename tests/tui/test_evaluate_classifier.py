"""Evaluate shows a classifier evaluation run (``tuner eval classifier``) with its metrics:
per target each model's accuracy and macro-F1, per-label precision and recall with support, a
compact confusion matrix, and the SIMULATED note of a sandbox's run. The run is written to the
ledger the way the classifier runner records it (its rows and params), with figures worked out
by hand below."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from tuner.evals.classifier_run import Target
from tuner.evals.classifier_runner import load_classifier_report, run_params
from tuner.jobs.ledger import EvalItemWrite, Ledger
from tuner.jobs.records import Backend
from tuner.tui.screens.evaluate import EvaluateScreen, classifier_body

from .conftest import AppFactory
from .support import START, plain, settle

pytestmark = pytest.mark.anyio

CLASSIFIER = "ft:ministral-3b-latest:acme:20251007:reviews:4f2a"
CHAT = "open-mistral-7b"
SANDBOX = "http://127.0.0.1:9"
TARGETS = [
    {"name": "sentiment", "labels": ["negative", "neutral", "positive"], "multi": False},
    {"name": "topics", "labels": ["price", "quality"], "multi": True},
]
# (truth, classifier's pick, chat model's pick) per item; None: the request failed.
ITEMS: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]] = [
    (
        {"sentiment": ["positive"], "topics": ["quality"]},
        {"sentiment": "positive", "topics": ["quality"]},
        {"sentiment": "positive", "topics": ["quality"]},
    ),
    (
        {"sentiment": ["positive"], "topics": ["price"]},
        {"sentiment": "positive", "topics": ["price"]},
        {"sentiment": "negative", "topics": ["quality"]},
    ),
    (
        {"sentiment": ["negative"], "topics": ["price", "quality"]},
        {"sentiment": "negative", "topics": ["price", "quality"]},
        {"sentiment": "negative", "topics": ["price"]},
    ),
    (
        {"sentiment": ["neutral"], "topics": []},
        {"sentiment": "positive", "topics": []},
        None,
    ),
]


def record_classifier_run(ledger: Ledger) -> str:
    """A completed classifier run of both models on a sandbox, as the runner records it."""
    # What run_params reads of ClassifierData and ClassifierOptions.
    data = SimpleNamespace(targets=[Target.from_json(t) for t in TARGETS])
    options = SimpleNamespace(models=(CLASSIFIER, CHAT))

    run = ledger.create_eval_run(
        data_path="/data/reviews.test.jsonl",
        data_hash="ab" * 32,
        models=[CLASSIFIER, CHAT],
        backends=[Backend(url=SANDBOX, sandbox=True)] * 2,
        params=run_params(data, options),  # type: ignore[arg-type]
        status="completed",
        now=START,
    )
    writes = []
    for index, (truth, tuned, chat) in enumerate(ITEMS):
        for model, picked in ((CLASSIFIER, tuned), (CHAT, chat)):
            scores = {"kind": "classifier", "line": index + 1, "truth": truth}
            scores["predicted"] = picked or {"sentiment": None, "topics": None}
            writes.append(
                EvalItemWrite(
                    run.run_id,
                    index,
                    model,
                    f"{index:064x}",
                    scores=scores,
                    error=None if picked else "HTTP 500 after 3 attempts",
                )
            )
    ledger.record_eval_items(writes, now=START)
    return run.run_id


async def test_a_classifier_run_shows_its_metrics_and_simulated_note(
    make_tui: AppFactory, ledger: Ledger
) -> None:
    run_id = record_classifier_run(ledger)
    app = make_tui(mode="evaluate", probe=False, self_poll=False)
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, EvaluateScreen) and app.screen.shown)
        screen = app.screen
        assert isinstance(screen, EvaluateScreen)
        assert screen.classifier_report is not None and screen.report is None
        assert not screen.query_one("#eval-items", DataTable).display
        head = plain(screen.query_one("#eval-summary", Static).content, width=200)
        body = plain(screen.query_one("#eval-classifier-body", Static).content, width=120)

    assert "SIMULATED" in head and "classifier scores are stand-ins" in head
    assert f"run {run_id}" in head and "4 items" in head
    assert f"classifier: {CLASSIFIER}" in head
    assert f"chat: {CHAT}  (1 failed, counted unanswered)" in head
    assert "target sentiment (single-label)" in body and "target topics (multi-label)" in body
    lines = body.splitlines()
    sentiment = lines[: next(i for i, line in enumerate(lines) if "target topics" in line)]
    # Accuracy: the classifier 3 of 4, the chat model 2 of 4 (item 3 unanswered).
    assert row(sentiment, "accuracy") == ["75.0%", "50.0%"]
    # positive: the classifier picked it on items 0, 1, 3 (2 right), both true ones found;
    # the chat model picked it once (right), and found 1 of the 2.
    assert row(sentiment, "positive (2)") == ["66.7%", "100.0%", "100.0%", "50.0%"]
    assert row(sentiment, "neutral (1)") == ["0.0%", "0.0%", "0.0%", "0.0%"]
    # The classifier's confusion matrix: the neutral item went to positive.
    matrix = sentiment[next(i for i, line in enumerate(sentiment) if "true ↓" in line) :]
    assert "classifier" in matrix[0]
    assert row(matrix, "neutral") == ["0", "0", "1", "0"]
    assert row(matrix, "positive") == ["0", "0", "2", "0"]


def row(lines: list[str], label: str) -> list[str]:
    """The cells after ``label`` on the first line that starts with it."""
    for line in lines:
        if line.strip().startswith(label):
            return line.strip()[len(label) :].split()
    raise AssertionError(f"no line {label!r} in {lines}")


def test_labels_and_names_from_data_are_shown_inert(ledger: Ledger) -> None:
    hostile = "[red]pos[/red]\x1b[2J"
    targets = [{"name": "mood\x07", "labels": ["neg", hostile], "multi": False}]
    data = SimpleNamespace(targets=[Target.from_json(t) for t in targets])
    run = ledger.create_eval_run(
        data_path="/data/r.jsonl",
        data_hash="cd" * 32,
        models=[CLASSIFIER],
        backends=[Backend(url=SANDBOX, sandbox=True)],
        params=run_params(data, SimpleNamespace(models=(CLASSIFIER,))),  # type: ignore[arg-type]
        status="completed",
        now=START,
    )
    scores = {"kind": "classifier", "truth": {"mood\x07": [hostile]}}
    scores["predicted"] = {"mood\x07": hostile}
    ledger.record_eval_items(
        [EvalItemWrite(run.run_id, 0, CLASSIFIER, "0" * 64, scores=scores)], now=START
    )
    report = load_classifier_report(ledger, ledger.get_eval_run(run.run_id))  # type: ignore[arg-type]

    shown = plain(classifier_body(report), width=160)

    assert "[red]pos[/red]" in shown  # as written, not red
    assert "\x1b" not in shown and "\x07" not in shown
