"""Small helpers shared by the resource groups, and what every provider's jobs resource does
alike (calls about one job, with the key that owns it)."""

from __future__ import annotations

from enum import Enum
from typing import ClassVar, Generic, Protocol, TypeVar
from urllib.parse import quote

from tuner.api.errors import InvalidIdError
from tuner.api.transport import Parsable, RequestSpec, Sent, Transport

# Ids the URL layer would not keep as one segment: "." and ".." are path-normalised away
# (``files delete .`` would send ``DELETE /v1/files``), and a "/" (even escaped, which some
# servers and proxies decode) would change the route.
_DOT_SEGMENTS = frozenset({".", ".."})


def segment(value: str) -> str:
    """An id as one path segment, the one place every resource builds its paths with: refused
    (``InvalidIdError``, before any request) when it cannot stay one segment; otherwise escaped
    (a stray ``?`` or ``#`` must not change the route)."""
    if not value:
        raise InvalidIdError("an id must not be empty")
    if value in _DOT_SEGMENTS or "/" in value or "\\" in value:
        raise InvalidIdError(
            f"{value!r} is not an id: ids cannot be '.' or '..' or hold '/' or '\\'"
        )
    return quote(value, safe=":@")  # ":" is legal in a segment and in model ids


class Resource:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport


class JobShape(Parsable, Protocol):
    """A provider's job as the shared jobs code reads it."""

    @property
    def id(self) -> str: ...

    @property
    def fine_tuned_model(self) -> str | None: ...


J = TypeVar("J", bound=JobShape)


class TunedModelKey(Enum):
    """Which key a job's tuned model is filed under when a call about the job first reports it
    (later calls about the model then go through that key)."""

    JOB_OWNER = "job_owner"
    """The key that made the job, kept in the pool's map only (the owner hook is not told)."""
    ANSWERING_KEY = "answering_key"
    """The key that answered the call, recorded like a created resource (the hook is told)."""


class JobResource(Resource, Generic[J]):
    """A provider's jobs resource: set where its jobs live, their shape, and the key their
    tuned models are filed under."""

    _jobs_path: ClassVar[str]
    _job_shape: type[J]
    _tuned_model_key: ClassVar[TunedModelKey]

    async def _about(self, job_id: str, method: str, tail: str) -> J:
        """``method`` on the job (``tail`` after its path, e.g. ``/cancel``), through the key
        that owns it; the tuned model it reports is filed under ``_tuned_model_key``."""
        keys = self._transport.keys
        owner = keys.owner_of(job_id)
        spec = RequestSpec(method, f"{self._jobs_path}/{segment(job_id)}{tail}", prefer_key=owner)
        sent = await self._transport.request(spec)
        job = sent.parse(self._job_shape)
        model = job.fine_tuned_model
        if owner is not None and model and keys.owner_of(model) is None:
            self._file_tuned_model(model, owner=owner, sent=sent)
        return job

    def _file_tuned_model(self, model: str, *, owner: str, sent: Sent) -> None:
        keys = self._transport.keys
        if self._tuned_model_key is TunedModelKey.JOB_OWNER:
            keys.load_owners({model: owner})
        else:
            keys.record_owner(model, sent.key)
