"""Hostile input through the CLI: huge numbers, over-budget specs, duplicates, odd ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.jobs.flow_support import support_split, write_spec
from tuner.sandbox import SandboxHandle

from .conftest import API_KEY, data, run

HUGE_STEPS = 99_999_999_999_999_999


def huge_spec(folder: Path, *, extra: str = "") -> Path:
    support_split(folder)
    return write_spec(
        folder / "huge.toml",
        f"""
model = "open-mistral-7b"
suffix = "huge"
training_files = [{{ path = "train.jsonl" }}]
{extra}
[hyperparameters]
training_steps = {HUGE_STEPS}
""",
    )


def server_jobs(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    response = httpx.get(f"{sandbox.url}/v1/fine_tuning/jobs", headers=headers)
    jobs: list[dict[str, Any]] = response.json()["data"]
    return jobs


def create_directly(sandbox: SandboxHandle, folder: Path, steps: int) -> str:
    """A job made on the server by another client (no budget check of ours in the way)."""
    support_split(folder)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=sandbox.url, headers=headers) as client:
        content = (folder / "train.jsonl").read_bytes()
        uploaded = client.post(
            "/v1/files", files={"file": ("t.jsonl", content)}, data={"purpose": "fine-tune"}
        )
        body = {
            "model": "open-mistral-7b",
            "hyperparameters": {"training_steps": steps},
            "training_files": [{"file_id": uploaded.json()["id"], "weight": 1}],
            "auto_start": False,
        }
        created = client.post("/v1/fine_tuning/jobs", json=body)
        assert created.status_code == 200, created.text
        job_id: str = created.json()["id"]
    sandbox.advance(60)  # validated: the metadata (train_tokens > 2**64) is there
    return job_id


def test_huge_server_numbers_do_not_break_json(env: SandboxHandle, tmp_path: Path) -> None:
    job_id = create_directly(env, tmp_path, HUGE_STEPS)

    listed = run("jobs", "list", "--json")
    assert listed.exit_code == 0, listed.output
    [row] = data(listed)
    assert row["hyperparameters"]["training_steps"] == HUGE_STEPS
    assert row["metadata"]["train_tokens"] > 2**64  # exact, as the server sent it

    shown = run("jobs", "show", job_id, "--json")
    assert shown.exit_code == 0, shown.output
    assert data(shown)["hyperparameters"]["training_steps"] == HUGE_STEPS
    assert run("jobs", "show", job_id).exit_code == 0
    assert run("jobs", "list").exit_code == 0


def test_an_over_budget_spec_is_refused_before_anything_is_created(
    env: SandboxHandle, tmp_path: Path
) -> None:
    spec = str(huge_spec(tmp_path))
    for _ in range(2):  # and again: the same refusal, never a 409
        refused = run("jobs", "create", spec, "--yes", "--max-cost", "10", "-q")
        assert refused.exit_code == 1, refused.output
        assert "over the budget of 10.00" in refused.stderr
        assert "Nothing was uploaded or created" in refused.stderr
        assert "409" not in refused.output
        assert server_jobs(env) == []
    files = httpx.get(f"{env.url}/v1/files", headers={"Authorization": f"Bearer {API_KEY}"})
    assert files.json()["data"] == []


def test_running_a_spec_again_says_what_to_do_with_the_first_job(
    env: SandboxHandle, tmp_path: Path
) -> None:
    spec = write_spec(
        tmp_path / "job.toml",
        """
model = "open-mistral-7b"
suffix = "again"
auto_start = false
training_files = [{ path = "train.jsonl" }]
[hyperparameters]
training_steps = 10
""",
    )
    support_split(tmp_path)
    first = run("jobs", "create", str(spec), "--yes", "-q")
    assert first.exit_code == 0, first.output
    again = run("jobs", "create", str(spec), "--yes", "-q")
    assert again.exit_code == 1
    assert "tuner jobs start ID" in again.stderr and "tuner jobs cancel ID" in again.stderr
    assert len(server_jobs(env)) == 1
