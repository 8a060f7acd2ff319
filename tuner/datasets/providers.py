"""Which platform's data rules a command checks against: Mistral (the default) or OpenAI.

The one place that maps a provider name to its line checker and to how its tokens are counted
(which vocabulary, which longest example, which counter), so that the validator, ``stats``,
``split``, ``convert``, the CLI and the dashboard switch the same way (``--provider``, or the
``provider`` setting).
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


def resolve_counting_for(
    provider: str,
    model: str | None,
    tokenizer: str | None = None,
    seq_len: int | None = None,
) -> Counting:
    """The vocabulary, model and longest example to count ``provider``'s data with.

    Mistral: a tokenizer by model or by name (``tokenizers.resolve_counting``). OpenAI: the
    model's encoding and training context (``openai_tokens.resolve_openai_counting``); a
    tokenizer name is Mistral's, so it is refused there (``ValueError``). Raises
    ``UnknownModelError`` and ``InvalidSeqLenError`` as those do.
    """
    if check_provider(provider) == "openai":
        from tuner.datasets.openai_tokens import resolve_openai_counting

        if tokenizer is not None:
            raise ValueError("a tokenizer name is Mistral's; OpenAI's vocabulary follows the model")
        return resolve_openai_counting(model, seq_len)
    from tuner.datasets.tokenizers import resolve_counting

    return resolve_counting(model, tokenizer, seq_len)


def counter_factory(provider: str, tokenizer: str) -> Callable[[], TokenCounter]:
    """A picklable factory of the counter for ``tokenizer`` (a ``Counting.tokenizer`` of
    ``provider``): worker processes build their own counter with it."""
    if check_provider(provider) == "openai":
        from tuner.datasets.openai_tokens import openai_counter_for

        return functools.partial(openai_counter_for, tokenizer)
    from tuner.datasets.tokens import counter_for

    return functools.partial(counter_for, tokenizer)
