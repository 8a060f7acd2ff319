"""``Ledger.aio``: the ledger's operations as coroutines, run in the ledger's one worker thread
(on a SQLite file and, in CI, PostgreSQL). That the async core uses it and so never holds its
loop is ``test_loop_responsive.py``'s subject."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading

import pytest

from tuner.jobs.ledger import AsyncLedger, Ledger, NotFoundError
from tuner.jobs.ledger.aio import WORKER_NAME

from .ledger_support import every_database_ledger  # noqa: F401  (the fixture ``ledger``)

NOW = 1_800_000_000
REQUEST = contextvars.ContextVar("REQUEST", default="none")


def _worker_thread() -> tuple[int, str]:
    thread = threading.current_thread()
    return threading.get_ident(), thread.name


def _operations(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if name[0] != "_"}


def test_every_operation_of_the_ledger_has_an_awaitable_twin(ledger: Ledger) -> None:
    # A new Ledger operation needs its line in AsyncLedger (name = _InWorker(Ledger.name)), or
    # async code would have to call the blocking one.
    twins = {name for name in _operations(Ledger) - {"close"} if hasattr(AsyncLedger, name)}
    assert twins == _operations(Ledger) - {"close"}
    assert ledger.aio is ledger.aio
    assert ledger.aio.apply_snapshot.__doc__ == Ledger.apply_snapshot.__doc__
    assert inspect.iscoroutinefunction(ledger.aio.apply_snapshot)


def test_calls_run_in_order_in_one_worker_thread_off_the_loop(ledger: Ledger) -> None:
    async def main() -> list[tuple[int, str]]:
        # Started together: each is queued to the worker when its coroutine first runs.
        queued = [ledger.aio.enqueue([{"n": n}], now=NOW) for n in range(12)]
        threads = [ledger.aio.call(_worker_thread) for _ in range(4)]
        await asyncio.gather(*queued)
        return await asyncio.gather(*threads)

    threads = asyncio.run(main())

    pending = sorted(ledger.entries_in_state("pending"), key=lambda entry: entry.id)
    assert [entry.spec["n"] for entry in pending] == list(range(12))
    assert len(set(threads)) == 1
    [(ident, name)] = set(threads)
    assert ident != threading.get_ident() and name.startswith(WORKER_NAME)


def test_one_worker_serves_successive_loops_until_close(ledger: Ledger) -> None:
    first = asyncio.run(ledger.aio.call(_worker_thread))
    second = asyncio.run(ledger.aio.call(_worker_thread))
    assert first == second  # the worker belongs to the ledger, not to a loop (CLI commands)
    worker = next(t for t in threading.enumerate() if t.ident == first[0])

    ledger.close()

    assert not worker.is_alive()
    # Like the ledger itself after close, it works again when used: a new worker.
    asyncio.run(ledger.aio.record_heartbeat("daemon", NOW))
    assert ledger.last_heartbeat("daemon") == NOW


def test_errors_and_context_reach_the_caller(ledger: Ledger) -> None:
    async def main() -> str:
        with pytest.raises(NotFoundError, match="no queue entry 4242"):
            await ledger.aio.requeue(4242, now=NOW)
        REQUEST.set("poll-7")
        return await ledger.aio.call(REQUEST.get)

    assert asyncio.run(main()) == "poll-7"
