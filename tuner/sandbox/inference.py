"""Chat completions and embeddings, answered by the deterministic stand-ins of :mod:`standin`.

Response and chunk shapes follow ``docs/api.md#chat-completions`` and the SDK's models
(``ChatCompletionResponse``, ``CompletionChunk``, ``EmbeddingResponse``).
"""

from __future__ import annotations

import base64
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from tuner.sandbox import errors, standin
from tuner.sandbox.catalog import base_model
from tuner.sandbox.requests import ChatIn, ChatMessageIn, EmbeddingIn
from tuner.sandbox.service import Sandbox
from tuner.sandbox.standin import Reply

JSON = dict[str, Any]
# Tokens the chat template adds around each message ([INST], [/INST], BOS/EOS...).
TOKENS_PER_MESSAGE = 4
MAX_EMBEDDING_DIMENSION = 8192


@dataclass(frozen=True, slots=True)
class Answer:
    model: str
    reply: Reply
    finish_reason: str
    usage: JSON
    created: int
    id: str


def _prompt(messages: list[ChatMessageIn]) -> str:
    """What the model is asked: the last user turn (or, without one, the whole conversation)."""
    for message in reversed(messages):
        if message.role == "user":
            return standin.message_text(message.content)
    return " ".join(standin.message_text(m.content) for m in messages)


def _prompt_tokens(body: ChatIn) -> int:
    tokens = sum(
        standin.approx_tokens(standin.message_text(m.content)) + TOKENS_PER_MESSAGE
        for m in body.messages
    )
    if body.tools:
        tokens += standin.approx_tokens(orjson.dumps(body.tools).decode())
    return tokens + 1  # BOS


def _cut_at_stop(text: str, stop: str | list[str] | None) -> str:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    cut = len(text)
    for marker in stops:
        if marker and marker in text:
            cut = min(cut, text.index(marker))
    return text[:cut]


def answer(sandbox: Sandbox, body: ChatIn) -> Answer:
    # The base model is looked up only to refuse models that cannot chat.
    _, tuned = sandbox.chat_model(body.model)
    prompt = _prompt(body.messages)
    verdict = standin.judge_verdict(prompt) if _wants_json(body) else None
    if verdict is not None:
        return _answered(sandbox, body, Reply(orjson.dumps(verdict).decode()), "stop")
    reply: Reply | None = None
    if tuned is not None:
        reply = sandbox.reply_index(tuned).best(prompt)
    if reply is None or (reply.tool_calls and body.tool_choice == "none"):
        reply = Reply(standin.generic_reply(prompt))
    finish = "tool_calls" if reply.tool_calls else "stop"
    content = _cut_at_stop(reply.content, body.stop)
    if not reply.tool_calls and body.max_tokens is not None:
        content, cut = standin.truncate_tokens(content, body.max_tokens)
        finish = "length" if cut else finish
    if not reply.tool_calls and _wants_json(body):
        content = orjson.dumps({"answer": content}).decode()
    return _answered(sandbox, body, Reply(content, reply.tool_calls), finish)


def _answered(sandbox: Sandbox, body: ChatIn, reply: Reply, finish: str) -> Answer:
    completion = sum(
        standin.approx_tokens(c.name) + standin.approx_tokens(c.arguments) for c in reply.tool_calls
    ) + standin.approx_tokens(reply.content)
    prompt_tokens = _prompt_tokens(body)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }
    return Answer(body.model, reply, finish, usage, int(sandbox.now()), uuid.uuid4().hex)


def _wants_json(body: ChatIn) -> bool:
    kind = (body.response_format or {}).get("type")
    return kind in ("json_object", "json_schema")


def _tool_calls(reply: Reply) -> list[JSON] | None:
    if not reply.tool_calls:
        return None
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
            "index": index,
        }
        for index, call in enumerate(reply.tool_calls)
    ]


def completion_body(result: Answer, choices: int) -> JSON:
    message = {
        "role": "assistant",
        "content": result.reply.content,
        "tool_calls": _tool_calls(result.reply),
        "prefix": False,
    }
    return {
        "id": result.id,
        "object": "chat.completion",
        "model": result.model,
        "created": result.created,
        "usage": result.usage,
        "choices": [
            {"index": index, "finish_reason": result.finish_reason, "message": message}
            for index in range(choices)
        ],
    }


def stream_chunks(result: Answer, choices: int) -> Iterator[bytes]:
    """Server-sent events: a role chunk, content pieces, a final chunk with usage, [DONE]."""

    def chunk(index: int, delta: JSON, finish: str | None, usage: JSON | None) -> bytes:
        body = {
            "id": result.id,
            "object": "chat.completion.chunk",
            "created": result.created,
            "model": result.model,
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
            "usage": usage,
        }
        return b"data: " + orjson.dumps(body) + b"\n\n"

    for index in range(choices):
        yield chunk(index, {"role": "assistant", "content": ""}, None, None)
        calls = _tool_calls(result.reply)
        if calls:
            yield chunk(index, {"tool_calls": calls}, None, None)
        for piece in standin.split_for_stream(result.reply.content):
            yield chunk(index, {"content": piece}, None, None)
        last = index == choices - 1
        yield chunk(index, {"content": ""}, result.finish_reason, result.usage if last else None)
    yield b"data: [DONE]\n\n"


def embeddings(sandbox: Sandbox, body: EmbeddingIn) -> JSON:
    spec = base_model(body.model)
    if spec is None or not spec.embeddings:
        raise errors.invalid_model(body.model)
    texts = [body.input] if isinstance(body.input, str) else body.input
    dimension = body.output_dimension or standin.EMBEDDING_DIMENSION
    if dimension > MAX_EMBEDDING_DIMENSION:
        raise errors.standard_error(
            400,
            f"output_dimension must be at most {MAX_EMBEDDING_DIMENSION}",
            param="output_dimension",
        )
    dtype = body.output_dtype or "float"
    as_base64 = body.encoding_format == "base64"
    data = [
        {
            "object": "embedding",
            "embedding": _encode(standin.embed(text, dimension), dtype, as_base64=as_base64),
            "index": index,
        }
        for index, text in enumerate(texts)
    ]
    tokens = sum(standin.approx_tokens(text) for text in texts)
    return {
        "id": uuid.uuid4().hex,
        "object": "list",
        "model": body.model,
        "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens},
        "data": data,
    }


def _encode(vector: list[float], dtype: str, *, as_base64: bool) -> list[float] | list[int] | str:
    values: list[float] | list[int]
    if dtype == "float":
        values = vector
        packed = struct.pack(f"<{len(vector)}f", *vector)
    elif dtype in ("int8", "uint8"):
        if dtype == "int8":
            values = [max(-128, min(127, round(v * 127))) for v in vector]
        else:
            values = [max(0, min(255, round((v + 1) * 127.5))) for v in vector]
        packed = struct.pack(f"<{len(values)}{'b' if dtype == 'int8' else 'B'}", *values)
    else:
        # One bit per dimension (1 = positive), packed eight to a byte.
        bits = [1 if v > 0 else 0 for v in vector]
        bits += [0] * (-len(bits) % 8)
        raw = [int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8)]
        values = raw if dtype == "ubinary" else [b - 256 if b > 127 else b for b in raw]
        packed = bytes(raw)
    return base64.b64encode(packed).decode() if as_base64 else values
