"""``tuner data convert --provider openai``: the shapes users bring -> OpenAI SFT or DPO JSONL.

The reading is the Mistral converter's (:mod:`tuner.datasets.convert`: every shape, mapping,
option and skip reason), and so is a supervised line, which OpenAI reads as it is (``messages``
with system, user, assistant and tool turns, ``weight``, ``tools``, tool calls with ids).

What differs is preference data. Mistral has no preference tuning, so its converter refuses a
pair unless ``--preference chosen`` keeps the chosen side only. OpenAI tunes on pairs (DPO), so
here a pair becomes one DPO line::

    {"input": {"messages": [...prompt...], "tools"?: [...]},
     "preferred_output": [chosen assistant message],
     "non_preferred_output": [rejected assistant message]}

The prompt is what the chosen and rejected conversations share; each side's remainder must be
assistant messages only (usually one: the answer), otherwise the record is skipped and
reported. One output holds one method: ``method`` says which ("sft" or "dpo"),
or "auto" lets the first convertible record decide (a pair: DPO); a record of the other kind is
skipped and reported, never dropped in silence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from tuner.datasets.convert import (
    ConvertResult,
    PreferencePair,
    RecordError,
    _check_kto,
    _check_media,
    _convert_planned,
    _Ctx,
    _preference,
    open_sources,
    write_converted,
)
from tuner.datasets.fields import DEFAULT_OPTIONS, ConvertOptions, RecordFields
from tuner.datasets.findings import Category
from tuner.datasets.mapping import Mapping, ResolvedMapping
from tuner.progress import NULL_PROGRESS, Progress

Method = Literal["auto", "sft", "dpo"]
METHODS: tuple[str, ...] = get_args(Method)
Produced = Literal["sft", "dpo"]
# The columns that hold a pair's rejected side (the Mistral converter drops them).
_REJECTED_KEYS = ("non_preferred_output", "rejected_messages")


@dataclass(frozen=True, slots=True)
class OpenAIConvertResult:
    """:class:`~tuner.datasets.convert.ConvertResult` and the method the output holds."""

    result: ConvertResult
    # "sft" or "dpo"; None when nothing converted.
    method: Produced | None


def convert_openai(
    sources: Sequence[str | Path],
    out: str | Path,
    *,
    method: Method = "auto",
    source_format: str = "auto",
    mapping: Mapping | None = None,
    options: ConvertOptions = DEFAULT_OPTIONS,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
    split: str | None = None,
) -> OpenAIConvertResult:
    """Convert ``sources`` into one OpenAI JSONL file (SFT or DPO lines) at ``out``.

    The same contract as :func:`tuner.datasets.convert.convert` (``out`` untouched on any
    failure, not written when nothing converts, :class:`ConvertRefusedError` at the first record
    that an option must decide about).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    opened = open_sources(
        sources, out, source_format=source_format, mapping=mapping, split=split, force=force
    )
    run = _Run(opened.plan, options, method)
    result = write_converted(opened, out, run.record, platform="OpenAI", progress=progress)
    return OpenAIConvertResult(result, run.produced)


class _Run:
    """One conversion: the plan, the options, and the method once decided."""

    def __init__(self, plan: ResolvedMapping, options: ConvertOptions, method: Method) -> None:
        self.plan = plan
        self.options = options
        self.produced: Produced | None = None if method == "auto" else method
        self.explicit = method != "auto"

    def record(self, record: dict[str, Any], index: int) -> tuple[dict[str, Any], RecordFields]:
        """One record as an SFT or DPO line (a :data:`~tuner.datasets.convert.RecordConverter`)."""
        # Read the record as a pair if it is one (the Mistral reader, told to keep pairs).
        ctx = _Ctx(
            self.plan,
            dataclasses.replace(self.options, preference="chosen"),
            RecordFields(),
            index,
        )
        _check_kto(record, ctx)
        _check_media(record, ctx)
        pair = _preference(record, ctx)
        kind: Produced = "dpo" if pair is not None else "sft"
        if self.produced is None:
            self.produced = kind
        if kind == "dpo" and self.produced == "sft" and self.explicit:
            # --method sft: a pair is refused, or its chosen side kept (--preference chosen).
            if self.options.preference != "chosen":
                raise _pair_in_sft()
            return _convert_planned(record, self.plan, self.options, index)
        if kind != self.produced:
            raise _other_method(kind, self.produced)
        if pair is None:
            return _convert_planned(record, self.plan, self.options, index)
        # Both sides are in the output: the rejected side's column is used, not dropped.
        for key in (*self.plan.columns["rejected"], *_REJECTED_KEYS):
            if key in ctx.fields.dropped:
                ctx.fields.dropped.discard(key)
                ctx.use(key)
        line = dpo_line(pair)
        ctx.fields.finish(record)
        return line, ctx.fields


def dpo_line(pair: PreferencePair) -> dict[str, Any]:
    """The OpenAI DPO line of a pair; :class:`RecordError` when a side is not the assistant's
    answer (assistant messages only) after the prompt both sides share."""
    shared = 0
    for chosen, rejected in zip(pair.chosen, pair.rejected, strict=False):
        if chosen != rejected:
            break
        shared += 1
    prompt = pair.chosen[:shared]
    preferred = pair.chosen[shared:]
    non_preferred = pair.rejected[shared:]
    if not any(m.get("role") != "system" for m in prompt):
        raise RecordError(
            "the chosen and rejected conversations share no prompt (OpenAI DPO needs the "
            "conversation up to the answer in input.messages)",
            code="convert_dpo_shape",
            category=Category.STRUCTURE,
            hint="give the prompt in its own column (prompt, instruction or messages)",
        )
    for name, side in (("chosen", preferred), ("rejected", non_preferred)):
        roles = [message.get("role") for message in side]
        if not side or any(role != "assistant" for role in roles):
            raise RecordError(
                f"the {name} side after the shared prompt is not assistant messages only "
                f"({', '.join(map(str, roles)) or 'nothing'}); OpenAI DPO outputs are the "
                "assistant's answer",
                code="convert_dpo_shape",
                category=Category.STRUCTURE,
                hint="put the user and tool turns in the prompt, shared by both sides",
            )
    source: dict[str, Any] = {"messages": prompt}
    if pair.tools:
        source["tools"] = pair.tools
    return {
        "input": source,
        "preferred_output": [_answer(message) for message in preferred],
        "non_preferred_output": [_answer(message) for message in non_preferred],
    }


def _answer(message: dict[str, Any]) -> dict[str, Any]:
    # DPO outputs take no weight: both answers are compared whole.
    return {key: value for key, value in message.items() if key != "weight"}


def _pair_in_sft() -> RecordError:
    return RecordError(
        "a preference pair, and --method sft asks for supervised data",
        code="convert_preference_pair",
        hint="pass --method dpo (or leave --method out) to make OpenAI DPO data, or "
        "--preference chosen to keep the chosen answers only",
        refused=True,
    )


def _other_method(kind: Produced, produced: Produced) -> RecordError:
    what = {"dpo": "a preference pair", "sft": "a plain conversation (no pair)"}[kind]
    return RecordError(
        f"{what} in {produced.upper()} output: one OpenAI training file holds one method",
        code="convert_other_method",
        category=Category.SCHEMA,
        hint="convert the two kinds into separate files (--method sft, --method dpo)",
    )
