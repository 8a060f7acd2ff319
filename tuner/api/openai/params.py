"""What creating an OpenAI fine-tuning job takes, checked before anything is sent."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

MethodType = Literal["supervised", "dpo", "reinforcement"]
HYPERPARAMETERS: Mapping[str, tuple[str, ...]] = {
    "supervised": ("n_epochs", "batch_size", "learning_rate_multiplier"),
    "dpo": ("n_epochs", "batch_size", "learning_rate_multiplier", "beta"),
    "reinforcement": (
        "n_epochs",
        "batch_size",
        "learning_rate_multiplier",
        "eval_interval",
        "eval_samples",
        "compute_multiplier",
        "reasoning_effort",
    ),
}
_INTEGER = frozenset({"n_epochs", "batch_size", "eval_interval", "eval_samples"})
MAX_EPOCHS = 50
"""The most epochs ``n_epochs`` may ask for: OpenAI's API description (as its SDKs generate it)
says "any number between 1 and 50 epochs"; a larger value is refused before any upload."""
MAX_SUFFIX = 64
MAX_METADATA_PAIRS = 16


@dataclass(frozen=True)
class OpenAIJobCreate:
    """One job: exactly one training file and at most one validation file (OpenAI takes no
    weighted mixes). Hyperparameters use OpenAI's names; each is "auto" or a number."""

    model: str
    training_file: str
    validation_file: str | None = None
    suffix: str | None = None
    seed: int | None = None
    method: MethodType = "supervised"
    hyperparameters: Mapping[str, object] = field(default_factory=dict)
    metadata: Mapping[str, str] | None = None
    integrations: list[Mapping[str, Any]] | None = None
    grader: Mapping[str, Any] | None = None
    """The grader of a reinforcement job (passed through as given)."""

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        found: list[str] = []
        if not self.model:
            found.append("model is required")
        if not self.training_file:
            found.append("training_file is required")
        if self.suffix is not None and not 0 < len(self.suffix) <= MAX_SUFFIX:
            found.append(f"suffix must be 1 to {MAX_SUFFIX} characters")
        allowed = HYPERPARAMETERS.get(self.method)
        if allowed is None:
            found.append(f"method must be supervised, dpo or reinforcement, not {self.method!r}")
            return found
        for name, value in self.hyperparameters.items():
            if name not in allowed:
                found.append(
                    f"hyperparameter {name!r} is not one of {self.method}'s: {', '.join(allowed)}"
                )
            elif not _valid_value(name, value):
                found.append(f'hyperparameter {name} must be "auto" or a positive number')
            elif name == "n_epochs" and isinstance(value, int) and value > MAX_EPOCHS:
                found.append(
                    f'hyperparameter n_epochs must be "auto" or 1 to {MAX_EPOCHS}, not {value}'
                )
        if self.metadata is not None and len(self.metadata) > MAX_METADATA_PAIRS:
            found.append(f"metadata holds at most {MAX_METADATA_PAIRS} pairs")
        if self.grader is not None and self.method != "reinforcement":
            found.append("a grader is only for the reinforcement method")
        return found

    def to_body(self) -> dict[str, Any]:
        section: dict[str, Any] = {}
        if self.hyperparameters:
            section["hyperparameters"] = dict(self.hyperparameters)
        if self.grader is not None:
            section["grader"] = dict(self.grader)
        body: dict[str, Any] = {
            "model": self.model,
            "training_file": self.training_file,
            "method": {"type": self.method, self.method: section},
        }
        optional = {
            "validation_file": self.validation_file,
            "suffix": self.suffix,
            "seed": self.seed,
            "metadata": None if self.metadata is None else dict(self.metadata),
            "integrations": None
            if self.integrations is None
            else [dict(item) for item in self.integrations],
        }
        body.update({name: value for name, value in optional.items() if value is not None})
        return body


def _valid_value(name: str, value: object) -> bool:
    if value == "auto":
        return True
    if name == "reasoning_effort":
        return isinstance(value, str)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if name in _INTEGER and not isinstance(value, int):
        return False
    return math.isfinite(value) and value > 0
