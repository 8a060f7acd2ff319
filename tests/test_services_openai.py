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
