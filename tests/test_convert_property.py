"""Property: one conversation written in every source shape converts to the same Mistral line.

A random conversation (system prompt, tools, tool-call rounds, per-turn weights) is written as
Mistral JSONL, OpenAI chat, ShareGPT (LLaMA-Factory), LLaMA-Factory v1 chunks, ShareGPT under a
dataset_info.json with its own tags, a ShareGPT or OpenAI DPO preference pair converted with
``--preference chosen``, a KTO record labelled true with ``--kto-keep-desirable``, and (when it
has no tools and no weights) Alpaca with history. Every shape must give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuner.datasets.convert import call_id, convert_record
from tuner.datasets.fields import ConvertOptions
from tuner.datasets.llamafactory import load_dataset_info
from tuner.datasets.mapping import Mapping


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict[str, str]
    result: str


@dataclass(frozen=True)
class Exchange:
    user: str
    # Rounds of parallel calls, each answered before the next; then the answer.
    rounds: tuple[tuple[Call, ...], ...]
    answer: str
    # One weight per assistant message of the exchange (each round, then the answer).
    weights: tuple[int | None, ...]


@dataclass(frozen=True)
class Conversation:
    system: str | None
    tools: tuple[str, ...]
    exchanges: tuple[Exchange, ...]

    @property
    def plain(self) -> bool:
        """No tools and no weights: what Alpaca can hold."""
        return not self.tools and all(
            not e.rounds and all(w is None for w in e.weights) for e in self.exchanges
        )


_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=8
).filter(lambda text: text.strip() == text and bool(text))
_names = st.from_regex(r"[a-z_]{1,8}", fullmatch=True)
_weight = st.sampled_from([None, 0, 1])


@st.composite
def _exchange(draw: st.DrawFn, names: list[str]) -> Exchange:
    rounds: list[tuple[Call, ...]] = []
    if names:
        for _ in range(draw(st.integers(0, 2))):
            calls = draw(
                st.lists(
                    st.builds(
                        Call,
                        st.sampled_from(names),
                        st.dictionaries(_names, _text, max_size=2),
                        _text,
                    ),
                    min_size=1,
                    max_size=3,
                )
            )
            rounds.append(tuple(calls))
    weights = tuple(draw(_weight) for _ in range(len(rounds) + 1))
    return Exchange(draw(_text), tuple(rounds), draw(_text), weights)


@st.composite
def conversations(draw: st.DrawFn) -> Conversation:
    tools = tuple(draw(st.lists(_names, max_size=3, unique=True)))
    exchanges = tuple(draw(st.lists(_exchange(list(tools)), min_size=1, max_size=3)))
    return Conversation(draw(st.one_of(st.none(), _text)), tools, exchanges)


def schema(name: str) -> dict[str, Any]:
    return {"name": name, "description": f"{name} tool", "parameters": {"type": "object"}}


def arguments(call: Call) -> str:
    return orjson.dumps(call.arguments).decode()


# --- the shapes ---


def to_mistral(conv: Conversation, index: int) -> dict[str, Any]:
    """The expected output itself: ids are the ones the converter invents, in call order."""
    messages: list[dict[str, Any]] = []
    if conv.system is not None:
        messages.append({"role": "system", "content": conv.system})
    position = 0
    for exchange in conv.exchanges:
        messages.append({"role": "user", "content": exchange.user})
        for calls, weight in zip(exchange.rounds, exchange.weights, strict=False):
            ids = [call_id(index, position + n) for n in range(len(calls))]
            position += len(calls)
            message: dict[str, Any] = {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": ident,
                        "type": "function",
                        "function": {"name": c.name, "arguments": arguments(c)},
                    }
                    for ident, c in zip(ids, calls, strict=True)
                ],
            }
            if weight is not None:
                message["weight"] = weight
            messages.append(message)
            for ident, c in zip(ids, calls, strict=True):
                messages.append({"role": "tool", "content": c.result, "tool_call_id": ident})
        answer: dict[str, Any] = {"role": "assistant", "content": exchange.answer}
        if exchange.weights[-1] is not None:
            answer["weight"] = exchange.weights[-1]
        messages.append(answer)
    sample: dict[str, Any] = {"messages": messages}
    if conv.tools:
        sample["tools"] = [{"type": "function", "function": schema(n)} for n in conv.tools]
    return sample


def to_openai(conv: Conversation) -> dict[str, Any]:
    """OpenAI chat: its own call ids ("call_…", which Mistral refuses), answered by id."""
    messages: list[dict[str, Any]] = []
    if conv.system is not None:
        messages.append({"role": "system", "content": conv.system})
    number = 0
    for exchange in conv.exchanges:
        messages.append({"role": "user", "content": exchange.user})
        for calls, weight in zip(exchange.rounds, exchange.weights, strict=False):
            ids = [f"call_{number + n}" for n in range(len(calls))]
            number += len(calls)
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": i,
                        "type": "function",
                        "function": {"name": c.name, "arguments": arguments(c)},
                    }
                    for i, c in zip(ids, calls, strict=True)
                ],
            }
            if weight is not None:
                message["weight"] = weight
            messages.append(message)
            for i, c in zip(ids, calls, strict=True):
                messages.append({"role": "tool", "tool_call_id": i, "content": c.result})
        messages.append(_weighted({"role": "assistant", "content": exchange.answer}, exchange))
    record: dict[str, Any] = {"messages": messages}
    if conv.tools:
        record["tools"] = [{"type": "function", "function": schema(n)} for n in conv.tools]
    return record


def _weighted(turn: dict[str, Any], exchange: Exchange, key: str = "weight") -> dict[str, Any]:
    weight = exchange.weights[-1]
    return turn if weight is None else {**turn, key: weight}


def sharegpt_turns(
    conv: Conversation, roles: dict[str, str], role: str = "from", content: str = "value"
) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    for exchange in conv.exchanges:
        turns.append({role: roles["user"], content: exchange.user})
        for calls, weight in zip(exchange.rounds, exchange.weights, strict=False):
            payload = [{"name": c.name, "arguments": c.arguments} for c in calls]
            turn: dict[str, Any] = {
                role: roles["call"],
                content: orjson.dumps(payload if len(payload) > 1 else payload[0]).decode(),
            }
            if weight is not None:
                turn["weight"] = weight
            turns.append(turn)
            turns += [{role: roles["tool"], content: c.result} for c in calls]
        turns.append(_weighted({role: roles["assistant"], content: exchange.answer}, exchange))
    return turns


SHAREGPT_ROLES = {
    "user": "human",
    "assistant": "gpt",
    "call": "function_call",
    "tool": "observation",
}


def to_sharegpt(conv: Conversation) -> dict[str, Any]:
    record: dict[str, Any] = {"conversations": sharegpt_turns(conv, SHAREGPT_ROLES)}
    if conv.system is not None:
        record["system"] = conv.system
    if conv.tools:
        # LLaMA-Factory keeps the tools as a JSON string of bare function schemas.
        record["tools"] = orjson.dumps([schema(n) for n in conv.tools]).decode()
    return record


TAGGED_ROLES = {"user": "kunde", "assistant": "agent", "call": "aufruf", "tool": "ergebnis"}


def to_tagged(conv: Conversation) -> dict[str, Any]:
    """ShareGPT under the dataset_info.json entry below (its own columns and tags)."""
    record: dict[str, Any] = {"dialog": sharegpt_turns(conv, TAGGED_ROLES, "wer", "was")}
    if conv.system is not None:
        record["rahmen"] = conv.system
    if conv.tools:
        record["werkzeuge"] = orjson.dumps([schema(n) for n in conv.tools]).decode()
    return record


def chunk(kind: str, value: str) -> dict[str, str]:
    return {"type": kind, "value": value}


def to_v1(conv: Conversation) -> dict[str, Any]:
    """LLaMA-Factory v1: chunks with "value", loss_weight per turn, tools in a system chunk."""
    messages: list[dict[str, Any]] = []
    if conv.tools:
        tools = orjson.dumps([schema(n) for n in conv.tools]).decode()
        messages.append({"role": "system", "content": [chunk("tools", tools)], "loss_weight": 0.0})
    if conv.system is not None:
        messages.append(
            {"role": "system", "content": [chunk("text", conv.system)], "loss_weight": 0.0}
        )
    for exchange in conv.exchanges:
        messages.append(
            {"role": "user", "content": [chunk("text", exchange.user)], "loss_weight": 0.0}
        )
        for calls, weight in zip(exchange.rounds, exchange.weights, strict=False):
            call_chunks = [
                chunk(
                    "tool_call", orjson.dumps({"name": c.name, "arguments": c.arguments}).decode()
                )
                for c in calls
            ]
            messages.append(_loss({"role": "assistant", "content": call_chunks}, weight))
            messages += [
                {"role": "tool", "content": [chunk("text", c.result)], "loss_weight": 0.0}
                for c in calls
            ]
        answer = {"role": "assistant", "content": [chunk("text", exchange.answer)]}
        messages.append(_loss(answer, exchange.weights[-1]))
    return {"messages": messages}


def _loss(turn: dict[str, Any], weight: int | None) -> dict[str, Any]:
    return turn if weight is None else {**turn, "loss_weight": float(weight)}


def to_sharegpt_pair(conv: Conversation) -> dict[str, Any]:
    record = to_sharegpt(conv)
    *prompt, last = record["conversations"]
    return {
        **record,
        "conversations": prompt,
        "chosen": last,
        "rejected": {"from": "gpt", "value": "a worse answer"},
    }


def to_openai_dpo(conv: Conversation) -> dict[str, Any]:
    record = to_openai(conv)
    *prompt, last = record["messages"]
    return {
        "input": {"messages": prompt, "tools": record.get("tools", [])},
        "preferred_output": [last],
        "non_preferred_output": [{"role": "assistant", "content": "a worse answer"}],
    }


def to_kto(conv: Conversation) -> dict[str, Any]:
    return {**to_openai(conv), "label": True}


def to_alpaca(conv: Conversation) -> dict[str, Any]:
    *history, last = conv.exchanges
    record: dict[str, Any] = {
        "instruction": last.user,
        "input": "",
        "output": last.answer,
        "history": [[e.user, e.answer] for e in history],
    }
    if conv.system is not None:
        record["system"] = conv.system
    return record


@pytest.fixture(scope="module")
def tagged_mapping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mapping]:
    info = tmp_path_factory.mktemp("info") / "dataset_info.json"
    entry = {
        "file_name": "dialogs.jsonl",
        "formatting": "sharegpt",
        "columns": {"messages": "dialog", "system": "rahmen", "tools": "werkzeuge"},
        "tags": {
            "role_tag": "wer",
            "content_tag": "was",
            "user_tag": "kunde",
            "assistant_tag": "agent",
            "function_tag": "aufruf",
            "observation_tag": "ergebnis",
        },
    }
    info.write_bytes(orjson.dumps({"dialogs": entry}))
    yield load_dataset_info(info, "dialogs").mapping


Shape = Callable[[Conversation], dict[str, Any]]


@settings(max_examples=80)
@given(conversations(), st.integers(min_value=0, max_value=10**6))
def test_every_shape_gives_the_same_mistral_line(
    tagged_mapping: Mapping, conv: Conversation, index: int
) -> None:
    expected = orjson.dumps(to_mistral(conv, index))
    chosen = ConvertOptions(preference="chosen")
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("mistral", to_mistral(conv, index), {"source_format": "mistral"}),
        ("openai", to_openai(conv), {}),
        ("sharegpt", to_sharegpt(conv), {}),
        ("v1", to_v1(conv), {}),
        ("dataset_info", to_tagged(conv), {"mapping": tagged_mapping}),
        ("sharegpt pair", to_sharegpt_pair(conv), {"options": chosen}),
        ("openai dpo", to_openai_dpo(conv), {"options": chosen}),
        ("kto", to_kto(conv), {"options": ConvertOptions(kto="keep-desirable")}),
    ]
    if conv.plain:
        cases.append(("alpaca", to_alpaca(conv), {}))
    for name, record, kwargs in cases:
        got = orjson.dumps(convert_record(record, index=index, **kwargs))
        assert got == expected, name


def test_the_shapes_file_converts_like_the_records(tmp_path: Path) -> None:
    """The same through files: a JSONL of every shape gives the expected line per record."""
    from tuner.datasets.convert import convert

    conv = Conversation(
        "Be brief.",
        ("capital",),
        (
            Exchange(
                "Capital of France?",
                ((Call("capital", {"country": "FR"}, "Paris"),),),
                "Paris.",
                (0, 1),
            ),
        ),
    )
    records = [to_openai(conv), to_sharegpt(conv), to_v1(conv)]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    result = convert([source], tmp_path / "out.jsonl")
    assert result.converted == 3
    lines = (tmp_path / "out.jsonl").read_bytes().splitlines()
    assert lines == [orjson.dumps(to_mistral(conv, index)) for index in range(3)]
    assert result.sources[0].fields.unused == {}
