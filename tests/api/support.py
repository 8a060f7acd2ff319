"""Shared constants and helpers for the API client tests (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuner.api import TunerClient

BASE_URL = "https://api.mistral.test"
KEY_A = "keyA-0123456789abcdefghijklmnopqrstuvwx-AAAA"
KEY_B = "keyB-0123456789abcdefghijklmnopqrstuvwx-BBBB"
KEY_C = "keyC-0123456789abcdefghijklmnopqrstuvwx-CCCC"
ALL_KEYS = (KEY_A, KEY_B, KEY_C)
START_WALL = 1_760_000_000.0
FILE_ID = "0b7c3c1e-7f3a-4c5e-9c1b-2d7e8f9a0b1c"
FILE_ID_2 = "1c8d4d2f-8a4b-4d6f-8d2c-3e8f9a0b1c2d"
JOB_ID = "e8b9c1a2-3d4e-4f5a-8b6c-7d8e9f0a1b2c"

ClientFactory = Callable[..., TunerClient]


class FakeTime:
    """A monotonic clock, a wall clock and a sleep that only moves the clocks forward."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return START_WALL + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def bearer_of(request: Any) -> str:
    """The key a recorded request was sent with."""
    header: str = request.headers["authorization"]
    return header.removeprefix("Bearer ")


def file_payload(file_id: str = FILE_ID, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": file_id,
        "object": "file",
        "bytes": 123,
        "created_at": 1759500189,
        "filename": "train.jsonl",
        "purpose": "fine-tune",
        "sample_type": "instruct",
        "source": "upload",
        "num_lines": 2,
        "mimetype": "application/jsonl",
        "signature": "d4821d2de1917341",
        "expires_at": None,
        "visibility": "workspace",
    }
    payload.update(overrides)
    return payload


def job_payload(job_id: str = JOB_ID, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": job_id,
        "object": "job",
        "auto_start": False,
        "model": "open-mistral-7b",
        "status": "QUEUED",
        "job_type": "completion",
        "created_at": int(START_WALL + 100),
        "modified_at": int(START_WALL + 100),
        "training_files": [FILE_ID],
        "validation_files": [],
        "hyperparameters": {"training_steps": 10, "learning_rate": 0.0001},
        "fine_tuned_model": None,
        "suffix": "demo",
        "integrations": [],
        "trained_tokens": None,
        "metadata": None,
    }
    payload.update(overrides)
    return payload
