"""Leases that belong to a live holder: owners that say where their process runs, and taking
over a lease whose holder on this host is gone.

A lease (a ledger row: name, owner, expiry) keeps one daemon per ledger, and one process at a
time draining the submission queue. Its owner is ``host:pid:namespace-uuid``, so a process that
finds the lease held can tell whether the holder is a process of this host that no longer runs
(killed, crashed): such a lease is taken over at once instead of waiting for it to expire. A
holder on another host, or any doubt, is left to its expiry, which short TTLs renewed by the
holder's heartbeat keep close.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from tuner.jobs.ledger import Ledger
from tuner.jobs.records import LeaseRecord


def make_owner(pid: int | None = None) -> str:
    """``host:pid:uuid``: unique per run, and says where to look whether its process lives.

    The uuid part starts with this process's PID-namespace id where there is one (Linux), so
    two containers that share a host name but not their process ids never judge each other's
    pids.
    """
    namespace = _pid_namespace()
    tag = uuid.uuid4().hex[:12]
    unique = f"{namespace}-{tag}" if namespace else tag
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}:{unique}"


def _pid_namespace() -> str:
    try:
        return format(Path("/proc/self/ns/pid").stat().st_ino, "x")
    except OSError:
        return ""


def owner_is_gone(owner: str, *, host: str | None = None) -> bool:
    """Whether ``owner`` names a process of this host (and PID namespace) that no longer runs.

    Only such an owner can be checked; any doubt (another host or namespace, a pid that some
    process has reused, another user's process) says "alive", and the lease is then left to
    expire.
    """
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != (host or socket.gethostname()):
        return False
    namespace = _pid_namespace()
    if namespace and not parts[2].startswith(f"{namespace}-"):
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True, slots=True)
class LeaseTake:
    """What trying to take a lease gave."""

    taken: bool
    holder: LeaseRecord | None
    """Who holds it when it was not taken (None: it expired or was released meanwhile)."""
    took_over_from: str | None = None
    """The gone owner whose lease was taken over, if any."""


def take_lease(ledger: Ledger, name: str, owner: str, ttl_s: int, now: int) -> LeaseTake:
    """Take or renew ``name`` for ``owner``; a lease held by a gone process of this host is
    taken over at once (only that owner's row is deleted: a third process that got in first
    keeps the lease)."""
    if ledger.acquire_lease(name, owner, ttl_s, now):
        return LeaseTake(True, None)
    holder = ledger.lease_holder(name, now)
    if holder is None or not owner_is_gone(holder.owner):
        return LeaseTake(False, holder)
    ledger.release_lease(name, holder.owner)
    if ledger.acquire_lease(name, owner, ttl_s, now):
        return LeaseTake(True, None, took_over_from=holder.owner)
    return LeaseTake(False, ledger.lease_holder(name, now))


def describe_holder(holder: LeaseRecord) -> str:
    """``host:pid`` of a lease's owner, for messages (the uuid part says nothing to a person)."""
    return ":".join(holder.owner.split(":")[:2])
