"""Classifier jobs from a spec: parsing, labels derived from the data, and the orchestrator
against a real sandbox through to a SUCCESS recorded in the ledger, with targets shown."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest

from tuner.api import TunerClient
from tuner.jobs.detail import load_job_detail
from tuner.jobs.ledger import Ledger
from tuner.jobs.orchestrator import Orchestrator, Plan
from tuner.jobs.spec import SpecError, load_spec, parse_spec
from tuner.sandbox import SandboxHandle

from .flow_support import (
    REPO,
    advancing_sleep,
    sandbox_clock,
    server_files,
    server_jobs,
    write_spec,
)
from .test_orchestrator import run_until_terminal

EXAMPLE = REPO / "examples" / "jobs" / "classifier.toml"


def _spec(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model": "ministral-3b-latest",
        "job_type": "classifier",
        "training_files": [{"file_id": "f"}],
        "classifier_targets": [{"name": "t", "labels": ["a", "b"]}],
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"classifier_targets": []}, "needs at least one"),
        ({"classifier_targets": [{"name": "t"}, {"name": "t"}]}, "repeat"),
        ({"job_type": "completion"}, 'only for job_type = "classifier"'),
        ({"hyperparameters": {"fim_ratio": 0.5}}, "fim_ratio"),
        ({"classifier_targets": [{"name": "t", "loss_function": "x"}]}, "loss_function"),
    ],
)
def test_bad_classifier_specs(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(_spec(**fields), base_dir=Path())


def test_the_example_derives_labels_and_loss_from_the_data() -> None:
    job = load_spec(EXAMPLE).job
    assert job.is_classifier
    assert job.label_sets() == {"sentiment": ["positive", "negative", "neutral"]}
    targets = [t.to_body() for t in job.resolved_targets()]
    assert targets == [
        {
            "name": "sentiment",
            "labels": ["positive", "negative", "neutral"],
            "loss_function": "single_class",
        },
        {
            "name": "topics",
            "labels": ["app", "delivery", "quality", "support"],
            "loss_function": "multi_class",
            "weight": 0.5,
        },
    ]


def test_labels_cannot_come_from_remote_data() -> None:
    spec = parse_spec(_spec(classifier_targets=[{"name": "t"}]), base_dir=Path())
    with pytest.raises(SpecError, match="no local training file"):
        spec.job.resolved_targets()


@pytest.fixture
def orchestrator(client: TunerClient, ledger: Ledger, sandbox: SandboxHandle) -> Orchestrator:
    plans: list[Plan] = []

    def confirm(plan: Plan) -> bool:
        plans.append(plan)
        return True

    return Orchestrator(
        client,
        ledger,
        clock=sandbox_clock(sandbox),
        sleep=advancing_sleep(sandbox),
        confirm=confirm,
        poll_interval=5.0,
        validate_workers=1,
    )


def _copy_example(folder: Path) -> Path:
    data = folder / "data"
    data.mkdir()
    for name in ("reviews.train.jsonl", "reviews.eval.jsonl"):
        shutil.copy(REPO / "examples" / "data" / name, data / name)
    jobs = folder / "jobs"
    jobs.mkdir()
    return Path(shutil.copy(EXAMPLE, jobs / "classifier.toml"))


@pytest.mark.anyio
async def test_a_classifier_spec_runs_to_success(
    tmp_path: Path, orchestrator: Orchestrator, ledger: Ledger, sandbox: SandboxHandle
) -> None:
    result = await orchestrator.create(load_spec(_copy_example(tmp_path)))
    assert result.outcome == "started", result.message
    [job] = result.jobs
    assert job.job_type == "classifier"

    await run_until_terminal(orchestrator, sandbox)

    record = ledger.get_job(job.id)
    assert record is not None and record.status == "SUCCESS"
    assert record.job_type == "classifier"
    assert record.fine_tuned_model and record.fine_tuned_model.startswith(
        "ft:classifier:ministral-3b-latest:"
    )
    detail = load_job_detail(ledger, job.id)
    assert detail is not None
    shown = detail.to_dict()["classifier_targets"]
    assert [(t["name"], t["loss_function"]) for t in shown] == [
        ("sentiment", "single_class"),
        ("topics", "multi_class"),
    ]
    assert detail.to_dict()["classifier_targets_source"] == "server"
    # Without the server's targets (a snapshot from before they were reported), the spec's.
    snapshot = {k: v for k, v in detail.job.last_snapshot.items() if k != "classifier_targets"}
    from_spec = dataclasses.replace(
        detail, job=detail.job.model_copy(update={"last_snapshot": snapshot})
    )
    assert from_spec.classifier_targets_source == "spec"
    # The same targets; the weight the spec left out is shown as the API's default, 1.0.
    sent = from_spec.classifier_targets()
    assert [t["weight"] for t in sent] == [1.0, 0.5]
    assert [(t["name"], t["labels"], t["loss_function"]) for t in sent] == [
        (t["name"], t["labels"], t["loss_function"]) for t in shown
    ]
    server = await orchestrator.client.jobs.get(job.id)
    assert [t.name for t in server.classifier_targets] == ["sentiment", "topics"]
    scores = await orchestrator.client.classifiers.classify(
        model=record.fine_tuned_model, inputs=["The app crashes when I open the schedule page"]
    )
    sentiment = scores.results[0]["sentiment"].scores
    assert max(sentiment, key=lambda label: sentiment[label]) == "negative"


@pytest.mark.anyio
async def test_classifier_data_in_a_completion_spec_is_refused(
    tmp_path: Path, orchestrator: Orchestrator, sandbox: SandboxHandle
) -> None:
    shutil.copy(REPO / "examples" / "data" / "reviews.train.jsonl", tmp_path / "train.jsonl")
    spec = write_spec(
        tmp_path / "job.toml",
        'model = "ministral-3b-latest"\ntraining_files = ["train.jsonl"]\n'
        "[hyperparameters]\ntraining_steps = 5\n",
    )
    with pytest.raises(SpecError, match="classifier data"):
        await orchestrator.create(load_spec(spec))


@pytest.mark.anyio
async def test_a_model_that_cannot_classify_is_refused(
    tmp_path: Path, orchestrator: Orchestrator
) -> None:
    path = _copy_example(tmp_path)
    path.write_text(path.read_text().replace("ministral-3b-latest", "open-mistral-7b"))
    with pytest.raises(SpecError, match=r"capabilities\.classification"):
        await orchestrator.create(load_spec(path))


@pytest.mark.anyio
async def test_dry_run_shows_server_figures_once_the_files_are_uploaded(
    tmp_path: Path, orchestrator: Orchestrator, sandbox: SandboxHandle
) -> None:
    spec = load_spec(_copy_example(tmp_path))
    before = await orchestrator.create(spec, dry_run=True)
    assert before.outcome == "dry_run"
    assert before.plan.jobs[0].server_source is None
    assert before.message is not None and "local estimate only" in before.message
    assert server_jobs(sandbox) == [] and server_files(sandbox) == []

    for path in spec.job.local_paths():
        await orchestrator.upload(path)
    after = await orchestrator.create(spec, dry_run=True)
    [job] = after.plan.jobs
    assert job.server_source == "server dry run"
    assert job.metadata is not None
    assert job.metadata["train_tokens"] == 10 * 65_536
    assert job.metadata["training_steps"] == 10
    assert job.to_dict()["server_source"] == "server dry run"
    assert after.message is not None and "dry run" in after.message
    assert server_jobs(sandbox) == []  # a dry run creates nothing
