"""The one-pass scorer gives exactly what the earlier per-metric computation gave.

``reference_tokens`` is the character-by-character definition of a word that
``tuner.evals.metrics.normalise_tokens`` used to run (and now reproduces with one regular
expression); ``reference_scores`` is the earlier ``score_answer`` text part: each metric
tokenising both texts again, ROUGE-L through Google's rouge-score. Random texts mix the cases
where the two could part: combining marks (at a word's start, middle and end, after Han
characters), Han and kana, numbers of other scripts, full-width forms, underscores, letters
whose case folding adds a mark (İ).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from tuner.evals.metrics import lcs_length, normalise_tokens, text_scores

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


def reference_tokens(text: str) -> list[str]:
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


class _Tokenizer:
    def tokenize(self, text: str) -> list[str]:
        return reference_tokens(text)


_ROUGE = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False, tokenizer=_Tokenizer())


def reference_scores(answer: str, reference: str) -> dict[str, float]:
    def exact(a: str, b: str) -> float:
        return 1.0 if reference_tokens(a) == reference_tokens(b) else 0.0

    def f1(a: str, b: str) -> float:
        predicted, expected = reference_tokens(a), reference_tokens(b)
        if not predicted or not expected:
            return 1.0 if predicted == expected else 0.0
        common = sum((Counter(predicted) & Counter(expected)).values())
        if common == 0:
            return 0.0
        precision, recall = common / len(predicted), common / len(expected)
        return 2 * precision * recall / (precision + recall)

    def rouge(a: str, b: str) -> float:
        if not reference_tokens(a) or not reference_tokens(b):
            return exact(a, b)
        return float(_ROUGE.score(b, a)["rougeL"].fmeasure)

    return {
        "exact_match": exact(answer, reference),
        "token_f1": f1(answer, reference),
        "rouge_l": rouge(answer, reference),
        "length_words": float(len(reference_tokens(answer))),
    }


# Characters where a tokeniser could go wrong, plus ordinary words so that texts share some.
_TRICKY = (
    "abcxyzABC019_ -,.!?'\"\n\t"
    "éÉèçßøœñüÜ"  # composed Latin
    "\u0301\u0308\u0327\u20dd"  # combining marks (acute, diaeresis, cedilla, enclosing circle)
    "हिन्दीभाषा\u093e\u094d"  # Devanagari letters and vowel signs
    "東京京都数据模型タワーこんにちは\u3099\u309a\u30fb\u30a0"  # Han, kana, kana marks, dots
    "٣٤Ⅻⅻ½²"  # Arabic-Indic digits, Roman numerals, fractions, superscripts
    "ＡＢＣ１２３"  # full-width forms
    "İıﬁ"  # case folding that adds a mark; a ligature NFKC splits
    "🙂❤\ufe0f‍«»’–…"  # emoji, a variation selector (a mark), joiner, typographic punctuation
    "مرحبا\u064e\u0650"  # Arabic letters and harakat
)
_WORDS = ["the", "cat", "sat", "on", "mat", "café", "东京", "हिन्दी", "ok", "42"]

texts = st.one_of(
    st.text(alphabet=_TRICKY, max_size=60),
    st.lists(st.sampled_from(_WORDS + list(_TRICKY)), max_size=30).map(" ".join),
    st.text(max_size=40),  # any code points at all
)


@settings(max_examples=400)
@given(texts)
def test_tokens_equal_the_character_by_character_definition(text: str) -> None:
    assert normalise_tokens(text) == reference_tokens(text)


@settings(max_examples=300)
@given(texts, texts)
def test_one_pass_scores_equal_the_earlier_computation(answer: str, reference: str) -> None:
    # Exactly equal, floats included: the same operations on the same numbers.
    assert text_scores(answer, reference) == reference_scores(answer, reference)


@settings(max_examples=300)
@given(
    st.lists(st.sampled_from("abcde"), max_size=40),
    st.lists(st.sampled_from("abcdef"), max_size=40),
)
def test_lcs_length_equals_rouge_scores_table(a: list[str], b: list[str]) -> None:
    expected = rouge_scorer._lcs_table(a, b)[-1][-1] if a and b else 0
    assert lcs_length(a, b) == expected == lcs_length(b, a)


def test_long_texts_score_as_before() -> None:
    # Beyond 64 tokens the LCS bit vector spans several machine words.
    answer = " ".join(_WORDS[i % 7] for i in range(300))
    reference = " ".join(_WORDS[(i * 3) % 10] for i in range(450))
    assert text_scores(answer, reference) == reference_scores(answer, reference)


def test_the_character_classes_normalise_tokens_relies_on() -> None:
    # For every code point of this Python's Unicode database: ``[^\W_]`` is exactly the letters
    # and numbers, and every combining mark is outside ``\w``, ``\s`` and ASCII.
    word = re.compile(r"[^\W_]")
    maybe_mark = re.compile(r"[^\w\s\x00-\x7f]")
    wrong = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        kind = unicodedata.category(char)[0]
        if (word.match(char) is not None) != (kind in "LN") or (
            kind == "M" and maybe_mark.match(char) is None
        ):
            wrong.append(f"U+{code:04X}")
    assert wrong == []
