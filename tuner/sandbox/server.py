"""Running the sandbox: :func:`serve` for the CLI, :func:`start_in_thread` for tests and demos."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from tuner.config import is_loopback_host
from tuner.sandbox.app import LOOPBACK_HOST_NAMES, MAX_UPLOAD_BYTES, create_app
from tuner.sandbox.clock import Clock, ManualClock, ScaledClock
from tuner.sandbox.faults import parse_faults
from tuner.sandbox.openai import OpenAISandbox, create_openai_app
from tuner.sandbox.service import Sandbox
from tuner.sandbox.store import Store

log = logging.getLogger("tuner.sandbox")

STARTUP_LINE = "tuner sandbox: training is SIMULATED, not the Mistral API"
PROVIDERS = ("mistral", "openai")
"""Whose API dialect the sandbox speaks."""
_STARTUP_LINES = {
    "mistral": STARTUP_LINE,
    "openai": "tuner sandbox: training is SIMULATED, not the OpenAI API",
}
STARTUP_TIMEOUT_SECONDS = 10.0


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "tuner" / "sandbox"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets that say they are
    # TCP; without it every answer waits ~40 ms for a delayed ACK (headers and body go apart).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _announce(url: str, data_dir: Path, clock: Clock, provider: str = "mistral") -> None:
    if isinstance(clock, ManualClock):
        timing = "manual clock (POST /sandbox/clock/advance)"
    else:
        timing = f"clock speed {getattr(clock, 'speed', 1.0):g}x"
    log.info("%s (%s, data in %s, %s)", _STARTUP_LINES[provider], url, data_dir, timing)


class DataDirError(ValueError):
    """The data directory cannot be used (it is a file, or cannot be created)."""


def served_host_names(host: str, allowed_hosts: Sequence[str] = ()) -> tuple[str, ...]:
    """The Host header names a sandbox bound to ``host`` answers; raise ValueError if unsafe.

    A non-loopback bind must have an API key (checked by the caller) and answers the bound
    address itself plus the names given in ``allowed_hosts``; a loopback bind answers only
    loopback names, so extra names there are refused (they would reopen DNS rebinding).
    """
    extra = tuple(name.strip().lower() for name in allowed_hosts if name.strip())
    for name in extra:
        if "*" in name or "/" in name or (":" in name.strip("[]") and not name.startswith("[")):
            raise ValueError(
                f"--allowed-host {name!r} is not a host name (no port, scheme or wildcard; "
                "IPv6 addresses in brackets)"
            )
    bound = f"[{host}]" if ":" in host else host.lower()
    if is_loopback_host(host):
        if extra:
            raise ValueError(
                "--allowed-host is only for a non-loopback --host: a loopback sandbox answers "
                "loopback names only, so a DNS-rebinding page cannot reach it"
            )
        return tuple(dict.fromkeys((*LOOPBACK_HOST_NAMES, bound)))
    wildcard = bound in ("0.0.0.0", "[::]")
    own = () if wildcard else (bound,)
    return tuple(dict.fromkeys((*LOOPBACK_HOST_NAMES, *own, *extra)))


def check_exposure(host: str, api_key: str | None) -> None:
    """Refuse a non-loopback bind without an API key (ValueError saying why)."""
    if not is_loopback_host(host) and api_key is None:
        raise ValueError(
            f"refusing to listen on {host} without --api-key: anyone on the network could "
            "list, download and delete the sandbox's files and jobs"
        )


def _open_store(data_dir: Path) -> Store:
    # Checked here, before binding: otherwise the failure surfaces as an OSError that reads
    # like a busy port.
    if data_dir.exists() and not data_dir.is_dir():
        raise DataDirError(f"--data-dir {data_dir} is a file, not a directory")
    try:
        return Store(data_dir)
    except OSError as exc:
        raise DataDirError(f"cannot use --data-dir {data_dir}: {exc.strerror or exc}") from None


def _build(
    data_dir: Path,
    clock: Clock,
    *,
    faults: str | None,
    seed: int,
    api_key: str | None,
    max_upload_bytes: int,
    allowed_hosts: Sequence[str] = LOOPBACK_HOST_NAMES,
    provider: str = "mistral",
) -> tuple[Sandbox | OpenAISandbox, Any]:
    plan = parse_faults(faults)  # before touching the data dir: a bad spec changes nothing
    if api_key is not None and not api_key.strip():
        raise ValueError("api_key must not be empty (leave it out to accept any key)")
    if provider not in PROVIDERS:
        raise ValueError(f"provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    if provider == "openai":
        speaker = OpenAISandbox(_open_store(data_dir), clock, seed=seed, job_fail=plan.job_fail)
        return speaker, create_openai_app(
            speaker,
            faults=plan,
            seed=seed,
            api_key=api_key,
            max_upload_bytes=max_upload_bytes,
            allowed_hosts=allowed_hosts,
        )
    sandbox = Sandbox(_open_store(data_dir), clock, seed=seed, job_fail=plan.job_fail)
    app = create_app(
        sandbox,
        faults=plan,
        seed=seed,
        api_key=api_key,
        max_upload_bytes=max_upload_bytes,
        allowed_hosts=allowed_hosts,
    )
    return sandbox, app


@dataclass
class SandboxHandle:
    """A sandbox running in a background thread of this process."""

    url: str
    clock: Clock
    sandbox: Sandbox | OpenAISandbox
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def advance(self, seconds: float) -> float:
        """Move the manual clock forward (tests); the new simulated time."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("this sandbox runs on a scaled wall clock, not a manual one")
        return self.clock.advance(seconds)

    def stop(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Stop serving and close the data store; calling it again does nothing."""
        if self._stopped:
            return
        self._stopped = True
        self._server.should_exit = True
        self._thread.join(timeout)
        self.sandbox.close()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_in_thread(
    data_dir: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Clock | None = None,
    speed: float = 1.0,
    faults: str | None = None,
    seed: int = 0,
    api_key: str | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    allowed_hosts: Sequence[str] = (),
    provider: str = "mistral",
) -> SandboxHandle:
    """Start a sandbox on ``host:port`` (port 0: any free port) and return once it answers.

    Pass ``clock=ManualClock()`` to move time by hand (``handle.advance(seconds)``); otherwise
    the clock is the wall clock sped up ``speed`` times. ``provider="openai"`` speaks OpenAI's
    dialect (:mod:`tuner.sandbox.openai`) instead of Mistral's.
    """
    check_exposure(host, api_key)
    names = served_host_names(host, allowed_hosts)
    root = Path(data_dir)
    the_clock = clock if clock is not None else ScaledClock(speed)
    sandbox, app = _build(
        root,
        the_clock,
        faults=faults,
        seed=seed,
        api_key=api_key,
        max_upload_bytes=max_upload_bytes,
        allowed_hosts=names,
        provider=provider,
    )
    sock = _bind(host, port)
    # log_config=None: an in-process server must not reconfigure the host's logging.
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="tuner-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            sandbox.close()
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    url = _url(host, sock)
    _announce(url, root, the_clock, provider)
    return SandboxHandle(url, the_clock, sandbox, server, thread)


def _log_config() -> dict[str, Any]:
    """uvicorn's logging set-up, plus our own logger on its console handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["tuner.sandbox"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    return config


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: str | os.PathLike[str] | None = None,
    speed: float = 1.0,
    faults: str | None = None,
    seed: int = 0,
    api_key: str | None = None,
    *,
    manual_clock: bool = False,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    allowed_hosts: Sequence[str] = (),
    provider: str = "mistral",
) -> None:
    """Run the sandbox in the foreground until interrupted (the ``tuner sandbox`` command).

    ``speed`` scales the wall clock (100: a 100-step job finishes in seconds); ``manual_clock``
    freezes it instead, to be moved with ``POST /sandbox/clock/advance``. Raises ValueError for
    a bad ``faults`` spec or ``speed``, a non-loopback ``host`` without ``api_key`` or an
    unusable ``data_dir`` (DataDirError), OSError when the address cannot be bound. It answers
    only the Host names of :func:`served_host_names`.
    """
    check_exposure(host, api_key)
    names = served_host_names(host, allowed_hosts)
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    clock: Clock = ManualClock() if manual_clock else ScaledClock(speed)
    sandbox, app = _build(
        root,
        clock,
        faults=faults,
        seed=seed,
        api_key=api_key,
        max_upload_bytes=max_upload_bytes,
        allowed_hosts=names,
        provider=provider,
    )
    try:
        sock = _bind(host, port)
    except OSError:
        sandbox.close()
        raise
    config = uvicorn.Config(app, log_config=_log_config(), lifespan="off")
    server = uvicorn.Server(config)
    _announce(_url(host, sock), root, clock, provider)
    if not is_loopback_host(host):
        log.warning(
            "listening on %s: the sandbox is reachable from other machines (Host names: %s)",
            host,
            ", ".join(names),
        )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn re-raises the Ctrl-C it handled; the server has already shut down cleanly.
        log.info("tuner sandbox stopped")
    finally:
        with contextlib.suppress(OSError):
            sock.close()
        sandbox.close()
