"""Reports of evaluation runs, built from the ledger: per-model aggregates, the judge's tally,
the items where the models differ most, and the comparison of two runs on the same data.

Everything here is computed from recorded items; the eval file is read again only to show
prompts and references, and only when its content still has the run's hash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tuner.datasets.summary import percentile
from tuner.evals.dataset import EvalDataError, EvalItem, EvalSet, load_eval_set
from tuner.evals.judge import JudgeSummary, Outcome, bootstrap_ci, summarise
from tuner.evals.metrics import mean, metric_values
from tuner.evals.providers import judge_backend_of
from tuner.jobs.ledger import Ledger
from tuner.jobs.records import EvalItemRecord, EvalRunRecord, simulated_note

# (key in ModelSummary.as_json, label, higher is better?) in display order.
SUMMARY_METRICS: tuple[tuple[str, str, bool | None], ...] = (
    ("exact_match", "exact match", True),
    ("token_f1", "token F1", True),
    ("rouge_l", "ROUGE-L", True),
    ("tool_call_accuracy", "tool-call accuracy", True),
    ("tool_name_accuracy", "tool-name accuracy", True),
    ("embedding_cosine", "embedding cosine", True),
    ("mean_length_words", "mean length (words)", None),
    ("mean_latency_s", "mean latency (s)", False),
    ("p95_latency_s", "p95 latency (s)", False),
    ("prompt_tokens", "prompt tokens", None),
    ("completion_tokens", "completion tokens", None),
    ("cost_usd", "cost (USD)", False),
    ("answered", "answered", True),
    ("failed", "failed", False),
)
DISTRIBUTION_METRICS = ("token_f1", "rouge_l", "embedding_cosine")


class RunNotFoundError(LookupError):
    """No run, or more than one, matches what the user typed."""


def find_run(ledger: Ledger, text: str) -> EvalRunRecord:
    """The run whose id is ``text``, or the only one whose id starts with it."""
    exact = ledger.get_eval_run(text)
    if exact is not None:
        return exact
    matches = [run for run in ledger.list_eval_runs() if run.run_id.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFoundError(f"no evaluation run {text!r} in the ledger")
    listed = ", ".join(run.run_id for run in matches[:5])
    raise RunNotFoundError(f"{text!r} matches several runs ({listed}); type more of the id")


def eval_set_of(run: EvalRunRecord) -> tuple[EvalSet | None, str | None]:
    """The run's eval set when its file is still there unchanged, else (None, why not)."""
    try:
        found = load_eval_set(run.data_path)
    except EvalDataError as exc:
        return None, str(exc)
    if found.data_hash != run.data_hash:
        return None, f"{run.data_path} changed since the run; prompts and references not shown"
    return found, None


# --------------------------------------------------------------------------- per model


@dataclass(frozen=True, slots=True)
class ModelSummary:
    model: str
    answered: int
    failed: int
    exact_match: float | None
    token_f1: float | None
    rouge_l: float | None
    tool_call_accuracy: float | None
    """Over the items whose reference ends in a tool call; None when there are none."""
    tool_name_accuracy: float | None
    tool_call_items: int
    embedding_cosine: float | None
    mean_length_words: float | None
    mean_latency_s: float | None
    p95_latency_s: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    """None unless every answered item has a cost (i.e. the model's price was given)."""

    def value(self, key: str) -> float | None:
        value = getattr(self, key)
        return None if value is None else float(value)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "exact_match": self.exact_match,
            "token_f1": self.token_f1,
            "rouge_l": self.rouge_l,
        }
        if self.tool_call_accuracy is not None:
            out["tool_call_accuracy"] = self.tool_call_accuracy
            out["tool_name_accuracy"] = self.tool_name_accuracy
            out["tool_call_items"] = self.tool_call_items
        if self.embedding_cosine is not None:
            out["embedding_cosine"] = self.embedding_cosine
        out.update(
            {
                "mean_latency_s": self.mean_latency_s,
                "p95_latency_s": self.p95_latency_s,
                "mean_length_words": self.mean_length_words,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "cost_usd": self.cost_usd,
                "answered": self.answered,
                "failed": self.failed,
            }
        )
        return out


def metrics_of(record: EvalItemRecord) -> dict[str, Any]:
    scores = record.scores or {}
    metrics = scores.get("metrics")
    return dict(metrics) if isinstance(metrics, Mapping) else {}


def _percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    return percentile(sorted(values), fraction * 100) if values else None


def summarise_model(model: str, records: Sequence[EvalItemRecord]) -> ModelSummary:
    ok = [r for r in records if r.error is None]
    scores = [metrics_of(r) for r in ok]
    latencies = [r.latency_s for r in ok if r.latency_s is not None]
    costs = metric_values(scores, "cost_usd")
    tool_calls = metric_values(scores, "tool_call")
    return ModelSummary(
        model=model,
        answered=len(ok),
        failed=len(records) - len(ok),
        exact_match=mean(metric_values(scores, "exact_match")),
        token_f1=mean(metric_values(scores, "token_f1")),
        rouge_l=mean(metric_values(scores, "rouge_l")),
        tool_call_accuracy=mean(tool_calls),
        tool_name_accuracy=mean(metric_values(scores, "tool_name")),
        tool_call_items=len(tool_calls),
        embedding_cosine=mean(metric_values(scores, "embedding_cosine")),
        mean_length_words=mean(metric_values(scores, "length_words")),
        mean_latency_s=mean(latencies),
        p95_latency_s=_percentile(latencies, 0.95),
        prompt_tokens=sum(r.prompt_tokens or 0 for r in ok),
        completion_tokens=sum(r.completion_tokens or 0 for r in ok),
        cost_usd=math.fsum(costs) if ok and len(costs) == len(ok) else None,
    )


# --------------------------------------------------------------------------- the judge


def judge_summary(candidate_records: Sequence[EvalItemRecord]) -> JudgeSummary:
    """Wins, ties and losses of the candidate, from the verdicts on its records."""
    outcomes: list[Outcome] = []
    unparsed = failed = 0
    for record in candidate_records:
        verdict = record.judge_verdict
        if verdict is None:
            continue
        status = verdict.get("status")
        if status == "ok" and verdict.get("outcome") in ("win", "tie", "loss"):
            outcomes.append(verdict["outcome"])
        elif status == "unparsed":
            unparsed += 1
        else:
            failed += 1
    return summarise(outcomes, unparsed=unparsed, failed=failed)


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True, slots=True)
class ItemRow:
    index: int
    item: EvalItem | None
    """None when the eval file is not available any more."""
    answers: dict[str, EvalItemRecord]

    def metric(self, model: str, name: str) -> float | None:
        record = self.answers.get(model)
        if record is None or record.error is not None:
            return None
        value = metrics_of(record).get(name)
        return float(value) if isinstance(value, int | float) else None

    @property
    def verdict(self) -> Mapping[str, Any] | None:
        for record in self.answers.values():
            if record.judge_verdict is not None:
                return record.judge_verdict
        return None


@dataclass(frozen=True, slots=True)
class RunReport:
    run: EvalRunRecord
    models: dict[str, ModelSummary]
    judge: JudgeSummary | None
    rows: list[ItemRow]
    items_in_file: int | None
    note: str | None
    """Why prompts and references are missing, when they are."""

    @property
    def candidate(self) -> str:
        return self.run.models[0]

    @property
    def baseline(self) -> str | None:
        return self.run.models[1] if len(self.run.models) > 1 else None

    def better(self, key: str) -> str | None:
        """The model with the better value of ``key`` (None on a tie or where undecidable)."""
        direction = next((d for k, _, d in SUMMARY_METRICS if k == key), None)
        if direction is None or len(self.models) < 2:
            return None
        values = {m: s.value(key) for m, s in self.models.items()}
        known = {m: v for m, v in values.items() if v is not None}
        if len(known) < 2:
            return None
        best = max(known.values()) if direction else min(known.values())
        winners = [m for m, v in known.items() if math.isclose(v, best, abs_tol=1e-12)]
        return winners[0] if len(winners) == 1 else None

    def differences(self, metric: str = "token_f1", limit: int = 5) -> list[tuple[ItemRow, float]]:
        """Items where candidate and baseline differ most on ``metric`` (candidate − baseline)."""
        baseline = self.baseline
        if baseline is None:
            return []
        scored = []
        for row in self.rows:
            mine, theirs = row.metric(self.candidate, metric), row.metric(baseline, metric)
            if mine is not None and theirs is not None:
                scored.append((row, mine - theirs))
        scored.sort(key=lambda pair: (-abs(pair[1]), pair[0].index))
        return [pair for pair in scored[:limit] if pair[1] != 0]

    @property
    def simulated(self) -> bool:
        """Whether a sandbox answered any model of the run, or judged it."""
        judge = judge_backend_of(self.run)
        return self.run.simulated or (judge is not None and judge.sandbox is True)

    @property
    def simulated_note(self) -> str | None:
        """The SIMULATED sentence when a sandbox answered any model of the run (or judged)."""
        return simulated_note(self.sandbox_urls) if self.simulated else None

    @property
    def sandbox_urls(self) -> list[str | None]:
        """The sandboxes that answered a model of the run or judged it."""
        judge = judge_backend_of(self.run)
        judges = [judge] if judge is not None else []
        return [b.url for b in [*self.run.backends, *judges] if b.sandbox]

    def model_simulated(self, model: str) -> bool:
        """Whether ``model``'s answers in this run came from a sandbox."""
        backend = self.run.backend_of(model)
        return backend is not None and backend.sandbox is True

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run.run_id,
            "status": self.run.status,
            "data_path": self.run.data_path,
            "data_hash": self.run.data_hash,
            "created_at": self.run.created_at,
            "candidate": self.candidate,
            "baseline": self.baseline,
            "items": len(self.rows),
            "models": {model: summary.as_json() for model, summary in self.models.items()},
            "backend": self.run.backends_json(),
            "simulated": self.simulated,
        }
        if self.judge is not None:
            judged_by = judge_backend_of(self.run)
            out["judge"] = {
                "model": self.run.judge,
                "backend": None if judged_by is None else judged_by.to_json(),
                **self.judge.as_json(),
            }
        return out


def build_report(
    run: EvalRunRecord,
    records: Sequence[EvalItemRecord],
    eval_set: EvalSet | None = None,
    note: str | None = None,
) -> RunReport:
    by_model = {model: [r for r in records if r.model == model] for model in run.models}
    items = {item.index: item for item in eval_set.items} if eval_set is not None else {}
    indices = sorted({r.item_index for r in records})
    rows = [
        ItemRow(i, items.get(i), {r.model: r for r in records if r.item_index == i})
        for i in indices
    ]
    judge = judge_summary(by_model[run.models[0]]) if run.judge is not None else None
    return RunReport(
        run=run,
        models={model: summarise_model(model, found) for model, found in by_model.items()},
        judge=judge,
        rows=rows,
        items_in_file=len(eval_set.items) if eval_set is not None else None,
        note=note,
    )


def load_report(ledger: Ledger, run_id: str) -> RunReport:
    """The report of a stored run (``run_id`` may be a unique prefix)."""
    run = find_run(ledger, run_id)
    eval_set, note = eval_set_of(run)
    return build_report(run, ledger.eval_items(run.run_id), eval_set, note)


# --------------------------------------------------------------------------- two runs


@dataclass(frozen=True, slots=True)
class PairedDifference:
    """Candidate of run B minus candidate of run A, item by item, on one metric."""

    metric: str
    items: int
    mean_difference: float | None
    ci95: tuple[float, float] | None
    better: int
    worse: int
    same: int

    def as_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "items": self.items,
            "mean_difference": self.mean_difference,
            "ci95": list(self.ci95) if self.ci95 is not None else None,
            "better": self.better,
            "worse": self.worse,
            "same": self.same,
        }


@dataclass(frozen=True, slots=True)
class RunComparison:
    a: RunReport
    b: RunReport
    paired: list[PairedDifference]

    @property
    def simulated_note(self) -> str | None:
        """The SIMULATED sentence when a sandbox answered (or judged) either run."""
        if not (self.a.simulated or self.b.simulated):
            return None
        return simulated_note([*self.a.sandbox_urls, *self.b.sandbox_urls])

    def as_json(self) -> dict[str, Any]:
        return {
            "data_hash": self.a.run.data_hash,
            "a": self.a.as_json(),
            "b": self.b.as_json(),
            "candidate_a": self.a.candidate,
            "candidate_b": self.b.candidate,
            "paired": [p.as_json() for p in self.paired],
        }


class DifferentDataError(ValueError):
    """Two runs over different eval data cannot be compared item by item."""


def compare_runs(a: RunReport, b: RunReport) -> RunComparison:
    if a.run.data_hash != b.run.data_hash:
        raise DifferentDataError(
            f"runs {a.run.run_id} and {b.run.run_id} evaluated different data "
            f"({a.run.data_path} vs {b.run.data_path}); compare runs of the same eval file"
        )
    paired = [_paired(a, b, metric) for metric in ("token_f1", "rouge_l", "exact_match")]
    return RunComparison(a, b, paired)


def _paired(a: RunReport, b: RunReport, metric: str) -> PairedDifference:
    rows_b = {row.index: row for row in b.rows}
    differences = []
    for row in a.rows:
        other = rows_b.get(row.index)
        if other is None:
            continue
        before, after = row.metric(a.candidate, metric), other.metric(b.candidate, metric)
        if before is not None and after is not None:
            differences.append(after - before)
    return PairedDifference(
        metric=metric,
        items=len(differences),
        mean_difference=mean(differences),
        ci95=bootstrap_ci(differences) if differences else None,
        better=sum(d > 0 for d in differences),
        worse=sum(d < 0 for d in differences),
        same=sum(d == 0 for d in differences),
    )


def format_metric(value: float | None, key: str) -> str:
    """A metric value as the reports show it (counts whole, seconds to 0.01, scores to 0.001)."""
    if value is None:
        return "–"
    if key in ("answered", "failed", "prompt_tokens", "completion_tokens"):
        return f"{int(value):,}"
    if key == "cost_usd":
        return f"{value:.4f}"
    if key.endswith("_s") or key == "mean_length_words":
        return f"{value:.2f}"
    return f"{value:.3f}"
