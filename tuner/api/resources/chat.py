"""``/v1/chat/completions``: one-shot completions and SSE streams of chunks."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

import httpx
import orjson

from tuner.api.errors import APIConnectionError, APIError, describe_error_body
from tuner.api.resources._common import Resource
from tuner.api.sentinel import NOT_GIVEN, NotGiven, omit_not_given
from tuner.api.sse import DONE, iter_sse
from tuner.api.transport import RequestSpec, Transport, stream_error
from tuner.api.wire import ChatCompletion, ChatCompletionChunk

CHAT_PATH = "/v1/chat/completions"
Message = Mapping[str, Any]
ToolChoice = Literal["auto", "none", "any", "required"] | Mapping[str, Any]


class Chat(Resource):
    async def complete(
        self,
        *,
        model: str,
        messages: Sequence[Message],
        temperature: float | NotGiven = NOT_GIVEN,
        top_p: float | NotGiven = NOT_GIVEN,
        max_tokens: int | NotGiven = NOT_GIVEN,
        stop: str | Sequence[str] | NotGiven = NOT_GIVEN,
        random_seed: int | NotGiven = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        tool_choice: ToolChoice | NotGiven = NOT_GIVEN,
        presence_penalty: float | NotGiven = NOT_GIVEN,
        frequency_penalty: float | NotGiven = NOT_GIVEN,
        n: int | NotGiven = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        safe_prompt: bool | NotGiven = NOT_GIVEN,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ChatCompletion:
        """One completion. ``extra_body`` carries newer fields this signature does not name."""
        body = _body(locals(), stream=False)  # first statement: locals() holds only the arguments
        sent = await self._transport.request(RequestSpec("POST", CHAT_PATH, json=body))
        return sent.parse(ChatCompletion)

    def stream(
        self,
        *,
        model: str,
        messages: Sequence[Message],
        temperature: float | NotGiven = NOT_GIVEN,
        top_p: float | NotGiven = NOT_GIVEN,
        max_tokens: int | NotGiven = NOT_GIVEN,
        stop: str | Sequence[str] | NotGiven = NOT_GIVEN,
        random_seed: int | NotGiven = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        tool_choice: ToolChoice | NotGiven = NOT_GIVEN,
        presence_penalty: float | NotGiven = NOT_GIVEN,
        frequency_penalty: float | NotGiven = NOT_GIVEN,
        n: int | NotGiven = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        safe_prompt: bool | NotGiven = NOT_GIVEN,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ChatStream:
        """A stream of chunks: ``async for chunk in client.chat.stream(...)``.

        The request is sent on the first iteration; the stream ends at ``data: [DONE]``. Use
        ``async with`` (or ``aclose()``) to release the connection when stopping early.
        """
        body = _body(locals(), stream=True)  # first statement: locals() holds only the arguments
        spec = RequestSpec(
            "POST", CHAT_PATH, json=body, headers={"Accept": "text/event-stream"}, stream=True
        )
        return ChatStream(self._transport, spec)


def _body(arguments: Mapping[str, Any], *, stream: bool) -> dict[str, object]:
    """The JSON body from a method's arguments: NOT_GIVEN ones left out, ``stream`` set."""
    fields = {k: v for k, v in arguments.items() if k not in {"self", "extra_body"}}
    body = {k: _plain(v) for k, v in omit_not_given(fields).items()}
    body["stream"] = stream
    extra = arguments.get("extra_body")
    if extra:
        body.update({k: _plain(v) for k, v in extra.items()})
    return body


def _plain(value: object) -> object:
    """Mappings and sequences of any kind as dicts and lists, so the JSON encoder takes them."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(item) for item in value]
    return value


class ChatStream:
    """An async iterator of ``ChatCompletionChunk`` over one SSE response."""

    def __init__(self, transport: Transport, spec: RequestSpec) -> None:
        self._transport = transport
        self._spec = spec
        self._response: httpx.Response | None = None
        self._chunks: AsyncGenerator[ChatCompletionChunk, None] | None = None
        self._closed = False

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        if self._closed:
            raise StopAsyncIteration
        try:
            if self._chunks is None:
                sent = await self._transport.request(self._spec)
                self._response = sent.response
                self._chunks = self._read(sent.response)
            return await anext(self._chunks)
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        self._closed = True
        if self._chunks is not None:
            await self._chunks.aclose()
        if self._response is not None:
            await self._response.aclose()

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _read(self, response: httpx.Response) -> AsyncGenerator[ChatCompletionChunk, None]:
        finished = False
        try:
            async for event in iter_sse(response.aiter_lines()):
                if event.data.strip() == DONE:
                    return
                chunk = self._parse(event.event, event.data)
                finished = finished or any(c.finish_reason for c in chunk.choices)
                yield chunk
        except httpx.HTTPError as exc:
            raise stream_error(self._spec.method, self._spec.path, exc) from exc
        if not finished:
            raise APIConnectionError(
                f"{self._spec.method} {self._spec.path}: the stream ended before [DONE]",
                method=self._spec.method,
                url=self._spec.path,
            )

    def _parse(self, event: str | None, data: str) -> ChatCompletionChunk:
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise APIError(f"malformed stream event: {data[:200]!r}") from None
        if event == "error" or (isinstance(payload, dict) and payload.get("object") == "error"):
            raise APIError(describe_error_body(payload, "the stream reported an error"))
        return ChatCompletionChunk.model_validate(payload)
