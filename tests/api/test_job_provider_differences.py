"""Where the providers' shared jobs code (``tuner.api.resources._common.JobResource``) differs.

The tuned model's key: both providers ask about a job through the key that made it; when that
key is resting, another key answers. Mistral then files the tuned model under the job's owner
(in the pool's map only); OpenAI files it under the key that answered and tells the owner hook,
as for a created resource.

A 409 to a resent create: Mistral's means a duplicate of an active job, so it looks for the job
its lost attempt made (``test_jobs.py``); OpenAI's is raised as it comes.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
import respx

from tuner.api import ConflictError, KeyPool, RetryPolicy
from tuner.api.keys import ApiKey
from tuner.api.openai import OpenAIClient, OpenAIJobCreate

from .support import JOB_ID, KEY_A, KEY_B, ClientFactory, FakeTime, bearer_of, job_payload

pytestmark = pytest.mark.anyio

OPENAI_URL = "https://api.openai.test/v1"
MISTRAL_MODEL = "ft:open-mistral-7b:57d37e6c:20240531:e8b9c1a2"
OPENAI_BASE = "gpt-4o-mini-2024-07-18"
OPENAI_JOB_ID = "ftjob-abc123"
OPENAI_MODEL = "ft:gpt-4o-mini-2024-07-18:org:demo:AbC123"


def _openai_client(keys: KeyPool | tuple[str, ...], fake_time: FakeTime) -> OpenAIClient:
    return OpenAIClient(
        keys,
        base_url=OPENAI_URL,
        retry=RetryPolicy(max_attempts=4, max_elapsed=600.0),
        sleep=fake_time.sleep,
        clock=fake_time.monotonic,
        wall_clock=fake_time.wall,
        rng=random.Random(7),
    )


def _openai_job(**fields: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "id": OPENAI_JOB_ID,
        "object": "fine_tuning.job",
        "model": OPENAI_BASE,
        "status": "queued",
        "training_file": "file-train",
    }
    return {**job, **fields}


def _owner_resting(fake_time: FakeTime, job_id: str) -> tuple[KeyPool, list[tuple[str, str]]]:
    """Keys A and B; the job was made with A, which is resting; the hook's calls are kept."""
    told: list[tuple[str, str]] = []
    pool = KeyPool([KEY_A, KEY_B], clock=fake_time.monotonic)
    pool.load_owners({job_id: ApiKey(KEY_A).hint})
    pool.rest(ApiKey(KEY_A), 600.0)
    pool.on_owner = lambda resource, hint: told.append((resource, hint))
    return pool, told


async def test_mistral_files_the_tuned_model_under_the_jobs_owner(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    pool, told = _owner_resting(fake_time, JOB_ID)
    got = api.get(f"/v1/fine_tuning/jobs/{JOB_ID}").respond(
        200, json=job_payload(status="SUCCESS", fine_tuned_model=MISTRAL_MODEL)
    )
    async with make_client(pool) as client:
        await client.jobs.get(JOB_ID)
        assert client.keys.owner_of(MISTRAL_MODEL) == "…AAAA"
    assert [bearer_of(call.request) for call in got.calls] == [KEY_B]
    assert told == []


async def test_openai_files_the_tuned_model_under_the_key_that_answered(
    fake_time: FakeTime,
) -> None:
    pool, told = _owner_resting(fake_time, OPENAI_JOB_ID)
    job = _openai_job(status="succeeded", fine_tuned_model=OPENAI_MODEL)
    with respx.mock(base_url=OPENAI_URL) as api:
        got = api.get(f"/fine_tuning/jobs/{OPENAI_JOB_ID}").respond(200, json=job)
        async with _openai_client(pool, fake_time) as client:
            await client.jobs.get(OPENAI_JOB_ID)
            assert client.keys.owner_of(OPENAI_MODEL) == "…BBBB"
    assert [bearer_of(call.request) for call in got.calls] == [KEY_B]
    assert told == [(OPENAI_MODEL, "…BBBB")]


async def test_openai_raises_a_409_to_a_resent_create_without_looking_again(
    fake_time: FakeTime,
) -> None:
    spec = OpenAIJobCreate(model=OPENAI_BASE, training_file="file-train")
    # The look-up after the lost attempt finds nothing; a second one would find the job.
    empty = {"object": "list", "data": [], "has_more": False}
    found = {"object": "list", "data": [_openai_job()], "has_more": False}
    with respx.mock(base_url=OPENAI_URL) as api:
        create = api.post("/fine_tuning/jobs").mock(
            side_effect=[httpx.ReadTimeout("lost"), httpx.Response(409, json={"error": {}})]
        )
        lookup = api.get("/fine_tuning/jobs").mock(
            side_effect=[httpx.Response(200, json=empty), httpx.Response(200, json=found)]
        )
        async with _openai_client((KEY_A,), fake_time) as client:
            with pytest.raises(ConflictError):
                await client.jobs.create(spec)
    assert create.call_count == 2
    assert lookup.call_count == 1
