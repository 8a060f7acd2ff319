"""The pairwise judge: a model reads the prompt, the reference and two answers, and picks one.

Position bias is removed by showing the two answers in an order drawn per item (and recorded);
the draw is seeded by the run and the item, so a resumed run shows each item the same way.

The judge answers in JSON mode (``response_format={"type": "json_object"}``) with
``{"winner": "A" | "B" | "tie", "reason": "..."}``. The prompt marks its parts with tags
(``<reference>``, ``<answer_a>``, ``<answer_b>``); the local sandbox recognises the same tags to
give a verdict offline (``tuner.sandbox.standin.judge_verdict``), so changing them here means
changing them there.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from tuner.evals.dataset import EvalItem, content_text

Side = Literal["A", "B", "tie"]
Outcome = Literal["win", "tie", "loss"]

JUDGE_SYSTEM_PROMPT = (
    "You are an impartial judge of customer-facing assistant replies. You are given a "
    "conversation, a reference reply written by an expert, and two candidate replies, A and B. "
    "Decide which candidate better does what the reference does: correct facts, the right "
    "action or tool call, the same language and tone, helpfulness. Ignore the order in which "
    "the candidates appear and their length as such. Answer with one JSON object and nothing "
    'else: {"winner": "A" or "B" or "tie", "reason": "one short sentence"}.'
)
TAGS = ("conversation", "reference", "answer_a", "answer_b")
_TAG_TEXT = re.compile(r"</?(?:" + "|".join(TAGS) + r")>", re.IGNORECASE)
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)
_MAX_REASON_CHARS = 300
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True, slots=True)
class ParsedVerdict:
    winner: Side
    reason: str


def candidate_first(run_id: str, item_index: int) -> bool:
    """Whether the candidate (first) model is shown as answer A for this item: a fair coin,
    seeded by run and item so the draw is the same when the run resumes."""
    seed = hashlib.sha256(f"{run_id}:{item_index}".encode()).digest()
    return random.Random(seed).random() < 0.5


def _defused(text: str) -> str:
    # An answer that itself contains our tags must not be able to end its section early.
    return _TAG_TEXT.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)


def _transcript(messages: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    for message in messages:
        role = str(message.get("role", "")).upper()
        text = content_text(message.get("content"))
        calls = message.get("tool_calls") or []
        rendered_calls = [
            f"{call['function']['name']}({call['function']['arguments']})"
            for call in calls
            if isinstance(call, Mapping) and isinstance(call.get("function"), Mapping)
        ]
        body = "\n".join(part for part in [text, *rendered_calls] if part)
        lines.append(f"{role}: {body}")
    return "\n".join(lines)


def judge_messages(item: EvalItem, answer_a: str, answer_b: str) -> list[dict[str, str]]:
    """The judge's chat messages for one item, answers already in their drawn order."""
    parts = {
        "conversation": _transcript(item.messages),
        "reference": item.reference.rendered(),
        "answer_a": answer_a,
        "answer_b": answer_b,
    }
    body = "\n\n".join(f"<{tag}>\n{_defused(parts[tag])}\n</{tag}>" for tag in TAGS)
    return [
        {"role": "system", "content": JUDGE_SYSTEM_PROMPT},
        {"role": "user", "content": body + "\n\nWhich candidate is better? Answer in JSON."},
    ]


def parse_verdict(text: str | None) -> ParsedVerdict | None:
    """The verdict in a judge reply, or None when it is not the JSON asked for."""
    if not text:
        return None
    fenced = _FENCE.match(text)
    raw = fenced.group(1) if fenced else text.strip()
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, Mapping):
        return None
    winner = _side(value.get("winner"))
    if winner is None:
        return None
    reason = value.get("reason")
    one_line = " ".join(str(reason).split()) if reason is not None else ""
    return ParsedVerdict(winner, one_line[:_MAX_REASON_CHARS])


def _side(value: object) -> Side | None:
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if text in ("a", "answer a", "answer_a"):
        return "A"
    if text in ("b", "answer b", "answer_b"):
        return "B"
    if text in ("tie", "draw", "equal", "both", "neither"):
        return "tie"
    return None


def outcome_for_candidate(winner: Side, *, candidate_is_a: bool) -> Outcome:
    if winner == "tie":
        return "tie"
    return "win" if (winner == "A") == candidate_is_a else "loss"


# --------------------------------------------------------------------------- the summary


@dataclass(frozen=True, slots=True)
class JudgeSummary:
    wins: int
    ties: int
    losses: int
    unparsed: int
    failed: int
    win_rate: float | None
    """(wins + ties / 2) / judged: a tie counts half."""
    ci95: tuple[float, float] | None
    """Percentile bootstrap interval of ``win_rate`` over items."""

    @property
    def judged(self) -> int:
        return self.wins + self.ties + self.losses

    def as_json(self) -> dict[str, Any]:
        return {
            "wins": self.wins,
            "ties": self.ties,
            "losses": self.losses,
            "unparsed": self.unparsed,
            "failed": self.failed,
            "win_rate": self.win_rate,
            "ci95": list(self.ci95) if self.ci95 is not None else None,
        }


_POINTS: dict[Outcome, float] = {"win": 1.0, "tie": 0.5, "loss": 0.0}


def summarise(outcomes: Sequence[Outcome], *, unparsed: int = 0, failed: int = 0) -> JudgeSummary:
    points = [_POINTS[o] for o in outcomes]
    rate = math.fsum(points) / len(points) if points else None
    return JudgeSummary(
        wins=outcomes.count("win"),
        ties=outcomes.count("tie"),
        losses=outcomes.count("loss"),
        unparsed=unparsed,
        failed=failed,
        win_rate=rate,
        ci95=bootstrap_ci(points) if points else None,
    )


def bootstrap_ci(
    values: Sequence[float],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (seeded: same data, same CI)."""
    if not values:
        raise ValueError("no values to bootstrap")
    rng = random.Random(seed)
    n = len(values)
    means = sorted(math.fsum(rng.choices(values, k=n)) / n for _ in range(resamples))
    tail = (1 - confidence) / 2
    low = means[math.floor(tail * (resamples - 1))]
    high = means[math.ceil((1 - tail) * (resamples - 1))]
    return (low, high)
