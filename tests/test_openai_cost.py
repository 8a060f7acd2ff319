"""OpenAI cost estimates: exact content tokens with the family's encoding, the overhead kept
apart as an estimate, tokens × epochs × price, and a price table that says where it came from."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tuner.datasets.openai_cost import (
    EXAMPLE_OVERHEAD,
    MESSAGE_OVERHEAD,
    PRICES,
    count_tokens,
    encoding_name,
    estimate,
    price_for,
)


def write(path: Path, records: list[object]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-mini-2025-04-14", "o200k_base"),
        ("ft:gpt-4.1-nano-2025-04-14:acme:care:abc123", "o200k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("davinci-002", "cl100k_base"),
        ("open-mistral-7b", None),
    ],
)
def test_each_family_has_its_encoding(model: str, encoding: str | None) -> None:
    assert encoding_name(model) == encoding


def test_prices_say_where_they_come_from_and_aliases_find_their_snapshot() -> None:
    assert all(p.source == "unconfirmed" and p.as_of == "2026-04" for p in PRICES.values())
    assert price_for("gpt-4o-mini") is PRICES["gpt-4o-mini-2024-07-18"]
    assert price_for("gpt-4o") is PRICES["gpt-4o-2024-08-06"]  # not the mini
    assert price_for("ft:gpt-4o-mini-2024-07-18:acme::x1") is PRICES["gpt-4o-mini-2024-07-18"]
    assert price_for("gpt-9") is None
    override = price_for("gpt-9", override=2.0)
    assert override is not None and override.source == "override"


def test_content_is_counted_exactly_and_the_overhead_apart(tmp_path: Path) -> None:
    from tuner.datasets.openai_cost import _encoding

    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Où est ma commande ?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Elle arrive demain."}]},
    ]
    path = write(tmp_path / "t.jsonl", [{"messages": messages}] * 2)

    counted = count_tokens(path, "gpt-4o-mini-2024-07-18")

    enc = _encoding("o200k_base")
    content = sum(
        len(enc.encode_ordinary(t))
        for t in ("Be brief.", "Où est ma commande ?", "Elle arrive demain.")
    )
    roles = sum(len(enc.encode_ordinary(m["role"])) for m in messages)
    assert (counted.examples, counted.content_tokens) == (2, 2 * content)
    assert counted.overhead_tokens == 2 * (EXAMPLE_OVERHEAD + 3 * MESSAGE_OVERHEAD + roles)
    assert counted.problems == ()


def test_dpo_counts_input_and_both_outputs_and_names_bad_lines(tmp_path: Path) -> None:
    good = {
        "input": {"messages": [{"role": "user", "content": "hi"}]},
        "preferred_output": [{"role": "assistant", "content": "Hello!"}],
        "non_preferred_output": [{"role": "assistant", "content": "What"}],
    }
    path = write(tmp_path / "d.jsonl", [good, {"messages": []}, good])

    counted = count_tokens(path, "gpt-4.1-mini-2025-04-14", method="dpo")

    assert counted.examples == 2 and counted.problem_count == 1
    assert counted.problems[0].line == 2 and "input.messages" in counted.problems[0].reason
    assert counted.content_tokens > 0


def test_the_estimate_is_tokens_times_epochs_times_price(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", [{"messages": [{"role": "user", "content": "x" * 50}]}])
    counted = count_tokens(path, "gpt-4o-mini-2024-07-18")

    fixed = estimate(counted, "gpt-4o-mini-2024-07-18", epochs=3)
    auto = estimate(counted, "gpt-4o-mini-2024-07-18", epochs=None)
    unpriced = estimate(counted, "gpt-4o-9999", epochs=3)

    assert fixed.train_tokens == 3 * counted.tokens
    assert fixed.cost == round(3 * counted.tokens / 1e6 * 3.0, 4)
    assert fixed.to_dict()["is_estimate"] is True and fixed.to_dict()["overhead_is_estimate"]
    assert auto.cost is None and 'n_epochs is "auto"' in auto.note
    assert unpriced.cost is None and "no training price known" in unpriced.note


def test_an_unknown_family_cannot_be_counted(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", [{"messages": []}])
    with pytest.raises(ValueError, match="no tokenizer known"):
        count_tokens(path, "open-mistral-7b")


def test_trained_tokens_are_priced_with_the_tables_figure() -> None:
    from tuner.datasets.openai_cost import trained_cost

    found = trained_cost("gpt-4.1-mini-2025-04-14", 2_000_000)
    assert found is not None and found[0] == 10.0 and found[1].source == "unconfirmed"
    assert trained_cost("gpt-9", 1_000) is None
