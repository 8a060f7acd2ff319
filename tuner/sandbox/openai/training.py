"""Simulated OpenAI training: the data check a job runs first, and the job's timeline.

As on OpenAI, the upload of a training file is not checked for its format; the job reads the
file while ``validating_files`` and fails with an ``error {code, message, param}`` when it is
unusable. Everything after creation is a function of the clock: a job is validating for
``VALIDATE_SECONDS``, queued for ``QUEUE_SECONDS``, then runs ``STEP_SECONDS`` per step, less
any time it spent paused. A job given the ``job_fail`` fault (decided at creation, stored with
it) fails part-way through its steps instead of succeeding.

The rules checked here are the broad ones of OpenAI's public data guide (one JSON object per
line, chat ``messages`` with known roles and an assistant turn, DPO's ``input`` /
``preferred_output`` / ``non_preferred_output``, at least ``MIN_EXAMPLES`` lines); the full
rule set belongs to ``tuner data validate --provider openai`` (not written yet).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tuner.sandbox import standin
from tuner.sandbox.openai.records import DataCheck, OpenAIJobRecord

VALIDATE_SECONDS = 10.0
QUEUE_SECONDS = 10.0
STEP_SECONDS = 2.0
MIN_EXAMPLES = 10
ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
# The sandbox's choices for "auto" (OpenAI picks from the data; these are not its values).
AUTO_EPOCHS = 3
AUTO_LEARNING_RATE_MULTIPLIER = 1.8
AUTO_BETA = 0.1
MAX_AUTO_BATCH = 256


class BadLine(ValueError):
    """One unusable line; the message says why."""


def check_file(path: Path, method: str, param: str) -> DataCheck:
    """Read a training or validation file as the job would; the first problem fails it."""
    examples = 0
    tokens = 0
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    record = _json_object(raw)
                    tokens += _check_dpo(record) if method == "dpo" else _check_chat(record)
                except BadLine as exc:
                    return _invalid(param, f"Invalid file format. Line {number}, {exc}")
                examples += 1
    except OSError:
        return _invalid(param, "The file could not be read.")
    if examples < MIN_EXAMPLES:
        return _invalid(
            param,
            f"Invalid file format. The file has {examples} example(s), "
            f"but at least {MIN_EXAMPLES} are required.",
        )
    return DataCheck(ok=True, examples=examples, tokens=tokens)


def _invalid(param: str, message: str) -> DataCheck:
    code = "invalid_training_file" if param == "training_file" else "invalid_validation_file"
    return DataCheck(ok=False, code=code, message=message, param=param)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadLine("the line is not valid JSON.") from None
    if not isinstance(value, dict):
        raise BadLine("each line must be a JSON object.")
    return value


def _check_messages(messages: object, where: str, *, need_assistant: bool) -> int:
    if not isinstance(messages, list) or not messages:
        raise BadLine(f"{where} must be a non-empty list.")
    tokens = 0
    has_assistant = False
    for position, message in enumerate(messages):
        if not isinstance(message, dict):
            raise BadLine(f"{where}[{position}] must be an object.")
        role = message.get("role")
        if role not in ROLES:
            raise BadLine(f"{where}[{position}] has an unrecognised role.")
        has_assistant = has_assistant or role == "assistant"
        content = message.get("content")
        if content is None and not message.get("tool_calls"):
            raise BadLine(f"{where}[{position}] has no content.")
        tokens += standin.approx_tokens(standin.message_text(content)) + 3
    if need_assistant and not has_assistant:
        raise BadLine(f"{where} has no assistant message.")
    return tokens


def _check_chat(record: dict[str, Any]) -> int:
    return _check_messages(record.get("messages"), "messages", need_assistant=True)


def _check_dpo(record: dict[str, Any]) -> int:
    prompt = record.get("input")
    if not isinstance(prompt, dict):
        raise BadLine("a preference example needs an 'input' object.")
    tokens = _check_messages(prompt.get("messages"), "input.messages", need_assistant=False)
    for name in ("preferred_output", "non_preferred_output"):
        tokens += _check_messages(record.get(name), name, need_assistant=True)
    return tokens


def chat_view(record: dict[str, Any]) -> dict[str, Any]:
    """A preference example as chat data (its input and preferred output), for the stand-in."""
    prompt = record.get("input")
    preferred = record.get("preferred_output")
    if isinstance(prompt, dict) and isinstance(preferred, list):
        messages = prompt.get("messages")
        if isinstance(messages, list):
            return {"messages": [*messages, *preferred]}
    return record


# ------------------------------------------------------------------------------- hyperparameters


def resolved_hyperparameters(job: OpenAIJobRecord, examples: int) -> dict[str, Any]:
    """Numbers for every hyperparameter: the request's, or the sandbox's choice for "auto"."""
    given = job.hyperparameters

    def pick(name: str, auto: float) -> Any:
        value = given.get(name, "auto")
        return auto if value == "auto" else value

    batch_auto = max(1, min(MAX_AUTO_BATCH, round(examples * 0.002)))
    resolved = {
        "n_epochs": int(pick("n_epochs", AUTO_EPOCHS)),
        "batch_size": int(pick("batch_size", batch_auto)),
        "learning_rate_multiplier": float(
            pick("learning_rate_multiplier", AUTO_LEARNING_RATE_MULTIPLIER)
        ),
    }
    if job.method == "dpo":
        resolved["beta"] = float(pick("beta", AUTO_BETA))
    return resolved


def total_steps(examples: int, epochs: int, batch_size: int) -> int:
    return max(1, math.ceil(examples / max(1, batch_size))) * max(1, epochs)


# ------------------------------------------------------------------------------------ timeline


@dataclass(frozen=True, slots=True)
class Timeline:
    """Where a job stands at one instant."""

    status: str
    steps_done: int
    total_steps: int
    steps_per_epoch: int
    started_at: float | None
    finished_at: float | None
    estimated_finish: float | None
    failed_step: int | None = None
    """The step at which the job_fail fault failed the job (None: it did not)."""


def step_time(job: OpenAIJobRecord, start: float, step: int) -> float:
    """The simulated instant step ``step`` completes, pauses included."""
    at = start + step * STEP_SECONDS
    for paused_at, resumed_at in sorted(job.paused):
        if paused_at < at:
            at += (resumed_at if resumed_at >= 0 else math.inf) - paused_at
    return at


def timeline(job: OpenAIJobRecord, now: float) -> Timeline:
    validated_at = job.created_at + VALIDATE_SECONDS
    start = validated_at + QUEUE_SECONDS
    check = job.check
    examples = check.examples if check is not None else 0
    resolved = resolved_hyperparameters(job, examples)
    per_epoch = max(1, math.ceil(examples / max(1, resolved["batch_size"])))
    total = per_epoch * max(1, resolved["n_epochs"])
    end = step_time(job, start, total)
    cancelled = job.cancelled_at if job.cancelled_at is not None else math.inf
    at = min(now, cancelled)
    done = _steps_done(job, start, total, at)
    started = start if at >= start else None

    def state(status: str, finished: float | None = None) -> Timeline:
        finish_estimate = end if status == "running" and math.isfinite(end) else None
        return Timeline(status, done, total, per_epoch, started, finished, finish_estimate)

    if check is not None and not check.ok and now >= validated_at:
        return Timeline("failed", 0, total, per_epoch, None, validated_at, None)
    failing = failing_step(job, total)
    if failing is not None and step_time(job, start, failing) <= at:
        fail_at = step_time(job, start, failing)
        return Timeline("failed", failing, total, per_epoch, start, fail_at, None, failing)
    if end <= at:
        return state("succeeded", end)
    if job.cancelled_at is not None and now >= job.cancelled_at:
        return state("cancelled", job.cancelled_at)
    if now < validated_at:
        return state("validating_files")
    if now < start:
        return state("queued")
    if job.paused and job.paused[-1][1] < 0:
        return state("paused")
    return state("running")


def failing_step(job: OpenAIJobRecord, total: int) -> int | None:
    """The step at which a job given the job_fail fault fails: part-way, never before its first
    step nor (when it has more than one) at its last. None: it does not fail."""
    if job.fail_fraction is None or job.check is None or not job.check.ok:
        return None
    return min(max(1, math.floor(total * job.fail_fraction)), max(1, total - 1))


def failure_message(line: Timeline) -> str:
    """The error message of a job failed by the job_fail fault."""
    return (
        f"Training failed at step {line.failed_step} of {line.total_steps}: simulated worker "
        "failure (tuner sandbox job_fail fault)."
    )


def _steps_done(job: OpenAIJobRecord, start: float, total: int, at: float) -> int:
    if at < start:
        return 0
    low, high = 0, total
    while low < high:  # the last step completed by ``at``
        middle = (low + high + 1) // 2
        if step_time(job, start, middle) <= at:
            low = middle
        else:
            high = middle - 1
    return low


# ------------------------------------------------------------------------------------- metrics


def train_loss(job_id: str, step: int, total: int) -> float:
    """A made-up, decreasing, seeded loss curve (SIMULATED: nothing is trained)."""
    progress = step / max(1, total)
    wobble = _unit(f"{job_id}:{step}") * 0.08 - 0.04
    return round(1.9 * math.exp(-2.5 * progress) + 0.35 + wobble, 4)


def token_accuracy(loss: float) -> float:
    return round(max(0.0, min(1.0, 1.05 - loss / 2.5)), 4)


def _unit(text: str) -> float:
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
