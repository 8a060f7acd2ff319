"""Which platform's data rules a command checks against: Mistral (the default) or OpenAI.

The one place that maps a provider name to its line checker, so that the validator, ``stats``,
``split`` and ``convert`` switch the same way (``--provider``, or the ``provider`` setting).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal, get_args

from tuner.datasets import openai_rules, rules
from tuner.datasets.rules import Kind, LineCheck

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
