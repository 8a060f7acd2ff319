"""Small helpers shared by the resource groups, and what every provider's jobs resource does
alike: create a job without ever making two, and call about one job with the key that owns it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import ClassVar, Generic, Protocol, TypeVar
from urllib.parse import quote

from tuner.api.errors import (
    APIConnectionError,
    APIError,
    ConflictError,
    InternalServerError,
    InvalidIdError,
)
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
    """A provider's jobs resource: set where its jobs live, their shape, the key their tuned
    models are filed under, and whether a 409 answer to a resent create may be our own job."""

    _jobs_path: ClassVar[str]
    _job_shape: type[J]
    _tuned_model_key: ClassVar[TunedModelKey]
    _conflict_may_be_ours: ClassVar[bool]
    """True where the API answers 409 to a duplicate of an active job: after an attempt whose
    fate is unknown, a 409 may be refusing a copy of the job that attempt made."""

    async def _create_once(
        self, request: RequestSpec, find_made: Callable[[float], Awaitable[J | None]]
    ) -> J:
        """Send the create ``request``, never making two jobs: when an attempt may have reached
        the server unseen (a dropped connection after sending, a 5xx), ``find_made(started)``
        looks for the job made since the call began (UNIX seconds) before anything is resent."""
        transport = self._transport
        started = transport.wall_clock()
        budget = transport.new_budget()
        may_exist = False
        while True:
            if may_exist:
                found = await find_made(started)
                if found is not None:
                    return found
            try:
                sent = await transport.attempt(request, budget)
            except ConflictError:
                if not (self._conflict_may_be_ours and may_exist):
                    raise  # a duplicate of a job created before this call: not ours to return
                found = await find_made(started)
                if found is not None:
                    return found
                raise
            except APIError as error:
                delay = transport.retry_delay(error, budget)
                if delay is None:
                    raise
                may_exist = may_exist or _fate_unknown(error)
                await transport.pause(request, error, delay, budget)
                continue
            return self._created(sent)

    def _created(self, sent: Sent) -> J:
        job = sent.parse(self._job_shape)
        self._transport.keys.record_owner(job.id, sent.key)
        return job

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


def _fate_unknown(error: APIError) -> bool:
    """Whether the failed attempt may have created the job anyway."""
    if isinstance(error, APIConnectionError):
        return error.maybe_sent
    return isinstance(error, InternalServerError)
