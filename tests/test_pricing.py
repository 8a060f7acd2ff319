"""The cost and duration estimate, and the server's figures beside it."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tuner.datasets.pricing import (
    MINIMUM_FEE_USD,
    OVERRIDE_KEYS,
    PRICES,
    STORAGE_USD_PER_MONTH,
    ComparisonRow,
    Estimate,
    compare,
    estimate,
    price_for,
)
from tuner.datasets.tokenizers import UnknownModelError, fine_tunable_models

# The one real open-mistral-7b job on record (docs/api.md#the-job-object, job metadata).
OBSERVED = {
    "expected_duration_seconds": 120,
    "cost": 2.6214,
    "cost_currency": "USD",
    "train_tokens_per_step": 131_072,
    "train_tokens": 1_310_720,
    "data_tokens": 30_344_845,
    "epochs": 0.0432,
    "estimated_start_time": None,
}


def test_the_observed_job_is_reproduced() -> None:
    result = estimate(30_344_845, "open-mistral-7b", training_steps=10)
    assert result.train_tokens == 1_310_720
    assert result.token_cost == 2.6214  # exactly what the server reported
    assert result.billed_cost == MINIMUM_FEE_USD  # the $4 minimum applies
    assert result.expected_duration_seconds == 120
    assert round(result.epochs, 4) == 0.0432
    assert result.is_estimate is True
    assert result.currency == "USD"
    assert result.price_source == "observed"
    assert result.storage_per_month == STORAGE_USD_PER_MONTH == 2.0
    assert result.basis == "steps"


def test_compare_puts_the_server_figures_beside_ours() -> None:
    rows = compare(estimate(30_344_845, "open-mistral-7b", training_steps=10), OBSERVED)
    assert all(isinstance(row, ComparisonRow) for row in rows)
    assert [row.field for row in rows] == [
        "expected_duration_seconds",
        "cost",
        "cost_currency",
        "train_tokens_per_step",
        "train_tokens",
        "data_tokens",
        "epochs",
    ]
    by_field = {row.field: row for row in rows}
    for field in ("expected_duration_seconds", "cost", "cost_currency", "train_tokens"):
        assert by_field[field].local == by_field[field].server
    assert by_field["epochs"].server == 0.0432
    assert by_field["epochs"].local == pytest.approx(0.0432, abs=1e-4)
    # A row is a plain (field, local, server) tuple.
    field, local, server = rows[1]
    assert (field, local, server) == ("cost", 2.6214, 2.6214)


def test_compare_without_server_figures() -> None:
    result = estimate(1000, "open-mistral-7b", training_steps=1)
    rows = compare(result, None)
    assert len(rows) == 7
    assert all(row.server is None for row in rows)
    assert compare(result, {"cost": 0.26, "training_steps": 1})[-1] == ComparisonRow(
        "training_steps", 1, 1
    )


def test_epochs_give_the_fewest_steps_that_cover_them() -> None:
    # 10 steps' worth of data: 3 epochs are exactly 30 steps, not 31 (no float round-up).
    result = estimate(1_310_720, "open-mistral-7b", epochs=3)
    assert result.training_steps == 30
    assert result.epochs == 3.0
    assert result.basis == "epochs"
    assert estimate(1_310_720, "open-mistral-7b", epochs=0.1).training_steps == 1
    # Partial steps round up: 2.05 epochs of 10 steps' worth -> 21 steps.
    assert estimate(1_310_720, "open-mistral-7b", epochs=2.05).training_steps == 21
    # Tiny data: at least one step, and more than the asked epochs.
    tiny = estimate(1000, "open-mistral-7b", epochs=1)
    assert tiny.training_steps == 1
    assert tiny.epochs == 131.072


def test_neither_steps_nor_epochs_means_one_epoch() -> None:
    result = estimate(262_144, "open-mistral-7b")
    assert (result.training_steps, result.basis, result.epochs) == (2, "default", 1.0)


@settings(max_examples=200, deadline=None)
@given(
    data_tokens=st.integers(1, 10**10),
    epochs=st.floats(0.001, 100, allow_nan=False),
    model=st.sampled_from(list(PRICES)),
)
def test_steps_from_epochs_are_minimal(data_tokens: int, epochs: float, model: str) -> None:
    result = estimate(data_tokens, model, epochs=epochs)
    needed = epochs * data_tokens / result.train_tokens_per_step
    assert result.training_steps >= 1
    assert result.training_steps >= needed - 1e-6
    assert result.training_steps - 1 < max(needed, 1) + 1e-6
    assert result.train_tokens == result.training_steps * result.train_tokens_per_step
    assert math.isclose(result.epochs, result.train_tokens / data_tokens)
    assert result.billed_cost == max(result.token_cost, MINIMUM_FEE_USD)


def test_token_cost_scales_and_the_minimum_fee_stops_applying() -> None:
    big = estimate(10**9, "open-mistral-7b", training_steps=100)
    assert big.train_tokens == 13_107_200
    assert big.token_cost == 26.2144
    assert big.billed_cost == big.token_cost


def test_every_fine_tunable_model_has_a_price_and_aliases_work() -> None:
    for model in fine_tunable_models():
        assert price_for(model) is not None, model
    dated = estimate(10**6, "mistral-large-2411", training_steps=1)
    assert dated.base_model == "mistral-large-latest"
    assert dated.model == "mistral-large-2411"
    assert price_for("ft:open-mistral-7b:57d37e6c:20240531:2813b7e6") == PRICES["open-mistral-7b"]
    assert price_for("gpt-4o") is None


def test_guessed_prices_say_so() -> None:
    result = estimate(10**6, "mistral-small-latest", training_steps=10)
    assert result.price_source == "guess"
    assert "unconfirmed" in result.note
    three_b = estimate(10**6, "ministral-3b-latest", training_steps=10)
    assert three_b.train_tokens_per_step == 65_536  # observed on a ministral-3b job


def test_overrides_replace_table_figures() -> None:
    result = estimate(
        10**6,
        "open-mistral-7b",
        training_steps=10,
        overrides={
            "usd_per_million_tokens": 5,
            "train_tokens_per_step": 65_536,
            "seconds_per_step": 2.5,
            "setup_seconds": 0,
            "minimum_fee_usd": 0,
            "storage_usd_per_month": 3,
        },
    )
    assert result.train_tokens == 655_360
    assert result.token_cost == round(0.65536 * 5, 4)
    assert result.billed_cost == result.token_cost  # no minimum
    assert result.expected_duration_seconds == 25
    assert result.storage_per_month == 3.0
    assert result.price_source == "override"


def test_overrides_price_an_unknown_model() -> None:
    with pytest.raises(UnknownModelError, match="open-mistral-7b"):
        estimate(10**6, "some-new-model", training_steps=1)
    result = estimate(
        10**6,
        "some-new-model",
        training_steps=4,
        overrides={"usd_per_million_tokens": 1.0, "train_tokens_per_step": 100_000},
    )
    assert (result.base_model, result.train_tokens, result.token_cost) == (
        "some-new-model",
        400_000,
        0.4,
    )
    assert result.price_source == "override"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"training_steps": 10, "epochs": 1.0}, "not both"),
        ({"training_steps": 0}, "at least 1"),
        ({"training_steps": 2.0}, "at least 1"),
        ({"epochs": 0.0}, "positive"),
        ({"epochs": float("inf")}, "positive"),
        ({"epochs": -1.0}, "positive"),
        ({"overrides": {"price": 1}}, "unknown price override price"),
        ({"overrides": {"usd_per_million_tokens": -1}}, ">= 0"),
        ({"overrides": {"seconds_per_step": True}}, ">= 0"),
        ({"overrides": {"train_tokens_per_step": 0.5}}, "whole number"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        estimate(1000, "open-mistral-7b", **kwargs)  # type: ignore[arg-type]


def test_data_tokens_must_be_positive() -> None:
    with pytest.raises(ValueError, match="data_tokens"):
        estimate(0, "open-mistral-7b", training_steps=1)


def test_estimate_is_a_strict_frozen_record() -> None:
    result = estimate(1000, "open-mistral-7b", training_steps=1)
    data = result.to_dict()
    assert data["is_estimate"] is True and data["currency"] == "USD"
    assert Estimate(**data) == result
    with pytest.raises(ValidationError):
        Estimate(**{**data, "surprise": 1})
    with pytest.raises(ValidationError):
        Estimate(**{**data, "is_estimate": False})
    with pytest.raises(ValidationError):
        Estimate(**{**data, "training_steps": "1"})
    with pytest.raises(ValidationError):
        result.token_cost = 0.0


def test_override_keys_are_documented() -> None:
    assert set(OVERRIDE_KEYS) == {
        "usd_per_million_tokens",
        "train_tokens_per_step",
        "seconds_per_step",
        "setup_seconds",
        "minimum_fee_usd",
        "storage_usd_per_month",
    }
