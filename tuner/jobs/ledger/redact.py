"""Turning caller values into JSON the ledger may store: secrets removed, NaN made null.

The ledger outlives any one run and may be a database shared between machines, so nothing that
could authenticate (API keys, W&B keys, GitHub tokens) is ever written to it. Keys are identified
by their last four characters only.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import math
import os
import re
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

# Compared after lower-casing and dropping everything but letters and digits, so `api_key`,
# `apiKey` and `API-KEY` are one name. Counts such as `max_tokens` or `trained_tokens` are not
# secrets: only the singular `token` (and names ending in it) is.
_SECRET_NAMES = frozenset(
    {
        "key",
        "apikeys",
        "keys",
        "secrets",
        "passwords",
        "authorization",
        "auth",
        "bearer",
        "cookie",
        "credentials",
        "passwd",
        "passphrase",
        "sessionid",
    }
)
_SECRET_SUFFIXES = ("apikey", "token", "secret", "password", "privatekey", "accesskey")
_NON_ALNUM = re.compile(r"[^a-z0-9]")
# `wandb_key`, `wandb-key`, `wandbKey`: "key" as the last word (but not `monkey`, `hotkey`).
_KEY_WORD = re.compile(r"(?:[_\-. ]|(?<=[a-z0-9])(?=K))[Kk][Ee][Yy]$")
_BEARER = re.compile(r"^\s*bearer\s+\S", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """Whether a field called ``name`` holds a credential, e.g. ``api_key`` or ``token``."""
    compact = _NON_ALNUM.sub("", name.lower())
    if compact in _SECRET_NAMES or compact.endswith(_SECRET_SUFFIXES):
        return True
    return _KEY_WORD.search(name.strip()) is not None


def strip_secrets(value: Any) -> Any:
    """A JSON-ready copy of ``value`` without credentials.

    Fields with a secret-looking name are dropped (not masked: a mask still tells a reader a key
    was there, and the brief is "no trace"); ``SecretStr`` values and ``Bearer …`` strings are
    dropped wherever they are. Pydantic models are dumped first; tuples become lists; paths and
    enums become their values; non-finite floats become ``None`` (PostgreSQL's JSON has no NaN).
    """
    return _clean(value)


_DROP = object()


def _clean(value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        return _DROP
    if isinstance(value, BaseModel):
        # Python mode keeps SecretStr objects as such (JSON mode would turn them into
        # "**********" strings under any name), so they are dropped by type below.
        return _clean(value.model_dump(mode="python", by_alias=True))
    if isinstance(value, Mapping):
        return _clean_mapping(value)
    if isinstance(value, list | tuple):
        return [item for item in (_clean(v) for v in value) if item is not _DROP]
    return _clean_scalar(value)


def _clean_mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = str(key)
        if is_secret_name(name):
            continue
        cleaned = _clean(item)
        if cleaned is not _DROP:
            out[name] = cleaned
    return out


def _clean_scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _DROP if _BEARER.match(value) else value
    if isinstance(value, enum.Enum):
        return _clean(value.value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return _clean_scalar(float(value))
    if isinstance(value, set | frozenset):
        return _clean(sorted(value, key=repr))
    raise TypeError(f"the ledger cannot store a value of type {type(value).__name__} as JSON")


def json_value(value: Any) -> Any:
    """``strip_secrets`` for values that must keep their shape (a dropped top level is ``None``)."""
    cleaned = _clean(value)
    return None if cleaned is _DROP else cleaned


def json_object(value: Mapping[str, Any] | BaseModel | None) -> dict[str, Any] | None:
    """A mapping or model as a stripped JSON object, or None."""
    if value is None:
        return None
    cleaned = _clean(value)
    if not isinstance(cleaned, dict):
        raise TypeError("expected a mapping or a pydantic model")
    return cleaned


def key_last4(key_hint: str | None) -> str | None:
    """The last four characters of a key, as given (``"abcd"``) or as a hint (``"…abcd"``).

    Anything longer is refused rather than cut: a caller passing a whole key has a bug, and
    silently keeping four characters of it would hide that.
    """
    if key_hint is None:
        return None
    text = key_hint.strip().lstrip("…").lstrip(".")
    if not text or len(text) > 4:
        raise ValueError("key_last4 takes only the last four characters of a key (or its hint)")
    return text
