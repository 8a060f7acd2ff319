"""Chat completions in OpenAI's dialect, answered by the deterministic stand-ins of
:mod:`tuner.sandbox.standin`: whole (``chat.completion``) or streamed (``stream=true``: server-sent
``chat.completion.chunk`` events ending ``data: [DONE]``).

Shapes follow openai-python's ``types/chat`` (``ChatCompletion``, ``ChatCompletionChunk``):
a first chunk carries ``delta.role``, then content pieces, then a chunk with an empty delta and
the ``finish_reason``; with ``stream_options.include_usage`` every chunk has ``usage: null`` and
one more chunk, with no choices, carries the usage before ``[DONE]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from tuner.sandbox import shapes, standin
from tuner.sandbox.openai.service import OpenAISandbox, openai_error
from tuner.sandbox.standin import Reply, ToolCall

JSON = dict[str, Any]
# Tokens the chat format adds around each message (an approximation, like the whole count).
TOKENS_PER_MESSAGE = 3


@dataclass(frozen=True, slots=True)
class Answer:
    id: str
    model: str
    created: int
    text: str
    finish_reason: str
    usage: JSON
    tool_calls: tuple[ToolCall, ...] = ()


def answer(sandbox: OpenAISandbox, body: JSON) -> Answer:
    """The stand-in's answer to a chat request (raises OpenAI's 400/404 errors)."""
    model = body.get("model")
    messages = body.get("messages")
    if not isinstance(model, str) or not model:
        raise openai_error(400, "Missing required parameter: 'model'.", param="model")
    if not isinstance(messages, list) or not messages:
        raise openai_error(400, "'messages' must be a non-empty list.", param="messages")
    index = sandbox.model_index(model)
    prompt = _prompt(messages)
    verdict = standin.judge_verdict(prompt) if _wants_json(body) else None
    reply = Reply(orjson.dumps(verdict).decode()) if verdict is not None else None
    if reply is None:
        reply = (index.best(prompt) if index is not None else None) or Reply(
            standin.generic_reply(prompt)
        )
        tools = body.get("tools")
        declared = tools if isinstance(tools, list) else None
        reply = shapes.apply_tool_choice(reply, declared, body.get("tool_choice"), prompt)
        if not reply.tool_calls and not reply.content:
            # The stand-in's call was dropped (no tools, or "none"): answer in words instead.
            reply = Reply(standin.generic_reply(prompt))
    text = reply.content
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    finish = "tool_calls" if reply.tool_calls else "stop"
    if verdict is None and not reply.tool_calls and isinstance(limit, int) and limit > 0:
        text, cut = standin.truncate_tokens(text, limit)
        finish = "length" if cut else "stop"
    prompt_tokens = sum(
        standin.approx_tokens(standin.message_text(m.get("content"))) + TOKENS_PER_MESSAGE
        for m in messages
        if isinstance(m, dict)
    )
    completion_tokens = standin.approx_tokens(text) + sum(
        standin.approx_tokens(c.name) + standin.approx_tokens(c.arguments) for c in reply.tool_calls
    )
    created = int(sandbox.now())
    return Answer(
        id="chatcmpl-" + standin.stable_id(f"{model}:{prompt}:{created}", 24),
        model=model,
        created=created,
        text=text,
        finish_reason=finish,
        usage={
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        tool_calls=reply.tool_calls,
    )


def _tool_calls(result: Answer, *, streamed: bool = False) -> list[JSON]:
    return [
        {
            **({"index": position} if streamed else {}),
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for position, call in enumerate(result.tool_calls)
    ]


def completion_body(result: Answer) -> JSON:
    return {
        "id": result.id,
        "object": "chat.completion",
        "created": result.created,
        "model": result.model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": result.text if result.text or not result.tool_calls else None,
                    "refusal": None,
                    **({"tool_calls": _tool_calls(result)} if result.tool_calls else {}),
                },
                "finish_reason": result.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": result.usage,
    }


def wants_usage(body: JSON) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def stream_chunks(result: Answer, *, include_usage: bool) -> Iterator[bytes]:
    """The answer as server-sent events, in the order OpenAI sends them (see the module doc)."""

    def event(choices: list[JSON], usage: JSON | None = None) -> bytes:
        chunk: JSON = {
            "id": result.id,
            "object": "chat.completion.chunk",
            "created": result.created,
            "model": result.model,
            "choices": choices,
        }
        if include_usage:
            chunk["usage"] = usage
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def choice(delta: JSON, finish: str | None = None) -> list[JSON]:
        return [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]

    yield event(choice({"role": "assistant", "content": "", "refusal": None}))
    if result.tool_calls:
        yield event(choice({"tool_calls": _tool_calls(result, streamed=True)}))
    for piece in standin.split_for_stream(result.text):
        yield event(choice({"content": piece}))
    yield event(choice({}, result.finish_reason))
    if include_usage:
        yield event([], result.usage)
    yield b"data: [DONE]\n\n"


def _wants_json(body: JSON) -> bool:
    response_format = body.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    return kind in ("json_object", "json_schema")


def _prompt(messages: list[Any]) -> str:
    """What the model is asked: the last user turn (or, without one, the whole conversation)."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return standin.message_text(message.get("content"))
    return " ".join(standin.message_text(m.get("content")) for m in messages if isinstance(m, dict))
