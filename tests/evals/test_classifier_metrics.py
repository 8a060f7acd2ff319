"""Classification metrics against values computed by hand."""

from __future__ import annotations

import pytest

from tuner.evals.classifier_metrics import (
    NO_ANSWER,
    multi_label_metrics,
    single_label_metrics,
)


def test_single_label_metrics_by_hand() -> None:
    # true a a a b b c / predicted a a b b - c
    metrics = single_label_metrics(
        "s", ["a", "b", "c"], ["a", "a", "a", "b", "b", "c"], ["a", "a", "b", "b", None, "c"]
    )
    assert metrics.accuracy == pytest.approx(4 / 6)
    a, b, c = (metrics.per_label[x] for x in "abc")
    # a: tp 2, fp 0, fn 1
    assert (a.precision, a.recall, a.f1, a.support) == pytest.approx((1.0, 2 / 3, 0.8, 3))
    # b: tp 1, fp 1 (an a), fn 1 (no answer)
    assert (b.precision, b.recall, b.f1, b.support) == pytest.approx((0.5, 0.5, 0.5, 2))
    assert (c.precision, c.recall, c.f1) == pytest.approx((1.0, 1.0, 1.0))
    assert metrics.macro_f1 == pytest.approx((0.8 + 0.5 + 1.0) / 3)
    assert metrics.confusion == ((2, 1, 0, 0), (0, 1, 0, 1), (0, 0, 1, 0))
    assert metrics.to_dict()["confusion"]["columns"] == ["a", "b", "c", NO_ANSWER]


def test_a_label_never_predicted_scores_zero_and_an_unknown_guess_is_no_answer() -> None:
    metrics = single_label_metrics("s", ["a", "b"], ["a", "b"], ["a", "zzz"])
    assert metrics.per_label["b"].precision == 0.0
    assert metrics.per_label["b"].f1 == 0.0
    assert metrics.confusion == ((1, 0, 0), (0, 0, 1))
    assert metrics.macro_f1 == pytest.approx(0.5)  # a: 1.0, b: 0.0


def test_multi_label_metrics_by_hand() -> None:
    truth = [frozenset("x"), frozenset("xy"), frozenset(), frozenset("y")]
    predicted = [frozenset("x"), frozenset("x"), frozenset("y"), None]
    metrics = multi_label_metrics("t", ["x", "y"], truth, predicted)
    assert metrics.accuracy == pytest.approx(1 / 4)
    assert metrics.confusion == ((2, 0, 0, 2), (0, 1, 2, 1))
    x, y = metrics.per_label["x"], metrics.per_label["y"]
    assert (x.precision, x.recall, x.f1, x.support) == pytest.approx((1.0, 1.0, 1.0, 2))
    assert (y.precision, y.recall, y.f1, y.support) == pytest.approx((0.0, 0.0, 0.0, 2))
    assert metrics.macro_f1 == pytest.approx(0.5)


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="2 true labels but 1"):
        single_label_metrics("s", ["a"], ["a", "a"], ["a"])
