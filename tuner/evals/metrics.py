"""Per-answer scores against the reference: exact match, token F1, ROUGE-L, tool calls, cosine.

All text metrics share one normalisation, chosen to work on any language (the example data is
English, French and German): Unicode NFKC, case folding, and words as runs of Unicode letters or
digits, so punctuation and whitespace never count. English-only steps such as SQuAD's article
removal are left out on purpose.

Two empty texts agree perfectly (1.0); an empty text against a non-empty one scores 0.0, so a
model that answers nothing never gets credit, and one that rightly answers nothing is not
punished.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import orjson

from tuner.evals.dataset import Answer, ToolCallAnswer

# Scripts written without spaces between words: each character counts as one word there, as
# CJK-aware ROUGE and BLEU tokenisers do (Han, Hiragana, Katakana, their extensions).
_CHARACTER_WORDS = (
    (0x3040, 0x30FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2FA1F),
)


def _is_character_word(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CHARACTER_WORDS)


def normalise_tokens(text: str) -> list[str]:
    """The words of ``text`` after NFKC and case folding.

    A word is a run of letters and digits, with the combining marks that follow them (so
    Devanagari or decomposed accents stay inside their word); everything else separates words.
    Han and kana characters are one word each.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    words: list[str] = []
    current: list[str] = []
    for char in folded:
        kind = unicodedata.category(char)[0]
        if kind == "M" and current:
            current.append(char)
        elif kind in "LN" and _is_character_word(char):
            if current:
                words.append("".join(current))
                current = []
            words.append(char)
        elif kind in "LN":
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def exact_match(answer: str, reference: str) -> float:
    """1.0 when both texts have the same normalised words in the same order, else 0.0."""
    return 1.0 if normalise_tokens(answer) == normalise_tokens(reference) else 0.0


def token_f1(answer: str, reference: str) -> float:
    """F1 of the bags of normalised words (SQuAD-style, without article removal)."""
    predicted = normalise_tokens(answer)
    expected = normalise_tokens(reference)
    if not predicted or not expected:
        return 1.0 if predicted == expected else 0.0
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(expected)
    return 2 * precision * recall / (precision + recall)


class _Tokenizer:
    """rouge-score's tokenizer interface, with our normalisation: its default one keeps only
    ASCII letters and digits, which would cut "précis" into "pr" and "cis"."""

    def tokenize(self, text: str) -> list[str]:
        return normalise_tokens(text)


@lru_cache(maxsize=1)
def _rouge() -> Any:
    # Imported on first use: rouge-score pulls in nltk and scipy (about a second), which listing
    # or showing stored runs never needs.
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False, tokenizer=_Tokenizer())


def rouge_l(answer: str, reference: str) -> float:
    """ROUGE-L F-measure (longest common subsequence of normalised words), via rouge-score."""
    if not normalise_tokens(answer) or not normalise_tokens(reference):
        return 1.0 if exact_match(answer, reference) else 0.0
    score = _rouge().score(reference, answer)["rougeL"]
    return float(score.fmeasure)


def word_count(text: str) -> int:
    return len(normalise_tokens(text))


# --------------------------------------------------------------------------- tool calls


def _arguments_value(arguments: str) -> Any:
    """The arguments as a JSON value; text that is not JSON stays text (and compares as such)."""
    try:
        return orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return arguments.strip()


def _canonical(value: Any) -> Any:
    """One spelling per JSON value: 79 and 79.0 are the same number (true stays apart from 1)."""
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _call_key(call: ToolCallAnswer) -> bytes:
    # Sorted keys: {"a":1,"b":2} and {"b":2, "a":1} are the same arguments.
    value = _canonical(_arguments_value(call.arguments))
    return orjson.dumps([call.name, value], option=orjson.OPT_SORT_KEYS)


def tool_calls_match(answer: Sequence[ToolCallAnswer], reference: Sequence[ToolCallAnswer]) -> bool:
    """Same calls: each has the right function name and arguments equal as JSON.

    Parallel calls are compared as a multiset, since their order carries no meaning.
    """
    return Counter(map(_call_key, answer)) == Counter(map(_call_key, reference))


def tool_names_match(answer: Sequence[ToolCallAnswer], reference: Sequence[ToolCallAnswer]) -> bool:
    """The right functions, whatever the arguments (tells "wrong tool" from "wrong argument")."""
    return Counter(c.name for c in answer) == Counter(c.name for c in reference)


# --------------------------------------------------------------------------- embeddings


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity; 0.0 when either vector is all zeros."""
    if len(a) != len(b):
        raise ValueError(f"vectors of different sizes: {len(a)} and {len(b)}")
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    return dot / norm if norm else 0.0


# --------------------------------------------------------------------------- per answer

TEXT_METRICS = ("exact_match", "token_f1", "rouge_l")


def score_answer(answer: Answer, reference: Answer) -> dict[str, float]:
    """Every reference-based score of one answer, as stored in the ledger's ``scores``.

    The text metrics compare the rendered answers (text, then calls as ``name(arguments)``), so a
    tool-call answer to a tool-call reference is scored too. ``tool_call`` and ``tool_name`` are
    present only when the reference ends in a tool call: that is where tool-call accuracy is
    defined.
    """
    said, expected = answer.rendered(), reference.rendered()
    scores = {
        "exact_match": exact_match(said, expected),
        "token_f1": token_f1(said, expected),
        "rouge_l": rouge_l(said, expected),
        "length_chars": float(len(said)),
        "length_words": float(word_count(said)),
    }
    if reference.is_tool_call:
        scores["tool_call"] = float(tool_calls_match(answer.tool_calls, reference.tool_calls))
        scores["tool_name"] = float(tool_names_match(answer.tool_calls, reference.tool_calls))
    return scores


def cost_usd(
    prompt_tokens: int | None,
    completion_tokens: int | None,
    price: tuple[float, float] | None,
) -> float | None:
    """The cost of one answer at ``price`` = (USD per million input, per million output tokens).

    None when the price or the token counts are unknown: tuner ships no inference price table,
    since Mistral's are not in any reference it can check (see ``tuner eval run --price``).
    """
    if price is None or prompt_tokens is None or completion_tokens is None:
        return None
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6


def parse_prices(specs: Sequence[str]) -> dict[str, tuple[float, float]]:
    """``["MODEL=IN,OUT", ...]`` (USD per million tokens) as a map; raises ValueError."""
    prices: dict[str, tuple[float, float]] = {}
    for spec in specs:
        model, sep, values = spec.rpartition("=")
        parts = values.split(",")
        if not sep or not model.strip() or len(parts) != 2:
            raise ValueError(f"a price is MODEL=IN,OUT in USD per million tokens, got {spec!r}")
        try:
            given = (float(parts[0]), float(parts[1]))
        except ValueError:
            raise ValueError(f"prices must be numbers, got {spec!r}") from None
        if any(not math.isfinite(p) or p < 0 for p in given):
            raise ValueError(f"prices must be finite and not negative, got {spec!r}")
        prices[model.strip()] = given
    return prices


def mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def metric_values(scores: Sequence[Mapping[str, Any]], name: str) -> list[float]:
    """The ``name`` values of the score maps that have it."""
    return [float(s[name]) for s in scores if isinstance(s.get(name), int | float)]
