"""The outermost layer: the sandbox mark, the Host check, injected faults and the API-key check.

It wraps the whole FastAPI application (outside Starlette's own middleware), for two reasons:
every answer, including injected faults and 401s, must carry ``x-tuner-sandbox: 1``; and a
"dropped connection" fault needs the server's own ``send`` to reach the socket.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Sequence
from typing import Any

import orjson
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tuner.sandbox.errors import gateway_body
from tuner.sandbox.faults import FaultInjector
from tuner.sandbox.service import owner_of

log = logging.getLogger(__name__)

SANDBOX_HEADER = (b"x-tuner-sandbox", b"1")
CONTROL_PREFIX = "/sandbox/"
# Signed URLs carry their own signature instead of an API key (like the platform's SAS URLs).
SIGNED_PREFIX = "/sandbox/blobs/"
HEALTH_PATH = "/sandbox/health"
RETRY_AFTER_SECONDS = 1


class SandboxMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        injector: FaultInjector,
        api_key: str | None,
        allowed_hosts: Sequence[str],
    ) -> None:
        self.app = app
        self.injector = injector
        self.api_key = api_key
        # The Host check comes first (before faults and auth): a page on a rebinding domain
        # must not reach a loopback sandbox through the victim's browser. It answers 400.
        self._host_checked = TrustedHostMiddleware(
            self._serve, allowed_hosts=list(allowed_hosts), www_redirect=False
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self._host_checked(scope, receive, _marking(send))

    async def _serve(self, scope: Scope, receive: Receive, marked: Send) -> None:
        path: str = scope["path"]
        if not path.startswith(CONTROL_PREFIX):
            decision = self.injector.decide()
            if decision.delay:
                await asyncio.sleep(decision.delay)
            if decision.drop and await _drop_connection(getattr(marked, "inner", marked)):
                return
            if decision.status is not None:
                await _fault_response(decision.status, marked)
                return
        if not path.startswith(SIGNED_PREFIX) and path != HEALTH_PATH:
            key = _bearer(scope)
            if key is None or (self.api_key is not None and not _same(key, self.api_key)):
                await _json_response(401, gateway_body("Unauthorized"), marked)
                return
            scope.setdefault("state", {})["owner"] = owner_of(key)
        await self.app(scope, receive, marked)


class _Marked:
    """The server's ``send`` adding the sandbox mark; ``inner`` is the server's own."""

    def __init__(self, inner: Send) -> None:
        self.inner = inner

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), SANDBOX_HEADER]
        await self.inner(message)


def _marking(send: Send) -> Send:
    return _Marked(send)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            key = key.strip()
            return key if scheme.lower() == "bearer" and key else None
    return None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


async def _json_response(
    status: int, body: dict[str, Any], send: Send, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _fault_response(status: int, send: Send) -> None:
    if status == 429:
        # The platform's real 429 body, and a short Retry-After so clients back off briefly.
        body = {
            "object": "error",
            "message": "Rate limit exceeded",
            "type": "rate_limited",
            "param": None,
            "code": "1300",
            "raw_status_code": 429,
        }
        headers = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
    else:
        body = {
            "object": "error",
            "message": f"Injected fault: HTTP {status} from the tuner sandbox.",
            "type": "server_error" if status >= 500 else "invalid_request_error",
            "param": None,
            "code": None,
        }
        headers = []
    await _json_response(status, body, send, headers)


async def _drop_connection(send: Send) -> bool:
    """Close the client's connection without any answer; False when the server cannot.

    uvicorn's ``send`` is a method of its per-request cycle, which holds the connection's
    transport. After closing it, yielding to the event loop lets uvicorn see the connection as
    lost, so it does not try to answer 500 on a closed socket.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close"):
        log.warning("cannot drop a connection under this server; answering normally")
        return False
    transport.close()
    for _ in range(3):
        await asyncio.sleep(0)
    return True
