"""Classifications by fine-tuned classifiers: deterministic stand-in scores.

Answers ``POST /v1/classifications`` and ``POST /v1/chat/classifications`` in the shape the SDK
(2.5.1, ``ClassificationResponse``) parses: ``{id, model, results: [{<target>: {scores:
{<label>: p}}}]}``, one result per input. For a ``single_class`` target the scores are one per
label of the target and sum to 1; for ``multi_class`` each is in [0, 1] on its own.

The scores are stand-ins (the whole answer is marked by the ``x-tuner-sandbox`` header, nothing
inside ``results`` says so): the labels of the training example closest to the input (word
overlap) score high, the others low, with a little hash-derived noise so that labels are not tied.
An input seen in training therefore gets its own labels back, so an evaluation of a sandbox
classifier on its training data shows high accuracy, and on unseen text something lower.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuner.datasets.classifier import iter_labelled
from tuner.sandbox import errors
from tuner.sandbox.records import ModelRecord
from tuner.sandbox.requests import ChatClassificationIn, ChatToClassifyIn, ClassificationIn
from tuner.sandbox.service import Sandbox

JSON = dict[str, Any]
_WORD = re.compile(r"\w+")
# How strongly the nearest example's labels are preferred (a logit, for single_class).
PULL = 6.0


@dataclass(frozen=True, slots=True)
class Example:
    words: frozenset[str]
    labels: dict[str, list[str]]


def words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(text))


def load_examples(paths: Sequence[Path]) -> list[Example]:
    """The labelled examples of a classifier's training files (lines with errors skipped)."""
    return [
        Example(words(item.text), item.labels)
        for path in paths
        if path.exists()
        for item in iter_labelled(path)
    ]


def _nearest(examples: Sequence[Example], text: str) -> tuple[Example | None, float]:
    """The training example sharing the most words with ``text`` (Jaccard), and how much."""
    asked = words(text)
    best: Example | None = None
    best_score = 0.0
    for example in examples:
        union = len(asked | example.words)
        score = len(asked & example.words) / union if union else 0.0
        if score > best_score:
            best, best_score = example, score
    return best, best_score


def _noise(*parts: str) -> float:
    """A deterministic number in [0, 1) from ``parts``."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def target_scores(
    target: JSON, text: str, model: str, nearest: Example | None, similarity: float
) -> dict[str, float]:
    """One target's scores for ``text``."""
    labels: list[str] = list(target["labels"])
    chosen = set(nearest.labels.get(target["name"], [])) if nearest else set()
    if target["loss_function"] == "multi_class":
        return {
            label: _sigmoid(
                (PULL * similarity if label in chosen else -PULL * 0.5)
                + _noise(model, text, label)
                - 0.5
            )
            for label in labels
        }
    logits = [
        (PULL * similarity if label in chosen else 0.0) + _noise(model, text, label)
        for label in labels
    ]
    top = max(logits, default=0.0)
    exps = [math.exp(v - top) for v in logits]
    total = sum(exps)
    return {label: e / total for label, e in zip(labels, exps, strict=True)}


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


def classify_texts(sandbox: Sandbox, model_id: str, texts: Sequence[str]) -> JSON:
    record = classifier_model(sandbox, model_id)
    examples = sandbox.classifier_examples(record, load_examples)
    results = []
    for text in texts:
        nearest, similarity = _nearest(examples, text)
        results.append(
            {
                target["name"]: {
                    "scores": target_scores(target, text, record.id, nearest, similarity)
                }
                for target in record.classifier_targets or []
            }
        )
    return {"id": uuid.uuid4().hex, "model": record.id, "results": results}


def classifier_model(sandbox: Sandbox, model_id: str) -> ModelRecord:
    """The fine-tuned classifier ``model_id``; a base or completion model cannot classify."""
    try:
        record = sandbox.fine_tuned(model_id)
    except errors.ApiError:
        raise errors.invalid_model(model_id) from None
    if record.kind != "classifier":
        raise errors.invalid_model(model_id)
    return record


def classify(sandbox: Sandbox, body: ClassificationIn) -> JSON:
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    return classify_texts(sandbox, body.model, texts)


def classify_chats(sandbox: Sandbox, body: ChatClassificationIn) -> JSON:
    chats = [body.input] if isinstance(body.input, ChatToClassifyIn) else list(body.input)
    return classify_texts(sandbox, body.model, [_chat_text(chat) for chat in chats])


def _chat_text(chat: ChatToClassifyIn) -> str:
    # As the training data's chats are read: the message contents joined.
    from tuner.sandbox.standin import message_text

    return "\n".join(message_text(m.content) for m in chat.messages)
