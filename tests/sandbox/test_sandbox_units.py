"""The pure parts of the sandbox: clocks, the job plan, the loss curve, faults, stand-ins."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuner.datasets import pricing
from tuner.sandbox import ManualClock, ScaledClock, parse_faults
from tuner.sandbox import clock as clock_module
from tuner.sandbox.catalog import BASE_MODELS, base_model, run_seconds, token_cost
from tuner.sandbox.faults import FaultInjector, FaultPlan, FaultSpecError
from tuner.sandbox.lifecycle import (
    Status,
    checkpoint_steps,
    planned_checkpoints,
    settle_validation,
    status_at,
)
from tuner.sandbox.records import JobRecord, TrainingFileRef
from tuner.sandbox.standin import ReplyIndex, embed, generic_reply, stable_id, truncate_tokens

from .support import START, training_data

SEVEN_B = base_model("open-mistral-7b")
assert SEVEN_B is not None


def a_job(steps: int = 100, **fields: object) -> JobRecord:
    record = JobRecord(
        id="0f0e0d0c-0000-4000-8000-000000000000",
        owner="abcd1234",
        model="open-mistral-7b",
        created_at=START,
        auto_start=True,
        training_files=[TrainingFileRef(file_id="f")],
        hyperparameters={"training_steps": steps},
        validation=settle_validation(
            ok=True,
            error=None,
            data_tokens=50_000,
            conversations=10,
            training_steps=steps,
            epochs=None,
            model=SEVEN_B,
        ),
    )
    return record.model_copy(update=fields)


def test_manual_clock_moves_only_forward() -> None:
    clock = ManualClock(100)
    assert clock.now() == 100
    assert clock.advance(5.5) == 105.5
    with pytest.raises(ValueError):
        clock.advance(-1)
    clock.resume_from(50)
    assert clock.now() == 105.5
    clock.resume_from(200)
    assert clock.now() == 200


def test_scaled_clock_runs_speed_times_faster(monkeypatch: pytest.MonkeyPatch) -> None:
    real = [1000.0]
    monkeypatch.setattr(clock_module.time, "monotonic", lambda: real[0])
    clock = ScaledClock(100, wall=START)
    assert clock.now() == START
    real[0] += 2
    assert clock.now() == START + 200
    clock.resume_from(START + 1000)
    assert clock.now() == START + 1000
    real[0] += 1
    assert clock.now() == START + 1100
    with pytest.raises(ValueError):
        ScaledClock(0)


def test_checkpoint_steps_examples() -> None:
    assert checkpoint_steps(0) == []
    assert checkpoint_steps(5) == [5]
    assert checkpoint_steps(10) == [10]
    assert checkpoint_steps(25) == [10, 20, 25]
    assert checkpoint_steps(100) == list(range(10, 101, 10))
    assert checkpoint_steps(250) == list(range(25, 251, 25))


@settings(deadline=None, max_examples=200)
@given(st.integers(min_value=1, max_value=20_000))
def test_checkpoints_every_tenth_at_least_ten_apart(steps: int) -> None:
    marks = checkpoint_steps(steps)
    assert marks[-1] == steps
    assert marks == sorted(set(marks))
    assert len(marks) <= 11
    gaps = [b - a for a, b in itertools.pairwise(marks)]
    # Only the final checkpoint may come sooner than 10 steps after the previous one.
    assert all(gap >= 10 for gap in gaps[:-1])


@settings(deadline=None, max_examples=100)
@given(st.integers(min_value=1, max_value=5_000), st.integers(min_value=0, max_value=2**32))
def test_loss_curve_decreases_and_is_seeded(steps: int, seed: int) -> None:
    job = a_job(steps)
    curve = planned_checkpoints(job, SEVEN_B, seed=seed, has_validation_data=True)
    losses = [c.metrics.train_loss for c in curve]
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))
    assert all(0 < loss < 3 for loss in losses)
    assert all(c.metrics.valid_loss is not None for c in curve)
    again = planned_checkpoints(job, SEVEN_B, seed=seed, has_validation_data=True)
    assert again == curve
    other = planned_checkpoints(job, SEVEN_B, seed=seed + 1, has_validation_data=True)
    assert [c.metrics for c in other] != [c.metrics for c in curve]
    bare = planned_checkpoints(job, SEVEN_B, seed=seed, has_validation_data=False)
    assert all(c.metrics.valid_loss is None for c in bare)


def test_plan_of_an_auto_started_job() -> None:
    job = a_job(10)
    running = START + 20 + 10
    finish = running + run_seconds(SEVEN_B, 10)
    assert finish - running == 120
    assert status_at(job, SEVEN_B, START) is Status.QUEUED
    assert status_at(job, SEVEN_B, START + 5) is Status.VALIDATING
    assert status_at(job, SEVEN_B, START + 20) is Status.QUEUED  # validated, then queued
    assert status_at(job, SEVEN_B, running) is Status.RUNNING
    assert status_at(job, SEVEN_B, finish - 1) is Status.RUNNING
    assert status_at(job, SEVEN_B, finish) is Status.SUCCESS
    cancelled = job.model_copy(update={"cancel_requested_at": running + 1})
    assert status_at(cancelled, SEVEN_B, finish) is Status.CANCELLED


def test_the_catalog_takes_its_figures_from_the_price_table() -> None:
    tuned = [model for model in BASE_MODELS if model.fine_tunable]
    assert len(tuned) == 7
    for model in tuned:
        assert model.training is pricing.price_for(model.id)
        estimate = pricing.estimate(1_000_000, model.id, training_steps=25)
        assert model.train_tokens_per_step == estimate.train_tokens_per_step
        assert token_cost(model, estimate.train_tokens) == estimate.token_cost
        assert run_seconds(model, 25) == estimate.expected_duration_seconds
    embedder = base_model("mistral-embed")
    assert embedder is not None and embedder.training is None
    with pytest.raises(LookupError, match="not fine-tunable"):
        _ = embedder.seconds_per_step


def test_costs_and_durations_match_the_observed_job() -> None:
    assert token_cost(SEVEN_B, 10 * 131_072) == 2.6214
    assert run_seconds(SEVEN_B, 10) == 120
    outcome = settle_validation(
        ok=True,
        error=None,
        data_tokens=30_344_845,
        conversations=1,
        training_steps=10,
        epochs=None,
        model=SEVEN_B,
    )
    assert outcome.epochs == 0.0432
    assert outcome.train_tokens == 1_310_720


def test_fault_spec_parsing() -> None:
    plan = parse_faults("429=0.1,500=0.05,drop=0.02,latency=0.3@0.2")
    assert plan == FaultPlan(((429, 0.1), (500, 0.05)), 0.02, 0.3, 0.2)
    assert parse_faults(None).empty
    assert parse_faults(" ").empty
    for bad in ("429", "x=1", "500=-0.1", "drop=abc", "latency=0.1", "latency=-1@0.5"):
        with pytest.raises(FaultSpecError):
            parse_faults(bad)


def test_fault_rates_follow_the_plan() -> None:
    injector = FaultInjector(parse_faults("429=0.3,drop=0.1,latency=2@0.5"), seed=1)
    decisions = [injector.decide() for _ in range(4000)]
    rate_limited = sum(d.status == 429 for d in decisions) / 4000
    dropped = sum(d.drop for d in decisions) / 4000
    slow = sum(d.delay == 2 for d in decisions) / 4000
    assert math.isclose(rate_limited, 0.3, abs_tol=0.03)
    assert math.isclose(dropped, 0.1, abs_tol=0.02)
    assert math.isclose(slow, 0.5, abs_tol=0.03)
    assert not any(d.drop and d.status for d in decisions)


def test_reply_index_picks_the_closest_user_turn(tmp_path: object) -> None:
    path = tmp_path / "train.jsonl"  # type: ignore[operator]
    path.write_bytes(training_data(with_tool=True))
    index = ReplyIndex.from_files([path])
    best = index.best("refund damaged item")
    assert best is not None
    assert best.content.startswith("Yes: send a photo")
    call = index.best("Lyon weather")
    assert call is not None
    assert call.tool_calls[0].name == "get_weather"
    assert index.best("zebra astronomy") is None


def test_stand_in_helpers() -> None:
    assert "espresso" in generic_reply("The espresso is cold")
    assert "your request" in generic_reply("hi")
    assert truncate_tokens("one two three, four", 3) == ("one two three", True)
    assert truncate_tokens("one two", 5) == ("one two", False)
    ident = stable_id("x")
    assert len(ident) == 9
    assert ident.isalnum()
    assert ident == stable_id("x")
    vector = embed("hello world", 32)
    assert math.isclose(sum(v * v for v in vector), 1, rel_tol=1e-6)
    assert embed("hello world", 32) == vector


def test_sandbox_keeps_to_its_layer() -> None:
    # A fresh interpreter: the sandbox must not pull in the API client, the jobs core, httpx
    # (only tuner.api speaks HTTP as a client) or the UI/CLI libraries.
    code = (
        "import importlib, pkgutil, sys\n"
        "import tuner.sandbox as pkg\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "bad = ('tuner.api', 'tuner.jobs', 'httpx', 'textual', 'typer')\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(bad))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
