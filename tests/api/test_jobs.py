"""Jobs: the create duplicate guard, NOT_GIVEN bodies, filters and auto-paging."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pydantic
import pytest
import respx
from pydantic import SecretStr

from tuner.api import (
    ConflictError,
    JobCreate,
    JobStatus,
    RateLimitError,
    RetryPolicy,
    TrainingFile,
    TrainingParameters,
    WandbIntegration,
)

from .support import (
    FILE_ID,
    FILE_ID_2,
    JOB_ID,
    START_WALL,
    ClientFactory,
    FakeTime,
    job_payload,
)

pytestmark = pytest.mark.anyio

JOBS = "/v1/fine_tuning/jobs"
OTHER_JOB = "f9c0d2b3-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
WANDB_KEY = "w" * 40


def _spec(**overrides: Any) -> JobCreate:
    values: dict[str, Any] = {
        "model": "open-mistral-7b",
        "training_files": [TrainingFile(file_id=FILE_ID)],
        "suffix": "demo",
        "hyperparameters": TrainingParameters(training_steps=10, learning_rate=1e-4),
    }
    values.update(overrides)
    return JobCreate(**values)


def _listing(*jobs: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"object": "list", "data": list(jobs), "total": len(jobs)})


def _body(request: httpx.Request) -> Any:
    return json.loads(request.content)


# -- request bodies ----------------------------------------------------------------------------


def test_not_given_fields_are_left_out_and_none_is_sent_as_null() -> None:
    # Spec files name training files by bare id; that means weight 1.0, left to the server.
    minimal = JobCreate.model_validate({"model": "open-mistral-7b", "training_files": [FILE_ID]})
    assert minimal.to_body() == {
        "model": "open-mistral-7b",
        "hyperparameters": {},
        "training_files": [{"file_id": FILE_ID}],
        "auto_start": False,
    }
    explicit = JobCreate(
        model="open-mistral-7b",
        training_files=[TrainingFile(file_id=FILE_ID, weight=2.0), TrainingFile(file_id=FILE_ID_2)],
        validation_files=None,
        hyperparameters=TrainingParameters(epochs=2.5, weight_decay=None),
    )
    assert explicit.to_body() == {
        "model": "open-mistral-7b",
        "hyperparameters": {"epochs": 2.5, "weight_decay": None},
        "training_files": [{"file_id": FILE_ID, "weight": 2.0}, {"file_id": FILE_ID_2}],
        "validation_files": None,
        "auto_start": False,
    }


def test_wandb_key_is_masked_except_on_the_wire() -> None:
    spec = _spec(integrations=[WandbIntegration(project="tuning", api_key=SecretStr(WANDB_KEY))])
    assert WANDB_KEY not in repr(spec)
    assert WANDB_KEY not in str(spec.model_dump())
    assert spec.to_body()["integrations"] == [
        {"type": "wandb", "project": "tuning", "api_key": WANDB_KEY}
    ]


def test_suffix_longer_than_18_is_refused_before_any_request() -> None:
    with pytest.raises(pydantic.ValidationError, match="at most 18 characters, got 19"):
        _spec(suffix="s" * 19)
    assert _spec(suffix="s" * 18).suffix == "s" * 18


@pytest.mark.parametrize(
    "suffix", ["v1\u001b[2J", "x\u001b]8;;http://e/\u001b\\", "a\u0007", "a/b"]
)
def test_a_suffix_with_control_characters_is_refused_before_any_request(suffix: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="suffix: holds"):
        _spec(suffix=suffix)
    assert _spec(suffix="support-v1.2_é").suffix == "support-v1.2_é"


def test_spec_checks_ranges_unknown_fields_and_needs_training_data() -> None:
    with pytest.raises(pydantic.ValidationError):
        TrainingParameters(learning_rate=2.0)
    with pytest.raises(pydantic.ValidationError):
        TrainingParameters(seq_len=50)
    with pytest.raises(pydantic.ValidationError, match="Extra inputs"):
        JobCreate.model_validate({"model": "m", "training_files": [FILE_ID], "max_steps": 3})
    with pytest.raises(pydantic.ValidationError, match="at least one training file"):
        JobCreate(model="m")


async def test_create_sends_the_spec_and_records_the_owner(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = api.post(JOBS).respond(200, json=job_payload())
    async with make_client() as client:
        job = await client.jobs.create(_spec())
        assert client.keys.owner_of(JOB_ID) == "…AAAA"
    assert job.id == JOB_ID
    assert job.status == JobStatus.QUEUED
    assert _body(route.calls.last.request) == {
        "model": "open-mistral-7b",
        "hyperparameters": {"training_steps": 10, "learning_rate": 0.0001},
        "training_files": [{"file_id": FILE_ID}],
        "suffix": "demo",
        "auto_start": False,
    }


# -- the duplicate guard -----------------------------------------------------------------------


async def test_dropped_first_attempt_then_409_returns_the_existing_job(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    create = api.post(JOBS).mock(
        side_effect=[
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            httpx.Response(409, json={"detail": "A job with this configuration is running."}),
        ]
    )
    # The first look-up does not see the job yet (eventual consistency); the second does.
    lookup = api.get(JOBS).mock(side_effect=[_listing(), _listing(job_payload())])
    async with make_client() as client:
        job = await client.jobs.create(_spec())
    assert job.id == JOB_ID
    assert create.call_count == 2
    assert lookup.call_count == 2
    params = lookup.calls.last.request.url.params
    assert params["model"] == "open-mistral-7b"
    assert params["suffix"] == "demo"
    started = datetime.fromtimestamp(START_WALL + 100 - 120, UTC)
    assert datetime.fromisoformat(params["created_after"]) == started


async def test_timeout_after_sending_looks_the_job_up_instead_of_resending(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    create = api.post(JOBS).mock(side_effect=httpx.ReadTimeout("no answer"))
    api.get(JOBS).mock(return_value=_listing(job_payload()))
    async with make_client() as client:
        job = await client.jobs.create(_spec())
    assert job.id == JOB_ID
    assert create.call_count == 1


async def test_nothing_found_means_the_create_is_sent_again(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    create = api.post(JOBS).mock(
        side_effect=[httpx.ReadError("connection reset"), httpx.Response(200, json=job_payload())]
    )
    lookup = api.get(JOBS).mock(return_value=_listing())
    async with make_client() as client:
        job = await client.jobs.create(_spec())
    assert job.id == JOB_ID
    assert create.call_count == 2
    assert lookup.call_count == 1


async def test_a_5xx_answer_may_have_created_the_job(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    create = api.post(JOBS).mock(side_effect=[httpx.Response(502, text="Bad Gateway")])
    api.get(JOBS).mock(return_value=_listing(job_payload()))
    async with make_client() as client:
        job = await client.jobs.create(_spec())
    assert job.id == JOB_ID
    assert create.call_count == 1


async def test_a_refused_connection_is_resent_without_a_look_up(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    create = api.post(JOBS).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=job_payload())]
    )
    lookup = api.get(JOBS).mock(return_value=_listing())
    async with make_client() as client:
        await client.jobs.create(_spec())
    assert create.call_count == 2
    assert lookup.call_count == 0


async def test_a_first_409_is_a_real_conflict(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    api.post(JOBS).respond(409, json={"detail": "duplicate"})
    lookup = api.get(JOBS).mock(return_value=_listing(job_payload()))
    async with make_client() as client:
        with pytest.raises(ConflictError, match="duplicate"):
            await client.jobs.create(_spec())
    assert lookup.call_count == 0


async def test_look_up_ignores_jobs_that_are_not_this_spec(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    other_files = job_payload(OTHER_JOB, training_files=[FILE_ID_2])
    too_old = job_payload(OTHER_JOB, created_at=int(START_WALL) - 3600)
    other_suffix = job_payload(OTHER_JOB, suffix="other")
    create = api.post(JOBS).mock(
        side_effect=[httpx.ReadTimeout("lost"), httpx.Response(200, json=job_payload())]
    )
    api.get(JOBS).mock(return_value=_listing(other_files, too_old, other_suffix))
    async with make_client() as client:
        job = await client.jobs.create(_spec())
    assert job.id == JOB_ID
    assert create.call_count == 2


async def test_409_after_an_unfound_drop_is_raised(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    api.post(JOBS).mock(
        side_effect=[httpx.ReadTimeout("lost"), httpx.Response(409, json={"detail": "dup"})]
    )
    api.get(JOBS).mock(return_value=_listing())
    async with make_client() as client:
        with pytest.raises(ConflictError):
            await client.jobs.create(_spec())


async def test_create_gives_up_within_the_budget(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    create = api.post(JOBS).respond(429, json={"message": "Rate limit exceeded"})
    async with make_client(retry=RetryPolicy(max_attempts=2, backoff_max=1.0)) as client:
        with pytest.raises(RateLimitError, match="Rate limit exceeded"):
            await client.jobs.create(_spec())
    assert create.call_count == 2


async def test_create_does_not_retry_before_a_long_retry_after(
    api: respx.MockRouter, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    create = api.post(JOBS).respond(
        429, headers={"Retry-After": "900"}, json={"message": "Rate limit exceeded"}
    )
    async with make_client(retry=RetryPolicy(max_attempts=5, retry_after_cap=60.0)) as client:
        with pytest.raises(RateLimitError, match="asked to wait 900 s") as caught:
            await client.jobs.create(_spec())
    assert create.call_count == 1
    assert fake_time.sleeps == []
    assert caught.value.retry_after == 900.0


# -- listing and single jobs -------------------------------------------------------------------


async def test_list_pages_through_every_job_with_every_filter(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    ids = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(5)]
    pages = {
        "0": [job_payload(ids[0]), job_payload(ids[1])],
        "1": [job_payload(ids[2]), job_payload(ids[3])],
        "2": [job_payload(ids[4])],
    }

    def answer(request: httpx.Request) -> httpx.Response:
        data = pages[request.url.params["page"]]
        return httpx.Response(200, json={"object": "list", "data": data, "total": 5})

    route = api.get(JOBS).mock(side_effect=answer)
    since = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with make_client() as client:
        jobs = [
            job.id
            async for job in client.jobs.list(
                page_size=2,
                model="open-mistral-7b",
                created_after=since,
                created_before=datetime(2026, 2, 1, tzinfo=UTC),
                created_by_me=True,
                status=JobStatus.RUNNING,
                wandb_project="proj",
                wandb_name="run",
                suffix="demo",
            )
        ]
    assert jobs == ids
    assert [call.request.url.params["page"] for call in route.calls] == ["0", "1", "2"]
    params = route.calls[0].request.url.params
    assert dict(params) == {
        "model": "open-mistral-7b",
        "created_after": "2026-01-02T03:04:05+00:00",
        "created_before": "2026-02-01T00:00:00+00:00",
        "created_by_me": "true",
        "status": "RUNNING",
        "wandb_project": "proj",
        "wandb_name": "run",
        "suffix": "demo",
        "page": "0",
        "page_size": "2",
    }


async def test_list_stops_at_total_and_leaves_unset_filters_out(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    full_page = {"object": "list", "data": [job_payload(), job_payload(OTHER_JOB)], "total": 2}
    route = api.get(JOBS).respond(200, json=full_page)
    async with make_client() as client:
        jobs = await client.jobs.list(page_size=2).to_list()
    assert len(jobs) == 2
    assert route.call_count == 1
    assert dict(route.calls[0].request.url.params) == {"page": "0", "page_size": "2"}


async def test_list_survives_a_server_that_ignores_page(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    same = {"object": "list", "data": [job_payload(), job_payload(OTHER_JOB)], "total": None}
    route = api.get(JOBS).respond(200, json=same)
    async with make_client() as client:
        jobs = await client.jobs.list(page_size=2).to_list()
    assert [job.id for job in jobs] == [JOB_ID, OTHER_JOB]
    assert route.call_count == 2


async def test_list_can_start_at_a_page_and_stop_at_a_limit(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    page = {"object": "list", "data": [job_payload(), job_payload(OTHER_JOB)], "total": 100}
    route = api.get(JOBS).respond(200, json=page)
    async with make_client() as client:
        jobs = await client.jobs.list(page=3, page_size=2).to_list(limit=1)
    assert len(jobs) == 1
    assert route.calls[0].request.url.params["page"] == "3"


async def test_get_start_cancel_parse_the_detailed_job(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    detailed = job_payload(
        status="SUCCESS",
        fine_tuned_model="ft:open-mistral-7b:57d37e6c:20240531:e8b9c1a2",
        trained_tokens=1310720,
        metadata={"cost": 2.6214, "cost_currency": "USD", "train_tokens": 1310720},
        integrations=[{"type": "wandb", "project": "p", "name": None, "run_name": "r"}],
        events=[
            {"name": "status-updated", "data": {"status": "RUNNING"}, "created_at": 1},
            {"name": "status-updated", "created_at": 2},
        ],
        checkpoints=[
            {
                "metrics": {
                    "train_loss": 1.2,
                    "valid_loss": None,
                    "valid_mean_token_accuracy": 1.76,
                },
                "step_number": 10,
                "created_at": 3,
            }
        ],
        hyperparameters={"training_steps": 10, "epochs": 47.74, "seq_len": 16384},
        brand_new_field={"x": 1},
    )
    api.get(f"{JOBS}/{JOB_ID}").respond(200, json=detailed)
    api.post(f"{JOBS}/{JOB_ID}/start").respond(200, json=job_payload(status="QUEUED"))
    api.post(f"{JOBS}/{JOB_ID}/cancel").respond(
        200, json=job_payload(status="CANCELLATION_REQUESTED")
    )
    async with make_client() as client:
        job = await client.jobs.get(JOB_ID)
        assert (await client.jobs.start(JOB_ID)).status == "QUEUED"
        assert (await client.jobs.cancel(JOB_ID)).status == "CANCELLATION_REQUESTED"
    assert job.is_terminal
    assert job.metadata is not None and job.metadata.cost == 2.6214
    assert job.events[1].data is None
    assert job.checkpoints[0].metrics.valid_mean_token_accuracy == 1.76
    assert job.hyperparameters.epochs == 47.74
    assert job.integrations[0].run_name == "r"
    assert job.model_extra == {"brand_new_field": {"x": 1}}
