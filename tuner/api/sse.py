"""Server-sent events: the ``text/event-stream`` framing used by streamed chat completions."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

DONE = "[DONE]"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    data: str
    event: str | None = None
    id: str | None = None


class _EventBuilder:
    def __init__(self) -> None:
        self.data: list[str] = []
        self.event: str | None = None
        self.id: str | None = None

    def feed(self, line: str) -> None:
        if line.startswith(":"):
            return  # a comment, used as keep-alive
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self.data.append(value)
        elif name == "event":
            self.event = value
        elif name == "id":
            self.id = value
        # "retry" and unknown fields are ignored, as the SSE spec says.

    def build(self) -> ServerSentEvent | None:
        if not self.data and self.event is None:
            return None
        event = ServerSentEvent(data="\n".join(self.data), event=self.event, id=self.id)
        self.data, self.event, self.id = [], None, None
        return event


async def iter_sse(lines: AsyncIterable[str]) -> AsyncIterator[ServerSentEvent]:
    """Events from the lines of a stream (line endings already stripped); a blank line ends one."""
    builder = _EventBuilder()
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if line:
            builder.feed(line)
            continue
        event = builder.build()
        if event is not None:
            yield event
    last = builder.build()
    if last is not None:
        yield last
