"""LLaMA-Factory's ``dataset_info.json`` read as a :class:`~tuner.datasets.mapping.Mapping`.

A LLaMA-Factory user has already described each dataset once (its ``data/README.md``)::

    "my_data": {
      "file_name": "my_data.json",
      "formatting": "sharegpt",                # alpaca (the default) or sharegpt
      "ranking": true,                         # a preference dataset
      "split": "train",
      "columns": {"messages": "conversations", "system": "system", "tools": "tools",
                  "prompt": "instruction", "query": "input", "response": "output",
                  "history": "history", "images": "images", "chosen": "chosen",
                  "rejected": "rejected", "kto_tag": "label"},
      "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human",
               "assistant_tag": "gpt", "observation_tag": "observation",
               "function_tag": "function_call", "system_tag": "system"}
    }

:func:`load_dataset_info` turns one entry into the same mapping a TOML file would give, plus the
files it names (relative to the ``dataset_info.json``), so ``convert`` reads the data the way
LLaMA-Factory does. Problems are :class:`~tuner.datasets.mapping.MappingError`\\ s naming the
file, the dataset and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from tuner.datasets.formats import UnreadableSourceError, detect_kind
from tuner.datasets.mapping import Mapping, MappingError, TargetRole

# LLaMA-Factory column name -> our mapping's column name.
_COLUMNS = {
    "prompt": "instruction",
    "query": "input",
    "response": "output",
    "history": "history",
    "messages": "messages",
    "system": "system",
    "tools": "tools",
    "images": "images",
    "videos": "videos",
    "audios": "audios",
    "chosen": "chosen",
    "rejected": "rejected",
    "kto_tag": "kto_tag",
}
# LLaMA-Factory tag -> the target role its value (a role name in the data) stands for.
_ROLE_TAGS: dict[str, TargetRole] = {
    "user_tag": "user",
    "assistant_tag": "assistant",
    "observation_tag": "tool",
    "function_tag": "tool_call",
    "system_tag": "system",
}
_KEY_TAGS = {"role_tag": "role", "content_tag": "content"}
# Formatting -> our source format ("openai" is what some LLaMA-Factory versions call sharegpt
# with role/content tags).
_FORMATS = {"alpaca": "alpaca", "sharegpt": "sharegpt", "openai": "openai"}
# Entry keys that only say where LLaMA-Factory downloads from or how it samples.
_REMOTE = ("hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name")
_KNOWN = frozenset(
    {"file_name", "formatting", "ranking", "split", "columns", "tags", "file_sha1", "subset"}
    | set(_REMOTE)
    | {"folder", "num_samples"}
)
# Keys that would change which records LLaMA-Factory reads: convert reads the whole file.
_NOT_APPLIED = ("num_samples", "subset", "folder")


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """One ``dataset_info.json`` entry: the mapping, the files, and the keys not applied."""

    name: str
    mapping: Mapping
    files: list[Path]
    not_applied: list[str]


def load_dataset_info(path: str | Path, name: str) -> DatasetInfo:
    """The entry ``name`` of the ``dataset_info.json`` at ``path``; raises :class:`MappingError`."""
    source = Path(path)
    entries = _read(source)
    entry = entries.get(name)
    if entry is None:
        known = ", ".join(sorted(entries)[:20]) or "none"
        raise MappingError(source, f"no dataset {name!r} (datasets: {known})")
    if not isinstance(entry, dict):
        raise MappingError(source, f"{name}: not an object")
    unknown = sorted(set(entry) - _KNOWN)
    if unknown:
        raise MappingError(source, f"{name}: unknown key(s) {', '.join(map(repr, unknown))}")
    mapping = _mapping(source, name, entry)
    files = _files(source, name, entry)
    not_applied = [key for key in _NOT_APPLIED if entry.get(key) is not None]
    return DatasetInfo(name, mapping, files, not_applied)


def _read(source: Path) -> dict[str, Any]:
    try:
        data = orjson.loads(source.read_bytes())
    except FileNotFoundError as exc:
        raise MappingError(source, "no such file") from exc
    except OSError as exc:
        raise MappingError(source, exc.strerror or str(exc)) from exc
    except orjson.JSONDecodeError as exc:
        raise MappingError(source, f"not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise MappingError(source, "not a JSON object of datasets")
    return data


def _mapping(source: Path, name: str, entry: dict[str, Any]) -> Mapping:
    formatting = entry.get("formatting", "alpaca")
    if formatting not in _FORMATS:
        raise MappingError(
            source, f"{name}.formatting: {formatting!r} is not alpaca, sharegpt or openai"
        )
    columns = _section(source, name, entry, "columns")
    tags = _section(source, name, entry, "tags")
    mapped: dict[str, str] = {}
    for key, value in columns.items():
        if key not in _COLUMNS:
            raise MappingError(source, f"{name}.columns: unknown column {key!r}")
        mapped[_COLUMNS[key]] = value
    keys: dict[str, str] = {}
    roles: dict[str, TargetRole] = {}
    for key, value in tags.items():
        if key in _KEY_TAGS:
            keys[_KEY_TAGS[key]] = value
        elif key in _ROLE_TAGS:
            roles[value] = _ROLE_TAGS[key]
        else:
            raise MappingError(source, f"{name}.tags: unknown tag {key!r}")
    data: dict[str, Any] = {
        "format": _FORMATS[formatting],
        "columns": mapped,
        "keys": keys,
        "roles": roles,
    }
    if entry.get("split") is not None:
        data["split"] = entry["split"]
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise MappingError(source, f"{name}: {problems}") from exc


def _section(source: Path, name: str, entry: dict[str, Any], key: str) -> dict[str, str]:
    section = entry.get(key) or {}
    if not isinstance(section, dict) or not all(
        isinstance(value, str) and value for value in section.values()
    ):
        raise MappingError(source, f"{name}.{key}: not an object of names")
    return section


def _files(source: Path, name: str, entry: dict[str, Any]) -> list[Path]:
    file_name = entry.get("file_name")
    if not isinstance(file_name, str) or not file_name:
        remote = next((key for key in _REMOTE if entry.get(key)), None)
        where = f" ({remote} {entry[remote]!r})" if remote else ""
        raise MappingError(
            source,
            f"{name}: no file_name{where}; tuner reads local files only: download the data "
            "and pass its files",
        )
    path = source.parent / file_name
    if path.is_dir():
        try:
            detect_kind(path)  # a dataset saved with save_to_disk is one source
            return [path]
        except UnreadableSourceError:  # any other folder: LLaMA-Factory reads all its files
            files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not files:
                raise MappingError(source, f"{name}: the folder {file_name!r} is empty") from None
            return files
    return [path]
