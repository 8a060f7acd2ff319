"""Evaluation runs carry the backend that answered each model: a run made against one server
(a sandbox) is never resumed against another, and a sandbox's run is marked SIMULATED in the
terminal, JSON and HTML reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tuner.api import APIStatusError
from tuner.evals import EvalConfigError, EvalOptions, EvalRunner, load_eval_set, load_report
from tuner.evals.html import render_html
from tuner.jobs.ledger import Ledger
from tuner.jobs.records import Backend
from tuner.sandbox import ManualClock, SandboxHandle, start_in_thread

from .conftest import Tuned
from .support import BASE_MODEL, START, Recorder, last_user, make_client

pytestmark = pytest.mark.anyio


@pytest.fixture
def second_sandbox(tmp_path: Path) -> Iterator[SandboxHandle]:
    handle = start_in_thread(tmp_path / "other-sandbox", port=0, clock=ManualClock(START))
    try:
        yield handle
    finally:
        handle.stop()


async def ask(url: str, ledger: Ledger, eval_path: Path, recorder: Recorder) -> str:
    async with make_client(url, recorder) as client:
        runner = EvalRunner(client, ledger, now=lambda: START)
        outcome = await runner.run(load_eval_set(eval_path), EvalOptions(models=(BASE_MODEL,)))
        return outcome.run_id


async def test_runs_on_two_backends_with_one_ledger_stay_apart(
    tuned: Tuned, second_sandbox: SandboxHandle, ledger: Ledger
) -> None:
    first, second = Recorder(), Recorder()
    first_id = await ask(tuned.sandbox.url, ledger, tuned.eval, first)
    second_id = await ask(second_sandbox.url, ledger, tuned.eval, second)
    # The second backend was asked every item itself: nothing was reused from the first.
    assert asked(second) == asked(first) == 20
    assert first_id != second_id
    runs = {run.run_id: run for run in ledger.list_eval_runs()}
    assert runs[first_id].backends == [Backend(url=tuned.sandbox.url, sandbox=True)]
    assert runs[second_id].backends == [Backend(url=second_sandbox.url, sandbox=True)]
    # The same backend again resumes (asks nothing).
    again = Recorder()
    assert await ask(tuned.sandbox.url, ledger, tuned.eval, again) == first_id
    assert again.chats() == []


def asked(recorder: Recorder) -> int:
    """How many different prompts were sent (a retried request counts once)."""
    return len({last_user(body["messages"]) for body in recorder.chats()})


class _RealLooking(httpx.AsyncBaseTransport):
    """The sandbox's answers without its ``x-tuner-sandbox`` header: a server that says it is
    not a sandbox, at the same URL."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        del response.headers["x-tuner-sandbox"]
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_sandbox_run_is_never_resumed_as_a_real_one_at_the_same_url(
    tuned: Tuned, ledger: Ledger
) -> None:
    eval_set = load_eval_set(tuned.eval)
    options = EvalOptions(models=(BASE_MODEL,))
    async with make_client(tuned.sandbox.url) as client:
        sandbox_run = await EvalRunner(client, ledger, now=lambda: START).run(eval_set, options)
    async with make_client(tuned.sandbox.url, _RealLooking()) as client:
        runner = EvalRunner(client, ledger, now=lambda: START)
        await runner.learn_backend()
        assert client.is_sandbox is False
        # A new identity: the real server's run is a run of its own ...
        assert runner.run_id_for(eval_set, options) != sandbox_run.run_id
        # ... and naming the sandbox's run explicitly is refused, not resumed.
        forced = EvalOptions(models=(BASE_MODEL,), run_id=sandbox_run.run_id)
        with pytest.raises(EvalConfigError, match="answered by the sandbox"):
            runner.plan(eval_set, forced)


async def test_a_sandbox_run_is_marked_simulated_in_json_and_html(
    tuned: Tuned, ledger: Ledger
) -> None:
    run_id = await ask(tuned.sandbox.url, ledger, tuned.eval, Recorder())
    report = load_report(ledger, run_id)
    summary = report.as_json()
    assert summary["simulated"] is True
    assert summary["backend"] == {"url": tuned.sandbox.url, "sandbox": True}
    html = render_html(report)
    assert 'class="simulated"' in html and "SIMULATED" in html
    assert tuned.sandbox.url in html


async def test_a_server_that_cannot_say_what_it_is_stops_the_run_before_anything_is_stored(
    tuned: Tuned, ledger: Ledger
) -> None:
    def down(body: dict[str, object]) -> httpx.Response:
        return httpx.Response(503, json={"message": "down"})

    async with make_client(tuned.sandbox.url, Recorder(down)) as client:
        runner = EvalRunner(client, ledger, now=lambda: START)
        with pytest.raises(APIStatusError):
            await runner.run(load_eval_set(tuned.eval), EvalOptions(models=(BASE_MODEL,)))
    assert ledger.list_eval_runs() == []
