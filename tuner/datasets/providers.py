"""Which platform's data rules a command checks against: Mistral (the default) or OpenAI.

The one place that maps a provider name to its line checker and to how tokens are counted, so
that the validator, ``stats``, ``split``, ``convert`` and the dashboard's Data screen switch the
same way (``--provider``, or the ``provider`` setting).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Literal, get_args

from tuner.datasets import openai_rules, rules
from tuner.datasets.rules import Kind, LineCheck

if TYPE_CHECKING:
    from tuner.datasets.counting import TokenCounter
    from tuner.datasets.tokenizers import Counting

Provider = Literal["mistral", "openai"]
PROVIDERS: Final[tuple[str, ...]] = get_args(Provider)
DEFAULT_PROVIDER: Final = "mistral"

RecordChecker = Callable[..., LineCheck]
PROVIDER_NAMES: Final[dict[str, str]] = {"mistral": "Mistral", "openai": "OpenAI"}
"""How a provider is named to people (``Mistral's rules``)."""


def check_provider(provider: str) -> Provider:
    """``provider`` when it is known; ValueError (with the known names) otherwise."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}: use one of {', '.join(PROVIDERS)}")
    return provider  # type: ignore[return-value]  # checked just above


def record_checker(provider: str) -> RecordChecker:
    """The line checker (``check_record(data, *, path, line, expect)``) of ``provider``."""
    return openai_rules.check_record if check_provider(provider) == "openai" else rules.check_record


def check_line(
    provider: str, data: bytes, *, path: str, line: int, expect: Kind | None
) -> LineCheck:
    """:func:`record_checker` applied to one line."""
    return record_checker(provider)(data, path=path, line=line, expect=expect)


def default_model(provider: str) -> str:
    """The model whose tokens ``provider``'s data is counted with when none is given."""
    if check_provider(provider) == "openai":
        from tuner.datasets.openai_tokens import DEFAULT_OPENAI_MODEL

        return DEFAULT_OPENAI_MODEL
    from tuner.datasets.tokenizers import DEFAULT_MODEL

    return DEFAULT_MODEL


def resolve_counting_for(
    provider: str, model: str | None, tokenizer: str | None = None, seq_len: int | None = None
) -> Counting:
    """The tokenizer, model and longest example to count ``provider``'s data with.

    Mistral: :func:`tuner.datasets.tokenizers.resolve_counting` (a model or a tokenizer by name;
    neither: ``open-mistral-7b``). OpenAI: the model's vocabulary and training context; without
    a model, :func:`default_model`'s; a tokenizer by name is Mistral's, a ValueError. The one
    place the CLI and the dashboard decide it. Raises ``UnknownModelError`` for an unknown name
    and ``InvalidSeqLenError`` for ``seq_len < 1``.
    """
    if check_provider(provider) != "openai":
        from tuner.datasets.tokenizers import resolve_counting

        return resolve_counting(model, tokenizer, seq_len)
    if tokenizer is not None:
        raise ValueError("a tokenizer by name is Mistral's; OpenAI's vocabulary follows the model")
    from tuner.datasets.openai_tokens import resolve_openai_counting

    return resolve_openai_counting(model, seq_len)


def counter_factory(provider: str, tokenizer: str) -> Callable[[], TokenCounter]:
    """The counter factory of ``provider``'s tokenizer (``Counting.tokenizer``): picklable, so
    that validation's worker processes each build their own counter."""
    if check_provider(provider) == "openai":
        from tuner.datasets.openai_tokens import openai_counter_for

        return functools.partial(openai_counter_for, tokenizer)
    from tuner.datasets.tokens import counter_for

    return functools.partial(counter_for, tokenizer)
