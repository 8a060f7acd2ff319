"""Each metric on hand-made cases whose value is worked out by hand, including empty and unicode."""

from __future__ import annotations

import math

import pytest

from tuner.evals.dataset import Answer, ToolCallAnswer
from tuner.evals.metrics import (
    cosine,
    cost_usd,
    exact_match,
    mean,
    normalise_tokens,
    parse_prices,
    rouge_l,
    score_answer,
    token_f1,
    tool_calls_match,
    tool_names_match,
)

# --------------------------------------------------------------------------- normalisation


def test_words_ignore_case_punctuation_and_spacing() -> None:
    assert normalise_tokens("  Hello,   WORLD!\n") == ["hello", "world"]
    assert normalise_tokens("snake_case-and/slash") == ["snake", "case", "and", "slash"]


def test_words_keep_accents_and_marks_inside_words() -> None:
    # Composed and decomposed é are the same word; ß folds to ss.
    assert normalise_tokens("Café") == normalise_tokens("Cafe\u0301") == ["café"]
    assert normalise_tokens("Straße") == ["strasse"]
    # Devanagari vowel signs are combining marks: they must not split the word.
    assert normalise_tokens("हिन्दी भाषा") == ["हिन्दी", "भाषा"]


def test_han_and_kana_are_one_word_per_character() -> None:
    assert normalise_tokens("東京タワー") == ["東", "京", "タ", "ワ", "ー"]
    assert normalise_tokens("ok東京") == ["ok", "東", "京"]


def test_fullwidth_forms_are_folded() -> None:
    assert normalise_tokens("ＡＢＣ１２３") == ["abc123"]


# --------------------------------------------------------------------------- exact match


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [
        ("Open Settings.", "open settings", 1.0),
        ("Open  Settings", "Open settings now", 0.0),
        ("settings open", "open settings", 0.0),  # order matters
        ("", "", 1.0),
        ("   ", "", 1.0),  # nothing but whitespace is empty
        ("", "something", 0.0),
        ("Ça marche !", "ca marche", 0.0),  # accents are kept
        ("Ça marche !", "ça marche", 1.0),
    ],
)
def test_exact_match(answer: str, reference: str, expected: float) -> None:
    assert exact_match(answer, reference) == expected


# --------------------------------------------------------------------------- token F1


def test_token_f1_worked_example() -> None:
    # answer: 3 words, reference: 6 words, 3 shared → P = 1, R = 0.5, F1 = 2/3.
    assert token_f1("the cat sat", "the cat sat on the mat") == pytest.approx(2 / 3)


def test_token_f1_counts_repeated_words_once_each() -> None:
    # "the the the" vs "the cat": 1 shared (min of counts), P = 1/3, R = 1/2 → F1 = 0.4.
    assert token_f1("the the the", "the cat") == pytest.approx(0.4)


def test_token_f1_ignores_order() -> None:
    assert token_f1("settings open", "open settings") == 1.0


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [("", "", 1.0), ("", "a b", 0.0), ("a b", "", 0.0), ("!!!", "", 1.0), ("x", "y", 0.0)],
)
def test_token_f1_empty_and_disjoint(answer: str, reference: str, expected: float) -> None:
    assert token_f1(answer, reference) == expected


def test_token_f1_unicode() -> None:
    # German with umlauts: 2 of 3 words shared both ways → F1 = 2/3.
    assert token_f1("Grüße aus München", "Grüße nach München") == pytest.approx(2 / 3)
    # CJK without spaces: 東京 vs 京都 share one character of two.
    assert token_f1("東京", "京都") == pytest.approx(0.5)
    assert token_f1("Cafe\u0301 crème", "café crème") == 1.0


# --------------------------------------------------------------------------- ROUGE-L


def test_rouge_l_worked_example() -> None:
    # LCS of "a b c d" and "a c b d" has length 3 (a b d or a c d): P = R = 3/4.
    assert rouge_l("a b c d", "a c b d") == pytest.approx(0.75)


def test_rouge_l_is_order_sensitive_where_f1_is_not() -> None:
    assert token_f1("d c b a", "a b c d") == 1.0
    # Reversed: the longest common subsequence is one word → P = R = 1/4.
    assert rouge_l("d c b a", "a b c d") == pytest.approx(0.25)


def test_rouge_l_precision_and_recall() -> None:
    # answer 2 words, reference 4, LCS 2 → P = 1, R = 0.5, F = 2/3.
    assert rouge_l("open settings", "please open the settings") == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [("", "", 1.0), ("", "a", 0.0), ("a", "", 0.0), ("...", "", 1.0)],
)
def test_rouge_l_empty(answer: str, reference: str, expected: float) -> None:
    assert rouge_l(answer, reference) == expected


def test_rouge_l_does_not_split_accented_words() -> None:
    # rouge-score's own tokenizer would cut "précis" into "pr" and "cis" and find matches in
    # unrelated words; ours keeps it whole: 1 of 2 words in common, in order → F = 0.5.
    assert rouge_l("très précis", "très clair") == pytest.approx(0.5)
    assert rouge_l("Réponse précise", "réponse précise") == 1.0
    assert rouge_l("東京タワー", "東京") == pytest.approx(2 * 1 * 0.4 / 1.4)


# --------------------------------------------------------------------------- tool calls


def call(name: str, arguments: str) -> ToolCallAnswer:
    return ToolCallAnswer(name, arguments)


def test_tool_call_arguments_compare_as_json() -> None:
    reference = [call("lookup_order", '{"order_id":"BF-1","verbose":true}')]
    assert tool_calls_match(
        [call("lookup_order", '{"verbose": true, "order_id": "BF-1"}')], reference
    )
    assert not tool_calls_match(
        [call("lookup_order", '{"order_id":"BF-2","verbose":true}')], reference
    )
    assert not tool_calls_match(
        [call("create_refund", '{"order_id":"BF-1","verbose":true}')], reference
    )
    # 1 and 1.0 are the same JSON number.
    assert tool_calls_match(
        [call("refund", '{"amount": 79}')], [call("refund", '{"amount": 79.0}')]
    )
    assert not tool_calls_match([call("f", '{"on": true}')], [call("f", '{"on": 1}')])


def test_parallel_calls_in_any_order() -> None:
    a, b = call("lookup_order", '{"order_id":"BF-1"}'), call("check_warranty", '{"serial":"X"}')
    assert tool_calls_match([b, a], [a, b])
    assert not tool_calls_match([a], [a, b])
    assert not tool_calls_match([a, a], [a, b])
    assert tool_calls_match([], [])


def test_arguments_that_are_not_json_compare_as_text() -> None:
    assert tool_calls_match([call("f", " not json ")], [call("f", "not json")])
    assert not tool_calls_match([call("f", "not json")], [call("f", '{"a": 1}')])


def test_tool_names_ignore_arguments() -> None:
    assert tool_names_match([call("f", '{"a": 1}')], [call("f", '{"a": 2}')])
    assert not tool_names_match([call("g", "{}")], [call("f", "{}")])


def test_score_answer_defines_tool_accuracy_only_for_tool_call_references() -> None:
    text_reference = Answer("Open Settings.")
    scores = score_answer(Answer("open settings"), text_reference)
    assert scores["exact_match"] == 1.0
    assert scores["length_words"] == 2.0
    assert scores["length_chars"] == len("open settings")
    assert "tool_call" not in scores

    reference = Answer("", (call("lookup_order", '{"order_id":"BF-1"}'),))
    right = score_answer(Answer("", (call("lookup_order", '{"order_id": "BF-1"}'),)), reference)
    assert right["tool_call"] == 1.0
    assert right["tool_name"] == 1.0
    wrong_args = score_answer(Answer("", (call("lookup_order", '{"order_id":"BF-9"}'),)), reference)
    assert (wrong_args["tool_call"], wrong_args["tool_name"]) == (0.0, 1.0)
    prose = score_answer(Answer("Let me look that up."), reference)
    assert (prose["tool_call"], prose["tool_name"]) == (0.0, 0.0)


def test_empty_answer_scores_zero_against_a_reference() -> None:
    scores = score_answer(Answer(""), Answer("Open Settings."))
    assert scores["exact_match"] == scores["token_f1"] == scores["rouge_l"] == 0.0
    assert scores["length_words"] == 0.0


# --------------------------------------------------------------------------- cosine, cost


def test_cosine() -> None:
    assert cosine([1.0, 0.0], [0.0, 2.0]) == 0.0
    assert cosine([1.0, 2.0], [2.0, 4.0]) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [-1.0, 0.0]) == pytest.approx(-1.0)
    assert cosine([1.0, 1.0], [1.0, 0.0]) == pytest.approx(1 / math.sqrt(2))
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0
    with pytest.raises(ValueError, match="different sizes"):
        cosine([1.0], [1.0, 2.0])


def test_cost_and_prices() -> None:
    prices = parse_prices(["open-mistral-7b=0.25,0.25", "ft:open-mistral-7b:ab:cd:ef=0.3,0.9"])
    assert prices["ft:open-mistral-7b:ab:cd:ef"] == (0.3, 0.9)
    assert cost_usd(1_000_000, 2_000_000, prices["ft:open-mistral-7b:ab:cd:ef"]) == pytest.approx(
        0.3 + 1.8
    )
    assert cost_usd(10, 10, None) is None
    assert cost_usd(None, 10, (1.0, 1.0)) is None
    for bad in ["model", "model=1", "model=a,b", "=1,2", "m=-1,2", "m=nan,1"]:
        with pytest.raises(ValueError):
            parse_prices([bad])


def test_mean() -> None:
    assert mean([]) is None
    assert mean([1.0, 0.0, 0.5]) == 0.5
