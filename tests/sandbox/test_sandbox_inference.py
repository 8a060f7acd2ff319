"""Chat completions (plain and streamed) and embeddings over real HTTP."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx

from tuner.sandbox import SandboxHandle

from .support import WEATHER_TOOL
from .test_sandbox_models import trained_model


def chat(client: httpx.Client, model: str, prompt: str, **fields: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], **fields}
    return client.post("/v1/chat/completions", json=body)


def test_base_model_gives_a_generic_reply_on_the_topic(client: httpx.Client) -> None:
    response = chat(client, "mistral-small-latest", "My espresso machine leaks water")
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "mistral-small-latest"
    assert len(body["id"]) == 32
    int(body["id"], 16)
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert "espresso machine leaks" in choice["message"]["content"]
    usage = body["usage"]
    assert usage["prompt_tokens"] > 5
    assert usage["completion_tokens"] > 10
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    again = chat(client, "mistral-small-latest", "My espresso machine leaks water").json()
    assert again["choices"][0]["message"]["content"] == choice["message"]["content"]


def test_tuned_model_answers_from_its_training_data(
    client: httpx.Client, sandbox: SandboxHandle
) -> None:
    model = trained_model(client, sandbox)
    reply = chat(client, model, "I forgot my password, how can I reset it?").json()
    assert reply["choices"][0]["message"]["content"] == (
        "Open Settings, choose Security and press Reset password."
    )
    shipping = chat(client, model, "Do you deliver parcels to Canada?").json()
    assert shipping["choices"][0]["message"]["content"] == (
        "Yes, international shipping covers Canada."
    )
    # Nothing in common with the training data: a generic answer.
    unrelated = chat(client, model, "Explain quantum chromodynamics").json()
    assert "quantum chromodynamics" in unrelated["choices"][0]["message"]["content"]


def test_tuned_model_answers_with_the_reference_tool_call(
    client: httpx.Client, sandbox: SandboxHandle
) -> None:
    model = trained_model(client, sandbox)
    body = chat(client, model, "weather forecast in Lyon please", tools=[WEATHER_TOOL]).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == ""
    assert choice["message"]["tool_calls"] == [
        {
            "id": "Wx7Lyon01",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Lyon"}'},
            "index": 0,
        }
    ]
    plain = chat(
        client, model, "weather forecast in Lyon please", tools=[WEATHER_TOOL], tool_choice="none"
    ).json()
    assert plain["choices"][0]["finish_reason"] == "stop"
    assert plain["choices"][0]["message"]["tool_calls"] is None
    # Without tools in the request, a model answers in words.
    untooled = chat(client, model, "weather forecast in Lyon please").json()
    assert untooled["choices"][0]["message"]["tool_calls"] is None
    assert untooled["choices"][0]["message"]["content"]


def sse_events(response: httpx.Response) -> list[Any]:
    assert response.headers["content-type"].startswith("text/event-stream")
    events: list[Any] = []
    for block in response.text.split("\n\n"):
        if not block:
            continue
        assert block.startswith("data: ")
        payload = block[len("data: ") :]
        events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def test_streamed_reply(client: httpx.Client) -> None:
    plain = chat(client, "open-mistral-7b", "My invoice is wrong").json()
    streamed = chat(client, "open-mistral-7b", "My invoice is wrong", stream=True)
    assert streamed.status_code == 200
    events = sse_events(streamed)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["usage"] is None for c in chunks[:-1])
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["usage"] == plain["usage"]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == plain["choices"][0]["message"]["content"]
    assert len(chunks) > 5  # really in pieces


def test_streamed_tool_call(client: httpx.Client, sandbox: SandboxHandle) -> None:
    model = trained_model(client, sandbox)
    events = sse_events(chat(client, model, "weather in Lyon", stream=True, tools=[WEATHER_TOOL]))
    calls = [c for c in events[:-1] if c["choices"][0]["delta"].get("tool_calls")]
    assert calls[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_max_tokens_stop_and_json_mode(client: httpx.Client) -> None:
    cut = chat(client, "open-mistral-7b", "Tell me about billing", max_tokens=4).json()
    assert cut["choices"][0]["finish_reason"] == "length"
    assert cut["usage"]["completion_tokens"] == 4
    stopped = chat(client, "open-mistral-7b", "Tell me about billing", stop=["glad"]).json()
    assert "glad" not in stopped["choices"][0]["message"]["content"]
    as_json = chat(
        client, "open-mistral-7b", "billing", response_format={"type": "json_object"}
    ).json()
    assert "billing" in json.loads(as_json["choices"][0]["message"]["content"])["answer"]
    two = chat(client, "open-mistral-7b", "billing", n=2).json()
    assert [c["index"] for c in two["choices"]] == [0, 1]


def test_chat_errors(client: httpx.Client) -> None:
    unknown = chat(client, "gpt-4o", "hello")
    assert unknown.status_code == 400
    assert unknown.json() == {
        "object": "error",
        "message": "Invalid model: gpt-4o",
        "type": "invalid_model",
        "param": None,
        "code": "1500",
    }
    assert chat(client, "mistral-embed", "hello").status_code == 400
    extra = chat(client, "open-mistral-7b", "hello", stream_options={"include_usage": True})
    assert extra.status_code == 422
    assert extra.json()["detail"][0]["type"] == "extra_forbidden"
    bad_role = client.post(
        "/v1/chat/completions",
        json={"model": "open-mistral-7b", "messages": [{"role": "bot", "content": "x"}]},
    )
    assert bad_role.status_code == 422


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_embeddings(client: httpx.Client) -> None:
    texts = ["reset my password", "how to reset a password", "shipping to Canada"]
    response = client.post("/v1/embeddings", json={"model": "mistral-embed", "input": texts})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert body["model"] == "mistral-embed"
    assert body["usage"]["completion_tokens"] == 0
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0
    vectors = [item["embedding"] for item in body["data"]]
    assert [item["index"] for item in body["data"]] == [0, 1, 2]
    assert all(item["object"] == "embedding" for item in body["data"])
    assert all(len(v) == 1024 for v in vectors)
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1, rel_tol=1e-6) for v in vectors)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    single = client.post("/v1/embeddings", json={"model": "mistral-embed", "input": texts[0]})
    assert single.json()["data"][0]["embedding"] == vectors[0]


def test_embedding_dimensions_and_dtypes(client: httpx.Client) -> None:
    def embed(**fields: Any) -> Any:
        body = {"model": "mistral-embed", "input": "invoice question", **fields}
        response = client.post("/v1/embeddings", json=body)
        assert response.status_code == 200, response.text
        return response.json()["data"][0]["embedding"]

    floats = embed(output_dimension=64)
    assert len(floats) == 64
    int8 = embed(output_dimension=64, output_dtype="int8")
    assert all(-128 <= v <= 127 and isinstance(v, int) for v in int8)
    assert len(embed(output_dimension=64, output_dtype="ubinary")) == 8
    # base64 is answered as numbers, as the reference's response schema says (see
    # test_sandbox_fidelity.py for the SDK's view).
    assert embed(output_dimension=64, encoding_format="base64") == floats
    assert (
        client.post("/v1/embeddings", json={"model": "open-mistral-7b", "input": "x"}).status_code
        == 400
    )
