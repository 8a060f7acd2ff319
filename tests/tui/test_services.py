"""The dashboard runs on the core's services, as the CLI does: the same orchestrator (W&B key,
max-active limit from the settings) and the same job recording (with the key that owns a job)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.jobs.flow_support import training_bytes
from tuner.api.params import JobCreate, TrainingFile, TrainingParameters
from tuner.config import Settings
from tuner.jobs.ledger import Ledger
from tuner.sandbox import SandboxHandle
from tuner.services import Services
from tuner.tui import make_app

from .conftest import AppFactory
from .support import API_KEY, BASE_MODEL, SandboxJobs, create_from_spec, make_client, settle

pytestmark = pytest.mark.anyio

WANDB_KEY = "wandb-secret-0123456789abcdef0123456789"


def services_over(
    sandbox: SandboxHandle, ledger: Ledger, *, max_active: int = 3, environ: dict[str, str]
) -> Services:
    async def advance(seconds: float) -> None:
        sandbox.advance(seconds)

    settings = Settings.model_construct(api_url=sandbox.url, max_active_jobs=max_active)
    return Services(
        settings,
        client=make_client(sandbox),
        ledger=ledger,
        clock=lambda: int(sandbox.clock.now()),
        sleep=advance,
        environ=environ,
    )


async def test_a_wandb_spec_created_from_the_dashboard_gets_the_key_from_the_environment(
    sandbox: SandboxHandle, ledger: Ledger, jobs: SandboxJobs, tmp_path: Path
) -> None:
    data = tmp_path / "train.jsonl"
    data.write_bytes(training_bytes(tag="W&B: "))
    spec = tmp_path / "job.toml"
    spec.write_text(
        f'model = "{BASE_MODEL}"\nsuffix = "wandb-tui"\n'
        'training_files = [{ path = "train.jsonl", weight = 1.0 }]\n'
        "[hyperparameters]\ntraining_steps = 10\n"
        '[integrations.wandb]\nproject = "tui-project"\n',
        encoding="utf-8",
    )
    services = services_over(sandbox, ledger, environ={"WANDB_API_KEY": WANDB_KEY})
    app = make_app(services=services, poll_interval=None, cursor_blink=False, close_client=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1)
        await create_from_spec(pilot, spec)
        await settle(pilot, lambda: bool(app.snapshot and app.snapshot.rows))
    listed = jobs.http.get("/v1/fine_tuning/jobs").json()["data"]
    assert len(listed) == 1
    integrations = listed[0]["integrations"]
    assert integrations and integrations[0]["project"] == "tui-project"
    record = ledger.get_job(listed[0]["id"])
    assert record is not None
    assert WANDB_KEY not in str(record.spec) and WANDB_KEY not in str(record.last_snapshot)


def test_the_dashboard_orchestrator_has_the_settings_max_active_and_the_wandb_key(
    sandbox: SandboxHandle, ledger: Ledger
) -> None:
    services = services_over(sandbox, ledger, max_active=1, environ={"WANDB_API_KEY": WANDB_KEY})
    app = make_app(services=services, poll_interval=None, probe=False)
    orchestrator = app.orchestrator()
    assert orchestrator.submitter.max_active == 1
    assert orchestrator.wandb_key is not None
    assert orchestrator.wandb_key.get_secret_value() == WANDB_KEY
    without = services_over(sandbox, ledger, environ={})
    assert (
        make_app(services=without, poll_interval=None, probe=False).orchestrator().wandb_key is None
    )


async def test_jobs_the_dashboard_syncs_record_the_key_that_owns_them(
    make_tui: AppFactory, jobs: SandboxJobs, ledger: Ledger
) -> None:
    file_id = jobs.upload(training_bytes())
    app = make_tui()
    # Created through the dashboard's own client (so its key pool knows the owner), then
    # recorded by the dashboard's first sync: the same recording as `tuner jobs list`.
    created = await app.client.jobs.create(
        JobCreate(
            model=BASE_MODEL,
            training_files=[TrainingFile(file_id=file_id, weight=1.0)],
            hyperparameters=TrainingParameters(training_steps=10),
        )
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.cycles >= 1 and bool(app.snapshot and app.snapshot.rows))
    record = ledger.get_job(created.id)
    assert record is not None
    assert record.key_last4 == API_KEY[-4:]
