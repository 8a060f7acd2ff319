"""Classifier data: the rules for Mistral's classifier fine-tuning lines, beside instruct/pretrain.

A line is ``{"text": "...", "labels": {"<target>": "<label>" | ["<label>", ...]}}`` or the same
with ``messages`` (a chat to classify) instead of ``text`` (docs/classifier.md, the Classifier
Factory docs). A target whose value is a string is a single-label target (``single_class``); a
list makes it multi-label (``multi_class``).

Two kinds of rules:

- per line (:func:`check_line`, called by the line checker in :mod:`tuner.datasets.rules`):
  ``labels`` present and an object, every value a non-empty string or a list of them, a non-empty
  ``text`` or a non-empty ``messages`` list of ``{role, content}`` objects;
- across the file (:func:`file_findings`, a second pass once the file is known to be classifier
  data): a target whose kind changes, labels outside a given set, rare labels and imbalance.

A valid line becomes a :class:`~tuner.datasets.samples.PretrainSample` of the text to classify
(a chat's message contents joined), so that token counting, duplicate keys and the rest of the
pipeline handle it without a third sample type; the labels are read again where they matter
(:func:`iter_labelled`, stats, split, evaluation).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from tuner.datasets.findings import Category, Finding, Severity, excerpt
from tuner.datasets.reader import iter_lines
from tuner.datasets.samples import ClassifierSample

E, W = Severity.ERROR, Severity.WARNING
C = Category.CLASSIFIER

# Merged into ``tuner.datasets.rules.CODES`` (the README's code table is generated from it).
CODES: dict[str, tuple[Category, Severity, str]] = {
    "missing_labels": (C, E, "A classifier line without 'labels'."),
    "labels_not_object": (C, E, "'labels' is not an object of target -> label(s)."),
    "invalid_label": (C, E, "A label that is not a non-empty string or a list of them."),
    "missing_input": (C, E, "A classifier line without 'text' or 'messages' (or both)."),
    "empty_input": (C, E, "An empty 'text', or 'messages' with no message content."),
    "target_kind_changed": (C, E, "A target that is single-label on one line, a list on another."),
    "label_not_in_set": (C, E, "A label outside the target's given set of labels."),
    "rare_label": (C, W, "A label with fewer examples than the stated minimum."),
    "class_imbalance": (C, W, "A target whose most frequent label outnumbers the rarest by far."),
}

# Below this many examples a label is reported as rare (Mistral states no minimum: a choice).
MIN_LABEL_EXAMPLES = 5
# The most frequent label over the rarest one; above this the target is called imbalanced.
IMBALANCE_RATIO = 10.0

Add = Callable[[str, str, str | None], None]


def missing_labels_finding(path: str, line: int) -> Finding:
    """A line without ``labels`` in a file of classifier data."""
    return _finding(
        path,
        line,
        "missing_labels",
        "no 'labels' key, but the file is classifier data",
        'Give the line\'s labels: "labels": {"<target>": "<label>"}.',
    )


def is_classifier(obj: Mapping[str, Any]) -> bool:
    """A line is classifier data when it has ``labels``."""
    return "labels" in obj


def check_line(obj: Mapping[str, Any], add: Add) -> ClassifierSample | None:
    """Check one classifier line; its sample (the text to classify) when it has no error."""
    labels_ok = _check_labels(obj.get("labels", _MISSING), add)
    text = _input_text(obj, add)
    if not labels_ok or text is None:
        return None
    labels: dict[str, Any] = obj["labels"]
    return ClassifierSample(
        text,
        tuple((t, (v,) if isinstance(v, str) else tuple(v)) for t, v in labels.items()),
        frozenset(t for t, v in labels.items() if isinstance(v, list)),
    )


_MISSING = object()
_HINT_INPUT = "Give the text to classify, or remove the line."


def _check_labels(labels: object, add: Add) -> bool:
    if labels is _MISSING:
        add(
            "missing_labels",
            "no 'labels' key in a classifier file",
            'Give the line\'s labels: "labels": {"<target>": "<label>"}.',
        )
        return False
    if not isinstance(labels, dict) or not labels:
        add(
            "labels_not_object",
            f"'labels' must be a non-empty object of target -> label(s), not {shown(labels)}",
            'Write "labels": {"sentiment": "positive"} (a list for several labels).',
        )
        return False
    ok = True
    for target, value in labels.items():
        if not _label_value_ok(value):
            add(
                "invalid_label",
                f"target {shown(target)}: {shown(value)} is not a label or a list of labels",
                "A label is a non-empty string; a multi-label target takes a list of them.",
            )
            ok = False
    return ok


def _label_value_ok(value: object) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        # An empty list is a multi-label example where no label applies.
        return all(isinstance(v, str) and v.strip() for v in value)
    return False


def _input_text(obj: Mapping[str, Any], add: Add) -> str | None:
    has_text, has_messages = "text" in obj, "messages" in obj
    if has_text == has_messages:
        add(
            "missing_input",
            "both 'text' and 'messages'" if has_text else "no 'text' or 'messages' to classify",
            "Give the input as 'text' (a string) or 'messages' (a chat), one of them.",
        )
        return None
    if has_text:
        text = obj["text"]
        if not isinstance(text, str) or not text.strip():
            add("empty_input", f"'text' must be a non-empty string, not {shown(text)}", _HINT_INPUT)
            return None
        return text
    return _messages_text(obj["messages"], add)


def _messages_text(messages: object, add: Add) -> str | None:
    if not isinstance(messages, list) or not messages:
        add(
            "empty_input",
            f"'messages' must be a non-empty list, not {shown(messages)}",
            _HINT_INPUT,
        )
        return None
    parts = []
    for index, message in enumerate(messages, 1):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not isinstance(message.get("role"), str):
            add(
                "empty_input",
                f"message {index} is not a {{'role': ..., 'content': '...'}} object",
                "Each message needs a 'role' and a string 'content'.",
            )
            return None
        parts.append(content)
    if not any(p.strip() for p in parts):
        add("empty_input", "every message's content is empty", _HINT_INPUT)
        return None
    return "\n".join(parts)


def shown(value: object) -> str:
    """A value as short, inert JSON (control characters escaped) for messages."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return excerpt(text, 50)


def stratum(sample: ClassifierSample) -> str:
    """The group a sample is split by: its single-label targets' labels (or, without any, its
    multi-label sets), so that a stratified split keeps every label's share on both sides."""
    single = [(t, v) for t, v in sample.labels if t not in sample.multi]
    chosen = single or [(t, tuple(sorted(v))) for t, v in sample.labels]
    return orjson.dumps(sorted(chosen)).decode()


# --------------------------------------------------------------------------- across the file


@dataclass(slots=True)
class TargetStats:
    """One target's labels across a file."""

    name: str
    multi: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    examples: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "loss_function": "multi_class" if self.multi else "single_class",
            "examples": self.examples,
            "labels": dict(sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        }


@dataclass(frozen=True, slots=True)
class Labelled:
    line: int
    text: str
    labels: dict[str, list[str]]
    # Targets written as a list on this line (multi-label).
    multi: frozenset[str]
    raw: dict[str, Any]


def iter_labelled(path: str | os.PathLike[str]) -> Iterator[Labelled]:
    """The valid classifier lines of a file, with their labels (lines with errors are skipped:
    the validator reports them)."""
    for raw in iter_lines(os.fspath(path)):
        if raw.data is None:
            continue
        try:
            obj = orjson.loads(raw.data)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(obj, dict):
            continue
        sample = check_line(obj, _ignore)
        if sample is None:
            continue
        yield Labelled(
            raw.number,
            sample.text,
            {t: list(v) for t, v in sample.labels},
            sample.multi,
            obj,
        )


def _ignore(code: str, message: str, hint: str | None) -> None:
    return None


def label_stats(path: str | os.PathLike[str]) -> dict[str, TargetStats]:
    """Per target: how often each label occurs, and whether the target is multi-label."""
    targets: dict[str, TargetStats] = {}
    for item in iter_labelled(path):
        for name, values in item.labels.items():
            stats = targets.setdefault(name, TargetStats(name))
            stats.multi = stats.multi or name in item.multi
            stats.examples += 1
            stats.counts.update(values)
    return targets


def file_findings(
    path: str,
    *,
    label_sets: Mapping[str, Sequence[str]] | None = None,
    min_examples: int = MIN_LABEL_EXAMPLES,
    imbalance_ratio: float = IMBALANCE_RATIO,
) -> list[Finding]:
    """The findings across a classifier file's valid lines (one more pass over the file)."""
    found: list[Finding] = []
    kinds: dict[str, tuple[bool, int]] = {}
    targets: dict[str, TargetStats] = {}
    sets = {name: frozenset(labels) for name, labels in (label_sets or {}).items()}
    for item in iter_labelled(path):
        for name, values in item.labels.items():
            multi = name in item.multi
            first = kinds.setdefault(name, (multi, item.line))
            if first[0] != multi:
                found.append(
                    _finding(
                        path,
                        item.line,
                        "target_kind_changed",
                        f"target {shown(name)} is {_kind(multi)} here but {_kind(first[0])} "
                        f"on line {first[1]}",
                        "Write a target's labels the same way on every line: a string for one "
                        "label, a list for multi-label targets.",
                    )
                )
            allowed = sets.get(name)
            outside = [v for v in values if allowed is not None and v not in allowed]
            if outside:
                found.append(
                    _finding(
                        path,
                        item.line,
                        "label_not_in_set",
                        f"target {shown(name)}: {', '.join(shown(v) for v in outside)} is not "
                        f"one of its labels ({', '.join(sorted(allowed or ()))})",
                        "Fix the label, or add it to the target's labels.",
                    )
                )
            stats = targets.setdefault(name, TargetStats(name))
            stats.examples += 1
            stats.counts.update(values)
    for stats in targets.values():
        found.extend(_distribution_findings(path, stats, min_examples, imbalance_ratio))
    return found


def _kind(multi: bool) -> str:
    return "a list (multi-label)" if multi else "a single label"


def _distribution_findings(
    path: str, stats: TargetStats, min_examples: int, ratio: float
) -> list[Finding]:
    found = []
    rare = sorted(label for label, n in stats.counts.items() if n < min_examples)
    if rare:
        listed = ", ".join(f"{shown(label)} ({stats.counts[label]})" for label in rare[:5])
        found.append(
            _finding(
                path,
                None,
                "rare_label",
                f"target {shown(stats.name)}: fewer than {min_examples} examples of {listed}",
                "Add examples of these labels; a classifier learns little from a handful.",
            )
        )
    if len(stats.counts) > 1:
        (top, most), *_ = stats.counts.most_common()
        least_label, least = min(stats.counts.items(), key=lambda kv: (kv[1], kv[0]))
        if most > ratio * least:
            found.append(
                _finding(
                    path,
                    None,
                    "class_imbalance",
                    f"target {shown(stats.name)}: {shown(top)} has {most} examples, "
                    f"{shown(least_label)} only {least} (more than {ratio:g}x)",
                    "Balance the labels (more examples of the rare ones, or fewer of the "
                    "common one), or weigh the rare ones up.",
                )
            )
    return found


def _finding(path: str, line: int | None, code: str, message: str, hint: str | None) -> Finding:
    category, severity, _ = CODES[code]
    return Finding(path, line, severity, category, code, message, hint)
