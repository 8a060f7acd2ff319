"""A job that fails mid-run (the sandbox's ``job_fail`` fault), as the CLI reports it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tuner.sandbox import SandboxHandle

from .conftest import data, run
from .test_jobs_cli import support_spec


@pytest.fixture
def sandbox(start_sandbox: Callable[..., SandboxHandle]) -> SandboxHandle:
    """Every job this sandbox creates fails while RUNNING."""
    return start_sandbox(faults="job_fail=1.0")


def test_a_run_time_failure_is_reported_with_its_reason(env: SandboxHandle, tmp_path: Path) -> None:
    created = run("jobs", "create", str(support_spec(tmp_path)), "--yes", "--json", "-q")
    assert created.exit_code == 0, created.output
    [job] = data(created)

    watched = run("jobs", "watch", job["id"], "--interval", "10")
    assert watched.exit_code == 1
    assert "RUNNING" in watched.stdout  # it ran before it failed
    assert f"job {job['id']} is FAILED: Training failed at step" in watched.stderr

    view = data(run("jobs", "show", job["id"], "--json"))
    assert [t["to"] for t in view["transitions"]][-2:] == ["RUNNING", "FAILED"]
    assert view["fine_tuned_model"] is None
    assert "Training failed at step" in view["events"][-1]["data"]["error"]
