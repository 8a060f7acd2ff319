"""``/v1/classifications`` and ``/v1/chat/classifications``: a fine-tuned classifier's scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tuner.api.resources._common import Resource
from tuner.api.sentinel import NOT_GIVEN, NotGiven, omit_not_given
from tuner.api.transport import RequestSpec
from tuner.api.wire import ClassificationResponse

Chat = Mapping[str, Any]
"""One chat to classify: ``{"messages": [{"role": ..., "content": ...}, ...]}``."""


class Classifiers(Resource):
    async def classify(
        self,
        *,
        model: str,
        inputs: str | Sequence[str],
        metadata: Mapping[str, Any] | NotGiven = NOT_GIVEN,
    ) -> ClassificationResponse:
        """Score texts (the wire field is ``input``, as the official SDK sends ``inputs``)."""
        body = omit_not_given(
            {
                "model": model,
                "input": inputs if isinstance(inputs, str) else list(inputs),
                "metadata": metadata if isinstance(metadata, NotGiven) else dict(metadata),
            }
        )
        sent = await self._transport.request(RequestSpec("POST", "/v1/classifications", json=body))
        return sent.parse(ClassificationResponse)

    async def classify_chat(
        self, *, model: str, inputs: Chat | Sequence[Chat]
    ) -> ClassificationResponse:
        """Score chats; each is ``{"messages": [...]}``."""
        given = dict(inputs) if isinstance(inputs, Mapping) else [dict(c) for c in inputs]
        body = {"model": model, "input": given}
        sent = await self._transport.request(
            RequestSpec("POST", "/v1/chat/classifications", json=body)
        )
        return sent.parse(ClassificationResponse)
