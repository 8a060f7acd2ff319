"""The convert mapping file: strict TOML model, clear errors, role and column defaults."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from tuner.datasets.mapping import (
    DEFAULT_ROLES,
    Mapping,
    MappingError,
    load_mapping,
)

FULL = """\
format = "sharegpt"
split = "validation"

[columns]
messages = "dialog"
system = "sys"
tools = "functions_json"
instruction = "q"
input = "ctx"
output = "a"
history = "past"
prompt = "p"
completion = "c"

[keys]
role = "speaker"
content = "said"

[roles]
Kunde = "user"
Agent = "assistant"
obs = "tool"
call = "tool_call"
"""


def write(tmp_path: Path, text: str, name: str = "mapping.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_file_is_read(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, FULL))
    assert mapping.format == "sharegpt"
    assert mapping.split == "validation"
    assert mapping.columns.messages == "dialog"
    assert mapping.columns.completion == "c"
    assert mapping.keys.role == "speaker"
    assert mapping.roles == {
        "Kunde": "user",
        "Agent": "assistant",
        "obs": "tool",
        "call": "tool_call",
    }
    assert mapping.role_keys() == ("speaker",)
    assert mapping.content_keys() == ("said",)
    assert mapping.columns_for("messages", "sharegpt") == ("dialog",)
    assert mapping.columns_for("system", "auto") == ("sys",)


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, ""))
    assert mapping == Mapping()
    assert mapping.format == "auto"
    assert mapping.split is None
    assert mapping.role_keys() == ("role", "from")
    assert mapping.content_keys() == ("content", "value", "text")


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("sharegpt", ("conversations", "conversation", "messages")),
        ("openai", ("messages", "interactions")),
        ("mistral", ("messages", "interactions")),
        ("auto", ("messages", "interactions", "conversations", "conversation")),
    ],
)
def test_default_messages_columns_per_format(fmt: str, expected: tuple[str, ...]) -> None:
    assert Mapping().columns_for("messages", fmt) == expected


def test_default_side_columns() -> None:
    mapping = Mapping()
    assert mapping.columns_for("system", "auto") == ("system", "system_prompt")
    assert mapping.columns_for("tools", "auto") == ("tools", "available_tools", "functions")
    assert mapping.columns_for("instruction", "alpaca") == ("instruction",)


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("human", "user"),
        ("USER", "user"),
        ("Human", "user"),
        ("gpt", "assistant"),
        ("GPT", "assistant"),
        ("bot", "assistant"),
        ("model", "assistant"),
        ("chatgpt", "assistant"),
        ("system", "system"),
        ("observation", "tool"),
        ("function", "tool"),
        ("ipython", "tool"),
        ("tool", "tool"),
        ("function_call", "tool_call"),
    ],
)
def test_builtin_roles(name: str, role: str) -> None:
    assert Mapping().role_for(name) == role


def test_unknown_role_is_none() -> None:
    assert Mapping().role_for("narrator") is None


def test_file_roles_extend_and_override_defaults(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, '[roles]\nmodel = "user"\nnarrator = "system"\n'))
    assert mapping.role_for("model") == "user"
    assert mapping.role_for("MODEL") == "user"
    assert mapping.role_for("narrator") == "system"
    assert mapping.role_for("gpt") == "assistant"
    assert DEFAULT_ROLES["model"] == "assistant"


def test_exact_role_name_wins_over_case_folded(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, '[roles]\nUser = "assistant"\n'))
    assert mapping.role_for("User") == "assistant"


def test_mapping_pickles_for_worker_processes() -> None:
    mapping = Mapping.model_validate({"roles": {"Kunde": "user"}})
    copy = pickle.loads(pickle.dumps(mapping))
    assert copy == mapping
    assert copy.role_for("kunde") == "user"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('formt = "sharegpt"\n', "unknown key 'formt'"),
        ('[columns]\nmesages = "x"\n', "unknown key 'columns.mesages'"),
        ('[keys]\nspeaker = "from"\n', "unknown key 'keys.speaker'"),
        ('[roles]\nhuman = "customer"\n', "roles.human: 'customer' is not a target role"),
        ('format = "chatml"\n', "format: 'chatml' is not a format"),
        ("[columns]\nmessages = 3\n", "columns.messages: Input should be a valid string"),
        ('[columns]\nmessages = ""\n', "columns.messages: String should have at least 1 character"),
        ('split = ""\n', "split:"),
        ('columns = "x"\n', "columns:"),
    ],
)
def test_bad_keys_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert caught.value.path == str(path)


def test_several_problems_are_all_named(tmp_path: Path) -> None:
    path = write(tmp_path, 'colour = 1\n[keys]\nrol = "from"\n')
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert "unknown key 'colour'" in caught.value.reason
    assert "unknown key 'keys.rol'" in caught.value.reason


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "format = sharegpt\n")
    with pytest.raises(MappingError, match="not valid TOML") as caught:
        load_mapping(path)
    assert str(path) in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(MappingError, match="no such file"):
        load_mapping(path)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="directory"):
        load_mapping(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b'split = "\xe9t\xe9"\n')
    with pytest.raises(MappingError, match="UTF-8"):
        load_mapping(path)
