"""Training data and small helpers shared by the sandbox tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

API_KEY = "test-key"
# 2025-10-09T08:53:20Z: a fixed start, so dates in model names are predictable.
START = 1_760_000_000

QUESTIONS = [
    ("How do I reset my password?", "Open Settings, choose Security and press Reset password."),
    ("Where can I download my invoice?", "Invoices are under Billing, in the Documents tab."),
    ("Can I change the delivery address of an order?", "Yes, until it ships: open the order."),
    ("How do I cancel my subscription?", "Go to Billing and press Cancel subscription."),
    ("What payment methods do you accept?", "Cards, bank transfers and PayPal."),
    ("How long does shipping take?", "Three to five working days within the EU."),
    ("Do you ship to Canada?", "Yes, international shipping covers Canada."),
    ("How can I contact support by phone?", "Call +33 1 23 45 67 89 on working days."),
    ("Is my data encrypted?", "Yes, at rest and in transit."),
    ("Can I get a refund for a damaged item?", "Yes: send a photo and we refund within a week."),
]

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def conversation(question: str, answer: str) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]
    }


def tool_conversation() -> dict[str, Any]:
    # A conversation that ends on an assistant tool call (valid as a last message).
    return {
        "tools": [WEATHER_TOOL],
        "messages": [
            {"role": "user", "content": "What is the weather forecast in Lyon today?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "Wx7Lyon01",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Lyon"}'},
                    }
                ],
            },
        ],
    }


def jsonl(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def training_data(*, with_tool: bool = False, prefix: str = "") -> bytes:
    records = [conversation(prefix + q, a) for q, a in QUESTIONS]
    if with_tool:
        records.append(tool_conversation())
    return jsonl(records)


def pretrain_data() -> bytes:
    return jsonl([{"text": f"{prefix} {answer}"} for prefix, answer in QUESTIONS])


def upload(
    client: httpx.Client,
    content: bytes,
    filename: str = "train.jsonl",
    purpose: str | None = "fine-tune",
) -> httpx.Response:
    data = {} if purpose is None else {"purpose": purpose}
    return client.post("/v1/files", files={"file": (filename, content)}, data=data)


def upload_ok(client: httpx.Client, content: bytes, filename: str = "train.jsonl") -> str:
    response = upload(client, content, filename)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def create_job(client: httpx.Client, file_id: str, **fields: Any) -> httpx.Response:
    body: dict[str, Any] = {
        "model": "open-mistral-7b",
        "hyperparameters": {"training_steps": 10},
        "training_files": [{"file_id": file_id, "weight": 1}],
        "auto_start": False,
    }
    body.update(fields)
    return client.post("/v1/fine_tuning/jobs", json=body)


def job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/fine_tuning/jobs/{job_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


SENTIMENTS = [
    ("I love this product, it works perfectly", "positive", ["quality"]),
    ("Great service and a fast delivery", "positive", ["delivery"]),
    ("Fantastic quality, would buy again", "positive", ["quality"]),
    ("Very happy with the support team", "positive", ["support"]),
    ("It broke after one day of use", "negative", ["quality"]),
    ("Terrible support, nobody answered", "negative", ["support"]),
    ("The parcel arrived late and damaged", "negative", ["delivery", "quality"]),
    ("A waste of money, asking for a refund", "negative", ["quality"]),
    ("It arrived on Tuesday in a blue box", "neutral", ["delivery"]),
    ("It does what the description says", "neutral", []),
    ("The manual is twelve pages long", "neutral", []),
    ("I called the support line at noon", "neutral", ["support"]),
]
SENTIMENT_LABELS = ["positive", "negative", "neutral"]
TOPIC_LABELS = ["quality", "delivery", "support"]


def classifier_data(*, chat: bool = False) -> bytes:
    """Classifier lines: a single-label target ``sentiment`` and a multi-label ``topics``."""
    records = []
    for text, sentiment, topics in SENTIMENTS:
        given: dict[str, Any] = (
            {"messages": [{"role": "user", "content": text}]} if chat else {"text": text}
        )
        records.append({**given, "labels": {"sentiment": sentiment, "topics": topics}})
    return jsonl(records)


CLASSIFIER_TARGETS = [
    {"name": "sentiment", "labels": SENTIMENT_LABELS, "weight": 1.0},
    {"name": "topics", "labels": TOPIC_LABELS, "weight": 0.5, "loss_function": "multi_class"},
]
