"""``EvalRunner`` writes results in batches, off the event loop, and loses none it can write.

The batch size is made small (and the time trigger long) so that a short eval set spans
several batches without depending on how fast anything runs.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from tuner.evals import EvalOptions, EvalRunner, RunEvent, load_eval_set
from tuner.evals import runner as runner_module
from tuner.jobs.ledger import EvalItemWrite, Ledger, LedgerError

from .conftest import Tuned
from .support import BASE_MODEL, Recorder, make_client

pytestmark = pytest.mark.anyio

BATCH = 4


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "BATCH_ROWS", BATCH)
    monkeypatch.setattr(runner_module, "BATCH_SECONDS", 3600.0)


class Boom(Exception):
    """A bug in a listener: crashes the run the way an unexpected error would."""


async def test_results_are_written_in_batches_off_the_event_loop(
    tuned: Tuned, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    eval_set = load_eval_set(tuned.eval)  # 20 items
    options = EvalOptions(models=(tuned.model,), concurrency=2)
    writes: list[tuple[int, int]] = []  # (rows, thread)
    write = ledger.record_eval_items

    def spy(items: Sequence[EvalItemWrite], *, now: int) -> int:
        writes.append((len(items), threading.get_ident()))
        return write(items, now=now)

    monkeypatch.setattr(ledger, "record_eval_items", spy)
    async with make_client(tuned.sandbox.url) as client:
        runner = EvalRunner(client, ledger, now=tuned.sandbox.clock.now)
        outcome = await runner.run(eval_set, options)
    loop_thread = threading.get_ident()
    sizes = [rows for rows, _ in writes]
    assert sum(sizes) == 20 == len(ledger.eval_items(outcome.run_id))
    # Written as the run went (a batch once BATCH rows were waiting), the rest at its end.
    assert len(sizes) >= 2
    assert all(rows >= BATCH for rows in sizes[:-1])
    assert all(thread != loop_thread for _, thread in writes)


async def test_after_a_crash_the_written_batches_are_not_asked_again(
    tuned: Tuned, ledger: Ledger
) -> None:
    recorder = Recorder()
    eval_set = load_eval_set(tuned.eval)
    # One request at a time: at the crash, exactly 2 batches are written and 3 results wait.
    options = EvalOptions(models=(tuned.model, BASE_MODEL), concurrency=1)
    seen: list[RunEvent] = []

    def listen(event: RunEvent) -> None:
        seen.append(event)
        if len(seen) == 2 * BATCH + 3:
            raise Boom

    async with make_client(tuned.sandbox.url, recorder) as client:
        runner = EvalRunner(client, ledger, now=tuned.sandbox.clock.now, listener=listen)
        with pytest.raises(Boom):
            await runner.run(eval_set, options)
        plan = runner.plan(eval_set, options)
        run = ledger.get_eval_run(plan.run_id)
        assert run is not None
        assert run.status == "failed"
        first_session = len(ledger.eval_items(plan.run_id))
        # Every answer received was written, the open batch included, and no more.
        assert first_session == 2 * BATCH + 3
        assert sum(recorder.answer_requests().values()) == first_session
        assert plan.answers_missing == 40 - first_session

        rerun = EvalRunner(client, ledger, now=tuned.sandbox.clock.now)
        outcome = await rerun.run(eval_set, options)
    assert outcome.asked == 40 - first_session
    expected = Counter((item.last_user_text, m) for item in eval_set.items for m in options.models)
    assert recorder.answer_requests() == expected  # each asked exactly once over both sessions
    final = ledger.get_eval_run(plan.run_id)
    assert final is not None
    assert final.status == "completed"


async def test_a_failing_ledger_write_stops_the_run(
    tuned: Tuned, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(items: Sequence[EvalItemWrite], *, now: Any) -> int:
        raise LedgerError("ledger: recording evaluation items failed: disk I/O error")

    monkeypatch.setattr(ledger, "record_eval_items", broken)
    recorder = Recorder()
    eval_set = load_eval_set(tuned.eval)
    options = EvalOptions(models=(BASE_MODEL,), concurrency=1)
    async with make_client(tuned.sandbox.url, recorder) as client:
        runner = EvalRunner(client, ledger, now=tuned.sandbox.clock.now)
        with pytest.raises(LedgerError, match="disk I/O"):
            await runner.run(eval_set, options)
    runs = ledger.list_eval_runs()
    assert [r.status for r in runs] == ["failed"]
    # It stopped at the first failed write instead of asking all 20 items for nothing.
    assert sum(recorder.answer_requests().values()) < 20
