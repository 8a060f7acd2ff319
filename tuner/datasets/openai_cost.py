"""What an OpenAI fine-tuning job costs, estimated before it is created: tokens × epochs × price.

OpenAI has no dry run and no "validated, now start" step: creating a job starts it (and bills
it). So the confirmation and ``--max-cost`` of an OpenAI job rest on this local estimate alone.

- **Tokens**: message contents are counted exactly with the model family's own encoding
  (``o200k_base`` for the gpt-4o, gpt-4.1 and o-series families, ``cl100k_base`` for
  gpt-3.5-turbo, gpt-4, babbage-002 and davinci-002), offline, from the vocabulary that ships
  inside the ``bpe-openai`` package. The per-message overhead OpenAI bills for training is not
  published: it is counted as an ESTIMATE (the chat-format figures of OpenAI's cookbook: 3
  tokens per message plus its role, 3 per example, tools as their JSON) and kept apart from the
  exact count.
- **Epochs**: the spec's ``n_epochs``. With "auto" OpenAI picks the epochs from the data, so no
  cost is estimated (a budget then refuses the job: its cost is unknown).
- **Price**: USD per million training tokens, per base model. OpenAI's pricing page could not be
  checked offline; the figures come from third-party reports (April 2026) that disagree with
  each other, so every one is marked ``unconfirmed`` with that date. A caller's override
  (``price_override``) replaces them and is marked so.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import orjson

PriceSource = Literal["unconfirmed", "override"]
PRICES_AS_OF: Final = "2026-04"
_REPORTS: Final = (
    "third-party reports of OpenAI's pricing page (April 2026), not checked against OpenAI; "
    "reports disagree"
)
MESSAGE_OVERHEAD: Final = 3
"""Tokens per message around its content (OpenAI cookbook's chat figure; an estimate here)."""
EXAMPLE_OVERHEAD: Final = 3
MAX_PROBLEMS: Final = 20
"""Lines listed as unusable before the rest are only counted."""


@dataclass(frozen=True, slots=True)
class OpenAIPrice:
    usd_per_million_tokens: float
    source: PriceSource
    as_of: str
    note: str


PRICES: Final[Mapping[str, OpenAIPrice]] = {
    model: OpenAIPrice(price, "unconfirmed", PRICES_AS_OF, _REPORTS)
    for model, price in {
        "gpt-4.1-2025-04-14": 25.0,
        "gpt-4.1-mini-2025-04-14": 5.0,
        "gpt-4.1-nano-2025-04-14": 1.5,
        "gpt-4o-2024-08-06": 25.0,
        "gpt-4o-mini-2024-07-18": 3.0,
        "gpt-3.5-turbo-0125": 8.0,
    }.items()
}

_ENCODINGS: Final = (
    ("gpt-4.1", "o200k_base"),
    ("gpt-4o", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("gpt-4", "cl100k_base"),
    ("babbage-002", "cl100k_base"),
    ("davinci-002", "cl100k_base"),
)


def base_model(model: str) -> str:
    """The base of a model name: a tuned model (``ft:<base>:<org>:<suffix>:<id>``) is tuned
    further from its base's family, and priced as it."""
    if model.startswith("ft:"):
        parts = model.split(":")
        return parts[1] if len(parts) > 1 else model
    return model


def encoding_name(model: str) -> str | None:
    """The tiktoken-style encoding of the model's family; None for a family tuner does not know."""
    base = base_model(model)
    # gpt-4.1 and gpt-4o before gpt-4: the longest family name that matches wins.
    for prefix, name in _ENCODINGS:
        if base.startswith(prefix):
            return name
    return None


def price_for(model: str, *, override: float | None = None) -> OpenAIPrice | None:
    """The training price of ``model`` (a dated snapshot, its undated alias, or a tuned model
    of it); ``override`` (USD per million tokens, from config) wins."""
    if override is not None:
        return OpenAIPrice(override, "override", "config", "the openai price override in config")
    base = base_model(model)
    if base in PRICES:
        return PRICES[base]
    # An undated alias ("gpt-4o-mini") is priced as its one dated snapshot in the table.
    dated = [name for name in PRICES if _is_snapshot_of(name, base)]
    return PRICES[dated[0]] if len(dated) == 1 else None


def _is_snapshot_of(name: str, alias: str) -> bool:
    """``gpt-4o-mini-2024-07-18`` is a snapshot of ``gpt-4o-mini`` (not of ``gpt-4o``)."""
    return name.startswith(f"{alias}-") and name[len(alias) + 1 :][:1].isdigit()


def trained_cost(model: str, trained_tokens: int) -> tuple[float, OpenAIPrice] | None:
    """What ``trained_tokens`` (the job's own count, once it succeeded) cost at the table's
    price, with the price (and so its source); None for a model without a price."""
    price = price_for(model)
    if price is None:
        return None
    return round(trained_tokens / 1_000_000 * price.usd_per_million_tokens, 4), price


@dataclass(frozen=True, slots=True)
class LineProblem:
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class TokenCount:
    """A training file's tokens: exact content, estimated overhead, and unusable lines."""

    path: Path
    encoding: str
    examples: int
    content_tokens: int
    """Exact: the message contents (and DPO outputs) with the model family's encoding."""
    overhead_tokens: int
    """An ESTIMATE: per-message and per-example overhead, tools as JSON."""
    problems: tuple[LineProblem, ...] = ()
    problem_count: int = 0

    @property
    def tokens(self) -> int:
        return self.content_tokens + self.overhead_tokens


@dataclass(frozen=True, slots=True)
class OpenAIEstimate:
    """The local estimate of one OpenAI job (``is_estimate`` is always true)."""

    model: str
    method: str
    examples: int
    content_tokens: int
    overhead_tokens: int
    epochs: int | None
    train_tokens: int | None
    usd_per_million_tokens: float | None
    cost: float | None
    """USD; None when the epochs ("auto") or the price are unknown."""
    price_source: PriceSource | None
    price_as_of: str | None
    encoding: str
    note: str

    @property
    def data_tokens(self) -> int:
        return self.content_tokens + self.overhead_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": "openai",
            "model": self.model,
            "method": self.method,
            "examples": self.examples,
            "content_tokens": self.content_tokens,
            "overhead_tokens": self.overhead_tokens,
            "overhead_is_estimate": True,
            "data_tokens": self.data_tokens,
            "epochs": self.epochs,
            "train_tokens": self.train_tokens,
            "usd_per_million_tokens": self.usd_per_million_tokens,
            "cost": self.cost,
            "currency": "USD",
            "price_source": self.price_source,
            "price_as_of": self.price_as_of,
            "encoding": self.encoding,
            "note": self.note,
            "is_estimate": True,
        }


def estimate(
    count: TokenCount,
    model: str,
    *,
    method: str = "supervised",
    epochs: int | None,
    price_override: float | None = None,
) -> OpenAIEstimate:
    """tokens × epochs × price; the cost is None when the epochs or the price are unknown."""
    price = price_for(model, override=price_override)
    notes = []
    if epochs is None:
        notes.append('n_epochs is "auto": OpenAI picks the epochs from the data; set n_epochs')
    if price is None:
        notes.append(f"no training price known for {model}")
    train_tokens = None if epochs is None else count.tokens * epochs
    cost = None
    if train_tokens is not None and price is not None:
        cost = round(train_tokens / 1_000_000 * price.usd_per_million_tokens, 4)
    if price is not None:
        notes.append(f"price {price.source} ({price.as_of}): {price.note}")
    notes.append("overhead tokens are an estimate: OpenAI does not publish them")
    return OpenAIEstimate(
        model=model,
        method=method,
        examples=count.examples,
        content_tokens=count.content_tokens,
        overhead_tokens=count.overhead_tokens,
        epochs=epochs,
        train_tokens=train_tokens,
        usd_per_million_tokens=None if price is None else price.usd_per_million_tokens,
        cost=cost,
        price_source=None if price is None else price.source,
        price_as_of=None if price is None else price.as_of,
        encoding=count.encoding,
        note="; ".join(notes),
    )


# -- counting -------------------------------------------------------------------------------


@functools.cache
def _encoding(name: str) -> Any:
    with warnings.catch_warnings():
        # bpe-openai 0.1.4 reads its vocabularies (on import too) with
        # importlib.resources.open_binary, which Python deprecates; harmless, not ours to fix.
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai  # the vocabularies ship inside the package: no download

        return bpe_openai.get_encoding(name)


def count_tokens(
    path: str | os.PathLike[str], model: str, *, method: str = "supervised"
) -> TokenCount:
    """Count a JSONL training file's tokens for ``model``. Lines that are not examples of
    ``method`` (``messages`` for supervised; ``input``, ``preferred_output`` and
    ``non_preferred_output`` for DPO) are listed in ``problems`` with their reasons.

    Raises ``ValueError`` for a model of an unknown family, ``OSError`` for an unreadable file.
    """
    name = encoding_name(model)
    if name is None:
        raise ValueError(f"no tokenizer known for {model}: the cost cannot be estimated")
    encoding = _encoding(name)

    def tokens(text: str) -> int:
        return len(encoding.encode_ordinary(text))

    source = Path(path)
    examples = content = overhead = 0
    problems: list[LineProblem] = []
    problem_count = 0
    for number, line in _lines(source):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            record = None
        messages, reason = _messages(record, method)
        if reason is not None:
            problem_count += 1
            if len(problems) < MAX_PROBLEMS:
                problems.append(LineProblem(number, reason))
            continue
        examples += 1
        overhead += EXAMPLE_OVERHEAD
        for message in messages:
            overhead += MESSAGE_OVERHEAD + tokens(str(message.get("role", "")))
            content += tokens(_text(message.get("content")))
            for extra in ("tool_calls", "function_call"):
                if message.get(extra) is not None:
                    overhead += tokens(orjson.dumps(message[extra]).decode())
        tools = _tools(record)
        if tools:
            overhead += tokens(orjson.dumps(tools).decode())
    return TokenCount(
        source,
        name,
        examples,
        content,
        overhead,
        tuple(problems),
        problem_count,
    )


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def _messages(record: object, method: str) -> tuple[list[Mapping[str, Any]], str | None]:
    if not isinstance(record, dict):
        return [], "not a JSON object"
    if method == "dpo":
        given = record.get("input")
        if not isinstance(given, dict) or not isinstance(given.get("messages"), list):
            return [], "a DPO example needs input.messages"
        outputs = [record.get("preferred_output"), record.get("non_preferred_output")]
        if not all(isinstance(output, list) and output for output in outputs):
            return [], "a DPO example needs preferred_output and non_preferred_output lists"
        found = [*given["messages"], *outputs[0], *outputs[1]]  # type: ignore[misc]
    else:
        if not isinstance(record.get("messages"), list) or not record["messages"]:
            return [], "a supervised example needs a non-empty messages list"
        found = record["messages"]
    if not all(isinstance(message, dict) for message in found):
        return [], "every message must be a JSON object"
    return found, None


def _tools(record: object) -> object:
    if not isinstance(record, dict):
        return None
    given = record.get("input")
    return record.get("tools") or (given.get("tools") if isinstance(given, dict) else None)


def _text(content: object) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""
