"""/v1/models and /v1/fine_tuning/models over real HTTP."""

from __future__ import annotations

import httpx

from tuner.sandbox import SandboxHandle

from .support import create_job, job, training_data, upload_ok

FINE_TUNABLE = [
    "open-mistral-7b",
    "mistral-small-latest",
    "codestral-latest",
    "open-mistral-nemo",
    "mistral-large-latest",
    "ministral-8b-latest",
    "ministral-3b-latest",
]


def trained_model(client: httpx.Client, sandbox: SandboxHandle, **fields: object) -> str:
    file_id = upload_ok(client, training_data(with_tool=True))
    created = create_job(client, file_id, auto_start=True, **fields).json()
    sandbox.advance(1000)
    done = job(client, created["id"])
    assert done["status"] == "SUCCESS"
    return str(done["fine_tuned_model"])


def test_base_models_are_listed_with_capabilities(client: httpx.Client) -> None:
    listing = client.get("/v1/models").json()
    assert listing["object"] == "list"
    cards = {card["id"]: card for card in listing["data"]}
    assert list(cards) == [*FINE_TUNABLE, "mistral-embed"]
    for name in FINE_TUNABLE:
        card = cards[name]
        assert card["type"] == "base"
        assert card["object"] == "model"
        assert card["owned_by"] == "mistralai"
        assert card["capabilities"]["fine_tuning"] is True
        assert card["capabilities"]["completion_chat"] is True
        assert card["max_context_length"] >= 32768
    assert cards["codestral-latest"]["capabilities"]["completion_fim"] is True
    embed = cards["mistral-embed"]["capabilities"]
    assert embed["fine_tuning"] is False
    assert embed["completion_chat"] is False
    assert client.get("/v1/models/open-mistral-nemo").json()["id"] == "open-mistral-nemo"


def test_fine_tuned_model_card_update_archive_and_delete(
    client: httpx.Client, sandbox: SandboxHandle
) -> None:
    name = trained_model(client, sandbox, suffix="faq", model="ministral-8b-latest")
    card = client.get(f"/v1/models/{name}").json()
    assert card["type"] == "fine-tuned"
    assert card["root"] == "ministral-8b-latest"
    assert card["archived"] is False
    assert card["capabilities"]["fine_tuning"] is False
    assert card["capabilities"]["completion_chat"] is True
    assert card["owned_by"] == name.split(":")[2]
    assert client.get(f"/v1/models/{name}").json()["job"] == card["job"]

    updated = client.patch(
        f"/v1/fine_tuning/models/{name}", json={"name": "FAQ bot", "description": "v1"}
    )
    assert updated.status_code == 200
    body = updated.json()
    assert body["model_type"] == "completion"
    assert (body["name"], body["description"]) == ("FAQ bot", "v1")
    assert body["root"] == "ministral-8b-latest"
    assert body["workspace_id"]
    assert client.get(f"/v1/models/{name}").json()["name"] == "FAQ bot"
    # Fields left out are kept.
    kept = client.patch(f"/v1/fine_tuning/models/{name}", json={"description": "v2"}).json()
    assert (kept["name"], kept["description"]) == ("FAQ bot", "v2")
    assert client.patch(f"/v1/fine_tuning/models/{name}", json={"title": "x"}).status_code == 422

    archived = client.post(f"/v1/fine_tuning/models/{name}/archive")
    assert archived.json() == {"id": name, "object": "model", "archived": True}
    assert client.get(f"/v1/models/{name}").json()["archived"] is True
    unarchived = client.delete(f"/v1/fine_tuning/models/{name}/archive")
    assert unarchived.json() == {"id": name, "object": "model", "archived": False}

    deleted = client.delete(f"/v1/models/{name}")
    assert deleted.json() == {"id": name, "object": "model", "deleted": True}
    assert client.get(f"/v1/models/{name}").status_code == 404
    assert name not in [m["id"] for m in client.get("/v1/models").json()["data"]]


def test_base_models_cannot_be_deleted_or_updated(client: httpx.Client) -> None:
    refused = client.delete("/v1/models/open-mistral-7b")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Base models cannot be deleted."}
    assert client.patch("/v1/fine_tuning/models/open-mistral-7b", json={}).status_code == 404


def test_unknown_models_are_404(client: httpx.Client) -> None:
    for response in (
        client.get("/v1/models/ft:open-mistral-7b:00000000:20250101:deadbeef"),
        client.delete("/v1/models/nope"),
        client.post("/v1/fine_tuning/models/nope/archive"),
        client.delete("/v1/fine_tuning/models/nope/archive"),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "Model not found."}
