"""``tuner data stats``: what a training file holds, in tokens, turns and money (an estimate).

The money: Mistral's price table (:mod:`tuner.datasets.pricing`: steps or epochs) for Mistral
data, OpenAI's (:mod:`tuner.datasets.openai_cost`: tokens × whole epochs × price) for OpenAI's.

One streaming pass, the validator's own (:func:`tuner.datasets.validate.measure_file`): every line
is checked with the validator's rules (invalid lines are counted, not used) and valid
conversations are token-counted with the model's own tokenizer, on the validator's worker
processes, which also measure each conversation's turns (:func:`conversation_shape`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuner.datasets.lines import check_input
from tuner.datasets.openai_cost import OpenAIEstimate
from tuner.datasets.openai_cost import estimate as openai_estimate
from tuner.datasets.pricing import Estimate, estimate
from tuner.datasets.providers import DEFAULT_PROVIDER
from tuner.datasets.report import FileReport
from tuner.datasets.samples import InstructSample, Sample
from tuner.datasets.summary import Bin, Summary, histogram, summarize
from tuner.datasets.validate import CounterFactory, measure_file
from tuner.progress import NULL_PROGRESS, Progress


@dataclass
class _Tally:
    """Per-conversation measurements gathered in one pass."""

    kind: str | None = None
    lines: int = 0
    invalid_lines: int = 0
    tokens: list[int] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)
    user_turns: list[int] = field(default_factory=list)
    assistant_turns: list[int] = field(default_factory=list)
    with_tools: int = 0
    with_system: int = 0
    with_untrained_turns: int = 0


@dataclass(frozen=True)
class DatasetStats:
    path: str
    format: str | None
    tokenizer: str
    lines: int
    conversations: int
    invalid_lines: int
    tokens: Summary
    trained_tokens: int
    messages: Summary
    user_turns: Summary
    assistant_turns: Summary
    with_tools: int
    with_system: int
    with_untrained_turns: int
    seq_len: int | None
    over_seq_len: int
    histogram: list[Bin]
    estimate: Estimate | OpenAIEstimate | None

    def share(self, count: int) -> float:
        return count / self.conversations if self.conversations else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "tokenizer": self.tokenizer,
            "lines": self.lines,
            "conversations": self.conversations,
            "invalid_lines": self.invalid_lines,
            "tokens": self.tokens.to_dict(),
            "trained_tokens": self.trained_tokens,
            "messages": self.messages.to_dict(),
            "user_turns": self.user_turns.to_dict(),
            "assistant_turns": self.assistant_turns.to_dict(),
            "share_with_tools": self.share(self.with_tools),
            "share_with_system_prompt": self.share(self.with_system),
            "share_with_untrained_turns": self.share(self.with_untrained_turns),
            "seq_len": self.seq_len,
            "over_seq_len": self.over_seq_len,
            "histogram": [{"low": b.low, "high": b.high, "count": b.count} for b in self.histogram],
            "estimate": self.estimate.to_dict() if self.estimate is not None else None,
        }


def conversation_shape(sample: Sample) -> tuple[int, ...]:
    """What stats needs of one conversation: its messages (the system prompt counted), user
    turns, assistant turns, and 1/0 for: offers tools, has a system prompt, has an untrained
    (weight 0) assistant turn. () for a pretrain or classifier line (no turns).

    Runs in the validator's workers beside the checks (``measure_file``), so it stays a
    module-level function (picklable).
    """
    if not isinstance(sample, InstructSample):
        return ()
    roles = [m.role for m in sample.messages]
    return (
        len(roles) + (1 if sample.system_prompt else 0),
        roles.count("user"),
        roles.count("assistant"),
        int(bool(sample.tools) or any(m.tool_calls for m in sample.messages)),
        # OpenAI's data keeps system (and developer) messages in place.
        int(
            sample.system_prompt is not None
            or any(m.role in ("system", "developer") for m in sample.messages)
        ),
        int(any(m.role == "assistant" and m.weight == 0 for m in sample.messages)),
    )


def _tally(report: FileReport, shapes: list[tuple[int, ...]]) -> _Tally:
    tally = _Tally(
        kind=report.format,
        lines=report.lines,
        invalid_lines=report.lines - report.conversations,
        tokens=list(report.token_counts),
    )
    for shape in shapes:
        if not shape:
            continue
        messages, users, assistants, tools, system, untrained = shape
        tally.messages.append(messages)
        tally.user_turns.append(users)
        tally.assistant_turns.append(assistants)
        tally.with_tools += tools
        tally.with_system += system
        tally.with_untrained_turns += untrained
    return tally


def compute_stats(
    path: str | Path,
    *,
    counter_factory: CounterFactory,
    model: str | None = None,
    training_steps: int | None = None,
    epochs: float | None = None,
    seq_len: int | None = None,
    workers: int | None = None,
    progress: Progress = NULL_PROGRESS,
    provider: str = DEFAULT_PROVIDER,
) -> DatasetStats:
    """Measure ``path``; with a ``model``, add the cost estimate of ``provider``'s price table
    (Mistral's: cost and duration from steps or epochs; OpenAI's: tokens × whole epochs ×
    price, one epoch when none is given). ``provider`` also says whose rules read the lines.

    The file is read by the validator's own pass (:func:`~tuner.datasets.validate.measure_file`):
    the same worker processes (``workers``; 1 runs in this process, None the validator's
    default), the same checks deciding which lines are valid conversations, the same counts.
    ``counter_factory`` builds the token counter in each worker (picklable when workers are
    spawned, e.g. ``functools.partial(counter_for, name)``).
    """
    source = check_input(path)
    report, shapes = measure_file(
        source,
        conversation_shape,
        counter_factory=counter_factory,
        workers=workers,
        progress=progress,
        provider=provider,
    )
    tally = _tally(report, shapes)
    data_tokens = sum(tally.tokens)
    cost: Estimate | OpenAIEstimate | None = None
    if model is not None and data_tokens and provider == "openai":
        cost = _openai_cost(data_tokens, report, model, training_steps, epochs)
    elif model is not None and data_tokens:
        cost = estimate(data_tokens, model, training_steps=training_steps, epochs=epochs)
    return DatasetStats(
        path=str(source),
        format=tally.kind,
        tokenizer=report.tokenizer or "",
        lines=tally.lines,
        conversations=report.conversations,
        invalid_lines=tally.invalid_lines,
        tokens=summarize(tally.tokens),
        trained_tokens=report.tokens_trained,
        messages=summarize(tally.messages),
        user_turns=summarize(tally.user_turns),
        assistant_turns=summarize(tally.assistant_turns),
        with_tools=tally.with_tools,
        with_system=tally.with_system,
        with_untrained_turns=tally.with_untrained_turns,
        seq_len=seq_len,
        over_seq_len=sum(1 for t in tally.tokens if seq_len is not None and t > seq_len),
        histogram=histogram(tally.tokens),
        estimate=cost,
    )


def _openai_cost(
    data_tokens: int,
    report: FileReport,
    model: str,
    training_steps: int | None,
    epochs: float | None,
) -> OpenAIEstimate:
    """OpenAI's estimate: its jobs take whole epochs (``n_epochs``), never steps."""
    if training_steps is not None:
        raise ValueError("OpenAI jobs are planned in epochs (n_epochs), not training steps")
    if epochs is not None and (epochs < 1 or not float(epochs).is_integer()):
        raise ValueError(f"OpenAI's n_epochs is a whole number of at least 1, not {epochs:g}")
    return openai_estimate(
        data_tokens,
        model,
        examples=report.conversations,
        tokenizer=report.tokenizer or "",
        method="dpo" if report.format == "preference" else "supervised",
        epochs=1 if epochs is None else int(epochs),
        epochs_basis="default" if epochs is None else "given",
    )
