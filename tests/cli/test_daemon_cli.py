"""``tuner daemon``: its defaults come from the settings (environment, then config file), the
options override them, and the queue it drains gets the W&B key from WANDB_API_KEY, never from
the ledger. Runs ``tuner daemon --once`` in this process against the sandbox (see ``env``)."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.jobs.flow_support import small_training, write_spec
from tuner.cli import context
from tuner.cli.daemon import _QUIET_LOGGERS, DaemonOptions, plan_daemon
from tuner.config import Settings
from tuner.jobs.ledger import open_ledger
from tuner.sandbox import SandboxHandle

from .conftest import API_KEY, data, run

WANDB_KEY = "wandb-daemon-secret-0123456789abcdef012345"
WEBHOOK = "https://hooks.example.com/services/T000/B000/sEcReTtOkEn42"


@pytest.fixture(autouse=True)
def logger_levels() -> Iterator[None]:
    """The daemon quiets library loggers for good; put them back for the tests that follow."""
    saved = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


class JobCreations(httpx.AsyncBaseTransport):
    """The client's transport in these tests: records the body of each job creation, passes
    every request on (a new connection pool per client, as each command opens its own)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self._inner: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/fine_tuning/jobs":
            self.bodies.append(json.loads(await request.aread()))
        if self._inner is None:
            self._inner = httpx.AsyncHTTPTransport()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()
            self._inner = None


@pytest.fixture
def creations(env: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> JobCreations:
    recorder = JobCreations()
    options = {**context.hooks.client_options, "transport": recorder}
    monkeypatch.setattr(context.hooks, "client_options", options)
    return recorder


# -- settings and options -----------------------------------------------------------------------


def names(settings: Settings, **options: Any) -> list[str]:
    return [n.name for n in plan_daemon(settings, DaemonOptions(**options)).notifiers]


def test_the_daemon_takes_its_defaults_from_the_settings(clean_env: None) -> None:
    settings = Settings(
        daemon_interval=12.5,
        daemon_idle_interval=600,
        webhook_url=SecretStr(WEBHOOK),
        notify_command="true",
        max_active_jobs=5,
    )

    plan = plan_daemon(settings, DaemonOptions())

    assert (plan.config.interval, plan.config.idle_interval, plan.max_active) == (12.5, 600, 5)
    assert [n.name for n in plan.notifiers] == ["log", "webhook", "command"]
    assert "sEcReT" not in repr(plan.notifiers)
    default = plan_daemon(Settings(), DaemonOptions())
    assert (default.config.interval, default.config.idle_interval) == (30.0, 300.0)
    assert default.max_active == 3 and [n.name for n in default.notifiers] == ["log"]


def test_options_override_the_settings_and_empty_ones_turn_a_notifier_off(clean_env: None) -> None:
    settings = Settings(webhook_url=SecretStr(WEBHOOK), notify_command="true", max_active_jobs=5)

    plan = plan_daemon(settings, DaemonOptions(interval=1, idle_interval=2, max_active=2))

    assert (plan.config.interval, plan.config.idle_interval, plan.max_active) == (1, 2, 2)
    assert names(settings, webhook="", command="") == ["log"]
    assert names(Settings(), webhook="https://other.example.com/x") == ["log", "webhook"]


def test_a_bad_webhook_setting_is_refused_without_showing_the_url(clean_env: None) -> None:
    remote_http = WEBHOOK.replace("https://", "http://")
    with pytest.raises(ValueError, match=r"https:// for hooks\.example\.com") as caught:
        plan_daemon(Settings(webhook_url=SecretStr(remote_http)), DaemonOptions())
    assert "sEcReT" not in str(caught.value)


def test_a_bad_setting_exits_2(env: SandboxHandle, config_file: Path) -> None:
    config_file.write_text(f'webhook_url = "{WEBHOOK.replace("https://", "http://")}"\n')

    result = run("daemon", "--once")

    assert result.exit_code == 2 and "webhook URL must use https://" in result.output
    assert "sEcReT" not in result.output


# -- the queue, drained by the daemon -------------------------------------------------------------


def test_queued_sweep_members_get_the_wandb_key_from_the_daemon_and_the_setting_limits_them(
    env: SandboxHandle,
    creations: JobCreations,
    config_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WANDB_API_KEY", WANDB_KEY)
    small_training(tmp_path / "train.jsonl")
    spec = write_spec(
        tmp_path / "sweep.toml",
        """
model = "open-mistral-7b"
suffix = "wb"
training_files = ["train.jsonl"]
[integrations.wandb]
project = "support-bot"
[sweep]
training_steps = [10, 20, 30]
""",
    )
    created = run("jobs", "create", str(spec), "--max-active", "1", "-q", input="y\n")
    assert created.exit_code == 0, created.output
    assert "2 job(s) wait in the submission queue" in created.stdout
    assert [body["suffix"] for body in creations.bodies] == ["wb-1"]

    # The limit comes from the config file: one job is active, so one more may start.
    config_file.write_text("max_active_jobs = 2\n")
    first = run("daemon", "--once", "--json")
    assert first.exit_code == 0, first.output
    assert (data(first)["submitted"], data(first)["queued"]) == (1, 1)
    # The option overrides the setting.
    second = run("daemon", "--once", "--json", "--max-active", "5")
    assert second.exit_code == 0, second.output
    assert (data(second)["submitted"], data(second)["queued"]) == (1, 0)

    assert [body["suffix"] for body in creations.bodies] == ["wb-1", "wb-2", "wb-3"]
    for body in creations.bodies:
        [integration] = body["integrations"]
        assert integration["project"] == "support-bot" and integration["api_key"] == WANDB_KEY
    with open_ledger(str(tmp_path / "ledger.db")) as ledger:
        jobs = ledger.list_jobs(backend=env.url)
        assert sorted(job.suffix or "" for job in jobs) == ["wb-1", "wb-2", "wb-3"]
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("ledger.db*"))
    assert WANDB_KEY.encode() not in stored and b"support-bot" in stored
    assert WANDB_KEY not in first.output + second.output


def test_without_the_wandb_key_the_daemon_fails_the_member_and_says_why(
    env: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_API_KEY", WANDB_KEY)
    small_training(tmp_path / "train.jsonl")
    spec = write_spec(
        tmp_path / "sweep.toml",
        'model = "open-mistral-7b"\nsuffix = "nokey"\ntraining_files = ["train.jsonl"]\n'
        '[integrations.wandb]\nproject = "p"\n[sweep]\ntraining_steps = [10, 20]\n',
    )
    assert run("jobs", "create", str(spec), "--max-active", "1", "-q", "--yes").exit_code == 0
    monkeypatch.delenv("WANDB_API_KEY")

    result = run("daemon", "--once", "--json", "--max-active", "3")

    assert result.exit_code == 0, result.output
    assert data(result)["submitted"] == 0
    with open_ledger(str(tmp_path / "ledger.db")) as ledger:
        [entry] = ledger.entries_in_state("failed")
    assert "WANDB_API_KEY" in (entry.error or "")


# -- notifiers stay registered until removed ----------------------------------------------------


def test_a_run_without_the_command_does_not_lose_its_notifications(
    env: SandboxHandle, tmp_path: Path
) -> None:
    # The sequence that lost RUNNING and SUCCESS: a daemon with --command, a job, a plain
    # `daemon --once`, then the daemon with --command again.
    seen = tmp_path / "seen.txt"
    script = tmp_path / "notify.sh"
    script.write_text(f'#!/bin/sh\necho "$TUNER_JOB_STATUS" >> {seen}\n', encoding="utf-8")
    script.chmod(0o755)
    assert run("daemon", "--once", "--command", str(script)).exit_code == 0

    small_training(tmp_path / "train.jsonl")
    spec = write_spec(
        tmp_path / "job.toml",
        'model = "open-mistral-7b"\nsuffix = "notify"\ntraining_files = ["train.jsonl"]\n'
        "[hyperparameters]\ntraining_steps = 10\n",
    )
    created = run("jobs", "create", str(spec), "--yes", "-q")
    assert created.exit_code == 0, created.output
    env.advance(30)  # past the start: RUNNING
    plain = run("daemon", "--once", "--json")
    assert plain.exit_code == 0, plain.output
    assert not seen.exists() or "RUNNING" not in seen.read_text()  # no command in that run

    env.advance(3000)  # SUCCESS
    again = run("daemon", "--once", "--json", "--command", str(script))
    assert again.exit_code == 0, again.output
    statuses = seen.read_text(encoding="utf-8").split()
    assert "RUNNING" in statuses and "SUCCESS" in statuses

    listed = run("daemon", "notifiers", "list", "--json")
    assert listed.exit_code == 0, listed.output
    registry = {record["name"]: record for record in data(listed)}
    assert registry["command"]["active"] and registry["command"]["source"] == "option --command"
    assert registry["command"]["pending"] == 0
    assert str(script) not in listed.stdout  # the registry never holds the target itself


def test_notifiers_are_removed_explicitly(env: SandboxHandle, tmp_path: Path) -> None:
    assert run("daemon", "--once", "--command", "true").exit_code == 0
    removed = run("daemon", "notifiers", "remove", "command")
    assert removed.exit_code == 0, removed.output
    assert "removed command" in removed.stdout
    listed = {r["name"]: r for r in data(run("daemon", "notifiers", "list", "--json"))}
    assert listed["command"]["active"] is False
    again = run("daemon", "notifiers", "remove", "command")
    assert again.exit_code == 1 and "no active notifier 'command'" in again.output
    assert "removed" in run("daemon", "notifiers", "list").stdout


# -- a killed creator does not stall the queue ---------------------------------------------------


SWEEP = """
model = "open-mistral-7b"
suffix = "kill"
training_files = ["train.jsonl"]
[sweep]
training_steps = [10, 20, 30]
"""


def _queued_by_a_killed_create(tmp_path: Path) -> tuple[Path, str]:
    """What SIGKILLing `tuner jobs create sweep.toml` left: its three members queued (the
    command had queued them before it died) and the queue lease held by its dead process."""
    import subprocess
    import sys

    from tuner.jobs.liveness import make_owner
    from tuner.jobs.submit import LEASE_NAME, LEASE_TTL_S

    small_training(tmp_path / "train.jsonl")
    spec = write_spec(tmp_path / "sweep.toml", SWEEP)
    ledger_path = str(tmp_path / "ledger.db")
    # Queue the sweep as `jobs create` does while the queue is busy elsewhere (so nothing is
    # submitted yet); then hand the lease to a process of this host that has died.
    elsewhere = "elsewhere:1:abc"
    with open_ledger(ledger_path) as ledger:
        assert ledger.acquire_lease(LEASE_NAME, elsewhere, LEASE_TTL_S, int(time.time()))
    created = run("jobs", "create", str(spec), "--yes", "-q")
    assert created.exit_code == 0, created.output
    assert "3 job(s) wait in the submission queue" in created.stdout
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owner = make_owner(dead.pid)
    with open_ledger(ledger_path) as ledger:
        assert ledger.release_lease(LEASE_NAME, elsewhere)
        assert ledger.acquire_lease(LEASE_NAME, owner, LEASE_TTL_S, int(time.time()))
    return spec, owner


def test_a_queue_lease_left_by_a_killed_create_is_taken_over_at_once(
    env: SandboxHandle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, owner = _queued_by_a_killed_create(tmp_path)
    with caplog.at_level(logging.WARNING, logger="tuner.jobs"):
        cycle = run("daemon", "--once", "--json", "--max-active", "5")
    assert cycle.exit_code == 0, cycle.output
    assert (data(cycle)["submitted"], data(cycle)["queued"]) == (3, 0)
    assert any(owner in record.getMessage() for record in caplog.records)


def test_a_queue_held_by_a_live_process_is_named_by_the_daemon(
    env: SandboxHandle, tmp_path: Path
) -> None:
    from tuner.jobs.submit import LEASE_NAME, LEASE_TTL_S

    small_training(tmp_path / "train.jsonl")
    spec = write_spec(tmp_path / "sweep.toml", SWEEP)
    with open_ledger(str(tmp_path / "ledger.db")) as ledger:
        # Another host's process: it cannot be checked, so it is waited for, and named.
        assert ledger.acquire_lease(LEASE_NAME, "elsewhere:4242:abc", LEASE_TTL_S, int(time.time()))
    assert run("jobs", "create", str(spec), "--yes", "-q").exit_code == 0
    cycle = run("daemon", "--once")
    assert cycle.exit_code == 0, cycle.output
    assert "the submission queue is held by elsewhere:4242" in cycle.stderr
    assert "3 queued job(s) wait for it" in cycle.stderr
    as_json = run("daemon", "--once", "--json")
    assert data(as_json)["queue_holder"] == "elsewhere:4242"


def test_creating_a_spec_again_reuses_its_queued_members(
    env: SandboxHandle, tmp_path: Path
) -> None:
    spec, _ = _queued_by_a_killed_create(tmp_path)
    again = run("jobs", "create", str(spec), "--yes", "-q")
    assert again.exit_code == 0, again.output
    assert "were still queued by an earlier run" in again.stdout
    with open_ledger(str(tmp_path / "ledger.db")) as ledger:
        entries = ledger.entries_in_state("pending") + ledger.entries_in_state("submitted")
    assert len(entries) == 3  # not six


def test_creating_a_spec_again_after_its_first_member_was_made_reuses_the_members(
    env: SandboxHandle, tmp_path: Path
) -> None:
    """Killed right after the first member's create was sent: the rerun reuses the three
    entries, finds that job instead of making it again, and queues nothing twice."""
    from tuner.jobs.submit import request_body

    from .conftest import API_KEY

    spec, _ = _queued_by_a_killed_create(tmp_path)
    with open_ledger(str(tmp_path / "ledger.db")) as ledger:
        claimed = ledger.claim_next(int(time.time()))
    assert claimed is not None and claimed.member_index == 0
    sent = httpx.post(
        f"{env.url}/v1/fine_tuning/jobs",
        json=request_body(claimed.spec),
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert sent.status_code == 200, sent.text
    env.advance(5)

    again = run("jobs", "create", str(spec), "--yes", "-q", "--max-active", "5")

    assert again.exit_code == 0, again.output
    assert "were still queued by an earlier run" in again.stdout
    with open_ledger(str(tmp_path / "ledger.db")) as ledger:
        states = ("pending", "submitting", "submitted")
        entries = [e for state in states for e in ledger.entries_in_state(state)]
        made = ledger.get_queue_entry(claimed.id)
    assert len(entries) == 3  # not seven
    assert made is not None and made.job_id == sent.json()["id"]
    listed = httpx.get(
        f"{env.url}/v1/fine_tuning/jobs", headers={"Authorization": f"Bearer {API_KEY}"}
    ).json()["data"]
    assert sorted(job["suffix"] for job in listed) == ["kill-1", "kill-2", "kill-3"]


# -- each provider's failure names its own server and settings ------------------------------------


def closed_loopback_url(path: str = "") -> str:
    """A URL on a loopback port nothing listens on (bound, read, closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}{path}"


def one_line(text: str) -> str:
    """The output as one line, however the console wrapped it."""
    return " ".join(text.split())


def running_mistral_job(env: SandboxHandle, tmp_path: Path) -> str:
    """A Mistral job the ledger last saw QUEUED and the sandbox now runs: only a poll of
    Mistral's API records RUNNING."""
    small_training(tmp_path / "train.jsonl")
    spec = write_spec(
        tmp_path / "job.toml",
        'model = "open-mistral-7b"\nsuffix = "polled"\ntraining_files = ["train.jsonl"]\n'
        "[hyperparameters]\ntraining_steps = 10\n",
    )
    created = run("jobs", "create", str(spec), "--yes", "--json", "-q")
    assert created.exit_code == 0, created.output
    [job] = data(created)
    env.advance(30)  # past the start: RUNNING at the sandbox
    return str(job["id"])


def ledger_status(tmp_path: Path, job_id: str) -> str:
    with open_ledger(str(tmp_path / "ledger.db")) as ledger:
        record = ledger.get_job(job_id)
    assert record is not None
    return record.status


def test_an_unreachable_openai_is_named_by_the_daemon_and_mistral_is_still_polled(
    env: SandboxHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job_id = running_mistral_job(env, tmp_path)
    dead = closed_loopback_url("/v1")
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", dead)
    monkeypatch.setenv("TUNER_RETRY_MAX_ATTEMPTS", "1")

    with caplog.at_level(logging.WARNING, logger="tuner.jobs.daemon"):
        cycle = run("daemon", "--once", "--json")

    assert cycle.exit_code == 3, cycle.output
    text = one_line(cycle.stderr)
    assert text.startswith(f"error: OpenAI: polling failed: cannot reach {dead}: "), text
    assert text.endswith(
        "hint: Check the network and OPENAI_BASE_URL; the request was retried before giving up."
    )
    assert "TUNER_API_URL" not in cycle.stderr and env.url not in cycle.stderr
    # Mistral's jobs were still polled: the job's start is in the ledger.
    assert ledger_status(tmp_path, job_id) == "RUNNING"
    report = data(cycle)
    assert report["error"] is None and report["requests"] >= 1
    [failure] = report["failures"]
    assert (failure["provider"], failure["url"], failure["action"]) == ("openai", dead, "polling")
    assert "OPENAI_BASE_URL" in failure["hint"]
    # The log line (the journal, under systemd) says the same, hint included.
    [logged] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("OpenAI")]
    assert (
        f"cannot reach {dead}" in logged and "hint: Check the network and OPENAI_BASE_URL" in logged
    )
    assert logged.endswith("(Mistral still polled)") and "TUNER_API_URL" not in logged


def test_a_refused_openai_key_names_openais_key_settings_in_the_daemons_report(
    env: SandboxHandle,
    tmp_path: Path,
    start_sandbox: Callable[..., SandboxHandle],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job_id = running_mistral_job(env, tmp_path)
    locked = start_sandbox(provider="openai", api_key="the-only-key")
    monkeypatch.setenv("OPENAI_BASE_URL", locked.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-the-sandbox-key")

    with caplog.at_level(logging.WARNING, logger="tuner.jobs.daemon"):
        cycle = run("daemon", "--once")

    assert cycle.exit_code == 3, cycle.output
    text = one_line(cycle.stderr)
    assert text.startswith(f"error: OpenAI: polling failed ({locked.url}/v1): 401 Unauthorized")
    assert text.endswith(
        "hint: Set OPENAI_API_KEY (or TUNER_OPENAI_API_KEYS, comma-separated) to a key that is "
        f"valid for {locked.url}/v1; keys are managed at https://platform.openai.com/api-keys."
    )
    assert "MISTRAL_API_KEY" not in text and "console.mistral.ai" not in text
    assert env.url not in text
    assert ledger_status(tmp_path, job_id) == "RUNNING"  # Mistral's key works: still polled
    logged = [r.getMessage() for r in caplog.records]
    assert any("hint: Set OPENAI_API_KEY" in line for line in logged), logged
    assert "OpenAI: every API key was rejected; polling Mistral only" in logged
    assert not any("MISTRAL_API_KEY" in line for line in logged), logged


def test_an_openai_only_daemon_whose_key_is_refused_stops_on_openais_hint(
    env: SandboxHandle, start_sandbox: Callable[..., SandboxHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Mistral key and OpenAI's refused: no provider is left, so the daemon stops (exit 2,
    a configuration problem) with OpenAI's error and key settings, not Mistral's."""
    locked = start_sandbox(provider="openai", api_key="the-only-key")
    monkeypatch.setenv("OPENAI_BASE_URL", locked.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-the-sandbox-key")
    monkeypatch.delenv("MISTRAL_API_KEY")

    cycle = run("daemon", "--once")

    assert cycle.exit_code == 2, cycle.output
    text = one_line(cycle.stderr)
    assert text.startswith(f"error: OpenAI: polling failed ({locked.url}/v1): 401 Unauthorized")
    assert text.count("error:") == 1 and "MISTRAL_API_KEY" not in text and env.url not in text
    assert text.endswith(
        "hint: Set OPENAI_API_KEY (or TUNER_OPENAI_API_KEYS, comma-separated) to a key that is "
        f"valid for {locked.url}/v1; keys are managed at https://platform.openai.com/api-keys."
    )


def test_an_unreachable_mistral_is_named_by_the_daemon_and_openai_is_still_polled(
    env: SandboxHandle,
    start_sandbox: Callable[..., SandboxHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    oai = start_sandbox(provider="openai")
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", oai.url + "/v1")
    dead = closed_loopback_url()
    monkeypatch.setenv("TUNER_API_URL", dead)
    monkeypatch.setenv("TUNER_RETRY_MAX_ATTEMPTS", "1")

    cycle = run("daemon", "--once", "--json")

    assert cycle.exit_code == 3, cycle.output
    text = one_line(cycle.stderr)
    assert text.startswith(f"error: Mistral: polling failed: cannot reach {dead}: "), text
    assert text.endswith(
        "hint: Check the network and TUNER_API_URL; the request was retried before giving up."
    )
    assert "OPENAI_BASE_URL" not in text and oai.url not in text
    report = data(cycle)
    assert [f["provider"] for f in report["failures"]] == ["mistral"]


def test_an_openai_only_daemon_leaves_mistral_alone(
    env: SandboxHandle,
    start_sandbox: Callable[..., SandboxHandle],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only OpenAI has a key: the daemon polls OpenAI and does not report Mistral's missing
    key as a failure of every cycle (as `tuner jobs list` leaves Mistral alone then)."""
    oai = start_sandbox(provider="openai")
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", oai.url + "/v1")
    monkeypatch.delenv("MISTRAL_API_KEY")

    with caplog.at_level(logging.INFO, logger="tuner.jobs.daemon"):
        cycle = run("daemon", "--once", "--json")

    assert cycle.exit_code == 0, cycle.output
    report = data(cycle)
    assert report["failures"] == [] and report["error"] is None
    assert "requests" not in report  # Mistral's API was not asked
    assert not any("Mistral" in r.getMessage() for r in caplog.records)
