"""Exact Mistral token counts of training samples, as mistral-finetune tokenizes them.

What is counted (mistral-finetune ``finetune/data/tokenize.py``, ``tokenize_instruct``): the
sample is built from ``UserMessage``, ``FinetuningAssistantMessage`` (with its weight) and
``ToolMessage``, a ``system_prompt`` and ``available_tools``, and encoded message by message by
mistral-common's instruct tokenizer; the count is the length of the whole encoded sample. That is
what ``InstructTokenizer.encode_instruct`` gives for the same ``InstructRequest``, with one
difference we match: when the last message is an assistant tool call, mistral-finetune replaces
its calls by ``ToolCall(function=call.function)`` ("we don't want to predict a random call id"),
whose id is the default ``"null"``, and the v3/v7 tokenizers leave ``"null"`` ids out of the JSON.

``trained`` is mistral-finetune's loss mask: the tokens of assistant messages (their EOS included)
whose weight is absent or 1, and, when the sample declares tools (``only_last``), only the last
message if it is an assistant message. A pretrain line is ``encode(text, bos=True, eos=True)``, all
of it trained.

One case mistral-finetune cannot encode: a system prompt with the v7 tokenizer (mistral-common's
``InstructTokenizerV7.encode_user_message`` asserts ``system_prompt is None``). We count it the
way v7 encodes a conversation that starts with a system message: ``[SYSTEM_PROMPT]…
[/SYSTEM_PROMPT]`` right after BOS. An empty system prompt adds nothing, as with v3.

Two paths give the same numbers:

- :func:`reference_count`: the obviously-right, slow one (pydantic messages, ``encode_instruct``),
  used by the tests and the benchmark.
- :func:`counter_for`: the fast one. It lays a whole batch of samples out as mistral-common's v3
  and v7 instruct tokenizers do (which texts get encoded, how many control tokens surround them)
  without building pydantic objects, then counts every distinct text of the batch: texts are cut
  into words whose token counts provably add up to the text's (:func:`_sentencepiece_words`,
  :func:`_tekken_words`), word counts are remembered across batches, and only new words are
  encoded (SentencePiece's batch API with ``num_threads``; tiktoken's ``encode_ordinary``).
  Property tests check it equals the reference on random conversations for every tokenizer.

The counter is meant for samples that passed validation. On samples the platform would reject
(an assistant turn with neither content nor tool calls, content beside tool calls with v3, a tool
message without ``tool_call_id``) the reference raises as mistral-common does, while the fast path
still returns a best-effort count instead of failing a whole batch.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import TYPE_CHECKING, Any, Final

from tuner.datasets.counting import TokenCount, TokenCounter
from tuner.datasets.samples import InstructSample, Message, PretrainSample, Sample, ToolCall
from tuner.datasets.tokenizers import (
    TOKENIZER_NAMES,
    V7_SENTENCEPIECE,
    load_tokenizer,
    resolve_tokenizer,
)

if TYPE_CHECKING:
    from mistral_common.tokens.tokenizers.base import Tokenizer

# mistral-common serialises tools, tool calls and tool results with ``json.dumps(...,
# ensure_ascii=False)`` and parses arguments and results with ``json.loads``: the same stdlib
# calls here give the same texts (orjson would format floats and escapes differently).
_JSON: Final = json.JSONEncoder(ensure_ascii=False)

# Control tokens around each piece (mistral-common 1.13 instruct tokenizers v3 and v7).
_BOS: Final = 1
_EOS: Final = 1
_INST: Final = 2  # [INST] … [/INST]
_AVAILABLE_TOOLS: Final = 2  # [AVAILABLE_TOOLS] … [/AVAILABLE_TOOLS]
_TOOL_CALLS: Final = 1  # [TOOL_CALLS] before the calls' JSON
_TOOL_RESULTS_V3: Final = 2  # [TOOL_RESULTS] json [/TOOL_RESULTS]
_TOOL_RESULTS_V7: Final = 3  # [TOOL_RESULTS] id [TOOL_CONTENT] content [/TOOL_RESULTS]
_SYSTEM_PROMPT_V7: Final = 2  # [SYSTEM_PROMPT] … [/SYSTEM_PROMPT]
_NULL_CALL_ID: Final = "null"


# --------------------------------------------------------------------------- shared pieces


def _parse_json_content(text: str) -> Any:
    """mistral-common's ``_parse_json_content``: the JSON value, or the text if it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _function_of(tool: Mapping[str, Any]) -> Mapping[str, Any]:
    """The function of a ``tools`` entry; a bare function dict is accepted as itself."""
    function = tool.get("function")
    return function if isinstance(function, Mapping) else tool


def tools_json(tools: Sequence[Mapping[str, Any]]) -> str:
    """The ``[AVAILABLE_TOOLS]`` text: what ``Tool(function=Function(...)).model_dump()`` dumps.

    mistral-finetune rebuilds each tool from its function's name, description and parameters
    only (other keys and the entry's ``type`` are dropped, ``strict`` is excluded on encoding).
    """
    entries = []
    for tool in tools:
        function = _function_of(tool)
        entries.append(
            {
                "type": "function",
                "function": {
                    "name": function.get("name"),
                    "description": function.get("description", ""),
                    "parameters": function.get("parameters"),
                },
            }
        )
    return _JSON.encode(entries)


def _tool_calls_json(calls: Sequence[ToolCall], *, keep_ids: bool) -> str:
    """The ``[TOOL_CALLS]`` text of v3/v7 (``_prepare_function_call``): name, arguments, id."""
    prepared = []
    for call in calls:
        entry: dict[str, Any] = {
            "name": call.name,
            "arguments": _parse_json_content(call.arguments),
        }
        if keep_ids and call.id and call.id != _NULL_CALL_ID:
            entry["id"] = call.id
        prepared.append(entry)
    return _JSON.encode(prepared)


def _tool_result_json_v3(message: Message) -> str:
    """The v3 ``[TOOL_RESULTS]`` text (``_prepare_tool_result``)."""
    return _JSON.encode(
        {"content": _parse_json_content(message.text), "call_id": message.tool_call_id}
    )


def _last_user_index(messages: Sequence[Message]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return index
    return -1


def _is_weighted(message: Message) -> bool:
    # mistral-finetune: ``message.weight is None or message.weight == 1``.
    return message.weight is None or message.weight == 1


# --------------------------------------------------------------------------- batch layout


@dataclass
class _Layout:
    """The texts to encode for a batch, and where each one's length is to be added.

    Each sample ``i`` has two slots: ``2*i`` (not trained) and ``2*i + 1`` (trained). Distinct
    texts are encoded once per batch: tools blocks, system prompts and call ids repeat a lot.
    """

    slots: int
    texts: list[str] = field(default_factory=list)
    _position: dict[str, int] = field(default_factory=dict)
    # One entry per occurrence of a text: which distinct text, which slot.
    refs: list[int] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    fixed: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.fixed = [0] * self.slots

    def text(self, slot: int, text: str) -> None:
        position = self._position.get(text)
        if position is None:
            position = self._position[text] = len(self.texts)
            self.texts.append(text)
        self.refs.append(position)
        self.owners.append(slot)

    def control(self, slot: int, count: int) -> None:
        self.fixed[slot] += count

    def totals(self, lengths: Sequence[int]) -> list[int]:
        sums = list(self.fixed)
        for position, slot in zip(self.refs, self.owners, strict=True):
            sums[slot] += lengths[position]
        return sums


def _lay_out_pretrain(sample: PretrainSample, layout: _Layout, slot: int) -> None:
    trained = slot + 1
    layout.control(trained, _BOS + _EOS)
    layout.text(trained, sample.text)


def _lay_out_user(
    sample: InstructSample, message: Message, is_last: bool, layout: _Layout, slot: int, v7: bool
) -> None:
    # V2/V3 ``encode_user_message``: the tools block goes before the last user turn.
    if is_last and sample.tools:
        layout.control(slot, _AVAILABLE_TOOLS)
        layout.text(slot, tools_json(sample.tools))
    layout.control(slot, _INST)
    content = message.content
    # v3 puts the system prompt before the last user turn's text; v7 has a message of its own.
    system = None if v7 else sample.system_prompt
    if content is None or isinstance(content, str):
        text = content or ""
        layout.text(slot, f"{system}\n\n{text}" if is_last and system else text)
        return
    # Text chunks are encoded one by one (``encode_user_content`` / ``_encode_content_chunks``),
    # with v3's system prompt encoded on its own before the first chunk.
    if is_last and system and content:
        layout.text(slot, f"{system}\n\n")
    for chunk in content:
        layout.text(slot, chunk)


def _lay_out_tool(message: Message, layout: _Layout, slot: int, v7: bool) -> None:
    if v7:
        layout.control(slot, _TOOL_RESULTS_V7)
        layout.text(slot, message.tool_call_id or "")
        layout.text(slot, message.text)
    else:
        layout.control(slot, _TOOL_RESULTS_V3)
        layout.text(slot, _tool_result_json_v3(message))


def _lay_out_assistant(
    message: Message, is_last_message: bool, trained: bool, layout: _Layout, slot: int, v7: bool
) -> None:
    target = slot + 1 if trained else slot
    layout.control(target, _EOS)
    text = message.text
    # v7 encodes content then calls; v3 encodes the calls when there are any, else the content.
    if text and (v7 or not message.tool_calls):
        layout.text(target, text.rstrip(" "))
    if message.tool_calls:
        layout.control(target, _TOOL_CALLS)
        # mistral-finetune drops the ids of the calls of a final assistant turn.
        layout.text(target, _tool_calls_json(message.tool_calls, keep_ids=not is_last_message))


def _lay_out_instruct(sample: InstructSample, layout: _Layout, slot: int, v7: bool) -> None:
    messages = sample.messages
    last_user = _last_user_index(messages)
    last = len(messages) - 1
    only_last = bool(sample.tools)
    layout.control(slot, _BOS)
    if v7 and sample.system_prompt:
        layout.control(slot, _SYSTEM_PROMPT_V7)
        layout.text(slot, sample.system_prompt)
    for index, message in enumerate(messages):
        role = message.role
        if role == "user":
            _lay_out_user(sample, message, index == last_user, layout, slot, v7)
        elif role == "assistant":
            trained = _is_weighted(message) and (not only_last or index == last)
            _lay_out_assistant(message, index == last, trained, layout, slot, v7)
        elif role == "tool":
            _lay_out_tool(message, layout, slot, v7)
        # System messages are set aside into ``system_prompt`` by the validator.


def _lay_out(samples: Sequence[Sample], *, v7: bool) -> _Layout:
    """The texts and control-token counts of ``samples``, as the instruct tokenizer encodes them."""
    layout = _Layout(slots=2 * len(samples))
    for index, sample in enumerate(samples):
        if isinstance(sample, PretrainSample):
            _lay_out_pretrain(sample, layout, 2 * index)
        else:
            _lay_out_instruct(sample, layout, 2 * index, v7)
    return layout


# --------------------------------------------------------------------------- text encoders

Lengths = Callable[[list[str]], list[int]]

_WORD_CACHE_LIMIT: Final = 200_000  # remembered words (tens of MB); emptied past this
_UNKNOWN: Final = -(1 << 62)  # the length of a word not seen yet: far below any real sum


class _WordCachedLengths:
    """Token counts that remember the length of every word seen, across batches.

    Natural text repeats its words, so cutting each text into words whose lengths add up to the
    text's (``split``; why they add up is proven per tokenizer below) and encoding only the words
    not seen before, in one batch call, is several times faster than encoding every text. The
    first word is encoded as it is; the others as ``tail_prefix + word``.
    """

    def __init__(self, encode: Lengths, split: Callable[[str], list[str]], tail_prefix: str):
        self._encode = encode
        self._split = split
        self._prefix = tail_prefix
        self._heads: dict[str, int] = {}
        # Without a prefix a word has one length wherever it stands: one table serves both.
        self._tails: dict[str, int] = {} if tail_prefix else self._heads

    def _learn(self, heads: set[str], tails: set[str]) -> None:
        heads.difference_update(self._heads.keys())
        tails.difference_update(self._tails.keys())
        if self._tails is self._heads:
            heads |= tails
            tails = set()
        head_list, tail_list = list(heads), list(tails)
        lengths = self._encode(head_list + [self._prefix + word for word in tail_list])
        self._heads.update(zip(head_list, lengths[: len(head_list)], strict=True))
        self._tails.update(zip(tail_list, lengths[len(head_list) :], strict=True))

    def __call__(self, texts: list[str]) -> list[int]:
        heads, tails = self._heads, self._tails
        # Bounded memory; emptied only between calls, so a word learnt below stays known.
        if len(heads) + len(tails) > _WORD_CACHE_LIMIT:
            heads.clear()
            tails.clear()
        head_length, tail_length = heads.get, tails.get
        lengths: list[int] = []
        again: list[tuple[int, str, list[str]]] = []
        new_heads: set[str] = set()
        new_tails: set[str] = set()
        for index, text in enumerate(texts):
            words = self._split(text)
            head, rest = words[0], words[1:]
            # A word not seen yet adds a huge negative: C-speed lookups that still flag misses.
            length = head_length(head, _UNKNOWN) + sum(map(tail_length, rest, repeat(_UNKNOWN)))
            if length < 0:
                again.append((index, head, rest))
                new_heads.add(head)
                new_tails.update(rest)
            lengths.append(length)
        if again:
            self._learn(new_heads, new_tails)
            for index, head, rest in again:
                lengths[index] = heads[head] + sum(map(tails.__getitem__, rest))
        return lengths


# --- SentencePiece (v3 and v7)

# SHA-256 of the serialised SentencePiece models (mistral-common's v3 and v7 files) for which
# :func:`_sentencepiece_words` is proven exact; any other model is encoded text by text.
_WORD_SAFE_SENTENCEPIECE: Final = frozenset(
    {
        "9addc8bdce5988448ae81b729336f43a81262160ae8da760674badab9d4c7d33",  # v3
        "1b968b8dc352f42192367337c78ccc61e1eaddc6d641a579372d4f20694beb7a",  # v7
    }
)
# A run of spaces (or the start) and the word after it, with any spaces that end the text.
_SENTENCEPIECE_WORD: Final = re.compile(r" *[^ ]+(?: +\Z)?")
_META_SPACE: Final = "\u2581"


def _sentencepiece_words(text: str) -> list[str]:
    """``text`` cut where SentencePiece's BPE never merges across; each part is encoded alone.

    Why the lengths add up, for the Mistral v3/v7 models (identity normaliser, dummy prefix,
    spaces escaped to ``▁`` and never collapsed): BPE only merges two adjacent symbols into a
    vocabulary piece, and no piece of these vocabularies has ``▁`` right after another character
    (checked by the tests). So nothing merges across the boundary before a space that follows a
    non-space, the text's encoding is the concatenation of its parts' encodings, and a part
    ``" " * k + word`` after the first is what ``encode(" " * (k - 1) + word)`` sees once the
    dummy prefix is added. A literal ``▁`` in the text would make such a boundary mergeable, so
    such a text is not cut; trailing spaces stay with the last word.
    """
    if _META_SPACE in text:
        return [text]
    parts = text.split(" ")
    if "" not in parts:
        return parts  # the usual case: single spaces, none leading or trailing
    pieces = _SENTENCEPIECE_WORD.findall(text)
    if not pieces:
        return [text]
    return [pieces[0], *[piece[1:] for piece in pieces[1:]]]


def _sentencepiece_lengths(processor: Any, num_threads: int) -> Lengths:
    # ``SentencePieceTokenizer.encode`` is ``processor.encode(s)`` (plus BOS/EOS); the batch call
    # runs the same encoder over a list, in C++ threads.
    def encode(texts: list[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in processor.encode(texts, num_threads=num_threads)]

    digest = hashlib.sha256(processor.serialized_model_proto()).hexdigest()
    if digest not in _WORD_SAFE_SENTENCEPIECE:
        return encode
    return _WordCachedLengths(encode, _sentencepiece_words, tail_prefix="")


# --- Tekken (tiktoken)

# The pre-tokenisation pattern of mistral-common's Tekken v3 file, for which
# :func:`_tekken_words` is proven exact; another pattern is encoded text by text.
_TEKKEN_PATTERN: Final = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|"
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|"
    r"\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Spaces that may be cut before: those right after a non-whitespace character. Python's
# ``\S`` never matches a character that is whitespace for tiktoken's Unicode ``\s``.
_TEKKEN_CUT: Final = re.compile(r"(?<=\S) ")
_WHITESPACE_BEFORE_SPACE: Final = re.compile(r"[^\S ] ")


def _tekken_words(text: str) -> list[str]:
    """``text`` cut before every space that follows a non-whitespace character.

    Why the lengths add up: tiktoken runs BPE on each match of the pattern separately, and no
    match of :data:`_TEKKEN_PATTERN` can run from a non-whitespace character into a space
    (letter runs, digits and punctuation runs all stop at a space; whitespace alternatives
    cannot start on a non-whitespace character), nor does any lookahead reach across that
    boundary. So the matches of the whole text are those of the part before the space followed by
    those of the part from the space on. Parts after the first are encoded as ``" " + part``.
    """
    parts = text.split(" ")
    if "" not in parts and _WHITESPACE_BEFORE_SPACE.search(text) is None:
        return parts  # the usual case: every space is single and follows a word
    return _TEKKEN_CUT.split(text)


def _tiktoken_lengths(encoding: Any) -> Lengths:
    # ``Tekkenizer.encode`` is ``encoding.encode(s)`` on an encoding without special tokens,
    # which is exactly ``encode_ordinary`` and 2.5x faster. tiktoken's batch API adds thread
    # overhead and measured slower than this loop, so ``num_threads`` does not apply here.
    encode_ordinary = encoding.encode_ordinary

    def encode(texts: list[str]) -> list[int]:
        return [len(encode_ordinary(text)) for text in texts]

    if getattr(encoding, "_pat_str", None) != _TEKKEN_PATTERN:
        return encode
    return _WordCachedLengths(encode, _tekken_words, tail_prefix=" ")


def _generic_lengths(tokenizer: Tokenizer) -> Lengths:
    def lengths(texts: list[str]) -> list[int]:
        return [len(tokenizer.encode(text, bos=False, eos=False)) for text in texts]

    return lengths


def _lengths_for(tokenizer: Tokenizer, num_threads: int) -> Lengths:
    """The fastest length function that is the raw tokenizer's ``encode`` under the hood."""
    from mistral_common.tokens.tokenizers.sentencepiece import SentencePieceTokenizer
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    model = getattr(tokenizer, "_model", None)
    if isinstance(tokenizer, SentencePieceTokenizer) and hasattr(model, "serialized_model_proto"):
        return _sentencepiece_lengths(model, num_threads)
    if (
        isinstance(tokenizer, Tekkenizer)
        and hasattr(model, "encode_ordinary")
        and not getattr(model, "special_tokens_set", {None})
    ):
        return _tiktoken_lengths(model)
    return _generic_lengths(tokenizer)


# --------------------------------------------------------------------------- the counter


class MistralTokenCounter:
    """Counts batches of samples with one of the Mistral tokenizers (see the module docstring)."""

    def __init__(self, name: str, *, num_threads: int = 1) -> None:
        from mistral_common.tokens.tokenizers.instruct import (
            InstructTokenizerV3,
            InstructTokenizerV7,
        )

        if num_threads < 1:
            raise ValueError(f"num_threads must be at least 1, not {num_threads}")
        self.name = resolve_tokenizer(None, name)
        self.num_threads = num_threads
        self._v7 = self.name == V7_SENTENCEPIECE
        instruct = load_tokenizer(self.name).instruct_tokenizer
        # The layout above re-states exactly these two classes' encoding.
        expected = InstructTokenizerV7 if self._v7 else InstructTokenizerV3
        if type(instruct) is not expected:
            raise RuntimeError(f"{self.name}: expected {expected.__name__}, got {type(instruct)}")
        self._lengths = _lengths_for(instruct.tokenizer, num_threads)

    def count(self, samples: Sequence[Sample]) -> list[TokenCount]:
        """Exact counts for each sample, in order. Batched: pass many samples at once."""
        layout = _lay_out(samples, v7=self._v7)
        sums = layout.totals(self._lengths(layout.texts))
        return [
            TokenCount(total=sums[slot] + sums[slot + 1], trained=sums[slot + 1])
            for slot in range(0, len(sums), 2)
        ]


def counter_for(tokenizer_name: str, *, num_threads: int = 1) -> TokenCounter:
    """A fast exact counter for ``"v3-sentencepiece"``, ``"v3-tekken"`` or ``"v7-sentencepiece"``.

    ``num_threads`` is for SentencePiece's batch encoder; keep the default 1 inside worker
    processes (one process per core), use the core count when counting in a single process.
    Cheap to call again: the tokenizer files are loaded once per process.
    """
    return MistralTokenCounter(tokenizer_name, num_threads=num_threads)


# --------------------------------------------------------------------------- the reference


def _reference_message(message: Message, is_last_message: bool) -> Any:
    from mistral_common.protocol.instruct.chunk import TextChunk
    from mistral_common.protocol.instruct.messages import (
        FinetuningAssistantMessage,
        ToolMessage,
        UserMessage,
    )
    from mistral_common.protocol.instruct.tool_calls import FunctionCall
    from mistral_common.protocol.instruct.tool_calls import ToolCall as MistralToolCall

    if message.role == "user":
        content = message.content
        if isinstance(content, tuple):
            return UserMessage(content=[TextChunk(text=chunk) for chunk in content])
        if content is None:
            raise ValueError("a user message without content cannot be encoded")
        return UserMessage(content=content)
    if message.role == "tool":
        return ToolMessage(content=message.text, tool_call_id=message.tool_call_id)
    calls = None
    if message.tool_calls:
        calls = [
            # mistral-finetune's ``maybe_remove_call_id`` on the last message.
            MistralToolCall(function=FunctionCall(name=c.name, arguments=c.arguments))
            if is_last_message
            else MistralToolCall(id=c.id, function=FunctionCall(name=c.name, arguments=c.arguments))
            for c in message.tool_calls
        ]
    content = message.text if isinstance(message.content, tuple) else message.content
    return FinetuningAssistantMessage(content=content, tool_calls=calls, weight=message.weight)


def _reference_tools(tools: Sequence[Mapping[str, Any]]) -> list[Any] | None:
    from mistral_common.protocol.instruct.tool_calls import Function, Tool

    if not tools:
        return None
    return [
        Tool(
            function=Function(
                name=_function_of(tool)["name"],
                description=_function_of(tool).get("description", ""),
                parameters=_function_of(tool)["parameters"],
            )
        )
        for tool in tools
    ]


def reference_count(sample: Sample, tokenizer_name: str) -> TokenCount:
    """The slow, obviously-right count: mistral-common's pydantic messages and ``encode_instruct``.

    ``total`` is ``len(encode_instruct(InstructRequest(...)).tokens)`` with mistral-finetune's
    call-id adjustment; ``trained`` re-encodes each trained assistant message on its own, as
    mistral-finetune's mask does.
    """
    from mistral_common.protocol.instruct.messages import (
        FinetuningAssistantMessage,
        SystemMessage,
    )
    from mistral_common.protocol.instruct.request import InstructRequest
    from mistral_common.tokens.tokenizers.instruct import InstructTokenizerBase

    name = resolve_tokenizer(None, tokenizer_name)
    instruct = load_tokenizer(name).instruct_tokenizer
    # v3 and v7 are both InstructTokenizerBase (the protocol type lacks the per-message encoders).
    assert isinstance(instruct, InstructTokenizerBase)
    if isinstance(sample, PretrainSample):
        total = len(instruct.tokenizer.encode(sample.text, bos=True, eos=True))
        return TokenCount(total=total, trained=total)
    last = len(sample.messages) - 1
    messages = [
        _reference_message(message, index == last) for index, message in enumerate(sample.messages)
    ]
    v7 = name == V7_SENTENCEPIECE
    system_prompt = sample.system_prompt
    if v7 and system_prompt:
        messages.insert(0, SystemMessage(content=system_prompt))
    request = InstructRequest(
        messages=messages,
        system_prompt=None if v7 else system_prompt,
        available_tools=_reference_tools(sample.tools),
    )
    total = len(instruct.encode_instruct(request).tokens)
    only_last = bool(sample.tools)
    trained = 0
    for index, message in enumerate(messages):
        if not isinstance(message, FinetuningAssistantMessage):
            continue
        is_last = index == len(messages) - 1
        if (message.weight is None or message.weight == 1) and (not only_last or is_last):
            trained += len(instruct.encode_assistant_message(message, False))
    return TokenCount(total=total, trained=trained)


__all__ = [
    "TOKENIZER_NAMES",
    "MistralTokenCounter",
    "counter_for",
    "reference_count",
    "tools_json",
]
