"""``tuner data stats``: what a training file holds, in tokens, turns and money (an estimate).

One streaming pass: every line is checked with the validator's rules (invalid lines are counted,
not used), valid conversations are token-counted in batches with the model's own tokenizer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuner.datasets.counting import TokenCounter
from tuner.datasets.lines import check_input, checked_lines
from tuner.datasets.pricing import Estimate, estimate
from tuner.datasets.providers import DEFAULT_PROVIDER
from tuner.datasets.samples import InstructSample, Sample
from tuner.datasets.summary import Bin, Summary, histogram, summarize
from tuner.progress import NULL_PROGRESS, Progress

BATCH = 1000


@dataclass
class _Tally:
    """Per-conversation measurements gathered in one pass."""

    kind: str | None = None
    lines: int = 0
    invalid_lines: int = 0
    tokens: list[int] = field(default_factory=list)
    trained: list[int] = field(default_factory=list)
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
    estimate: Estimate | None

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


def _valid_samples(
    path: Path, tally: _Tally, progress: Progress, provider: str = DEFAULT_PROVIDER
) -> Iterator[Sample]:
    """The samples of the lines without errors, read as the validator reads them (the first
    valid line decides the format; a line of the other format counts as invalid)."""
    for line in checked_lines(path, provider=provider):
        tally.lines += 1
        progress.advance()
        if line.sample is None:
            tally.invalid_lines += 1
            continue
        tally.kind = tally.kind or line.sample.kind
        yield line.sample


def _record_shape(sample: Sample, tally: _Tally) -> None:
    if not isinstance(sample, InstructSample):
        return
    roles = [m.role for m in sample.messages]
    tally.messages.append(len(roles) + (1 if sample.system_prompt else 0))
    tally.user_turns.append(roles.count("user"))
    tally.assistant_turns.append(roles.count("assistant"))
    tally.with_tools += bool(sample.tools) or any(m.tool_calls for m in sample.messages)
    # OpenAI's data keeps system (and developer) messages in place.
    tally.with_system += sample.system_prompt is not None or any(
        m.role in ("system", "developer") for m in sample.messages
    )
    tally.with_untrained_turns += any(
        m.role == "assistant" and m.weight == 0 for m in sample.messages
    )


def _count_batch(batch: Sequence[Sample], counter: TokenCounter, tally: _Tally) -> None:
    for result in counter.count(batch):
        tally.tokens.append(result.total)
        tally.trained.append(result.trained)


def compute_stats(
    path: str | Path,
    *,
    counter: TokenCounter,
    model: str | None = None,
    training_steps: int | None = None,
    epochs: float | None = None,
    seq_len: int | None = None,
    progress: Progress = NULL_PROGRESS,
    provider: str = DEFAULT_PROVIDER,
) -> DatasetStats:
    """Measure ``path``; with a ``model``, add the cost and duration estimate (Mistral's prices:
    none for OpenAI models, pass ``model=None``). ``provider`` says whose rules read the lines."""
    source = check_input(path)
    tally = _Tally()
    progress.start(f"Reading {source.name}", unit="lines")
    batch: list[Sample] = []
    for sample in _valid_samples(source, tally, progress, provider):
        _record_shape(sample, tally)
        batch.append(sample)
        if len(batch) >= BATCH:
            _count_batch(batch, counter, tally)
            batch = []
    if batch:
        _count_batch(batch, counter, tally)
    progress.finish()
    data_tokens = sum(tally.tokens)
    cost = None
    if model is not None and data_tokens:
        cost = estimate(data_tokens, model, training_steps=training_steps, epochs=epochs)
    return DatasetStats(
        path=str(source),
        format=tally.kind,
        tokenizer=counter.name,
        lines=tally.lines,
        conversations=len(tally.tokens),
        invalid_lines=tally.invalid_lines,
        tokens=summarize(tally.tokens),
        trained_tokens=sum(tally.trained),
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
