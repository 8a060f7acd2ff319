"""The token-counting interface the validator, statistics and the sandbox share.

Implemented in :mod:`tuner.datasets.tokens` (``counter_for``); the validator depends only on this
protocol so that it can be tested with a fake and run in worker processes (a counter is built in
each worker from its tokenizer name, never pickled).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tuner.datasets.samples import Sample


@dataclass(frozen=True, slots=True)
class TokenCount:
    # Length of the encoded training sample, exactly as mistral-finetune tokenizes it.
    total: int
    # Tokens the loss is computed on (assistant tokens with weight 1; with tools present only the
    # last assistant turn is trained).
    trained: int


class TokenCounter(Protocol):
    # The tokenizer's name as shown to users, e.g. "v3-sentencepiece", "v3-tekken",
    # "v7-sentencepiece".
    name: str

    def count(self, samples: Sequence[Sample]) -> list[TokenCount]:
        """Exact counts for each sample, in order. Batched: pass many samples at once."""
        ...
