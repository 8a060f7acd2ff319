"""The service layer builds the OpenAI client from the settings, as it builds Mistral's."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from tuner.api.openai import OpenAIClient
from tuner.config import Settings
from tuner.services import Services

pytestmark = pytest.mark.anyio


def test_openai_is_configured_only_with_a_key_or_a_given_client() -> None:
    assert not Services(Settings.model_construct()).has_openai
    keyed = Settings.model_construct(openai_api_key=SecretStr("sk-test-0123456789"))
    assert Services(keyed).has_openai


async def test_the_openai_client_is_built_once_from_the_settings_and_closed_with_the_services() -> (
    None
):
    settings = Settings.model_construct(
        openai_api_key=SecretStr("sk-test-0123456789"), openai_base_url="http://127.0.0.1:9/v1"
    )
    services = Services(settings)
    client = services.openai_client
    assert isinstance(client, OpenAIClient)
    assert services.openai_client is client
    assert services.openai_backend == "http://127.0.0.1:9/v1"
    await services.aclose()
    assert client._transport._http.is_closed


def test_a_jobs_provider_is_the_ledgers_word_else_the_look_of_its_id() -> None:
    from tuner.jobs.records import JobRecord
    from tuner.services import job_provider_of

    assert job_provider_of("ftjob-abc12345", None) == "openai"
    assert job_provider_of("0b0c1d2e-aaaa-4bbb-8ccc-123456789abc", None) == "mistral"
    recorded = JobRecord.model_construct(id="ftjob-abc12345", provider="mistral")
    assert job_provider_of("ftjob-abc12345", recorded) == "mistral"  # the ledger knows better


def test_the_classifier_runner_is_built_over_the_services_client_ledger_and_clock() -> None:
    from tuner.evals.classifier_runner import ClassifierRunner

    client, ledger = object(), object()
    services = Services(Settings.model_construct(), client=client, ledger=ledger, clock=lambda: 7)  # type: ignore[arg-type]
    runner = services.classifier_runner()
    assert isinstance(runner, ClassifierRunner)
    assert (runner._client, runner._ledger, runner._now()) == (client, ledger, 7)
