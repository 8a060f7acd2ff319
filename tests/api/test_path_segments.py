"""Ids that cannot be one path segment are refused before any request is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import respx

from tuner.api import InvalidIdError, TunerClient

from .support import ClientFactory

pytestmark = pytest.mark.anyio

BAD_IDS = ["", ".", "..", "a/b", "../files", "x\\y"]


def calls(client: TunerClient, bad: str) -> list[Callable[[], Awaitable[Any]]]:
    return [
        lambda: client.files.get(bad),
        lambda: client.files.delete(bad),
        lambda: client.jobs.get(bad),
        lambda: client.jobs.start(bad),
        lambda: client.jobs.cancel(bad),
        lambda: client.models.get(bad),
        lambda: client.models.delete(bad),
        lambda: client.models.archive(bad),
        lambda: client.models.update(bad, name="n"),
    ]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_a_bad_id_sends_nothing(
    api: respx.MockRouter, make_client: ClientFactory, bad: str
) -> None:
    # Any request at all would be answered, and recorded: none may be sent.
    api.route().respond(200, json={})
    async with make_client() as client:
        for call in calls(client, bad):
            with pytest.raises(InvalidIdError):
                await call()
    assert api.calls.call_count == 0


async def test_ordinary_ids_are_escaped_not_refused(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = api.delete(url__regex=r".*/v1/models/.*").respond(
        200, json={"id": "x", "deleted": True}
    )
    async with make_client() as client:
        await client.models.delete("ft:open-mistral-7b:a?b#c")
    assert route.calls.last.request.url.raw_path == b"/v1/models/ft:open-mistral-7b:a%3Fb%23c"
