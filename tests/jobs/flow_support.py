"""Helpers for flow tests against a real sandbox: data, specs, clients and time that never waits.

The sandbox runs on 127.0.0.1, port 0, with a manual clock. Everything that would wait is
redirected: the client's retry sleeps move a fake monotonic clock (so a 429's Retry-After costs
nothing), its wall clock is the sandbox's clock (so "created after" look-ups agree with the
server), and the orchestrator's poll sleep advances the sandbox's clock.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tuner.api import RetryPolicy, TunerClient
from tuner.sandbox import SandboxHandle

API_KEY = "flow-test-key-0123456789abcdef"
START = 1_760_000_000
REPO = Path(__file__).resolve().parents[2]
SUPPORT = REPO / "examples" / "data" / "support.jsonl"

QUESTIONS = [
    ("How do I reset my password?", "Open Settings, choose Security and press Reset password."),
    ("Where can I download my invoice?", "Invoices are under Billing, in the Documents tab."),
    ("Can I change the delivery address?", "Yes, until it ships: open the order."),
    ("How do I cancel my subscription?", "Go to Billing and press Cancel subscription."),
    ("What payment methods do you accept?", "Cards, bank transfers and PayPal."),
    ("How long does shipping take?", "Three to five working days within the EU."),
    ("Do you ship to Canada?", "Yes, international shipping covers Canada."),
    ("How can I contact support by phone?", "Call us on working days."),
    ("Is my data encrypted?", "Yes, at rest and in transit."),
    ("Can I get a refund for a damaged item?", "Yes: send a photo and we refund within a week."),
    ("Does the lamp dim?", "Yes, from 5 to 100 percent in the app."),
    ("Which colours exist?", "Graphite, sand and sage."),
]


class FakeMonotonic:
    """The client's monotonic clock and retry sleep: sleeping only moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def small_training(path: Path, *, tag: str = "") -> Path:
    """A valid instruct file of 12 short conversations (the platform wants at least 10)."""
    lines = [
        {
            "messages": [
                {"role": "user", "content": f"{tag}{question}"},
                {"role": "assistant", "content": answer},
            ]
        }
        for question, answer in QUESTIONS
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def support_split(folder: Path, *, eval_lines: int = 8) -> tuple[Path, Path]:
    """The example support conversations split into train and a small eval file (the eval file
    must stay under 5 % of the training bytes)."""
    lines = SUPPORT.read_text(encoding="utf-8").splitlines(keepends=True)
    train = folder / "train.jsonl"
    evals = folder / "eval.jsonl"
    train.write_text("".join(lines[:-eval_lines]), encoding="utf-8")
    evals.write_text("".join(lines[-eval_lines:]), encoding="utf-8")
    return train, evals


def write_spec(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def make_client(
    handle: SandboxHandle, *, max_attempts: int = 6, monotonic: FakeMonotonic | None = None
) -> TunerClient:
    mono = monotonic or FakeMonotonic()
    return TunerClient(
        [API_KEY],
        base_url=handle.url,
        retry=RetryPolicy(
            max_attempts=max_attempts,
            max_elapsed=10_000.0,
            retry_after_cap=0.5,
            backoff_initial=0.01,
            backoff_max=0.05,
        ),
        sleep=mono.sleep,
        clock=mono,
        wall_clock=handle.clock.now,
        rng=random.Random(11),
    )


def sandbox_clock(handle: SandboxHandle) -> Callable[[], int]:
    """The ledger's clock: the sandbox's simulated time, in whole seconds."""

    def now() -> int:
        return int(handle.clock.now())

    return now


def advancing_sleep(handle: SandboxHandle) -> Callable[[float], Awaitable[None]]:
    """A poll sleep that moves the sandbox's manual clock instead of waiting."""

    async def sleep(seconds: float) -> None:
        handle.advance(seconds)

    return sleep


def server_jobs(handle: SandboxHandle) -> list[Any]:
    """Every job the sandbox stores (read from its store, so no fault can hide one)."""
    from tuner.sandbox.store import JOBS

    return list(handle.sandbox.store.all(JOBS))


def server_files(handle: SandboxHandle) -> list[Any]:
    from tuner.sandbox.store import FILES

    return [f for f in handle.sandbox.store.all(FILES) if not f.deleted]
