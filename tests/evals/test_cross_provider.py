"""One evaluation, two providers: a model tuned on the OpenAI sandbox against one tuned on the
Mistral sandbox (both on 127.0.0.1, port 0), each asked through its own client, judged by
either; stored with each model's backend, shown SIMULATED, resumable."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tuner.api import RetryPolicy
from tuner.api.openai import OpenAIClient
from tuner.cli.main import app
from tuner.evals import EvalConfigError, EvalOptions, EvalRunner, load_eval_set, load_report
from tuner.evals.html import render_html
from tuner.evals.providers import ModelRef, model_ref
from tuner.jobs.ledger import Ledger
from tuner.jobs.records import Backend
from tuner.sandbox import ManualClock, SandboxHandle, start_in_thread

from .conftest import Tuned
from .support import (
    API_KEY,
    JUDGE_MODEL,
    START,
    Recorder,
    cli_against,
    fine_tune_in_sandbox,
    make_client,
)

pytestmark = pytest.mark.anyio
OPENAI_BASE = "gpt-4o-mini-2024-07-18"


@dataclass(frozen=True)
class OpenAITuned:
    sandbox: SandboxHandle
    model: str

    @property
    def url(self) -> str:
        return self.sandbox.url + "/v1"


@pytest.fixture(scope="module")
def openai_tuned(tuned: Tuned, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenAITuned]:
    """The OpenAI sandbox, with a model tuned on the same training split as the Mistral one."""
    root = tmp_path_factory.mktemp("openai-evals")
    handle = start_in_thread(root / "sandbox", port=0, clock=ManualClock(START), provider="openai")
    try:
        yield OpenAITuned(handle, _fine_tune(handle, tuned.train))
    finally:
        handle.stop()


def _fine_tune(handle: SandboxHandle, train: Path) -> str:
    def job(file_id: str) -> dict[str, Any]:
        return {
            "model": OPENAI_BASE,
            "training_file": file_id,
            "suffix": "support",
            "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1}}},
        }

    return fine_tune_in_sandbox(handle, "/v1", train, job, seconds=100_000, succeeded="succeeded")


async def _no_sleep(_seconds: float) -> None:
    return None


def openai_client(url: str, transport: httpx.AsyncBaseTransport | None = None) -> OpenAIClient:
    return OpenAIClient(
        [API_KEY],
        base_url=url,
        retry=RetryPolicy(max_attempts=2, max_elapsed=60.0),
        transport=transport,
        sleep=_no_sleep,
    )


def test_a_model_id_names_its_provider() -> None:
    assert model_ref("openai:ft:gpt-4o-mini-2024-07-18:acme:care:ab12") == ModelRef(
        "openai", "ft:gpt-4o-mini-2024-07-18:acme:care:ab12"
    )
    assert model_ref("openai:o4-mini") == ModelRef("openai", "o4-mini")
    assert model_ref("gpt-4o-mini") == ModelRef("openai", "gpt-4o-mini")
    assert model_ref("ft:gpt-4.1-mini-2025-04-14:acme::x1") == ModelRef(
        "openai", "ft:gpt-4.1-mini-2025-04-14:acme::x1"
    )
    # Mistral's tuned names also start "ft:"; only "ft:gpt-" is taken as OpenAI's.
    assert model_ref("ft:open-mistral-7b:abc:20250101:def") == ModelRef(
        "mistral", "ft:open-mistral-7b:abc:20250101:def"
    )
    assert model_ref("mistral:gpt-lookalike") == ModelRef("mistral", "gpt-lookalike")
    assert model_ref("mistral-small-latest") == ModelRef("mistral", "mistral-small-latest")
    with pytest.raises(ValueError, match="no model"):
        model_ref("openai:")
    with pytest.raises(EvalConfigError, match="Mistral"):
        EvalOptions(models=("a",), embed_model="openai:text-embedding-3-small").check()


@dataclass
class Both:
    runner: EvalRunner
    mistral: Recorder
    openai: Recorder


@pytest.fixture
async def both(tuned: Tuned, openai_tuned: OpenAITuned, ledger: Ledger) -> AsyncIterator[Both]:
    mistral_seen, openai_seen = Recorder(), Recorder()
    async with (
        make_client(tuned.sandbox.url, mistral_seen) as mistral,
        openai_client(openai_tuned.url, openai_seen) as openai,
    ):
        runner = EvalRunner(mistral, ledger, openai_client=openai, now=lambda: START)
        yield Both(runner, mistral_seen, openai_seen)


async def test_each_model_is_asked_through_its_own_provider_and_stored_with_its_backend(
    tuned: Tuned, openai_tuned: OpenAITuned, ledger: Ledger, both: Both
) -> None:
    eval_set = load_eval_set(tuned.eval)
    candidate = "openai:" + openai_tuned.model
    options = EvalOptions(models=(candidate, tuned.model), judge="openai:" + OPENAI_BASE)

    first = await both.runner.run(eval_set.limited(5), options)
    assert (first.asked, first.failed, first.judged) == (10, 0, 5)
    # Each server saw only its own models, and never tuner's prefix.
    answered = [b for b in both.openai.chats() if "response_format" not in b]
    assert {b["model"] for b in answered} == {openai_tuned.model}
    assert {b["model"] for b in both.openai.judge_requests()} == {OPENAI_BASE}
    assert {b["model"] for b in both.mistral.chats()} == {tuned.model}

    # Interrupted after five items: the same evaluation resumes and asks only the rest.
    resumed = await both.runner.run(eval_set, options)
    assert resumed.run_id == first.run_id and resumed.resumed
    assert (resumed.asked, resumed.judged) == (2 * (len(eval_set.items) - 5), 15)
    again = await both.runner.run(eval_set, options)
    assert (again.asked, again.judged) == (0, 0)

    run = ledger.get_eval_run(first.run_id)
    assert run is not None and run.status == "completed"
    assert run.models == [candidate, tuned.model]
    assert run.backends == [
        Backend(url=openai_tuned.url, sandbox=True),
        Backend(url=tuned.sandbox.url, sandbox=True),
    ]
    report = load_report(ledger, first.run_id)
    summary = report.as_json()
    assert summary["simulated"] is True
    assert summary["backend"] == {
        candidate: {"url": openai_tuned.url, "sandbox": True},
        tuned.model: {"url": tuned.sandbox.url, "sandbox": True},
    }
    assert summary["judge"]["backend"] == {"url": openai_tuned.url, "sandbox": True}
    judged = summary["judge"]
    assert judged["wins"] + judged["ties"] + judged["losses"] == len(eval_set.items)
    note = report.simulated_note
    assert note is not None and note.startswith("SIMULATED")
    assert openai_tuned.url in note and tuned.sandbox.url in note
    assert all(summary["models"][m]["failed"] == 0 for m in run.models)
    # Both sandboxes' tuned models learnt the same training split and answer from it with the
    # same stand-in: the cross-provider comparison is even, as it should be.
    scores = summary["models"]
    assert scores[candidate]["token_f1"] > 0.2
    assert scores[candidate]["token_f1"] == pytest.approx(scores[tuned.model]["token_f1"])
    html = render_html(report)
    assert "SIMULATED" in html and openai_tuned.url in html


async def test_a_judge_on_the_other_provider_is_part_of_the_run(
    tuned: Tuned, openai_tuned: OpenAITuned, both: Both, ledger: Ledger
) -> None:
    eval_set = load_eval_set(tuned.eval).limited(3)
    models = ("openai:" + openai_tuned.model, tuned.model)
    by_mistral = EvalOptions(models=models, judge=JUDGE_MODEL)
    outcome = await both.runner.run(eval_set, by_mistral)
    assert outcome.judged == 3
    assert {b["model"] for b in both.mistral.judge_requests()} == {JUDGE_MODEL}
    assert both.openai.judge_requests() == []
    report = load_report(ledger, outcome.run_id).as_json()
    assert report["judge"]["backend"] == {"url": tuned.sandbox.url, "sandbox": True}
    by_openai = EvalOptions(models=models, judge="openai:" + OPENAI_BASE)
    assert both.runner.run_id_for(eval_set, by_openai) != outcome.run_id


async def test_an_openai_model_without_a_client_is_refused(tuned: Tuned, ledger: Ledger) -> None:
    async with make_client(tuned.sandbox.url) as mistral:
        runner = EvalRunner(mistral, ledger, now=lambda: START)
        options = EvalOptions(models=("gpt-4o-mini", tuned.model))
        with pytest.raises(EvalConfigError, match="no openai client"):
            await runner.run(load_eval_set(tuned.eval), options)
    assert ledger.list_eval_runs() == []


def test_the_cli_compares_models_of_two_providers(
    tuned: Tuned, openai_tuned: OpenAITuned, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = cli_against(tuned.sandbox.url, tmp_path, monkeypatch)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_tuned.url)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    for name in ("TUNER_OPENAI_API_KEYS", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    args = ["eval", "run", "--data", str(tuned.eval), "--limit", "4", "--quiet"]
    # An unprefixed ft:gpt- id is taken as OpenAI's.
    models = ["-m", openai_tuned.model, "-b", tuned.model, "--judge", "openai:" + OPENAI_BASE]
    result = cli.invoke(app, [*args, *models], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.lstrip().startswith("SIMULATED")
    assert (
        f"candidate: {openai_tuned.model} (openai, SIMULATED: sandbox at {openai_tuned.url})"
        in (" ".join(out.split()))
    )
    assert f"(mistral, SIMULATED: sandbox at {tuned.sandbox.url})" in " ".join(out.split())
    assert "judge openai:" + OPENAI_BASE in out

    listed = cli.invoke(app, ["eval", "list", "--json"], catch_exceptions=False)
    (run,) = json.loads(listed.stdout)
    assert run["simulated"] is True
    assert run["backend"][openai_tuned.model] == {"url": openai_tuned.url, "sandbox": True}
    shown: dict[str, Any] = json.loads(
        cli.invoke(app, ["eval", "show", run["run_id"], "--json"], catch_exceptions=False).stdout
    )
    assert shown["judge"]["backend"] == {"url": openai_tuned.url, "sandbox": True}
    rerun = cli.invoke(app, [*args, *models, "--json"], catch_exceptions=False)
    assert rerun.exit_code == 0, rerun.output
    assert json.loads(rerun.stdout)["run_id"] == run["run_id"]  # resumed, not a new run
