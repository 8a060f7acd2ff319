"""tuner.evals: evaluation runs, an eval set × models → answers → scores → reports.

Headless core: HTTP through ``tuner.api``, results in the ledger, progress through
``tuner.progress``; no printing, no typer, no textual.

    eval_set = load_eval_set("eval.jsonl")
    runner = EvalRunner(client, ledger, progress=progress)
    outcome = await runner.run(eval_set, EvalOptions(models=(tuned, base), judge=judge))
    report = load_report(ledger, outcome.run_id)
    report.as_json(); render_html(report)
"""

from tuner.evals.dataset import (
    Answer,
    EvalDataError,
    EvalItem,
    EvalSet,
    SkippedLine,
    ToolCallAnswer,
    load_eval_set,
)
from tuner.evals.html import render_html
from tuner.evals.judge import JudgeSummary
from tuner.evals.report import (
    DifferentDataError,
    ModelSummary,
    RunComparison,
    RunNotFoundError,
    RunReport,
    build_report,
    compare_runs,
    find_run,
    load_report,
)
from tuner.evals.runner import (
    AnswerRecorded,
    EvalConfigError,
    EvalOptions,
    EvalRunner,
    RunEvent,
    RunOutcome,
    RunPlan,
    VerdictRecorded,
    stable_run_id,
)

__all__ = [
    "Answer",
    "AnswerRecorded",
    "DifferentDataError",
    "EvalConfigError",
    "EvalDataError",
    "EvalItem",
    "EvalOptions",
    "EvalRunner",
    "EvalSet",
    "JudgeSummary",
    "ModelSummary",
    "RunComparison",
    "RunEvent",
    "RunNotFoundError",
    "RunOutcome",
    "RunPlan",
    "RunReport",
    "SkippedLine",
    "ToolCallAnswer",
    "VerdictRecorded",
    "build_report",
    "compare_runs",
    "find_run",
    "load_eval_set",
    "load_report",
    "render_html",
    "stable_run_id",
]
