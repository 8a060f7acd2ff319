"""The core service layer: what every entry point uses, built once from ``Settings``.

The CLI, the dashboard and the daemon all need the same things: an API client with the
configured keys, timeouts and retry policy; the ledger; an orchestrator that knows the W&B key
and the max-active limit; the daemon's schedule and notifiers; the job detail the screens and
``tuner jobs show`` display. Before this module each entry point wired its own copy, and the
dashboard's copies were weaker (no W&B key, no max-active, a job sync that did not record which
key owns a job). Harlequin builds its adapter from the command line, the config file and the
environment in one function and hands it to every entry point; this is that function for tuner.

A ``Services`` is cheap to build: the client and the ledger are created on first use (the
dashboard's first frame reads only the ledger; the client, with httpx, comes after), once, and
closed by ``aclose``/``close``. Tests inject a client, a ledger, a clock and a sleep.

No printing, no typer, no textual: entry points render what this returns.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr

from tuner.config import Settings
from tuner.jobs.ledger import Ledger, open_ledger
from tuner.jobs.records import Backend, JobRecord
from tuner.progress import NULL_PROGRESS, Progress

if TYPE_CHECKING:
    # tuner.api (httpx, the wire models) is imported when a client is first built, not when an
    # entry point starts: `tuner tui` and `tuner data` must not pay for it before they show
    # anything.
    from tuner.api import Job, TunerClient
    from tuner.api.openai import OpenAIClient
    from tuner.evals import EvalRunner
    from tuner.evals.classifier_runner import ClassifierRunner
    from tuner.evals.runner import Listener
    from tuner.jobs.daemon import Daemon, DaemonConfig, DrainQueue, Explain
    from tuner.jobs.detail import JobDetail
    from tuner.jobs.notifiers import Notifier
    from tuner.jobs.openai_create import Confirm as OpenAIConfirm
    from tuner.jobs.openai_create import OpenAICreator
    from tuner.jobs.openai_jobs import OpenAIJobs
    from tuner.jobs.orchestrator import Confirm, Orchestrator
    from tuner.jobs.watch import WatchFrame

T = TypeVar("T")
Clock = Callable[[], int]
Sleep = Callable[[float], Awaitable[None]]

WANDB_KEY_ENV = "WANDB_API_KEY"
MISTRAL = "mistral"
OPENAI = "openai"
_OPENAI_ID_PREFIX = "ftjob-"
DEFAULT_POLL_INTERVAL = 10.0


def job_provider_of(job_id: str, record: JobRecord | None) -> str:
    """A job's provider: as the ledger's ``record`` says when it has the job, else by the look
    of its id (OpenAI's ids start ``ftjob-``)."""
    if record is not None:
        return record.provider
    return OPENAI if job_id.startswith(_OPENAI_ID_PREFIX) else MISTRAL


def wall_seconds() -> int:
    """The wall clock in whole UNIX seconds (the ledger's unit)."""
    return int(time.time())


def wandb_key(environ: Mapping[str, str] | None = None) -> SecretStr | None:
    """The W&B key for job integrations, from ``WANDB_API_KEY`` (never from a spec file)."""
    value = (os.environ if environ is None else environ).get(WANDB_KEY_ENV, "").strip()
    return SecretStr(value) if value else None


# --------------------------------------------------------------------------- the daemon's plan


@dataclass(frozen=True)
class DaemonOptions:
    """The daemon's options as an entry point got them; None means "take the setting"."""

    interval: float | None = None
    idle_interval: float | None = None
    max_interval: float = 1800.0
    lease_ttl: int = 120
    webhook: str | None = None
    webhook_timeout: float = 10.0
    command: str | None = None
    command_timeout: float = 60.0
    max_active: int | None = None


@dataclass(frozen=True)
class DaemonPlan:
    """What the daemon runs with: its schedule, its notifiers and the queue's limit."""

    config: DaemonConfig
    notifiers: list[Notifier]
    max_active: int
    sources: dict[str, str] = field(default_factory=dict)
    """Where each notifier's target comes from ("setting webhook_url", "option --command"):
    what the ledger's registry records instead of the target (a webhook URL is a secret)."""


def plan_daemon(settings: Settings, options: DaemonOptions) -> DaemonPlan:
    """Options over settings (environment, then config file, then defaults).

    Raises ``ValueError`` (never showing a webhook URL) for an unusable value.
    """
    from tuner.jobs.daemon import DaemonConfig

    config = DaemonConfig(
        interval=_chosen(options.interval, settings.daemon_interval),
        idle_interval=_chosen(options.idle_interval, settings.daemon_idle_interval),
        max_interval=options.max_interval,
        lease_ttl=options.lease_ttl,
    )
    stored_url = settings.webhook_url
    webhook = _chosen(
        options.webhook, None if stored_url is None else stored_url.get_secret_value()
    )
    command = _chosen(options.command, settings.notify_command)
    notifiers = _notifiers(
        webhook,
        options.webhook_timeout,
        command,
        options.command_timeout,
        settings.notify_env,
    )
    sources = {"log": "built in"}
    if webhook:
        sources["webhook"] = "option --webhook" if options.webhook else "setting webhook_url"
    if command:
        sources["command"] = "option --command" if options.command else "setting notify_command"
    return DaemonPlan(
        config,
        notifiers,
        _chosen(options.max_active, settings.max_active_jobs),
        {n.name: sources[n.name] for n in notifiers if n.name in sources},
    )


def _chosen(option: T | None, setting: T) -> T:
    return setting if option is None else option


def _notifiers(
    webhook: str | None,
    webhook_timeout: float,
    command: str | None,
    command_timeout: float,
    command_env: Sequence[str] = (),
) -> list[Notifier]:
    from tuner.jobs.notifiers import CommandNotifier, LogNotifier, WebhookNotifier

    found: list[Notifier] = [LogNotifier()]
    if webhook:
        found.append(WebhookNotifier(webhook, timeout=webhook_timeout))
    if command:
        # The command's environment is allow-listed; notify_env names what it may see more.
        found.append(CommandNotifier(command, timeout=command_timeout, pass_env=command_env))
    return found


# --------------------------------------------------------------------------- the services


@dataclass(frozen=True)
class CancelOutcome:
    """What cancelling a job answered: its ledger state and the provider's own word."""

    provider: str
    id: str
    status: str
    provider_status: str
    origin: Backend
    """The server that answered (a sandbox's job is SIMULATED wherever it is shown)."""

    @property
    def shown_status(self) -> str:
        """The state, with the provider's own word beside it (OpenAI's, lower case)."""
        if self.provider_status == self.status:
            return self.status
        return f"{self.status} ({self.provider_status})"


class Services:
    """Client, ledger, orchestrator, daemon and shared views for one process.

    Build it with :meth:`from_settings` (entry points) or directly with an injected ``client``
    and ``ledger`` (tests, embedding). Every entry point takes what it needs from here and
    never builds its own copy.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client: TunerClient | None = None,
        client_factory: Callable[[], TunerClient] | None = None,
        ledger: Ledger | None = None,
        ledger_factory: Callable[[], Ledger] | None = None,
        clock: Clock = wall_seconds,
        sleep: Sleep = asyncio.sleep,
        environ: Mapping[str, str] | None = None,
        client_options: Mapping[str, Any] | None = None,
        openai_client: OpenAIClient | None = None,
        openai_client_factory: Callable[[], OpenAIClient] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self._environ = environ
        self._client_options = dict(client_options or {})
        self._client = client
        self._client_factory = client_factory
        self._ledger = ledger
        self._ledger_factory = ledger_factory
        self._owns_client = client is None
        self._openai_client = openai_client
        self._openai_client_factory = openai_client_factory
        self._owns_openai_client = openai_client is None
        self._owns_ledger = ledger is None
        self._lock = threading.Lock()
        self._cycle_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        notifiers: Sequence[str] = (),
        **options: Any,
    ) -> Services:
        """Services for ``settings``; ``notifiers`` are named to the ledger when it opens."""
        names = tuple(notifiers)
        return cls(settings, ledger_factory=lambda: open_ledger(notifiers=names), **options)

    # -- what the rest is built from ----------------------------------------------------------

    @property
    def backend(self) -> str:
        """The API URL, as the ledger keys files and jobs by it."""
        return self.settings.api_url

    @property
    def has_client(self) -> bool:
        """Whether the client exists yet (the dashboard builds it after its first frame)."""
        return self._client is not None

    @property
    def client(self) -> TunerClient:
        """The API client, built on first use (thread-safe: once, whoever asks first)."""
        client = self._client
        return client if client is not None else self._build_client()

    def _build_client(self) -> TunerClient:
        with self._lock:
            if self._client is None:
                if self._client_factory is not None:
                    self._client = self._client_factory()
                else:
                    from tuner.api import TunerClient

                    self._client = TunerClient.from_settings(self.settings, **self._client_options)
            return self._client

    # -- the second provider (OpenAI) ----------------------------------------------------------

    @property
    def openai_backend(self) -> str:
        """OpenAI's API URL (``OPENAI_BASE_URL``), as the ledger keys its files and jobs."""
        return self.settings.openai_base_url

    @property
    def has_openai(self) -> bool:
        """Whether OpenAI is configured: a client was given, or at least one key is set."""
        given = self._openai_client is not None or self._openai_client_factory is not None
        return given or bool(self.settings.openai_key_pool())

    @property
    def polls_mistral(self) -> bool:
        """Whether commands that cover every provider ask Mistral's API: when it has a key, or
        when no provider has one (so Mistral's missing-key error is what the user sees)."""
        return bool(self.settings.key_pool()) or not self.has_openai

    @property
    def openai_client(self) -> OpenAIClient:
        """The OpenAI client, built on first use like :attr:`client` (``ConfigError`` for an
        unusable ``OPENAI_BASE_URL``; a missing key fails on the first request, with a hint)."""
        client = self._openai_client
        if client is not None:
            return client
        with self._lock:
            if self._openai_client is None:
                if self._openai_client_factory is not None:
                    self._openai_client = self._openai_client_factory()
                else:
                    from tuner.api.openai import OpenAIClient

                    self._openai_client = OpenAIClient.from_settings(
                        self.settings, **self._client_options
                    )
            return self._openai_client

    def openai_origin(self) -> Backend:
        """Where OpenAI's results come from, as :meth:`origin` says for Mistral's."""
        client = self._openai_client
        return Backend(url=self.openai_backend, sandbox=client.is_sandbox if client else None)

    def openai_jobs(self, *, max_active: int | None = None) -> OpenAIJobs:
        """OpenAI's jobs over the OpenAI client and this ledger: recording, polling,
        cancelling and OpenAI's submission queue (``max_active`` overrides the setting)."""
        from tuner.jobs.openai_jobs import OpenAIJobs

        return OpenAIJobs(
            self.openai_client,
            self.ledger,
            backend=self.openai_backend,
            clock=self.clock,
            max_active=self.settings.max_active_jobs if max_active is None else max_active,
            cycle_lock=self.cycle_lock(),
        )

    def openai_creator(
        self,
        *,
        confirm: OpenAIConfirm | None = None,
        progress: Progress = NULL_PROGRESS,
        max_active: int | None = None,
    ) -> OpenAICreator:
        """Creates OpenAI jobs from specs (``confirm`` asked about the local estimate; default:
        refuse)."""
        from tuner.jobs.openai_create import OpenAICreator, refuse_all

        return OpenAICreator(
            self.openai_jobs(max_active=max_active),
            confirm=confirm or refuse_all,
            progress=progress,
        )

    @property
    def ledger(self) -> Ledger:
        """The ledger, opened on first use (``LedgerError`` when it cannot be)."""
        ledger = self._ledger
        if ledger is not None:
            return ledger
        with self._lock:
            if self._ledger is None:
                factory = self._ledger_factory or open_ledger
                self._ledger = factory()
            return self._ledger

    def origin(self) -> Backend:
        """Where this process's results come from: the API URL and, once the server has
        answered, whether it is a sandbox (None before that)."""
        sandbox = self._client.is_sandbox if self._client is not None else None
        return Backend(url=self.backend, sandbox=sandbox)

    def wandb_key(self) -> SecretStr | None:
        return wandb_key(self._environ)

    # -- jobs ---------------------------------------------------------------------------------

    def orchestrator(
        self,
        *,
        confirm: Confirm | None = None,
        progress: Progress = NULL_PROGRESS,
        max_active: int | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> Orchestrator:
        """The orchestrator over this client and ledger: the W&B key from the environment, the
        max-active limit from the settings (``max_active`` overrides it), ``confirm`` asked
        about costs (default: refuse)."""
        from tuner.jobs.orchestrator import Orchestrator, refuse_all

        return Orchestrator(
            self.client,
            self.ledger,
            clock=self.clock,
            sleep=self.sleep,
            confirm=confirm or refuse_all,
            progress=progress,
            backend=self.backend,
            wandb_key=self.wandb_key(),
            max_active=self.settings.max_active_jobs if max_active is None else max_active,
            poll_interval=poll_interval,
            cycle_lock=self.cycle_lock(),
        )

    def cycle_lock(self) -> asyncio.Lock | None:
        """One lock per event loop for the submission-queue cycles of this process: several
        creates (and the dashboard's own drain) take turns rather than finding the queue's
        lease busy. None outside a running loop (nothing to share there)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        with self._lock:
            lock = self._cycle_locks.get(loop)
            if lock is None:
                lock = self._cycle_locks[loop] = asyncio.Lock()
            return lock

    async def record_job(self, job: Job) -> None:
        """Record a job snapshot the way the orchestrator does (with the key that owns it)."""
        await self.orchestrator().submitter.record(job)

    async def refresh_job(self, job_id: str) -> Job:
        """The job as the API has it now, recorded in the ledger."""
        return await self.orchestrator().refresh(job_id)

    async def sync_jobs(self, **filters: Any) -> list[Job]:
        """Every job the API lists (all pages), each recorded in the ledger."""
        return await self.orchestrator().sync_jobs(**filters)

    # -- one job, whoever runs it -------------------------------------------------------------
    # The CLI's ``tuner jobs show/cancel/watch`` and the dashboard's actions go through these,
    # so a job reaches its own provider's API wherever it is acted on.

    async def job_provider(self, job_id: str) -> str:
        """The job's provider: as the ledger knows it, else by the look of its id (OpenAI's
        ids start ``ftjob-``)."""
        return job_provider_of(job_id, await self.ledger.aio.get_job(job_id))

    async def refresh_any(self, job_id: str) -> str:
        """Refresh the job from its own provider into the ledger (an OpenAI job with its new
        events and checkpoints); returns the provider."""
        provider = await self.job_provider(job_id)
        if provider == OPENAI:
            await self.openai_jobs().refresh(job_id)
        else:
            await self.refresh_job(job_id)
        return provider

    async def cancel_any(self, job_id: str) -> CancelOutcome:
        """Cancel the job at its provider and record what it answered."""
        if await self.job_provider(job_id) == OPENAI:
            changes = await self.openai_jobs().cancel(job_id)
            record = changes.job
            origin = Backend(url=record.backend, sandbox=record.sandbox)
            return CancelOutcome(OPENAI, record.id, record.status, record.provider_status, origin)
        job = await self.orchestrator().cancel(job_id)  # recorded by the orchestrator
        return CancelOutcome(MISTRAL, job.id, job.status, job.status, self.origin())

    async def watch_job(self, job_id: str, *, interval: float) -> AsyncIterator[WatchFrame]:
        """Each poll's view of the job (recorded in the ledger) until it ends, ``interval``
        seconds apart on this services' sleep: Mistral's through the orchestrator, OpenAI's
        through ``OpenAIJobs.refresh`` (status, events with metrics, checkpoints)."""
        from tuner.jobs.watch import ledger_frame, mistral_frame

        if await self.job_provider(job_id) != OPENAI:
            orchestrator = self.orchestrator(poll_interval=interval)
            async for job in orchestrator.watch(job_id, interval=interval):
                yield mistral_frame(job, backend=self.backend, sandbox=self.client.is_sandbox)
            return
        jobs = self.openai_jobs()
        while True:
            await jobs.refresh(job_id)
            detail = await self.ledger.aio.call(self.job_detail, job_id)
            if detail is None:  # refresh recorded it: only a ledger emptied meanwhile
                raise LookupError(f"job {job_id} is not in the ledger")
            frame = ledger_frame(detail)
            yield frame
            if frame.terminal:
                return
            await self.sleep(interval)

    def job_detail(self, job_id: str) -> JobDetail | None:
        """One job as the ledger holds it, for display (``None`` when it is not there)."""
        from tuner.jobs.detail import load_job_detail

        return load_job_detail(self.ledger, job_id)

    # -- evaluation ---------------------------------------------------------------------------

    def eval_runner(
        self, *, progress: Progress = NULL_PROGRESS, listener: Listener | None = None
    ) -> EvalRunner:
        """The evaluation runner over this ledger: Mistral's models through :attr:`client`,
        OpenAI's (``openai:…``, ``gpt-…``) through :attr:`openai_client`, each client built only
        when a model of its provider is asked."""
        from tuner.evals import EvalRunner

        return EvalRunner(
            lambda: self.client,
            self.ledger,
            openai_client=lambda: self.openai_client,
            now=self.clock,
            progress=progress,
            listener=listener,
        )

    def classifier_runner(self, *, progress: Progress = NULL_PROGRESS) -> ClassifierRunner:
        """The classifier evaluation runner over :attr:`client` and this ledger (a fine-tuned
        classifier through ``/v1/classifications``, chat baselines through Mistral's chat)."""
        from tuner.evals.classifier_runner import ClassifierRunner

        return ClassifierRunner(self.client, self.ledger, now=self.clock, progress=progress)

    # -- the daemon ---------------------------------------------------------------------------

    def drain_queue(self, max_active: int | None = None) -> DrainQueue:
        """The submission queue's drain, bound to this client, ledger and clock; the W&B key
        for queued specs with an integration comes from WANDB_API_KEY (never from the
        ledger)."""
        from tuner.jobs.daemon import queue_drainer

        return queue_drainer(
            self.client,
            self.ledger,
            backend=self.backend,
            clock=self.clock,
            max_active=self.settings.max_active_jobs if max_active is None else max_active,
            wandb_key=self.wandb_key(),
        )

    def daemon(self, plan: DaemonPlan, *, explain: Explain = str) -> Daemon:
        """The daemon over both providers; ``explain`` words a provider's failure for the log
        (the entry point's hint), ``str`` by default."""
        from tuner.jobs.daemon import Daemon

        return Daemon(
            self.client,
            self.ledger,
            plan.notifiers,
            plan.config,
            clock=self.clock,
            drain_queue=self.drain_queue(plan.max_active),
            notifier_sources=plan.sources,
            openai=self._daemon_openai(plan.max_active),
            explain=explain,
            mistral=self.polls_mistral,
        )

    def _daemon_openai(self, max_active: int) -> OpenAIJobs | None:
        """OpenAI's jobs for the daemon when OpenAI has a key; a misconfigured OpenAI (an
        unusable ``OPENAI_BASE_URL``) is one warning, and Mistral's jobs are still polled."""
        if not self.has_openai:
            return None
        from tuner.config import ConfigError

        try:
            return self.openai_jobs(max_active=max_active)
        except ConfigError as exc:
            logging.getLogger("tuner.jobs.daemon").warning("OpenAI is not polled: %s", exc)
            return None

    # -- closing ------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close what this object built (an injected client or ledger stays open)."""
        try:
            if self._owns_client and self._client is not None:
                await self._client.aclose()
            if self._owns_openai_client and self._openai_client is not None:
                await self._openai_client.aclose()
        finally:
            self.close_ledger()

    async def aclose_client(self) -> None:
        """Close the clients (Mistral's and OpenAI's), injected or built here (whoever was
        handed them is done with them)."""
        client, self._client = self._client, None
        openai, self._openai_client = self._openai_client, None
        try:
            if client is not None:
                await client.aclose()
        finally:
            if openai is not None:
                await openai.aclose()

    def close_ledger(self) -> None:
        """Close the ledger if this object opened it (again: nothing happens)."""
        if self._owns_ledger and self._ledger is not None:
            ledger, self._ledger = self._ledger, None
            ledger.close()
