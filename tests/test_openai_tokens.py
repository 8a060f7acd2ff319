"""OpenAI token counts: exact content tokens from the vocabulary bpe-openai ships, a labelled
overhead estimate, the model family → vocabulary map, and the refusals."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from tuner.datasets import openai_tokens
from tuner.datasets.openai_rules import check_record
from tuner.datasets.openai_tokens import (
    ESTIMATE_LABEL,
    TOKENS_PER_CALL,
    TOKENS_PER_EXAMPLE,
    TOKENS_PER_MESSAGE,
    TOKENS_PER_NAME,
    OpenAITokenCounter,
    family_of,
    resolve_openai_counting,
)
from tuner.datasets.tokenizers import InvalidSeqLenError, UnknownModelError

with warnings.catch_warnings():
    # bpe-openai 0.1.4 reads its vocabularies on import with a deprecated importlib API.
    warnings.simplefilter("ignore", DeprecationWarning)
    import bpe_openai  # a dependency of tuner: imported, never skipped

# Known o200k_base counts, read from the package itself. "hello world" -> [24912, 2375] is also
# the known answer public o200k_base implementations test against (and what tiktoken gives).
O200K = {
    "hello world": [24912, 2375],
    "Hello, world!": [13225, 11, 2375, 0],
    "The quick brown fox jumps over the lazy dog.": [
        976,
        4853,
        19705,
        68347,
        65613,
        1072,
        290,
        29082,
        6446,
        13,
    ],
    "東京は日本の首都です。": [108713, 5205, 9048, 3385, 15425, 12232, 15121, 788],
}
# cl100k_base's "hello world", the known answer of public cl100k_base implementations.
CL100K_HELLO = [15339, 1917]


@pytest.fixture(scope="module")
def o200k() -> OpenAITokenCounter:
    return OpenAITokenCounter("o200k_base")


@pytest.mark.parametrize(("text", "tokens"), list(O200K.items()))
def test_known_o200k_tokens(text: str, tokens: list[int]) -> None:
    # The Rust tokenizer tuner counts with, and the package's public tiktoken-like API.
    assert openai_tokens._rust_tokenizer("o200k_base").encode(text) == tokens
    assert bpe_openai.get_encoding("o200k_base").encode_ordinary(text) == tokens
    assert openai_tokens.load_encoding("o200k_base")(text) == len(tokens)
    assert OpenAITokenCounter("o200k_base").text_tokens(text) == len(tokens)


def test_known_cl100k_tokens() -> None:
    assert openai_tokens._rust_tokenizer("cl100k_base").encode("hello world") == CL100K_HELLO
    assert openai_tokens.load_encoding("cl100k_base")("hello world") == len(CL100K_HELLO)


def test_the_package_import_path_counts_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the Rust module cannot be loaded on its own, the package's API counts."""
    monkeypatch.setattr(openai_tokens, "_rust_tokenizer", lambda name: None)
    openai_tokens._load.cache_clear()
    try:
        for text, tokens in O200K.items():
            assert openai_tokens.load_encoding("o200k_base")(text) == len(tokens)
    finally:
        openai_tokens._load.cache_clear()


def tiktoken_o200k() -> Any:
    """tiktoken's o200k_base, given the vocabulary bpe-openai ships instead of downloading it:
    a second, independent BPE implementation to count against."""
    tiktoken = pytest.importorskip("tiktoken")
    from bpe_openai import registry

    data = registry.o200k_base()
    return tiktoken.Encoding(
        "o200k_base_offline",
        pat_str=data["pat_str"],
        mergeable_ranks=data["mergeable_ranks"],
        special_tokens=data["special_tokens"],
    )


def test_counts_equal_tiktoken_on_the_same_vocabulary() -> None:
    """A second, independent BPE implementation (tiktoken, given the vocabulary the wheel ships
    instead of downloading it) agrees on texts of every kind."""
    reference = tiktoken_o200k()
    counter = OpenAITokenCounter("o200k_base")
    texts = [
        *O200K,
        "  indented\n\n\ncode()  \n",
        "😀🎉 emoji, ümlauts and ½ fractions",
        '{"city": "Paris", "days": [1, 2, 3]}',
        "x" * 5000,
        "line one.\n/slash after a newline\n" * 50,
    ]
    for text in texts:
        assert counter.text_tokens(text) == len(reference.encode_ordinary(text)), text[:40]


def test_long_texts_are_cut_only_where_counts_add_up() -> None:
    reference = tiktoken_o200k()
    paragraph = "Fine-tuning data, line by line; numbers 12345 and a URL https://x.y/z.\n\n"
    text = paragraph * 4000  # ~300,000 characters: cut into pieces
    assert len(openai_tokens._pieces(text)) > 1
    assert OpenAITokenCounter("o200k_base").text_tokens(text) == len(
        reference.encode_ordinary(text)
    )


def test_text_of_many_tokens_per_character_is_still_counted() -> None:
    # Each of these characters is 4 tokens (byte fallback): 60,000 of them are 240,000 tokens,
    # over what bpe-openai encodes in one call; without line breaks the cuts are approximate.
    text = "\U00013000" * 60_000
    count = OpenAITokenCounter("o200k_base").text_tokens(text)
    assert abs(count - 4 * 60_000) <= 2 * len(openai_tokens._pieces(text))


def sample(line: bytes) -> object:
    result = check_record(line, path="t", line=1, expect=None)
    assert result.sample is not None, result.findings
    return result.sample


def test_an_example_is_content_plus_the_estimated_overhead(o200k: OpenAITokenCounter) -> None:
    line = (
        b'{"messages": [{"role": "user", "content": "hello world", "name": "Ann"},'
        b' {"role": "assistant", "content": "Hello, world!"}]}'
    )
    (count,) = o200k.count([sample(line)])
    content = 2 + 4  # the two contents, exact
    roles = o200k.text_tokens("user") + o200k.text_tokens("assistant")
    name = TOKENS_PER_NAME + o200k.text_tokens("Ann")
    assert count.total == content + roles + name + 2 * TOKENS_PER_MESSAGE + TOKENS_PER_EXAMPLE
    assert count.trained == 4 + o200k.text_tokens("assistant") + TOKENS_PER_MESSAGE


def test_weight_zero_turns_are_not_trained(o200k: OpenAITokenCounter) -> None:
    line = (
        b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content":'
        b' "hello world", "weight": 0}, {"role": "user", "content": "q"},'
        b' {"role": "assistant", "content": "Hello, world!"}]}'
    )
    (count,) = o200k.count([sample(line)])
    assert count.trained == 4 + o200k.text_tokens("assistant") + TOKENS_PER_MESSAGE


def test_tool_calls_and_tools_are_counted(o200k: OpenAITokenCounter) -> None:
    plain = (
        b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}'
    )
    with_tools = (
        b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls":'
        b' [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}],'
        b' "tools": [{"type": "function", "function": {"name": "f"}}]}'
    )
    (a,) = o200k.count([sample(plain)])
    (b,) = o200k.count([sample(with_tools)])
    call = TOKENS_PER_CALL + o200k.text_tokens("f") + o200k.text_tokens("{}")
    tools = o200k.text_tokens('[{"function":{"name":"f"},"type":"function"}]')
    assert b.total == a.total - o200k.text_tokens("a") + call + tools
    assert b.trained == call + o200k.text_tokens("assistant") + TOKENS_PER_MESSAGE


def test_dpo_counts_the_prompt_and_the_longer_answer(o200k: OpenAITokenCounter) -> None:
    line = (
        b'{"input": {"messages": [{"role": "user", "content": "hello world"}]},'
        b' "preferred_output": [{"role": "assistant", "content": "Hello, world!"}],'
        b' "non_preferred_output": [{"role": "assistant", "content":'
        b' "The quick brown fox jumps over the lazy dog."}]}'
    )
    (count,) = o200k.count([sample(line)])
    answer = 10 + o200k.text_tokens("assistant") + TOKENS_PER_MESSAGE
    prompt = 2 + o200k.text_tokens("user") + TOKENS_PER_MESSAGE + TOKENS_PER_EXAMPLE
    assert count.trained == answer
    assert count.total == prompt + answer


def test_the_counter_says_its_total_is_an_estimate(o200k: OpenAITokenCounter) -> None:
    assert o200k.name == f"o200k_base, {ESTIMATE_LABEL}"
    assert "estimated" in o200k.name


@pytest.mark.parametrize(
    ("model", "encoding", "context"),
    [
        ("gpt-4o-mini-2024-07-18", "o200k_base", 65_536),
        ("gpt-4o-2024-08-06", "o200k_base", 65_536),
        ("gpt-4.1-2025-04-14", "o200k_base", 65_536),
        ("gpt-4.1-mini-2025-04-14", "o200k_base", 65_536),
        ("GPT-4.1-nano-2025-04-14", "o200k_base", 65_536),
        ("ft:gpt-4o-mini-2024-07-18:acme:support:abc123", "o200k_base", 65_536),
        ("gpt-3.5-turbo-0125", "cl100k_base", 16_385),
    ],
)
def test_model_family_map(model: str, encoding: str, context: int) -> None:
    family = family_of(model)
    assert (family.encoding, family.training_context) == (encoding, context)
    counting = resolve_openai_counting(model)
    assert (counting.tokenizer, counting.seq_len) == (encoding, context)


def test_unknown_and_completion_models_are_refused_in_one_line() -> None:
    with pytest.raises(UnknownModelError, match="unknown OpenAI model") as info:
        family_of("gpt-5-turbo-x")
    assert "\n" not in str(info.value)
    with pytest.raises(UnknownModelError, match="completions model"):
        family_of("davinci-002")
    with pytest.raises(InvalidSeqLenError):
        resolve_openai_counting("gpt-4o-mini", 0)
    assert resolve_openai_counting(None).model == openai_tokens.DEFAULT_OPENAI_MODEL
    assert resolve_openai_counting("gpt-4o", 4096).seq_len == 4096


def test_one_resolution_and_one_counter_factory_for_both_providers() -> None:
    import pickle

    from tuner.datasets.openai_tokens import OpenAITokenCounter, resolve_openai_counting
    from tuner.datasets.providers import counter_factory, resolve_counting_for
    from tuner.datasets.tokenizers import InvalidSeqLenError, resolve_counting
    from tuner.datasets.tokens import MistralTokenCounter

    assert resolve_counting_for("openai", None) == resolve_openai_counting(None)
    assert resolve_counting_for("openai", "gpt-4o-mini-2024-07-18", None, 4096) == (
        resolve_openai_counting("gpt-4o-mini-2024-07-18", 4096)
    )
    assert resolve_counting_for("mistral", None) == resolve_counting(None, None)
    assert resolve_counting_for("mistral", None, "v3-tekken") == resolve_counting(None, "v3-tekken")
    with pytest.raises(ValueError, match="Mistral's"):
        resolve_counting_for("openai", None, "v3-tekken")
    with pytest.raises(InvalidSeqLenError):
        resolve_counting_for("openai", None, None, 0)
    with pytest.raises(ValueError, match="unknown provider"):
        resolve_counting_for("other", None)

    openai = counter_factory("openai", resolve_counting_for("openai", None).tokenizer)
    mistral = counter_factory("mistral", resolve_counting_for("mistral", None).tokenizer)
    # Worker processes get the factory pickled: it must survive that.
    assert isinstance(pickle.loads(pickle.dumps(openai))(), OpenAITokenCounter)
    assert isinstance(pickle.loads(pickle.dumps(mistral))(), MistralTokenCounter)
