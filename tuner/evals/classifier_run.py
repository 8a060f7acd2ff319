"""Evaluating a fine-tuned classifier on held-out classifier data, against a chat model.

A base model cannot answer ``/v1/classifications``, so the comparison is the tuned classifier's
scores (the top label of a single-label target, every label scored above 0.5 for a multi-label
one) against a chat model (the base or any other) prompted to pick the label(s) from the
target's set. Each prediction is scored by :mod:`tuner.evals.classifier_metrics`.

Not stored in the ledger (unlike chat evaluations, these runs are not resumable yet): the report
says which backend answered and whether it was the sandbox, whose scores are stand-ins.
"""

from __future__ import annotations

import asyncio
import datetime
import html
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuner.api import TunerClient
from tuner.api.errors import APIError
from tuner.datasets.classifier import iter_labelled, label_stats
from tuner.evals.classifier_metrics import (
    NO_ANSWER,
    TargetMetrics,
    multi_label_metrics,
    single_label_metrics,
)

# Classification inputs per request to /v1/classifications.
BATCH = 32
MULTI_THRESHOLD = 0.5
Prediction = str | frozenset[str] | None


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    labels: tuple[str, ...]
    multi: bool


@dataclass(frozen=True, slots=True)
class Item:
    line: int
    text: str
    messages: list[dict[str, Any]] | None
    labels: dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class ClassifierData:
    path: str
    items: list[Item]
    targets: list[Target]


def is_classifier_data(path: str | os.PathLike[str]) -> bool:
    """Whether the file's first valid line is a classifier line (has ``labels``)."""
    return next(iter_labelled(path), None) is not None


def load_classifier_data(path: str | os.PathLike[str], limit: int | None = None) -> ClassifierData:
    """The valid labelled lines of ``path`` and the targets they use (labels sorted)."""
    items = []
    for labelled in iter_labelled(path):
        messages = labelled.raw.get("messages")
        items.append(
            Item(
                labelled.line,
                labelled.text,
                messages if isinstance(messages, list) else None,
                labelled.labels,
            )
        )
        if limit is not None and len(items) >= limit:
            break
    targets = [
        Target(stats.name, tuple(sorted(stats.counts)), stats.multi)
        for stats in label_stats(path).values()
    ]
    return ClassifierData(os.fspath(path), items, targets)


# --------------------------------------------------------------------------- the classifier


def pick(scores: dict[str, float], target: Target) -> Prediction:
    """The classifier's prediction from its scores for one target."""
    if not scores:
        return None
    if target.multi:
        return frozenset(label for label, p in scores.items() if p > MULTI_THRESHOLD)
    return max(scores, key=lambda label: scores[label])


async def predict_with_classifier(
    client: TunerClient, model: str, data: ClassifierData
) -> tuple[list[dict[str, Prediction]], int]:
    """Predictions of a fine-tuned classifier for every item, and how many requests failed."""
    predictions: list[dict[str, Prediction]] = []
    failed = 0
    for start in range(0, len(data.items), BATCH):
        batch = data.items[start : start + BATCH]
        try:
            if all(item.messages is not None for item in batch):
                chats = [{"messages": item.messages} for item in batch]
                answer = await client.classifiers.classify_chat(model=model, inputs=chats)
            else:
                texts = [item.text for item in batch]
                answer = await client.classifiers.classify(model=model, inputs=texts)
            results = answer.results
        except APIError:
            failed += 1
            results = []
        for index in range(len(batch)):
            result = results[index] if index < len(results) else {}
            predictions.append(
                {
                    t.name: pick(result[t.name].scores, t) if t.name in result else None
                    for t in data.targets
                }
            )
    return predictions, failed


# --------------------------------------------------------------------------- a chat model


def chat_prompt(item: Item, target: Target) -> list[dict[str, str]]:
    """Ask a chat model for the label(s) of one target, from the target's set."""
    choices = ", ".join(target.labels)
    if target.multi:
        ask = (
            f"Which of these labels apply to the text for '{target.name}': {choices}? "
            "Answer with the labels that apply, separated by commas, or 'none'; nothing else."
        )
    else:
        ask = (
            f"Classify the text for '{target.name}'. Answer with exactly one of: {choices}. "
            "Nothing else."
        )
    return [
        {"role": "system", "content": ask},
        {"role": "user", "content": item.text},
    ]


def _normal(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text.lower()).strip()


def parse_choice(answer: str | None, target: Target) -> Prediction:
    """The label(s) a chat model's answer names: an exact label first, else the labels the
    answer mentions (the first one, for a single-label target); None when it names none."""
    if answer is None:
        return None
    said = _normal(answer)
    by_name = {_normal(label): label for label in target.labels}
    if target.multi:
        if said in ("none", ""):
            return frozenset()
        parts = {_normal(p) for p in re.split(r"[,;\n]", answer)}
        found = {by_name[p] for p in parts if p in by_name}
        return frozenset(found) if found else None
    if said in by_name:
        return by_name[said]
    mentioned = [
        (match.start(), label)
        for name, label in by_name.items()
        if name and (match := re.search(rf"\b{re.escape(name)}\b", said)) is not None
    ]
    return min(mentioned)[1] if mentioned else None


async def predict_with_chat(
    client: TunerClient, model: str, data: ClassifierData, *, concurrency: int = 4
) -> tuple[list[dict[str, Prediction]], int]:
    """Predictions of a chat model prompted per item and target, and how many requests failed."""
    gate = asyncio.Semaphore(concurrency)
    failed = 0

    async def ask(item: Item, target: Target) -> Prediction:
        nonlocal failed
        async with gate:
            try:
                reply = await client.chat.complete(
                    model=model, messages=chat_prompt(item, target), temperature=0.0
                )
            except APIError:
                failed += 1
                return None
        message = reply.choices[0].message if reply.choices else None
        content = message.content if message is not None else None
        return parse_choice(content if isinstance(content, str) else None, target)

    rows = await asyncio.gather(
        *(asyncio.gather(*(ask(item, target) for target in data.targets)) for item in data.items)
    )
    predictions = [{t.name: p for t, p in zip(data.targets, row, strict=True)} for row in rows]
    return predictions, failed


# --------------------------------------------------------------------------- scoring, report


def score(
    data: ClassifierData, predictions: Sequence[dict[str, Prediction]]
) -> list[TargetMetrics]:
    """Per target, the metrics of ``predictions`` against the data's labels."""
    metrics = []
    for target in data.targets:
        rows = [
            (item.labels[target.name], guess.get(target.name))
            for item, guess in zip(data.items, predictions, strict=True)
            if target.name in item.labels
        ]
        if target.multi:
            metrics.append(
                multi_label_metrics(
                    target.name,
                    target.labels,
                    [frozenset(true) for true, _ in rows],
                    [g if isinstance(g, frozenset) else None for _, g in rows],
                )
            )
        else:
            metrics.append(
                single_label_metrics(
                    target.name,
                    target.labels,
                    [true[0] for true, _ in rows],
                    [g if isinstance(g, str) else None for _, g in rows],
                )
            )
    return metrics


@dataclass(slots=True)
class ModelResult:
    model: str
    role: str
    """"classifier" (scored by /v1/classifications) or "chat" (prompted to pick a label)."""
    targets: list[TargetMetrics]
    failed_requests: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "role": self.role,
            "failed_requests": self.failed_requests,
            "targets": [t.to_dict() for t in self.targets],
        }


@dataclass(slots=True)
class ClassifierReport:
    data: str
    items: int
    backend: str
    sandbox: bool | None
    results: list[ModelResult] = field(default_factory=list)

    @property
    def simulated_note(self) -> str | None:
        if not self.sandbox:
            return None
        return (
            f"SIMULATED: answered by the tuner sandbox at {self.backend}; its scores are "
            "stand-ins, not a model's"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "classifier",
            "data": self.data,
            "items": self.items,
            "backend": {"url": self.backend, "sandbox": self.sandbox},
            "simulated": bool(self.sandbox),
            "results": [r.to_dict() for r in self.results],
        }


async def evaluate_classifier(
    client: TunerClient,
    data: ClassifierData,
    *,
    classifier: str,
    chat_model: str | None = None,
    concurrency: int = 4,
) -> ClassifierReport:
    """Score the fine-tuned ``classifier`` (and ``chat_model`` prompted to pick labels)."""
    predictions, failed = await predict_with_classifier(client, classifier, data)
    results = [ModelResult(classifier, "classifier", score(data, predictions), failed)]
    if chat_model is not None:
        chat, chat_failed = await predict_with_chat(
            client, chat_model, data, concurrency=concurrency
        )
        results.append(ModelResult(chat_model, "chat", score(data, chat), chat_failed))
    return ClassifierReport(data.path, len(data.items), client.base_url, client.is_sandbox, results)


# --------------------------------------------------------------------------- HTML


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _target_html(metrics: TargetMetrics) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(label)}</td><td>{_pct(s.precision)}</td><td>{_pct(s.recall)}</td>"
        f"<td>{_pct(s.f1)}</td><td>{s.support}</td></tr>"
        for label, s in metrics.per_label.items()
    )
    if metrics.multi:
        head = "<th>label</th><th>tp</th><th>fp</th><th>fn</th><th>tn</th>"
        body = "".join(
            f"<tr><td>{e(label)}</td>" + "".join(f"<td>{n}</td>" for n in row) + "</tr>"
            for label, row in zip(metrics.labels, metrics.confusion, strict=True)
        )
    else:
        columns = [*metrics.labels, NO_ANSWER]
        head = "<th>true \\ predicted</th>" + "".join(f"<th>{e(c)}</th>" for c in columns)
        body = "".join(
            f"<tr><td>{e(label)}</td>" + "".join(f"<td>{n}</td>" for n in row) + "</tr>"
            for label, row in zip(metrics.labels, metrics.confusion, strict=True)
        )
    return (
        f"<h3>{e(metrics.name)} ({'multi_class' if metrics.multi else 'single_class'})</h3>"
        f"<p>accuracy {_pct(metrics.accuracy)} · macro-F1 {_pct(metrics.macro_f1)} · "
        f"{metrics.items} items</p>"
        "<table><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th>"
        f"</tr>{rows}</table><table><tr>{head}</tr>{body}</table>"
    )


def render_html(report: ClassifierReport) -> str:
    """A self-contained HTML page of the report (all data and names escaped)."""
    e = html.escape
    note = report.simulated_note
    banner = f'<p class="simulated">{e(note)}</p>' if note else ""
    sections = "".join(
        f"<h2>{e(result.model)} ({result.role})</h2>"
        + (f"<p>{result.failed_requests} request(s) failed</p>" if result.failed_requests else "")
        + "".join(_target_html(t) for t in result.targets)
        for result in report.results
    )
    made = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>tuner classifier evaluation"
        "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}"
        "td:first-child,th:first-child{text-align:left}.simulated{background:#fd0;padding:.5em;"
        f"font-weight:bold}}</style></head><body>{banner}<h1>Classifier evaluation</h1>"
        f"<p>{e(Path(report.data).name)} · {report.items} items · {e(report.backend)} · {made}"
        f"</p>{sections}</body></html>"
    )
