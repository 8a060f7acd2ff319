"""Evaluating a fine-tuned classifier on held-out classifier data, against a chat model.

A base model cannot answer ``/v1/classifications``, so the comparison is the tuned classifier's
scores (the top label of a single-label target, every label scored above 0.5 for a multi-label
one) against a chat model (the base or any other) prompted to pick the label(s) from the
target's set. Each prediction is scored by :mod:`tuner.evals.classifier_metrics`.

This module asks and scores; :mod:`tuner.evals.classifier_runner` records each item's
predictions in the ledger (so a run resumes, and ``tuner eval show`` re-renders it) and builds
the :class:`ClassifierReport` from what is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import html
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tuner.api import APIError, TunerClient
from tuner.datasets.classifier import iter_labelled, label_stats
from tuner.evals.classifier_metrics import (
    NO_ANSWER,
    TargetMetrics,
    multi_label_metrics,
    single_label_metrics,
)
from tuner.jobs.records import Backend, simulated_note

# Classification inputs per request to /v1/classifications.
BATCH = 32
MULTI_THRESHOLD = 0.5
Prediction = str | frozenset[str] | None


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    labels: tuple[str, ...]
    multi: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "labels": list(self.labels), "multi": self.multi}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Target:
        return cls(str(raw["name"]), tuple(str(x) for x in raw["labels"]), bool(raw["multi"]))


@dataclass(frozen=True, slots=True)
class Item:
    index: int
    """Position among the file's valid classifier lines (the run's item index)."""
    line: int
    text: str
    messages: list[dict[str, Any]] | None
    labels: dict[str, list[str]]

    @property
    def input_hash(self) -> str:
        """What decides this item's predictions and scores: its input and its true labels."""
        payload = orjson.dumps(
            {"text": self.text, "messages": self.messages, "labels": self.labels},
            option=orjson.OPT_SORT_KEYS,
        )
        return hashlib.sha256(payload).hexdigest()


@dataclass(frozen=True, slots=True)
class ClassifierData:
    path: str
    data_hash: str
    items: list[Item]
    targets: list[Target]


def is_classifier_data(path: str | os.PathLike[str]) -> bool:
    """Whether the file's first valid line is a classifier line (has ``labels``)."""
    return next(iter_labelled(path), None) is not None


def load_classifier_data(path: str | os.PathLike[str], limit: int | None = None) -> ClassifierData:
    """The valid labelled lines of ``path`` (the first ``limit``) and the targets of the whole
    file (labels sorted), with the file's content hash."""
    from tuner.evals.dataset import file_sha256

    items: list[Item] = []
    for labelled in iter_labelled(path):
        if limit is not None and len(items) >= limit:
            break
        messages = labelled.raw.get("messages")
        items.append(
            Item(
                len(items),
                labelled.line,
                labelled.text,
                messages if isinstance(messages, list) else None,
                labelled.labels,
            )
        )
    targets = [
        Target(stats.name, tuple(sorted(stats.counts)), stats.multi)
        for stats in label_stats(path).values()
    ]
    return ClassifierData(os.fspath(path), file_sha256(path), items, targets)


# --------------------------------------------------------------------------- the classifier


def pick(scores: Mapping[str, float], target: Target) -> Prediction:
    """The classifier's prediction from its scores for one target."""
    if not scores:
        return None
    if target.multi:
        return frozenset(label for label, p in scores.items() if p > MULTI_THRESHOLD)
    return max(scores, key=lambda label: scores[label])


@dataclass(frozen=True, slots=True)
class ItemAnswer:
    """One model's answer on one item, as recorded: per target the prediction, and the
    classifier's scores or the chat model's raw answer; ``error`` when a request failed (its
    targets are then unanswered)."""

    predicted: dict[str, Prediction]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    answers: dict[str, str | None] = field(default_factory=dict)
    error: str | None = None


async def classify_batch(
    client: TunerClient, model: str, batch: Sequence[Item], targets: Sequence[Target]
) -> list[ItemAnswer]:
    """The fine-tuned classifier's answers on a batch of items (one request). API errors
    propagate: the caller decides whether they end the run or mark the batch failed."""
    if all(item.messages is not None for item in batch):
        chats = [{"messages": item.messages} for item in batch]
        answer = await client.classifiers.classify_chat(model=model, inputs=chats)
    else:
        texts = [item.text for item in batch]
        answer = await client.classifiers.classify(model=model, inputs=texts)
    found = []
    for index in range(len(batch)):
        result = answer.results[index] if index < len(answer.results) else {}
        scores = {t.name: dict(result[t.name].scores) for t in targets if t.name in result}
        predicted = {t.name: pick(scores.get(t.name, {}), t) for t in targets}
        missing = None if index < len(answer.results) else "the response had no result for it"
        found.append(ItemAnswer(predicted, scores=scores, error=missing))
    return found


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


async def ask_chat(
    client: TunerClient,
    model: str,
    item: Item,
    targets: Sequence[Target],
    gate: asyncio.Semaphore | None = None,
) -> ItemAnswer:
    """A chat model's pick for every target of one item (one request per target, together).

    A failed request leaves its target unanswered and is reported in ``error``; errors about
    the whole run (a rejected key, an unknown model) propagate. ``gate`` bounds the requests
    in flight across items."""
    from tuner.evals.runner import is_fatal, one_line

    async def ask(target: Target) -> tuple[str | None, str | None]:
        try:
            async with gate if gate is not None else contextlib.nullcontext():
                reply = await client.chat.complete(
                    model=model, messages=chat_prompt(item, target), temperature=0.0
                )
        except APIError as exc:
            if is_fatal(exc):
                raise
            return None, f"{target.name}: {one_line(str(exc)) or type(exc).__name__}"
        message = reply.choices[0].message if reply.choices else None
        content = message.content if message is not None else None
        return (content if isinstance(content, str) else None), None

    replies = await asyncio.gather(*(ask(target) for target in targets))
    answers = {t.name: text for t, (text, _) in zip(targets, replies, strict=True)}
    errors = [problem for _, problem in replies if problem is not None]
    return ItemAnswer(
        {t.name: parse_choice(answers[t.name], t) for t in targets},
        answers=answers,
        error="; ".join(errors) if errors else None,
    )


# --------------------------------------------------------------------------- scoring, report


def score(
    targets: Sequence[Target],
    rows: Sequence[tuple[Mapping[str, Sequence[str]], Mapping[str, Prediction]]],
) -> list[TargetMetrics]:
    """Per target, the metrics of the predictions against the true labels; each row is an
    item's (true labels by target, predictions by target)."""
    metrics = []
    for target in targets:
        pairs = [
            (truth[target.name], guess.get(target.name))
            for truth, guess in rows
            if target.name in truth
        ]
        if target.multi:
            metrics.append(
                multi_label_metrics(
                    target.name,
                    target.labels,
                    [frozenset(true) for true, _ in pairs],
                    [g if isinstance(g, frozenset) else None for _, g in pairs],
                )
            )
        else:
            metrics.append(
                single_label_metrics(
                    target.name,
                    target.labels,
                    [true[0] for true, _ in pairs],
                    [g if isinstance(g, str) else None for _, g in pairs],
                )
            )
    return metrics


@dataclass(slots=True)
class ModelResult:
    model: str
    role: str
    """"classifier" (scored by /v1/classifications) or "chat" (prompted to pick a label)."""
    backend: Backend
    targets: list[TargetMetrics]
    items: int
    """Items with a recorded answer (failed ones included)."""
    failed: int
    """Of those, items whose request failed after retries: counted as unanswered."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "role": self.role,
            "backend": self.backend.to_json(),
            "simulated": self.backend.sandbox is True,
            "items": self.items,
            "failed_items": self.failed,
            "targets": [t.to_dict() for t in self.targets],
        }


def results_simulated_note(results: Sequence[ModelResult]) -> str | None:
    """The SIMULATED sentence when a sandbox answered any of ``results``, else None."""
    urls = [r.backend.url for r in results if r.backend.sandbox]
    if not urls:
        return None
    return f"{simulated_note(urls)} Its classifier scores are stand-ins."


@dataclass(slots=True)
class ClassifierReport:
    run_id: str
    status: str
    data: str
    data_hash: str
    created_at: int
    items: int
    """Items recorded for any model of the run."""
    backend: dict[str, Any]
    """``{"url", "sandbox"}``, or one such per model when they differ."""
    results: list[ModelResult] = field(default_factory=list)

    @property
    def simulated(self) -> bool:
        return any(r.backend.sandbox is True for r in self.results)

    @property
    def simulated_note(self) -> str | None:
        return results_simulated_note(self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "classifier",
            "run_id": self.run_id,
            "status": self.status,
            "data": self.data,
            "data_hash": self.data_hash,
            "created_at": self.created_at,
            "items": self.items,
            "backend": self.backend,
            "simulated": self.simulated,
            "results": [r.to_dict() for r in self.results],
        }


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


def _result_html(result: ModelResult) -> str:
    e = html.escape
    mark = " <span class='simulated'>SIMULATED</span>" if result.backend.sandbox else ""
    failed = f"<p>{result.failed} item(s) failed after retries</p>" if result.failed else ""
    return f"<h2>{e(result.model)} ({result.role}){mark}</h2>{failed}" + "".join(
        _target_html(t) for t in result.targets
    )


def render_html(report: ClassifierReport) -> str:
    """A self-contained HTML page of the report (all data and names escaped)."""
    e = html.escape
    note = report.simulated_note
    banner = f'<p class="simulated">{e(note)}</p>' if note else ""
    sections = "".join(_result_html(result) for result in report.results)
    made = datetime.datetime.fromtimestamp(report.created_at, datetime.UTC)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>tuner classifier evaluation"
        "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}"
        "td:first-child,th:first-child{text-align:left}.simulated{background:#fd0;padding:.5em;"
        f"font-weight:bold}}</style></head><body>{banner}<h1>Classifier evaluation</h1>"
        f"<p>run {e(report.run_id)} · {e(Path(report.data).name)} · {report.items} items · "
        f"{e(report.status)} · {made:%Y-%m-%d %H:%M} UTC</p>{sections}</body></html>"
    )
