"""Which tokenizer and context length each Mistral base model has: the one table, and its lookups.

Sources of :data:`MODELS` (checked 2026; fine-tuning is no longer actively supported, so the table
records the models as they stood while it was offered):

- Tokenizers of the dated names: mistral-common 1.13's own model table
  (``mistral_common.tokens.tokenizers.mistral.MODEL_NAME_TO_TOKENIZER_CLS``):
  ``open-mistral-nemo-2407``, ``mistral-small-2409`` and ``ministral-8b-2410`` -> v3 Tekken;
  ``codestral-2405`` and ``mistral-large-2407`` -> v3 SentencePiece; ``mistral-large-2411`` -> v7.
  ``open-mistral-7b`` (Mistral 7B v0.3) is v3 SentencePiece: mistral-finetune's own validator
  (``utils/validate_data.py``) counts with ``MistralTokenizer.v3()``. ``ministral-3b`` is not in
  mistral-common's table; it is the 8B's smaller sibling of the same release, with Tekken.
- The ``-latest`` aliases: Mistral's fine-tuning docs (the base models one could fine-tune) and
  ``docs/data.md#tokenizers-per-base-model``, each alias resolved to the dated model it pointed
  to then.
- Context lengths: the "Max Tokens" column of docs.mistral.ai/getting-started/models (32k for
  Mistral 7B and Codestral, 128k for NeMo, Large 2 and the Ministrals) and the Hugging Face model
  cards (Mistral-Small-Instruct-2409: "32k sequence length"; Ministral-8B-Instruct-2410: "128k
  context window"). "32k" is 32,768 tokens and "128k" is 131,072, as the Models API reports them
  in ``max_context_length``.

Doubt worth knowing: the Mistral-Small-Instruct-2409 card says "vocabulary to 32768", the size of
the SentencePiece v3 vocabulary, while mistral-common maps ``mistral-small-2409`` to Tekken (131k).
We follow mistral-common (it is the tokenizer library the platform itself publishes); a user who
knows better passes ``--tokenizer v3-sentencepiece``.

Loading uses the explicit constructors (``MistralTokenizer.v3()``, ``v3(is_tekken=True)``,
``v7()``): ``MistralTokenizer.from_model`` is deprecated, warns, and knows neither
``open-mistral-7b`` nor any ``-latest`` name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    # The message and result types of a loaded tokenizer vary with its version.
    AnyMistralTokenizer = MistralTokenizer[Any, Any, Any, Any, Any]

# The tokenizer names users see (``--tokenizer``) and the counters are called by.
V3_SENTENCEPIECE: Final = "v3-sentencepiece"
V3_TEKKEN: Final = "v3-tekken"
V7_SENTENCEPIECE: Final = "v7-sentencepiece"
TOKENIZER_NAMES: Final[tuple[str, ...]] = (V3_SENTENCEPIECE, V3_TEKKEN, V7_SENTENCEPIECE)

# What mistral-finetune's own validator uses when told nothing (``MistralTokenizer.v3()``), and
# the model the CLI defaults to.
DEFAULT_MODEL: Final = "open-mistral-7b"

# Fine-tuned model ids are ``ft:<base>:<owner>:<date>:<job>`` (or with a suffix, or
# ``ft:classifier:<base>:...``); their tokenizer is their base model's.
_FINE_TUNED_PREFIX: Final = "ft:"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One base model: its API name, the other names that mean it, tokenizer and context."""

    name: str
    tokenizer: str
    context_length: int
    aliases: tuple[str, ...] = ()
    # In the platform's list of base models one can fine-tune for text (docs/api.md#models).
    fine_tunable: bool = True


MODELS: Final[tuple[ModelInfo, ...]] = (
    ModelInfo("open-mistral-7b", V3_SENTENCEPIECE, 32_768),
    ModelInfo("mistral-small-latest", V3_TEKKEN, 32_768, aliases=("mistral-small-2409",)),
    ModelInfo("codestral-latest", V3_SENTENCEPIECE, 32_768, aliases=("codestral-2405",)),
    ModelInfo("open-mistral-nemo", V3_TEKKEN, 131_072, aliases=("open-mistral-nemo-2407",)),
    ModelInfo("mistral-large-latest", V7_SENTENCEPIECE, 131_072, aliases=("mistral-large-2411",)),
    ModelInfo("ministral-8b-latest", V3_TEKKEN, 131_072, aliases=("ministral-8b-2410",)),
    ModelInfo("ministral-3b-latest", V3_TEKKEN, 131_072, aliases=("ministral-3b-2410",)),
    # What mistral-large-latest meant until November 2024; not in today's fine-tuning list.
    ModelInfo("mistral-large-2407", V3_SENTENCEPIECE, 131_072, fine_tunable=False),
)

_BY_NAME: Final[dict[str, ModelInfo]] = {
    name: info for info in MODELS for name in (info.name, *info.aliases)
}


class UnknownModelError(ValueError):
    """A model or tokenizer name that the table does not know; says which names it does know."""

    def __init__(self, message: str, hint: str) -> None:
        # One self-contained line: the CLI prints ``str(error)`` as is.
        super().__init__(f"{message}. {hint}")
        self.message = message
        self.hint = hint


def known_models() -> list[str]:
    """Every model name the table accepts (API names, dated names and aliases), sorted."""
    return sorted(_BY_NAME)


def fine_tunable_models() -> list[str]:
    """The base models the fine-tuning API offered for text (``docs/api.md#models``), in order."""
    return [info.name for info in MODELS if info.fine_tunable]


def _normalise(model: str) -> str:
    return model.strip().lower()


def base_model_name(model: str) -> str:
    """The base model a name refers to: ``ft:open-mistral-7b:…`` -> ``open-mistral-7b``.

    Names that are not fine-tuned model ids come back normalised (trimmed, lower case).
    """
    name = _normalise(model)
    if not name.startswith(_FINE_TUNED_PREFIX):
        return name
    parts = name.split(":")
    # ``ft:classifier:<base>:…`` puts the job type before the base model.
    if len(parts) > 2 and parts[1] == "classifier":
        return parts[2]
    return parts[1] if len(parts) > 1 else name


def model_info(model: str) -> ModelInfo | None:
    """The table's entry for a model name, alias, dated name or fine-tuned id; None if unknown."""
    return _BY_NAME.get(base_model_name(model))


def context_length(model: str) -> int | None:
    """The model's context length (max sequence length) in tokens, or None for an unknown model."""
    info = model_info(model)
    return info.context_length if info is not None else None


def _unknown_model(model: str) -> UnknownModelError:
    hint = (
        f"Known models: {', '.join(fine_tunable_models())} (dated names such as "
        f"{', '.join(a for info in MODELS for a in info.aliases[:1])} work too). For another "
        f"model, pass a tokenizer by name: {', '.join(TOKENIZER_NAMES)}"
    )
    return UnknownModelError(f"unknown base model {model!r}", hint)


def _unknown_tokenizer(tokenizer: str) -> UnknownModelError:
    return UnknownModelError(
        f"unknown tokenizer {tokenizer!r}", f"Known tokenizers: {', '.join(TOKENIZER_NAMES)}"
    )


def resolve_tokenizer(model: str | None, tokenizer: str | None) -> str:
    """The tokenizer name to count with: an explicit ``tokenizer`` wins, else the model's.

    With neither, the default model's (``open-mistral-7b``, v3 SentencePiece, as mistral-finetune's
    validator does). With an explicit tokenizer the model is not checked, so that a model the
    table does not know yet can still be counted. Raises :class:`UnknownModelError`.
    """
    if tokenizer is not None:
        name = _normalise(tokenizer)
        if name not in TOKENIZER_NAMES:
            raise _unknown_tokenizer(tokenizer)
        return name
    info = model_info(DEFAULT_MODEL if model is None else model)
    if info is None:
        raise _unknown_model(str(model))
    return info.tokenizer


class InvalidSeqLenError(ValueError):
    """A maximum sequence length below one token; ``hint`` says what to give instead."""

    def __init__(self, seq_len: int) -> None:
        super().__init__(f"the sequence length must be at least 1 token, not {seq_len}")
        self.hint = "Give --seq-len a positive number of tokens (e.g. 8192), or leave it out."


@dataclass(frozen=True, slots=True)
class Counting:
    """How a command counts tokens: with which tokenizer, for which model, up to which length."""

    tokenizer: str
    # The model named, or the default one; None when only a tokenizer was given.
    model: str | None
    # The longest conversation to allow: the one given, else the model's context length.
    seq_len: int | None


def resolve_counting(
    model: str | None, tokenizer: str | None, seq_len: int | None = None
) -> Counting:
    """The tokenizer, model and sequence length to count with, from what the user gave.

    With neither a model nor a tokenizer, the default model (``open-mistral-7b``). Without
    ``seq_len``, the model's context length (None with only a tokenizer). The one place the CLI
    and the dashboard decide this. Raises :class:`UnknownModelError` for an unknown name and
    :class:`InvalidSeqLenError` for ``seq_len < 1``.
    """
    if seq_len is not None and seq_len < 1:
        raise InvalidSeqLenError(seq_len)
    if model is None and tokenizer is None:
        model = DEFAULT_MODEL
    name = resolve_tokenizer(model, tokenizer)
    if seq_len is None and model is not None:
        seq_len = context_length(model)
    return Counting(name, model, seq_len)


def _constructors() -> dict[str, Callable[[], AnyMistralTokenizer]]:
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    return {
        V3_SENTENCEPIECE: MistralTokenizer.v3,
        V3_TEKKEN: functools.partial(MistralTokenizer.v3, is_tekken=True),
        V7_SENTENCEPIECE: MistralTokenizer.v7,
    }


def load_tokenizer(name: str) -> AnyMistralTokenizer:
    """The mistral-common tokenizer called ``name``, loaded once per process (about 0.3 s each).

    The files ship inside mistral-common: no download. Raises :class:`UnknownModelError`.
    """
    normalised = _normalise(name)
    if normalised not in TOKENIZER_NAMES:
        raise _unknown_tokenizer(name)
    return _load(normalised)


@functools.cache
def _load(name: str) -> AnyMistralTokenizer:
    return _constructors()[name]()
