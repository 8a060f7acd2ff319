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
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import orjson

from tuner.evals.dataset import Answer, ToolCallAnswer

# Scripts written without spaces between words: each character counts as one word there, as
# CJK-aware ROUGE and BLEU tokenisers do (Han, Hiragana, Katakana, their extensions).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# In ``re``, ``[^\W_]`` is exactly the Unicode letters and numbers (categories L and N), and no
# combining mark is in ``\w``, ``\s`` or ASCII: tests/evals/test_metrics_equivalence.py checks both
# claims on every code point of the running Python's Unicode database.
_LETTER_OR_NUMBER = r"[^\W_]"
_CJK_WORD = rf"(?={_LETTER_OR_NUMBER})[{_CJK}]"
_WORD_START = rf"(?![{_CJK}]){_LETTER_OR_NUMBER}"
_MAYBE_MARK = re.compile(r"[^\w\s\x00-\x7f]")


@lru_cache(maxsize=64)
def _word_pattern(marks: str) -> re.Pattern[str]:
    """Words as a regular expression: one Han or kana character, or a letter or number
    followed by letters, numbers and any of ``marks`` (the combining marks of the text)."""
    if not marks:
        return re.compile(rf"{_CJK_WORD}|(?:{_WORD_START})+")
    inside = rf"(?:{_WORD_START}|[{re.escape(marks)}])"
    return re.compile(rf"{_CJK_WORD}|{_WORD_START}{inside}*")


def _marks_in(text: str) -> str:
    found = {c for c in _MAYBE_MARK.findall(text) if unicodedata.category(c)[0] == "M"}
    return "".join(sorted(found))


def normalise_tokens(text: str) -> list[str]:
    """The words of ``text`` after NFKC and case folding.

    A word is a run of letters and digits, with the combining marks that follow them (so
    Devanagari or decomposed accents stay inside their word); everything else separates words.
    Han and kana characters are one word each.

    Two regular-expression scans (``re`` runs in C): one for the text's combining marks, one for
    the words. The character-by-character definition they reproduce is kept in
    tests/evals/test_metrics_equivalence.py, which checks both agree on random text.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _word_pattern(_marks_in(folded)).findall(folded)


def _exact_match(said: Sequence[str], expected: Sequence[str]) -> float:
    return 1.0 if said == expected else 0.0


def _token_f1(said: Sequence[str], expected: Sequence[str]) -> float:
    if not said or not expected:
        return _exact_match(said, expected)
    common = sum((Counter(said) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision = common / len(said)
    recall = common / len(expected)
    return 2 * precision * recall / (precision + recall)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists.

    Bit-parallel (Allison and Dix 1986; Hyyrö 2004): after each token of ``b``, the number of
    cleared bits of ``row`` (one bit per token of ``a``) is the LCS length of ``a`` and the
    tokens of ``b`` seen so far; one big-integer step per token instead of a len(a) × len(b)
    table.
    """
    masks: dict[str, int] = {}
    for position, token in enumerate(a):
        masks[token] = masks.get(token, 0) | (1 << position)
    full = (1 << len(a)) - 1
    row = full
    for token in b:
        matched = row & masks.get(token, 0)
        row = ((row + matched) | (row - matched)) & full
    return len(a) - row.bit_count()


def _rouge_l(said: Sequence[str], expected: Sequence[str]) -> float:
    # rouge-score's ``_score_lcs`` with the reference as target, the answer as prediction; the
    # same float operations, so the same values (checked against rouge-score in the tests).
    if not said or not expected:
        return _exact_match(said, expected)
    common = lcs_length(expected, said)
    precision = common / len(said)
    recall = common / len(expected)
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def exact_match(answer: str, reference: str) -> float:
    """1.0 when both texts have the same normalised words in the same order, else 0.0."""
    return _exact_match(normalise_tokens(answer), normalise_tokens(reference))


def token_f1(answer: str, reference: str) -> float:
    """F1 of the bags of normalised words (SQuAD-style, without article removal)."""
    return _token_f1(normalise_tokens(answer), normalise_tokens(reference))


def rouge_l(answer: str, reference: str) -> float:
    """ROUGE-L F-measure: longest common subsequence of normalised words.

    The same value as Google's rouge-score (``RougeScorer(["rougeL"])`` given our tokenizer,
    whose default one keeps only ASCII letters and digits); computed here because importing
    rouge-score pulls in nltk and scipy, about a second per run.
    """
    return _rouge_l(normalise_tokens(answer), normalise_tokens(reference))


def text_scores(answer: str, reference: str) -> dict[str, float]:
    """Exact match, token F1, ROUGE-L and the answer's length in words, from one tokenisation
    of each text."""
    said, expected = normalise_tokens(answer), normalise_tokens(reference)
    return {
        "exact_match": _exact_match(said, expected),
        "token_f1": _token_f1(said, expected),
        "rouge_l": _rouge_l(said, expected),
        "length_words": float(len(said)),
    }


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
    text = text_scores(said, expected)
    scores = {
        "exact_match": text["exact_match"],
        "token_f1": text["token_f1"],
        "rouge_l": text["rouge_l"],
        "length_chars": float(len(said)),
        "length_words": text["length_words"],
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
