"""tuner.sandbox: a local server that speaks the Mistral fine-tuning HTTP API, offline.

It simulates training; it does not train. Files, jobs and models persist in a data directory;
job progress is computed from a clock (the wall clock sped up ``speed`` times, or a manual clock),
so tests drive time by hand instead of waiting. Every answer carries ``x-tuner-sandbox: 1``.

In-process (tests, demos)::

    handle = start_in_thread(tmp_dir, clock=ManualClock())   # 127.0.0.1, a free port
    client = httpx.Client(base_url=handle.url, headers={"Authorization": "Bearer any-key"})
    ...
    handle.advance(600)          # ten simulated minutes pass at once
    handle.stop()

Foreground (the ``tuner sandbox`` command): ``serve(port=8000, data_dir=..., speed=100)``; with
``manual_clock=True`` time only moves on ``POST /sandbox/clock/advance {"seconds": N}``.
``faults="429=0.1,500=0.05,drop=0.02,latency=0.3@0.2"`` injects seeded failures (never on the
``/sandbox/*`` control endpoints).

The sandbox never imports ``tuner.api`` or ``tuner.jobs``; it validates uploads with the same
validator as ``tuner data validate`` (``tuner.datasets``), through :mod:`tuner.sandbox.validation`.
"""

from tuner.sandbox.clock import Clock, ManualClock, ScaledClock
from tuner.sandbox.faults import FaultSpecError, parse_faults
from tuner.sandbox.server import (
    STARTUP_LINE,
    SandboxHandle,
    default_data_dir,
    serve,
    start_in_thread,
)

__all__ = [
    "STARTUP_LINE",
    "Clock",
    "FaultSpecError",
    "ManualClock",
    "SandboxHandle",
    "ScaledClock",
    "default_data_dir",
    "parse_faults",
    "serve",
    "start_in_thread",
]
