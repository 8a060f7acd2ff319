"""``tuner jobs`` with both providers: an OpenAI spec created from the CLI (the estimate shown
and confirmed first), ``list`` over both with a provider field and column, ``show`` and
``cancel`` routed to the job's provider, ``watch`` following an OpenAI job to its end, and
OpenAI down as one warning. Real HTTP to a Mistral
and an OpenAI sandbox on 127.0.0.1, manual clocks."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.jobs.flow_support import advancing_sleep, write_spec
from tests.jobs.test_openai_jobs import PAST_THE_END, conversations
from tuner.cli import context
from tuner.sandbox import SandboxHandle
from tuner.sandbox.openai import OpenAISandbox

from .conftest import API_KEY, data, run
from .test_jobs_cli import support_spec

MODEL = "gpt-4o-mini-2024-07-18"


@pytest.fixture
def oai(
    env: SandboxHandle,
    start_sandbox: Callable[..., SandboxHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> SandboxHandle:
    """An OpenAI sandbox beside ``env``'s Mistral one, with OpenAI's settings pointing at it."""
    handle = start_sandbox(provider="openai")
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", handle.url + "/v1")
    return handle


def openai_spec(
    folder: Path, suffix: str, *, body: str = "[hyperparameters]\nn_epochs = 2\n"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.jsonl").write_bytes(conversations(prefix=suffix))
    return write_spec(
        folder / "job.toml",
        f'provider = "openai"\nmodel = "{MODEL}"\nsuffix = "{suffix}"\n'
        f'training_files = ["train.jsonl"]\n{body}',
    )


def test_openai_and_mistral_jobs_side_by_side(
    env: SandboxHandle, oai: SandboxHandle, tmp_path: Path
) -> None:
    (tmp_path / "m").mkdir()
    mistral = run("jobs", "create", str(support_spec(tmp_path / "m")), "--yes", "--json", "-q")
    assert mistral.exit_code == 0, mistral.output
    created = run("jobs", "create", str(openai_spec(tmp_path / "o", "care")), "--yes", "--json")

    assert created.exit_code == 0, created.output
    [job] = data(created)
    assert (job["provider"], job["status"], job["ledger_status"]) == (
        "openai",
        "validating_files",
        "VALIDATING",
    )
    assert "ESTIMATES" in created.stderr and "unconfirmed (2026-04)" in created.stderr
    sandbox = {"url": oai.url + "/v1", "sandbox": True}
    assert job["backend"] == sandbox

    oai.advance(PAST_THE_END)
    shown = run("jobs", "show", job["id"], "--json")
    assert shown.exit_code == 0, shown.output
    view = data(shown)
    assert (view["provider"], view["status"], view["provider_status"]) == (
        "openai",
        "SUCCESS",
        "succeeded",
    )
    assert view["checkpoints"] and any(e["name"] == "metrics" for e in view["events"])
    assert view["backend"] == sandbox
    for command in ("events", "checkpoints"):
        listing = data(run("jobs", command, job["id"], "--json"))
        assert listing and all(item["backend"] == sandbox for item in listing), command
        text = run("jobs", command, job["id"])
        assert text.exit_code == 0 and text.stdout.lstrip().startswith("SIMULATED"), command
    text = run("jobs", "show", job["id"])
    assert "SUCCESS (succeeded)" in text.stdout and "SIMULATED" in text.stdout
    # The estimate agreed to, beside what the job's own trained tokens cost at the table's price.
    assert "cost (estimate)" in text.stdout and "(agreed before creation)" in text.stdout
    assert f"{view['trained_tokens']:,} trained tokens at $3/M" in text.stdout
    assert "price unconfirmed 2026-04" in text.stdout

    listed = run("jobs", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = data(listed)
    assert sorted(row["provider"] for row in rows) == ["mistral", "openai"]
    openai_row = next(row for row in rows if row["provider"] == "openai")
    assert openai_row["id"] == job["id"] and openai_row["ledger_status"] == "SUCCESS"
    table = run("jobs", "list").stdout
    assert "provider" in table and "openai" in table and "mistral" in table
    assert "SUCCESS (succeeded)" in table
    only = data(run("jobs", "list", "--status", "success", "--json"))
    assert [row["provider"] for row in only] == ["openai"]


def test_cancel_and_start_go_to_the_jobs_provider(
    env: SandboxHandle, oai: SandboxHandle, tmp_path: Path
) -> None:
    created = run("jobs", "create", str(openai_spec(tmp_path, "stop")), "--yes", "--json")
    [job] = data(created)

    again = run("jobs", "create", str(openai_spec(tmp_path / "again", "other")), "--yes")
    assert again.exit_code == 0 and "SIMULATED" in again.stdout

    started = run("jobs", "start", job["id"], "--yes")
    assert started.exit_code == 2 and "creating an OpenAI job starts it" in started.output

    cancelled = run("jobs", "cancel", job["id"], "--yes")
    assert cancelled.exit_code == 0, cancelled.output
    assert "CANCELLED (cancelled)" in cancelled.stdout
    assert cancelled.stdout.lstrip().startswith("SIMULATED")


def test_over_budget_creates_nothing_and_says_why(
    env: SandboxHandle, oai: SandboxHandle, tmp_path: Path
) -> None:
    refused = run(
        "jobs", "create", str(openai_spec(tmp_path, "dear")), "--yes", "--max-cost", "0.000001"
    )

    assert refused.exit_code == 1 and "over the budget" in refused.output
    assert "Nothing was uploaded or created" in refused.output
    assert data(run("jobs", "list", "--json")) == []


def test_data_that_breaks_openais_rules_is_refused_before_upload(
    env: SandboxHandle, oai: SandboxHandle, tmp_path: Path
) -> None:
    spec = openai_spec(tmp_path, "bad")
    train = tmp_path / "train.jsonl"
    with train.open("ab") as handle:
        handle.write(b'{"messages": [{"role": "bot", "content": "hi"}]}\n')

    refused = run("jobs", "create", str(spec), "--yes")

    assert refused.exit_code == 1, refused.output
    assert "openai_unknown_role" in refused.stdout  # the findings, as for a Mistral spec
    error = " ".join(refused.stderr.split())  # the one message, as the terminal wrapped it
    assert error.startswith("error: 1 error(s) under OpenAI's rules") and error.count("error:") == 1
    assert "nothing was uploaded" in error
    assert error.endswith(f"tuner data validate --provider openai --model {MODEL} {train}")
    as_json = run("jobs", "create", str(spec), "--yes", "--json")
    assert as_json.exit_code == 1
    refusal = data(as_json)
    assert refusal["ok"] is False and refusal["jobs"] == [] and not refusal["validation"]["ok"]
    assert data(run("jobs", "list", "--json")) == []


def test_openai_down_is_a_warning_and_mistral_is_still_listed(
    env: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = run("jobs", "create", str(support_spec(tmp_path)), "--yes", "--json", "-q")
    assert created.exit_code == 0, created.output
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", dead)

    listed = run("jobs", "list", "--json")

    assert listed.exit_code == 0, listed.output
    assert [row["provider"] for row in data(listed)] == ["mistral"]
    warnings = [line for line in listed.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "openai: cannot reach" in warnings[0]


def test_watch_follows_an_openai_job_to_success(
    env: SandboxHandle, oai: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = run("jobs", "create", str(openai_spec(tmp_path, "watched")), "--yes", "--json")
    [job] = data(created)
    # The watch's pauses move the OpenAI sandbox's clock (the job's server), not Mistral's.
    monkeypatch.setattr(context.hooks, "sleep", advancing_sleep(oai))

    watched = run("jobs", "watch", job["id"], "--interval", "20")

    assert watched.exit_code == 0, watched.output
    lines = watched.stdout.splitlines()
    assert "SIMULATED" in lines[0]
    running = [line for line in lines if "RUNNING (running)" in line]
    # Steps and losses come from OpenAI's metrics events as the job trains.
    steps = [int(line.split("step ")[1].split("/")[0]) for line in running]
    assert len(steps) >= 2 and steps == sorted(steps) and steps[-1] > 0
    # Once training reports, the total steps and the train loss are known.
    reported = [line for line in running if "step 0/" not in line]
    assert reported and all("/?" not in line and "train loss" in line for line in reported)
    assert any(f"{job['id']}  SUCCESS (succeeded)" in line for line in lines)
    assert lines[-1].startswith("SUCCESS: ft:gpt-4o-mini")
    # What it saw is in the ledger: show needs nothing new from the server.
    view = data(run("jobs", "show", job["id"], "--json"))
    assert view["status"] == "SUCCESS" and view["checkpoints"]


def test_watch_of_a_cancelled_openai_job_exits_1_with_its_status(
    env: SandboxHandle, oai: SandboxHandle, tmp_path: Path
) -> None:
    created = run("jobs", "create", str(openai_spec(tmp_path, "halted")), "--yes", "--json")
    [job] = data(created)
    assert run("jobs", "cancel", job["id"], "--yes").exit_code == 0

    watched = run("jobs", "watch", job["id"], "--interval", "5")

    assert watched.exit_code == 1
    assert "CANCELLED (cancelled)" in watched.stdout
    assert f"job {job['id']} is CANCELLED (it ended there)" in watched.stderr


@pytest.mark.usefixtures("logger_levels")
def test_the_daemon_names_who_holds_the_openai_queue(
    env: SandboxHandle, oai: SandboxHandle, tmp_path: Path
) -> None:
    """OpenAI's queue held by a live process elsewhere: the daemon says who holds it and how
    many OpenAI jobs wait, as it does for Mistral's queue (never a silent wait)."""
    import os
    import time

    from tuner.jobs.ledger import open_ledger
    from tuner.jobs.openai_jobs import LEASE_NAME, LEASE_TTL_S

    with open_ledger(os.environ["TUNER_DB"]) as ledger:
        assert ledger.acquire_lease(LEASE_NAME, "elsewhere:4242:abc", LEASE_TTL_S, int(time.time()))
    spec = openai_spec(tmp_path / "o", "held", body="[hyperparameters]\nn_epochs = 1\n")
    assert run("jobs", "create", str(spec), "--yes", "-q").exit_code == 0

    cycle = run("daemon", "--once")

    assert cycle.exit_code == 0, cycle.output
    assert "the OpenAI submission queue is held by elsewhere:4242" in cycle.stderr
    assert "1 queued job(s) wait for it" in cycle.stderr
    as_json = run("daemon", "--once", "--json")
    assert data(as_json)["openai_queue_holder"] == "elsewhere:4242"


def test_an_unreachable_openai_is_named_in_the_error_not_mistrals_url(
    env: SandboxHandle, oai: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = run("jobs", "create", str(openai_spec(tmp_path / "o", "gone")), "--yes", "--json")
    assert created.exit_code == 0, created.output
    [job] = data(created)
    monkeypatch.setenv("TUNER_RETRY_MAX_ATTEMPTS", "1")
    oai.stop()
    for args in (("show", job["id"]), ("cancel", job["id"], "--yes"), ("watch", job["id"])):
        result = run("jobs", *args)
        assert result.exit_code == 3, result.output
        assert f"cannot reach {oai.url}/v1" in result.stderr, result.stderr
        assert env.url not in result.stderr
        assert "hint: Check the network and OPENAI_BASE_URL;" in result.stderr, result.stderr
        assert "TUNER_API_URL" not in result.stderr


def closed_openai_url() -> str:
    """OpenAI's URL on a loopback port nothing listens on (bound, read, closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def test_an_unreachable_openai_hint_names_openais_setting_for_list_and_create(
    env: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = closed_openai_url()
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", dead)
    monkeypatch.setenv("TUNER_RETRY_MAX_ATTEMPTS", "1")
    spec = openai_spec(tmp_path / "o", "nowhere", body="[hyperparameters]\nn_epochs = 1\n")
    created = run("jobs", "create", str(spec), "--yes", "-q")
    monkeypatch.delenv("MISTRAL_API_KEY")  # OpenAI's key only: `jobs list` talks to OpenAI alone
    listed = run("jobs", "list")

    for result in (created, listed):
        assert result.exit_code == 3, result.output
        text = " ".join(result.stderr.split())  # as one line, however the terminal wrapped it
        assert text.startswith(f"error: cannot reach {dead}: "), result.stderr
        assert text.endswith(
            "hint: Check the network and OPENAI_BASE_URL; the request was retried before giving up."
        )
        assert env.url not in result.stderr and "TUNER_API_URL" not in result.stderr


def test_an_unreachable_mistral_hint_still_names_tuner_api_url(
    env: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNER_API_URL", closed_openai_url().removesuffix("/v1"))
    monkeypatch.setenv("TUNER_RETRY_MAX_ATTEMPTS", "1")

    listed = run("jobs", "list")

    assert listed.exit_code == 3, listed.output
    assert "hint: Check the network and TUNER_API_URL;" in listed.stderr, listed.stderr
    assert "OPENAI_BASE_URL" not in listed.stderr


def test_n_epochs_over_openais_50_is_refused_before_anything_is_uploaded(
    env: SandboxHandle, oai: SandboxHandle, tmp_path: Path
) -> None:
    spec = openai_spec(tmp_path / "o", "long", body="[hyperparameters]\nn_epochs = 51\n")

    refused = run("jobs", "create", str(spec), "--yes")

    assert refused.exit_code == 2, refused.output
    error = " ".join(refused.stderr.split())  # the one message, as the terminal wrapped it
    assert error.count("error:") == 1, refused.stderr
    assert 'n_epochs must be "auto" or 1 to 50, not 51' in error
    assert isinstance(oai.sandbox, OpenAISandbox)
    listing = oai.sandbox.list_files(after=None, limit=100, order="desc", purpose=None)
    assert listing["data"] == []  # nothing was uploaded
    assert data(run("jobs", "list", "--json")) == []


def test_a_refused_openai_key_hint_names_openais_key_settings(
    env: SandboxHandle,
    start_sandbox: Callable[..., SandboxHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    locked = start_sandbox(provider="openai", api_key="the-only-key")
    monkeypatch.setenv("OPENAI_BASE_URL", locked.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-the-sandbox-key")
    monkeypatch.delenv("MISTRAL_API_KEY")  # OpenAI's key only: `jobs list` talks to OpenAI alone

    listed = run("jobs", "list")

    assert listed.exit_code == 2, listed.output
    text = " ".join(listed.stderr.split())
    assert "OPENAI_API_KEY" in text
    assert "MISTRAL_API_KEY" not in text and "console.mistral.ai" not in text
    assert text.endswith(
        "hint: Set OPENAI_API_KEY (or TUNER_OPENAI_API_KEYS, comma-separated) to a key that is "
        f"valid for {locked.url}/v1; keys are managed at https://platform.openai.com/api-keys."
    )


def test_a_refused_mistral_key_hint_still_names_mistrals_key_settings(
    env: SandboxHandle,
    start_sandbox: Callable[..., SandboxHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    locked = start_sandbox(api_key="the-only-key")
    monkeypatch.setenv("TUNER_API_URL", locked.url)
    monkeypatch.setenv("MISTRAL_API_KEY", "not-the-sandbox-key")

    listed = run("jobs", "list")

    assert listed.exit_code == 2, listed.output
    text = " ".join(listed.stderr.split())
    assert text.endswith(
        "hint: Set MISTRAL_API_KEY (or TUNER_API_KEYS, comma-separated) to a key that is valid "
        f"for {locked.url}; keys are managed at https://console.mistral.ai/api-keys."
    )
    assert "OPENAI_API_KEY" not in text
