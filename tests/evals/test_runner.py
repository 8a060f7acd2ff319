"""``EvalRunner`` against the sandbox: tuning helped, resuming, failures, the judge."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tuner.api import NotFoundError
from tuner.evals import (
    AnswerRecorded,
    EvalConfigError,
    EvalOptions,
    EvalRunner,
    RunEvent,
    load_eval_set,
    load_report,
)
from tuner.evals.dataset import EvalSet
from tuner.jobs.ledger import Ledger

from .conftest import Tuned
from .support import (
    BASE_MODEL,
    EMBED_MODEL,
    JUDGE_MODEL,
    Recorder,
    chat_response,
    error_response,
    is_judge,
    last_user,
    make_client,
    sample_keys,
)

pytestmark = pytest.mark.anyio


async def run_eval(
    tuned: Tuned,
    ledger: Ledger,
    options: EvalOptions,
    recorder: Recorder | None = None,
    eval_set: EvalSet | None = None,
    **runner_options: Any,
) -> Any:
    async with make_client(tuned.sandbox.url, recorder) as client:
        runner = EvalRunner(client, ledger, now=tuned.sandbox.clock.now, **runner_options)
        return await runner.run(eval_set or load_eval_set(tuned.eval), options)


async def test_tuned_model_beats_its_base_on_held_out_conversations(
    tuned: Tuned, ledger: Ledger
) -> None:
    # Held out for real: no eval conversation is in the training file.
    assert not sample_keys(tuned.eval) & sample_keys(tuned.train)
    options = EvalOptions(models=(tuned.model, BASE_MODEL), judge=JUDGE_MODEL)
    outcome = await run_eval(tuned, ledger, options)
    assert outcome.asked == 40
    assert outcome.failed == 0
    assert outcome.judged == 20

    report = load_report(ledger, outcome.run_id)
    assert report.run.status == "completed"
    summary = report.as_json()
    tuned_scores, base_scores = summary["models"][tuned.model], summary["models"][BASE_MODEL]
    assert tuned_scores["token_f1"] > base_scores["token_f1"]
    assert tuned_scores["rouge_l"] > base_scores["rouge_l"]
    assert report.better("token_f1") == tuned.model

    judge = summary["judge"]
    assert judge["wins"] + judge["ties"] + judge["losses"] == 20
    assert judge["wins"] > judge["losses"]
    assert judge["win_rate"] > 0.5
    low, high = judge["ci95"]
    assert low <= judge["win_rate"] <= high
    assert judge["unparsed"] == judge["failed"] == 0

    # Both sides appeared as A and as B: the order really is drawn per item.
    orders = [row.verdict["order"][0] for row in report.rows if row.verdict is not None]
    assert set(orders) == {tuned.model, BASE_MODEL}


async def test_json_report_shape(tuned: Tuned, ledger: Ledger) -> None:
    eval_set = load_eval_set(tuned.eval)
    options = EvalOptions(models=(tuned.model, BASE_MODEL))
    outcome = await run_eval(tuned, ledger, options, eval_set=eval_set)
    summary = load_report(ledger, outcome.run_id).as_json()
    assert summary["run_id"] == outcome.run_id
    assert set(summary["models"]) == {tuned.model, BASE_MODEL}
    assert "judge" not in summary
    for scores in summary["models"].values():
        for key in ("exact_match", "token_f1", "rouge_l", "mean_latency_s", "failed"):
            assert key in scores
        assert scores["failed"] == 0
        assert scores["answered"] == 20
        assert scores["mean_latency_s"] >= 0
        assert scores["prompt_tokens"] > 0
        # One held-out conversation ends in a tool call: tool-call accuracy is defined on it.
        assert scores["tool_call_items"] == 1
        assert 0.0 <= scores["tool_call_accuracy"] <= 1.0


async def test_prompts_sent_are_clean_and_carry_tools(tuned: Tuned, ledger: Ledger) -> None:
    recorder = Recorder()
    eval_set = load_eval_set(tuned.eval)
    await run_eval(tuned, ledger, EvalOptions(models=(BASE_MODEL,)), recorder, eval_set)
    chats = recorder.chats()
    assert len(chats) == 20
    by_prompt = {last_user(b["messages"]): b for b in chats}
    for item in eval_set.items:
        body = by_prompt[item.last_user_text]
        assert body["messages"] == list(item.messages)
        assert ("tools" in body) == bool(item.tools)
        for message in body["messages"]:
            assert "weight" not in message
    assert any("tools" in body for body in chats)
    assert any(body["messages"][0]["role"] == "system" for body in chats)


async def test_resume_after_cancel_asks_every_item_exactly_once(
    tuned: Tuned, ledger: Ledger
) -> None:
    recorder = Recorder()
    eval_set = load_eval_set(tuned.eval)
    options = EvalOptions(models=(tuned.model, BASE_MODEL), concurrency=3)
    recorded: list[RunEvent] = []
    halfway = asyncio.Event()

    def listen(event: RunEvent) -> None:
        recorded.append(event)
        if len(recorded) == 15:
            halfway.set()

    async with make_client(tuned.sandbox.url, recorder) as client:
        runner = EvalRunner(client, ledger, now=tuned.sandbox.clock.now, listener=listen)
        task = asyncio.create_task(runner.run(eval_set, options))
        await halfway.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        plan = runner.plan(eval_set, options)
        run = ledger.get_eval_run(plan.run_id)
        assert run is not None
        assert run.status == "cancelled"
        first_session = len(ledger.eval_items(plan.run_id))
        # Stopped half-way: requests in flight were let finish and recorded, nothing more.
        assert 15 <= first_session < 40
        assert sum(recorder.answer_requests().values()) == first_session
        assert plan.resumed
        assert plan.answers_missing == 40 - first_session

        outcome = await runner.run(eval_set, options)
    assert outcome.resumed
    assert outcome.run_id == plan.run_id
    assert outcome.asked == 40 - first_session
    expected = Counter((item.last_user_text, m) for item in eval_set.items for m in options.models)
    assert recorder.answer_requests() == expected
    assert len(ledger.eval_items(plan.run_id)) == 40
    final = ledger.get_eval_run(plan.run_id)
    assert final is not None
    assert final.status == "completed"


async def test_failed_items_are_recorded_counted_and_retried_on_rerun(
    tuned: Tuned, ledger: Ledger
) -> None:
    eval_set = load_eval_set(tuned.eval).limited(6)
    doomed = {eval_set.items[1].last_user_text, eval_set.items[4].last_user_text}
    failing = True

    def intercept(body: dict[str, Any]) -> httpx.Response | None:
        if failing and body.get("model") == BASE_MODEL and last_user(body["messages"]) in doomed:
            return error_response(503, "overloaded")
        return None

    recorder = Recorder(intercept)
    options = EvalOptions(models=(tuned.model, BASE_MODEL))
    outcome = await run_eval(tuned, ledger, options, recorder, eval_set)
    assert outcome.failed == 2
    # The client retried (2 attempts each) before the item was recorded as failed.
    assert sum(1 for b in recorder.chats() if last_user(b["messages"]) in doomed) == 2 * 2 + 2
    report = load_report(ledger, outcome.run_id)
    assert report.models[BASE_MODEL].failed == 2
    assert report.models[BASE_MODEL].answered == 4
    assert report.models[tuned.model].failed == 0
    errors = [r.error for r in ledger.eval_items(outcome.run_id) if r.error is not None]
    assert len(errors) == 2
    assert all("overloaded" in e for e in errors)
    assert report.run.status == "completed"

    failing = False
    again = await run_eval(tuned, ledger, options, recorder, eval_set)
    assert again.asked == 2
    assert again.failed == 0
    assert load_report(ledger, outcome.run_id).models[BASE_MODEL].failed == 0


async def test_keep_failed_does_not_ask_again(tuned: Tuned, ledger: Ledger) -> None:
    eval_set = load_eval_set(tuned.eval).limited(2)

    def intercept(body: dict[str, Any]) -> httpx.Response | None:
        # Every answer fails (the model list the runner reads first still works).
        return error_response(500, "boom") if "messages" in body else None

    options = EvalOptions(models=(BASE_MODEL,), retry_failed=False)
    first = await run_eval(tuned, ledger, options, Recorder(intercept), eval_set)
    assert first.failed == 2
    again = await run_eval(tuned, ledger, options, Recorder(), eval_set)
    assert again.asked == 0


async def test_unparsed_judge_answer_is_retried_once_then_recorded(
    tuned: Tuned, ledger: Ledger
) -> None:
    eval_set = load_eval_set(tuned.eval).limited(3)

    def intercept(body: dict[str, Any]) -> httpx.Response | None:
        if is_judge(body):
            return chat_response(JUDGE_MODEL, "I think the first one, probably.")
        return None

    recorder = Recorder(intercept)
    options = EvalOptions(models=(tuned.model, BASE_MODEL), judge=JUDGE_MODEL)
    outcome = await run_eval(tuned, ledger, options, recorder, eval_set)
    assert len(recorder.judge_requests()) == 3 * 2
    summary = load_report(ledger, outcome.run_id).as_json()["judge"]
    assert summary["unparsed"] == 3
    assert summary["wins"] == summary["ties"] == summary["losses"] == 0
    assert summary["win_rate"] is None
    verdicts = [r.judge_verdict for r in ledger.eval_items(outcome.run_id, model=tuned.model)]
    assert all(v is not None and v["status"] == "unparsed" and v["attempts"] == 2 for v in verdicts)
    # Unparsed is final: a rerun does not ask the judge again.
    again = Recorder()
    await run_eval(tuned, ledger, options, again, eval_set)
    assert again.chats() == []


async def test_judge_that_parses_on_the_second_try(tuned: Tuned, ledger: Ledger) -> None:
    eval_set = load_eval_set(tuned.eval).limited(1)
    answers = iter(["not json", '{"winner": "tie", "reason": "both fine"}'])

    def intercept(body: dict[str, Any]) -> httpx.Response | None:
        return chat_response(JUDGE_MODEL, next(answers)) if is_judge(body) else None

    options = EvalOptions(models=(tuned.model, BASE_MODEL), judge=JUDGE_MODEL)
    outcome = await run_eval(tuned, ledger, options, Recorder(intercept), eval_set)
    (verdict,) = [r.judge_verdict for r in ledger.eval_items(outcome.run_id, model=tuned.model)]
    assert verdict is not None
    assert verdict["status"] == "ok"
    assert verdict["attempts"] == 2
    assert verdict["outcome"] == "tie"
    assert verdict["reason"] == "both fine"


async def test_unknown_model_stops_the_run(tuned: Tuned, ledger: Ledger) -> None:
    eval_set = load_eval_set(tuned.eval).limited(4)
    options = EvalOptions(models=("no-such-model", BASE_MODEL))
    with pytest.raises(Exception) as caught:
        await run_eval(tuned, ledger, options, eval_set=eval_set)
    assert "Invalid model" in str(caught.value)
    runs = ledger.list_eval_runs()
    assert [r.status for r in runs] == ["failed"]
    assert all(r.model != "no-such-model" for r in ledger.eval_items(runs[0].run_id))


async def test_missing_route_is_fatal_too(tuned: Tuned, ledger: Ledger) -> None:
    def intercept(body: dict[str, Any]) -> httpx.Response | None:
        return httpx.Response(404, json={"detail": "Not Found"})

    eval_set = load_eval_set(tuned.eval).limited(2)
    with pytest.raises(NotFoundError):
        await run_eval(
            tuned, ledger, EvalOptions(models=(BASE_MODEL,)), Recorder(intercept), eval_set
        )


async def test_embedding_similarity(tuned: Tuned, ledger: Ledger) -> None:
    recorder = Recorder()
    eval_set = load_eval_set(tuned.eval).limited(4)
    options = EvalOptions(models=(tuned.model, BASE_MODEL), embed_model=EMBED_MODEL)
    outcome = await run_eval(tuned, ledger, options, recorder, eval_set)
    embeds = [b for path, b in recorder.bodies if path == "/v1/embeddings"]
    assert len(embeds) == 8
    assert all(b["model"] == EMBED_MODEL and len(b["input"]) == 2 for b in embeds)
    summary = load_report(ledger, outcome.run_id).as_json()["models"]
    for scores in summary.values():
        assert -1.0 <= scores["embedding_cosine"] <= 1.0
    assert summary[tuned.model]["embedding_cosine"] > summary[BASE_MODEL]["embedding_cosine"]


async def test_cost_when_prices_are_given(tuned: Tuned, ledger: Ledger) -> None:
    eval_set = load_eval_set(tuned.eval).limited(3)
    options = EvalOptions(models=(tuned.model, BASE_MODEL), prices={BASE_MODEL: (1.0, 3.0)})
    outcome = await run_eval(tuned, ledger, options, eval_set=eval_set)
    report = load_report(ledger, outcome.run_id)
    base = report.models[BASE_MODEL]
    assert base.cost_usd == pytest.approx((base.prompt_tokens + 3 * base.completion_tokens) / 1e6)
    assert report.models[tuned.model].cost_usd is None


async def test_run_ids_are_stable_unless_a_new_run_is_asked(tuned: Tuned, ledger: Ledger) -> None:
    eval_set = load_eval_set(tuned.eval).limited(2)
    async with make_client(tuned.sandbox.url) as client:
        runner = EvalRunner(client, ledger, now=tuned.sandbox.clock.now)
        options = EvalOptions(models=(tuned.model, BASE_MODEL))
        same = runner.run_id_for(eval_set, options)
        assert same == runner.run_id_for(load_eval_set(tuned.eval), options)
        # Concurrency does not change the answers, so it does not change the run.
        assert same == runner.run_id_for(
            eval_set, EvalOptions(models=options.models, concurrency=9)
        )
        assert same != runner.run_id_for(
            eval_set, EvalOptions(models=options.models, temperature=0.7)
        )
        assert same != runner.run_id_for(eval_set, EvalOptions(models=options.models[::-1]))
        fresh = runner.run_id_for(eval_set, EvalOptions(models=options.models, new_run=True))
        assert fresh != same

        first = await runner.run(eval_set, options)
        extended = await runner.run(load_eval_set(tuned.eval).limited(4), options)
        assert extended.run_id == first.run_id
        assert extended.asked == 4  # only the two new items, for both models
        new = EvalOptions(models=options.models, new_run=True)
        announced = runner.plan(eval_set, new)
        assert not announced.resumed
        separate = await runner.run(eval_set, new, run_id=announced.run_id)
        assert separate.run_id == announced.run_id != first.run_id
        assert separate.asked == 4

        with pytest.raises(EvalConfigError, match="cannot be resumed"):
            await runner.run(eval_set, EvalOptions(models=(BASE_MODEL,), run_id=first.run_id))


def test_options_are_checked() -> None:
    for bad in [
        EvalOptions(models=()),
        EvalOptions(models=("a", "a")),
        EvalOptions(models=("a",), judge="j"),
        EvalOptions(models=("a", "b"), concurrency=0),
        EvalOptions(models=("a",), temperature=2.0),
        EvalOptions(models=("a",), run_id="x", new_run=True),
    ]:
        with pytest.raises(EvalConfigError):
            bad.check()


async def test_progress_reports_every_answer(tuned: Tuned, ledger: Ledger) -> None:
    class Calls:
        def __init__(self) -> None:
            self.log: list[tuple[str, Any]] = []

        def start(self, task: str, total: int | None = None, unit: str = "") -> None:
            self.log.append(("start", total))

        def advance(self, amount: int = 1) -> None:
            self.log.append(("advance", amount))

        def finish(self) -> None:
            self.log.append(("finish", None))

    calls = Calls()
    events: list[RunEvent] = []
    eval_set = load_eval_set(tuned.eval).limited(3)
    options = EvalOptions(models=(tuned.model, BASE_MODEL), judge=JUDGE_MODEL)
    await run_eval(
        tuned, ledger, options, eval_set=eval_set, progress=calls, listener=events.append
    )
    assert calls.log[0] == ("start", 6)
    assert calls.log.count(("advance", 1)) == 6 + 3
    assert ("start", 3) in calls.log
    assert calls.log[-1] == ("finish", None)
    assert sum(isinstance(e, AnswerRecorded) for e in events) == 6


def test_sandbox_fixture_is_loopback(tuned: Tuned) -> None:
    assert tuned.sandbox.url.startswith("http://127.0.0.1:")
    assert Path(tuned.eval).exists()
