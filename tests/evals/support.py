"""Helpers for the evaluation tests: the data split, clients, and transports that count or fail.

The transports wrap httpx's real one, so requests still reach the loopback sandbox; they only
look at (and, for failure tests, replace) what goes through.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tuner.api import RetryPolicy, TunerClient
from tuner.datasets.reader import iter_lines
from tuner.datasets.rules import check_record
from tuner.datasets.samples import sample_key
from tuner.sandbox import SandboxHandle

API_KEY = "eval-test-key"
BASE_MODEL = "open-mistral-7b"
JUDGE_MODEL = "mistral-small-latest"
EMBED_MODEL = "mistral-embed"
START = 1_760_000_000
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data" / "support.jsonl"
REVIEWS = Path(__file__).resolve().parents[2] / "examples" / "data"
TRAIN_REVIEWS = REVIEWS / "reviews.train.jsonl"
HELD_OUT_REVIEWS = REVIEWS / "reviews.eval.jsonl"
CLASSIFIER_TARGETS = [
    {"name": "sentiment", "labels": ["negative", "neutral", "positive"]},
    {
        "name": "topics",
        "labels": ["app", "delivery", "quality", "support"],
        "loss_function": "multi_class",
    },
]
# Every 15th conversation is held out (20 of 300); the model trains on 120 of the others.
HELD_OUT_EVERY = 15
TRAIN_LINES = 120


def write_split(root: Path) -> tuple[Path, Path]:
    """(train.jsonl, eval.jsonl) from the example data; no conversation is in both."""
    lines = EXAMPLES.read_bytes().splitlines(keepends=True)
    held_out = [line for n, line in enumerate(lines) if n % HELD_OUT_EVERY == 0]
    train = [line for n, line in enumerate(lines) if n % HELD_OUT_EVERY != 0][:TRAIN_LINES]
    train_path, eval_path = root / "train.jsonl", root / "eval.jsonl"
    train_path.write_bytes(b"".join(train))
    eval_path.write_bytes(b"".join(held_out))
    return train_path, eval_path


def cli_against(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose settings come from the environment only: no user config file, the
    Mistral sandbox at ``url``, and a ledger of this test's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TUNER_API_URL", url)
    monkeypatch.setenv("MISTRAL_API_KEY", API_KEY)
    monkeypatch.setenv("TUNER_DB", str(tmp_path / "ledger.db"))
    monkeypatch.delenv("TUNER_API_KEYS", raising=False)
    return CliRunner()


def fine_tune_in_sandbox(
    handle: SandboxHandle,
    api_root: str,
    train: Path,
    job: Callable[[str], dict[str, Any]],
    *,
    seconds: int,
    succeeded: str,
) -> str:
    """Upload ``train`` to the sandbox, create the job ``job(file_id)`` describes, let the
    sandbox's clock run ``seconds`` and return the tuned model (the job must be ``succeeded``).
    ``api_root`` is where the provider's paths start (``/v1`` for both sandboxes)."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=handle.url + api_root, headers=headers, timeout=30) as http:
        uploaded = http.post(
            "/files",
            files={"file": (train.name, train.read_bytes())},
            data={"purpose": "fine-tune"},
        )
        assert uploaded.status_code == 200, uploaded.text
        created = http.post("/fine_tuning/jobs", json=job(uploaded.json()["id"]))
        assert created.status_code == 200, created.text
        handle.advance(seconds)
        tuned = http.get(f"/fine_tuning/jobs/{created.json()['id']}").json()
    assert tuned["status"] == succeeded, tuned
    return str(tuned["fine_tuned_model"])


def sample_keys(path: Path) -> set[str]:
    keys = set()
    for raw in iter_lines(path):
        assert raw.data is not None
        check = check_record(raw.data, path=str(path), line=raw.number, expect="instruct")
        assert check.sample is not None
        keys.add(sample_key(check.sample))
    return keys


async def _no_sleep(_seconds: float) -> None:
    return None


def make_client(
    url: str, transport: httpx.AsyncBaseTransport | None = None, attempts: int = 2
) -> TunerClient:
    """A client for the sandbox whose retries do not wait."""
    return TunerClient(
        [API_KEY],
        base_url=url,
        retry=RetryPolicy(max_attempts=attempts, max_elapsed=60.0),
        transport=transport,
        sleep=_no_sleep,
    )


Handler = Callable[[dict[str, Any]], httpx.Response | None]


class Recorder(httpx.AsyncBaseTransport):
    """Forwards to the real transport; records every JSON request body, by path.

    ``intercept(body)`` may answer a request itself (a failure, a garbled judge reply) by
    returning a response; returning None lets it through.
    """

    def __init__(self, intercept: Handler | None = None) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._intercept = intercept
        self.bodies: list[tuple[str, dict[str, Any]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        self.bodies.append((request.url.path, body))
        if self._intercept is not None:
            answer = self._intercept(body)
            if answer is not None:
                return answer
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def chats(self) -> list[dict[str, Any]]:
        return [b for path, b in self.bodies if path == "/v1/chat/completions"]

    def answer_requests(self) -> Counter[tuple[str, str]]:
        """How often each (last user message, model) was asked, judge requests left out."""
        return Counter(
            (last_user(b["messages"]), b["model"]) for b in self.chats() if not is_judge(b)
        )

    def judge_requests(self) -> list[dict[str, Any]]:
        return [b for b in self.chats() if is_judge(b)]


def is_judge(body: dict[str, Any]) -> bool:
    return (body.get("response_format") or {}).get("type") == "json_object"


def last_user(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message["role"] == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def error_response(status: int, message: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"object": "error", "message": message, "type": "server_error", "code": None},
    )


def chat_response(model: str, content: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "0" * 32,
            "object": "chat.completion",
            "model": model,
            "created": START,
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content, "tool_calls": None},
                }
            ],
        },
    )
