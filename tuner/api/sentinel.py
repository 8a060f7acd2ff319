"""``NOT_GIVEN``: "the caller did not pass this", distinct from ``None``.

The Mistral API rejects unknown fields and nulls where a value is required with a 422, so an
optional field the caller did not pass must be left out of the request, never sent as null.
``None`` stays available for the fields where null is a meaningful value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, Literal

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema


class NotGiven:
    """The type of the ``NOT_GIVEN`` singleton."""

    _instance: ClassVar[NotGiven | None] = None

    def __new__(cls) -> NotGiven:
        # One instance, so identity checks and pickling round-trips keep working.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __copy__(self) -> NotGiven:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> NotGiven:
        return self

    def __reduce__(self) -> str:
        return "NOT_GIVEN"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        # Lets request models use ``X | NotGiven = NOT_GIVEN`` fields; request models drop these
        # keys when they serialise (see ``tuner.api.params.RequestModel``).
        return core_schema.is_instance_schema(
            cls, serialization=core_schema.plain_serializer_function_ser_schema(_as_none)
        )


def _as_none(_value: object) -> None:
    return None


NOT_GIVEN: Final = NotGiven()


def omit_not_given(values: Mapping[str, object]) -> dict[str, object]:
    """The items whose value was given (``None`` included: it is a deliberate null)."""
    return {key: value for key, value in values.items() if not isinstance(value, NotGiven)}


def query_params(values: Mapping[str, object]) -> dict[str, Any]:
    """Query parameters with NOT_GIVEN and None left out (a query string has no null)."""
    return {
        key: value
        for key, value in values.items()
        if value is not None and not isinstance(value, NotGiven)
    }
