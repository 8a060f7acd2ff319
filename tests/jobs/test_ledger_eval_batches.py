"""``Ledger.record_eval_items``: many evaluation results in one transaction.

Runs on a SQLite file and (in CI) PostgreSQL, like the other ledger tests.
"""

from __future__ import annotations

import hashlib

import pytest

from tuner.jobs.ledger import EvalItemWrite, Ledger, NotFoundError

from .ledger_support import every_database_ledger  # noqa: F401  (the fixture ``ledger``)

MODELS = ["ft:m:1", "base"]


def new_run(ledger: Ledger, run_id: str) -> None:
    digest = hashlib.sha256(run_id.encode()).hexdigest()
    ledger.create_eval_run(
        data_path="/d/eval.jsonl", data_hash=digest, models=MODELS, now=1, run_id=run_id
    )


def results(run_id: str) -> list[EvalItemWrite]:
    return [
        EvalItemWrite(run_id, 0, "base", "p0", response_text="hi", latency_s=0.25),
        EvalItemWrite(run_id, 0, "ft:m:1", "p0", error="HTTP 500"),
        EvalItemWrite(
            run_id,
            1,
            "ft:m:1",
            "p1",
            response_text="hello",
            latency_s=0.5,
            prompt_tokens=10,
            completion_tokens=3,
            scores={"metrics": {"exact_match": 1.0}, "tool_calls": []},
            judge_verdict={"status": "ok", "winner": "A"},
        ),
        # The same (item, model) again: the later result replaces the earlier one.
        EvalItemWrite(run_id, 0, "ft:m:1", "p0", response_text="fixed", latency_s=0.75),
    ]


def test_a_batch_records_what_one_call_per_item_records(ledger: Ledger) -> None:
    new_run(ledger, "batched")
    new_run(ledger, "one-by-one")
    assert ledger.record_eval_items(results("batched"), now=20) == 3
    for item in results("one-by-one"):
        ledger.record_eval_item(
            item.run_id,
            item.item_index,
            item.model,
            prompt_hash=item.prompt_hash,
            response_text=item.response_text,
            latency_s=item.latency_s,
            prompt_tokens=item.prompt_tokens,
            completion_tokens=item.completion_tokens,
            scores=item.scores,
            error=item.error,
            judge_verdict=item.judge_verdict,
            now=20,
        )
    batched = [r.model_dump(exclude={"run_id"}) for r in ledger.eval_items("batched")]
    single = [r.model_dump(exclude={"run_id"}) for r in ledger.eval_items("one-by-one")]
    assert batched == single
    assert [(r["item_index"], r["model"], r["response_text"]) for r in batched] == [
        (0, "base", "hi"),
        (0, "ft:m:1", "fixed"),
        (1, "ft:m:1", "hello"),
    ]
    assert batched[1]["error"] is None  # replaced whole, as an upsert of the row
    assert all(r["updated_at"] == 20 for r in batched)


def test_a_later_batch_replaces_earlier_results(ledger: Ledger) -> None:
    new_run(ledger, "run")
    ledger.record_eval_items([EvalItemWrite("run", 0, "base", "p0", error="timeout")], now=5)
    ledger.record_eval_items([EvalItemWrite("run", 0, "base", "p0", response_text="ok")], now=6)
    (item,) = ledger.eval_items("run")
    assert (item.error, item.response_text, item.updated_at) == (None, "ok", 6)
    assert ledger.missing_items("run", [0], ["base"]) == []


def test_a_batch_is_all_or_nothing(ledger: Ledger) -> None:
    new_run(ledger, "run")
    batch = [
        EvalItemWrite("run", 0, "base", "p0", response_text="hi"),
        EvalItemWrite("no-such-run", 0, "base", "p0", response_text="hi"),
    ]
    with pytest.raises(NotFoundError, match="no-such-run"):
        ledger.record_eval_items(batch, now=5)
    assert ledger.eval_items("run") == []


def test_an_empty_batch_writes_nothing(ledger: Ledger) -> None:
    assert ledger.record_eval_items([], now=5) == 0
