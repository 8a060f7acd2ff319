"""Token counts of OpenAI training examples: exact content tokens, an estimated overhead.

The vocabulary: OpenAI's models read o200k_base (gpt-4o, gpt-4o-mini and the gpt-4.1 family) or
cl100k_base (gpt-3.5-turbo). ``tiktoken`` downloads these files on first use, which tuner must
not do; the ``bpe-openai`` package (GitHub's Rust BPE, wrapped with a tiktoken-like API) ships
both inside its wheel, so counts are offline. It is a dependency of tuner (not an extra): an
OpenAI job's cost is estimated from these counts before the job is created, which starts it.

This module is the one place OpenAI tokens are counted: the data commands (``tuner data ...
--provider openai``) and the cost estimate before an OpenAI job is created
(:mod:`tuner.datasets.openai_cost`, from the validation report these counts fill) both use
:class:`OpenAITokenCounter`, :data:`FAMILIES` and the overhead estimate below.

What is exact and what is not: every text the model reads (message contents, roles, names,
tool-call names and arguments, tool definitions as JSON) is encoded with the model's own
vocabulary, so those counts are exact. How OpenAI lays a training example out around them (the
tokens that open and close each message, how tools are rendered) is not published, so that part
is an *estimate*: :data:`TOKENS_PER_MESSAGE` per message and :data:`TOKENS_PER_EXAMPLE` per
example, the chat-format overhead OpenAI's cookbook uses to count chat prompts
(``num_tokens_from_messages``: 3 per message, 1 more for a name, 3 to prime the reply). The
total is therefore always labelled an estimate (:data:`ESTIMATE_LABEL`).
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import orjson

from tuner.datasets.counting import TokenCount, TokenCounter
from tuner.datasets.samples import InstructSample, Message, PreferenceSample, Sample
from tuner.datasets.tokenizers import Counting, InvalidSeqLenError, UnknownModelError

O200K_BASE: Final = "o200k_base"
CL100K_BASE: Final = "cl100k_base"
ENCODINGS: Final = (O200K_BASE, CL100K_BASE)
# The estimate (see the module docstring): per message, per name, per example.
TOKENS_PER_MESSAGE: Final = 3
TOKENS_PER_NAME: Final = 1
TOKENS_PER_EXAMPLE: Final = 3
# Per tool call: the same as a message (the call is a unit the model writes).
TOKENS_PER_CALL: Final = 3
ESTIMATE_LABEL: Final = "content exact, per-message overhead estimated"
DEFAULT_OPENAI_MODEL: Final = "gpt-4.1-mini-2025-04-14"
# bpe-openai refuses one string of 1,000,000 characters or more, or of over 200,000 tokens: longer
# texts are encoded in pieces cut where a token cannot span the cut (see _pieces). A character is
# at most 4 tokens (its UTF-8 bytes), so 40,000 characters stay under the token limit.
_PIECE_CHARS: Final = 40_000
_FINE_TUNED_PREFIX: Final = "ft:"


@dataclass(frozen=True, slots=True)
class OpenAIFamily:
    """A family of OpenAI base models: its vocabulary and its training context."""

    prefix: str
    encoding: str
    # The most tokens one training example may have; the source says how sure we are.
    training_context: int
    context_source: str


# docs/openai.md says where each number comes from.
FAMILIES: Final[tuple[OpenAIFamily, ...]] = (
    OpenAIFamily("gpt-4.1", O200K_BASE, 65_536, "unconfirmed (assumed as gpt-4o's)"),
    OpenAIFamily("gpt-4o", O200K_BASE, 65_536, "reports (guide mirrors, Azure OpenAI docs)"),
    OpenAIFamily("gpt-3.5-turbo", CL100K_BASE, 16_385, "reports (OpenAI cookbook)"),
)
# OpenAI's completion-only base models: their data is prompt/completion, not chat.
_NOT_CHAT: Final = ("babbage-002", "davinci-002")


def base_model(model: str) -> str:
    """``ft:gpt-4o-mini-2024-07-18:org:suffix:id`` -> ``gpt-4o-mini-2024-07-18``; trimmed, lower."""
    name = model.strip().lower()
    if name.startswith(_FINE_TUNED_PREFIX):
        parts = name.split(":")
        return parts[1] if len(parts) > 1 else name
    return name


def family_of(model: str) -> OpenAIFamily:
    """The family a model name (or fine-tuned id) belongs to. Raises :class:`UnknownModelError`."""
    name = base_model(model)
    for family in FAMILIES:
        if name == family.prefix or name.startswith(family.prefix + "-"):
            return family
    if name in _NOT_CHAT:
        raise UnknownModelError(
            f"{model!r} is a completions model: tuner checks OpenAI chat and DPO data only",
            "Fine-tune a chat model, e.g. gpt-4.1-mini-2025-04-14 or gpt-4o-mini-2024-07-18",
        )
    known = ", ".join(f"{f.prefix}*" for f in FAMILIES)
    raise UnknownModelError(
        f"unknown OpenAI model {model!r}",
        f"Known families: {known} (e.g. {DEFAULT_OPENAI_MODEL})",
    )


def resolve_openai_counting(model: str | None, seq_len: int | None = None) -> Counting:
    """The vocabulary, model and longest example for OpenAI data, from what the user gave.

    Without a model, :data:`DEFAULT_OPENAI_MODEL`; without ``seq_len``, the family's training
    context. Raises :class:`UnknownModelError` and :class:`InvalidSeqLenError`.
    """
    if seq_len is not None and seq_len < 1:
        raise InvalidSeqLenError(seq_len)
    name = model or DEFAULT_OPENAI_MODEL
    family = family_of(name)
    return Counting(family.encoding, name, seq_len or family.training_context)


Count = Callable[[str], int]


def load_encoding(name: str) -> Count:
    """The exact token count of a text in the encoding called ``name`` (no overhead).

    bpe-openai's files ship in its wheel: no download. Raises :class:`UnknownModelError` for an
    unknown encoding.
    """
    if name not in ENCODINGS:
        raise UnknownModelError(
            f"unknown OpenAI encoding {name!r}", f"Known encodings: {', '.join(ENCODINGS)}"
        )
    return _load(name)


@functools.cache
def _load(name: str) -> Count:
    backend = _rust_tokenizer(name)
    if backend is not None:
        return cast(Count, backend.count)
    with warnings.catch_warnings():
        # bpe-openai 0.1.4 reads its vocabularies (on import too) with
        # importlib.resources.open_binary, which Python deprecates; harmless, not ours to fix.
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai  # a dependency of tuner; the vocabularies ship inside it

        encoding = bpe_openai.get_encoding(name)
    return lambda text: len(encoding.encode_ordinary(text))


_BINDINGS = "bpe_openai._bindings"


def _rust_tokenizer(name: str) -> Any:
    """bpe-openai's Rust tokenizer for ``name``, loaded without the package's ``__init__``.

    Why: importing ``bpe_openai`` parses all three of its vocabularies into Python dicts (they
    back its tiktoken-like decode API, which counting does not need): measured ~6 s and ~75 MB
    more per process on this machine, against ~0.5 s for the Rust tokenizer alone. Its
    extension module ``_bindings`` is typed by the package (``_bindings.pyi``:
    ``tokenizer_for_encoding(name).count(text)``). Registered under its own name, so a later
    ``import bpe_openai`` uses the same module (a PyO3 module loads once per process). None when
    anything differs from that layout: the caller then imports the package the ordinary way.
    """
    module = sys.modules.get(_BINDINGS)
    if module is None:
        module = _load_bindings()
    if module is None:
        return None
    try:
        return module.tokenizer_for_encoding(name)
    except Exception:  # an unexpected API: fall back to the package's own
        return None


def _load_bindings() -> Any:
    try:
        package = importlib.util.find_spec("bpe_openai")
    except (ImportError, ValueError):
        return None
    if package is None or not package.submodule_search_locations:
        return None
    for folder in package.submodule_search_locations:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / f"_bindings{suffix}"
            if not path.is_file():
                continue
            try:
                loader = importlib.machinery.ExtensionFileLoader(_BINDINGS, str(path))
                spec = importlib.util.spec_from_file_location(_BINDINGS, path, loader=loader)
                if spec is None:
                    return None
                module = importlib.util.module_from_spec(spec)
                loader.exec_module(module)
            except Exception:
                return None
            sys.modules[_BINDINGS] = module
            return module
    return None


# A cut is safe right after a run of line breaks that a non-break character follows: o200k_base's
# and cl100k_base's pre-tokenizers end a token there (``\s*[\r\n]+`` takes the whole run; a
# punctuation token may end in line breaks and slashes, hence no slash after the cut).
_SAFE_CUT = re.compile(r"[\r\n]+(?=[^\r\n/])")


def _pieces(text: str) -> list[str]:
    """``text`` cut into pieces of about :data:`_PIECE_CHARS` whose counts add up to its count.

    Only texts without a line break for 40,000 characters are cut anywhere else (at the limit):
    their count may then differ from the true one by a token or two per cut.
    """
    if len(text) <= _PIECE_CHARS:
        return [text]
    pieces: list[str] = []
    start = 0
    while len(text) - start > _PIECE_CHARS:
        window = text[start : start + _PIECE_CHARS]
        cut = None
        for match in _SAFE_CUT.finditer(window):
            if match.end() < len(window):
                cut = match.end()
        end = start + (cut if cut else _PIECE_CHARS)
        pieces.append(text[start:end])
        start = end
    pieces.append(text[start:])
    return pieces


Encode = Callable[[str], int]


def _length_of(count_text: Count) -> Encode:
    cache: dict[str, int] = {}

    def length(text: str) -> int:
        if not text:
            return 0
        known = cache.get(text)
        if known is not None:
            return known
        count = sum(count_text(piece) for piece in _pieces(text))
        if len(text) < 256:  # short texts repeat (roles, names, tool definitions)
            if len(cache) > 100_000:
                cache.clear()
            cache[text] = count
        return count

    return length


def _message_tokens(message: Message, length: Encode) -> int:
    tokens = TOKENS_PER_MESSAGE + length(message.role) + length(message.text)
    if message.name:
        tokens += TOKENS_PER_NAME + length(message.name)
    for call in message.tool_calls:
        tokens += TOKENS_PER_CALL + length(call.name) + length(call.arguments)
    return tokens


def _tools_tokens(tools: Sequence[dict[str, Any]], length: Encode) -> int:
    if not tools:
        return 0
    # OpenAI renders tools its own way (unpublished): their JSON text is the estimate.
    return length(orjson.dumps(list(tools), option=orjson.OPT_SORT_KEYS).decode())


def _trained(message: Message) -> bool:
    return message.role == "assistant" and message.weight != 0


def count_sample(sample: Sample, length: Encode) -> TokenCount:
    """One example's tokens: ``total`` (estimated overhead included) and ``trained``.

    SFT: every message, the tools and the example overhead; trained are the assistant turns of
    weight 1 (or none given). DPO: the prompt and the *longer* answer (the longest sequence the
    model reads, the one that must fit the context); trained is that answer.
    """
    if not isinstance(sample, InstructSample):
        total = length(sample.text) + TOKENS_PER_EXAMPLE
        return TokenCount(total=total, trained=total)
    prompt = TOKENS_PER_EXAMPLE + _tools_tokens(sample.tools, length)
    if isinstance(sample, PreferenceSample):
        prompt += sum(_message_tokens(m, length) for m in sample.messages)
        answer = max(
            sum(_message_tokens(m, length) for m in sample.preferred),
            sum(_message_tokens(m, length) for m in sample.non_preferred),
        )
        return TokenCount(total=prompt + answer, trained=answer)
    total, trained = prompt, 0
    for message in sample.messages:
        tokens = _message_tokens(message, length)
        total += tokens
        if _trained(message):
            trained += tokens
    return TokenCount(total=total, trained=trained)


class OpenAITokenCounter:
    """A :class:`~tuner.datasets.counting.TokenCounter` for OpenAI examples (see module doc)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.name = f"{encoding}, {ESTIMATE_LABEL}"
        self._length = _length_of(load_encoding(encoding))

    def count(self, samples: Sequence[Sample]) -> list[TokenCount]:
        return [count_sample(sample, self._length) for sample in samples]

    def text_tokens(self, text: str) -> int:
        """The exact token count of one text (no overhead)."""
        return self._length(text)


def openai_counter_for(encoding: str) -> TokenCounter:
    """The counter for ``encoding`` (picklable as ``functools.partial(openai_counter_for, e)``)."""
    return OpenAITokenCounter(encoding)


__all__ = [
    "DEFAULT_OPENAI_MODEL",
    "ESTIMATE_LABEL",
    "FAMILIES",
    "OpenAIFamily",
    "OpenAITokenCounter",
    "base_model",
    "family_of",
    "load_encoding",
    "openai_counter_for",
    "resolve_openai_counting",
]
