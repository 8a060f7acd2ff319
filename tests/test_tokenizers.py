"""The model -> tokenizer table and its lookups."""

from __future__ import annotations

import pytest
from mistral_common.tokens.tokenizers.instruct import InstructTokenizerV3, InstructTokenizerV7
from mistral_common.tokens.tokenizers.mistral import MODEL_NAME_TO_TOKENIZER_CLS
from mistral_common.tokens.tokenizers.sentencepiece import SentencePieceTokenizer
from mistral_common.tokens.tokenizers.tekken import Tekkenizer

from tuner.datasets.tokenizers import (
    DEFAULT_MODEL,
    MODELS,
    TOKENIZER_NAMES,
    Counting,
    InvalidSeqLenError,
    UnknownModelError,
    base_model_name,
    context_length,
    fine_tunable_models,
    known_models,
    load_tokenizer,
    model_info,
    resolve_counting,
    resolve_tokenizer,
)

# docs/data.md's table (#tokenizers-per-base-model), name by name.
EXPECTED = {
    "open-mistral-7b": "v3-sentencepiece",
    "open-mistral-nemo": "v3-tekken",
    "open-mistral-nemo-2407": "v3-tekken",
    "mistral-small-latest": "v3-tekken",
    "mistral-small-2409": "v3-tekken",
    "codestral-latest": "v3-sentencepiece",
    "codestral-2405": "v3-sentencepiece",
    "mistral-large-latest": "v7-sentencepiece",
    "mistral-large-2411": "v7-sentencepiece",
    "mistral-large-2407": "v3-sentencepiece",
    "ministral-8b-latest": "v3-tekken",
    "ministral-8b-2410": "v3-tekken",
    "ministral-3b-latest": "v3-tekken",
}


@pytest.mark.parametrize(("model", "tokenizer"), sorted(EXPECTED.items()))
def test_reference_table(model: str, tokenizer: str) -> None:
    assert resolve_tokenizer(model, None) == tokenizer


def test_known_models_are_exactly_the_table() -> None:
    assert set(known_models()) >= set(EXPECTED)
    assert known_models() == sorted(known_models())
    assert all(resolve_tokenizer(name, None) in TOKENIZER_NAMES for name in known_models())


def test_dated_names_agree_with_mistral_commons_own_table() -> None:
    # The table's constructors are called directly (``from_model`` is deprecated and warns).
    checked = 0
    for name in known_models():
        if name not in MODEL_NAME_TO_TOKENIZER_CLS:
            continue
        ours = load_tokenizer(resolve_tokenizer(name, None)).instruct_tokenizer
        theirs = MODEL_NAME_TO_TOKENIZER_CLS[name]().instruct_tokenizer
        checked += 1
        assert type(ours) is type(theirs), name
        assert type(ours.tokenizer) is type(theirs.tokenizer), name
        assert ours.tokenizer.n_words == theirs.tokenizer.n_words, name
    assert checked == 6


def test_fine_tunable_models_are_the_references_text_models() -> None:
    assert fine_tunable_models() == [
        "open-mistral-7b",
        "mistral-small-latest",
        "codestral-latest",
        "open-mistral-nemo",
        "mistral-large-latest",
        "ministral-8b-latest",
        "ministral-3b-latest",
    ]


def test_names_are_unique_across_the_table() -> None:
    names = [name for info in MODELS for name in (info.name, *info.aliases)]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("open-mistral-7b", 32_768),
        ("codestral-2405", 32_768),
        ("mistral-small-latest", 32_768),
        ("open-mistral-nemo", 131_072),
        ("mistral-large-latest", 131_072),
        ("ministral-8b-2410", 131_072),
        ("ministral-3b-latest", 131_072),
        ("gpt-4o", None),
    ],
)
def test_context_length(model: str, expected: int | None) -> None:
    assert context_length(model) == expected


def test_fine_tuned_ids_resolve_to_their_base() -> None:
    assert base_model_name("ft:open-mistral-7b:57d37e6c:20240531:2813b7e6") == "open-mistral-7b"
    assert (
        base_model_name("ft:classifier:ministral-3b-latest:8e2706f0:20250416:db22ea7e")
        == "ministral-3b-latest"
    )
    assert resolve_tokenizer("ft:mistral-large-latest:abcd1234:20260101:x:efgh5678", None) == (
        "v7-sentencepiece"
    )
    assert context_length("ft:open-mistral-nemo:57d37e6c:20240531:2813b7e6") == 131_072


def test_names_are_trimmed_and_case_insensitive() -> None:
    assert resolve_tokenizer("  Open-Mistral-NeMo ", None) == "v3-tekken"
    assert resolve_tokenizer(None, "V7-SentencePiece") == "v7-sentencepiece"


def test_default_model_when_nothing_is_given() -> None:
    assert DEFAULT_MODEL == "open-mistral-7b"
    assert resolve_tokenizer(None, None) == "v3-sentencepiece"


def test_explicit_tokenizer_wins_and_lets_unknown_models_through() -> None:
    assert resolve_tokenizer("open-mistral-7b", "v3-tekken") == "v3-tekken"
    assert resolve_tokenizer("some-future-model", "v7-sentencepiece") == "v7-sentencepiece"


def test_unknown_model_error_names_the_known_models() -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolve_tokenizer("gpt-4o", None)
    error = caught.value
    assert isinstance(error, ValueError)
    assert "'gpt-4o'" in str(error)
    for name in fine_tunable_models():
        assert name in error.hint
    assert "v3-tekken" in error.hint
    assert "\n" not in str(error)


def test_unknown_tokenizer_is_refused() -> None:
    with pytest.raises(UnknownModelError, match="v3-sentencepiece, v3-tekken, v7-sentencepiece"):
        resolve_tokenizer("open-mistral-7b", "v3")
    with pytest.raises(UnknownModelError):
        load_tokenizer("tekken")


def test_model_info_of_unknown_is_none() -> None:
    assert model_info("nope") is None
    info = model_info("mistral-large-2411")
    assert info is not None and info.name == "mistral-large-latest"


@pytest.mark.parametrize(
    ("name", "instruct", "raw", "vocabulary"),
    [
        ("v3-sentencepiece", InstructTokenizerV3, SentencePieceTokenizer, 32_768),
        ("v3-tekken", InstructTokenizerV3, Tekkenizer, 131_072),
        ("v7-sentencepiece", InstructTokenizerV7, SentencePieceTokenizer, 32_768),
    ],
)
def test_load_tokenizer(name: str, instruct: type, raw: type, vocabulary: int) -> None:
    tokenizer = load_tokenizer(name)
    assert type(tokenizer.instruct_tokenizer) is instruct
    assert isinstance(tokenizer.instruct_tokenizer.tokenizer, raw)
    assert tokenizer.instruct_tokenizer.tokenizer.n_words == vocabulary
    # Loaded once per process.
    assert load_tokenizer(name.upper()) is tokenizer


def test_resolve_counting_is_the_one_rule_for_cli_and_dashboard() -> None:
    default = resolve_counting(None, None)
    assert default == Counting(
        resolve_tokenizer(DEFAULT_MODEL, None), DEFAULT_MODEL, context_length(DEFAULT_MODEL)
    )
    large = resolve_counting("mistral-large-latest", None, 4096)
    assert large.tokenizer == resolve_tokenizer("mistral-large-latest", None)
    assert (large.model, large.seq_len) == ("mistral-large-latest", 4096)
    # A tokenizer alone names no model: no context length to default to.
    assert resolve_counting(None, "v3-tekken") == Counting("v3-tekken", None, None)
    with pytest.raises(UnknownModelError):
        resolve_counting("no-such-model", None)


@pytest.mark.parametrize("seq_len", [0, -1])
def test_a_seq_len_below_one_is_refused(seq_len: int) -> None:
    with pytest.raises(InvalidSeqLenError, match=f"at least 1 token, not {seq_len}") as info:
        resolve_counting(None, None, seq_len)
    assert "--seq-len" in info.value.hint
