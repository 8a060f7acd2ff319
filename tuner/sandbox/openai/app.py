"""The OpenAI-dialect ASGI application, wrapped in the same sandbox middleware as the Mistral
one: ``x-tuner-sandbox: 1`` on every answer, seeded faults, the bearer-key check and the Host
names it answers."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.types import ASGIApp

from tuner.sandbox.app import LOOPBACK_HOST_NAMES
from tuner.sandbox.faults import FaultInjector, FaultPlan
from tuner.sandbox.middleware import SandboxMiddleware
from tuner.sandbox.openai.routes import MAX_UPLOAD_BYTES, install_handlers, router
from tuner.sandbox.openai.service import OpenAISandbox


def create_openai_app(
    sandbox: OpenAISandbox,
    *,
    faults: FaultPlan | None = None,
    seed: int = 0,
    api_key: str | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    allowed_hosts: Sequence[str] = LOOPBACK_HOST_NAMES,
) -> ASGIApp:
    app = FastAPI(title="tuner sandbox (OpenAI)", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = sandbox
    app.state.max_upload_bytes = max_upload_bytes
    install_handlers(app)
    app.include_router(router)
    injector = FaultInjector(faults or FaultPlan(), seed)
    return SandboxMiddleware(app, injector=injector, api_key=api_key, allowed_hosts=allowed_hosts)
