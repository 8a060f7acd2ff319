"""OpenAI jobs end to end against the OpenAI sandbox (real HTTP on 127.0.0.1, a manual clock):
the local estimate confirmed before anything is uploaded, the create through the queue, the
ledger's provider, statuses, events with metrics and checkpoints, notifications on terminal
states, the duplicate guard, cursor-paged polling, cancel, and an entry left submitting."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tuner.api.openai import OpenAIClient, OpenAIJobCreate
from tuner.api.retry import RetryPolicy
from tuner.jobs.ledger import Ledger
from tuner.jobs.openai_create import OpenAICreator, OpenAIPlan
from tuner.jobs.openai_jobs import OpenAIJobs, request_of
from tuner.jobs.spec import load_spec
from tuner.sandbox import SandboxHandle
from tuner.sandbox.openai import training

from .flow_support import API_KEY, QUESTIONS, FakeMonotonic, sandbox_clock

pytestmark = pytest.mark.anyio
BASE = "gpt-4o-mini-2024-07-18"
PAST_THE_END = 100_000


def conversations(prefix: str = "") -> bytes:
    lines = [
        {
            "messages": [
                {"role": "user", "content": prefix + question},
                {"role": "assistant", "content": answer},
            ]
        }
        for question, answer in QUESTIONS
    ]
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


@pytest.fixture
def oai(start_sandbox: Callable[..., SandboxHandle]) -> SandboxHandle:
    return start_sandbox(provider="openai")


@pytest.fixture
async def client(oai: SandboxHandle) -> AsyncIterator[OpenAIClient]:
    mono = FakeMonotonic()
    async with OpenAIClient(
        [API_KEY],
        base_url=oai.url + "/v1",
        retry=RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.05),
        sleep=mono.sleep,
        clock=mono,
        wall_clock=oai.clock.now,
        rng=random.Random(5),
    ) as opened:
        yield opened


@pytest.fixture
def http(oai: SandboxHandle) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=oai.url + "/v1", headers=headers, timeout=30) as opened:
        yield opened


@pytest.fixture
def jobs(client: OpenAIClient, ledger: Ledger, oai: SandboxHandle) -> OpenAIJobs:
    return OpenAIJobs(
        client, ledger, backend=oai.url + "/v1", clock=sandbox_clock(oai), page_size=2
    )


def preference_pairs() -> bytes:
    lines = [
        {
            "input": {"messages": [{"role": "user", "content": question}]},
            "preferred_output": [{"role": "assistant", "content": answer}],
            "non_preferred_output": [{"role": "assistant", "content": "No idea."}],
        }
        for question, answer in QUESTIONS
    ]
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


def write_spec(folder: Path, body: str, data: bytes | None = None) -> Path:
    (folder / "train.jsonl").write_bytes(conversations() if data is None else data)
    path = folder / "job.toml"
    path.write_text(
        f'provider = "openai"\nmodel = "{BASE}"\ntraining_files = ["train.jsonl"]\n{body}',
        encoding="utf-8",
    )
    return path


def server_files(http: httpx.Client) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = http.get("/files").json()["data"]
    return data


def server_jobs(http: httpx.Client) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = http.get("/fine_tuning/jobs").json()["data"]
    return data


async def test_a_job_from_spec_to_success_reaches_the_ledger(
    jobs: OpenAIJobs, ledger: Ledger, oai: SandboxHandle, http: httpx.Client, tmp_path: Path
) -> None:
    spec = load_spec(write_spec(tmp_path, 'suffix = "care"\n[hyperparameters]\nn_epochs = 2\n'))
    asked: list[tuple[OpenAIPlan, int]] = []

    def confirm(plan: OpenAIPlan) -> bool:
        asked.append((plan, len(server_files(http))))  # nothing uploaded when asked
        return True

    result = await OpenAICreator(jobs, confirm=confirm).create(spec, max_cost=100.0)

    assert result.outcome == "started", result.message
    [(plan, files_when_asked)] = asked
    assert files_when_asked == 0
    estimate = plan.jobs[0].estimate
    assert estimate is not None and estimate.epochs == 2 and estimate.examples == len(QUESTIONS)
    assert estimate.train_tokens == 2 * estimate.data_tokens
    assert estimate.price_source == "unconfirmed" and estimate.price_as_of == "2026-04"
    assert estimate.cost is not None and estimate.cost > 0
    [job] = result.jobs
    record = ledger.get_job(job.id)
    assert record is not None
    assert (record.provider, record.status, record.provider_status) == (
        "openai",
        "VALIDATING",
        "validating_files",
    )
    assert record.sandbox is True and record.key_last4 == API_KEY[-4:]
    assert record.spec is not None and record.spec["tuner"]["estimated_cost"] == estimate.cost
    assert record.suffix == "care" and record.hyperparameters is not None
    assert record.hyperparameters["n_epochs"] == 2
    [link] = ledger.job_files(job.id)
    uploaded = ledger.get_file(link.file_id)
    assert uploaded is not None and uploaded.provider == "openai"

    oai.advance(PAST_THE_END)
    poll = await jobs.poll()

    assert poll.fetched == (job.id,)
    done = ledger.get_job(job.id)
    assert done is not None and (done.status, done.provider_status) == ("SUCCESS", "succeeded")
    assert done.fine_tuned_model is not None and done.fine_tuned_model.startswith(f"ft:{BASE}:")
    assert [t.to_status for t in ledger.transitions(job.id)] == ["VALIDATING", "SUCCESS"]
    metrics = [e for e in ledger.events(job.id) if e.name == "metrics"]
    assert metrics and all("train_loss" in e.data["data"] for e in metrics)  # type: ignore[index]
    checkpoints = ledger.checkpoints(job.id)
    assert checkpoints and all("train_loss" in c.metrics for c in checkpoints)
    assert all(
        str(c.metrics["fine_tuned_model_checkpoint"]).endswith(f":ckpt-step-{c.step}")
        for c in checkpoints
    )
    notified = {(n.notifier, n.payload["to_status"]) for n in ledger.notifications_for_job(job.id)}
    assert {("log", "SUCCESS"), ("webhook", "SUCCESS")} <= notified

    # A second poll finds nothing new: events are read only down to the newest known one.
    again = await jobs.poll()
    assert (again.events, again.transitions, again.checkpoints) == (0, 0, 0)


async def test_the_same_spec_again_is_a_duplicate_and_its_file_is_reused(
    jobs: OpenAIJobs, http: httpx.Client, tmp_path: Path
) -> None:
    spec = load_spec(write_spec(tmp_path, "[hyperparameters]\nn_epochs = 1\n"))
    creator = OpenAICreator(jobs, confirm=lambda plan: True)
    first = await creator.create(spec)
    assert first.outcome == "started"

    second = await creator.create(spec)

    assert second.outcome == "duplicate"
    assert second.message is not None and first.jobs[0].id in second.message
    assert len(server_jobs(http)) == 1 and len(server_files(http)) == 1


@pytest.mark.parametrize(
    ("body", "max_cost", "why"),
    [
        ("[hyperparameters]\nn_epochs = 3\n", 0.000001, "over the budget"),
        ('[hyperparameters]\nn_epochs = "auto"\n', 1000.0, 'n_epochs is "auto"'),
    ],
)
async def test_over_budget_uploads_and_creates_nothing(
    jobs: OpenAIJobs, http: httpx.Client, tmp_path: Path, body: str, max_cost: float, why: str
) -> None:
    asked: list[OpenAIPlan] = []
    spec = load_spec(write_spec(tmp_path, body))

    result = await OpenAICreator(jobs, confirm=lambda p: asked.append(p) or True).create(
        spec, max_cost=max_cost
    )

    assert result.outcome == "over_budget" and result.message is not None
    assert why in result.message
    assert asked == [] and server_files(http) == [] and server_jobs(http) == []


async def test_declined_and_unusable_lines_upload_nothing(
    jobs: OpenAIJobs, http: httpx.Client, tmp_path: Path
) -> None:
    spec = load_spec(write_spec(tmp_path, ""))
    declined = await OpenAICreator(jobs).create(spec)
    assert declined.outcome == "declined"

    bad = conversations() + b"not json\n" + b'{"prompt": "x"}\n'
    broken = load_spec(write_spec(tmp_path, "", bad))
    invalid = await OpenAICreator(jobs, confirm=lambda p: True).create(broken)

    assert invalid.outcome == "invalid" and invalid.message is not None
    assert invalid.report is not None and invalid.report.errors == 2
    train = tmp_path / "train.jsonl"
    assert invalid.message.startswith(f"2 error(s) under OpenAI's rules, first {train}:13: ")
    assert "\n" not in invalid.message
    assert invalid.message.endswith(
        f"See them all: tuner data validate --provider openai --model {BASE} {train}"
    )
    assert server_files(http) == [] and server_jobs(http) == []


# Lines of the right shape (a messages list; input and two outputs) that OpenAI's rules refuse:
# the broad shape check the create flow had let each of them be uploaded and fail on the server.
@pytest.mark.parametrize(
    ("body", "line", "code"),
    [
        ("", {"messages": [{"role": "user", "content": "only a question"}]}, "last_not_assistant"),
        ("", {"messages": [{"role": "bot", "content": "hi"}]}, "openai_unknown_role"),
        (
            "",
            {
                "messages": [
                    {"role": "user", "content": "q", "weight": 1},
                    {"role": "assistant", "content": "a"},
                ]
            },
            "weight_not_assistant",
        ),
        (
            'method = "dpo"\n',
            {
                "input": {
                    "messages": [
                        {"role": "user", "content": "q"},
                        {"role": "assistant", "content": "a"},
                    ]
                },
                "preferred_output": [{"role": "assistant", "content": "yes"}],
                "non_preferred_output": [{"role": "assistant", "content": "no"}],
            },
            "dpo_input_ends_with_assistant",
        ),
    ],
)
async def test_openai_rules_refuse_the_data_before_anything_is_uploaded(
    jobs: OpenAIJobs, http: httpx.Client, tmp_path: Path, body: str, line: Any, code: str
) -> None:
    good = conversations() if "dpo" not in body else preference_pairs()
    spec = load_spec(write_spec(tmp_path, body, good + orjson.dumps(line) + b"\n"))

    result = await OpenAICreator(jobs, confirm=lambda p: True).create(spec)

    assert result.outcome == "invalid", result.message
    assert result.report is not None
    assert code in {f.code for f in result.report.iter_findings() if f.is_error}
    assert result.message is not None and "tuner data validate --provider openai" in result.message
    assert server_files(http) == [] and server_jobs(http) == []


async def test_a_dpo_spec_refuses_chat_data_and_the_validation_file_is_checked(
    jobs: OpenAIJobs, http: httpx.Client, tmp_path: Path
) -> None:
    dpo = load_spec(write_spec(tmp_path, 'method = "dpo"\n'))  # chat lines, not pairs
    wrong = await OpenAICreator(jobs, confirm=lambda p: True).create(dpo)
    assert wrong.outcome == "invalid" and wrong.report is not None and wrong.report.errors
    pairs = load_spec(write_spec(tmp_path, 'method = "dpo"\n', preference_pairs()))
    right = await OpenAICreator(jobs).create(pairs, dry_run=True)
    assert right.outcome == "dry_run" and right.report is not None and right.report.ok
    estimate = right.plan.jobs[0].estimate
    assert estimate is not None and estimate.method == "dpo" and "DPO" in estimate.note

    (tmp_path / "valid.jsonl").write_bytes(b'{"messages": "nope"}\n')
    spec = load_spec(write_spec(tmp_path, 'validation_files = ["valid.jsonl"]\n'))
    result = await OpenAICreator(jobs, confirm=lambda p: True).create(spec)

    assert result.outcome == "invalid" and result.message is not None
    assert f"first {tmp_path / 'valid.jsonl'}:1: " in result.message
    assert result.message.endswith(f"--eval {tmp_path / 'valid.jsonl'}")
    assert server_files(http) == [] and server_jobs(http) == []


async def test_the_estimate_is_the_validation_counters_total(
    jobs: OpenAIJobs, http: httpx.Client, tmp_path: Path
) -> None:
    from tuner.datasets.openai_tokens import ESTIMATE_LABEL

    spec = load_spec(write_spec(tmp_path, "[hyperparameters]\nn_epochs = 3\n"))

    result = await OpenAICreator(jobs).create(spec, dry_run=True)

    assert result.outcome == "dry_run" and result.report is not None and result.report.ok
    (train,) = result.report.files
    estimate = result.plan.jobs[0].estimate
    assert estimate is not None and train.tokenizer == f"o200k_base, {ESTIMATE_LABEL}"
    assert (estimate.data_tokens, estimate.examples) == (train.tokens_total, len(QUESTIONS))
    assert estimate.train_tokens == 3 * train.tokens_total
    assert estimate.cost == round(3 * train.tokens_total / 1e6 * 3.0, 4)
    assert server_files(http) == [] and server_jobs(http) == []


async def test_a_malformed_file_on_the_server_fails_the_job_with_its_error(
    jobs: OpenAIJobs, client: OpenAIClient, ledger: Ledger, oai: SandboxHandle, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"messages": "nope"}\n' * 12)
    uploaded = await client.files.upload(bad)
    spec_path = tmp_path / "job.toml"
    spec_path.write_text(
        f'provider = "openai"\nmodel = "{BASE}"\n'
        f'training_files = [{{ file_id = "{uploaded.id}" }}]\n',
        encoding="utf-8",
    )
    result = await OpenAICreator(jobs, confirm=lambda p: True).create(load_spec(spec_path))
    assert result.outcome == "started" and result.plan.jobs[0].estimate is None

    oai.advance(training.VALIDATE_SECONDS + 1)
    await jobs.poll()

    record = ledger.get_job(result.jobs[0].id)
    assert record is not None and (record.status, record.provider_status) == ("FAILED", "failed")
    error = record.last_snapshot["error"]
    assert isinstance(error, dict) and error["param"] == "training_file" and error["message"]


async def test_polling_follows_the_cursor_and_finds_jobs_made_elsewhere(
    jobs: OpenAIJobs, client: OpenAIClient, ledger: Ledger, oai: SandboxHandle, tmp_path: Path
) -> None:
    data = tmp_path / "train.jsonl"
    made = []
    for index in range(5):
        data.write_bytes(conversations(prefix=f"{index} "))
        uploaded = await client.files.upload(data)
        made.append(await client.jobs.create(OpenAIJobCreate(BASE, uploaded.id)))
        oai.advance(1)

    first = await jobs.poll()

    assert first.listed == 5 and first.list_pages == 3  # pages of 2 via ``after``
    assert set(first.fetched) == {job.id for job in made}
    assert {r.id for r in ledger.list_jobs(provider="openai")} == {job.id for job in made}

    oai.advance(PAST_THE_END)
    await jobs.poll()
    settled = await jobs.poll()
    # Everything finished and known: the first page alone shows nothing is left to read.
    assert settled.list_pages == 1 and settled.fetched == ()


async def test_cancel_reaches_the_ledger_and_notifies(
    jobs: OpenAIJobs, ledger: Ledger, tmp_path: Path
) -> None:
    spec = load_spec(write_spec(tmp_path, ""))
    created = await OpenAICreator(jobs, confirm=lambda p: True).create(spec)
    job_id = created.jobs[0].id

    changes = await jobs.cancel(job_id)

    assert (changes.job.status, changes.job.provider_status) == ("CANCELLED", "cancelled")
    assert [n.notifier for n in changes.notifications] == ["log", "webhook"]


async def test_an_entry_left_submitting_is_found_not_created_twice(
    jobs: OpenAIJobs, client: OpenAIClient, ledger: Ledger, http: httpx.Client, tmp_path: Path
) -> None:
    data = tmp_path / "train.jsonl"
    data.write_bytes(conversations())
    uploaded = await client.files.upload(data)
    request = OpenAIJobCreate(BASE, uploaded.id, suffix="lost", seed=3)
    [entry] = await jobs.enqueue([request.to_body()], None)
    claimed = ledger.claim_next(jobs.clock(), provider="openai")
    assert claimed is not None and claimed.id == entry.id
    # The process that claimed it sent the create, then died before recording the answer.
    made = await client.jobs.create(request)
    assert request_of(claimed.spec) == request

    cycle = await jobs.cycle()

    assert [(s.kind, s.job.id if s.job else None) for s in cycle.submissions] == [
        ("recovered", made.id)
    ]
    assert len(server_jobs(http)) == 1
    settled = ledger.get_queue_entry(entry.id)
    assert settled is not None and (settled.state, settled.job_id) == ("submitted", made.id)


async def test_the_queue_waits_for_room_and_each_provider_claims_its_own(
    client: OpenAIClient, ledger: Ledger, oai: SandboxHandle, http: httpx.Client, tmp_path: Path
) -> None:
    jobs = OpenAIJobs(
        client, ledger, backend=oai.url + "/v1", clock=sandbox_clock(oai), max_active=1
    )
    ledger.enqueue([{"model": "open-mistral-7b"}], now=1)  # Mistral's: never claimed here
    spec = load_spec(write_spec(tmp_path, 'suffix = "grid"\n[sweep]\nn_epochs = [1, 2]\n'))

    result = await OpenAICreator(jobs, confirm=lambda p: True).create(spec)

    assert result.outcome == "submitted" and len(result.jobs) == 1 and result.queued == 1
    oai.advance(PAST_THE_END)
    later = await jobs.cycle()
    assert [s.kind for s in later.submissions] == ["submitted"]
    assert sorted(j["user_provided_suffix"] for j in server_jobs(http)) == ["grid-1", "grid-2"]
    assert [e.spec for e in ledger.entries_in_state("pending")] == [{"model": "open-mistral-7b"}]


async def test_the_example_spec_runs_on_the_openai_sandbox(
    jobs: OpenAIJobs, ledger: Ledger, oai: SandboxHandle
) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "jobs" / "openai.toml"
    spec = load_spec(example)

    result = await OpenAICreator(jobs, confirm=lambda plan: True).create(spec, max_cost=50.0)

    assert result.outcome == "started", result.message
    estimate = result.plan.jobs[0].estimate
    assert estimate is not None and estimate.epochs == 2 and estimate.examples > 100
    oai.advance(PAST_THE_END)
    await jobs.poll()
    record = ledger.get_job(result.jobs[0].id)
    assert record is not None and (record.status, record.suffix) == ("SUCCESS", "support-v1")
    assert {link.role for link in ledger.job_files(record.id)} == {"training", "validation"}
    assert any(c.metrics.get("valid_loss") is not None for c in ledger.checkpoints(record.id))


async def test_creating_a_sweep_again_after_a_kill_reuses_its_members_and_the_job_made(
    jobs: OpenAIJobs, ledger: Ledger, client: OpenAIClient, http: httpx.Client, tmp_path: Path
) -> None:
    """`jobs create` killed right after its first member was created: running the spec again
    uses the queued members (the one created is found, not made twice, nor a 'duplicate')."""
    from tuner.jobs.openai_jobs import LEASE_NAME, LEASE_TTL_S

    spec = load_spec(write_spec(tmp_path, 'suffix = "kill"\n[sweep]\nn_epochs = [1, 2, 3]\n'))
    # The first run queues the sweep while the queue is held elsewhere (nothing created yet)...
    assert ledger.acquire_lease(LEASE_NAME, "elsewhere:1:abc", LEASE_TTL_S, jobs.clock())
    first = await OpenAICreator(jobs, confirm=lambda p: True).create(spec)
    assert first.outcome == "submitted" and first.queued == 3 and first.jobs == []
    assert ledger.release_lease(LEASE_NAME, "elsewhere:1:abc")
    # ...then claims its first member and sends the create, and is killed before recording it.
    claimed = ledger.claim_next(jobs.clock(), provider="openai")
    assert claimed is not None and claimed.member_index == 0
    made = await client.jobs.create(request_of(claimed.spec))

    again = await OpenAICreator(jobs, confirm=lambda p: True).create(spec)

    assert again.outcome == "submitted", again.message
    assert again.reused == 3
    assert made.id in {job.id for job in again.jobs}
    suffixes = sorted(j["user_provided_suffix"] for j in server_jobs(http))
    assert suffixes == ["kill-1", "kill-2", "kill-3"]  # each member made once
    states = ("pending", "submitting", "submitted")
    entries = [e for state in states for e in ledger.entries_in_state(state, provider="openai")]
    assert len(entries) == 3  # not six


async def test_a_queue_lease_of_a_gone_process_of_this_host_is_taken_over_at_once(
    jobs: OpenAIJobs, ledger: Ledger, http: httpx.Client, tmp_path: Path
) -> None:
    import subprocess
    import sys

    from tuner.jobs.liveness import make_owner
    from tuner.jobs.openai_jobs import LEASE_NAME, LEASE_TTL_S

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = make_owner(dead.pid)
    assert ledger.acquire_lease(LEASE_NAME, gone, LEASE_TTL_S, jobs.clock())
    spec = load_spec(write_spec(tmp_path, 'suffix = "gone"\n[hyperparameters]\nn_epochs = 1\n'))

    result = await OpenAICreator(jobs, confirm=lambda p: True).create(spec)

    assert result.outcome == "started", result.message
    assert result.cycle is not None and result.cycle.took_over_from == gone
    assert len(server_jobs(http)) == 1
