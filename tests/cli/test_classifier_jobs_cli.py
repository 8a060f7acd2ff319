"""``tuner jobs show`` shows a classifier job's targets from the server's job object, so a job
created elsewhere (its spec unknown to the ledger) shows them too, in text and ``--json``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tuner.jobs.detail import load_job_detail
from tuner.jobs.ledger import open_ledger
from tuner.sandbox import SandboxHandle

from .conftest import API_KEY, data, run

REVIEWS = Path(__file__).resolve().parents[2] / "examples" / "data" / "reviews.train.jsonl"
# A label that tries to move the cursor and recolour the terminal: it must be shown inert.
HOSTILE = "bad\x1b[2J\x1b[31m"


def create_elsewhere(sandbox: SandboxHandle) -> str:
    """A classifier job made straight through the API, as another tool would make it."""
    lines = REVIEWS.read_text(encoding="utf-8").splitlines()
    hostile = {"text": "Screen wiped", "labels": {"sentiment": HOSTILE, "topics": ["app"]}}
    lines.append(json.dumps(hostile))
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=30) as http:
        uploaded = http.post(
            "/v1/files",
            files={"file": ("reviews.jsonl", "\n".join(lines).encode() + b"\n")},
            data={"purpose": "fine-tune"},
        )
        assert uploaded.status_code == 200, uploaded.text
        body = {
            "model": "ministral-3b-latest",
            "job_type": "classifier",
            "classifier_targets": [
                {"name": "sentiment", "labels": ["negative", "neutral", "positive", HOSTILE]},
                {
                    "name": "topics",
                    "labels": ["app", "delivery", "quality", "support"],
                    "weight": 0.5,
                    "loss_function": "multi_class",
                },
            ],
            "hyperparameters": {"training_steps": 10},
            "training_files": [{"file_id": uploaded.json()["id"]}],
        }
        created = http.post("/v1/fine_tuning/jobs", json=body)
        assert created.status_code == 200, created.text
        return str(created.json()["id"])


def test_a_job_created_elsewhere_shows_its_targets(env: SandboxHandle) -> None:
    job_id = create_elsewhere(env)

    shown = run("jobs", "show", job_id, "--json")
    assert shown.exit_code == 0, shown.output
    view = data(shown)
    assert view["spec"] is None  # the ledger never saw the request
    assert view["classifier_targets_source"] == "server"
    sentiment, topics = view["classifier_targets"]
    assert sentiment["name"] == "sentiment"
    assert sentiment["labels"] == ["negative", "neutral", "positive", HOSTILE]
    assert (topics["name"], topics["weight"], topics["loss_function"]) == (
        "topics",
        0.5,
        "multi_class",
    )

    text = run("jobs", "show", job_id)
    assert text.exit_code == 0, text.output
    target_lines = [line for line in text.stdout.splitlines() if line.strip().startswith("target")]
    assert len(target_lines) == 2
    assert (
        '"topics" (multi_class, weight 0.5): "app", "delivery", "quality", "support"'
        in (target_lines[1])
    )
    # A loss function the server did not report is not made up.
    loss = sentiment["loss_function"]
    assert f"({loss or 'loss function: server default'}, weight 1.0)" in target_lines[0]
    assert "as tuner sent it" not in text.stdout
    assert "\x1b" not in text.stdout  # the hostile label is shown inert


def test_a_listing_keeps_the_targets_a_detailed_answer_gave(
    env: SandboxHandle, tmp_path: Path
) -> None:
    # Only the detailed job object (GET) carries the targets; `jobs list` records the list's
    # objects, which do not, and must not erase them: the dashboard reads the ledger alone.
    job_id = create_elsewhere(env)
    assert run("jobs", "show", job_id, "--json").exit_code == 0
    listed = run("jobs", "list", "--json")
    assert listed.exit_code == 0, listed.output
    [row] = data(listed)
    assert row["id"] == job_id
    ledger = open_ledger(str(tmp_path / "ledger.db"))
    try:
        detail = load_job_detail(ledger, job_id)
    finally:
        ledger.close()
    assert detail is not None and detail.job.spec is None
    assert detail.classifier_targets_source == "server"
    assert [t["name"] for t in detail.classifier_targets()] == ["sentiment", "topics"]


def test_a_target_without_a_loss_function_says_the_server_decides() -> None:
    from tuner.cli.jobs import _target_line

    line = _target_line({"name": "sentiment", "labels": ["a", "b"], "weight": 1.0})
    assert line == '"sentiment" (loss function: server default, weight 1.0): "a", "b"'
