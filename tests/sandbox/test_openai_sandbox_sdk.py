"""Contract tests: the official ``openai`` SDK against ``tuner sandbox serve --provider openai``.

The SDK parses every answer with its own models (``FileObject``, ``FineTuningJob``, ...), so
these prove the sandbox's shapes are ones OpenAI's own client reads. Time moves only by
``sandbox.advance``: no test waits on the wall clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tuner.sandbox import SandboxHandle
from tuner.sandbox.openai import training

from .conftest import StartSandbox
from .support import API_KEY, QUESTIONS, WEATHER_TOOL, jsonl, tool_conversation, training_data

BASE = "gpt-4o-mini-2024-07-18"
# Long enough for validation, the queue and every step of a small job.
PAST_THE_END = 10_000


@pytest.fixture
def oai_sandbox(start_sandbox: StartSandbox) -> SandboxHandle:
    return start_sandbox(provider="openai")


@pytest.fixture
def sdk(oai_sandbox: SandboxHandle) -> Iterator[OpenAI]:
    with OpenAI(api_key=API_KEY, base_url=oai_sandbox.url + "/v1", max_retries=0) as client:
        yield client


def preference_data() -> bytes:
    records: list[dict[str, Any]] = [
        {
            "input": {"messages": [{"role": "user", "content": question}]},
            "preferred_output": [{"role": "assistant", "content": answer}],
            "non_preferred_output": [{"role": "assistant", "content": "I do not know."}],
        }
        for question, answer in QUESTIONS
    ]
    return jsonl(records)


def upload(sdk: OpenAI, content: bytes, name: str = "train.jsonl") -> str:
    return sdk.files.create(file=(name, content), purpose="fine-tune").id


def test_upload_list_get_delete(sdk: OpenAI) -> None:
    content = training_data()
    uploaded = sdk.files.create(file=("train.jsonl", content), purpose="fine-tune")
    assert uploaded.id.startswith("file-")
    assert uploaded.bytes == len(content)
    assert uploaded.filename == "train.jsonl"
    assert uploaded.purpose == "fine-tune"
    assert sdk.files.retrieve(uploaded.id).id == uploaded.id
    assert sdk.files.content(uploaded.id).read() == content
    assert [f.id for f in sdk.files.list(purpose="fine-tune")] == [uploaded.id]
    deleted = sdk.files.delete(uploaded.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        sdk.files.retrieve(uploaded.id)


def test_supervised_job_runs_to_succeeded(sdk: OpenAI, oai_sandbox: SandboxHandle) -> None:
    file_id = upload(sdk, training_data())
    job = sdk.fine_tuning.jobs.create(
        model=BASE,
        training_file=file_id,
        suffix="support",
        seed=7,
        metadata={"team": "care"},
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
    )
    assert job.status == "validating_files"
    assert job.id.startswith("ftjob-")
    assert job.seed == 7
    assert job.fine_tuned_model is None
    assert job.method is not None and job.method.type == "supervised"

    oai_sandbox.advance(training.VALIDATE_SECONDS)
    assert sdk.fine_tuning.jobs.retrieve(job.id).status == "queued"
    oai_sandbox.advance(training.QUEUE_SECONDS + training.STEP_SECONDS)
    running = sdk.fine_tuning.jobs.retrieve(job.id)
    assert running.status == "running"
    assert running.estimated_finish is not None
    assert running.hyperparameters.n_epochs == 2

    oai_sandbox.advance(PAST_THE_END)
    done = sdk.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded"
    assert done.error is None
    assert done.finished_at is not None
    assert done.trained_tokens is not None and done.trained_tokens > 0
    assert done.fine_tuned_model is not None
    prefix, base, org, suffix, model_id = done.fine_tuned_model.split(":")
    assert (prefix, base, suffix) == ("ft", BASE, "support")
    assert org and len(model_id) == 8

    events = list(sdk.fine_tuning.jobs.list_events(job.id, limit=100))
    metrics = [e for e in events if e.type == "metrics"]
    assert metrics, "a finished job reports per-step metrics"
    assert isinstance(metrics[0].data, dict)
    assert {"step", "train_loss", "total_steps"} <= set(metrics[0].data)
    steps = [e.data["step"] for e in metrics if isinstance(e.data, dict)]
    assert steps == sorted(steps, reverse=True), "events are listed newest first"
    assert any("successfully completed" in e.message for e in events)
    assert all(e.level in {"info", "warn", "error"} for e in events)

    checkpoints = list(sdk.fine_tuning.jobs.checkpoints.list(job.id))
    assert [c.step_number for c in checkpoints] == sorted(
        (c.step_number for c in checkpoints), reverse=True
    )
    assert len(checkpoints) == 2  # one per epoch, two epochs
    last = checkpoints[0]
    assert (
        last.fine_tuned_model_checkpoint == f"{done.fine_tuned_model}:ckpt-step-{last.step_number}"
    )
    assert last.metrics.train_loss is not None and last.metrics.full_valid_loss is not None


def test_events_page_with_a_cursor(sdk: OpenAI, oai_sandbox: SandboxHandle) -> None:
    job = sdk.fine_tuning.jobs.create(model=BASE, training_file=upload(sdk, training_data()))
    oai_sandbox.advance(PAST_THE_END)
    every = list(sdk.fine_tuning.jobs.list_events(job.id, limit=100))
    first = sdk.fine_tuning.jobs.list_events(job.id, limit=3)
    assert [e.id for e in first.data] == [e.id for e in every[:3]]
    assert first.has_more is True
    following = sdk.fine_tuning.jobs.list_events(job.id, limit=3, after=first.data[-1].id)
    assert [e.id for e in following.data] == [e.id for e in every[3:6]]
    # The SDK's auto-paging walks the cursor to the end.
    assert [e.id for e in sdk.fine_tuning.jobs.list_events(job.id, limit=4)] == [
        e.id for e in every
    ]


def test_job_list_is_cursor_paginated(sdk: OpenAI) -> None:
    file_id = upload(sdk, training_data())
    created = [
        sdk.fine_tuning.jobs.create(model=BASE, training_file=file_id, suffix=f"s{n}").id
        for n in range(5)
    ]
    page = sdk.fine_tuning.jobs.list(limit=2)
    assert len(page.data) == 2 and page.has_more is True
    seen = [job.id for job in sdk.fine_tuning.jobs.list(limit=2)]  # auto-paged
    assert sorted(seen) == sorted(created) and len(seen) == 5
    last = sdk.fine_tuning.jobs.list(limit=2, after=seen[3])
    assert [j.id for j in last.data] == [seen[4]] and last.has_more is False
    tagged = sdk.fine_tuning.jobs.create(model=BASE, training_file=file_id, metadata={"sweep": "a"})
    assert [j.id for j in sdk.fine_tuning.jobs.list(metadata={"sweep": "a"})] == [tagged.id]


def test_cancel_stops_a_running_job(sdk: OpenAI, oai_sandbox: SandboxHandle) -> None:
    job = sdk.fine_tuning.jobs.create(model=BASE, training_file=upload(sdk, training_data()))
    oai_sandbox.advance(training.VALIDATE_SECONDS + training.QUEUE_SECONDS + 1)
    cancelled = sdk.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    oai_sandbox.advance(PAST_THE_END)
    later = sdk.fine_tuning.jobs.retrieve(job.id)
    assert later.status == "cancelled" and later.fine_tuned_model is None
    with pytest.raises(openai.BadRequestError):
        sdk.fine_tuning.jobs.cancel(job.id)


def test_pause_and_resume_hold_the_training_clock(sdk: OpenAI, oai_sandbox: SandboxHandle) -> None:
    job = sdk.fine_tuning.jobs.create(model=BASE, training_file=upload(sdk, training_data()))
    oai_sandbox.advance(training.VALIDATE_SECONDS + training.QUEUE_SECONDS + 1)
    assert sdk.fine_tuning.jobs.pause(job.id).status == "paused"
    oai_sandbox.advance(PAST_THE_END)
    assert sdk.fine_tuning.jobs.retrieve(job.id).status == "paused"
    assert sdk.fine_tuning.jobs.resume(job.id).status == "running"
    oai_sandbox.advance(PAST_THE_END)
    assert sdk.fine_tuning.jobs.retrieve(job.id).status == "succeeded"


def test_dpo_job(sdk: OpenAI, oai_sandbox: SandboxHandle) -> None:
    file_id = upload(sdk, preference_data(), "prefs.jsonl")
    job = sdk.fine_tuning.jobs.create(
        model="gpt-4.1-mini-2025-04-14",
        training_file=file_id,
        suffix="prefs",
        method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}},
    )
    oai_sandbox.advance(PAST_THE_END)
    done = sdk.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded", done.error
    assert done.method is not None and done.method.type == "dpo"
    assert done.method.dpo is not None and done.method.dpo.hyperparameters is not None
    assert done.method.dpo.hyperparameters.beta == 0.2
    assert done.fine_tuned_model is not None
    assert done.fine_tuned_model.startswith("ft:gpt-4.1-mini-2025-04-14:")


def test_a_malformed_file_uploads_and_fails_the_job(
    sdk: OpenAI, oai_sandbox: SandboxHandle
) -> None:
    lines = training_data().splitlines()
    lines[3] = b'{"messages": [{"role": "user", "content": "no closing brace"}'
    file_id = upload(sdk, b"\n".join(lines) + b"\n")  # accepted, as OpenAI accepts it
    job = sdk.fine_tuning.jobs.create(model=BASE, training_file=file_id)
    assert job.status == "validating_files"
    oai_sandbox.advance(PAST_THE_END)
    failed = sdk.fine_tuning.jobs.retrieve(job.id)
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.code == "invalid_training_file"
    assert failed.error.param == "training_file"
    assert "Line 4" in failed.error.message
    assert failed.fine_tuned_model is None
    levels = [e.level for e in sdk.fine_tuning.jobs.list_events(job.id)]
    assert "error" in levels


def test_a_preference_file_fails_a_supervised_job(sdk: OpenAI, oai_sandbox: SandboxHandle) -> None:
    job = sdk.fine_tuning.jobs.create(
        model=BASE, training_file=upload(sdk, preference_data(), "prefs.jsonl")
    )
    oai_sandbox.advance(PAST_THE_END)
    failed = sdk.fine_tuning.jobs.retrieve(job.id)
    assert failed.status == "failed" and failed.error is not None
    assert "Line 1" in failed.error.message


def test_bad_requests_get_openai_error_bodies(sdk: OpenAI) -> None:
    file_id = upload(sdk, training_data())
    with pytest.raises(openai.BadRequestError) as unknown_model:
        sdk.fine_tuning.jobs.create(model="gpt-nope", training_file=file_id)
    assert unknown_model.value.code == "model_not_available"
    assert unknown_model.value.param == "model"
    with pytest.raises(openai.BadRequestError) as missing_file:
        sdk.fine_tuning.jobs.create(model=BASE, training_file="file-missing")
    assert missing_file.value.param == "training_file"
    with pytest.raises(openai.BadRequestError):
        sdk.fine_tuning.jobs.create(
            model=BASE, training_file=file_id, method={"type": "reinforcement"}
        )
    with pytest.raises(openai.NotFoundError):
        sdk.fine_tuning.jobs.retrieve("ftjob-missing")


def test_n_epochs_outside_1_to_50_is_refused_in_openais_error_shape(sdk: OpenAI) -> None:
    """OpenAI takes 1 to 50 epochs (or "auto"); the SDK sends any integer, the server refuses."""
    file_id = upload(sdk, training_data())
    for epochs in (51, 10**17):
        for where in ("method", "hyperparameters"):
            hyper: Any = {"n_epochs": epochs}
            given: dict[str, Any] = (
                {"method": {"type": "supervised", "supervised": {"hyperparameters": hyper}}}
                if where == "method"
                else {"hyperparameters": hyper}
            )
            with pytest.raises(openai.BadRequestError) as refused:
                sdk.fine_tuning.jobs.create(model=BASE, training_file=file_id, **given)
            assert refused.value.status_code == 400
            error = refused.value.response.json()["error"]
            assert error["type"] == "invalid_request_error"
            assert (error["param"], error["code"]) == ("n_epochs", "invalid_value")
            assert error["message"] == (
                f"'n_epochs' must be \"auto\" or between 1 and 50, not {epochs}."
            )
    assert list(sdk.fine_tuning.jobs.list()) == []  # nothing was created
    for epochs in (1, 50, "auto"):
        hyper = {"hyperparameters": {"n_epochs": epochs}}
        method: Any = {"type": "supervised", "supervised": hyper}
        job = sdk.fine_tuning.jobs.create(model=BASE, training_file=file_id, method=method)
        assert job.status == "validating_files"
        if epochs != "auto":  # the number asked for is the number the job shows
            assert job.hyperparameters.n_epochs == epochs


def test_chat_with_the_tuned_model(sdk: OpenAI, oai_sandbox: SandboxHandle) -> None:
    job = sdk.fine_tuning.jobs.create(model=BASE, training_file=upload(sdk, training_data()))
    question, answer = QUESTIONS[1]
    with pytest.raises(openai.NotFoundError):
        # Not a model until its job has succeeded.
        sdk.chat.completions.create(
            model=f"ft:{BASE}:x:y:z", messages=[{"role": "user", "content": question}]
        )
    oai_sandbox.advance(PAST_THE_END)
    tuned = sdk.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    assert tuned is not None
    reply = sdk.chat.completions.create(
        model=tuned, messages=[{"role": "user", "content": question}]
    )
    assert reply.choices[0].message.content == answer
    assert reply.model == tuned
    assert reply.usage is not None and reply.usage.total_tokens > 0
    base = sdk.chat.completions.create(model=BASE, messages=[{"role": "user", "content": question}])
    assert base.choices[0].message.content != answer
    for untuned in ("gpt-4.1", "gpt-4o-mini"):  # chat-only models (judges) answer too
        other = sdk.chat.completions.create(
            model=untuned, messages=[{"role": "user", "content": question}]
        )
        assert other.model == untuned and other.choices[0].message.content != answer
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(
            model="gpt-unknown", messages=[{"role": "user", "content": question}]
        )
    checkpoint = next(iter(sdk.fine_tuning.jobs.checkpoints.list(job.id)))
    from_checkpoint = sdk.chat.completions.create(
        model=checkpoint.fine_tuned_model_checkpoint,
        messages=[{"role": "user", "content": question}],
    )
    assert from_checkpoint.choices[0].message.content == answer


def test_every_answer_is_marked_as_a_sandbox(oai_sandbox: SandboxHandle) -> None:
    with httpx.Client(base_url=oai_sandbox.url) as http:
        refused = http.get("/v1/fine_tuning/jobs")  # no key
        listed = http.get("/v1/fine_tuning/jobs", headers={"Authorization": f"Bearer {API_KEY}"})
    assert refused.status_code == 401
    assert refused.headers["x-tuner-sandbox"] == "1"
    assert listed.status_code == 200
    assert listed.headers["x-tuner-sandbox"] == "1"
    assert json.loads(listed.content) == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


def test_other_host_names_are_refused(oai_sandbox: SandboxHandle) -> None:
    with httpx.Client(base_url=oai_sandbox.url) as http:
        answer = http.get(
            "/v1/files",
            headers={"Authorization": f"Bearer {API_KEY}", "Host": "tuner.example.com"},
        )
    assert answer.status_code == 400
    assert answer.headers["x-tuner-sandbox"] == "1"


def test_the_job_fail_fault_fails_jobs_mid_run(start_sandbox: StartSandbox) -> None:
    handle = start_sandbox(provider="openai", faults="job_fail=1")
    with OpenAI(api_key=API_KEY, base_url=handle.url + "/v1", max_retries=0) as sdk:
        job = sdk.fine_tuning.jobs.create(
            model=BASE,
            training_file=upload(sdk, training_data()),
            method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}},
        )
        handle.advance(training.VALIDATE_SECONDS + training.QUEUE_SECONDS + 1)
        assert sdk.fine_tuning.jobs.retrieve(job.id).status == "running"
        handle.advance(PAST_THE_END)
        failed = sdk.fine_tuning.jobs.retrieve(job.id)
        assert failed.status == "failed"
        assert failed.fine_tuned_model is None and failed.finished_at is not None
        assert failed.error is not None
        assert failed.error.param is None  # not about a parameter, as OpenAI leaves it
        assert failed.error.code == "server_error" and "job_fail" in failed.error.message
        events = list(sdk.fine_tuning.jobs.list_events(job.id, limit=100))
        assert events[0].level == "error" and events[0].message == failed.error.message
        steps = [e.data["step"] for e in events if e.type == "metrics" and isinstance(e.data, dict)]
        total = next(e.data["total_steps"] for e in events if e.type == "metrics")
        assert steps and 1 <= max(steps) < total, "it fails part-way, after some steps"
        # Checkpoints reached before the failure stay listed; none after it.
        checkpoints = list(sdk.fine_tuning.jobs.checkpoints.list(job.id))
        assert all(c.step_number <= max(steps) for c in checkpoints)
        with pytest.raises(openai.NotFoundError):
            sdk.chat.completions.create(
                model=f"ft:{BASE}:tuner-sandbox::x", messages=[{"role": "user", "content": "hi"}]
            )
        with pytest.raises(openai.BadRequestError):
            sdk.fine_tuning.jobs.cancel(job.id)  # already finished


def test_job_fail_decides_per_job_with_the_seed(
    start_sandbox: StartSandbox, tmp_path: Path
) -> None:
    outcomes = []
    for run in range(2):
        handle = start_sandbox(
            provider="openai", faults="job_fail=0.5", seed=11, data_dir=tmp_path / f"run{run}"
        )
        with OpenAI(api_key=API_KEY, base_url=handle.url + "/v1", max_retries=0) as sdk:
            file_id = upload(sdk, training_data())
            ids = [
                sdk.fine_tuning.jobs.create(model=BASE, training_file=file_id).id for _ in range(8)
            ]
            handle.advance(PAST_THE_END)
            outcomes.append([sdk.fine_tuning.jobs.retrieve(i).status for i in ids])
    assert outcomes[0] == outcomes[1], "the same seed fails the same jobs"
    assert set(outcomes[0]) == {"failed", "succeeded"}


def test_streamed_chat_with_the_tuned_model(sdk: OpenAI, oai_sandbox: SandboxHandle) -> None:
    job = sdk.fine_tuning.jobs.create(
        model=BASE, training_file=upload(sdk, training_data()), suffix="care"
    )
    oai_sandbox.advance(PAST_THE_END)
    tuned = sdk.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    assert tuned is not None
    question, answer = QUESTIONS[2]
    chunks = list(
        sdk.chat.completions.create(
            model=tuned,
            messages=[{"role": "user", "content": question}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.model == tuned for c in chunks)
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == answer
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    usage = chunks[-1]
    assert usage.choices == [] and usage.usage is not None and usage.usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_a_stream_ends_with_done_and_leaves_usage_out_unless_asked(
    oai_sandbox: SandboxHandle,
) -> None:
    body = {"model": BASE, "messages": [{"role": "user", "content": "hello"}], "stream": True}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=oai_sandbox.url) as http:
        answer = http.post("/v1/chat/completions", json=body, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["x-tuner-sandbox"] == "1"
    events = [line for line in answer.text.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-1]]
    assert all("usage" not in chunk for chunk in chunks)
    assert chunks[-1]["choices"][0]["delta"] == {}


def test_the_tuned_model_calls_a_tool_it_learnt(sdk: OpenAI, oai_sandbox: SandboxHandle) -> None:
    job = sdk.fine_tuning.jobs.create(
        model=BASE, training_file=upload(sdk, training_data(with_tool=True))
    )
    oai_sandbox.advance(PAST_THE_END)
    tuned = sdk.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    assert tuned is not None
    question = tool_conversation()["messages"][0]["content"]
    asked: dict[str, Any] = {
        "model": tuned,
        "messages": [{"role": "user", "content": question}],
        "tools": [WEATHER_TOOL],
    }
    reply = sdk.chat.completions.create(**asked)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "get_weather",
        {"city": "Lyon"},
    )
    streamed = list(sdk.chat.completions.create(**asked, stream=True))
    deltas = [c.choices[0].delta.tool_calls for c in streamed if c.choices]
    calls = [d for delta in deltas if delta for d in delta]
    assert [(d.index, d.function.name if d.function else None) for d in calls] == [
        (0, "get_weather")
    ]
    assert streamed[-1].choices[0].finish_reason == "tool_calls"
    # Without tools declared, the model answers in words.
    plain = sdk.chat.completions.create(model=tuned, messages=asked["messages"])
    assert plain.choices[0].message.tool_calls is None and plain.choices[0].message.content


def test_the_same_key_and_bind_rules_as_the_mistral_sandbox(start_sandbox: StartSandbox) -> None:
    handle = start_sandbox(provider="openai", api_key="the-only-key")
    wrong = OpenAI(api_key="another-key", base_url=handle.url + "/v1", max_retries=0)
    with wrong, pytest.raises(openai.AuthenticationError) as refused:
        wrong.fine_tuning.jobs.list()
    assert refused.value.response.headers["x-tuner-sandbox"] == "1"
    with OpenAI(api_key="the-only-key", base_url=handle.url + "/v1", max_retries=0) as right:
        assert list(right.fine_tuning.jobs.list()) == []
    port = handle.url.rsplit(":", 1)[1]
    with httpx.Client(base_url=handle.url) as http:
        for host in (f"localhost:{port}", f"[::1]:{port}"):
            answer = http.get(
                "/v1/files", headers={"Authorization": "Bearer the-only-key", "Host": host}
            )
            assert answer.status_code == 200, host
    with pytest.raises(ValueError, match="without --api-key"):
        start_sandbox(provider="openai", host="0.0.0.0")
