"""The ASGI application: FastAPI routes wrapped in the sandbox middleware."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.types import ASGIApp

from tuner.sandbox.errors import install_handlers
from tuner.sandbox.faults import FaultInjector, FaultPlan
from tuner.sandbox.middleware import SandboxMiddleware
from tuner.sandbox.routes import router
from tuner.sandbox.service import Sandbox

# The platform's per-file upload limit.
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
# The Host names a loopback sandbox answers (ports are ignored); any other gets 400, so a page
# on a DNS-rebinding domain cannot drive it through a browser.
LOOPBACK_HOST_NAMES = ("127.0.0.1", "localhost", "[::1]")


def create_app(
    sandbox: Sandbox,
    *,
    faults: FaultPlan | None = None,
    seed: int = 0,
    api_key: str | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    allowed_hosts: Sequence[str] = LOOPBACK_HOST_NAMES,
) -> ASGIApp:
    app = fastapi_app("tuner sandbox", sandbox, max_upload_bytes)
    install_handlers(app)
    app.include_router(router)
    return wrapped(app, faults=faults, seed=seed, api_key=api_key, allowed_hosts=allowed_hosts)


def fastapi_app(title: str, sandbox: object, max_upload_bytes: int) -> FastAPI:
    """A sandbox's FastAPI app (either dialect) with its state; the caller adds its routes."""
    # No /docs or /openapi.json: the platform has none, and they would need the API key anyway.
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = sandbox
    app.state.max_upload_bytes = max_upload_bytes
    return app


def wrapped(
    app: FastAPI,
    *,
    faults: FaultPlan | None,
    seed: int,
    api_key: str | None,
    allowed_hosts: Sequence[str],
) -> ASGIApp:
    """``app`` inside the sandbox middleware: the sandbox header, seeded faults, the key check
    and the Host names it answers (the same for both dialects)."""
    injector = FaultInjector(faults or FaultPlan(), seed)
    return SandboxMiddleware(app, injector=injector, api_key=api_key, allowed_hosts=allowed_hosts)
