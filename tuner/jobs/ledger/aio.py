"""The ledger from async code: ``await ledger.aio.apply_snapshot(...)``, never on the event loop.

``Ledger`` is synchronous (SQLAlchemy, one short transaction per call). A call made on an event
loop holds the loop for the whole transaction: with PostgreSQL that is a network round trip per
polled job on the dashboard's thread, with SQLite a wait of up to the busy timeout while another
process writes. So the async core (poller, submitter, orchestrator, daemon, notifiers, the TUI)
reaches the ledger only through ``Ledger.aio``, an :class:`AsyncLedger`: every method of
``Ledger`` as a coroutine with the same arguments, plus :meth:`AsyncLedger.call` for a function
that reads several things in one go (the dashboard's views).

Each ``Ledger`` gets one worker thread for this, not the loop's shared default executor:

- calls run one at a time, in the order they were made, so a poll's snapshots and a cycle's
  queue updates land as they would have on the loop, and SQLite's single writer is not made to
  juggle the loop's concurrent tasks (they would only wait on each other's write lock);
- the worker does not belong to a loop, so one ``Ledger`` serves successive ``asyncio.run``
  calls (the CLI) and the TUI's loop alike, and long CPU work sent to ``asyncio.to_thread``
  (validation, hashing) never delays a ledger write.

Why not SQLAlchemy's asyncio extension: it would need a second driver for each database
(aiosqlite, asyncpg or psycopg's async mode) and a second engine beside the synchronous one the
CLI's plain functions and the TUI's thread workers use; its SQLite driver runs every statement
in a thread anyway.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from .core import Ledger

P = ParamSpec("P")
T = TypeVar("T")

WORKER_NAME = "tuner-ledger"


class _InWorker(Generic[P, T]):
    """The awaitable twin of a ``Ledger`` method: the same arguments, run in the worker.

    The method is looked up on the wrapped ledger at call time, so a subclass's override is the
    one that runs.
    """

    def __init__(self, method: Callable[Concatenate[Ledger, P], T]) -> None:
        self._name = method.__name__
        self.__doc__ = method.__doc__

    @overload
    def __get__(self, owner: None, owner_type: type[AsyncLedger]) -> Self: ...

    @overload
    def __get__(
        self, owner: AsyncLedger, owner_type: type[AsyncLedger] | None = None
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(
        self, owner: AsyncLedger | None, owner_type: type[AsyncLedger] | None = None
    ) -> Self | Callable[P, Coroutine[Any, Any, T]]:
        if owner is None:
            return self
        method: Callable[P, T] = getattr(owner.ledger, self._name)
        aio = owner

        async def in_worker(*args: P.args, **kwargs: P.kwargs) -> T:
            return await aio.call(method, *args, **kwargs)

        in_worker.__name__ = self._name
        in_worker.__doc__ = self.__doc__
        return in_worker


class AsyncLedger:
    """``Ledger``'s operations as coroutines, each run in the ledger's one worker thread.

    Get it as ``ledger.aio`` (one per ``Ledger``); ``Ledger.close`` stops its worker.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AsyncLedger({self.ledger!r})"

    async def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` in the worker thread (with the caller's context variables);
        for a function that makes several ledger calls, such as a view that reads a job and
        its events."""
        loop = asyncio.get_running_loop()
        work = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await loop.run_in_executor(self._worker(), work)

    def _worker(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=WORKER_NAME)
            return self._executor

    def close(self) -> None:
        """Stop the worker once the calls already made have run (a later call starts a new
        one, as a closed ``Ledger`` reconnects when used again)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    # -- Ledger's operations, in the order core.py defines them -----------------------------

    schema_version = _InWorker(Ledger.schema_version)
    verify = _InWorker(Ledger.verify)

    record_dataset = _InWorker(Ledger.record_dataset)
    get_dataset = _InWorker(Ledger.get_dataset)
    record_file = _InWorker(Ledger.record_file)
    get_file = _InWorker(Ledger.get_file)
    find_uploaded_file = _InWorker(Ledger.find_uploaded_file)
    mark_file_deleted = _InWorker(Ledger.mark_file_deleted)

    upsert_job = _InWorker(Ledger.upsert_job)
    apply_snapshot = _InWorker(Ledger.apply_snapshot)
    get_job = _InWorker(Ledger.get_job)
    list_jobs = _InWorker(Ledger.list_jobs)
    transitions = _InWorker(Ledger.transitions)
    checkpoints = _InWorker(Ledger.checkpoints)
    checkpoints_of = _InWorker(Ledger.checkpoints_of)
    events = _InWorker(Ledger.events)
    job_files = _InWorker(Ledger.job_files)
    active_job_count = _InWorker(Ledger.active_job_count)

    register_notifiers = _InWorker(Ledger.register_notifiers)
    registered_notifiers = _InWorker(Ledger.registered_notifiers)
    notifier_registry = _InWorker(Ledger.notifier_registry)
    remove_notifier = _InWorker(Ledger.remove_notifier)
    pending_notifications = _InWorker(Ledger.pending_notifications)
    mark_sent = _InWorker(Ledger.mark_sent)
    mark_failed = _InWorker(Ledger.mark_failed)
    notifications_for_job = _InWorker(Ledger.notifications_for_job)

    enqueue = _InWorker(Ledger.enqueue)
    claim_next = _InWorker(Ledger.claim_next)
    mark_submitted = _InWorker(Ledger.mark_submitted)
    mark_queue_failed = _InWorker(Ledger.mark_queue_failed)
    requeue = _InWorker(Ledger.requeue)
    get_queue_entry = _InWorker(Ledger.get_queue_entry)
    entries_in_state = _InWorker(Ledger.entries_in_state)

    acquire_lease = _InWorker(Ledger.acquire_lease)
    release_lease = _InWorker(Ledger.release_lease)
    lease_holder = _InWorker(Ledger.lease_holder)
    record_heartbeat = _InWorker(Ledger.record_heartbeat)
    last_heartbeat = _InWorker(Ledger.last_heartbeat)

    lineage_of_model = _InWorker(Ledger.lineage_of_model)
    jobs_using_file = _InWorker(Ledger.jobs_using_file)
    jobs_from_dataset = _InWorker(Ledger.jobs_from_dataset)

    create_eval_run = _InWorker(Ledger.create_eval_run)
    get_eval_run = _InWorker(Ledger.get_eval_run)
    set_eval_run_status = _InWorker(Ledger.set_eval_run_status)
    record_eval_item = _InWorker(Ledger.record_eval_item)
    record_eval_items = _InWorker(Ledger.record_eval_items)
    eval_items = _InWorker(Ledger.eval_items)
    missing_items = _InWorker(Ledger.missing_items)
    list_eval_runs = _InWorker(Ledger.list_eval_runs)
