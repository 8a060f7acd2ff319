"""The mapping file of ``tuner data convert``: where conversations are in a user's records.

Every framework users come from describes its data with the same table
(``docs/data.md#source-shapes-for-convert``): which
column holds the turns, which keys inside a turn hold the role and the text, and what each role
name means. This module is that table, read from TOML::

    format = "sharegpt"            # auto|mistral|openai|sharegpt|alpaca|prompt-completion
    split = "train"                # the split of a saved DatasetDict
    [columns]                      # record keys; unset ones use the format's defaults
    messages = "conversations"
    system = "system"
    tools = "tools"
    kto_tag = "label"              # KTO: a true/false judgement of the answer
    chosen = "chosen"              # preference pairs: the better and the worse answer
    rejected = "rejected"
    images = "images"              # media columns (refused unless dropped explicitly)
    [keys]                         # keys inside each turn
    role = "from"
    content = "value"
    [roles]                        # source role name -> user|assistant|system|tool|tool_call
    human = "user"

``[roles]`` extends and overrides :data:`DEFAULT_ROLES`. The model is strict: an unknown key or a
value of the wrong type is a :class:`MappingError` naming the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SourceFormat = Literal["auto", "mistral", "openai", "sharegpt", "alpaca", "prompt-completion"]
SOURCE_FORMATS: tuple[str, ...] = get_args(SourceFormat)

# ``tool_call`` is an assistant turn whose content is a JSON call ``{"name", "arguments"}`` (or a
# list of them), as LLaMA-Factory's ``function_call`` turns are.
TargetRole = Literal["user", "assistant", "system", "tool", "tool_call"]
TARGET_ROLES: tuple[str, ...] = get_args(TargetRole)

ColumnField = Literal[
    "messages",
    "system",
    "tools",
    "instruction",
    "input",
    "output",
    "history",
    "prompt",
    "completion",
    "kto_tag",
    "chosen",
    "rejected",
    "images",
    "videos",
    "audios",
]
COLUMN_FIELDS: tuple[ColumnField, ...] = get_args(ColumnField)

# Role names seen in the wild (ShareGPT, OpenAI legacy, LLaMA-Factory, Llama 3 ``ipython``).
# Matched case-insensitively, so ``Human`` and ``GPT`` need no entry.
DEFAULT_ROLES: dict[str, TargetRole] = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
    "system": "system",
    "observation": "tool",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
    "function_call": "tool_call",
}

# Where each thing is looked for when the mapping does not say. The turn list has per-format
# names; everything else is named the same in every format. Aliases follow samples.py
# (``interactions``, ``system_prompt``, ``available_tools``) and OpenAI's legacy ``functions``.
MESSAGES_COLUMNS: dict[str, tuple[str, ...]] = {
    "mistral": ("messages", "interactions"),
    "openai": ("messages", "interactions"),
    "sharegpt": ("conversations", "conversation", "messages"),
    "auto": ("messages", "interactions", "conversations", "conversation"),
}
_DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "system": ("system", "system_prompt"),
    "tools": ("tools", "available_tools", "functions"),
    "instruction": ("instruction",),
    "input": ("input",),
    "output": ("output",),
    "history": ("history",),
    "prompt": ("prompt",),
    "completion": ("completion",),
    # LLaMA-Factory's KTO demo data calls its column "label"; only true/false values count.
    "kto_tag": ("label", "kto_tag"),
    "chosen": ("chosen",),
    "rejected": ("rejected",),
    "images": ("images", "image"),
    "videos": ("videos", "video"),
    "audios": ("audios", "audio"),
}
ROLE_KEYS: tuple[str, ...] = ("role", "from")
CONTENT_KEYS: tuple[str, ...] = ("content", "value", "text")

Name = Annotated[str, Field(min_length=1)]
_STRICT = ConfigDict(extra="forbid", frozen=True)


class MappingError(Exception):
    """A mapping file that cannot be used; the message names the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class Columns(BaseModel):
    model_config = _STRICT

    messages: Name | None = None
    system: Name | None = None
    tools: Name | None = None
    instruction: Name | None = None
    input: Name | None = None
    output: Name | None = None
    history: Name | None = None
    prompt: Name | None = None
    completion: Name | None = None
    kto_tag: Name | None = None
    chosen: Name | None = None
    rejected: Name | None = None
    images: Name | None = None
    videos: Name | None = None
    audios: Name | None = None


class Keys(BaseModel):
    model_config = _STRICT

    role: Name | None = None
    content: Name | None = None


class Mapping(BaseModel):
    """Where conversations are in a source's records; the defaults fit the common shapes."""

    model_config = _STRICT

    format: SourceFormat = "auto"
    split: Name = "train"
    columns: Columns = Field(default_factory=Columns)
    keys: Keys = Field(default_factory=Keys)
    roles: dict[Name, TargetRole] = Field(default_factory=dict)

    def resolve(self, source_format: str = "auto") -> ResolvedMapping:
        """Plain lookup tables for one source format, built once per conversion.

        (Reading fields and private attributes of a pydantic model per turn costs more than the
        conversion itself.)
        """
        folded = {name.casefold(): role for name, role in DEFAULT_ROLES.items()}
        folded.update({name.casefold(): role for name, role in self.roles.items()})
        return ResolvedMapping(
            format=source_format,
            exact_roles=dict(self.roles),
            folded_roles=folded,
            role_keys=(self.keys.role,) if self.keys.role is not None else ROLE_KEYS,
            content_keys=(self.keys.content,) if self.keys.content is not None else CONTENT_KEYS,
            columns={field: self.columns_for(field, source_format) for field in COLUMN_FIELDS},
        )

    def role_for(self, name: str) -> TargetRole | None:
        """The target role of a source role name, or None when nothing maps it."""
        return self.resolve().role_for(name)

    def columns_for(self, field: ColumnField, source_format: str) -> tuple[str, ...]:
        """The record keys to look for ``field`` in, first match wins."""
        configured: str | None = getattr(self.columns, field)
        if configured is not None:
            return (configured,)
        if field == "messages":
            return MESSAGES_COLUMNS.get(source_format, MESSAGES_COLUMNS["auto"])
        return _DEFAULT_COLUMNS[field]

    def role_keys(self) -> tuple[str, ...]:
        return self.resolve().role_keys

    def content_keys(self) -> tuple[str, ...]:
        return self.resolve().content_keys


@dataclass(frozen=True, slots=True)
class ResolvedMapping:
    """A :class:`Mapping` for one source format, as plain dicts and tuples for fast lookups."""

    format: str
    exact_roles: dict[str, TargetRole]
    folded_roles: dict[str, TargetRole]
    role_keys: tuple[str, ...]
    content_keys: tuple[str, ...]
    columns: dict[str, tuple[str, ...]]

    def role_for(self, name: str) -> TargetRole | None:
        """Exact names from the file first, then case-folded ones (file entries over defaults)."""
        exact = self.exact_roles.get(name)
        if exact is not None:
            return exact
        return self.folded_roles.get(name.strip().casefold())


DEFAULT_MAPPING = Mapping()


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a TOML mapping file; raises :class:`MappingError` naming file and key."""
    source = Path(path)
    try:
        text = source.read_bytes().decode("utf-8")
    except FileNotFoundError as exc:
        raise MappingError(source, "no such file") from exc
    except IsADirectoryError as exc:
        raise MappingError(source, "is a directory, not a TOML file") from exc
    except UnicodeDecodeError as exc:
        raise MappingError(source, "not valid UTF-8") from exc
    except OSError as exc:
        raise MappingError(source, exc.strerror or str(exc)) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(source, f"not valid TOML: {exc}") from exc
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        raise MappingError(source, _describe(exc)) from exc


def _describe(error: ValidationError) -> str:
    """One line per problem, each naming the dotted key, e.g. ``unknown key 'columns.mesages'``."""
    parts = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        if problem["type"] == "extra_forbidden":
            parts.append(f"unknown key {key!r}")
        elif problem["type"] == "literal_error" and problem["loc"][:1] == ("roles",):
            choices = "|".join(TARGET_ROLES)
            parts.append(f"{key}: {problem['input']!r} is not a target role ({choices})")
        elif problem["type"] == "literal_error" and problem["loc"] == ("format",):
            choices = "|".join(SOURCE_FORMATS)
            parts.append(f"format: {problem['input']!r} is not a format ({choices})")
        else:
            parts.append(f"{key}: {problem['msg']}")
    return "; ".join(parts)
