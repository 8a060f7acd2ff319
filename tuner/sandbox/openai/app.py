"""The OpenAI-dialect ASGI application, wrapped in the same sandbox middleware as the Mistral
one: ``x-tuner-sandbox: 1`` on every answer, seeded faults, the bearer-key check and the Host
names it answers."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp

from tuner.sandbox.app import LOOPBACK_HOST_NAMES, fastapi_app, wrapped
from tuner.sandbox.faults import FaultPlan
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
    app = fastapi_app("tuner sandbox (OpenAI)", sandbox, max_upload_bytes)
    install_handlers(app)
    app.include_router(router)
    return wrapped(app, faults=faults, seed=seed, api_key=api_key, allowed_hosts=allowed_hosts)
