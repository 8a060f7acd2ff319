"""The sandbox's offline judge, over HTTP: JSON mode + the judge prompt → a well-formed verdict."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tuner.evals.dataset import Answer, EvalItem
from tuner.evals.judge import judge_messages, parse_verdict

from .conftest import Tuned
from .support import API_KEY, JUDGE_MODEL

ITEM = EvalItem(
    index=0,
    line=1,
    messages=({"role": "user", "content": "How long does delivery to Austria take?"},),
    tools=(),
    reference=Answer("Delivery to Austria takes three to five working days with DHL."),
    prompt_hash="0" * 64,
)
GOOD = "With DHL, delivery to Austria takes three to five working days."
VAGUE = "Thanks for your message! Could you tell me more?"


@pytest.fixture
def http(tuned: Tuned) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=tuned.sandbox.url, headers=headers, timeout=30) as client:
        yield client


def ask(http: httpx.Client, messages: list[dict[str, str]], **fields: object) -> httpx.Response:
    body = {"model": JUDGE_MODEL, "messages": messages, **fields}
    return http.post("/v1/chat/completions", json=body)


@pytest.mark.parametrize(("a", "b", "winner"), [(GOOD, VAGUE, "A"), (VAGUE, GOOD, "B")])
def test_closer_answer_wins_whatever_its_position(
    http: httpx.Client, a: str, b: str, winner: str
) -> None:
    response = ask(http, judge_messages(ITEM, a, b), response_format={"type": "json_object"})
    assert response.status_code == 200, response.text
    body = response.json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    verdict = json.loads(choice["message"]["content"])
    assert set(verdict) == {"winner", "reason"}
    assert verdict["winner"] == winner
    assert parse_verdict(choice["message"]["content"]) is not None
    assert body["usage"]["completion_tokens"] > 0


def test_equal_answers_tie(http: httpx.Client) -> None:
    response = ask(http, judge_messages(ITEM, GOOD, GOOD), response_format={"type": "json_object"})
    assert json.loads(response.json()["choices"][0]["message"]["content"])["winner"] == "tie"


def test_without_json_mode_the_judge_prompt_is_just_a_prompt(http: httpx.Client) -> None:
    response = ask(http, judge_messages(ITEM, GOOD, VAGUE))
    content = response.json()["choices"][0]["message"]["content"]
    assert parse_verdict(content) is None


def test_other_json_requests_are_unchanged(http: httpx.Client) -> None:
    messages = [{"role": "user", "content": "billing question"}]
    response = ask(http, messages, response_format={"type": "json_object"})
    assert "billing" in json.loads(response.json()["choices"][0]["message"]["content"])["answer"]


def test_tuned_model_can_judge_too(http: httpx.Client, tuned: Tuned) -> None:
    body = {
        "model": tuned.model,
        "messages": judge_messages(ITEM, VAGUE, GOOD),
        "response_format": {"type": "json_object"},
    }
    response = http.post("/v1/chat/completions", json=body)
    assert json.loads(response.json()["choices"][0]["message"]["content"])["winner"] == "B"
