"""Fixtures for the evaluation tests: the example data split, a sandbox with a tuned model.

One sandbox (127.0.0.1, port 0, manual clock) serves the whole session: fine-tuning the model
once keeps the tests fast, and every test gets its own ledger file, so runs never mix. Tests
that need failures wrap the client's transport (see ``support.py``) instead of touching it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tuner.jobs.ledger import Ledger, open_ledger
from tuner.sandbox import ManualClock, SandboxHandle, start_in_thread

from .support import (
    BASE_MODEL,
    CLASSIFIER_TARGETS,
    START,
    TRAIN_REVIEWS,
    fine_tune_in_sandbox,
    write_split,
)


@dataclass(frozen=True)
class Tuned:
    sandbox: SandboxHandle
    model: str
    train: Path
    eval: Path


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuned]:
    """A sandbox whose fine-tuned model learnt the training split of the example data."""
    root = tmp_path_factory.mktemp("evals")
    train, held_out = write_split(root)
    handle = start_in_thread(root / "sandbox", port=0, clock=ManualClock(START))
    try:
        yield Tuned(handle, _fine_tune(handle, train), train, held_out)
    finally:
        handle.stop()


def _fine_tune(handle: SandboxHandle, train: Path) -> str:
    def job(file_id: str) -> dict[str, Any]:
        return {
            "model": BASE_MODEL,
            "hyperparameters": {"training_steps": 10},
            "training_files": [{"file_id": file_id, "weight": 1}],
            "auto_start": True,
        }

    # 1000 s: validation, queue, set-up and 10 steps, all past.
    return fine_tune_in_sandbox(handle, "/v1", train, job, seconds=1000, succeeded="SUCCESS")


@pytest.fixture(scope="session")
def classifier(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SandboxHandle, str]]:
    """A sandbox and a classifier fine-tuned there on the example reviews."""
    root = tmp_path_factory.mktemp("classifier")
    handle = start_in_thread(root / "sandbox", port=0, clock=ManualClock(START))

    def job(file_id: str) -> dict[str, Any]:
        return {
            "model": "ministral-3b-latest",
            "job_type": "classifier",
            "classifier_targets": CLASSIFIER_TARGETS,
            "hyperparameters": {"training_steps": 10},
            "training_files": [{"file_id": file_id}],
            "auto_start": True,
        }

    try:
        yield (
            handle,
            fine_tune_in_sandbox(
                handle, "/v1", TRAIN_REVIEWS, job, seconds=2000, succeeded="SUCCESS"
            ),
        )
    finally:
        handle.stop()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    # A file, not :memory:: an in-memory SQLite database belongs to one connection.
    opened = open_ledger(str(tmp_path / "ledger.db"))
    try:
        yield opened
    finally:
        opened.close()
