"""Chat completions (one-shot and SSE streams with tool calls) and embeddings."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from tuner.api import APIConnectionError, APIError, RateLimitError, RetryPolicy

from .support import ClientFactory

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def _chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> str:
    payload = {
        "id": "bed9481e857e40fab7c7eea4232f294a",
        "object": "chat.completion.chunk",
        "created": 1764257531,
        "model": "ft:open-mistral-7b:57d37e6c:20240531:2813b7e6",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        "usage": usage,
    }
    return f"data: {json.dumps(payload)}\n\n"


def _sse(*events: str) -> httpx.Response:
    return httpx.Response(
        200, content="".join(events).encode(), headers={"content-type": "text/event-stream"}
    )


async def test_complete_sends_only_given_fields(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    answer = {
        "id": "bed9481e857e40fab7c7eea4232f294a",
        "object": "chat.completion",
        "model": "open-mistral-7b",
        "created": 1764257531,
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "D681PevKs",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                            "index": 0,
                        }
                    ],
                    "prefix": False,
                },
            }
        ],
    }
    route = api.post(CHAT).respond(200, json=answer)
    async with make_client() as client:
        reply = await client.chat.complete(
            model="open-mistral-7b",
            messages=MESSAGES,
            temperature=0.2,
            tools=TOOLS,
            tool_choice="any",
            extra_body={"prompt_mode": "reasoning"},
        )
    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "model": "open-mistral-7b",
        "messages": MESSAGES,
        "temperature": 0.2,
        "tools": TOOLS,
        "tool_choice": "any",
        "stream": False,
        "prompt_mode": "reasoning",
    }
    call = reply.choices[0].message.tool_calls
    assert call is not None and call[0].function.arguments == '{"city": "Paris"}'
    assert reply.usage is not None and reply.usage.total_tokens == 14


async def test_stream_yields_chunks_until_done(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = api.post(CHAT).mock(
        return_value=_sse(
            ": keep-alive\n\n",
            _chunk({"role": "assistant", "content": ""}),
            _chunk({"content": "Bon"}),
            _chunk({"content": "jour"}),
            _chunk(
                {"content": ""},
                finish="stop",
                usage={"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
            ),
            "data: [DONE]\n\n",
            _chunk({"content": "never seen"}),
        )
    )
    async with make_client() as client:
        chunks = [chunk async for chunk in client.chat.stream(model="m", messages=MESSAGES)]
    request = route.calls.last.request
    assert request.headers["accept"] == "text/event-stream"
    assert json.loads(request.content)["stream"] is True
    text = "".join(str(c.choices[0].delta.content or "") for c in chunks)
    assert text == "Bonjour"
    assert len(chunks) == 4
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 7


async def test_stream_carries_tool_calls(api: respx.MockRouter, make_client: ClientFactory) -> None:
    tool_call = {
        "id": "D681PevKs",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        "index": 0,
    }
    api.post(CHAT).mock(
        return_value=_sse(
            _chunk({"role": "assistant", "content": ""}),
            _chunk({"tool_calls": [tool_call]}, finish="tool_calls"),
            "data: [DONE]\n\n",
        )
    )
    async with make_client() as client:
        stream = client.chat.stream(model="m", messages=MESSAGES, tools=TOOLS)
        async with stream:
            chunks = [chunk async for chunk in stream]
    calls = chunks[1].choices[0].delta.tool_calls
    assert calls is not None
    assert (calls[0].id, calls[0].function.name) == ("D681PevKs", "get_weather")
    assert json.loads(str(calls[0].function.arguments)) == {"city": "Paris"}
    assert chunks[1].choices[0].finish_reason == "tool_calls"


async def test_multi_line_data_and_crlf_framing(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    body = (
        'data: {"id": "x", "choices": [{"index": 0,\r\n'
        'data:  "delta": {"content": "hi"}, "finish_reason": "stop"}]}\r\n\r\n'
        "data: [DONE]\r\n\r\n"
    )
    api.post(CHAT).mock(return_value=_sse(body))
    async with make_client() as client:
        chunks = [c async for c in client.chat.stream(model="m", messages=MESSAGES)]
    assert chunks[0].choices[0].delta.content == "hi"


async def test_stream_that_breaks_off_is_an_error(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    api.post(CHAT).mock(return_value=_sse(_chunk({"content": "half"})))
    async with make_client() as client:
        stream = client.chat.stream(model="m", messages=MESSAGES)
        first = await anext(stream)
        assert first.choices[0].delta.content == "half"
        with pytest.raises(APIConnectionError, match="before \\[DONE\\]"):
            await anext(stream)


async def test_error_event_inside_a_stream(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    error = {"object": "error", "message": "model overloaded", "type": "server_error"}
    api.post(CHAT).mock(return_value=_sse(f"data: {json.dumps(error)}\n\n"))
    async with make_client() as client:
        with pytest.raises(APIError, match="model overloaded"):
            async for _ in client.chat.stream(model="m", messages=MESSAGES):
                pass


async def test_stream_error_status_is_raised_on_first_iteration(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    api.post(CHAT).respond(429, json={"message": "Rate limit exceeded"})
    async with make_client(retry=RetryPolicy(max_attempts=1)) as client:
        stream = client.chat.stream(model="m", messages=MESSAGES)
        with pytest.raises(RateLimitError):
            await anext(stream)
        with pytest.raises(StopAsyncIteration):
            await anext(stream)


async def test_embeddings(api: respx.MockRouter, make_client: ClientFactory) -> None:
    route = api.post("/v1/embeddings").respond(
        200,
        json={
            "id": "e1",
            "object": "list",
            "model": "mistral-embed",
            "usage": {"prompt_tokens": 4, "total_tokens": 4, "completion_tokens": 0},
            "data": [
                {"object": "embedding", "embedding": [0.1, -0.2], "index": 0},
                {"object": "embedding", "embedding": [3, 4], "index": 1},
            ],
        },
    )
    async with make_client() as client:
        result = await client.embeddings.create(
            model="mistral-embed", input=("a", "b"), output_dtype="int8"
        )
    assert json.loads(route.calls.last.request.content) == {
        "model": "mistral-embed",
        "input": ["a", "b"],
        "output_dtype": "int8",
    }
    assert result.data[0].embedding == [0.1, -0.2]
    assert result.data[1].embedding == [3, 4]
