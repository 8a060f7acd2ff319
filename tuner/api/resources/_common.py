"""Small helpers shared by the resource groups."""

from __future__ import annotations

from urllib.parse import quote

from tuner.api.transport import Transport


def segment(value: str) -> str:
    """An id made safe as one path segment (a stray ``/`` or ``?`` must not change the route)."""
    if not value:
        raise ValueError("an id must not be empty")
    return quote(value, safe=":@")  # ":" is legal in a segment and in model ids


class Resource:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport
