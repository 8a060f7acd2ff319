"""``/v1/embeddings``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from tuner.api.resources._common import Resource
from tuner.api.sentinel import NOT_GIVEN, NotGiven, omit_not_given
from tuner.api.transport import RequestSpec
from tuner.api.wire import EmbeddingResponse

OutputDtype = Literal["float", "int8", "uint8", "binary", "ubinary"]


class Embeddings(Resource):
    async def create(
        self,
        *,
        model: str,
        input: str | Sequence[str],
        output_dimension: int | NotGiven | None = NOT_GIVEN,
        output_dtype: OutputDtype | NotGiven = NOT_GIVEN,
        encoding_format: Literal["float", "base64"] | NotGiven = NOT_GIVEN,
        metadata: Mapping[str, Any] | NotGiven = NOT_GIVEN,
    ) -> EmbeddingResponse:
        """Embed ``input`` (the wire field is ``input``; the official SDK calls it ``inputs``)."""
        body = omit_not_given(
            {
                "model": model,
                "input": input if isinstance(input, str) else list(input),
                "output_dimension": output_dimension,
                "output_dtype": output_dtype,
                "encoding_format": encoding_format,
                "metadata": metadata if isinstance(metadata, NotGiven) else dict(metadata),
            }
        )
        sent = await self._transport.request(RequestSpec("POST", "/v1/embeddings", json=body))
        return sent.parse(EmbeddingResponse)
