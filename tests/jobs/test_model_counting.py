"""How a job's data is counted before it is sent (``model_counting``): the core's tokenizer and
context for the model, the same as the rules written out by hand give, and no counting (not an
error) for a model tuner does not know."""

from __future__ import annotations

import functools
import pickle

import pytest

from tuner.datasets.openai_tokens import family_of, openai_counter_for
from tuner.datasets.tokenizers import model_info
from tuner.datasets.tokens import counter_for
from tuner.jobs.orchestrator import model_counting


@pytest.mark.parametrize("model", ["open-mistral-7b", "mistral-small-latest", "codestral-latest"])
def test_a_mistral_model_counts_with_its_tokenizer_up_to_its_context(model: str) -> None:
    info = model_info(model)
    assert info is not None
    factory, seq_len = model_counting("mistral", model)

    assert seq_len == info.context_length
    assert isinstance(factory, functools.partial)
    assert (factory.func, factory.args) == (counter_for, (info.tokenizer,))
    assert pickle.loads(pickle.dumps(factory)).args == factory.args  # workers can build it


def test_an_openai_model_counts_with_its_familys_encoding_up_to_its_training_context() -> None:
    model = "gpt-4o-mini-2024-07-18"
    family = family_of(model)
    factory, seq_len = model_counting("openai", model)

    assert seq_len == family.training_context
    assert isinstance(factory, functools.partial)
    assert (factory.func, factory.args) == (openai_counter_for, (family.encoding,))


@pytest.mark.parametrize("provider", ["mistral", "openai"])
def test_an_unknown_model_is_checked_without_counting(provider: str) -> None:
    assert model_counting(provider, "no-such-model-2099") == (None, None)
