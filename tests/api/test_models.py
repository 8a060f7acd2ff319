"""Models: cards discriminated on ``type`` (tolerant of unknown ones), rename, archive, delete."""

from __future__ import annotations

import json

import pytest
import respx

from tuner.api import (
    BaseModelCard,
    FineTunedModelCard,
    PermissionDeniedError,
    RetryPolicy,
    UnknownModelCard,
)

from .support import JOB_ID, ClientFactory

pytestmark = pytest.mark.anyio

FT_ID = "ft:open-mistral-7b:57d37e6c:20240531:e8b9c1a2"
BASE_CARD = {
    "id": "open-mistral-7b",
    "object": "model",
    "created": 1,
    "owned_by": "mistralai",
    "capabilities": {"completion_chat": True, "fine_tuning": True, "audio_speech": False},
    "type": "base",
    "aliases": None,
}
FT_CARD = {
    "id": FT_ID,
    "object": "model",
    "type": "fine-tuned",
    "job": JOB_ID,
    "root": "open-mistral-7b",
    "archived": False,
    "capabilities": {"completion_chat": True},
}


async def test_list_tells_card_types_apart_and_keeps_unknown_ones(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    unknown = {"id": "voice-1", "object": "model", "type": "realtime"}
    misspelt = {"id": "old", "object": "model", "TYPE": "base"}
    api.get("/v1/models").respond(
        200, json={"object": "list", "data": [BASE_CARD, FT_CARD, unknown, misspelt]}
    )
    async with make_client() as client:
        cards = (await client.models.list()).data
    assert [type(card) for card in cards] == [
        BaseModelCard,
        FineTunedModelCard,
        UnknownModelCard,
        BaseModelCard,
    ]
    base, tuned, other, _ = cards
    assert isinstance(base, BaseModelCard) and base.aliases == []
    assert base.capabilities.fine_tuning is True
    assert isinstance(tuned, FineTunedModelCard) and tuned.job == JOB_ID
    assert isinstance(other, UnknownModelCard) and other.type == "realtime"


async def test_get_update_archive_unarchive_delete(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    api.get(f"/v1/models/{FT_ID}").respond(200, json=FT_CARD)
    patch = api.patch(f"/v1/fine_tuning/models/{FT_ID}").respond(
        200,
        json={"id": FT_ID, "object": "model", "model_type": "completion", "name": "Support bot"},
    )
    api.post(f"/v1/fine_tuning/models/{FT_ID}/archive").respond(
        200, json={"id": FT_ID, "object": "model", "archived": True}
    )
    api.delete(f"/v1/fine_tuning/models/{FT_ID}/archive").respond(
        200, json={"id": FT_ID, "object": "model", "archived": False}
    )
    api.delete(f"/v1/models/{FT_ID}").respond(
        200, json={"id": FT_ID, "object": "model", "deleted": True}
    )
    async with make_client() as client:
        assert isinstance(await client.models.get(FT_ID), FineTunedModelCard)
        renamed = await client.models.update(FT_ID, name="Support bot")
        assert (await client.models.archive(FT_ID)).archived is True
        assert (await client.models.unarchive(FT_ID)).archived is False
        assert (await client.models.delete(FT_ID)).deleted is True
    assert renamed.name == "Support bot" and renamed.model_type == "completion"
    # Only the field passed is sent: description stays untouched on the server.
    assert json.loads(patch.calls.last.request.content) == {"name": "Support bot"}


async def test_update_can_clear_a_description_with_null(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    patch = api.patch(f"/v1/fine_tuning/models/{FT_ID}").respond(
        200, json={"id": FT_ID, "object": "model"}
    )
    async with make_client() as client:
        await client.models.update(FT_ID, description=None)
    assert json.loads(patch.calls.last.request.content) == {"description": None}


async def test_deleting_a_base_model_is_forbidden(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    api.delete("/v1/models/open-mistral-7b").respond(
        403, json={"object": "error", "message": "Cannot delete a base model", "type": "x"}
    )
    async with make_client(retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(PermissionDeniedError, match="Cannot delete a base model"):
            await client.models.delete("open-mistral-7b")
