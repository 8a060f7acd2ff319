"""The dashboard's pure parts: formatting, rows from records, pointers into conversations,
chart ticks, status texts, message coalescing. No app, no I/O (except one small file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tuner.jobs.detail import JobDetail
from tuner.jobs.records import CheckpointRecord, EvalRunRecord, JobFileLink, JobRecord, LeaseRecord
from tuner.tui import format as fmt
from tuner.tui.messages import EvalProgress, ReplyUpdated
from tuner.tui.views.charts import histogram
from tuner.tui.views.conversation import pointer_of, read_line
from tuner.tui.views.jobs import KeyHealth, StatusInfo, job_row, key_health
from tuner.tui.widgets.charts import step_ticks
from tuner.tui.widgets.jobs_table import column_layout, keep_end, row_cells
from tuner.tui.widgets.status import backend_text, daemon_text, keys_text

NOW = 1_760_040_000


def record(**fields: Any) -> JobRecord:
    base: dict[str, Any] = {
        "id": "3f9c2a71-5b0e-4c8d-9a61-2d7e8f104c55",
        "backend": "http://127.0.0.1:8000",
        "model": "open-mistral-7b",
        "job_type": "completion",
        "suffix": "support",
        "status": "RUNNING",
        "auto_start": True,
        "spec": None,
        "hyperparameters": {"training_steps": 100},
        "metadata": {"cost": 26.2144, "cost_currency": "USD"},
        "fine_tuned_model": None,
        "trained_tokens": None,
        "created_at": NOW - 300,
        "modified_at": NOW - 200,
        "first_seen_at": NOW - 290,
        "updated_at": NOW - 10,
        "last_snapshot": {},
        "key_last4": None,
        "sweep_id": None,
    }
    base.update(fields)
    return JobRecord(**base)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "-"),
        (-5, "0s"),
        (42, "42s"),
        (60, "1m"),
        (3599, "59m"),
        (7200, "2h"),
        (86400 * 3, "3d"),
    ],
)
def test_age(seconds: float | None, shown: str) -> None:
    assert fmt.age(seconds) == shown


def test_numbers_costs_and_steps() -> None:
    assert fmt.count(None) == "-"
    assert fmt.count(999) == "999"
    assert fmt.count(13_107_200) == "13.11M"
    assert fmt.count(95_000) == "95.0k"
    assert fmt.cost(26.2144, "USD") == "$26.21"
    assert fmt.cost(3.0, "EUR") == "€3.00"
    assert fmt.cost(3.0, "CHF") == "3.00 CHF"
    assert fmt.cost(None) == "-"
    assert fmt.steps(40, 100) == "40/100"
    assert fmt.steps(None, 100) == "-/100"
    assert fmt.steps(None, None) == "-"
    assert fmt.number(0.0001) == "0.0001"
    assert fmt.number(53070.4) == "53,070"
    assert fmt.number(16384) == "16,384"
    assert fmt.number(100) == "100"
    assert fmt.size(392_118) == "382.9 KB"
    assert fmt.duration(1020) == "17 min"
    assert fmt.duration(4000) == "1 h 06 min"
    assert fmt.timestamp(NOW) == "2025-10-09 20:00"
    assert fmt.truncate("a  b\nc", 10) == "a b c"
    assert fmt.truncate("abcdefghij", 5) == "abcd…"
    assert fmt.status_label("FAILED_VALIDATION", short=True) == "INVALID"
    assert fmt.status_style("SUCCESS") == "bold green"
    assert fmt.status_style("SOMETHING_NEW") == ""


def test_rows_from_records() -> None:
    running = job_row(record(), latest_step=40)
    assert (running.step, running.total_steps, running.cost) == (40, 100, 26.2144)
    done = job_row(record(status="SUCCESS", trained_tokens=13_107_200))
    assert done.step == 100  # a finished job went all the way
    unknown = job_row(record(created_at=None, hyperparameters=None, metadata=None))
    assert unknown.created_at == NOW - 290  # first seen, when the server gave no time
    assert unknown.total_steps is None and unknown.cost is None
    assert running.matches("support RUN")
    assert running.matches("3f9c")
    assert not running.matches("support failed")


def test_table_cells_and_widths() -> None:
    columns = column_layout(80, suffix_room=7)
    assert sum(c.width for c in columns) + 2 * len(columns) + 1 <= 80
    widths = {c.key: c.width for c in columns}
    assert {c.key: c.width for c in column_layout(200)}["model"] > widths["model"]
    cells = row_cells(job_row(record(), latest_step=40), NOW, columns)
    assert widths["model"] == 12
    assert [c.plain for c in cells] == [
        "3f9c2a71",
        "open-mistra…",
        "support",
        "RUNNING",
        "40/100",
        "-",
        "$26.21",
        "5m",
    ]
    assert cells[3].style == "bold yellow"


def test_the_suffix_has_priority_at_80_columns() -> None:
    # Sweep members share the model and most of the suffix: at 80 columns the whole suffix
    # shows (the model column gives way), and a suffix too long for any room keeps its end.
    long = column_layout(80, suffix_room=len("support-sweep-lr-1e-4-steps-10"))
    keys = [c.key for c in long]
    assert "model" not in keys
    suffix = next(c for c in long if c.key == "suffix")
    assert suffix.width >= 20
    assert keep_end("support-sweep-lr-1e-4-steps-10", 12) == "sup…steps-10"
    assert keep_end("support-sweep-lr-1e-4-steps-20", 12) == "sup…steps-20"
    assert keep_end("short", 12) == "short"
    # Compare mode: swept hyperparameters and the best validation loss, still within 80.
    compare = column_layout(
        80, suffix_room=12, swept=["learning_rate", "training_steps"], compare=True
    )
    assert [c.label for c in compare if c.key.startswith("hp:")] == ["lr", "t.steps"]
    assert "val_loss" in [c.key for c in compare]
    assert sum(c.width for c in compare) + 2 * len(compare) + 1 <= 80


def test_pointers_from_finding_messages() -> None:
    pointer = pointer_of('message 2 (assistant) tool call 1 id "x" is not 9 letters or digits')
    assert (pointer.message, pointer.tool_call, pointer.column) == (2, 1, None)
    assert pointer_of("trailing comma before ']' at column 132: …").column == 132
    assert pointer_of("the line is empty").message is None


def test_read_line(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(
        '{"messages": [{"role": "user", "content": "hi"}], "tools": [{"x": 1}]}\n{broken\n',
        encoding="utf-8",
    )
    first = read_line(str(path), 1)
    assert first.parsed and first.messages[0]["content"] == "hi" and first.tools == [{"x": 1}]
    second = read_line(str(path), 2)
    assert not second.parsed and second.raw == "{broken"
    with pytest.raises(LookupError):
        read_line(str(path), 3)


def test_histogram_and_ticks() -> None:
    labels, counts = histogram([10, 10, 20, 30, 40], bins=3)
    assert sum(counts) == 5 and len(labels) == 3 and labels[0] == "10"
    assert histogram([]) == ([], [])
    assert histogram([7, 7]) == (["7"], [2])
    assert step_ticks(list(range(10, 101, 10))) == [20, 40, 60, 80, 100]
    assert step_ticks([10]) == [10]
    assert step_ticks([]) == []


def test_best_checkpoint_series_and_lineage() -> None:
    job = record(status="SUCCESS", fine_tuned_model="ft:open-mistral-7b:x:20251009:support:3f9c")
    checkpoints = [
        CheckpointRecord(
            job_id=job.id, step=s, metrics={"train_loss": 2 / s, "valid_loss": v}, created_at=NOW
        )
        for s, v in ((10, 1.2), (20, 0.9), (30, 0.95))
    ]
    run = EvalRunRecord(
        run_id="ev1",
        data_path="eval.jsonl",
        data_hash="a" * 64,
        models=[job.fine_tuned_model or "", "open-mistral-7b"],
        judge=None,
        params=None,
        status="completed",
        created_at=NOW,
        updated_at=NOW,
    )
    detail = JobDetail(
        job=job,
        checkpoints=checkpoints,
        events=[],
        transitions=[],
        files=[JobFileLink(job_id=job.id, file_id="file-1", role="training", weight=1.0)],
        file_records={"file-1": None},
        datasets={},
        eval_runs=[run],
    )
    best = detail.best_checkpoint
    assert best is not None and best.step == 20
    assert detail.series("valid_loss") == ([10, 20, 30], [1.2, 0.9, 0.95])
    data, chain = detail.lineage()
    assert [n.label for n in data.children] == ["file file-1"]
    model = chain.children[0]
    assert model.kind == "model" and model.children[0].label == "eval ev1"
    no_valid = JobDetail(
        job, [checkpoints[0].model_copy(update={"metrics": {}})], [], [], [], {}, {}, []
    )
    assert no_valid.best_checkpoint is None


def status(**fields: Any) -> StatusInfo:
    base: dict[str, Any] = {
        "backend": "http://127.0.0.1:8000",
        "sandbox": True,
        "keys": KeyHealth(2, 0, 0),
        "daemon": None,
        "last_update": None,
        "last_poll": NOW - 5,
        "poll_interval": 10.0,
        "reachable": True,
        "now": NOW,
    }
    base.update(fields)
    return StatusInfo(**base)


def test_status_texts() -> None:
    assert "SANDBOX" in backend_text(status()).plain
    assert "API" in backend_text(status(sandbox=False)).plain
    assert "unreachable" in backend_text(status(reachable=False)).plain
    assert keys_text(status()).plain == "keys 2/2"
    health = key_health(["ready", "resting", "removed"])
    assert keys_text(status(keys=health)).plain == "keys 1/3, 1 resting, 1 rejected"
    assert keys_text(status(keys=KeyHealth(0, 0, 0))).plain == "no API key"
    mine = daemon_text(status()).plain
    assert "no daemon" in mine and "every 10s" in mine and "5s ago" in mine
    lease = LeaseRecord(name="daemon", owner="box:42:uuid", expires_at=NOW + 100)
    theirs = daemon_text(status(daemon=lease, last_update=NOW - 5, daemon_cycle=NOW - 120)).plain
    assert "daemon" in theirs and "box:42" in theirs and "uuid" not in theirs and "2m ago" in theirs
    assert "last poll 2m ago" in theirs  # the daemon's last cycle, not the ledger's last update
    starting = daemon_text(status(daemon=lease, last_update=NOW - 5)).plain
    assert "box:42" in starting and "no poll yet" in starting and "ago" not in starting


def test_messages_coalesce_but_never_drop_the_end() -> None:
    first = ReplyUpdated("a", "Hel")
    later = ReplyUpdated("a", "Hello")
    assert later.can_replace(first)
    assert not later.can_replace(ReplyUpdated("b", "Hel"))  # another pane
    assert not later.can_replace(ReplyUpdated("a", "Hello", done=True))
    assert EvalProgress("asking", 3, 10).can_replace(EvalProgress("asking", 2, 10))
    assert not EvalProgress("judging", 1, 10).can_replace(EvalProgress("asking", 2, 10))


def test_histogram_counts_have_whole_number_ticks() -> None:
    from tuner.tui.widgets.charts import count_ticks

    assert count_ticks(3) == [0, 1, 2, 3]
    assert count_ticks(12) == [0, 3, 6, 9, 12]
    assert count_ticks(0) == [0, 1]
    assert all(isinstance(tick, int) for tick in count_ticks(97))


def test_path_completion(tmp_path: Path) -> None:
    from tuner.tui.paths import complete_path

    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "support.toml").write_text("", encoding="utf-8")
    (tmp_path / "jobs" / "sweep.toml").write_text("", encoding="utf-8")
    (tmp_path / "jobs" / "notes.txt").write_text("", encoding="utf-8")
    (tmp_path / ".hidden").mkdir()
    root = f"{tmp_path}{os.sep}"
    assert complete_path(f"{root}jo") == f"{root}jobs{os.sep}"
    assert complete_path(f"{root}jobs{os.sep}sw", (".toml",)) == f"{root}jobs{os.sep}sweep.toml"
    assert complete_path(f"{root}jobs{os.sep}n", (".toml",)) is None  # not a spec
    assert complete_path(f"{root}jobs{os.sep}support.toml", (".toml",)) is None  # complete
    assert complete_path(root) == f"{root}jobs{os.sep}"  # hidden entries are not offered
    assert complete_path(f"{root}missing{os.sep}x") is None
