"""The base models the sandbox serves, with the figures its simulated training uses.

The list is the platform's fine-tunable text models (``docs/api.md#models``) plus
``mistral-embed`` (embeddings, not fine-tunable). Every figure comes from the project's tables,
so the sandbox, the validator and the cost estimate never disagree:

- context lengths and dated aliases from :mod:`tuner.datasets.tokenizers`;
- prices, training tokens per step, seconds per step and the run's set-up time from
  :mod:`tuner.datasets.pricing` (``PRICES``, ``SETUP_SECONDS``), with its cost and duration
  formulas. Its caveats hold here too: only ``open-mistral-7b`` (131,072 tokens per step, a
  10-step job of 120 s costing 2.6214) and ``ministral-3b``'s 65,536 tokens per step were
  observed; the rest are ESTIMATES.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tuner.datasets import pricing, tokenizers
from tuner.datasets.pricing import ModelPrice


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    description: str
    max_context_length: int
    fine_tunable: bool = True
    chat: bool = True
    embeddings: bool = False
    function_calling: bool = True
    fim: bool = False
    training: ModelPrice | None = None
    """The model's row of ``tuner.datasets.pricing.PRICES``; None when it is not fine-tunable."""
    currency: str = "USD"
    default_seq_len: int = 16_384
    aliases: tuple[str, ...] = field(default=())

    def _training(self) -> ModelPrice:
        if self.training is None:  # a programming error: only fine-tunable models are trained
            raise LookupError(f"{self.id} is not fine-tunable: it has no training figures")
        return self.training

    @property
    def train_tokens_per_step(self) -> int:
        return self._training().train_tokens_per_step

    @property
    def price_per_million(self) -> float:
        """USD per million training tokens (an estimate except for open-mistral-7b)."""
        return self._training().usd_per_million_tokens

    @property
    def seconds_per_step(self) -> float:
        """Simulated seconds per training step (a run also has the set-up time)."""
        return self._training().seconds_per_step


def _tuned(name: str, description: str, *, fim: bool = False) -> ModelSpec:
    """A fine-tunable model: context length and aliases from the model table, training figures
    from the price table."""
    info = tokenizers.model_info(name)
    if info is None:  # a programming error: the tables list the same models
        raise LookupError(f"{name} is missing from tuner.datasets.tokenizers.MODELS")
    price = pricing.price_for(name)
    if price is None:
        raise LookupError(f"{name} is missing from tuner.datasets.pricing.PRICES")
    return ModelSpec(
        name, description, info.context_length, training=price, aliases=info.aliases, fim=fim
    )


BASE_MODELS: tuple[ModelSpec, ...] = (
    _tuned("open-mistral-7b", "Mistral 7B, the first open-weight model."),
    _tuned("mistral-small-latest", "Mistral Small."),
    _tuned("codestral-latest", "Codestral, for code.", fim=True),
    _tuned("open-mistral-nemo", "Mistral NeMo 12B."),
    _tuned("mistral-large-latest", "Mistral Large."),
    _tuned("ministral-8b-latest", "Ministral 8B."),
    _tuned("ministral-3b-latest", "Ministral 3B."),
    ModelSpec(
        "mistral-embed",
        "Mistral Embed, text embeddings.",
        8_192,
        fine_tunable=False,
        chat=False,
        embeddings=True,
        function_calling=False,
    ),
)

_BY_NAME: dict[str, ModelSpec] = {
    name: model for model in BASE_MODELS for name in (model.id, *model.aliases)
}


def base_model(name: str) -> ModelSpec | None:
    """The base model called ``name`` (its id or one of its aliases), if the sandbox has it."""
    return _BY_NAME.get(name)


def run_seconds(model: ModelSpec, steps: int) -> int:
    """Simulated duration of the RUNNING phase of a job of ``steps`` steps (set-up included)."""
    return pricing.duration_seconds(steps, model.seconds_per_step)


def token_cost(model: ModelSpec, train_tokens: int) -> float:
    """The token cost of a job, as the platform reports it in ``metadata.cost`` (no $4 minimum)."""
    return pricing.token_cost(train_tokens, model.price_per_million)
