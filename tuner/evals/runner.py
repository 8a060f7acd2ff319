"""``EvalRunner``: ask every model every eval item, score the answers, judge pairs, record it all.

Headless and async: HTTP goes through ``tuner.api`` (its key pool and retries), results go into
the ledger in small batches, progress goes to a ``tuner.progress.Progress``. Nothing is printed.

Resuming. A run's id is a digest of what decides its answers (the eval file's hash, the models,
the judge, the sampling parameters), so running the same evaluation again finds the same run and
asks only what is missing from the ledger: an interrupted run picks up where it stopped. Items
that failed are asked again on a rerun unless ``retry_failed`` is off. ``new_run`` starts afresh
under a random id instead.

Failures. An item whose request still fails after the client's retries is recorded as failed,
with the reason, and counted in the report. Errors that concern every item (a rejected key, an
unknown model) stop the run instead: recording each item as failed would only hide them.

Stopping. When the run is cancelled (Ctrl-C in the CLI), nothing new is sent, but requests
already in flight are allowed to finish (for up to ``grace_s``) and are recorded: their answers
are being generated, and paid for, anyway, and recording them means the resumed run does not
ask for them a second time.

Recording. Each result joins the open batch as soon as it is scored (no await in between, so
a cancellation cannot separate an answer from its record), and a batch is written in one
transaction, away from the event loop (``ledger.aio``, the ledger's worker thread), when it
holds ``BATCH_ROWS`` results or ``BATCH_SECONDS`` after the last write, and always when a
phase ends: normally, on cancellation (Ctrl-C) and on an error. What can be lost is the open
batch, at most ``BATCH_ROWS`` results or half a second of answers, and only if the process dies
without unwinding (SIGKILL, power loss) or the write itself fails. That is safe: a result that is
not in the ledger is simply missing, so the resumed run asks for it again (paid twice, never
recorded wrong), and a batch is all or nothing, so the ledger never holds part of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Self

import orjson

from tuner.api import (
    APIError,
    APIStatusError,
    AuthenticationError,
    ChatCompletion,
    NotFoundError,
    PermissionDeniedError,
    TunerClient,
)
from tuner.evals.dataset import Answer, EvalItem, EvalSet, ToolCallAnswer, content_text
from tuner.evals.judge import (
    candidate_first,
    judge_messages,
    outcome_for_candidate,
    parse_verdict,
)
from tuner.evals.metrics import cosine, cost_usd, score_answer
from tuner.evals.providers import (
    JUDGE_BACKEND,
    ChatBackend,
    MistralChat,
    OpenAIChat,
    Provider,
    judge_backend_of,
    model_ref,
)
from tuner.jobs.ledger import EvalItemWrite, Ledger
from tuner.jobs.records import Backend, EvalItemRecord, EvalRunRecord, EvalRunStatus
from tuner.progress import NULL_PROGRESS, Progress

if TYPE_CHECKING:
    from tuner.api.openai import OpenAIClient

JsonDict = dict[str, Any]
Job = Callable[[], Coroutine[Any, Any, None]]
DEFAULT_CONCURRENCY = 4
DEFAULT_GRACE_S = 30.0
# The judge gets one more chance when its answer is not the JSON asked for.
JUDGE_ATTEMPTS = 2
_MAX_RAW_CHARS = 500
# A batch of results is written when it holds this many, or this long after the last write.
BATCH_ROWS = 64
BATCH_SECONDS = 0.5


class EvalConfigError(ValueError):
    """The options do not make a valid evaluation, or do not match the run being resumed."""


@dataclass(frozen=True, slots=True)
class EvalOptions:
    models: tuple[str, ...]
    """The candidate (usually the tuned model) first, then the baseline, if any. Each may name
    its provider (``openai:…``, see :mod:`tuner.evals.providers`)."""
    judge: str | None = None
    embed_model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """USD per million (input, output) tokens, per model; cost is left out where unknown."""
    run_id: str | None = None
    """Resume (or create) this run instead of the one the options name."""
    new_run: bool = False
    retry_failed: bool = True

    def check(self) -> None:
        if not self.models:
            raise EvalConfigError("name at least one model to evaluate")
        if len(set(self.models)) != len(self.models):
            raise EvalConfigError("the candidate and the baseline are the same model")
        if self.judge is not None and len(self.models) != 2:
            raise EvalConfigError(
                "a pairwise judge needs exactly two models: --model and --baseline"
            )
        if self.concurrency < 1:
            raise EvalConfigError("concurrency must be at least 1")
        if self.temperature is not None and not 0 <= self.temperature <= 1.5:
            raise EvalConfigError("temperature must be between 0 and 1.5")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise EvalConfigError("max tokens must be at least 1")
        if self.run_id is not None and self.new_run:
            raise EvalConfigError("give either a run id to resume or ask for a new run, not both")
        for model in (*self.models, *([self.judge] if self.judge else [])):
            try:
                model_ref(model)
            except ValueError as exc:
                raise EvalConfigError(str(exc)) from None
        if self.embed_model is not None and model_ref(self.embed_model).provider != "mistral":
            raise EvalConfigError(
                "the embedding model must be a Mistral one (OpenAI embeddings are not supported)"
            )

    def params(self) -> JsonDict:
        """What, besides the data, models and judge, decides the answers: part of the run id."""
        return {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "embed_model": self.embed_model,
        }


def stable_run_id(
    data_hash: str,
    models: Sequence[str],
    judge: str | None,
    params: Mapping[str, Any],
    backends: Sequence[Backend] = (),
) -> str:
    """The run id of an evaluation: the same inputs give the same id, so a rerun resumes.

    The backends (URL, sandbox or not) of the models are inputs too: a run made against a
    sandbox, or another server, is never resumed against this one (its answers would pass for
    this server's).
    """
    payload = orjson.dumps(
        {
            "data": data_hash,
            "models": list(models),
            "judge": judge,
            "params": dict(params),
            "backends": [backend.to_json() for backend in backends],
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return "ev" + hashlib.sha256(payload).hexdigest()[:14]


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class AnswerRecorded:
    item_index: int
    model: str
    error: str | None


@dataclass(frozen=True, slots=True)
class VerdictRecorded:
    item_index: int
    status: Literal["ok", "unparsed", "error"]


RunEvent = AnswerRecorded | VerdictRecorded
Listener = Callable[[RunEvent], None]


@dataclass(frozen=True, slots=True)
class RunPlan:
    run_id: str
    resumed: bool
    answers_missing: int
    answers_total: int


@dataclass(frozen=True, slots=True)
class RunOutcome:
    run_id: str
    resumed: bool
    asked: int
    """Answers requested in this session (the resumed part only)."""
    failed: int
    """Of those, how many failed after the client's retries."""
    judged: int


# --------------------------------------------------------------------------- answers


def answer_of(completion: ChatCompletion) -> Answer:
    """The first choice's text and tool calls; raises ValueError when there is no choice."""
    if not completion.choices:
        raise ValueError("the response had no choices")
    message = completion.choices[0].message
    calls = tuple(
        ToolCallAnswer(
            call.function.name or "",
            call.function.arguments
            if isinstance(call.function.arguments, str)
            else orjson.dumps(call.function.arguments).decode(),
        )
        for call in message.tool_calls or ()
    )
    return Answer(content_text(message.content), calls)


def is_fatal(error: APIError) -> bool:
    """Whether an error is about the whole run rather than one item, so the run stops instead of
    recording every item as failed: rejected keys, no access, an unknown model (404, or the
    inference routes' 400 ``invalid_model`` / code 1500)."""
    if isinstance(error, AuthenticationError | PermissionDeniedError | NotFoundError):
        return True
    body = error.body if isinstance(error, APIStatusError) else None
    if isinstance(body, Mapping):
        return body.get("type") == "invalid_model" or str(body.get("code")) == "1500"
    return False


def one_line(text: str, limit: int = _MAX_RAW_CHARS) -> str:
    collapsed = " ".join(text.split())
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1] + "…"


def _vector(values: object) -> list[float]:
    if not isinstance(values, list):
        raise ValueError("the embedding came back encoded; expected a list of floats")
    return [float(v) for v in values]


class ItemRecorder:
    """The open batch of results and the task that writes it; see "Recording" above.

    ``add`` only appends (it never waits); the writer task is the one place that writes, so
    batches reach the ledger in order and none is left half-written by a cancelled job.
    ``async with`` closes it (writes what is pending) however the block ends.
    """

    def __init__(self, ledger: Ledger, now: Callable[[], int]) -> None:
        self._ledger = ledger
        self._now = now
        self._pending: list[EvalItemWrite] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._writer = asyncio.create_task(self._write_loop())

    def add(self, row: EvalItemWrite) -> None:
        if self._writer.done():
            # The writer failed (its error is raised here, and again by ``close``).
            self._writer.result()
            raise RuntimeError("the ledger writer stopped")
        self._pending.append(row)
        if len(self._pending) >= BATCH_ROWS:
            self._wake.set()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Write what is pending and stop; raises the writer's error, if any.

        Shielded: a second cancellation while waiting leaves the last write running (it
        completes in its thread) instead of abandoning it half-way.
        """
        self._closing = True
        self._wake.set()
        await asyncio.shield(self._writer)

    async def _write_loop(self) -> None:
        while True:
            if not self._closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), BATCH_SECONDS)
                self._wake.clear()
            closing = self._closing
            if self._pending:
                batch, self._pending = self._pending, []
                await self._ledger.aio.call(self._ledger.record_eval_items, batch, now=self._now())
            if closing and not self._pending:
                return


def new_run_id() -> str:
    """A fresh run id (``--new``): drawn at random, so it never resumes another run."""
    return "ev" + uuid.uuid4().hex[:14]


async def set_run_status(ledger: Ledger, run_id: str, status: EvalRunStatus, now: int) -> None:
    await ledger.aio.call(ledger.set_eval_run_status, run_id, status, now=now)


async def open_run(
    ledger: Ledger,
    plan: RunPlan,
    now: int,
    *,
    data_path: str | os.PathLike[str],
    data_hash: str,
    models: Sequence[str],
    backends: Sequence[Backend],
    params: Mapping[str, Any],
    judge: str | None = None,
) -> None:
    """Mark a resumed run running again, or record the new one the plan announced."""
    if plan.resumed:
        await set_run_status(ledger, plan.run_id, "running", now)
        return
    await ledger.aio.call(
        ledger.create_eval_run,
        run_id=plan.run_id,
        data_path=data_path,
        data_hash=data_hash,
        models=models,
        backends=backends,
        judge=judge,
        params=params,
        now=now,
    )


@contextlib.asynccontextmanager
async def final_status(ledger: Ledger, run_id: str, now: Callable[[], int]) -> AsyncIterator[None]:
    """Marks the run completed when the block ends, cancelled or failed when it raises."""
    try:
        yield
    except asyncio.CancelledError:
        await set_run_status(ledger, run_id, "cancelled", now())
        raise
    except BaseException:
        await set_run_status(ledger, run_id, "failed", now())
        raise
    await set_run_status(ledger, run_id, "completed", now())


@dataclass
class RunCounts:
    asked: int = 0
    """Answers requested in this session."""
    failed: int = 0
    """Of those, how many failed after the client's retries."""
    judged: int = 0


class EvalRunner:
    def __init__(
        self,
        client: TunerClient | Callable[[], TunerClient],
        ledger: Ledger,
        *,
        openai_client: OpenAIClient | Callable[[], OpenAIClient] | None = None,
        now: Callable[[], float] = time.time,
        progress: Progress = NULL_PROGRESS,
        listener: Listener | None = None,
        timer: Callable[[], float] = time.monotonic,
        grace_s: float = DEFAULT_GRACE_S,
    ) -> None:
        """``client`` answers Mistral's models, ``openai_client`` OpenAI's (each may be given as
        a function that builds it: it is built only when a model of its provider is asked).
        ``now`` stamps ledger rows (UNIX seconds); ``timer`` measures latency."""
        self._mistral = MistralChat(client)
        self._chats: dict[Provider, ChatBackend] = {"mistral": self._mistral}
        if openai_client is not None:
            self._chats["openai"] = OpenAIChat(openai_client)
        self._ledger = ledger
        self._now = now
        self._progress = progress
        self._listener = listener
        self._timer = timer
        self._grace_s = grace_s

    # -- planning ----------------------------------------------------------------------

    def run_id_for(self, eval_set: EvalSet, options: EvalOptions) -> str:
        if options.run_id is not None:
            return options.run_id
        if options.new_run:
            return new_run_id()
        backends = self.backends(options)
        judge = self.judge_backend(options)
        if judge is not None and judge not in backends:
            # A judge on a server no model uses is part of the run's identity too (a judge
            # that moved to or from a sandbox makes another run); otherwise its server already is.
            backends = [*backends, judge]
        return stable_run_id(
            eval_set.data_hash, options.models, options.judge, options.params(), backends
        )

    def chat_for(self, model: str) -> tuple[ChatBackend, str]:
        """The provider that answers ``model`` and the id its server is sent."""
        ref = model_ref(model)
        chat = self._chats.get(ref.provider)
        if chat is None:
            raise EvalConfigError(
                f"{model} is a model of {ref.provider}, and this runner has no {ref.provider} "
                "client"
            )
        return chat, ref.name

    def backends(self, options: EvalOptions) -> list[Backend]:
        """Which backend answers each model: its provider's server."""
        return [self.chat_for(model)[0].origin() for model in options.models]

    def judge_backend(self, options: EvalOptions) -> Backend | None:
        return None if options.judge is None else self.chat_for(options.judge)[0].origin()

    async def learn_backend(self, options: EvalOptions | None = None) -> None:
        """Make sure each client the run uses knows whether its server is a sandbox (one cheap
        GET when nothing was asked yet): the run id and the SIMULATED mark depend on it.
        Without ``options``, only the Mistral client (the default provider)."""
        if options is None:
            await self._mistral.learn()
            return
        named = [*options.models, *([options.judge] if options.judge else [])]
        chats = {id(chat): chat for chat in (self.chat_for(model)[0] for model in named)}
        for chat in chats.values():
            await chat.learn()

    def plan(self, eval_set: EvalSet, options: EvalOptions, run_id: str | None = None) -> RunPlan:
        """What ``run`` would do: the run id, whether it resumes, how many answers are left.

        Await ``learn_backend`` first: the backends are part of the run's identity."""
        options.check()
        run_id = run_id or self.run_id_for(eval_set, options)
        existing = self._ledger.get_eval_run(run_id)
        if existing is not None:
            _check_resumable(
                existing, eval_set, options, self.backends(options), self.judge_backend(options)
            )
        records = self._ledger.eval_items(run_id) if existing is not None else []
        missing = _missing_answers(eval_set.items, options, records)
        total = len(eval_set.items) * len(options.models)
        return RunPlan(run_id, existing is not None, len(missing), total)

    # -- running -----------------------------------------------------------------------

    async def run(
        self, eval_set: EvalSet, options: EvalOptions, *, run_id: str | None = None
    ) -> RunOutcome:
        """Ask what is missing, score it, judge it, and record it; see the module docstring.

        ``run_id`` is the id a ``plan()`` call returned, so that a new run (whose id is drawn at
        random) is the one that was announced.
        """
        options.check()
        await self.learn_backend(options)
        run_id = run_id or self.run_id_for(eval_set, options)
        plan = await self._ledger.aio.call(self.plan, eval_set, options, run_id)
        await self._open(plan, eval_set, options)
        counts = RunCounts()
        async with final_status(self._ledger, plan.run_id, self._stamp):
            await self._answer_missing(plan.run_id, eval_set, options, counts)
            if options.judge is not None:
                await self._judge_missing(plan.run_id, eval_set, options, counts)
        return RunOutcome(plan.run_id, plan.resumed, counts.asked, counts.failed, counts.judged)

    async def _open(self, plan: RunPlan, eval_set: EvalSet, options: EvalOptions) -> None:
        await open_run(
            self._ledger,
            plan,
            self._stamp(),
            data_path=eval_set.path,
            data_hash=eval_set.data_hash,
            models=options.models,
            backends=self.backends(options),
            judge=options.judge,
            params=self._stored_params(options),
        )

    def _stored_params(self, options: EvalOptions) -> JsonDict:
        """The parameters the ledger keeps: the options' own, and the judge's backend (the
        ledger has one backend per model; the judge's verdicts need their origin too)."""
        judge = self.judge_backend(options)
        params = options.params()
        return params if judge is None else {**params, JUDGE_BACKEND: judge.to_json()}

    def _stamp(self) -> int:
        return int(self._now())

    def _emit(self, event: RunEvent) -> None:
        if self._listener is not None:
            self._listener(event)

    async def _answer_missing(
        self, run_id: str, eval_set: EvalSet, options: EvalOptions, counts: RunCounts
    ) -> None:
        records = await self._ledger.aio.call(self._ledger.eval_items, run_id)
        missing = _missing_answers(eval_set.items, options, records)
        by_index = {item.index: item for item in eval_set.items}
        self._progress.start("asking the models", total=len(missing), unit="answers")
        try:
            async with ItemRecorder(self._ledger, self._stamp) as recorder:
                jobs = (
                    self._answer_job(recorder, run_id, by_index[i], model, options, counts)
                    for i, model in missing
                )
                await self._drain(jobs, options.concurrency)
        finally:
            self._progress.finish()

    def _answer_job(
        self,
        recorder: ItemRecorder,
        run_id: str,
        item: EvalItem,
        model: str,
        options: EvalOptions,
        counts: RunCounts,
    ) -> Job:
        async def job() -> None:
            counts.asked += 1
            error = await self._answer(recorder, run_id, item, model, options)
            counts.failed += error is not None
            # The event first, so a progress bar that counts failures shows this one too.
            self._emit(AnswerRecorded(item.index, model, error))
            self._progress.advance()

        return job

    async def _answer(
        self, recorder: ItemRecorder, run_id: str, item: EvalItem, model: str, options: EvalOptions
    ) -> str | None:
        """Ask one model one item and record the result; the error text when it failed."""
        chat, name = self.chat_for(model)
        started = self._timer()
        try:
            completion = await chat.complete(
                model=name,
                messages=item.messages,
                tools=item.tools or None,
                temperature=options.temperature,
                max_tokens=options.max_tokens,
            )
            answer = answer_of(completion)
        except (APIError, ValueError) as exc:
            if isinstance(exc, APIError) and is_fatal(exc):
                raise
            message = one_line(str(exc)) or type(exc).__name__
            recorder.add(EvalItemWrite(run_id, item.index, model, item.prompt_hash, error=message))
            return message
        latency = self._timer() - started
        usage = completion.usage
        prompt_tokens = usage.prompt_tokens if usage else None
        completion_tokens = usage.completion_tokens if usage else None
        metrics: dict[str, float] = score_answer(answer, item.reference)
        cost = cost_usd(prompt_tokens, completion_tokens, options.prices.get(model))
        if cost is not None:
            metrics["cost_usd"] = cost
        scores: JsonDict = {
            "metrics": metrics,
            "tool_calls": [call.as_json() for call in answer.tool_calls],
            "finish_reason": completion.choices[0].finish_reason,
        }
        if options.embed_model is not None:
            similarity, problem = await self._similarity(options.embed_model, answer, item)
            if similarity is not None:
                metrics["embedding_cosine"] = similarity
            if problem is not None:
                scores["embedding_error"] = problem
        recorder.add(
            EvalItemWrite(
                run_id,
                item.index,
                model,
                item.prompt_hash,
                response_text=answer.rendered(),
                latency_s=latency,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                scores=scores,
            )
        )
        return None

    async def _similarity(
        self, embed_model: str, answer: Answer, item: EvalItem
    ) -> tuple[float | None, str | None]:
        """Cosine similarity of answer and reference embeddings; a failure is noted, and does
        not fail the answer, which is fine without it."""
        said, expected = answer.rendered(), item.reference.rendered()
        if not said.strip() or not expected.strip():
            # The API refuses empty inputs; two empty texts agree, one empty one does not.
            return (1.0 if said.strip() == expected.strip() else 0.0), None
        try:
            response = await self._mistral.client.embeddings.create(
                model=model_ref(embed_model).name, input=[said, expected]
            )
            vectors = sorted(response.data, key=lambda e: e.index)
            if len(vectors) != 2:
                raise ValueError(f"expected 2 embeddings, got {len(vectors)}")
            return cosine(_vector(vectors[0].embedding), _vector(vectors[1].embedding)), None
        except (APIError, ValueError) as exc:
            if isinstance(exc, APIError) and is_fatal(exc):
                raise
            return None, one_line(str(exc)) or type(exc).__name__

    # -- judging -----------------------------------------------------------------------

    async def _judge_missing(
        self, run_id: str, eval_set: EvalSet, options: EvalOptions, counts: RunCounts
    ) -> None:
        judge = options.judge
        assert judge is not None
        records = await self._ledger.aio.call(self._ledger.eval_items, run_id)
        pairs = _unjudged_pairs(eval_set.items, options.models, records)
        self._progress.start("judging", total=len(pairs), unit="pairs")
        try:
            async with ItemRecorder(self._ledger, self._stamp) as recorder:
                jobs = (
                    self._judge_job(recorder, run_id, judge, item, a, b, counts)
                    for item, a, b in pairs
                )
                await self._drain(jobs, options.concurrency)
        finally:
            self._progress.finish()

    def _judge_job(
        self,
        recorder: ItemRecorder,
        run_id: str,
        judge: str,
        item: EvalItem,
        candidate: EvalItemRecord,
        baseline: EvalItemRecord,
        counts: RunCounts,
    ) -> Job:
        async def job() -> None:
            verdict = await self._verdict(run_id, judge, item, candidate, baseline)
            recorder.add(
                EvalItemWrite(
                    run_id,
                    item.index,
                    candidate.model,
                    candidate.prompt_hash,
                    response_text=candidate.response_text,
                    latency_s=candidate.latency_s,
                    prompt_tokens=candidate.prompt_tokens,
                    completion_tokens=candidate.completion_tokens,
                    scores=candidate.scores,
                    error=candidate.error,
                    judge_verdict=verdict,
                )
            )
            counts.judged += 1
            self._emit(VerdictRecorded(item.index, verdict["status"]))
            self._progress.advance()

        return job

    async def _verdict(
        self,
        run_id: str,
        judge: str,
        item: EvalItem,
        candidate: EvalItemRecord,
        baseline: EvalItemRecord,
    ) -> JsonDict:
        """Ask the judge (once more if its answer does not parse) and describe the verdict."""
        candidate_is_a = candidate_first(run_id, item.index)
        first, second = (candidate, baseline) if candidate_is_a else (baseline, candidate)
        messages = judge_messages(item, first.response_text or "", second.response_text or "")
        verdict: JsonDict = {"judge": judge, "order": [first.model, second.model]}
        raw = ""
        chat, name = self.chat_for(judge)
        for attempt in range(1, JUDGE_ATTEMPTS + 1):
            verdict["attempts"] = attempt
            try:
                completion = await chat.complete(
                    model=name,
                    messages=messages,
                    temperature=0.0,
                    response_format={"type": "json_object"},
                )
                raw = answer_of(completion).text
            except (APIError, ValueError) as exc:
                if isinstance(exc, APIError) and is_fatal(exc):
                    raise
                return {**verdict, "status": "error", "error": one_line(str(exc))}
            parsed = parse_verdict(raw)
            if parsed is not None:
                outcome = outcome_for_candidate(parsed.winner, candidate_is_a=candidate_is_a)
                winner_model = {"A": first.model, "B": second.model}.get(parsed.winner, "tie")
                return {
                    **verdict,
                    "status": "ok",
                    "winner": parsed.winner,
                    "winner_model": winner_model,
                    "outcome": outcome,
                    "reason": parsed.reason,
                }
        return {**verdict, "status": "unparsed", "raw": one_line(raw)}

    # -- concurrency -------------------------------------------------------------------

    async def _drain(self, jobs: Iterable[Job], concurrency: int) -> None:
        """Run ``jobs`` at most ``concurrency`` at a time, stopping at the first unexpected error.

        Cancelled: start nothing new, let running jobs finish (see the module docstring), then
        re-raise. A second cancellation while waiting abandons them.
        """
        slots = asyncio.Semaphore(concurrency)
        running: set[asyncio.Task[None]] = set()
        crashed: list[BaseException] = []

        def done(task: asyncio.Task[None]) -> None:
            running.discard(task)
            slots.release()
            error = None if task.cancelled() else task.exception()
            if error is not None:
                crashed.append(error)

        try:
            for job in jobs:
                await slots.acquire()
                if crashed:
                    slots.release()
                    break
                task = asyncio.create_task(job())
                running.add(task)
                task.add_done_callback(done)
            if running:
                await asyncio.wait(set(running))
        except asyncio.CancelledError:
            await self._let_finish(running)
            raise
        if crashed:
            raise crashed[0]

    async def _let_finish(self, running: set[asyncio.Task[None]]) -> None:
        if not running:
            return
        try:
            await asyncio.wait(set(running), timeout=self._grace_s)
        finally:
            leftover = [task for task in running if not task.done()]
            for task in leftover:
                task.cancel()
            if leftover:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait(leftover)


def _check_resumable(
    run: EvalRunRecord,
    eval_set: EvalSet,
    options: EvalOptions,
    backends: Sequence[Backend],
    judge_backend: Backend | None = None,
) -> None:
    """A resumed run must be the same evaluation: same data, models, judge and parameters,
    each model (and the judge) answered by the same backend (never a sandbox's answers reused
    as real)."""
    problems = []
    then_judge = judge_backend_of(run)
    if judge_backend is not None and then_judge is not None and then_judge != judge_backend:
        problems.append(
            f"its judge was answered by {origin_text(then_judge)}, not {origin_text(judge_backend)}"
        )
    problems.extend(backend_changes(run, backends))
    if run.data_hash != eval_set.data_hash:
        problems.append("the eval file's content changed")
    if list(run.models) != list(options.models):
        problems.append(f"it evaluated {', '.join(run.models)}")
    if run.judge != options.judge:
        problems.append(f"its judge was {run.judge or 'none'}")
    stored = run.params or {}
    if {k: stored.get(k) for k in options.params()} != options.params():
        problems.append("its sampling parameters differ")
    if problems:
        raise EvalConfigError(
            f"run {run.run_id} cannot be resumed with these options: {'; '.join(problems)}"
        )


def backend_changes(run: EvalRunRecord, backends: Sequence[Backend]) -> list[str]:
    """Why the run's models cannot be resumed on ``backends``: one line per model whose
    backend moved (a sandbox's answers are never reused as real, nor the other way)."""
    return [
        f"{model} was answered by {origin_text(then)}, not {origin_text(now)}"
        for model, now, then in zip(run.models, backends, run.backends, strict=False)
        if (now.url, now.sandbox) != (then.url, then.sandbox)
    ]


def origin_text(backend: Backend) -> str:
    kind = {True: "the sandbox", False: "the API", None: "a backend"}[backend.sandbox]
    return f"{kind} at {backend.url or 'an unknown URL'}"


def reusable_answers(
    records: Sequence[EvalItemRecord], prompt_hashes: Mapping[int, str], retry_failed: bool
) -> set[tuple[int, str]]:
    """(item index, model) of the recorded answers a resumed run keeps: those recorded for
    the item's current prompt (a changed prompt is asked again), failures unless
    ``retry_failed``."""
    return {
        (r.item_index, r.model)
        for r in records
        if r.item_index in prompt_hashes
        and r.prompt_hash == prompt_hashes[r.item_index]
        and (r.error is None or not retry_failed)
    }


def _missing_answers(
    items: Sequence[EvalItem], options: EvalOptions, records: Sequence[EvalItemRecord]
) -> list[tuple[int, str]]:
    """(item index, model) pairs without a usable answer, in item then model order."""
    done = reusable_answers(
        records, {item.index: item.prompt_hash for item in items}, options.retry_failed
    )
    return [
        (item.index, model)
        for item in items
        for model in options.models
        if (item.index, model) not in done
    ]


def _unjudged_pairs(
    items: Sequence[EvalItem], models: Sequence[str], records: Sequence[EvalItemRecord]
) -> list[tuple[EvalItem, EvalItemRecord, EvalItemRecord]]:
    """Items where both models answered and the judge has not decided yet.

    A verdict that failed (the judge's API call) is asked again; an unparsed one is final, as
    it was already retried.
    """
    candidate, baseline = models
    found = {(r.item_index, r.model): r for r in records}
    pairs = []
    for item in items:
        mine, theirs = found.get((item.index, candidate)), found.get((item.index, baseline))
        if mine is None or theirs is None or mine.error is not None or theirs.error is not None:
            continue
        verdict = mine.judge_verdict
        if verdict is None or verdict.get("status") == "error":
            pairs.append((item, mine, theirs))
    return pairs
