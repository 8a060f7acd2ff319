"""``/v1/models`` and ``/v1/fine_tuning/models``: list, get, delete, rename, archive."""

from __future__ import annotations

from functools import cache

from pydantic import TypeAdapter

from tuner.api.params import ModelUpdate
from tuner.api.resources._common import Resource, segment
from tuner.api.sentinel import NOT_GIVEN, NotGiven
from tuner.api.transport import RequestSpec
from tuner.api.wire import ArchiveResult, DeletedModel, FineTunedModel, ModelCard, ModelList


@cache
def _card() -> TypeAdapter[ModelCard]:
    """The adapter for one model card, built on first use (not at import: it is slow)."""
    return TypeAdapter(ModelCard)


class Models(Resource):
    async def list(
        self, *, provider: str | NotGiven = NOT_GIVEN, model: str | NotGiven = NOT_GIVEN
    ) -> ModelList:
        """Every model the keys can use; cards are base, fine-tuned or (unknown ``type``) other."""
        params: dict[str, object] = {"provider": provider, "model": model}
        sent = await self._transport.request(RequestSpec("GET", "/v1/models", params=params))
        return sent.parse(ModelList)

    async def get(self, model_id: str) -> ModelCard:
        sent = await self._transport.request(
            self._spec("GET", f"/v1/models/{segment(model_id)}", model_id)
        )
        return _card().validate_json(sent.response.content)

    async def delete(self, model_id: str) -> DeletedModel:
        """Delete a fine-tuned model (a base model answers 403)."""
        spec = self._spec("DELETE", f"/v1/models/{segment(model_id)}", model_id)
        return (await self._transport.request(spec)).parse(DeletedModel)

    async def update(
        self,
        model_id: str,
        *,
        name: str | NotGiven | None = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
    ) -> FineTunedModel:
        """Rename or re-describe a fine-tuned model; only the fields passed are sent."""
        body = ModelUpdate(name=name, description=description).to_body()
        spec = self._spec(
            "PATCH", f"/v1/fine_tuning/models/{segment(model_id)}", model_id, json=body
        )
        return (await self._transport.request(spec)).parse(FineTunedModel)

    async def archive(self, model_id: str) -> ArchiveResult:
        spec = self._spec("POST", f"/v1/fine_tuning/models/{segment(model_id)}/archive", model_id)
        return (await self._transport.request(spec)).parse(ArchiveResult)

    async def unarchive(self, model_id: str) -> ArchiveResult:
        spec = self._spec("DELETE", f"/v1/fine_tuning/models/{segment(model_id)}/archive", model_id)
        return (await self._transport.request(spec)).parse(ArchiveResult)

    def _spec(
        self, method: str, path: str, model_id: str, *, json: object | NotGiven = NOT_GIVEN
    ) -> RequestSpec:
        return RequestSpec(
            method, path, json=json, prefer_key=self._transport.keys.owner_of(model_id)
        )
