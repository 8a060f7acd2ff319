"""One poll of the fine-tuning API into the ledger: what changed since the last look.

The cost of a poll grows with the *active* jobs, not with all jobs an account ever ran:

1. list each active status with the ``status=`` filter (the API takes one status per call),
   100 jobs a page: ``max(1, ceil(n / 100))`` list requests for ``n`` jobs in that status;
2. GET the details (events, checkpoints) only of jobs whose ``(status, modified_at)`` differs
   from the ledger's, or that the ledger does not know yet;
3. GET once each job the ledger still holds as active but that no list showed: it has left the
   active statuses (finished, failed, cancelled) since the last poll.

Each detail is recorded with ``Ledger.apply_snapshot``: one transaction per job, idempotent, so
a poll that dies half-way is simply completed by the next one. Every ledger call goes through
``ledger.aio``, off the event loop: the loop (the dashboard's) never waits on the database.

The platform does not move ``modified_at`` when a running job reports a checkpoint (neither does
the sandbox), so checkpoints of a running job are recorded when its status next changes; the
dashboard's live refresh shows them sooner.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from tuner.api import APIError, APIStatusError, Job, NotFoundError, TunerClient
from tuner.jobs.ledger import Instant, Ledger
from tuner.jobs.records import JobRecord, SnapshotChanges

logger = logging.getLogger("tuner.jobs.poller")

ACTIVE_STATUSES: tuple[str, ...] = (
    "QUEUED",
    "VALIDATING",
    "VALIDATED",
    "RUNNING",
    "CANCELLATION_REQUESTED",
    "STARTED",
)
"""Every status a job can leave again; the terminal ones are never polled."""

LIST_PAGE_SIZE = 100
DETAIL_CONCURRENCY = 8
"""Detail GETs in flight at once: enough to hide latency, few enough not to trip rate limits."""


@dataclass(frozen=True, slots=True)
class CycleResult:
    """What one poll did: requests sent, jobs seen, and what the ledger gained."""

    listed: Mapping[str, int]
    """Jobs listed per status queried (0 included)."""
    page_size: int
    list_requests: int
    """HTTP requests the listing took (retries included)."""
    detail_requests: int
    """HTTP requests the detail GETs took (retries included)."""
    changed: tuple[str, ...]
    """Listed jobs fetched because they were new or their status or ``modified_at`` moved."""
    left: tuple[str, ...]
    """Jobs the ledger held as active that no active list showed any more."""
    missing: tuple[str, ...] = ()
    """Jobs the API answered 404 for (deleted, or from another workspace)."""
    failed: tuple[str, ...] = ()
    """Jobs whose detail GET failed; the next poll tries them again."""
    transitions: int = 0
    checkpoints: int = 0
    events: int = 0
    notifications: int = 0
    rate_limited: int = 0
    """429 answers met during the poll (the daemon stretches its interval on them)."""
    retry_after: float | None = None
    """The longest wait (``Retry-After``, in seconds) a failed detail GET was told, if any."""
    elapsed: float = 0.0
    """Seconds the poll took (monotonic clock)."""
    snapshots: tuple[SnapshotChanges, ...] = field(default=(), repr=False)

    @property
    def active(self) -> int:
        return sum(self.listed.values())

    @property
    def requests(self) -> int:
        return self.list_requests + self.detail_requests

    @property
    def list_bound(self) -> int:
        """The most list requests the listing should take: one page per ``page_size`` jobs
        of each status, and one (empty) page for a status with no job."""
        return sum(max(1, math.ceil(n / self.page_size)) for n in self.listed.values())

    @property
    def detail_bound(self) -> int:
        """One detail request per job that changed or left the active statuses."""
        return len(self.changed) + len(self.left)

    @property
    def request_bound(self) -> int:
        return self.list_bound + self.detail_bound


@dataclass(slots=True)
class SnapshotTally:
    """What applying snapshots added, summed over the jobs of one poll (any provider's)."""

    transitions: int = 0
    checkpoints: int = 0
    events: int = 0
    notifications: int = 0
    snapshots: list[SnapshotChanges] = field(default_factory=list)

    def add(self, changes: SnapshotChanges) -> None:
        self.transitions += len(changes.transitions)
        self.checkpoints += len(changes.checkpoints)
        self.events += len(changes.events)
        self.notifications += len(changes.notifications)
        self.snapshots.append(changes)


@dataclass(slots=True)
class _Details:
    """The outcome of a batch of detail GETs."""

    tally: SnapshotTally = field(default_factory=SnapshotTally)
    missing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retry_after: float | None = None


async def poll_once(
    client: TunerClient,
    ledger: Ledger,
    *,
    backend: str,
    now: Instant,
    statuses: Iterable[str] = ACTIVE_STATUSES,
    page_size: int = LIST_PAGE_SIZE,
    concurrency: int = DETAIL_CONCURRENCY,
) -> CycleResult:
    """List the active jobs, fetch what changed, record it in the ledger (see module doc).

    Raises the client's ``APIError`` when a listing fails (after the client's retries): without
    the full listing no job can be judged gone. A failed detail GET does not raise; the job is
    reported in ``failed`` and fetched again next time, since the ledger still holds its old
    state.
    """
    started = asyncio.get_running_loop().time()
    rate_limited_before = _rate_limited(client)
    requests_before = _requests(client)
    active = await ledger.aio.list_jobs(active_only=True, backend=backend)
    known = {job.id: job for job in active}
    listed, seen = await _list_active(client, tuple(statuses), page_size)
    list_requests = _requests(client) - requests_before

    changed = [
        job.id for job in seen.values() if _differs(await _stored(ledger, known, job.id), job)
    ]
    left = [job_id for job_id in known if job_id not in seen]
    details = await _fetch_and_record(
        client, ledger, [*changed, *left], backend=backend, now=now, concurrency=concurrency
    )
    result = CycleResult(
        listed=MappingProxyType(listed),
        page_size=page_size,
        list_requests=list_requests,
        detail_requests=_requests(client) - requests_before - list_requests,
        changed=tuple(changed),
        left=tuple(left),
        missing=tuple(details.missing),
        failed=tuple(details.failed),
        transitions=details.tally.transitions,
        checkpoints=details.tally.checkpoints,
        events=details.tally.events,
        notifications=details.tally.notifications,
        rate_limited=_rate_limited(client) - rate_limited_before,
        retry_after=details.retry_after,
        elapsed=asyncio.get_running_loop().time() - started,
        snapshots=tuple(details.tally.snapshots),
    )
    _log_result(result)
    return result


async def _list_active(
    client: TunerClient, statuses: tuple[str, ...], page_size: int
) -> tuple[dict[str, int], dict[str, Job]]:
    """Jobs per status listed, and every listed job by id.

    A job that moves between two listings can show up twice; the later ``modified_at`` wins
    (either way it differs from the ledger and gets a detail GET, which is authoritative).
    """
    listed: dict[str, int] = {}
    seen: dict[str, Job] = {}
    for status in statuses:
        count = 0
        async for job in client.jobs.list(status=status, page_size=page_size):
            count += 1
            previous = seen.get(job.id)
            if previous is None or (job.modified_at or 0) >= (previous.modified_at or 0):
                seen[job.id] = job
        listed[status] = count
    return listed, seen


async def _stored(ledger: Ledger, known: Mapping[str, JobRecord], job_id: str) -> JobRecord | None:
    # Most listed jobs are among the known active ones; a new job costs one extra read.
    record = known.get(job_id)
    return record if record is not None else await ledger.aio.get_job(job_id)


def _differs(stored: JobRecord | None, listed: Job) -> bool:
    """Whether the listed summary says something the ledger does not hold yet."""
    if stored is None:
        return True
    return stored.status != listed.status or stored.modified_at != listed.modified_at


async def _fetch_and_record(
    client: TunerClient,
    ledger: Ledger,
    job_ids: Collection[str],
    *,
    backend: str,
    now: Instant,
    concurrency: int,
) -> _Details:
    details = _Details()
    if not job_ids:
        return details
    gate = asyncio.Semaphore(max(1, concurrency))

    async def fetch(job_id: str) -> None:
        async with gate:
            job = await _get_detail(client, job_id, details)
        if job is not None:
            # Recorded as each detail arrives, so a crash later in the poll keeps this one.
            details.tally.add(
                await ledger.aio.apply_snapshot(
                    job, backend=backend, now=now, sandbox=client.is_sandbox
                )
            )

    await asyncio.gather(*(fetch(job_id) for job_id in job_ids))
    return details


async def _get_detail(client: TunerClient, job_id: str, details: _Details) -> Job | None:
    try:
        return await client.jobs.get(job_id)
    except NotFoundError:
        logger.warning("job %s is active in the ledger but the API does not know it", job_id)
        details.missing.append(job_id)
    except APIError as error:
        logger.warning("could not fetch job %s: %s", job_id, error)
        details.failed.append(job_id)
        if isinstance(error, APIStatusError) and error.retry_after is not None:
            details.retry_after = max(details.retry_after or 0.0, error.retry_after)
    return None


def _requests(client: TunerClient) -> int:
    """HTTP requests sent so far: the key pool counts every attempt it hands a key to."""
    return sum(status.requests for status in client.keys.snapshot())


def _rate_limited(client: TunerClient) -> int:
    return sum(status.rate_limited for status in client.keys.snapshot())


def _log_result(result: CycleResult) -> None:
    # A poll that found nothing new is routine: only the ones that changed something are news.
    news = result.changed or result.left or result.missing or result.failed
    logger.log(
        logging.INFO if news else logging.DEBUG,
        "polled %d active job(s): %d request(s) (%d list, %d detail), %d changed, %d left, "
        "%d transition(s), %d checkpoint(s) in %.2f s",
        result.active,
        result.requests,
        result.list_requests,
        result.detail_requests,
        len(result.changed),
        len(result.left),
        result.transitions,
        result.checkpoints,
        result.elapsed,
    )
