"""Classifier evaluation runs are stored in the ledger: re-rendered by ``tuner eval show`` and
``eval report``, resumed without asking again what was answered, and never resumed against
another backend (a sandbox's predictions are never passed off as real ones)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tuner.api import APIStatusError
from tuner.cli.main import app
from tuner.evals import EvalConfigError, stable_run_id
from tuner.evals.classifier_run import load_classifier_data
from tuner.evals.classifier_runner import (
    ClassifierOptions,
    ClassifierRunner,
    build_classifier_report,
    run_params,
)
from tuner.evals.runner import is_fatal
from tuner.jobs.ledger import Ledger
from tuner.jobs.records import Backend
from tuner.sandbox import SandboxHandle

from .support import (
    BASE_MODEL,
    START,
    TRAIN_REVIEWS,
    cli_against,
    error_response,
    make_client,
)

pytestmark = pytest.mark.anyio
Classifier = tuple[SandboxHandle, str]
ITEMS = 27  # valid lines of reviews.train.jsonl
TARGETS = 2  # sentiment (single label), topics (multi-label)


class Counting(httpx.AsyncBaseTransport):
    """Forwards to the real transport and counts what was asked: the texts sent to
    /v1/classifications, and (text, target) pairs sent to the chat model.

    ``before(path, body)`` may answer a request itself (return a response) or hold it (await).
    """

    def __init__(
        self,
        before: Callable[[str, dict[str, Any]], Any] | None = None,
        *,
        real_looking: bool = False,
    ) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._before = before
        self._real_looking = real_looking
        self.classified: Counter[str] = Counter()
        self.chatted: Counter[tuple[str, str]] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        path = request.url.path
        if path == "/v1/classifications":
            self.classified.update(body["input"])
        elif path == "/v1/chat/completions":
            system, user = body["messages"][0]["content"], body["messages"][1]["content"]
            target = "topics" if "'topics'" in system else "sentiment"
            self.chatted[(user, target)] += 1
        if self._before is not None:
            answer = self._before(path, body)
            if asyncio.iscoroutine(answer):
                answer = await answer
            if answer is not None:
                return answer  # type: ignore[no-any-return]
        response = await self._inner.handle_async_request(request)
        if self._real_looking:
            del response.headers["x-tuner-sandbox"]
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def run_once(
    url: str,
    ledger: Ledger,
    options: ClassifierOptions,
    transport: Counting,
    limit: int | None = None,
) -> str:
    data = load_classifier_data(TRAIN_REVIEWS, limit)
    async with make_client(url, transport) as client:
        runner = ClassifierRunner(client, ledger, now=lambda: START)
        outcome = await runner.run(data, options)
        return outcome.run_id


def options_for(model: str, **more: Any) -> ClassifierOptions:
    return ClassifierOptions(classifier=model, chat_model=BASE_MODEL, **more)


async def test_a_run_is_stored_and_reported_from_the_ledger(
    classifier: Classifier, ledger: Ledger
) -> None:
    handle, model = classifier
    counting = Counting()
    run_id = await run_once(handle.url, ledger, options_for(model), counting)
    assert sum(counting.classified.values()) == ITEMS
    assert len(counting.chatted) == ITEMS * TARGETS

    run = ledger.get_eval_run(run_id)
    assert run is not None and run.status == "completed"
    assert run.models == [model, BASE_MODEL]
    assert run.backends == [Backend(url=handle.url, sandbox=True)] * 2
    assert run.params is not None and run.params["kind"] == "classifier"
    records = ledger.eval_items(run_id)
    assert len(records) == ITEMS * 2
    first = next(r for r in records if r.model == model and r.item_index == 0)
    assert first.scores is not None
    # The item's truth, the classifier's scores per label and its pick are all kept.
    assert first.scores["truth"] == {"sentiment": ["neutral"], "topics": ["quality"]}
    sentiment = first.scores["scores"]["sentiment"]
    assert set(sentiment) == {"negative", "neutral", "positive"}
    assert first.scores["predicted"]["sentiment"] == max(sentiment, key=sentiment.__getitem__)
    chat = next(r for r in records if r.model == BASE_MODEL and r.item_index == 0)
    assert chat.scores is not None and set(chat.scores["answers"]) == {"sentiment", "topics"}

    report = build_classifier_report(run, records)
    assert report.simulated and report.items == ITEMS
    tuned, asked = report.results
    assert (tuned.role, asked.role) == ("classifier", "chat")
    assert tuned.targets[0].accuracy == 1.0  # the stand-in classifier knows its training data
    assert sum(map(sum, tuned.targets[0].confusion)) == ITEMS
    assert asked.targets[0].accuracy < 1.0


async def test_an_interrupted_run_resumes_without_asking_again(
    classifier: Classifier, ledger: Ledger
) -> None:
    handle, model = classifier
    hold = asyncio.Event()
    chats = 0

    async def stall_after_ten(path: str, _body: dict[str, Any]) -> None:
        nonlocal chats
        if path == "/v1/chat/completions":
            chats += 1
            if chats > 10:
                await hold.wait()  # never set: these requests hang until cancelled

    first = Counting(stall_after_ten)
    options = options_for(model, concurrency=2)
    task = asyncio.create_task(run_once(handle.url, ledger, options, first))
    # The classifier is done, ten chats are answered and two hang, holding both slots.
    for _ in range(3000):
        if chats == 12:
            break
        await asyncio.sleep(0.01)
    assert chats == 12
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    (run,) = ledger.list_eval_runs()
    assert run.status == "cancelled"
    recorded = ledger.eval_items(run.run_id)
    chat_done = {r.item_index for r in recorded if r.model == BASE_MODEL}
    assert len([r for r in recorded if r.model == model]) == ITEMS
    assert 1 <= len(chat_done) < ITEMS

    second = Counting()
    assert await run_once(handle.url, ledger, options, second) == run.run_id
    assert sum(second.classified.values()) == 0  # the classifier's answers were all recorded
    data = load_classifier_data(TRAIN_REVIEWS)
    texts_done = {data.items[i].text for i in chat_done}
    asked_again = {text for text, _ in second.chatted}
    assert not asked_again & texts_done
    assert len(asked_again) == ITEMS - len(chat_done)
    final = ledger.get_eval_run(run.run_id)
    assert final is not None and final.status == "completed"
    assert len(ledger.eval_items(run.run_id)) == ITEMS * 2


async def test_failed_items_are_recorded_and_asked_again(
    classifier: Classifier, ledger: Ledger
) -> None:
    handle, model = classifier

    def fail_classifier(path: str, _body: dict[str, Any]) -> httpx.Response | None:
        if path == "/v1/classifications":
            return error_response(500, "boom")
        return None

    options = ClassifierOptions(classifier=model)
    failing = Counting(fail_classifier)
    run_id = await run_once(handle.url, ledger, options, failing)
    run = ledger.get_eval_run(run_id)
    assert run is not None
    report = build_classifier_report(run, ledger.eval_items(run_id))
    (tuned,) = report.results
    assert (tuned.items, tuned.failed) == (ITEMS, ITEMS)
    assert tuned.targets[0].accuracy == 0.0  # unanswered items count as wrong

    kept = Counting()
    await run_once(handle.url, ledger, ClassifierOptions(model, retry_failed=False), kept)
    assert sum(kept.classified.values()) == 0

    retried = Counting()
    assert await run_once(handle.url, ledger, options, retried) == run_id
    assert sum(retried.classified.values()) == ITEMS
    again = ledger.get_eval_run(run_id)
    assert again is not None
    (tuned,) = build_classifier_report(again, ledger.eval_items(run_id)).results
    assert (tuned.failed, tuned.targets[0].accuracy) == (0, 1.0)


async def test_an_unknown_chat_model_stops_the_run_and_keeps_what_was_answered(
    classifier: Classifier, ledger: Ledger
) -> None:
    handle, model = classifier
    options = ClassifierOptions(classifier=model, chat_model="no-such-model")
    with pytest.raises(APIStatusError) as raised:
        await run_once(handle.url, ledger, options, Counting())
    assert is_fatal(raised.value)
    (run,) = ledger.list_eval_runs()
    assert run.status == "failed"
    recorded = ledger.eval_items(run.run_id)
    # The classifier's answers stay recorded; no chat item was recorded as failed.
    assert {r.model for r in recorded} == {model}
    assert len(recorded) == ITEMS


async def test_a_limited_run_is_extended_by_a_later_one(
    classifier: Classifier, ledger: Ledger
) -> None:
    handle, model = classifier
    options = ClassifierOptions(classifier=model)
    first = Counting()
    run_id = await run_once(handle.url, ledger, options, first, limit=10)
    assert sum(first.classified.values()) == 10
    rest = Counting()
    assert await run_once(handle.url, ledger, options, rest) == run_id
    assert sum(rest.classified.values()) == ITEMS - 10
    assert not set(rest.classified) & set(first.classified)


async def test_a_sandbox_run_is_never_resumed_as_a_real_one(
    classifier: Classifier, ledger: Ledger
) -> None:
    handle, model = classifier
    options = ClassifierOptions(classifier=model)
    sandboxed = await run_once(handle.url, ledger, options, Counting())
    # The same server without its sandbox header: a different backend, so a different run,
    # and every item is asked again.
    real = Counting(real_looking=True)
    real_id = await run_once(handle.url, ledger, options, real)
    assert real_id != sandboxed
    assert sum(real.classified.values()) == ITEMS
    stored = ledger.get_eval_run(real_id)
    assert stored is not None and stored.backends == [Backend(url=handle.url, sandbox=False)]
    assert not build_classifier_report(stored, ledger.eval_items(real_id)).simulated
    # Naming the sandbox's run explicitly does not let it through either.
    data = load_classifier_data(TRAIN_REVIEWS)
    async with make_client(handle.url, Counting(real_looking=True)) as client:
        runner = ClassifierRunner(client, ledger, now=lambda: START)
        await runner.learn_backend()
        with pytest.raises(EvalConfigError, match="answered by the sandbox"):
            runner.plan(data, ClassifierOptions(classifier=model, run_id=sandboxed))
    # The run id is the chat runs' digest over the same inputs, backends included.
    expected = stable_run_id(
        data.data_hash,
        (model,),
        None,
        run_params(data, options),
        [Backend(url=handle.url, sandbox=True)],
    )
    assert sandboxed == expected


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli(classifier: Classifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return cli_against(classifier[0].url, tmp_path, monkeypatch)


def invoke(cli: CliRunner, *args: str) -> Any:
    return cli.invoke(app, ["eval", *args], catch_exceptions=False)


def test_eval_show_rerenders_a_stored_classifier_run(
    cli: CliRunner, classifier: Classifier, tmp_path: Path
) -> None:
    model = classifier[1]
    args = ["--data", str(TRAIN_REVIEWS), "--model", model, "--baseline", BASE_MODEL]
    ran = invoke(cli, "run", *args, "--json")
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.stdout)
    run_id = report["run_id"]
    assert report["backend"] == {"url": classifier[0].url, "sandbox": True}
    assert all(result["simulated"] for result in report["results"])

    shown = invoke(cli, "show", run_id, "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == report

    text = invoke(cli, "show", run_id[:8])
    assert text.exit_code == 0, text.output
    for expected in ("SIMULATED", "classifier", "accuracy", "macro-F1", "confusion", model):
        assert expected in text.stdout

    page = tmp_path / "stored.html"
    written = invoke(cli, "report", run_id, "--html", str(page))
    assert written.exit_code == 0, written.output
    html = page.read_text(encoding="utf-8")
    assert "SIMULATED" in html and "macro-F1" in html and run_id in html

    listed = json.loads(invoke(cli, "list", "--json").stdout)
    assert [(r["run_id"], r["kind"], r["simulated"]) for r in listed] == [
        (run_id, "classifier", True)
    ]
    assert listed[0]["answered"] == ITEMS * 2

    # The same command again resumes the stored run: nothing left to ask.
    again = invoke(cli, "run", *args)
    assert again.exit_code == 0, again.output
    assert f"resuming run {run_id}" in again.output and "0 to ask" in again.output

    # Compared with itself (`tuner eval compare` takes two classifier runs): no difference.
    itself = invoke(cli, "compare", run_id, run_id, "--json")
    assert itself.exit_code == 0, itself.output
    roles = json.loads(itself.stdout)["roles"]
    assert [(r["role"], r["items"]) for r in roles] == [("classifier", ITEMS), ("chat", ITEMS)]
    assert all(t["macro_f1"]["difference"] == 0 for r in roles for t in r["targets"])
