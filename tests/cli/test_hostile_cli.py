"""Hostile input through the CLI: huge numbers, over-budget specs, duplicates, odd ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.jobs.flow_support import support_split, write_spec
from tuner.cli.main import app
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


# --------------------------------------------------------------------------- escape sequences

CLEAR = "\u001b[2J"
LINK = "\u001b]8;;http://evil.example/\u001b\\here\u001b]8;;\u001b\\"
CSI_C1 = "\u009b31m"
# Any of these bytes reaching stdout/stderr would let the data drive the terminal.
CONTROL_BYTES = ("\u001b", "\u009b", "\u0007", "\u0008")


def assert_inert(text: str) -> None:
    for char in CONTROL_BYTES:
        assert char not in text, f"{char!r} reached the terminal: {text!r}"


def hostile_data(path: Path) -> Path:
    import json

    records: list[Any] = [
        {
            "messages": [
                {"role": "user" + CLEAR, "content": "hi"},
                {"role": "assistant", "content": "ok"},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": "hi", "bad" + CLEAR + "key": 1},
                {"role": "assistant", "content": "ok"},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "x" + LINK,
                            "type": "function",
                            "function": {"name": "f" + CLEAR, "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "y" + CSI_C1, "content": "r"},
                {"role": "assistant", "content": "ok"},
            ]
        },
    ]
    lines = [json.dumps(r) for r in records]
    # A broken line whose excerpt is quoted in the finding, raw bytes included.
    lines.append('{"messages": [' + "\u0007" + CLEAR + LINK)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_data_validate_shows_hostile_data_inert(tmp_path: Path) -> None:
    path = hostile_data(tmp_path / "evil.jsonl")
    result = run("data", "validate", str(path))
    assert result.exit_code == 1
    assert_inert(result.output)
    # The escapes are shown, not dropped: the reader sees what the data holds.
    assert 'role "user\\x1b[2J"' in result.output
    assert "bad\\x1b[2Jkey" in result.output
    assert "x\\x1b]8;;http://evil.example/" in result.output
    assert "y\\u009b31m" in result.output
    assert '{"messages": [\\x07\\x1b[2J' in result.output  # the excerpt of a broken line


def _tamper(sandbox: SandboxHandle, job_id: str, error: str) -> None:
    """Give a job (still validating) a failed validation whose server message is ``error``."""
    from tuner.sandbox.records import Validation
    from tuner.sandbox.store import JOBS

    store = sandbox.sandbox.store
    record = store.get(JOBS, job_id)
    assert record is not None
    failed = record.model_copy(update={"validation": Validation(ok=False, error=error)})
    store.put(JOBS, failed, created=record.created_at)


def test_json_output_escapes_what_json_leaves_raw_and_keeps_the_value(tmp_path: Path) -> None:
    """JSON escapes C0 controls but leaves DEL, C1 (\\u009b is a one-character CSI) and bidi
    overrides raw: --json writes them as \\u escapes, so the same value never drives the
    terminal it is printed on."""
    import json

    role = "bot\u009b31m\u202e\u007f"
    line = {"messages": [{"role": role, "content": "hi"}, {"role": "assistant", "content": "a"}]}
    source = tmp_path / "hostile.jsonl"
    source.write_text(json.dumps(line) + "\n", encoding="utf-8")
    result = run("data", "validate", str(source), "--json")
    assert result.exit_code == 1, result.output
    for char in ("\u009b", "\u202e", "\u007f"):
        assert char not in result.stdout
    assert "\\u009b31m\\u202e\\u007f" in result.stdout
    findings = data(result)["findings"]
    assert any(role in finding["message"] for finding in findings)  # the exact value


def test_colons_in_names_are_shown_as_written_not_as_emoji(tmp_path: Path) -> None:
    """rich reads ":x:" as an emoji code even with markup off; ids and file names are full of
    colons (a suffix "x" makes ft:open-mistral-7b:…:x:…), so they must print as written."""
    source = tmp_path / "support:x:a:.jsonl"
    example = Path(__file__).parents[2] / "examples" / "data" / "support.eval.jsonl"
    source.write_bytes(example.read_bytes())
    result = run("data", "validate", str(source))
    assert result.exit_code == 0, result.output
    assert "support:x:a:.jsonl" in result.stdout
    missing = run("data", "validate", str(tmp_path / "gone:x:.jsonl"))
    assert "gone:x:.jsonl" in missing.stderr, missing.stderr


def test_jobs_list_show_events_show_server_text_inert(env: SandboxHandle, tmp_path: Path) -> None:
    support_split(tmp_path)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    suffix = CLEAR + "[red]x" + CSI_C1  # also rich markup: must print as text
    with httpx.Client(base_url=env.url, headers=headers) as client:
        content = (tmp_path / "train.jsonl").read_bytes()
        uploaded = client.post(
            "/v1/files", files={"file": ("t.jsonl", content)}, data={"purpose": "fine-tune"}
        )
        body = {
            "model": "open-mistral-7b",
            "hyperparameters": {"training_steps": 10},
            "training_files": [{"file_id": uploaded.json()["id"], "weight": 1}],
            "suffix": suffix,
            "auto_start": False,
        }
        created = client.post("/v1/fine_tuning/jobs", json=body)
        assert created.status_code == 200, created.text
        job_id = created.json()["id"]
    _tamper(env, job_id, "bad data " + LINK + CLEAR + "\u0008\r")
    env.advance(60)

    for args in (("jobs", "list"), ("jobs", "show", job_id), ("jobs", "events", job_id)):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert_inert(result.output)
    listed = run("jobs", "list").output
    assert "\\x1b[2J[red]x\\u009b31m" in listed  # escaped, and the markup shown as text
    events = run("jobs", "events", job_id).output
    assert "bad data \\x1b]8;;http://evil.example/" in events and "\\x08\\r" in events
    watched = run("jobs", "watch", job_id)
    assert watched.exit_code == 1
    assert_inert(watched.output)
    # --json keeps the server's text exactly (JSON escapes it).
    [row] = data(run("jobs", "list", "--json"))
    assert row["suffix"] == suffix


# --------------------------------------------------------------------------- a damaged ledger


def damaged_ledger(path: Path, table: str = "checkpoints") -> bytes:
    """A real ledger (150 jobs) whose ``table`` pages are overwritten with garbage. By default
    ``checkpoints``: pages the daemon's cycle never reads, so only a check finds the damage
    before it writes; ``jobs``: pages that reads meet too."""
    import contextlib
    import random
    import sqlite3

    from benchmarks.tui import fill_ledger

    fill_ledger(path, 150)  # closed afterwards: the WAL is checkpointed into the file
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = [n for (n,) in db.execute("SELECT pageno FROM dbstat WHERE name = ?", (table,))]
    assert pages
    garbage = random.Random(7)
    with path.open("r+b") as handle:
        for number in pages:
            handle.seek((number - 1) * page_size)
            handle.write(garbage.randbytes(page_size))
    # Damaged indeed, as SQLite itself sees it (read-only, so this check writes nothing).
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as check:
        try:
            verdict = check.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:  # so damaged the check itself cannot run
            verdict = [(str(exc),)]
        assert verdict != [("ok",)]
    return path.read_bytes()


@pytest.mark.usefixtures("logger_levels")
def test_a_damaged_ledger_is_refused_and_never_written(env: SandboxHandle, tmp_path: Path) -> None:
    import os

    path = tmp_path / "damaged.db"
    before = damaged_ledger(path)
    os.environ["TUNER_DB"] = str(path)  # the env fixture's monkeypatch restores it
    (tmp_path / "data").mkdir()
    create_directly(env, tmp_path / "data", 10)  # a job `jobs list` would record

    for args in (("daemon", "--once"), ("jobs", "list")):
        result = run(*args)
        assert result.exit_code == 2, result.output
        assert "is damaged" in result.stderr
        assert ".recover" in result.stderr
        assert "Traceback" not in result.output
        assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("table", "commands"),
    [
        # A job id's start is resolved through the jobs table; removing a notifier does not go
        # through the async runner.
        ("jobs", (("jobs", "show", "0a1b"), ("jobs", "checkpoints", "0a1b"))),
        ("notifiers", (("daemon", "notifiers", "list"), ("daemon", "notifiers", "remove", "x"))),
        ("eval_runs", (("eval", "list"), ("eval", "show", "ev1"))),
    ],
)
def test_reads_of_a_damaged_ledger_are_one_line_not_a_traceback_nor_no_job(
    env: SandboxHandle,
    tmp_path: Path,
    monkeypatch: Any,
    table: str,
    commands: tuple[tuple[str, ...], ...],
) -> None:
    """Commands that only read, and meet damaged pages, refuse in one line with the recovery
    hint (not a traceback, not "no job starts with"); none writes to the file."""
    path = tmp_path / "damaged.db"
    before = damaged_ledger(path, table=table)
    monkeypatch.setenv("TUNER_DB", str(path))
    for args in commands:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "is damaged" in result.stderr, (args, result.output)
        assert ".recover" in result.stderr
        assert "no job in the ledger" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), args
        assert path.read_bytes() == before


def test_a_non_ascii_key_is_a_config_error_not_a_traceback(
    env: SandboxHandle, monkeypatch: Any
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "key-with-é-SECRET")
    result = CliRunner().invoke(app, ["files", "list"])
    assert result.exit_code == 2, result.output
    assert "non-ASCII or control character" in result.stderr
    assert "SECRET" not in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_dot_ids_are_refused_before_any_request(env: SandboxHandle, tmp_path: Path) -> None:
    create_directly(env, tmp_path, 10)  # a file (and a job) that must survive
    headers = {"Authorization": f"Bearer {API_KEY}"}
    before = httpx.get(f"{env.url}/v1/files", headers=headers).json()["data"]
    assert len(before) == 1
    for bad in (".", "..", "a/b"):
        for args in (("files", "delete", bad, "--yes"), ("files", "show", bad)):
            result = run(*args)
            assert result.exit_code == 2, result.output
            assert "is not an id" in result.stderr
    assert httpx.get(f"{env.url}/v1/files", headers=headers).json()["data"] == before
