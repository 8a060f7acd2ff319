"""``tuner jobs|files|models`` end to end against a sandbox on 127.0.0.1 with a manual clock
(the ``env`` fixture: see ``conftest.py``); no test waits."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.jobs.flow_support import (
    QUESTIONS,
    SUPPORT,
    small_training,
    support_split,
    write_spec,
)
from tuner.cli import context
from tuner.sandbox import SandboxHandle

from .conftest import data, run


def support_spec(folder: Path, *, extra: str = "") -> Path:
    support_split(folder)
    return write_spec(
        folder / "job.toml",
        f"""
model = "open-mistral-7b"
suffix = "cli-v1"
training_files = [{{ path = "train.jsonl" }}]
validation_files = ["eval.jsonl"]
{extra}
[hyperparameters]
training_steps = 10
""",
    )


def test_create_watch_show_list(env: SandboxHandle, tmp_path: Path) -> None:
    created = run("jobs", "create", str(support_spec(tmp_path)), "--yes", "--json", "-q")

    assert created.exit_code == 0, created.output
    [job] = data(created)
    assert job["status"] == "QUEUED" and job["suffix"] == "cli-v1"
    sandbox = {"url": env.url, "sandbox": True}
    assert job["backend"] == sandbox
    assert "local estimate" in created.stderr  # the cost was shown (on stderr: stdout is JSON)

    watched = run("jobs", "watch", job["id"], "--interval", "10")
    assert watched.exit_code == 0, watched.output
    assert "SUCCESS" in watched.stdout and "RUNNING" in watched.stdout

    shown = run("jobs", "show", job["id"], "--json")
    assert shown.exit_code == 0, shown.output
    view = data(shown)
    assert view["status"] == "SUCCESS" and view["fine_tuned_model"].startswith("ft:")
    first = view["transitions"][0]
    assert (first["from"], first["to"]) == (None, "QUEUED")
    assert view["transitions"][-1]["to"] == "SUCCESS"
    assert all(isinstance(t["at"], int) for t in view["transitions"])
    assert view["checkpoints"] and view["events"]
    assert {f["role"] for f in view["files"]} == {"training", "validation"}
    # The sandbox's job is stored as the sandbox's, and shown as SIMULATED.
    assert view["backend"] == {"url": env.url, "sandbox": True}

    listed = run("jobs", "list", "--json")
    assert listed.exit_code == 0, listed.output
    [row] = data(listed)
    assert {k: row[k] for k in ("id", "status", "model", "suffix")} == {
        "id": job["id"],
        "status": "SUCCESS",
        "model": "open-mistral-7b",
        "suffix": "cli-v1",
    }
    assert row["fine_tuned_model"] == view["fine_tuned_model"]
    assert row["backend"] == {"url": env.url, "sandbox": True}
    assert "SIMULATED" in run("jobs", "list").stdout
    for command in ("events", "checkpoints"):
        listing = run("jobs", command, job["id"], "--json")
        assert listing.exit_code == 0
        # Each item as the job view has it, with the server that reported it.
        assert [item.pop("backend") for item in data(listing)] == [sandbox] * len(view[command])
        assert [{k: v for k, v in item.items() if k != "backend"} for item in data(listing)] == (
            view[command]
        )
        text = run("jobs", command, job["id"])
        assert text.exit_code == 0 and text.stdout.lstrip().startswith("SIMULATED"), command
    shown_text = run("jobs", "show", job["id"])
    assert shown_text.exit_code == 0
    assert shown_text.stdout.lstrip().startswith("SIMULATED")
    models = run("models", "list", "--json")
    assert all(card["backend"]["sandbox"] is True for card in data(models))
    assert "SIMULATED" in run("files", "list").stdout
    # The short id the tables show is enough when it is unique in the ledger.
    short = run("jobs", "show", job["id"][:8], "--json")
    assert short.exit_code == 0, short.output
    assert data(short)["id"] == job["id"]
    unknown = run("jobs", "show", "ffffffff")
    assert unknown.exit_code == 2 and "tuner jobs list" in unknown.output


def test_create_asks_and_a_no_leaves_the_job_validated(env: SandboxHandle, tmp_path: Path) -> None:
    declined = run("jobs", "create", str(support_spec(tmp_path)), "-q", input="n\n")

    assert declined.exit_code == 1
    assert "Start this job for about $4.00?" in declined.output
    assert "tuner jobs start" in declined.output
    assert "SIMULATED" in declined.stdout  # the sandbox's job, as it was created
    job_id = json.loads(run("jobs", "list", "--json").stdout)[0]["id"]

    started = run("jobs", "start", job_id, input="y\n")
    assert started.exit_code == 0, started.output
    assert "QUEUED" in started.stdout
    assert started.stdout.lstrip().startswith("SIMULATED")


def test_auto_start_false_and_budget(env: SandboxHandle, tmp_path: Path) -> None:
    parked = run(
        "jobs", "create", str(support_spec(tmp_path, extra="auto_start = false")), "--json", "-q"
    )
    assert parked.exit_code == 0, parked.output
    [job] = data(parked)
    assert job["status"] == "VALIDATED"

    refused = run("jobs", "start", job["id"], "--yes", "--max-cost", "1")
    assert refused.exit_code == 1 and "max-cost" in refused.output


def test_dry_run_uploads_nothing(env: SandboxHandle, tmp_path: Path) -> None:
    result = run("jobs", "create", str(support_spec(tmp_path)), "--dry-run", "--json")

    assert result.exit_code == 0, result.output
    report = data(result)
    assert report["ok"] and report["plan"]["jobs"][0]["estimate"]["training_steps"] == 10
    files = run("files", "list", "--json")
    assert files.exit_code == 0 and data(files) == []


def test_bad_data_exits_1_with_the_report(env: SandboxHandle, tmp_path: Path) -> None:
    broken = SUPPORT.with_name("broken.jsonl")
    spec = tmp_path / "job.toml"
    spec.write_text(f'model = "open-mistral-7b"\ntraining_files = ["{broken}"]\n')

    result = run("jobs", "create", str(spec), "--yes", "--json")

    assert result.exit_code == 1
    report = data(result)
    assert report["ok"] is False and report["jobs"] == [] and report["validation"]["findings"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('model = "open-mistral-7b"\n', "training_files"),
        ('model = "mistral-embed"\ntraining_files = ["t.jsonl"]\n', "cannot be fine-tuned"),
    ],
)
def test_spec_problems_exit_2(env: SandboxHandle, tmp_path: Path, text: str, message: str) -> None:
    small_training(tmp_path / "t.jsonl")
    spec = tmp_path / "job.toml"
    spec.write_text(text)

    result = run("jobs", "create", str(spec), "--yes")

    assert result.exit_code == 2 and message in result.output


def test_a_sweep_is_confirmed_once_and_queued(env: SandboxHandle, tmp_path: Path) -> None:
    small_training(tmp_path / "train.jsonl")
    spec = tmp_path / "sweep.toml"
    spec.write_text(
        'model = "open-mistral-7b"\nsuffix = "cli-sweep"\ntraining_files = ["train.jsonl"]\n'
        "[sweep]\ntraining_steps = [10, 20, 30]\n"
    )

    result = run("jobs", "create", str(spec), "--max-active", "2", "-q", input="y\n")

    assert result.exit_code == 0, result.output
    assert result.output.count("Start these 3 jobs") == 1
    assert "cli-sweep-1" in result.stdout and "cli-sweep-2" in result.stdout
    assert "1 job(s) wait in the submission queue" in result.stdout
    jobs = data(run("jobs", "list", "--json"))
    assert sorted(j["suffix"] for j in jobs) == ["cli-sweep-1", "cli-sweep-2"]


def test_the_queue_limit_comes_from_the_settings(
    env: SandboxHandle, tmp_path: Path, config_file: Path
) -> None:
    small_training(tmp_path / "train.jsonl")
    spec = tmp_path / "sweep.toml"
    spec.write_text(
        'model = "open-mistral-7b"\nsuffix = "limited"\ntraining_files = ["train.jsonl"]\n'
        "[sweep]\ntraining_steps = [10, 20, 30]\n"
    )
    config_file.write_text("max_active_jobs = 1\n")

    result = run("jobs", "create", str(spec), "-q", "--yes")

    assert result.exit_code == 0, result.output
    assert "2 job(s) wait in the submission queue" in result.stdout
    assert [j["suffix"] for j in data(run("jobs", "list", "--json"))] == ["limited-1"]


def test_cancel_asks_and_watch_exits_1(env: SandboxHandle, tmp_path: Path) -> None:
    parked = run(
        "jobs", "create", str(support_spec(tmp_path, extra="auto_start = false")), "--json", "-q"
    )
    [job] = data(parked)

    kept = run("jobs", "cancel", job["id"], input="n\n")
    assert kept.exit_code == 1 and "not cancelled" in kept.output
    cancelled = run("jobs", "cancel", job["id"], "--yes")
    assert cancelled.exit_code == 0, cancelled.output
    assert cancelled.stdout.lstrip().startswith("SIMULATED")

    watched = run("jobs", "watch", job["id"], "--interval", "5")
    assert watched.exit_code == 1 and "CANCELLED" in watched.output


def test_unknown_job_exits_1(env: SandboxHandle) -> None:
    result = run("jobs", "show", "00000000-0000-4000-8000-000000000000")
    assert result.exit_code == 1 and "not found" in result.output


def test_unreachable_api_exits_3(env: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("TUNER_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("TUNER_RETRY_MAX_ATTEMPTS", "2")

    result = run("jobs", "watch", "00000000-0000-4000-8000-000000000000")

    assert result.exit_code == 3 and "cannot reach" in result.output


def test_a_rejected_key_exits_2_with_a_hint(
    start_sandbox: Callable[..., SandboxHandle], monkeypatch: pytest.MonkeyPatch, env: SandboxHandle
) -> None:
    strict = start_sandbox(api_key="another-key-xyz")
    monkeypatch.setenv("TUNER_API_URL", strict.url)
    result = run("jobs", "list")
    assert result.exit_code == 2
    assert "MISTRAL_API_KEY" in result.output and "…cdef" in result.output


def test_files_upload_once_list_show_download_delete(env: SandboxHandle, tmp_path: Path) -> None:
    path = small_training(tmp_path / "train.jsonl")

    first = run("files", "upload", str(path), "--json", "-q")
    again = run("files", "upload", str(path), "--json", "-q")

    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    [uploaded], [reused] = data(first), data(again)
    assert not uploaded["reused"] and reused["reused"] and reused["id"] == uploaded["id"]
    sandbox = {"url": env.url, "sandbox": True}
    assert uploaded["backend"] == reused["backend"] == sandbox
    [listed] = data(run("files", "list", "--json"))
    assert listed["id"] == uploaded["id"] and listed["filename"] == "train.jsonl"
    file_json = data(run("files", "show", uploaded["id"], "--json"))
    assert file_json["num_lines"] == len(QUESTIONS) and file_json["backend"] == sandbox
    assert run("files", "show", uploaded["id"]).stdout.lstrip().startswith("SIMULATED")
    assert run("files", "upload", str(path), "-q").stdout.lstrip().startswith("SIMULATED")

    target = tmp_path / "copy.jsonl"
    fetched = run("files", "download", uploaded["id"], "--out", str(target), "-q")
    assert fetched.exit_code == 0, fetched.output
    assert target.read_bytes() == path.read_bytes()
    assert run("files", "download", uploaded["id"], "--out", str(target)).exit_code == 2

    assert run("files", "delete", uploaded["id"], input="n\n").exit_code == 1
    assert run("files", "delete", uploaded["id"], "--yes").exit_code == 0
    assert data(run("files", "list", "--json")) == []
    # The ledger knows it is gone: the next upload sends the file again.
    assert not data(run("files", "upload", str(path), "--json", "-q"))[0]["reused"]


def test_files_upload_refuses_invalid_data_unless_told_not_to_check(
    env: SandboxHandle, tmp_path: Path
) -> None:
    broken = SUPPORT.with_name("broken.jsonl")
    valid = small_training(tmp_path / "train.jsonl")

    refused = run("files", "upload", str(valid), str(broken), "-q")

    assert refused.exit_code == 1
    assert "FAILED" in refused.stdout and "broken.jsonl" in refused.stdout  # the report
    assert "nothing was uploaded" in refused.stderr and "--no-validate" in refused.stderr
    as_json = run("files", "upload", str(broken), "--json")
    assert as_json.exit_code == 1
    body = data(as_json)
    assert body["ok"] is False and body["files"] == []
    [report] = body["validation"]["files"]
    assert report["path"].endswith("broken.jsonl") and report["errors"] > 0
    assert data(run("files", "list", "--json")) == []

    # Unchecked, the file goes to the server, which refuses it with its own report.
    skipped = run("files", "upload", str(broken), "--no-validate", "-q")
    assert skipped.exit_code == 1
    assert "422" in skipped.stderr and "nothing was uploaded" not in skipped.stderr
    assert run("files", "upload", str(valid), "--no-validate", "-q").exit_code == 0


def test_models_commands(env: SandboxHandle, tmp_path: Path) -> None:
    listed = run("models", "list", "--tunable", "--json")
    assert listed.exit_code == 0, listed.output
    assert "open-mistral-7b" in {card["id"] for card in data(listed)}

    [job] = data(run("jobs", "create", str(support_spec(tmp_path)), "--yes", "--json", "-q"))
    assert run("jobs", "watch", job["id"], "--interval", "20").exit_code == 0
    model = data(run("jobs", "show", job["id"], "--json"))["fine_tuned_model"]

    renamed = run("models", "rename", model, "--name", "support bot", "--json")
    assert renamed.exit_code == 0 and data(renamed)["name"] == "support bot"
    archived = data(run("models", "archive", model, "--json"))
    assert archived["archived"] is True
    assert data(run("models", "unarchive", model, "--json"))["archived"] is False
    card = data(run("models", "show", model, "--json"))
    assert card["id"] == model
    # A sandbox's model wherever it is shown: JSON says where from, text says SIMULATED.
    sandbox = {"url": env.url, "sandbox": True}
    assert data(renamed)["backend"] == archived["backend"] == card["backend"] == sandbox
    for command in (("show",), ("rename", "--name", "again"), ("archive",), ("unarchive",)):
        text = run("models", command[0], model, *command[1:])
        assert text.exit_code == 0 and text.stdout.lstrip().startswith("SIMULATED"), command
    assert [c["id"] for c in data(run("models", "list", "--fine-tuned", "--json"))] == [model]
    assert run("models", "delete", model, input="n\n").exit_code == 1
    assert run("models", "delete", model, "--yes").exit_code == 0
    assert run("models", "show", model).exit_code == 1


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 1), (401, 2), (403, 1), (404, 1), (409, 1), (413, 1), (422, 1), (429, 3), (503, 3)],
)
def test_api_errors_map_to_exit_codes(status: int, code: int) -> None:
    from tuner.api.errors import make_status_error

    error = make_status_error(status, {}, b'{"detail": "nope"}')
    report = context.describe_api_error(error, "https://api.example")
    assert int(report.code) == code and "nope" in report.message
