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

from tuner.sandbox import standin
from tuner.sandbox.openai.service import OpenAISandbox, openai_error

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
    if verdict is not None:
        text = orjson.dumps(verdict).decode()
    else:
        reply = index.best(prompt) if index is not None else None
        text = reply.content if reply is not None else standin.generic_reply(prompt)
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    finish = "stop"
    if verdict is None and isinstance(limit, int) and limit > 0:
        text, cut = standin.truncate_tokens(text, limit)
        finish = "length" if cut else "stop"
    prompt_tokens = sum(
        standin.approx_tokens(standin.message_text(m.get("content"))) + TOKENS_PER_MESSAGE
        for m in messages
        if isinstance(m, dict)
    )
    completion_tokens = standin.approx_tokens(text)
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
    )


def completion_body(result: Answer) -> JSON:
    return {
        "id": result.id,
        "object": "chat.completion",
        "created": result.created,
        "model": result.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.text, "refusal": None},
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
