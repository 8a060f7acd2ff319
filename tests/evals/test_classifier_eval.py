"""``tuner eval run`` on classifier data, against a sandbox classifier and a chat model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tuner.cli.main import app
from tuner.evals.classifier_run import Target, parse_choice
from tuner.sandbox import ManualClock, SandboxHandle, start_in_thread

from .support import API_KEY, START

REPO = Path(__file__).resolve().parents[2]
TRAIN = REPO / "examples" / "data" / "reviews.train.jsonl"
HELD_OUT = REPO / "examples" / "data" / "reviews.eval.jsonl"
TARGETS = [
    {"name": "sentiment", "labels": ["negative", "neutral", "positive"]},
    {
        "name": "topics",
        "labels": ["app", "delivery", "quality", "support"],
        "loss_function": "multi_class",
    },
]


@pytest.fixture(scope="module")
def classifier(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SandboxHandle, str]]:
    root = tmp_path_factory.mktemp("classifier")
    handle = start_in_thread(root / "sandbox", port=0, clock=ManualClock(START))
    headers = {"Authorization": f"Bearer {API_KEY}"}
    try:
        with httpx.Client(base_url=handle.url, headers=headers, timeout=30) as http:
            uploaded = http.post(
                "/v1/files",
                files={"file": (TRAIN.name, TRAIN.read_bytes())},
                data={"purpose": "fine-tune"},
            )
            assert uploaded.status_code == 200, uploaded.text
            body = {
                "model": "ministral-3b-latest",
                "job_type": "classifier",
                "classifier_targets": TARGETS,
                "hyperparameters": {"training_steps": 10},
                "training_files": [{"file_id": uploaded.json()["id"]}],
                "auto_start": True,
            }
            created = http.post("/v1/fine_tuning/jobs", json=body)
            assert created.status_code == 200, created.text
            handle.advance(2000)
            job = http.get(f"/v1/fine_tuning/jobs/{created.json()['id']}").json()
        assert job["status"] == "SUCCESS", job
        yield handle, str(job["fine_tuned_model"])
    finally:
        handle.stop()


@pytest.fixture
def cli(
    classifier: tuple[SandboxHandle, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TUNER_API_URL", classifier[0].url)
    monkeypatch.setenv("MISTRAL_API_KEY", API_KEY)
    monkeypatch.setenv("TUNER_DB", str(tmp_path / "ledger.db"))
    monkeypatch.delenv("TUNER_API_KEYS", raising=False)
    return CliRunner()


def run(cli: CliRunner, *args: str) -> Any:
    return cli.invoke(app, ["eval", "run", *args], catch_exceptions=False)


def test_classifier_eval_json_html_and_terminal(
    cli: CliRunner, classifier: tuple[SandboxHandle, str], tmp_path: Path
) -> None:
    model = classifier[1]
    page = tmp_path / "report.html"
    args = ["--data", str(TRAIN), "--model", model, "--baseline", "ministral-3b-latest"]
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

    shown = run(cli, "--data", str(HELD_OUT), "--model", model)
    assert shown.exit_code == 0, shown.output
    assert "SIMULATED" in shown.stdout
    assert "accuracy" in shown.stdout and "confusion" in shown.stdout


def test_a_model_that_cannot_classify_fails_every_item(cli: CliRunner) -> None:
    result = run(cli, "--data", str(HELD_OUT), "--model", "ministral-3b-latest", "--json")
    assert result.exit_code == 4
    report = json.loads(result.stdout)
    assert report["results"][0]["failed_requests"] == 1
    assert report["results"][0]["targets"][0]["accuracy"] == 0.0


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
