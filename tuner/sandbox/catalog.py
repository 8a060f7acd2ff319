"""The base models the sandbox serves, with the figures its simulated training uses.

The list is the reference's fine-tunable text models (``mistral-api.md`` §6) plus
``mistral-embed`` (embeddings, not fine-tunable). ``train_tokens_per_step`` is the observed
131,072 for ``open-mistral-7b`` (65,536 observed for ``ministral-3b``); per-token prices for
models other than ``open-mistral-7b`` are ESTIMATES (the platform never published them), the
same caveat ``tuner.datasets.pricing`` carries. Step durations are invented but plausible: the
observed 10-step ``open-mistral-7b`` job had ``expected_duration_seconds=120``.

Context lengths and dated aliases come from the project's one model table,
:mod:`tuner.datasets.tokenizers`, so the sandbox and the validator never disagree about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tuner.datasets import tokenizers


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
    train_tokens_per_step: int = 131_072
    # USD per million training tokens (an estimate except for open-mistral-7b).
    price_per_million: float = 2.0
    currency: str = "USD"
    # Simulated seconds per training step (the run also has a fixed set-up time, below).
    seconds_per_step: float = 11.0
    default_seq_len: int = 16_384
    aliases: tuple[str, ...] = field(default=())


# Fixed start-up cost of a simulated run, so that 10 steps of open-mistral-7b take the observed
# 120 s: 20 + 10 x 10.
RUN_SETUP_SECONDS = 20.0


def _tuned(
    name: str,
    description: str,
    *,
    seconds_per_step: float,
    price: float,
    fim: bool = False,
    train_tokens_per_step: int = 131_072,
) -> ModelSpec:
    """A fine-tunable model: context length and aliases from the project's model table."""
    info = tokenizers.model_info(name)
    if info is None:  # a programming error: the two tables list the same models
        raise LookupError(f"{name} is missing from tuner.datasets.tokenizers.MODELS")
    return ModelSpec(
        name,
        description,
        info.context_length,
        seconds_per_step=seconds_per_step,
        price_per_million=price,
        aliases=info.aliases,
        fim=fim,
        train_tokens_per_step=train_tokens_per_step,
    )


BASE_MODELS: tuple[ModelSpec, ...] = (
    _tuned(
        "open-mistral-7b", "Mistral 7B, the first open-weight model.", seconds_per_step=10, price=2
    ),
    _tuned("mistral-small-latest", "Mistral Small.", seconds_per_step=16, price=6),
    _tuned("codestral-latest", "Codestral, for code.", seconds_per_step=14, price=3, fim=True),
    _tuned("open-mistral-nemo", "Mistral NeMo 12B.", seconds_per_step=12, price=3),
    _tuned("mistral-large-latest", "Mistral Large.", seconds_per_step=30, price=9),
    _tuned("ministral-8b-latest", "Ministral 8B.", seconds_per_step=8, price=1),
    _tuned(
        "ministral-3b-latest",
        "Ministral 3B.",
        seconds_per_step=5,
        price=0.5,
        train_tokens_per_step=65_536,
    ),
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
    """Simulated duration of the RUNNING phase of a job of ``steps`` steps."""
    return round(RUN_SETUP_SECONDS + steps * model.seconds_per_step)


def token_cost(model: ModelSpec, train_tokens: int) -> float:
    """The token cost of a job, as the platform reports it in ``metadata.cost`` (no $4 minimum)."""
    return round(train_tokens / 1_000_000 * model.price_per_million, 4)
