"""No API key (nor a W&B key from a job spec) in any error message, repr or log record."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from tuner.api import (
    APIError,
    JobCreate,
    RetryPolicy,
    TrainingFile,
    TunerClient,
    WandbIntegration,
)

from .support import ALL_KEYS, FILE_ID, KEY_A, KEY_B, ClientFactory, file_payload

pytestmark = pytest.mark.anyio

WANDB_KEY = "wandbsecret-" + "9" * 28
SECRETS = (*ALL_KEYS, WANDB_KEY)
FILES = f"/v1/files/{FILE_ID}"
Scenario = Callable[[respx.MockRouter, TunerClient], Coroutine[Any, Any, Any]]


async def _echoing_401(api: respx.MockRouter, client: TunerClient) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={"message": f"Invalid key {request.headers['authorization']}", "request_id": "r"},
        )

    api.get(FILES).mock(side_effect=answer)
    await client.files.get(FILE_ID)


async def _echoing_422(api: respx.MockRouter, client: TunerClient) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        key = request.headers["authorization"].removeprefix("Bearer ")
        detail = [{"loc": ["header", key], "msg": f"bad key {key}", "input": key}]
        return httpx.Response(422, json={"detail": detail})

    api.get(FILES).mock(side_effect=answer)
    await client.files.get(FILE_ID)


async def _wandb_key_echoed(api: respx.MockRouter, client: TunerClient) -> None:
    detail = [
        {
            "loc": ["body", "integrations", 0, "api_key"],
            "msg": f"String should have at most 40 characters: {WANDB_KEY}",
            "input": WANDB_KEY,
        }
    ]
    api.post("/v1/fine_tuning/jobs").respond(422, json={"detail": detail})
    spec = JobCreate(
        model="open-mistral-7b",
        training_files=[TrainingFile(file_id=FILE_ID)],
        integrations=[WandbIntegration(project="p", api_key=SecretStr(WANDB_KEY))],
    )
    await client.jobs.create(spec)


async def _server_errors_until_the_budget_ends(api: respx.MockRouter, client: TunerClient) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text=f"crash while handling {request.headers['authorization']}")

    api.get(FILES).mock(side_effect=answer)
    await client.files.get(FILE_ID)


async def _connection_error_with_the_header(api: respx.MockRouter, client: TunerClient) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy said no to {request.headers['authorization']}")

    api.get(FILES).mock(side_effect=fail)
    await client.files.get(FILE_ID)


async def _timeout(api: respx.MockRouter, client: TunerClient) -> None:
    api.get(FILES).mock(side_effect=httpx.ReadTimeout("timed out"))
    await client.files.get(FILE_ID)


async def _rate_limited(api: respx.MockRouter, client: TunerClient) -> None:
    api.get(FILES).respond(429, headers={"Retry-After": "9999"}, json={"message": "slow down"})
    await client.files.get(FILE_ID)


async def _every_key_rejected(api: respx.MockRouter, client: TunerClient) -> None:
    api.get(FILES).respond(401, json={"message": "Unauthorized"})
    with contextlib.suppress(APIError):
        await client.files.get(FILE_ID)
    await client.files.get(FILE_ID)  # no key left at all now


SCENARIOS: list[Scenario] = [
    _echoing_401,
    _echoing_422,
    _wandb_key_echoed,
    _server_errors_until_the_budget_ends,
    _connection_error_with_the_header,
    _timeout,
    _rate_limited,
    _every_key_rejected,
]


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _error_texts(error: BaseException) -> list[str]:
    texts = [str(error), repr(error)]
    if isinstance(error, APIError):
        texts += [error.message, repr(error.body), str(error.body), repr(error.__dict__)]
    return texts


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__.strip("_"))
async def test_no_secret_in_errors_or_logs(
    scenario: Scenario,
    api: respx.MockRouter,
    make_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx's included
    async with make_client((KEY_A, KEY_B), retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(APIError) as caught:
            await scenario(api, client)
        texts = _error_texts(caught.value)
        texts += [repr(client), repr(client.keys), repr(client.keys.snapshot())]
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(record.args) for record in caplog.records]
    assert caplog.records, "the scenario should have logged something to check"
    leaks = [secret for text in texts for secret in _leaks(text)]
    assert leaks == []


async def test_the_key_still_reaches_the_server(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    # The counterpart of the tests above: scrubbing must not touch what is sent.
    route = api.get(FILES).respond(200, json=file_payload())
    async with make_client((KEY_A,)) as client:
        await client.files.get(FILE_ID)
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY_A}"
