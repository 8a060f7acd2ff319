"""Two stored classifier runs side by side: per target, each run's accuracy and macro-F1 and
the difference (B − A), for the fine-tuned classifiers and for the chat baselines.

Computed from the recorded items alone, scored again by :func:`tuner.evals.classifier_run.score`
on the items both runs answered (recorded without an error, with the same input and true
labels), so a run cut short by ``--limit`` or by failures is compared on equal footing. The
runs must be of the same data file (the same content hash), as for chat runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tuner.evals.classifier_metrics import TargetMetrics
from tuner.evals.classifier_run import (
    ClassifierReport,
    ModelResult,
    Target,
    results_simulated_note,
    score,
)
from tuner.evals.classifier_runner import (
    build_classifier_report,
    is_classifier_run,
    scored_rows,
)
from tuner.evals.report import DifferentDataError
from tuner.jobs.ledger import Ledger
from tuner.jobs.records import EvalItemRecord, EvalRunRecord


class NotClassifierRunError(ValueError):
    """A chat run was given where two classifier runs are compared."""


@dataclass(frozen=True, slots=True)
class TargetDifference:
    """One target scored for run A's model and run B's, on the same items."""

    a: TargetMetrics
    b: TargetMetrics

    @property
    def name(self) -> str:
        return self.a.name

    @property
    def items(self) -> int:
        return self.a.items

    @property
    def accuracy_difference(self) -> float:
        return self.b.accuracy - self.a.accuracy

    @property
    def macro_f1_difference(self) -> float:
        return self.b.macro_f1 - self.a.macro_f1

    @property
    def label_f1_differences(self) -> dict[str, float]:
        """Per label of the target (in A's order), B's F1 − A's F1."""
        return {
            label: self.b.per_label[label].f1 - scores.f1
            for label, scores in self.a.per_label.items()
            if label in self.b.per_label
        }

    def to_dict(self) -> dict[str, Any]:
        def pair(a: float, b: float) -> dict[str, float]:
            return {"a": a, "b": b, "difference": b - a}

        return {
            "name": self.name,
            "loss_function": "multi_class" if self.a.multi else "single_class",
            "items": self.items,
            "accuracy": pair(self.a.accuracy, self.b.accuracy),
            "macro_f1": pair(self.a.macro_f1, self.b.macro_f1),
            "label_f1": {
                label: pair(self.a.per_label[label].f1, self.b.per_label[label].f1)
                for label in self.label_f1_differences
            },
        }


@dataclass(frozen=True, slots=True)
class RoleComparison:
    """Run A's model and run B's model of one role ("classifier" or "chat")."""

    role: str
    a: ModelResult
    b: ModelResult
    items: int
    """Items both models answered: what every figure below is computed on."""
    targets: list[TargetDifference]

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "model_a": self.a.model,
            "model_b": self.b.model,
            "backend_a": self.a.backend.to_json(),
            "backend_b": self.b.backend.to_json(),
            "simulated": bool(self.a.backend.sandbox or self.b.backend.sandbox),
            "items": self.items,
            "targets": [t.to_dict() for t in self.targets],
        }


@dataclass(frozen=True, slots=True)
class ClassifierComparison:
    a: ClassifierReport
    b: ClassifierReport
    roles: list[RoleComparison]
    unmatched: list[str]
    """What only one run has (a role, a target), said in a sentence each."""

    @property
    def simulated_note(self) -> str | None:
        """The SIMULATED sentence when a sandbox answered either run."""
        return results_simulated_note([*self.a.results, *self.b.results])

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "classifier",
            "data_hash": self.a.data_hash,
            "a": _run_summary(self.a),
            "b": _run_summary(self.b),
            "simulated": self.a.simulated or self.b.simulated,
            "roles": [role.to_dict() for role in self.roles],
            "unmatched": self.unmatched,
        }


def _run_summary(report: ClassifierReport) -> dict[str, Any]:
    return {
        "run_id": report.run_id,
        "status": report.status,
        "data": report.data,
        "items": report.items,
        "backend": report.backend,
        "simulated": report.simulated,
        "models": [
            {"model": r.model, "role": r.role, "backend": r.backend.to_json()}
            for r in report.results
        ],
    }


def _targets(run: EvalRunRecord) -> list[Target]:
    return [Target.from_json(t) for t in (run.params or {}).get("targets") or []]


def _answered(records: Sequence[EvalItemRecord], model: str) -> dict[int, EvalItemRecord]:
    return {r.item_index: r for r in records if r.model == model and r.error is None}


def compare_classifier_runs(
    run_a: EvalRunRecord,
    records_a: Sequence[EvalItemRecord],
    run_b: EvalRunRecord,
    records_b: Sequence[EvalItemRecord],
) -> ClassifierComparison:
    """Runs A and B, role by role and target by target, on the items both answered.

    Raises :class:`NotClassifierRunError` for a chat run and :class:`DifferentDataError` when
    the runs evaluated different data."""
    for run in (run_a, run_b):
        if not is_classifier_run(run):
            raise NotClassifierRunError(f"run {run.run_id} is not a classifier evaluation")
    if run_a.data_hash != run_b.data_hash:
        raise DifferentDataError(
            f"runs {run_a.run_id} and {run_b.run_id} evaluated different data "
            f"({run_a.data_path} vs {run_b.data_path}); compare runs of the same data file"
        )
    report_a = build_classifier_report(run_a, records_a)
    report_b = build_classifier_report(run_b, records_b)
    targets_b = {t.name for t in _targets(run_b)}
    shared = [t for t in _targets(run_a) if t.name in targets_b]
    unmatched = [
        f"target {name} is only in run {run.run_id}"
        for run, others in ((run_a, targets_b), (run_b, {t.name for t in _targets(run_a)}))
        for name in (t.name for t in _targets(run))
        if name not in others
    ]
    roles_b = {r.role: r for r in report_b.results}
    roles = []
    for mine in report_a.results:
        theirs = roles_b.pop(mine.role, None)
        if theirs is None:
            unmatched.append(f"{mine.role} model {mine.model} is only in run {run_a.run_id}")
            continue
        roles.append(_compare_role(mine, records_a, theirs, records_b, shared))
    unmatched.extend(
        f"{r.role} model {r.model} is only in run {run_b.run_id}" for r in roles_b.values()
    )
    return ClassifierComparison(report_a, report_b, roles, unmatched)


def _compare_role(
    a: ModelResult,
    records_a: Sequence[EvalItemRecord],
    b: ModelResult,
    records_b: Sequence[EvalItemRecord],
    targets: Sequence[Target],
) -> RoleComparison:
    answered_a, answered_b = _answered(records_a, a.model), _answered(records_b, b.model)
    # Same index and same input and labels: the same question asked of both models.
    common = sorted(
        index
        for index, record in answered_a.items()
        if index in answered_b and answered_b[index].prompt_hash == record.prompt_hash
    )
    if not common:
        return RoleComparison(a.role, a, b, 0, [])
    scored_a = score(targets, scored_rows([answered_a[i] for i in common]))
    scored_b = score(targets, scored_rows([answered_b[i] for i in common]))
    differences = [TargetDifference(x, y) for x, y in zip(scored_a, scored_b, strict=True)]
    return RoleComparison(a.role, a, b, len(common), differences)


def load_classifier_comparison(
    ledger: Ledger, run_a: EvalRunRecord, run_b: EvalRunRecord
) -> ClassifierComparison:
    """:func:`compare_classifier_runs` on two stored runs (blocking: SQL)."""
    return compare_classifier_runs(
        run_a, ledger.eval_items(run_a.run_id), run_b, ledger.eval_items(run_b.run_id)
    )
