"""The orchestrator against a real sandbox: spec → validate → upload → VALIDATED → cost → start →
cycles → SUCCESS, with every step in the ledger. Time is the sandbox's manual clock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tuner.api import TunerClient
from tuner.jobs.ledger import Ledger
from tuner.jobs.orchestrator import Orchestrator, Plan, hash_file
from tuner.jobs.spec import SpecError, load_spec
from tuner.sandbox import SandboxHandle

from .flow_support import (
    REPO,
    advancing_sleep,
    sandbox_clock,
    server_files,
    server_jobs,
    small_training,
    support_split,
    write_spec,
)

MakeOrchestrator = Callable[..., Orchestrator]


@pytest.fixture
def plans() -> list[Plan]:
    return []


@pytest.fixture
def orchestrator(
    client: TunerClient, ledger: Ledger, sandbox: SandboxHandle, plans: list[Plan]
) -> MakeOrchestrator:
    def make(*, answer: bool = True, **options: Any) -> Orchestrator:
        def confirm(plan: Plan) -> bool:
            plans.append(plan)
            return answer

        options.setdefault("poll_interval", 5.0)
        options.setdefault("validate_workers", 1)
        return Orchestrator(
            client,
            ledger,
            clock=sandbox_clock(sandbox),
            sleep=advancing_sleep(sandbox),
            confirm=confirm,
            **options,
        )

    return make


def support_spec(folder: Path, *, extra: str = "", steps: int = 10) -> Path:
    support_split(folder)
    return write_spec(
        folder / "job.toml",
        f"""
model = "open-mistral-7b"
suffix = "support-v1"
training_files = [{{ path = "train.jsonl", weight = 1.0 }}]
validation_files = ["eval.jsonl"]
{extra}
[hyperparameters]
training_steps = {steps}
learning_rate = 1e-4
""",
    )


async def run_until_terminal(
    orchestrator: Orchestrator, sandbox: SandboxHandle, *, step: float = 5.0, limit: int = 400
) -> None:
    """Daemon-like cycles: the clock moves a little, the queue cycle refreshes active jobs."""
    for _ in range(limit):
        await orchestrator.cycle()
        active = await orchestrator.submitter.active_jobs()
        if active == [] and not orchestrator.ledger.entries_in_state("pending"):
            return
        sandbox.advance(step)
    raise AssertionError("jobs did not finish")


@pytest.mark.anyio
async def test_spec_to_success_with_every_step_in_the_ledger(
    tmp_path: Path,
    orchestrator: MakeOrchestrator,
    ledger: Ledger,
    sandbox: SandboxHandle,
    plans: list[Plan],
) -> None:
    spec = load_spec(support_spec(tmp_path))
    orch = orchestrator()

    result = await orch.create(spec)

    assert result.outcome == "started", result.message
    assert result.report is not None and result.report.ok
    # The cost was shown once, after validation: local estimate beside the server's metadata.
    [plan] = plans
    assert plan.stage == "validated"
    [job_plan] = plan.jobs
    assert job_plan.estimate is not None and job_plan.metadata is not None
    rows = {row.field: row for row in job_plan.comparison}
    assert rows["train_tokens"].server == rows["train_tokens"].local == 10 * 131_072
    assert rows["data_tokens"].server == rows["data_tokens"].local
    assert rows["cost"].server == pytest.approx(rows["cost"].local)
    [job] = result.jobs
    assert job.status == "QUEUED" and job.suffix == "support-v1"

    await run_until_terminal(orch, sandbox)

    record = ledger.get_job(job.id)
    assert record is not None and record.status == "SUCCESS"
    assert record.fine_tuned_model and record.fine_tuned_model.startswith("ft:open-mistral-7b:")
    path = [(t.from_status, t.to_status) for t in ledger.transitions(job.id)]
    assert path == [
        (None, "QUEUED"),
        ("QUEUED", "VALIDATING"),
        ("VALIDATING", "VALIDATED"),
        ("VALIDATED", "QUEUED"),
        ("QUEUED", "RUNNING"),
        ("RUNNING", "SUCCESS"),
    ]
    server = await orch.client.jobs.get(job.id)
    assert sorted(c.step for c in ledger.checkpoints(job.id)) == sorted(
        c.step_number for c in server.checkpoints if c.step_number is not None
    )
    assert ledger.checkpoints(job.id)
    # Lineage: the model traces back to both local files by content hash.
    lineage = ledger.lineage_of_model(record.fine_tuned_model)
    hashes = {hash_file(tmp_path / name)[0] for name in ("train.jsonl", "eval.jsonl")}
    assert {d.content_hash for d in lineage.datasets} == hashes
    assert {f.role for f in lineage.files} == {"training", "validation"}


@pytest.mark.anyio
async def test_each_file_is_uploaded_once(
    tmp_path: Path, orchestrator: MakeOrchestrator, sandbox: SandboxHandle
) -> None:
    orch = orchestrator()
    train = small_training(tmp_path / "train.jsonl")

    first = await orch.upload(train)
    again = await orch.upload(train)

    assert not first.reused and again.reused and again.file_id == first.file_id
    assert len(server_files(sandbox)) == 1
    # Deleted on the server: the ledger's memory is checked, and the file is sent again.
    await orch.client.files.delete(first.file_id)
    third = await orch.upload(train)
    assert not third.reused and third.file_id != first.file_id
    assert len(server_files(sandbox)) == 1


@pytest.mark.anyio
async def test_bad_data_stops_before_anything_is_uploaded(
    tmp_path: Path, orchestrator: MakeOrchestrator, sandbox: SandboxHandle
) -> None:
    broken = REPO / "examples" / "data" / "broken.jsonl"
    spec = write_spec(
        tmp_path / "job.toml",
        f'model = "open-mistral-7b"\ntraining_files = ["{broken}"]\n'
        "[hyperparameters]\ntraining_steps = 10\n",
    )

    result = await orchestrator().create(load_spec(spec))

    assert result.outcome == "invalid"
    assert result.report is not None and not result.report.ok
    assert server_files(sandbox) == [] and server_jobs(sandbox) == []


@pytest.mark.anyio
async def test_an_oversized_validation_file_is_refused_locally(
    tmp_path: Path, orchestrator: MakeOrchestrator, sandbox: SandboxHandle
) -> None:
    support_split(tmp_path, eval_lines=120)  # far over 5 % of the training data
    spec = write_spec(
        tmp_path / "job.toml",
        'model = "open-mistral-7b"\ntraining_files = ["train.jsonl"]\n'
        'validation_files = ["eval.jsonl"]\n',
    )

    result = await orchestrator().create(load_spec(spec))

    assert result.outcome == "invalid"
    assert result.report is not None
    assert "eval_file_too_large" in result.report.by_code()
    assert server_files(sandbox) == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("model", "message"), [("mistral-embed", "cannot be fine-tuned"), ("gpt-9", "not offered")]
)
async def test_the_model_must_be_fine_tunable(
    tmp_path: Path, orchestrator: MakeOrchestrator, sandbox: SandboxHandle, model: str, message: str
) -> None:
    small_training(tmp_path / "train.jsonl")
    spec = write_spec(
        tmp_path / "job.toml", f'model = "{model}"\ntraining_files = ["train.jsonl"]\n'
    )

    with pytest.raises(SpecError, match=message):
        await orchestrator().create(load_spec(spec))
    assert server_files(sandbox) == []


@pytest.mark.anyio
async def test_dry_run_estimates_without_the_api(
    tmp_path: Path, orchestrator: MakeOrchestrator, sandbox: SandboxHandle, plans: list[Plan]
) -> None:
    result = await orchestrator().create(load_spec(support_spec(tmp_path)), dry_run=True)

    assert result.outcome == "dry_run" and result.jobs == []
    [job_plan] = result.plan.jobs
    assert job_plan.estimate is not None and job_plan.estimate.training_steps == 10
    assert result.plan.to_dict()["jobs"][0]["estimate"]["is_estimate"] is True
    assert plans == [] and server_files(sandbox) == []


@pytest.mark.anyio
async def test_auto_start_false_leaves_the_job_validated(
    tmp_path: Path, orchestrator: MakeOrchestrator, ledger: Ledger, plans: list[Plan]
) -> None:
    spec = load_spec(support_spec(tmp_path, extra="auto_start = false"))

    result = await orchestrator().create(spec)

    assert result.outcome == "validated" and plans == []
    [job] = result.jobs
    assert job.status == "VALIDATED" and job.metadata is not None
    # Parked: it does not hold a place in the queue's concurrency limit.
    assert await orchestrator().submitter.active_jobs() == []
    record = ledger.get_job(job.id)
    assert record is not None and record.status == "VALIDATED"


@pytest.mark.anyio
async def test_declining_leaves_the_job_validated_and_over_budget_creates_nothing(
    tmp_path: Path, orchestrator: MakeOrchestrator, sandbox: SandboxHandle, plans: list[Plan]
) -> None:
    declined = await orchestrator(answer=False).create(load_spec(support_spec(tmp_path)))
    assert declined.outcome == "declined" and len(plans) == 1
    assert declined.jobs[0].status == "VALIDATED"

    other = tmp_path / "other"
    other.mkdir()
    spec = load_spec(support_spec(other, steps=50))
    refused = await orchestrator().create(spec, max_cost=5.0)  # 50 steps cost about $13

    assert refused.outcome == "over_budget"
    assert refused.message is not None and "over the budget of 5.00" in refused.message
    assert len(plans) == 1  # never asked
    # The local estimate was already over: the job was never created (only the declined one
    # exists), so running the spec again meets the same refusal, not a duplicate.
    listed = await orchestrator().client.jobs.list().to_list()
    assert [j.status for j in listed] == ["VALIDATED"]
    again = await orchestrator().create(spec, max_cost=5.0)
    assert again.outcome == "over_budget" and not again.jobs
    assert len(await orchestrator().client.jobs.list().to_list()) == 1


@pytest.mark.anyio
async def test_a_sweep_is_confirmed_once_and_drained_within_the_limit(
    tmp_path: Path,
    orchestrator: MakeOrchestrator,
    ledger: Ledger,
    sandbox: SandboxHandle,
    plans: list[Plan],
) -> None:
    small_training(tmp_path / "train.jsonl")
    spec = write_spec(
        tmp_path / "sweep.toml",
        """
model = "open-mistral-7b"
suffix = "sweep-test"
training_files = ["train.jsonl"]
[hyperparameters]
training_steps = 10
[sweep]
learning_rate = [1e-4, 5e-5]
training_steps = [10, 20]
""",
    )
    orch = orchestrator(max_active=2)

    result = await orch.create(load_spec(spec), max_cost=100.0)

    assert result.outcome == "submitted", result.message
    [plan] = plans
    assert len(plan.jobs) == 4 and plan.stage == "estimate"
    # 10 steps cost $2.62, billed at the $4 minimum; 20 steps cost $5.24.
    assert plan.total_cost == pytest.approx(2 * 4.0 + 2 * 5.2429)
    assert len(result.jobs) == 2 and result.queued == 2
    assert {j.status for j in result.jobs} == {"QUEUED"}  # started after validation

    await run_until_terminal(orch, sandbox, step=20.0)

    jobs = ledger.list_jobs(sweep_id=result.sweep_id)
    assert sorted(j.suffix or "" for j in jobs) == [f"sweep-test-{i}" for i in range(1, 5)]
    assert {j.status for j in jobs} == {"SUCCESS"}
    assert len(server_jobs(sandbox)) == 4 and len(server_files(sandbox)) == 1
    assert plans == [plan]  # members started later were not asked about again


@pytest.mark.anyio
async def test_a_sweep_over_the_total_budget_is_refused_before_upload(
    tmp_path: Path, orchestrator: MakeOrchestrator, sandbox: SandboxHandle, plans: list[Plan]
) -> None:
    small_training(tmp_path / "train.jsonl")
    spec = write_spec(
        tmp_path / "sweep.toml",
        'model = "open-mistral-7b"\ntraining_files = ["train.jsonl"]\n'
        "[sweep]\ntraining_steps = [10, 11, 12]\n",
    )

    result = await orchestrator().create(load_spec(spec), max_cost=10.0)

    assert result.outcome == "over_budget"
    assert result.message is not None and "3 jobs cost 12.00" in result.message
    assert plans == [] and server_files(sandbox) == []


@pytest.mark.anyio
async def test_watch_follows_a_job_to_its_end(
    tmp_path: Path, orchestrator: MakeOrchestrator, ledger: Ledger
) -> None:
    orch = orchestrator()
    result = await orch.create(load_spec(support_spec(tmp_path)))
    [job] = result.jobs

    seen = [snapshot.status async for snapshot in orch.watch(job.id, interval=10.0)]

    assert seen[-1] == "SUCCESS" and "RUNNING" in seen
    assert [t.to_status for t in ledger.transitions(job.id)][-1] == "SUCCESS"


def test_hash_file_counts_a_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"a\nb")
    digest, size, lines = hash_file(path)
    assert (size, lines) == (3, 2) and len(digest) == 64
