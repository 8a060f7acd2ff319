"""The ``job_fail`` fault: a seeded share of jobs fails mid-run with an error (manual clock)."""

from __future__ import annotations

from typing import Any

import pytest

from tuner.sandbox import SandboxHandle
from tuner.sandbox.faults import FaultSpecError, JobFate, parse_faults

from .conftest import StartSandbox, make_client
from .support import create_job, job, training_data, upload_ok

STEPS = 100
# Long enough for any job of STEPS steps to end, failed or not.
WHOLE_RUN = 3600.0


def _run_jobs(handle: SandboxHandle, count: int) -> list[dict[str, Any]]:
    """Create ``count`` auto-started jobs, run the clock past their end, return their details."""
    with make_client(handle.url) as client:
        ids = []
        for index in range(count):
            file_id = upload_ok(client, training_data(prefix=f"{index} "), f"t{index}.jsonl")
            response = create_job(
                client,
                file_id,
                auto_start=True,
                hyperparameters={"training_steps": STEPS},
            )
            assert response.status_code == 200, response.text
            ids.append(response.json()["id"])
        handle.advance(WHOLE_RUN)
        return [job(client, job_id) for job_id in ids]


def test_a_share_of_jobs_fails_mid_run_with_an_error(start_sandbox: StartSandbox) -> None:
    details = _run_jobs(start_sandbox(faults="job_fail=0.5", seed=3), 12)
    failed = [d for d in details if d["status"] == "FAILED"]
    succeeded = [d for d in details if d["status"] == "SUCCESS"]
    assert failed and succeeded
    assert len(failed) + len(succeeded) == len(details)
    for detail in failed:
        statuses = [event["data"]["status"] for event in detail["events"]]
        # It ran before failing, and failing is its last word.
        assert statuses[-2:] == ["RUNNING", "FAILED"]
        error = detail["events"][-1]["data"]["error"]
        assert error.startswith("Training failed at step ")
        assert "job_fail" in error
        step = int(error.split()[4])
        assert 0 < step < STEPS
        # Checkpoints up to the failure, none after; no model.
        assert detail["checkpoints"], "a job failing after 30 % of 100 steps saved checkpoints"
        assert all(c["step_number"] <= step for c in detail["checkpoints"])
        assert detail["fine_tuned_model"] is None
    for detail in succeeded:
        assert "error" not in detail["events"][-1]["data"]
        assert detail["fine_tuned_model"] is not None


def test_the_failure_happens_while_running(start_sandbox: StartSandbox) -> None:
    handle = start_sandbox(faults="job_fail=1.0")
    with make_client(handle.url) as client:
        file_id = upload_ok(client, training_data())
        created = create_job(
            client, file_id, auto_start=True, hyperparameters={"training_steps": STEPS}
        )
        job_id = created.json()["id"]
        seen = []
        for _ in range(400):
            status = job(client, job_id)["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == "FAILED":
                break
            handle.advance(10)
        assert seen[-2:] == ["RUNNING", "FAILED"]
        assert "SUCCESS" not in seen
        # Listed as FAILED too, and the status filter finds it.
        listed = client.get("/v1/fine_tuning/jobs", params={"status": "FAILED"}).json()
        assert [j["id"] for j in listed["data"]] == [job_id]


def test_the_same_seed_fails_the_same_jobs(start_sandbox: StartSandbox, tmp_path: Any) -> None:
    first = _run_jobs(start_sandbox(faults="job_fail=0.4", seed=11, data_dir=tmp_path / "a"), 8)
    again = _run_jobs(start_sandbox(faults="job_fail=0.4", seed=11, data_dir=tmp_path / "b"), 8)
    assert [d["status"] for d in first] == [d["status"] for d in again]
    other = _run_jobs(start_sandbox(faults="job_fail=0.4", seed=12, data_dir=tmp_path / "c"), 8)
    assert [d["status"] for d in first] != [d["status"] for d in other]


def test_no_fault_no_failure(sandbox: SandboxHandle) -> None:
    assert {d["status"] for d in _run_jobs(sandbox, 4)} == {"SUCCESS"}


def test_job_fail_parses_beside_the_other_faults() -> None:
    plan = parse_faults("429=0.2,job_fail=0.3")
    assert plan.job_fail == 0.3
    assert plan.statuses == ((429, 0.2),)
    # Not a per-request fault: it does not count towards their total.
    assert parse_faults("500=0.9,job_fail=0.9").job_fail == 0.9
    assert parse_faults("job_fail=0.5").empty
    for bad in ("job_fail=2", "job_fail=x"):
        with pytest.raises(FaultSpecError):
            parse_faults(bad)
    fate = JobFate(0.0, seed=1)
    assert {fate.fail_fraction() for _ in range(20)} == {None}
