"""The sandbox's one link to the project's validator and token counter (``tuner.datasets``).

The sandbox checks uploads and job data with exactly the rules ``tuner data validate`` applies,
so a file the sandbox accepts is one the tool calls valid. Only this module knows the
validator's API; the rest of the sandbox sees :class:`UploadVerdict` and :class:`DataVerdict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuner.datasets import classifier
from tuner.datasets.findings import Finding
from tuner.datasets.providers import counter_factory, resolve_counting_for
from tuner.datasets.validate import CounterFactory, Report, ValidateOptions, validate_paths
from tuner.sandbox.records import LineError

# The platform lists every error; the sandbox keeps the body bounded on a badly broken file.
MAX_LISTED_ERRORS = 100


@dataclass(frozen=True, slots=True)
class UploadVerdict:
    ok: bool
    # "instruct" or "pretrain" when the format could be told.
    sample_type: str | None
    error_count: int
    errors: list[LineError]


@dataclass(frozen=True, slots=True)
class DataVerdict:
    ok: bool
    error: str | None
    data_tokens: int
    conversations: int


def _model_counter(model: str) -> CounterFactory:
    """The Mistral model's token counter, by the core's rule (picklable, so the validator may
    use worker processes). Raises ``UnknownModelError`` for a model tuner does not know."""
    return counter_factory("mistral", resolve_counting_for("mistral", model).tokenizer)


def _first_errors(report: Report, limit: int) -> tuple[int, list[LineError]]:
    """How many errors the report holds, and the first ``limit`` of them."""
    count = 0
    listed: list[LineError] = []
    for finding in report.iter_findings():
        if finding.is_error:
            count += 1
            if len(listed) < limit:
                listed.append(LineError(message=finding.message, line_number=finding.line))
    return count, listed


def check_upload(path: Path) -> UploadVerdict:
    """Validate an uploaded fine-tuning file: the rules only, no token counting (fast).

    The platform checks a file when it is uploaded, before any job names it.
    """
    report = validate_paths([path], options=ValidateOptions(), counter_factory=None)
    count, listed = _first_errors(report, MAX_LISTED_ERRORS)
    fmt = report.files[0].format
    return UploadVerdict(
        ok=report.ok,
        sample_type=fmt if fmt in ("instruct", "pretrain") else None,
        error_count=count,
        errors=listed,
    )


def check_job_data(
    training: Sequence[Path],
    validation: Sequence[Path],
    model: str,
    *,
    skip_fraction: float = 0.0,
    targets: Sequence[dict[str, Any]] | None = None,
) -> DataVerdict:
    """Validate a job's data and count its tokens with the model's own tokenizer.

    Lines with errors fail the job unless they are at most ``skip_fraction`` of the training
    lines (the job's ``invalid_sample_skip_percentage``); a file-level error (an empty file) or
    an error in validation data always fails it.

    ``targets`` makes it a classifier job: the data must be classifier data whose labels are
    among each target's labels, with no target the job does not name. A completion job refuses
    classifier data.
    """
    options = _options_for(targets)
    report = validate_paths(list(training), options=options, counter_factory=_model_counter(model))
    mismatch = _format_mismatch(report, targets)
    if mismatch is not None:
        return DataVerdict(False, mismatch, 0, 0)
    files = [f for f in report.files if not f.is_eval]
    lines = sum(f.lines for f in files)
    conversations = sum(f.conversations for f in files)
    tokens = sum(f.tokens_total for f in files)
    broken: set[tuple[str, int]] = set()
    first: Finding | None = None
    for finding in report.iter_findings():
        if not finding.is_error:
            continue
        first = first or finding
        if finding.line is None:
            return _failed(finding, conversations, tokens)
        broken.add((finding.path, finding.line))
    if broken and (not lines or len(broken) / lines > skip_fraction):
        assert first is not None
        share = f"{len(broken)} of {lines} training lines have errors"
        return DataVerdict(False, f"{share}; the first: {_where(first)}", tokens, conversations)
    if conversations == 0:
        return DataVerdict(False, "The training data holds no valid conversation.", 0, 0)
    for path in validation:
        checked = validate_paths([path], options=options, counter_factory=None)
        count, listed = _first_errors(checked, 1)
        if count:
            return DataVerdict(
                False,
                f"The validation data has {count} error(s); the first: {listed[0].message} "
                f"(line {listed[0].line_number})",
                tokens,
                conversations,
            )
    return DataVerdict(True, None, tokens, conversations)


def _options_for(targets: Sequence[dict[str, Any]] | None) -> ValidateOptions:
    if targets is None:
        return ValidateOptions()
    return ValidateOptions(
        fmt="classifier", label_sets={t["name"]: list(t["labels"]) for t in targets}
    )


def _format_mismatch(report: Report, targets: Sequence[dict[str, Any]] | None) -> str | None:
    """Why the data does not fit the job's type, if it does not."""
    for file in report.files:
        if targets is None and file.format == "classifier":
            return (
                f"file {Path(file.path).name} holds classifier data ('labels'); "
                "create the job with job_type 'classifier'."
            )
    if targets is None:
        return None
    named = {t["name"] for t in targets}
    for file in report.files:
        extra = sorted(set(classifier.label_stats(file.path)) - named)
        if extra:
            return (
                f"file {Path(file.path).name} labels target(s) {', '.join(extra)} that the "
                "job's classifier_targets do not name."
            )
    return None


def _where(finding: Finding) -> str:
    line = "" if finding.line is None else f" line {finding.line}"
    return f"file {Path(finding.path).name}{line}: {finding.message}"


def _failed(finding: Finding, conversations: int, tokens: int) -> DataVerdict:
    return DataVerdict(False, _where(finding), tokens, conversations)
