"""Where the sandbox now follows the API reference, proven with the official SDK (mistralai
2.5.1) where the SDK reaches: dry runs, tool_choice, JSON-schema answers, base64 embeddings and
authentication before injected faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mistralai.client import Mistral
from mistralai.client import models as m
from mistralai.client.errors import SDKError

from tuner.sandbox import SandboxHandle

from .conftest import StartSandbox, make_client
from .support import API_KEY, WEATHER_TOOL, training_data, upload_ok

USER = [{"role": "user", "content": "What should I wear in Lyon today?"}]


@pytest.fixture
def sdk(sandbox: SandboxHandle) -> Iterator[Mistral]:
    with Mistral(api_key=API_KEY, server_url=sandbox.url) as client:
        yield client


def test_a_dry_run_returns_the_cost_and_creates_nothing(client: httpx.Client, sdk: Mistral) -> None:
    file_id = upload_ok(client, training_data())
    body = {
        "model": "open-mistral-7b",
        "hyperparameters": {"training_steps": 10},
        "training_files": [{"file_id": file_id}],
    }
    answer = client.post("/v1/fine_tuning/jobs", params={"dry_run": "true"}, json=body)
    assert answer.status_code == 200, answer.text
    # SDK 2.5.1 does not send dry_run, but its model of the answer parses it.
    metadata = m.LegacyJobMetadata.model_validate(answer.json())
    assert metadata.object == "job.metadata"
    assert metadata.training_steps == 10
    assert metadata.train_tokens == 10 * 131_072
    assert metadata.cost is not None and metadata.cost > 0
    assert metadata.data_tokens is not None and metadata.data_tokens > 0
    assert sdk.fine_tuning.jobs.list().total == 0
    # Bad data is refused at once, and still nothing is created.
    broken = upload_ok(client, b'{"text": "pretrain, not chat"}\n' * 12, "pre.jsonl")
    bad = client.post(
        "/v1/fine_tuning/jobs",
        params={"dry_run": "true"},
        json={**body, "training_files": [{"file_id": broken}], "job_type": "classifier"},
    )
    assert bad.status_code == 422
    assert sdk.fine_tuning.jobs.list().total == 0


def _choice(sdk: Mistral, **fields: Any) -> m.ChatCompletionChoice:
    reply = sdk.chat.complete(model="mistral-small-latest", messages=USER, **fields)
    return reply.choices[0]


def test_tool_choice_forces_or_forbids_a_call(sdk: Mistral) -> None:
    for forcing in ("any", "required"):
        choice = _choice(sdk, tools=[WEATHER_TOOL], tool_choice=forcing)
        assert choice.finish_reason == "tool_calls"
        assert choice.message.tool_calls is not None
        call = choice.message.tool_calls[0]
        assert call.function.name == "get_weather"
        assert "city" in json.loads(str(call.function.arguments))
    other = {**WEATHER_TOOL, "function": {**WEATHER_TOOL["function"], "name": "get_time"}}
    named = _choice(
        sdk,
        tools=[WEATHER_TOOL, other],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert named.message.tool_calls is not None
    assert [c.function.name for c in named.message.tool_calls] == ["get_time"]
    for words in ("none", "auto"):
        plain = _choice(sdk, tools=[WEATHER_TOOL], tool_choice=words)
        assert plain.finish_reason == "stop"
        assert not plain.message.tool_calls
    # No tools, no tool call, whatever tool_choice says.
    assert not _choice(sdk, tool_choice="any").message.tool_calls


def test_a_json_schema_answer_has_the_required_keys(sdk: Mistral) -> None:
    schema = {
        "type": "object",
        "properties": {
            "advice": {"type": "string"},
            "temperature": {"type": "number"},
            "layers": {"type": "integer"},
            "umbrella": {"type": "boolean"},
            "items": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["advice", "temperature", "umbrella", "items"],
    }
    choice = _choice(
        sdk,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "outfit", "schema": schema, "strict": True},
        },
    )
    answer = json.loads(str(choice.message.content))
    assert set(schema["required"]) <= set(answer)
    assert isinstance(answer["advice"], str) and answer["advice"]
    assert isinstance(answer["temperature"], float)
    assert isinstance(answer["layers"], int)
    assert answer["umbrella"] is False
    assert isinstance(answer["items"], list)


def test_base64_embeddings_parse_in_the_sdk(sdk: Mistral) -> None:
    plain = sdk.embeddings.create(model="mistral-embed", inputs=["hello"])
    encoded = sdk.embeddings.create(
        model="mistral-embed", inputs=["hello"], encoding_format="base64"
    )
    assert encoded.data[0].embedding == plain.data[0].embedding


def test_a_wrong_key_is_refused_before_faults(start_sandbox: StartSandbox) -> None:
    handle = start_sandbox(api_key=API_KEY, faults="429=1.0")
    with (
        Mistral(api_key="wrong-key", server_url=handle.url) as wrong,
        pytest.raises(SDKError) as refused,
    ):
        wrong.models.list()
    assert refused.value.status_code == 401
    with make_client(handle.url) as right:
        assert right.get("/v1/models").status_code == 429
    with make_client(handle.url, key=None) as anonymous:
        assert anonymous.get("/v1/models").status_code == 401
