"""Classification metrics: accuracy, macro-F1, per-label precision/recall, a confusion matrix.

Pure functions over labels (no I/O). A missing prediction (the model gave no usable answer) is
``None`` for a single-label target: it counts as wrong, and the confusion matrix has a column
for it (:data:`NO_ANSWER`). Precision of a label never predicted is 0 (and its F1 is 0), the
convention scikit-learn uses with ``zero_division=0``; macro-F1 is the unweighted mean over the
labels of the target (the given label set, in its order).

Multi-label targets are scored per label (predicted set vs true set): precision, recall and F1
per label, macro-F1 over labels, and accuracy as the share of items whose whole set is right
(exact match, the strict "subset accuracy").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

NO_ANSWER = "(no answer)"


@dataclass(frozen=True, slots=True)
class LabelScores:
    precision: float
    recall: float
    f1: float
    support: int
    """How many items truly have the label."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support,
        }


@dataclass(frozen=True, slots=True)
class TargetMetrics:
    name: str
    multi: bool
    labels: tuple[str, ...]
    items: int
    accuracy: float
    macro_f1: float
    per_label: dict[str, LabelScores]
    confusion: tuple[tuple[int, ...], ...]
    """Single-label: rows are the true labels, columns the predicted ones (``labels`` then
    :data:`NO_ANSWER`). Multi-label: one row per label, ``(tp, fp, fn, tn)``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "loss_function": "multi_class" if self.multi else "single_class",
            "labels": list(self.labels),
            "items": self.items,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_label": {label: s.to_dict() for label, s in self.per_label.items()},
            "confusion": {
                "rows": "true label" if not self.multi else "label",
                "columns": [*self.labels, NO_ANSWER]
                if not self.multi
                else ["tp", "fp", "fn", "tn"],
                "matrix": [list(row) for row in self.confusion],
            },
        }


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _scores(tp: int, fp: int, fn: int) -> LabelScores:
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return LabelScores(precision, recall, _f1(precision, recall), tp + fn)


def single_label_metrics(
    name: str, labels: Sequence[str], truth: Sequence[str], predicted: Sequence[str | None]
) -> TargetMetrics:
    """Metrics of one single-label target. A true label outside ``labels`` is added to them."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    order = list(dict.fromkeys([*labels, *truth]))
    column = {label: i for i, label in enumerate(order)}
    matrix = [[0] * (len(order) + 1) for _ in order]
    for true, guess in zip(truth, predicted, strict=True):
        matrix[column[true]][
            column.get(guess, len(order)) if guess is not None else len(order)
        ] += 1
    per_label = {}
    for i, label in enumerate(order):
        tp = matrix[i][i]
        fp = sum(matrix[row][i] for row in range(len(order))) - tp
        fn = sum(matrix[i]) - tp
        per_label[label] = _scores(tp, fp, fn)
    correct = sum(matrix[i][i] for i in range(len(order)))
    return TargetMetrics(
        name,
        False,
        tuple(order),
        len(truth),
        _ratio(correct, len(truth)),
        sum(s.f1 for s in per_label.values()) / len(order) if order else 0.0,
        per_label,
        tuple(tuple(row) for row in matrix),
    )


def multi_label_metrics(
    name: str,
    labels: Sequence[str],
    truth: Sequence[frozenset[str]],
    predicted: Sequence[frozenset[str] | None],
) -> TargetMetrics:
    """Metrics of one multi-label target; a missing prediction is the empty set (and wrong)."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true label sets but {len(predicted)} predictions")
    order = list(dict.fromkeys([*labels, *sorted(set().union(*truth))]))
    rows = []
    per_label = {}
    for label in order:
        tp = fp = fn = tn = 0
        for true, guess in zip(truth, predicted, strict=True):
            said = guess is not None and label in guess
            real = label in true
            tp += said and real
            fp += said and not real
            fn += real and not said
            tn += not said and not real
        rows.append((tp, fp, fn, tn))
        per_label[label] = _scores(tp, fp, fn)
    exact = sum(
        guess is not None and guess == true for true, guess in zip(truth, predicted, strict=True)
    )
    return TargetMetrics(
        name,
        True,
        tuple(order),
        len(truth),
        _ratio(exact, len(truth)),
        sum(s.f1 for s in per_label.values()) / len(order) if order else 0.0,
        per_label,
        tuple(rows),
    )
