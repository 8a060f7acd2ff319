"""tuner's own OpenAI client (``tuner.api.openai``) against the OpenAI-dialect sandbox, over
real HTTP on loopback, plus scripted transports for what a sandbox cannot show (headers sent,
a lost create answer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from pydantic import SecretStr

from tuner.api import AuthenticationError, BadRequestError, NotFoundError
from tuner.api.openai import OpenAIClient, OpenAIJobCreate, ledger_status
from tuner.api.retry import RetryPolicy
from tuner.config import ConfigError, Settings
from tuner.sandbox import SandboxHandle
from tuner.sandbox.openai import training

from .conftest import StartSandbox
from .support import API_KEY, QUESTIONS, training_data

pytestmark = pytest.mark.anyio
BASE = "gpt-4o-mini-2024-07-18"
PAST_THE_END = 10_000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def oai_sandbox(start_sandbox: StartSandbox) -> SandboxHandle:
    return start_sandbox(provider="openai")


@pytest.fixture
async def client(oai_sandbox: SandboxHandle) -> AsyncIterator[OpenAIClient]:
    async with OpenAIClient([API_KEY], base_url=oai_sandbox.url + "/v1") as opened:
        yield opened


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_bytes(training_data())
    return path


async def test_a_job_from_upload_to_chat(
    client: OpenAIClient, oai_sandbox: SandboxHandle, train_file: Path
) -> None:
    uploaded = await client.files.upload(train_file)
    assert uploaded.filename == "train.jsonl"
    assert client.is_sandbox is True
    assert [f.id for f in await client.files.list(purpose="fine-tune").to_list()] == [uploaded.id]

    spec = OpenAIJobCreate(
        model=BASE,
        training_file=uploaded.id,
        suffix="care",
        seed=3,
        hyperparameters={"n_epochs": 2, "batch_size": 2},
    )
    job = await client.jobs.create(spec)
    assert (job.status, job.ledger_status) == ("validating_files", "VALIDATING")
    assert not job.is_terminal

    oai_sandbox.advance(training.VALIDATE_SECONDS + training.QUEUE_SECONDS + 1)
    running = await client.jobs.get(job.id)
    assert running.ledger_status == "RUNNING"
    assert running.method is not None and running.method.hyperparameters()["batch_size"] == 2

    oai_sandbox.advance(PAST_THE_END)
    done = await client.jobs.get(job.id)
    assert (done.status, done.ledger_status, done.is_terminal) == ("succeeded", "SUCCESS", True)
    assert done.suffix == "care"
    snapshot = done.snapshot()
    assert snapshot["provider"] == "openai"
    assert (snapshot["provider_status"], snapshot["status"]) == ("succeeded", "SUCCESS")

    events = await client.jobs.events(job.id, limit=4).to_list()
    metrics = [e for e in events if e.is_metrics]
    assert len(metrics) == 10  # ceil(10 examples / batch 2) x 2 epochs
    assert len({e.id for e in events}) == len(events), "the cursor walk repeats nothing"
    checkpoints = await client.jobs.checkpoints(job.id).to_list()
    assert [c.step_number for c in checkpoints] == [10, 5]
    assert checkpoints[0].metrics.full_valid_loss is not None

    assert done.fine_tuned_model is not None
    question, answer = QUESTIONS[4]
    reply = await client.chat.complete(
        model=done.fine_tuned_model, messages=[{"role": "user", "content": question}]
    )
    assert reply.choices[0].message.content == answer


async def test_cursor_listing_cancel_pause_resume(
    client: OpenAIClient, oai_sandbox: SandboxHandle, train_file: Path
) -> None:
    file_id = (await client.files.upload(train_file)).id
    ids = [
        (await client.jobs.create(OpenAIJobCreate(model=BASE, training_file=file_id))).id
        for _ in range(3)
    ]
    pager = client.jobs.list(limit=2)
    first = await pager.first_page()
    assert len(first.items) == 2 and first.has_more
    assert sorted(j.id for j in await client.jobs.list(limit=2).to_list()) == sorted(ids)

    oai_sandbox.advance(training.VALIDATE_SECONDS + training.QUEUE_SECONDS + 1)
    paused = await client.jobs.pause(ids[0])
    assert (paused.status, paused.ledger_status, paused.is_terminal) == ("paused", "RUNNING", False)
    assert (await client.jobs.resume(ids[0])).status == "running"
    cancelled = await client.jobs.cancel(ids[1])
    assert (cancelled.status, cancelled.ledger_status) == ("cancelled", "CANCELLED")
    with pytest.raises(BadRequestError) as again:
        await client.jobs.cancel(ids[1])
    assert "only an unfinished job" in again.value.message


async def test_a_malformed_file_fails_the_job_with_its_error(
    client: OpenAIClient, oai_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(training_data() + b"not json\n")
    job = await client.jobs.create(
        OpenAIJobCreate(model=BASE, training_file=(await client.files.upload(bad)).id)
    )
    oai_sandbox.advance(PAST_THE_END)
    failed = await client.jobs.get(job.id)
    assert (failed.status, failed.ledger_status) == ("failed", "FAILED")
    assert failed.error is not None
    assert (failed.error.code, failed.error.param) == ("invalid_training_file", "training_file")
    assert "Line 11" in (failed.error.message or "")


async def test_server_errors_carry_openai_messages(client: OpenAIClient, train_file: Path) -> None:
    file_id = (await client.files.upload(train_file)).id
    with pytest.raises(BadRequestError) as refused:
        await client.jobs.create(OpenAIJobCreate(model="gpt-nope", training_file=file_id))
    assert "not available for fine-tuning" in refused.value.message
    with pytest.raises(NotFoundError):
        await client.jobs.get("ftjob-nothing")
    deleted = await client.files.delete(file_id)
    assert deleted.deleted is True
    with pytest.raises(NotFoundError):
        await client.files.get(file_id)


def test_job_specs_are_checked_before_sending() -> None:
    with pytest.raises(ValueError, match="'beta' is not one of supervised's"):
        OpenAIJobCreate(model=BASE, training_file="file-1", hyperparameters={"beta": 0.1})
    with pytest.raises(ValueError, match="n_epochs must be"):
        OpenAIJobCreate(model=BASE, training_file="file-1", hyperparameters={"n_epochs": 1.5})
    body = OpenAIJobCreate(
        model=BASE, training_file="file-1", method="dpo", hyperparameters={"beta": "auto"}
    ).to_body()
    assert body == {
        "model": BASE,
        "training_file": "file-1",
        "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": "auto"}}},
    }


def test_status_mapping_keeps_unknown_statuses_unknown() -> None:
    assert ledger_status("validating_files") == "VALIDATING"
    assert ledger_status("failed") == "FAILED"
    assert ledger_status("something_new") is None


# ---------------------------------------------------------------- scripted (no server needed)


async def test_organisation_and_project_headers_and_key_hints() -> None:
    seen: list[httpx.Headers] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(401, json={"error": {"message": "Incorrect API key provided."}})

    settings = Settings(
        OPENAI_API_KEY=SecretStr("sk-secret-1"),
        OPENAI_ORG_ID="org-abc",
        OPENAI_PROJECT_ID="proj_xyz",
        OPENAI_BASE_URL="http://127.0.0.1:9/v1",
    )
    client = OpenAIClient.from_settings(settings, transport=httpx.MockTransport(answer))
    async with client:
        with pytest.raises(AuthenticationError) as rejected:
            await client.files.get("file-1")
    assert seen[0]["OpenAI-Organization"] == "org-abc"
    assert seen[0]["OpenAI-Project"] == "proj_xyz"
    assert seen[0]["Authorization"] == "Bearer sk-secret-1"
    assert "OPENAI_API_KEY" in str(rejected.value)
    assert "sk-secret-1" not in str(rejected.value) and "sk-secret-1" not in repr(client)


def test_plain_http_is_refused_off_loopback() -> None:
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        OpenAIClient(["sk-1"], base_url="http://api.example.com/v1")
    # A bad OPENAI_BASE_URL does not stop the settings (and the Mistral commands) loading.
    assert Settings(OPENAI_BASE_URL="http://api.example.com/v1").api_url


async def test_a_lost_create_answer_finds_the_job_instead_of_making_another() -> None:
    job = {
        "id": "ftjob-1",
        "object": "fine_tuning.job",
        "created_at": 1_800_000_000,
        "model": BASE,
        "status": "validating_files",
        "training_file": "file-1",
        "method": {"type": "supervised", "supervised": {}},
        "error": {},  # as real answers have carried on jobs that had not failed
        "user_provided_suffix": None,
    }
    posts = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal posts
        if request.method == "POST":
            posts += 1
            return httpx.Response(500, json={"error": {"message": "boom"}})
        return httpx.Response(200, json={"object": "list", "data": [job], "has_more": False})

    async def no_sleep(_seconds: float) -> None:
        return None

    async with OpenAIClient(
        ["sk-1"],
        base_url="https://api.openai.com/v1",
        transport=httpx.MockTransport(answer),
        sleep=no_sleep,
        wall_clock=lambda: 1_800_000_000.0,
        retry=RetryPolicy(max_attempts=3),
    ) as client:
        found = await client.jobs.create(OpenAIJobCreate(model=BASE, training_file="file-1"))
    assert found.id == "ftjob-1"
    assert found.error is None
    assert posts == 1, "the job the lost attempt made was found; no second create was sent"
    assert orjson.loads(orjson.dumps(found.snapshot()))["provider"] == "openai"


def test_a_huge_n_epochs_lists_its_checkpoints_without_listing_every_epoch() -> None:
    """n_epochs is any positive integer: a job with 10**17 epochs once made the sandbox list
    every epoch's end, which took all the memory until the process was killed. Run under a
    2 GB address-space limit, so the old way fails with MemoryError instead of taking the
    machine's memory."""
    import subprocess
    import sys

    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from tuner.sandbox.openai.service import OpenAISandbox\n"
        "from tuner.sandbox.openai.training import Timeline\n"
        "line = Timeline('running', 5, 10**17, 1, 0.0, None, None)\n"
        "print(sorted(OpenAISandbox._checkpoint_steps(None, line)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == str([10**17 - 2, 10**17 - 1, 10**17])
