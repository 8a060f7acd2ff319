"""The cost and duration of a fine-tuning job, estimated before it starts: the price table.

Everything here is an ESTIMATE; say so wherever it is shown. What is known
(``docs/data.md#cost-and-duration-estimate``, job ``metadata`` of real jobs):

- ``train_tokens = training_steps × train_tokens_per_step`` and ``epochs = train_tokens /
  data_tokens`` (the platform's own metadata fits both exactly);
- open-mistral-7b: 131,072 training tokens per step, about $2 per million training tokens, and a
  10-step job announced ``expected_duration_seconds=120`` and ``cost=2.6214`` USD (2024);
- ministral-3b (a classifier job): 65,536 tokens per step and about €0.50 per million (2025);
- a minimum fee of $4 per job and $2 per model per month of storage (Mistral's docs). The
  server's ``metadata.cost`` is the token cost alone, so the estimate shows both the token cost and
  what is billed once the minimum applies.

Every other price, every other tokens-per-step figure and all durations are guesses (marked
``price_source="guess"``). The local sandbox (``tuner/sandbox/catalog.py``) takes its figures
from this table and its formulas (:func:`token_cost`, :func:`duration_seconds`), so its
simulated jobs and this estimate agree. Override any of them in config (see
:data:`OVERRIDE_KEYS`).

Duration: ``setup_seconds + training_steps × seconds_per_step``. Only one job was observed (10
steps of open-mistral-7b in 120 s), so how that splits between set-up and steps is itself a guess
(20 s + 10 × 10 s); other models' step times are scaled guesses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Final, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from tuner.datasets.tokenizers import UnknownModelError, model_info

MINIMUM_FEE_USD: Final = 4.0  # per job (Mistral docs)
STORAGE_USD_PER_MONTH: Final = 2.0  # per fine-tuned model (Mistral docs)
SETUP_SECONDS: Final = 20.0  # guess: the observed 120 s for 10 steps minus 10 × 10 s
# The platform reports ``metadata.cost`` with 4 decimals (2.6214 for 1,310,720 tokens at $2/M).
_COST_DECIMALS: Final = 4

PriceSource = Literal["observed", "guess", "override"]


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """What training one base model costs and how fast it goes (see the module docstring)."""

    usd_per_million_tokens: float
    train_tokens_per_step: int
    seconds_per_step: float
    source: PriceSource
    note: str


_GUESS: Final = "unconfirmed: the platform never published it; same figure as the sandbox"

PRICES: Final[Mapping[str, ModelPrice]] = {
    "open-mistral-7b": ModelPrice(
        2.0,
        131_072,
        10.0,
        "observed",
        "job metadata 2024: 131,072 tokens/step, $2.6214 for 10 steps",
    ),
    "mistral-small-latest": ModelPrice(6.0, 131_072, 16.0, "guess", _GUESS),
    "codestral-latest": ModelPrice(3.0, 131_072, 14.0, "guess", _GUESS),
    "open-mistral-nemo": ModelPrice(3.0, 131_072, 12.0, "guess", _GUESS),
    "mistral-large-latest": ModelPrice(9.0, 131_072, 30.0, "guess", _GUESS),
    "mistral-large-2407": ModelPrice(9.0, 131_072, 30.0, "guess", _GUESS),
    "ministral-8b-latest": ModelPrice(1.0, 131_072, 8.0, "guess", _GUESS),
    "ministral-3b-latest": ModelPrice(
        0.5,
        65_536,
        5.0,
        "guess",
        "65,536 tokens/step observed; €0.50/M observed, USD price unknown",
    ),
}

# Config keys that replace a figure of the table (per model or for a model it does not know).
OVERRIDE_KEYS: Final = (
    "usd_per_million_tokens",
    "train_tokens_per_step",
    "seconds_per_step",
    "setup_seconds",
    "minimum_fee_usd",
    "storage_usd_per_month",
)


class Estimate(BaseModel):
    """A job's estimated size, cost and duration; ``is_estimate`` is always true."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    model: str
    base_model: str
    data_tokens: int
    training_steps: int
    train_tokens_per_step: int
    train_tokens: int
    epochs: float
    # Where ``training_steps`` came from: given, derived from epochs, or one epoch by default.
    basis: Literal["steps", "epochs", "default"]
    usd_per_million_tokens: float
    token_cost: float  # what the server reports as ``metadata.cost``
    minimum_fee: float
    billed_cost: float  # max(token cost, minimum fee)
    storage_per_month: float
    expected_duration_seconds: int
    price_source: PriceSource
    note: str
    currency: Literal["USD"] = "USD"
    is_estimate: Literal[True] = True

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def token_cost(train_tokens: int, usd_per_million_tokens: float) -> float:
    """The token cost of a job as the platform reports it in ``metadata.cost``: 4 decimals, no
    minimum fee."""
    return round(train_tokens / 1_000_000 * usd_per_million_tokens, _COST_DECIMALS)


def duration_seconds(
    training_steps: int, seconds_per_step: float, *, setup_seconds: float = SETUP_SECONDS
) -> int:
    """How long a job of ``training_steps`` steps runs: the set-up, then the steps."""
    return round(setup_seconds + training_steps * seconds_per_step)


def price_for(model: str) -> ModelPrice | None:
    """The table's figures for a model name, alias, dated name or fine-tuned id; None if unknown."""
    info = model_info(model)
    return PRICES.get(info.name) if info is not None else None


def _check_overrides(overrides: Mapping[str, float | int]) -> None:
    unknown = sorted(set(overrides) - set(OVERRIDE_KEYS))
    if unknown:
        raise ValueError(
            f"unknown price override {', '.join(unknown)}; known: {', '.join(OVERRIDE_KEYS)}"
        )
    for key, value in overrides.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ValueError(f"price override {key} must be a number >= 0, not {value!r}")
    tokens_per_step = overrides.get("train_tokens_per_step")
    if tokens_per_step is not None and (
        int(tokens_per_step) != tokens_per_step or tokens_per_step < 1
    ):
        raise ValueError(
            f"train_tokens_per_step must be a whole number >= 1, not {tokens_per_step!r}"
        )


def _price(model: str, overrides: Mapping[str, float | int]) -> tuple[str, ModelPrice]:
    """(base model name, figures) for ``model``, with the overrides applied."""
    info = model_info(model)
    base = info.name if info is not None else model.strip()
    price = PRICES.get(base)
    if price is None:
        if "usd_per_million_tokens" not in overrides or "train_tokens_per_step" not in overrides:
            raise UnknownModelError(
                f"no price for model {model!r}",
                f"Priced models: {', '.join(PRICES)}. For another model, set "
                "usd_per_million_tokens and train_tokens_per_step in the price overrides",
            )
        price = replace(PRICES["open-mistral-7b"], source="override", note="from config")
    if "usd_per_million_tokens" in overrides:
        price = replace(price, usd_per_million_tokens=float(overrides["usd_per_million_tokens"]))
    if "train_tokens_per_step" in overrides:
        price = replace(price, train_tokens_per_step=int(overrides["train_tokens_per_step"]))
    if "seconds_per_step" in overrides:
        price = replace(price, seconds_per_step=float(overrides["seconds_per_step"]))
    if "usd_per_million_tokens" in overrides:
        price = replace(price, source="override", note="price from config")
    return base, price


def _steps(
    data_tokens: int, tokens_per_step: int, training_steps: int | None, epochs: float | None
) -> tuple[int, Literal["steps", "epochs", "default"]]:
    if training_steps is not None and epochs is not None:
        raise ValueError("give training_steps or epochs, not both")
    if training_steps is not None:
        if not _is_whole(training_steps) or training_steps < 1:
            raise ValueError(
                f"training_steps must be a whole number, at least 1, not {training_steps!r}"
            )
        return training_steps, "steps"
    basis: Literal["epochs", "default"] = "epochs" if epochs is not None else "default"
    wanted = 1.0 if epochs is None else epochs
    if not (wanted > 0 and math.isfinite(wanted)):
        raise ValueError(f"epochs must be a positive number, not {wanted!r}")
    # The decimal the user wrote (``repr``), exactly: 0.1 epoch of 10 steps' worth is 1 step.
    exact = Fraction(repr(float(wanted))) * data_tokens / tokens_per_step
    return max(1, math.ceil(exact)), basis


def estimate(
    data_tokens: int,
    model: str,
    *,
    training_steps: int | None = None,
    epochs: float | None = None,
    overrides: Mapping[str, float | int] | None = None,
) -> Estimate:
    """Cost and duration of training ``model`` on ``data_tokens`` tokens (an estimate).

    Give ``training_steps`` or ``epochs`` (steps are then the fewest that cover them); with
    neither, one epoch. ``overrides`` replaces table figures (:data:`OVERRIDE_KEYS`) and prices
    models the table does not know. Raises ``ValueError`` (:class:`UnknownModelError` for an
    unpriced model).
    """
    if not _is_whole(data_tokens) or data_tokens < 1:
        raise ValueError(f"data_tokens must be at least 1, not {data_tokens!r}")
    settings = dict(overrides or {})
    _check_overrides(settings)
    base, price = _price(model, settings)
    steps, basis = _steps(data_tokens, price.train_tokens_per_step, training_steps, epochs)
    train_tokens = steps * price.train_tokens_per_step
    cost = token_cost(train_tokens, price.usd_per_million_tokens)
    minimum = float(settings.get("minimum_fee_usd", MINIMUM_FEE_USD))
    setup = float(settings.get("setup_seconds", SETUP_SECONDS))
    return Estimate(
        model=model,
        base_model=base,
        data_tokens=data_tokens,
        training_steps=steps,
        train_tokens_per_step=price.train_tokens_per_step,
        train_tokens=train_tokens,
        epochs=train_tokens / data_tokens,
        basis=basis,
        usd_per_million_tokens=float(price.usd_per_million_tokens),
        token_cost=cost,
        minimum_fee=minimum,
        billed_cost=max(cost, minimum),
        storage_per_month=float(settings.get("storage_usd_per_month", STORAGE_USD_PER_MONTH)),
        expected_duration_seconds=duration_seconds(
            steps, price.seconds_per_step, setup_seconds=setup
        ),
        price_source=price.source,
        note=price.note,
    )


class ComparisonRow(NamedTuple):
    """One figure of the local estimate beside the server's (``None`` when it has none)."""

    field: str
    local: int | float | str
    server: Any


def compare(estimate: Estimate, metadata: Mapping[str, Any] | None) -> list[ComparisonRow]:
    """The server's job ``metadata`` (after validation) beside the local estimate, field by field.

    ``cost`` is the token cost on both sides (the server's excludes the minimum fee). A
    ``training_steps`` row is added when the metadata has one (the legacy dry-run response).
    """
    server = dict(metadata or {})
    rows = [
        ComparisonRow(
            "expected_duration_seconds",
            estimate.expected_duration_seconds,
            server.get("expected_duration_seconds"),
        ),
        ComparisonRow("cost", estimate.token_cost, server.get("cost")),
        ComparisonRow("cost_currency", estimate.currency, server.get("cost_currency")),
        ComparisonRow(
            "train_tokens_per_step",
            estimate.train_tokens_per_step,
            server.get("train_tokens_per_step"),
        ),
        ComparisonRow("train_tokens", estimate.train_tokens, server.get("train_tokens")),
        ComparisonRow("data_tokens", estimate.data_tokens, server.get("data_tokens")),
        ComparisonRow("epochs", estimate.epochs, server.get("epochs")),
    ]
    if "training_steps" in server:
        rows.append(
            ComparisonRow("training_steps", estimate.training_steps, server["training_steps"])
        )
    return rows
