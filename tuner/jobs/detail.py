"""One job in detail, as the ledger holds it: what ``tuner jobs show`` and the dashboard display.

One builder for both entry points (the CLI renders ``to_dict()``, the dashboard the dataclass):
the job row, its transitions, checkpoints, events, files (with the datasets they were uploaded
from) and the evaluation runs of its fine-tuned model. Blocking (SQL): async callers run
``load_job_detail`` in a thread.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tuner.jobs.ledger import Ledger
from tuner.jobs.records import (
    CheckpointRecord,
    DatasetRecord,
    EvalRunRecord,
    EventRecord,
    FileRecord,
    JobFileLink,
    JobRecord,
    TransitionRecord,
)

FAILED_STATUSES = frozenset({"FAILED", "FAILED_VALIDATION"})


@dataclass(frozen=True, slots=True)
class LineageNode:
    kind: str
    """dataset, file, job, model or eval."""
    label: str
    detail: str = ""
    children: tuple[LineageNode, ...] = ()
    ref: str | None = None
    """What the node stands for, to open it (an evaluation run's id)."""


@dataclass(frozen=True, slots=True)
class JobDetail:
    job: JobRecord
    checkpoints: list[CheckpointRecord]
    events: list[EventRecord]
    transitions: list[TransitionRecord]
    files: list[JobFileLink]
    file_records: dict[str, FileRecord | None]
    datasets: dict[str, DatasetRecord | None]
    eval_runs: list[EvalRunRecord]

    @property
    def best_checkpoint(self) -> CheckpointRecord | None:
        """The checkpoint with the lowest ``valid_loss`` (None without validation data)."""
        scored = [c for c in self.checkpoints if _metric(c.metrics, "valid_loss") is not None]
        if not scored:
            return None
        return min(scored, key=lambda c: (_metric(c.metrics, "valid_loss"), c.step))

    @property
    def failure(self) -> str | None:
        """Why the job ended badly, in full: the newest event carrying an error or a message
        (as ``tuner.jobs.orchestrator.failure_reason`` reads a live job). None for a job that
        did not fail; the bare status when no event says why."""
        if self.job.status not in FAILED_STATUSES:
            return None
        # OpenAI says why on the job itself: error {code, message, param}.
        error = self.job.last_snapshot.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            param = f" ({error['param']})" if error.get("param") else ""
            return f"{error['message']}{param}"
        for event in sorted(self.events, key=lambda e: e.created_at or 0, reverse=True):
            data = event.data if isinstance(event.data, Mapping) else {}
            error = data.get("error") or data.get("message")
            if error:
                return str(error)
        return f"the server gave no reason ({self.job.status})"

    @property
    def spec_auto_start(self) -> bool | None:
        """What the job spec said about ``auto_start`` (tuner creates every job with
        ``auto_start = false`` and starts it itself once agreed); None for a job made outside
        tuner."""
        meta = (self.job.spec or {}).get("tuner")
        start = meta.get("start") if isinstance(meta, Mapping) else None
        if start is None:
            return None
        return bool(start != "manual")

    @property
    def validation_path(self) -> str | None:
        """The local file the job's (first) validation file was uploaded from, normalised,
        when the ledger knows it: what to evaluate the tuned model on."""
        for link in self.files:
            if link.role != "validation":
                continue
            record = self.file_records.get(link.file_id)
            digest = record.content_hash if record is not None else None
            dataset = self.datasets.get(digest) if digest is not None else None
            if dataset is not None:
                return os.path.normpath(dataset.path)
        return None

    def series(self, name: str) -> tuple[list[int], list[float]]:
        """(steps, values) of one checkpoint metric, in step order, where it is known."""
        xs: list[int] = []
        ys: list[float] = []
        for checkpoint in sorted(self.checkpoints, key=lambda c: c.step):
            value = _metric(checkpoint.metrics, name)
            if value is not None:
                xs.append(checkpoint.step)
                ys.append(value)
        return xs, ys

    @property
    def classifier_targets_source(self) -> str | None:
        """Where :meth:`classifier_targets` come from: ``"server"`` (the job's last detailed
        answer, which carries every field of every target), ``"spec"`` (what tuner sent: the
        list answers carry no targets) or None (no targets: not a classifier job)."""
        if _targets_in(self.job.last_snapshot):
            return "server"
        if _targets_in(self.job.spec):
            return "spec"
        return None

    def classifier_targets(self) -> list[dict[str, Any]]:
        """A classifier job's targets, each ``{name, labels, weight, loss_function}``: as the
        server last reported them, else as tuner sent them (the ledger's spec); [] for other
        jobs. ``weight`` left out is the API's default, 1.0; ``loss_function`` left out stays
        None (the server decides)."""
        source = self.classifier_targets_source
        if source is None:
            return []
        holder = self.job.last_snapshot if source == "server" else self.job.spec
        return [_target(t) for t in _targets_in(holder) if isinstance(t, Mapping)]

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``tuner jobs show --json``: the row, files, transitions, checkpoints and
        events."""
        record = self.job
        return {
            "id": record.id,
            "provider": record.provider,
            "status": record.status,
            "provider_status": record.provider_status,
            "model": record.model,
            "suffix": record.suffix,
            "fine_tuned_model": record.fine_tuned_model,
            "job_type": record.job_type,
            "auto_start": record.auto_start,
            "created_at": record.created_at,
            "modified_at": record.modified_at,
            "trained_tokens": record.trained_tokens,
            "hyperparameters": record.hyperparameters,
            "classifier_targets": self.classifier_targets(),
            "classifier_targets_source": self.classifier_targets_source,
            "metadata": record.metadata,
            "sweep_id": record.sweep_id,
            "spec": record.spec,
            "backend": {"url": record.backend, "sandbox": record.sandbox},
            "files": [link.model_dump() for link in self.files],
            "transitions": [
                {"from": t.from_status, "to": t.to_status, "at": t.at} for t in self.transitions
            ],
            "checkpoints": [c.model_dump() for c in self.checkpoints],
            "events": [e.model_dump() for e in self.events],
        }

    def lineage(self) -> list[LineageNode]:
        """dataset → file → job → model → evaluation runs: the data (each file under the
        dataset it was uploaded from, when the ledger knows it), then the job's chain."""
        runs = tuple(
            LineageNode(
                "eval",
                f"eval {run.run_id}",
                f"{run.status}, {' vs '.join(run.models)}, judge {run.judge or 'none'}",
                ref=run.run_id,
            )
            for run in self.eval_runs
        )
        job = self.job
        chain: tuple[LineageNode, ...] = ()
        if job.fine_tuned_model:
            note = f"{len(runs)} evaluation run(s)" if runs else "not evaluated yet"
            chain = (LineageNode("model", f"model {job.fine_tuned_model}", note, runs),)
        job_node = LineageNode("job", f"job {job.id}", f"{job.model}, {job.status}", chain)
        data: list[LineageNode] = []
        for link in self.files:
            record = self.file_records.get(link.file_id)
            weight = f", weight {link.weight:g}" if link.weight is not None else ""
            if record is not None and record.filename:
                label, detail = f"file {record.filename}", f"{link.file_id}, {link.role}{weight}"
            else:
                label, detail = f"file {link.file_id}", f"{link.role}{weight}"
            file_node = LineageNode("file", label, detail)
            dataset = None
            if record is not None and record.content_hash is not None:
                dataset = self.datasets.get(record.content_hash)
            if dataset is not None:
                data.append(
                    LineageNode(
                        "dataset",
                        f"dataset {os.path.normpath(dataset.path)}",
                        f"sha256 {dataset.content_hash[:12]}…, {dataset.line_count} lines",
                        (file_node,),
                    )
                )
            else:
                data.append(file_node)
        if not data:
            data.append(LineageNode("file", "training files not recorded"))
        return [LineageNode("root", "data", "", tuple(data)), job_node]


def _targets_in(holder: Mapping[str, Any] | None) -> list[Any]:
    targets = (holder or {}).get("classifier_targets")
    return targets if isinstance(targets, list) else []


def _target(raw: Mapping[str, Any]) -> dict[str, Any]:
    """One classifier target in the shape shown, whatever the server or the spec gave."""
    labels = raw.get("labels")
    weight = raw.get("weight")
    loss = raw.get("loss_function")
    return {
        "name": str(raw.get("name", "")),
        "labels": [str(label) for label in labels] if isinstance(labels, list) else [],
        "weight": float(weight) if isinstance(weight, int | float) else 1.0,
        "loss_function": str(loss) if loss is not None else None,
    }


def _metric(metrics: Mapping[str, Any], name: str) -> float | None:
    value = metrics.get(name)
    return float(value) if isinstance(value, int | float) else None


def load_job_detail(ledger: Ledger, job_id: str) -> JobDetail | None:
    job = ledger.get_job(job_id)
    if job is None:
        return None
    links = ledger.job_files(job_id)
    file_records = {link.file_id: ledger.get_file(link.file_id) for link in links}
    hashes = {r.content_hash for r in file_records.values() if r is not None and r.content_hash}
    datasets = {digest: ledger.get_dataset(digest) for digest in sorted(hashes)}
    runs = ledger.list_eval_runs(model=job.fine_tuned_model) if job.fine_tuned_model else []
    return JobDetail(
        job=job,
        checkpoints=ledger.checkpoints(job_id),
        events=ledger.events(job_id),
        transitions=ledger.transitions(job_id),
        files=links,
        file_records=file_records,
        datasets=datasets,
        eval_runs=runs,
    )
