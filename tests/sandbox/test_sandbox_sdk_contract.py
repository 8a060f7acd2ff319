"""Contract test: the official SDK (mistralai 2.5.1, the last with fine-tuning jobs) against the
sandbox. The SDK parses every answer with its own pydantic models, so this proves the sandbox's
shapes are ones a real client accepts; where the SDK and the reference disagree, the SDK wins.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from mistralai.client import Mistral
from mistralai.client import models as m
from mistralai.client.errors import SDKError

from tuner.sandbox import SandboxHandle

from .support import API_KEY, START, WEATHER_TOOL, training_data


@pytest.fixture
def sdk(sandbox: SandboxHandle) -> Iterator[Mistral]:
    with Mistral(api_key=API_KEY, server_url=sandbox.url) as client:
        yield client


def test_full_fine_tuning_flow_with_the_official_sdk(sdk: Mistral, sandbox: SandboxHandle) -> None:
    content = training_data(with_tool=True)
    uploaded = sdk.files.upload(
        file={"file_name": "support.jsonl", "content": content}, purpose="fine-tune"
    )
    assert uploaded.size_bytes == len(content)
    assert uploaded.sample_type == "instruct"
    assert uploaded.num_lines == 11
    assert sdk.files.retrieve(file_id=uploaded.id).deleted is False
    assert [f.id for f in sdk.files.list(purpose="fine-tune").data] == [uploaded.id]

    created = sdk.fine_tuning.jobs.create(
        model="open-mistral-7b",
        training_files=[{"file_id": uploaded.id, "weight": 1}],
        hyperparameters={"training_steps": 20, "learning_rate": 1e-4},
        suffix="support",
        auto_start=False,
    )
    assert isinstance(created, m.CompletionFineTuningJob)
    assert created.status == "QUEUED"
    job_id = created.id

    sandbox.advance(30)
    validated = sdk.fine_tuning.jobs.get(job_id=job_id)
    assert isinstance(validated, m.CompletionFineTuningJobDetails)
    assert validated.status == "VALIDATED"
    assert validated.metadata is not None
    assert validated.metadata.train_tokens_per_step == 131072
    assert validated.metadata.train_tokens == 20 * 131072
    assert validated.metadata.data_tokens is not None and validated.metadata.data_tokens > 0
    assert validated.metadata.cost is not None and validated.metadata.cost > 0
    assert validated.hyperparameters.epochs is not None
    assert validated.events is not None
    assert [e.data for e in validated.events][-1] == {"status": "VALIDATED"}

    started = sdk.fine_tuning.jobs.start(job_id=job_id)
    assert isinstance(started, m.CompletionFineTuningJobDetails)
    assert started.status == "QUEUED"

    sandbox.advance(1000)
    done = sdk.fine_tuning.jobs.get(job_id=job_id)
    assert isinstance(done, m.CompletionFineTuningJobDetails)
    assert done.status == "SUCCESS"
    assert done.trained_tokens == 20 * 131072
    assert done.checkpoints is not None
    assert [c.step_number for c in done.checkpoints] == [20, 10]
    assert done.checkpoints[0].metrics.train_loss is not None
    model_id = done.fine_tuned_model
    assert isinstance(model_id, str) and model_id.startswith("ft:open-mistral-7b:")
    assert ":support:" in model_id

    listed = sdk.fine_tuning.jobs.list(status="SUCCESS", model="open-mistral-7b")
    assert listed.total == 1
    assert listed.data is not None and listed.data[0].id == job_id
    assert sdk.fine_tuning.jobs.list(status="RUNNING").total == 0
    assert sdk.fine_tuning.jobs.list(suffix="support", created_by_me=True).total == 1
    after = datetime.fromtimestamp(START - 60, UTC)
    assert sdk.fine_tuning.jobs.list(created_after=after).total == 1

    models = sdk.models.list()
    assert models.data is not None
    tuned = [card for card in models.data if isinstance(card, m.FTModelCard)]
    assert [card.id for card in tuned] == [model_id]
    assert any(isinstance(card, m.BaseModelCard) for card in models.data)
    card = sdk.models.retrieve(model_id=model_id)
    assert isinstance(card, m.FTModelCard)
    assert card.root == "open-mistral-7b"
    assert card.job == job_id

    renamed = sdk.models.update(model_id=model_id, name="Support bot")
    assert isinstance(renamed, m.CompletionFineTunedModel)
    assert renamed.name == "Support bot"
    assert sdk.models.archive(model_id=model_id).archived is True
    assert sdk.models.unarchive(model_id=model_id).archived is False

    reply = sdk.chat.complete(
        model=model_id, messages=[{"role": "user", "content": "How can I reset my password?"}]
    )
    assert reply.choices[0].message is not None
    assert reply.choices[0].message.content == (
        "Open Settings, choose Security and press Reset password."
    )
    assert reply.usage.total_tokens is not None and reply.usage.total_tokens > 0

    tool = sdk.chat.complete(
        model=model_id,
        messages=[{"role": "user", "content": "weather in Lyon today"}],
        tools=[WEATHER_TOOL],
    )
    assert tool.choices[0].finish_reason == "tool_calls"
    calls = tool.choices[0].message.tool_calls if tool.choices[0].message else None
    assert calls is not None and calls[0].function.name == "get_weather"

    pieces = []
    with sdk.chat.stream(
        model=model_id, messages=[{"role": "user", "content": "Do you ship to Canada?"}]
    ) as events:
        for event in events:
            delta = event.data.choices[0].delta.content
            if isinstance(delta, str):
                pieces.append(delta)
            final = event.data
    assert "".join(pieces) == "Yes, international shipping covers Canada."
    assert final.usage is not None and final.usage.completion_tokens

    embedded = sdk.embeddings.create(model="mistral-embed", inputs=["reset password"])
    assert embedded.data[0].embedding is not None
    assert len(embedded.data[0].embedding) == 1024

    cancelled_job = sdk.fine_tuning.jobs.create(
        model="ministral-3b-latest",
        training_files=[{"file_id": uploaded.id}],
        hyperparameters={"training_steps": 5},
        auto_start=True,
    )
    cancelled = sdk.fine_tuning.jobs.cancel(job_id=cancelled_job.id)
    assert cancelled.status == "CANCELLATION_REQUESTED"

    assert sdk.models.delete(model_id=model_id).deleted is True
    assert sdk.files.delete(file_id=uploaded.id).deleted is True


def test_the_sdk_raises_its_errors_for_our_error_answers(sdk: Mistral) -> None:
    with pytest.raises(SDKError) as missing:
        sdk.fine_tuning.jobs.get(job_id=str(uuid.uuid4()))
    assert missing.value.status_code == 404
    assert "No fine tuning job matches the given query." in missing.value.body

    with pytest.raises(SDKError) as invalid:
        sdk.files.upload(file={"file_name": "bad.jsonl", "content": b"not json\n"})
    assert invalid.value.status_code == 422
    assert "Invalid file format." in invalid.value.body

    with pytest.raises(SDKError) as unavailable:
        sdk.fine_tuning.jobs.create(
            model="mistral-embed",
            training_files=[{"file_id": str(uuid.uuid4())}],
            hyperparameters={"training_steps": 5},
        )
    assert unavailable.value.status_code == 422

    with pytest.raises(SDKError) as base:
        sdk.models.delete(model_id="open-mistral-7b")
    assert base.value.status_code == 403
