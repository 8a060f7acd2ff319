"""The polling daemon: cycles driven by APScheduler, one active daemon per ledger, clean stops.

A cycle (``Daemon.run_cycle``):

1. takes or renews the ledger lease ``"daemon"`` (owner ``host:pid:uuid``); while another live
   daemon holds it, the cycle does nothing and says so in the log. Having taken it, the daemon
   registers its notifiers in the ledger (``Ledger.register_notifiers``), so every writer — the
   CLI and TUI too — creates outbox rows for them; a daemon waiting for the lease registers
   nothing, so it cannot switch off the notifiers of the one that runs;
2. polls the API into the ledger (``tuner.jobs.poller.poll_once``);
3. drains the submission queue (the ``drain_queue`` hook, when given);
4. when OpenAI is configured (``openai``), polls OpenAI's jobs into the same ledger and drains
   OpenAI's queue (``tuner.jobs.openai_jobs``). Each provider fails on its own: a provider that
   is down, or whose key is rejected, gets a one-line warning and the other is still polled
   (a rejected key stops the daemon only when no other provider is left). Each failure is kept
   as a ``ProviderFailure`` (provider, server, step, error), so the log line and the entry
   point's report name the server that failed and its settings, not always Mistral's;
5. delivers due notifications (``tuner.jobs.notifiers.deliver_pending``), whichever provider's
   transitions made them.

The next cycle comes after ``interval`` seconds while jobs are active or queued and after
``idle_interval`` when nothing is; after a 429 or a failed poll the wait doubles with each
failed cycle in a row (up to ``max_interval``, and at least the server's ``Retry-After``).

The lease expires ``lease_ttl`` seconds after its last renewal; a separate scheduler job renews
it every third of that, so a long idle interval does not let it lapse. A daemon killed with
SIGKILL leaves its lease behind: another host waits for it to expire, but a daemon restarted on
the same host sees that the owner's process is gone and takes the lease over at once.

Every ledger call goes through ``ledger.aio`` (the ledger's worker thread), so a slow database
never holds the loop, its scheduler or the signal handling.

Stopping: the signal handler only sets an event (``run_until_stopped``); the main flow then
pauses the scheduler, gives the cycle in hand ``stop_grace`` seconds to finish the step it is
in (a cycle checks the event between steps and between notifications), cancels it if needed,
shuts the scheduler down and releases the lease. Shutting a scheduler down inside a signal
handler or inside one of its own jobs is a known failure, hence this order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from pydantic import SecretStr

from tuner.api import APIError, APIStatusError, AuthenticationError, RateLimitError, TunerClient
from tuner.datasets.providers import PROVIDER_NAMES
from tuner.jobs.ledger import Ledger, LedgerError
from tuner.jobs.liveness import describe_holder, make_owner, take_lease
from tuner.jobs.notifiers import (
    NOTHING_DELIVERED,
    Backoff,
    DeliveryResult,
    Notifier,
    deliver_pending,
)
from tuner.jobs.openai_jobs import OpenAICycle, OpenAIJobs, OpenAIPoll
from tuner.jobs.poller import (
    DETAIL_CONCURRENCY,
    LIST_PAGE_SIZE,
    CycleResult,
    poll_once,
)
from tuner.jobs.records import LeaseRecord
from tuner.jobs.submit import DEFAULT_MAX_ACTIVE, drain_queue
from tuner.jobs.submit import CycleReport as QueueReport

logger = logging.getLogger("tuner.jobs.daemon")

LEASE_NAME = "daemon"
CYCLE_JOB_ID = "tuner-daemon-cycle"
LEASE_JOB_ID = "tuner-daemon-lease"


@dataclass(frozen=True, slots=True)
class ProviderFailure:
    """An API error that survived the client's retries, with whose server raised it: the
    error alone cannot say (both providers' clients raise the same classes), and a report
    that names the wrong server or setting sends the user to fix the wrong one."""

    provider: str
    """``"mistral"`` or ``"openai"``."""
    backend: str
    """That provider's API URL (``TUNER_API_URL``, ``OPENAI_BASE_URL``)."""
    action: str
    """What failed: ``"polling"`` or ``"submitting queued jobs"``."""
    error: APIError

    @property
    def label(self) -> str:
        return PROVIDER_NAMES.get(self.provider, self.provider)

    def __str__(self) -> str:
        return f"{self.label}: {self.action} failed ({self.backend}): {self.error}"


Explain = Callable[[ProviderFailure], str]
"""How a failure reads in the log (the CLI adds its hint); ``str`` when not given."""

DrainQueue = Callable[[], Awaitable[QueueReport]]
"""Submits queued job specs; returns the queue cycle's report (see ``queue_drainer``)."""


def queue_drainer(
    client: TunerClient,
    ledger: Ledger,
    *,
    backend: str,
    clock: Callable[[], int],
    max_active: int = DEFAULT_MAX_ACTIVE,
    wandb_key: SecretStr | None = None,
) -> DrainQueue:
    """``tuner.jobs.submit.drain_queue`` bound to this daemon's client and ledger.

    ``refresh=False``: the cycle has just polled the active jobs, so the submitter need not
    fetch them again before counting them against ``max_active``.
    """

    async def drain() -> QueueReport:
        return await drain_queue(
            client,
            ledger,
            backend=backend,
            clock=clock,
            max_active=max_active,
            wandb_key=wandb_key,
            refresh=False,
        )

    return drain


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    """Seconds unless said otherwise."""

    interval: float = 30.0
    """Between cycles while jobs are active (or submissions queued)."""
    idle_interval: float = 300.0
    """Between cycles when no job is active."""
    max_interval: float = 1800.0
    """The longest wait after repeated 429s or failures."""
    lease_ttl: int = 120
    """How long the lease outlives its last renewal (a crashed daemon's lease frees then)."""
    stop_grace: float = 2.0
    """How long a stop waits for the cycle in hand before cancelling it (stops take < 5 s)."""
    misfire_grace_time: int = 300
    """APScheduler: a cycle up to this late still runs (its default of 1 s drops runs after
    any pause, e.g. a laptop waking up)."""
    page_size: int = LIST_PAGE_SIZE
    detail_concurrency: int = DETAIL_CONCURRENCY
    notification_limit: int = 200
    """Outbox rows looked at per notifier and cycle."""
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        for name in ("interval", "idle_interval", "max_interval", "stop_grace"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.lease_ttl < 3:
            raise ValueError("lease_ttl must be at least 3 seconds")

    @property
    def lease_renewal(self) -> float:
        return self.lease_ttl / 3

    def job_defaults(self) -> dict[str, Any]:
        """Explicit, so no library default decides: one cycle at a time, missed runs merged."""
        return {
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": self.misfire_grace_time,
        }


@dataclass(frozen=True, slots=True)
class CycleReport:
    ran: bool
    """False when another daemon held the lease and this cycle did nothing."""
    holder: str | None = None
    """Who held the lease when ``ran`` is False."""
    holder_expires_at: int | None = None
    poll: CycleResult | None = None
    error: APIError | None = None
    """Why Mistral's poll (or queue drain) failed, after the client's retries."""
    failures: tuple[ProviderFailure, ...] = ()
    """Every provider's API failure of this cycle (Mistral's first), each with its server."""
    submitted: int = 0
    queued: int = 0
    """Submissions still waiting in the queue after the drain."""
    queue_holder: str | None = None
    """Who held the submission queue (``host:pid``) when this cycle could not drain it."""
    queue_holder_expires_at: int | None = None
    delivery: DeliveryResult = NOTHING_DELIVERED
    interrupted: bool = False
    """A stop cancelled the cycle before it finished (``run_once``)."""
    openai: OpenAIPoll | None = None
    """OpenAI's poll, when OpenAI is configured and answered."""
    openai_error: str | None = None
    """Why OpenAI's poll or queue failed (one line), when it did."""
    openai_queue_holder: str | None = None
    """Who held OpenAI's submission queue (``host:pid``) when this cycle could not drain it."""
    openai_queue_holder_expires_at: int | None = None
    openai_queued: int = 0
    """OpenAI's submissions still waiting (they are counted in ``queued`` too)."""

    @property
    def busy(self) -> bool:
        """Whether something is in motion, so the next cycle should come soon."""
        active = self.poll is not None and (self.poll.active > 0 or bool(self.poll.left))
        openai_active = self.openai is not None and self.openai.active > 0
        return active or openai_active or self.submitted > 0 or self.queued > 0

    @property
    def rate_limited(self) -> bool:
        met_429 = self.poll is not None and self.poll.rate_limited > 0
        return met_429 or isinstance(self.error, RateLimitError)


def next_delay(
    config: DaemonConfig, report: CycleReport | None, *, failures: int, busy: bool
) -> float:
    """Seconds until the next cycle.

    ``busy``: whether jobs were active at the last successful look (a failed cycle cannot
    tell). ``failures``: failed cycles in a row, this one included (a cycle that raised leaves
    ``report`` None). A failure stretches the wait it would have had, never shortens it.
    """
    if report is not None and not report.ran:
        # Another daemon has the lease: ask again after a normal interval.
        return config.interval
    base = config.interval if busy else config.idle_interval
    if failures == 0:
        return base
    stretched = base * 2.0**failures
    return min(config.max_interval, max(stretched, _advised_wait(report)))


def _advised_wait(report: CycleReport | None) -> float:
    """The longest ``Retry-After`` (in seconds) the server gave during the cycle, or 0."""
    if report is None:
        return 0.0
    waits = [0.0]
    if report.poll is not None and report.poll.retry_after is not None:
        waits.append(report.poll.retry_after)
    if isinstance(report.error, APIStatusError) and report.error.retry_after is not None:
        # Past the client's cap the call gave up instead of waiting: the cycle waits instead.
        waits.append(report.error.retry_after)
    return max(waits)


def _failed(report: CycleReport | None) -> bool:
    return report is None or report.error is not None or report.rate_limited


class Daemon:
    """One daemon: the cycle, the lease, and (``run``) the scheduler that repeats the cycle."""

    def __init__(
        self,
        client: TunerClient,
        ledger: Ledger,
        notifiers: Sequence[Notifier],
        config: DaemonConfig | None = None,
        *,
        drain_queue: DrainQueue | None = None,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
        notifier_sources: Mapping[str, str] | None = None,
        openai: OpenAIJobs | None = None,
        explain: Explain = str,
        mistral: bool = True,
    ) -> None:
        """``clock`` gives UNIX seconds for the ledger (tests pass a fake one);
        ``notifier_sources`` says where each notifier's target comes from (recorded in the
        registry; never the target itself); ``openai``: OpenAI's jobs, polled and queued too;
        ``explain``: how a provider's failure reads in the log (an entry point adds its hint);
        ``mistral=False``: leave Mistral's API alone (it has no key and OpenAI has one), unless
        there is no ``openai`` to poll instead."""
        self._client = client
        self._mistral = mistral or openai is None
        self._openai = openai
        self._explain = explain
        self._rejected: set[str] = set()
        """Providers whose every key was rejected (a rejected key leaves the pool for good)."""
        self._ledger = ledger
        self._notifiers = tuple(notifiers)
        self._notifier_sources = dict(notifier_sources or {})
        self._config = config or DaemonConfig()
        self._drain_queue = drain_queue
        self._clock = clock
        self.owner = owner or make_owner()
        self._holding = False
        self._registered = False
        """Whether this daemon's notifiers were registered since it last took the lease."""
        self._waiting_logged_for: str | None = None
        self._stop = asyncio.Event()
        self._scheduler: AsyncIOScheduler | None = None
        self._cycle_task: asyncio.Task[Any] | None = None
        self._failures = 0
        self._busy = True  # until a poll says otherwise: a fresh start looks soon
        self.current_interval: float | None = None
        """Seconds until the next cycle, as last scheduled (for logs and tests)."""
        self.fatal: ProviderFailure | None = None
        """A failure no retry can fix (every provider's keys rejected); ``run`` stops on it."""
        self.cycles = 0
        self.last_report: CycleReport | None = None

    @property
    def config(self) -> DaemonConfig:
        return self._config

    @property
    def backend(self) -> str:
        return self._client.base_url

    @property
    def providers(self) -> dict[str, str]:
        """Each provider this daemon polls, with its API URL."""
        found = {"mistral": self.backend} if self._mistral else {}
        if self._openai is not None:
            found["openai"] = self._openai.backend
        return found

    def stop(self) -> None:
        """Ask ``run`` to stop (safe from a signal handler: it only sets an event)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _now(self) -> int:
        return int(self._clock())

    # -- the lease ----------------------------------------------------------------------------

    async def take_lease(self) -> bool:
        """Take or renew the lease; False (logged once per holder) while someone else has it."""
        now = self._now()
        outcome = await self._ledger.aio.call(
            take_lease, self._ledger, LEASE_NAME, self.owner, self._config.lease_ttl, now
        )
        if outcome.took_over_from is not None:
            logger.warning(
                "the daemon lease was held by %s, a process on this host that is gone; "
                "took it over",
                outcome.took_over_from,
            )
        taken, holder = outcome.taken, outcome.holder
        if taken:
            if not self._holding:
                logger.info("took the daemon lease as %s", self.owner)
            self._holding = True
            self._waiting_logged_for = None
            return True
        self._lost_lease()
        if holder is not None and self._waiting_logged_for != holder.owner:
            logger.info(
                "another daemon holds the lease (%s, until %s); waiting",
                holder.owner,
                datetime.fromtimestamp(holder.expires_at, UTC).isoformat(),
            )
            self._waiting_logged_for = holder.owner
        return False

    def _lost_lease(self) -> None:
        self._holding = False
        # Whoever holds the lease meanwhile may register other notifiers: register again.
        self._registered = False

    async def register_notifiers(self) -> None:
        """Register this daemon's notifiers in the ledger unless done since the lease was taken
        (called by the cycle once it holds the lease, before polling). Registered notifiers this
        run does not have stay registered: their notifications wait for a daemon that has them,
        and the log says so once per lease."""
        if self._registered:
            return
        names = [notifier.name for notifier in self._notifiers]
        await self._ledger.aio.register_notifiers(
            names, now=self._now(), sources=self._notifier_sources
        )
        self._registered = True
        logger.info("notifiers registered in the ledger: %s", ", ".join(names) or "none")
        registered = await self._ledger.aio.registered_notifiers()
        missing = [name for name in registered if name not in names]
        if missing:
            logger.warning(
                "registered but not configured in this run, so their notifications wait until "
                "a daemon runs with them: %s (remove one with `tuner daemon notifiers remove "
                "NAME`)",
                ", ".join(missing),
            )

    async def _acquire(self, now: int) -> bool:
        return await self._ledger.aio.acquire_lease(
            LEASE_NAME, self.owner, self._config.lease_ttl, now
        )

    async def release_lease(self) -> None:
        if self._holding:
            self._lost_lease()
            with contextlib.suppress(LedgerError):
                await self._ledger.aio.release_lease(LEASE_NAME, self.owner)
            logger.info("released the daemon lease")

    async def _renew_lease(self) -> None:
        """The scheduler's lease job: renew between cycles so a long interval never lets the
        lease lapse. A daemon that does not hold it leaves taking it to the next cycle."""
        if not self._holding or self.stopping:
            return
        try:
            renewed = await self._acquire(self._now())
        except LedgerError as exc:
            logger.warning("could not renew the daemon lease: %s", exc)
            return
        if not renewed:
            logger.warning("lost the daemon lease (it lapsed and another daemon took it)")
            self._lost_lease()

    # -- one cycle ----------------------------------------------------------------------------

    async def run_cycle(self) -> CycleReport:
        """Lease, poll, drain the queue, deliver notifications (see the module doc)."""
        if not await self.take_lease():
            holder = await self._ledger.aio.lease_holder(LEASE_NAME, self._now())
            return CycleReport(
                ran=False,
                holder=None if holder is None else holder.owner,
                holder_expires_at=None if holder is None else holder.expires_at,
            )
        await self.register_notifiers()
        failures: list[ProviderFailure] = []
        poll: CycleResult | None = None
        error: APIError | None = None
        if self._mistral:
            poll, error = await self._poll(failures)
        queue: QueueReport | None = None
        if self._mistral and error is None and not self.stopping:
            queue, error = await self._drain(failures)
        holder = None if queue is None else queue.holder
        openai_poll, openai_error, openai_holder = await self._openai_cycle(failures)
        delivery = NOTHING_DELIVERED
        if not self.stopping and await self.take_lease():
            delivery = await deliver_pending(
                self._ledger,
                self._notifiers,
                now=self._now,
                backoff=self._config.backoff,
                limit=self._config.notification_limit,
                should_stop=lambda: self.stopping,
            )
        report = CycleReport(
            ran=True,
            poll=poll,
            error=error,
            failures=tuple(failures),
            submitted=0 if queue is None else len(queue.created),
            queued=len(await self._ledger.aio.entries_in_state("pending")),
            queue_holder=None if holder is None else describe_holder(holder),
            queue_holder_expires_at=None if holder is None else holder.expires_at,
            delivery=delivery,
            openai=openai_poll,
            openai_error=openai_error,
            openai_queue_holder=None if openai_holder is None else describe_holder(openai_holder),
            openai_queue_holder_expires_at=(
                None if openai_holder is None else openai_holder.expires_at
            ),
            openai_queued=len(
                await self._ledger.aio.entries_in_state("pending", provider="openai")
            ),
        )
        # The end of a completed cycle: dashboards show it as "the daemon last polled".
        await self._ledger.aio.record_heartbeat(LEASE_NAME, self._now())
        self.cycles += 1
        self.last_report = report
        return report

    async def _poll(
        self, failures: list[ProviderFailure]
    ) -> tuple[CycleResult | None, APIError | None]:
        try:
            result = await poll_once(
                self._client,
                self._ledger,
                backend=self.backend,
                now=self._now(),
                page_size=self._config.page_size,
                concurrency=self._config.detail_concurrency,
            )
        except APIError as error:
            self._failed("mistral", self.backend, "polling", error, failures)
            return None, error
        return result, None

    async def _drain(
        self, failures: list[ProviderFailure]
    ) -> tuple[QueueReport | None, APIError | None]:
        if self._drain_queue is None:
            return None, None
        try:
            return await self._drain_queue(), None
        except APIError as error:
            self._failed("mistral", self.backend, "submitting queued jobs", error, failures)
            return None, error
        except LedgerError:
            raise
        except Exception:
            # A queued spec the submitter chokes on must not stop polling and notifying.
            logger.exception("submitting queued jobs failed unexpectedly")
            return None, None

    async def _openai_cycle(
        self, failures: list[ProviderFailure]
    ) -> tuple[OpenAIPoll | None, str | None, LeaseRecord | None]:
        """Poll OpenAI's jobs and drain its queue; any failure is one warning line, never the
        end of the cycle (Mistral's jobs and the notifications still go on). Also returns who
        holds OpenAI's queue when it could not be drained."""
        openai = self._openai
        if openai is None or self.stopping:
            return None, None, None
        action = "polling"
        try:
            polled = await openai.poll()
            action = "submitting queued jobs"
            queue: OpenAICycle = await openai.cycle(refresh=False)
        except APIError as error:
            failure = self._failed("openai", openai.backend, action, error, failures)
            return None, str(failure).splitlines()[0], None
        except Exception as error:  # a misconfigured provider must not stop the others
            if isinstance(error, LedgerError):
                raise
            line = f"OpenAI: {type(error).__name__}: {error}"
        else:
            for problem in queue.errors:
                logger.warning("OpenAI queue: %s", problem)
            if queue.busy and queue.holder is not None:
                logger.warning(
                    "the OpenAI submission queue is held by %s until %s; its entries wait",
                    describe_holder(queue.holder),
                    datetime.fromtimestamp(queue.holder.expires_at, UTC).isoformat(),
                )
            return polled, None, queue.holder if queue.busy else None
        logger.warning("%s (Mistral still polled)", line.splitlines()[0])
        return None, line.splitlines()[0], None

    def _failed(
        self,
        provider: str,
        backend: str,
        action: str,
        error: APIError,
        failures: list[ProviderFailure],
    ) -> ProviderFailure:
        """Log one provider's failure (naming its server, as ``explain`` words it), add it to
        the cycle's ``failures`` and stop when no provider is left whose keys are accepted."""
        failure = ProviderFailure(provider, backend, action, error)
        failures.append(failure)
        if isinstance(error, AuthenticationError):
            self._rejected.add(provider)
        left = [PROVIDER_NAMES[p] for p in self.providers if p not in self._rejected]
        others = [label for label in left if label != failure.label]
        note = f" ({', '.join(others)} still polled)" if others else ""
        logger.warning("%s%s", self._explain(failure), note)
        if not isinstance(error, AuthenticationError):
            return failure
        if left:
            # This provider's keys are rejected, but the others' jobs are still worth polling.
            logger.warning(
                "%s: every API key was rejected; polling %s only", failure.label, ", ".join(left)
            )
        else:
            # Every key was rejected: no later cycle can succeed until the configuration changes.
            self.fatal = failure
            self.stop()
        return failure

    # -- the scheduler ------------------------------------------------------------------------

    async def run(self) -> None:
        """Run cycles until ``stop()``; the first one at once. Releases the lease on the way
        out. Raises nothing for API failures (they are logged and retried later)."""
        scheduler = AsyncIOScheduler(job_defaults=self._config.job_defaults(), timezone=UTC)
        self._scheduler = scheduler
        scheduler.add_job(
            self._scheduled_cycle,
            "interval",
            seconds=self._config.interval,
            id=CYCLE_JOB_ID,
            name="tuner daemon cycle",
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )
        scheduler.add_job(
            self._renew_lease,
            "interval",
            seconds=self._config.lease_renewal,
            id=LEASE_JOB_ID,
            name="tuner daemon lease",
            replace_existing=True,
        )
        scheduler.start()
        logger.info(
            "daemon started (%s): every %g s while jobs are active, %g s when idle",
            ", ".join(f"{PROVIDER_NAMES[p]} {url}" for p, url in self.providers.items()),
            self._config.interval,
            self._config.idle_interval,
        )
        try:
            await self._stop.wait()
        finally:
            await self._shut_down(scheduler)

    async def _scheduled_cycle(self) -> None:
        self._cycle_task = asyncio.current_task()
        # The cycle job waits while a cycle runs and is rescheduled when it ends, so cycles
        # never overlap and a slow one never makes the scheduler skip (and warn about) a run.
        self._hold_next_cycle()
        report: CycleReport | None = None
        try:
            report = await self.run_cycle()
        except asyncio.CancelledError:
            # Only a stop cancels a cycle; the task ends here either way.
            logger.info("the cycle in hand was cancelled by the stop")
            return
        except LedgerError as exc:
            logger.error("the cycle failed on the ledger: %s", exc)
        except Exception:
            # A bug in one cycle must not end the daemon: log it, back off, try again.
            logger.exception("the cycle failed")
        finally:
            self._cycle_task = None
        self._failures = self._failures + 1 if _failed(report) else 0
        if report is not None and report.ran and self._looked(report):
            self._busy = report.busy
        delay = next_delay(self._config, report, failures=self._failures, busy=self._busy)
        self._reschedule(delay)

    def _looked(self, report: CycleReport) -> bool:
        """Whether the cycle saw the jobs it follows (a failed poll cannot say if any is
        active): Mistral's poll, or OpenAI's when Mistral is left alone."""
        return report.poll is not None if self._mistral else report.openai is not None

    def _hold_next_cycle(self) -> None:
        scheduler = self._scheduler
        if scheduler is not None and scheduler.running:
            scheduler.modify_job(CYCLE_JOB_ID, next_run_time=None)

    def _reschedule(self, delay: float) -> None:
        scheduler = self._scheduler
        if scheduler is None or self.stopping or not scheduler.running:
            return
        scheduler.reschedule_job(CYCLE_JOB_ID, trigger="interval", seconds=delay)
        self.current_interval = delay
        logger.debug("next cycle in %.1f s", delay)

    async def _shut_down(self, scheduler: AsyncIOScheduler) -> None:
        if scheduler.running:
            scheduler.pause()
        await self._finish_cycle()
        if scheduler.running:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # the asyncio scheduler shuts down on the next loop turn
        self._scheduler = None
        await self.release_lease()
        logger.info("daemon stopped after %d cycle(s)", self.cycles)

    async def _finish_cycle(self) -> None:
        task = self._cycle_task
        if task is None or task.done():
            return
        done, _ = await asyncio.wait({task}, timeout=self._config.stop_grace)
        if not done:
            logger.warning(
                "the cycle did not finish within %g s of the stop; cancelling it",
                self._config.stop_grace,
            )
            task.cancel()
            await asyncio.wait({task})

    async def run_once(self) -> CycleReport:
        """One cycle (for cron or a systemd timer), then the lease is released. A stop during
        the cycle gets the same grace as in ``run``; a cycle cut short says ``interrupted``."""
        task = asyncio.ensure_future(self.run_cycle())
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                done, _ = await asyncio.wait({task}, timeout=self._config.stop_grace)
                if not done:
                    task.cancel()
                    await asyncio.wait({task})
            if task.cancelled():
                return CycleReport(ran=True, interrupted=True)
            return task.result()
        finally:
            stopper.cancel()
            await self.release_lease()


@contextlib.contextmanager
def stop_on_signals(
    daemon: Daemon, signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT)
) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT only set the daemon's stop event (asyncio handlers;
    call from a coroutine running in the main thread)."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    try:
        for sig in signals:
            loop.add_signal_handler(sig, daemon.stop)
            installed.append(sig)
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def run_until_stopped(daemon: Daemon, *, once: bool = False) -> CycleReport | None:
    """``daemon.run()`` (or ``run_once()``) with SIGTERM/SIGINT wired to a clean stop."""
    with stop_on_signals(daemon):
        if once:
            return await daemon.run_once()
        await daemon.run()
        return daemon.last_report
