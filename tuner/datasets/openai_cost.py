"""What an OpenAI fine-tuning job costs, estimated before it is created: tokens × epochs × price.

OpenAI has no dry run and no "validated, now start" step: creating a job starts it (and bills
it). So the confirmation and ``--max-cost`` of an OpenAI job rest on this local estimate alone;
``tuner data stats --provider openai`` shows the same estimate.

- **Tokens**: not counted here. They come from :mod:`tuner.datasets.openai_tokens` (the one
  OpenAI counter: the model family's encoding, exact content, the per-message overhead as an
  estimate), through the validation report or the stats that counter filled. The total is
  therefore an estimate (:data:`~tuner.datasets.openai_tokens.ESTIMATE_LABEL`). DPO pairs count
  as their prompt and *longer* answer (the counter's figure, the sequence that must fit the
  context); how OpenAI bills the two answers of a pair is not published.
- **Epochs**: the spec's ``n_epochs`` (``--epochs`` for stats). With "auto" OpenAI picks the
  epochs from the data, so no cost is estimated (a budget then refuses the job: its cost is
  unknown).
- **Price**: USD per million training tokens, per base model. OpenAI's pricing page could not be
  checked offline; the figures come from third-party reports (April 2026) that disagree with
  each other, so every one is marked ``unconfirmed`` with that date. A caller's override
  (``price_override``) replaces them and is marked so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from tuner.datasets.openai_tokens import ESTIMATE_LABEL, base_model

PriceSource = Literal["unconfirmed", "override"]
EpochsBasis = Literal["given", "default", "auto"]
"""Where the epochs come from: the spec or ``--epochs``; one epoch assumed; OpenAI's "auto"."""
PRICES_AS_OF: Final = "2026-04"
_REPORTS: Final = (
    "third-party reports of OpenAI's pricing page (April 2026), not checked against OpenAI; "
    "reports disagree"
)


@dataclass(frozen=True, slots=True)
class OpenAIPrice:
    usd_per_million_tokens: float
    source: PriceSource
    as_of: str
    note: str


PRICES: Final[Mapping[str, OpenAIPrice]] = {
    model: OpenAIPrice(price, "unconfirmed", PRICES_AS_OF, _REPORTS)
    for model, price in {
        "gpt-4.1-2025-04-14": 25.0,
        "gpt-4.1-mini-2025-04-14": 5.0,
        "gpt-4.1-nano-2025-04-14": 1.5,
        "gpt-4o-2024-08-06": 25.0,
        "gpt-4o-mini-2024-07-18": 3.0,
        "gpt-3.5-turbo-0125": 8.0,
    }.items()
}


def price_for(model: str, *, override: float | None = None) -> OpenAIPrice | None:
    """The training price of ``model`` (a dated snapshot, its undated alias, or a tuned model
    of it: ``ft:<base>:...`` is tuned further at its base's price); ``override`` (USD per
    million tokens, from config) wins."""
    if override is not None:
        return OpenAIPrice(override, "override", "config", "the openai price override in config")
    base = base_model(model)
    if base in PRICES:
        return PRICES[base]
    # An undated alias ("gpt-4o-mini") is priced as its one dated snapshot in the table.
    dated = [name for name in PRICES if _is_snapshot_of(name, base)]
    return PRICES[dated[0]] if len(dated) == 1 else None


def _is_snapshot_of(name: str, alias: str) -> bool:
    """``gpt-4o-mini-2024-07-18`` is a snapshot of ``gpt-4o-mini`` (not of ``gpt-4o``)."""
    return name.startswith(f"{alias}-") and name[len(alias) + 1 :][:1].isdigit()


def trained_cost(model: str, trained_tokens: int) -> tuple[float, OpenAIPrice] | None:
    """What ``trained_tokens`` (the job's own count, once it succeeded) cost at the table's
    price, with the price (and so its source); None for a model without a price."""
    price = price_for(model)
    if price is None:
        return None
    return round(trained_tokens / 1_000_000 * price.usd_per_million_tokens, 4), price


@dataclass(frozen=True, slots=True)
class OpenAIEstimate:
    """The local estimate of one OpenAI job (``is_estimate`` is always true)."""

    model: str
    method: str
    examples: int
    data_tokens: int
    """The training file's tokens per epoch (OpenAI's counter: an estimate, see the module)."""
    epochs: int | None
    epochs_basis: EpochsBasis
    train_tokens: int | None
    usd_per_million_tokens: float | None
    cost: float | None
    """USD; None when the epochs ("auto") or the price are unknown."""
    price_source: PriceSource | None
    price_as_of: str | None
    tokenizer: str
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": "openai",
            "model": self.model,
            "method": self.method,
            "examples": self.examples,
            "data_tokens": self.data_tokens,
            "tokens_are_estimate": True,
            "tokens_label": ESTIMATE_LABEL,
            "epochs": self.epochs,
            "epochs_basis": self.epochs_basis,
            "train_tokens": self.train_tokens,
            "usd_per_million_tokens": self.usd_per_million_tokens,
            "cost": self.cost,
            "currency": "USD",
            "price_source": self.price_source,
            "price_as_of": self.price_as_of,
            "tokenizer": self.tokenizer,
            "note": self.note,
            "is_estimate": True,
        }


DPO_FACTOR: Final = 2
"""A DPO pair is billed as at most this many times (prompt + longer answer): see estimate()."""


def estimate(
    data_tokens: int,
    model: str,
    *,
    examples: int,
    tokenizer: str,
    method: str = "supervised",
    epochs: int | None,
    epochs_basis: EpochsBasis | None = None,
    price_override: float | None = None,
) -> OpenAIEstimate:
    """``data_tokens`` × epochs × price; the cost is None when the epochs or the price are
    unknown. ``data_tokens`` and ``examples`` are what OpenAI's counter found in the training
    file; ``epochs`` None is OpenAI's "auto"."""
    if epochs is not None and epochs < 1:
        raise ValueError(f"epochs must be a whole number of at least 1, not {epochs}")
    basis: EpochsBasis = "auto" if epochs is None else (epochs_basis or "given")
    price = price_for(model, override=price_override)
    notes = []
    if epochs is None:
        notes.append('n_epochs is "auto": OpenAI picks the epochs from the data; set n_epochs')
    elif basis == "default":
        notes.append(f"{epochs} epoch(s) assumed: give the epochs you plan (n_epochs)")
    if price is None:
        notes.append(f"no training price known for {model}")
    # DPO: the counter counts a pair as its prompt and its longer answer. How OpenAI bills a pair
    # is not published; it reads the prompt with each answer, so the estimate counts the pair
    # twice: never below prompt + both answers, so a --max-cost budget is not let through by a
    # low estimate.
    billed = data_tokens * DPO_FACTOR if method == "dpo" else data_tokens
    train_tokens = None if epochs is None else billed * epochs
    cost = None
    if train_tokens is not None and price is not None:
        cost = round(train_tokens / 1_000_000 * price.usd_per_million_tokens, 4)
    if price is not None:
        notes.append(f"price {price.source} ({price.as_of}): {price.note}")
    notes.append(f"tokens are an estimate ({ESTIMATE_LABEL}: OpenAI does not publish it)")
    if method == "dpo":
        notes.append(
            f"DPO: an upper bound, each pair counted {DPO_FACTOR} times as its prompt and "
            "longer answer (OpenAI does not publish how it bills a pair)"
        )
    return OpenAIEstimate(
        model=model,
        method=method,
        examples=examples,
        data_tokens=data_tokens,
        epochs=epochs,
        epochs_basis=basis,
        train_tokens=train_tokens,
        usd_per_million_tokens=None if price is None else price.usd_per_million_tokens,
        cost=cost,
        price_source=None if price is None else price.source,
        price_as_of=None if price is None else price.as_of,
        tokenizer=tokenizer,
        note="; ".join(notes),
    )
