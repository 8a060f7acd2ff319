"""OpenAI cost estimates: tokens (from OpenAI's one counter, labelled an estimate) × epochs ×
price, and a price table that says where it came from."""

from __future__ import annotations

import pytest

from tuner.datasets import openai_cost
from tuner.datasets.openai_cost import PRICES, estimate, price_for, trained_cost
from tuner.datasets.openai_tokens import ESTIMATE_LABEL


def test_prices_say_where_they_come_from_and_aliases_find_their_snapshot() -> None:
    assert all(p.source == "unconfirmed" and p.as_of == "2026-04" for p in PRICES.values())
    assert price_for("gpt-4o-mini") is PRICES["gpt-4o-mini-2024-07-18"]
    assert price_for("gpt-4o") is PRICES["gpt-4o-2024-08-06"]  # not the mini
    assert price_for("ft:gpt-4o-mini-2024-07-18:acme::x1") is PRICES["gpt-4o-mini-2024-07-18"]
    assert price_for("gpt-9") is None
    override = price_for("gpt-9", override=2.0)
    assert override is not None and override.source == "override"


def test_the_estimate_is_tokens_times_epochs_times_price() -> None:
    def est(
        model: str, epochs: int | None, basis: openai_cost.EpochsBasis | None = None
    ) -> openai_cost.OpenAIEstimate:
        return estimate(
            1234, model, examples=7, tokenizer="o200k_base", epochs=epochs, epochs_basis=basis
        )

    fixed = est("gpt-4o-mini-2024-07-18", 3)
    auto = est("gpt-4o-mini-2024-07-18", None)
    unpriced = est("gpt-4o-9999", 3)
    assumed = est("gpt-4.1-mini-2025-04-14", 1, "default")

    assert fixed.train_tokens == 3 * 1234 and fixed.examples == 7
    assert fixed.cost == round(3 * 1234 / 1e6 * 3.0, 4)
    data = fixed.to_dict()
    assert data["is_estimate"] is True and data["tokens_are_estimate"] is True
    assert data["tokens_label"] == ESTIMATE_LABEL and ESTIMATE_LABEL in fixed.note
    assert (data["price_source"], data["price_as_of"], data["epochs_basis"]) == (
        "unconfirmed",
        "2026-04",
        "given",
    )
    assert auto.cost is None and 'n_epochs is "auto"' in auto.note
    assert auto.epochs_basis == "auto"
    assert unpriced.cost is None and "no training price known" in unpriced.note
    assert assumed.cost == round(1234 / 1e6 * 5.0, 4) and "1 epoch(s) assumed" in assumed.note


def test_dpo_says_how_pairs_are_counted_and_epochs_must_be_whole() -> None:
    dpo = estimate(10, "gpt-4.1-mini", examples=1, tokenizer="o200k_base", method="dpo", epochs=2)
    sft = estimate(10, "gpt-4.1-mini", examples=1, tokenizer="o200k_base", epochs=2)
    assert "DPO" in dpo.note and "upper bound" in dpo.note and dpo.method == "dpo"
    # A pair is counted as its prompt and longer answer; billed, it is read with each answer:
    # the estimate counts it twice, so it is never below prompt + both answers.
    assert dpo.train_tokens == 2 * 10 * 2 and sft.train_tokens == 10 * 2
    assert dpo.cost is not None and sft.cost is not None and dpo.cost == 2 * sft.cost
    with pytest.raises(ValueError, match="at least 1"):
        estimate(10, "gpt-4.1-mini", examples=1, tokenizer="o200k_base", epochs=0)


def test_trained_tokens_are_priced_with_the_tables_figure() -> None:
    found = trained_cost("gpt-4.1-mini-2025-04-14", 2_000_000)
    assert found is not None and found[0] == 10.0 and found[1].source == "unconfirmed"
    assert trained_cost("gpt-9", 1_000) is None


def test_the_cost_module_counts_no_tokens_itself() -> None:
    # One way to count: the cost estimate has no encoding map or loader of its own.
    for gone in ("count_tokens", "encoding_name", "_encoding", "_ENCODINGS", "MESSAGE_OVERHEAD"):
        assert not hasattr(openai_cost, gone), gone
