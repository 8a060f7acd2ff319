"""Small helpers shared by the resource groups."""

from __future__ import annotations

from urllib.parse import quote

from tuner.api.errors import InvalidIdError
from tuner.api.transport import Transport

# Ids the URL layer would not keep as one segment: "." and ".." are path-normalised away
# (``files delete .`` would send ``DELETE /v1/files``), and a "/" (even escaped, which some
# servers and proxies decode) would change the route.
_DOT_SEGMENTS = frozenset({".", ".."})


def segment(value: str) -> str:
    """An id as one path segment, the one place every resource builds its paths with: refused
    (``InvalidIdError``, before any request) when it cannot stay one segment; otherwise escaped
    (a stray ``?`` or ``#`` must not change the route)."""
    if not value:
        raise InvalidIdError("an id must not be empty")
    if value in _DOT_SEGMENTS or "/" in value or "\\" in value:
        raise InvalidIdError(
            f"{value!r} is not an id: ids cannot be '.' or '..' or hold '/' or '\\'"
        )
    return quote(value, safe=":@")  # ":" is legal in a segment and in model ids


class Resource:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport
