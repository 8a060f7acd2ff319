"""Classifier evaluation runs in the ledger: recorded item by item, resumable, re-rendered.

Stored in the evaluation tables chat runs use, with no column of their own:

- ``eval_runs.params``: ``{"kind": "classifier", "roles", "targets", "multi_threshold"}``, the
  targets (name, labels, multi-label or not) being what the report needs without the data file;
- ``eval_run_models``: the fine-tuned classifier first, then the chat model, each with the
  backend that answered it (URL, sandbox or not);
- ``eval_items``: one row per item and model. ``prompt_hash`` is the hash of the item's input
  and true labels; ``scores`` holds ``{"kind": "classifier", "line", "truth", "predicted"}``
  plus the classifier's label ``scores`` or the chat model's raw ``answers`` per target;
  ``error`` says why a request failed after retries (its targets count as unanswered).

Identity and resuming work as for chat runs (:mod:`tuner.evals.runner`): the run id is a digest
of the data's hash, the models, the parameters and the backends, so running the same command
again asks only the items not recorded yet (and, unless told not to, those that failed), and a
run made against a sandbox is never resumed, or reported, as a real one. The classifier is asked
in batches (one request per ``BATCH`` items), each batch recorded as soon as it is answered;
the chat model's answers are recorded in small batches as they arrive, and what is pending is
written when the run stops, Ctrl-C included.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tuner.api import APIError, TunerClient
from tuner.evals.classifier_run import (
    BATCH,
    MULTI_THRESHOLD,
    ClassifierData,
    ClassifierReport,
    Item,
    ItemAnswer,
    ModelResult,
    Prediction,
    Target,
    ask_chat,
    classify_batch,
    score,
)
from tuner.evals.providers import MistralChat, model_ref, provider_of
from tuner.evals.runner import (
    EvalConfigError,
    ItemRecorder,
    RunCounts,
    RunOutcome,
    RunPlan,
    backend_changes,
    final_status,
    is_fatal,
    new_run_id,
    one_line,
    open_run,
    reusable_answers,
    stable_run_id,
)
from tuner.jobs.ledger import EvalItemWrite, Ledger
from tuner.jobs.records import Backend, EvalItemRecord, EvalRunRecord
from tuner.progress import NULL_PROGRESS, Progress

KIND = "classifier"
ROLES = ("classifier", "chat")
DEFAULT_CONCURRENCY = 4


class NotMistralError(EvalConfigError):
    """A model of another provider was given: classification (``/v1/classifications``, and
    classifier fine-tuning behind it) exists in tuner for Mistral only."""


@dataclass(frozen=True, slots=True)
class ClassifierOptions:
    classifier: str
    """The fine-tuned classifier, scored by ``/v1/classifications``."""
    chat_model: str | None = None
    """A chat model prompted to pick the labels (the base model or any other)."""
    concurrency: int = DEFAULT_CONCURRENCY
    run_id: str | None = None
    new_run: bool = False
    retry_failed: bool = True

    @property
    def models(self) -> tuple[str, ...]:
        return (self.classifier,) if self.chat_model is None else (self.classifier, self.chat_model)

    def check(self) -> None:
        for model in self.models:
            # Before anything is asked or stored: another provider's model would only get a
            # 400 from Mistral's endpoints and leave a failed run behind.
            if provider_of(model) != "mistral":
                raise NotMistralError(
                    f"{model} is an OpenAI model: classifier evaluation runs on Mistral "
                    "classifier models only"
                )
        if self.chat_model == self.classifier:
            raise EvalConfigError("the classifier and the chat model are the same model")
        if self.concurrency < 1:
            raise EvalConfigError("concurrency must be at least 1")
        if self.run_id is not None and self.new_run:
            raise EvalConfigError("give either a run id to resume or ask for a new run, not both")


def is_classifier_run(run: EvalRunRecord) -> bool:
    return (run.params or {}).get("kind") == KIND


def run_params(data: ClassifierData, options: ClassifierOptions) -> dict[str, Any]:
    """What the run records besides data and models; part of its id."""
    return {
        "kind": KIND,
        "roles": list(ROLES[: len(options.models)]),
        "targets": [target.to_json() for target in data.targets],
        "multi_threshold": MULTI_THRESHOLD,
    }


# --------------------------------------------------------------------------- item rows


def _encode(prediction: Prediction) -> str | list[str] | None:
    return sorted(prediction) if isinstance(prediction, frozenset) else prediction


def _decode(value: Any) -> Prediction:
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    return value if isinstance(value, str) else None


def item_row(run_id: str, model: str, item: Item, answer: ItemAnswer) -> EvalItemWrite:
    """One model's answer on one item, as the ledger records it."""
    scores: dict[str, Any] = {
        "kind": KIND,
        "line": item.line,
        "truth": item.labels,
        "predicted": {name: _encode(p) for name, p in answer.predicted.items()},
    }
    if answer.scores:
        scores["scores"] = answer.scores
    if answer.answers:
        scores["answers"] = answer.answers
    return EvalItemWrite(
        run_id, item.index, model, item.input_hash, scores=scores, error=answer.error
    )


def _failed(targets: Sequence[Target], error: str) -> ItemAnswer:
    return ItemAnswer({t.name: None for t in targets}, error=error)


def missing(
    data: ClassifierData, options: ClassifierOptions, records: Sequence[EvalItemRecord]
) -> dict[str, list[Item]]:
    """Per model, the items without a usable recorded answer, in item order."""
    done = reusable_answers(
        records, {item.index: item.input_hash for item in data.items}, options.retry_failed
    )
    return {
        model: [item for item in data.items if (item.index, model) not in done]
        for model in options.models
    }


# --------------------------------------------------------------------------- the runner


class ClassifierRunner:
    """Asks what is missing of a classifier run and records it; nothing is printed."""

    def __init__(
        self,
        client: TunerClient,
        ledger: Ledger,
        *,
        now: Callable[[], float] = time.time,
        progress: Progress = NULL_PROGRESS,
    ) -> None:
        self._client = client
        self._chat_backend = MistralChat(client)
        self._ledger = ledger
        self._now = now
        self._progress = progress

    def backends(self, options: ClassifierOptions) -> list[Backend]:
        return [self._chat_backend.origin()] * len(options.models)

    async def learn_backend(self) -> None:
        """Make sure the client knows whether its server is a sandbox (the run id and the
        SIMULATED mark depend on it)."""
        await self._chat_backend.learn()

    def run_id_for(self, data: ClassifierData, options: ClassifierOptions) -> str:
        if options.run_id is not None:
            return options.run_id
        if options.new_run:
            return new_run_id()
        return stable_run_id(
            data.data_hash,
            options.models,
            None,
            run_params(data, options),
            self.backends(options),
        )

    def plan(
        self, data: ClassifierData, options: ClassifierOptions, run_id: str | None = None
    ) -> RunPlan:
        """The run id, whether it resumes, and how many answers are left (blocking: SQL).

        Await ``learn_backend`` first: the backends are part of the run's identity."""
        options.check()
        run_id = run_id or self.run_id_for(data, options)
        existing = self._ledger.get_eval_run(run_id)
        if existing is not None:
            check_resumable(existing, data, options, self.backends(options))
        records = self._ledger.eval_items(run_id) if existing is not None else []
        left = sum(len(items) for items in missing(data, options, records).values())
        return RunPlan(run_id, existing is not None, left, len(data.items) * len(options.models))

    async def run(
        self, data: ClassifierData, options: ClassifierOptions, *, run_id: str | None = None
    ) -> RunOutcome:
        """Ask the classifier (and the chat model) what is missing, recording as it goes."""
        await self.learn_backend()
        run_id = run_id or self.run_id_for(data, options)
        plan = await self._ledger.aio.call(self.plan, data, options, run_id)
        await self._open(plan, data, options)
        counts = RunCounts()
        async with final_status(self._ledger, plan.run_id, self._stamp):
            records = await self._ledger.aio.call(self._ledger.eval_items, plan.run_id)
            todo = missing(data, options, records)
            await self._classify(plan.run_id, data, options, todo[options.classifier], counts)
            if options.chat_model is not None:
                await self._chat(plan.run_id, data, options, todo[options.chat_model], counts)
        return RunOutcome(plan.run_id, plan.resumed, counts.asked, counts.failed, 0)

    async def _open(self, plan: RunPlan, data: ClassifierData, options: ClassifierOptions) -> None:
        await open_run(
            self._ledger,
            plan,
            self._stamp(),
            data_path=data.path,
            data_hash=data.data_hash,
            models=options.models,
            backends=self.backends(options),
            params=run_params(data, options),
        )

    def _stamp(self) -> int:
        return int(self._now())

    async def _classify(
        self,
        run_id: str,
        data: ClassifierData,
        options: ClassifierOptions,
        items: Sequence[Item],
        counts: RunCounts,
    ) -> None:
        """The classifier, one request per batch, each batch recorded once answered."""
        model = options.classifier
        sent = model_ref(model).name  # the server's id: without tuner's ``mistral:`` prefix
        self._progress.start(f"classifying with {model}", total=len(items), unit="items")
        try:
            for start in range(0, len(items), BATCH):
                batch = items[start : start + BATCH]
                try:
                    answers = await classify_batch(self._client, sent, batch, data.targets)
                except APIError as exc:
                    if is_fatal(exc):
                        raise
                    problem = one_line(str(exc)) or type(exc).__name__
                    answers = [_failed(data.targets, problem) for _ in batch]
                rows = [
                    item_row(run_id, model, item, answer)
                    for item, answer in zip(batch, answers, strict=True)
                ]
                await self._ledger.aio.call(self._ledger.record_eval_items, rows, now=self._stamp())
                counts.asked += len(batch)
                counts.failed += sum(answer.error is not None for answer in answers)
                self._progress.advance(len(batch))
        finally:
            self._progress.finish()

    async def _chat(
        self,
        run_id: str,
        data: ClassifierData,
        options: ClassifierOptions,
        items: Sequence[Item],
        counts: RunCounts,
    ) -> None:
        """The chat model, at most ``concurrency`` requests at a time; each item's answer joins
        the open batch of writes as soon as all its targets are answered."""
        model = options.chat_model
        assert model is not None
        sent = model_ref(model).name
        gate = asyncio.Semaphore(options.concurrency)
        self._progress.start(f"asking {model}", total=len(items), unit="items")
        try:
            async with ItemRecorder(self._ledger, self._stamp) as recorder:

                async def one(item: Item) -> None:
                    answer = await ask_chat(self._client, sent, item, data.targets, gate)
                    recorder.add(item_row(run_id, model, item, answer))
                    counts.asked += 1
                    counts.failed += answer.error is not None
                    self._progress.advance()

                tasks = [asyncio.create_task(one(item)) for item in items]
                try:
                    await asyncio.gather(*tasks)
                finally:
                    # After an error (or a cancellation) nothing else is asked; what was
                    # answered is in the recorder's batch, written when the block closes it.
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._progress.finish()


def check_resumable(
    run: EvalRunRecord,
    data: ClassifierData,
    options: ClassifierOptions,
    backends: Sequence[Backend],
) -> None:
    """A resumed run must be the same classifier evaluation: same data, models and parameters,
    each model answered by the same backend (a sandbox's answers are never reused as real)."""
    if not is_classifier_run(run):
        raise EvalConfigError(f"run {run.run_id} is not a classifier evaluation")
    problems = []
    problems.extend(backend_changes(run, backends))
    if run.data_hash != data.data_hash:
        problems.append("the data file's content changed")
    if list(run.models) != list(options.models):
        problems.append(f"it evaluated {', '.join(run.models)}")
    stored = run.params or {}
    wanted = run_params(data, options)
    if {k: stored.get(k) for k in wanted} != wanted:
        problems.append("its parameters differ")
    if problems:
        raise EvalConfigError(
            f"run {run.run_id} cannot be resumed with these options: {'; '.join(problems)}"
        )


# --------------------------------------------------------------------------- the report


ScoredRow = tuple[Mapping[str, Sequence[str]], Mapping[str, Prediction]]


def scored_rows(records: Sequence[EvalItemRecord]) -> list[ScoredRow]:
    """Each recorded classifier item as (true labels, predictions) by target, for :func:`score`."""
    rows: list[ScoredRow] = []
    for record in records:
        scores = record.scores or {}
        truth = scores.get("truth")
        predicted = scores.get("predicted")
        if not isinstance(truth, Mapping):
            continue  # not a classifier row: nothing to score it against
        guesses = predicted if isinstance(predicted, Mapping) else {}
        rows.append(
            (
                {str(k): [str(v) for v in values] for k, values in truth.items()},
                {str(k): _decode(v) for k, v in guesses.items()},
            )
        )
    return rows


def build_classifier_report(
    run: EvalRunRecord, records: Sequence[EvalItemRecord]
) -> ClassifierReport:
    """The report of a stored classifier run, from its recorded items alone."""
    params = run.params or {}
    targets = [Target.from_json(t) for t in params.get("targets") or []]
    roles = list(params.get("roles") or ROLES)
    results = []
    for position, model in enumerate(run.models):
        mine = [r for r in records if r.model == model]
        backend = run.backends[position] if position < len(run.backends) else None
        results.append(
            ModelResult(
                model=model,
                role=str(roles[position]) if position < len(roles) else "model",
                backend=backend or Backend(url=None, sandbox=None),
                targets=score(targets, scored_rows(mine)),
                items=len(mine),
                failed=sum(r.error is not None for r in mine),
            )
        )
    return ClassifierReport(
        run_id=run.run_id,
        status=run.status,
        data=run.data_path,
        data_hash=run.data_hash,
        created_at=run.created_at,
        items=len({r.item_index for r in records}),
        backend=run.backends_json(),
        results=results,
    )


def load_classifier_report(ledger: Ledger, run: EvalRunRecord) -> ClassifierReport:
    return build_classifier_report(run, ledger.eval_items(run.run_id))
