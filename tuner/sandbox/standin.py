"""Deterministic stand-ins for model output: no model runs in the sandbox.

- A fine-tuned model answers with the reply of the training example whose user turn shares the
  most words with the prompt (a tool call when the reference reply was one), so that an
  evaluation against the sandbox shows the tuned model "knowing" its training data.
- A base model answers with a polite, generic, support-style reply naming the prompt's topic.
- Embeddings are hashed word (and word-pair) features, L2-normalised: texts that share words get
  similar vectors, and the same text always gets the same vector.
- Token counts are a word-and-punctuation approximation: plausible, not exact.
- A pairwise-judge request (JSON mode, the ``<reference>``/``<answer_a>``/``<answer_b>`` prompt of
  ``tuner.evals.judge``) gets a well-formed verdict picked by word overlap with the reference:
  a sandbox convenience so the judge path works offline, not a judgement (:func:`judge_verdict`).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_PIECE = re.compile(r"\s*\S+\s*|\s+")
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TOOL_CALL_ID = re.compile(r"^[a-zA-Z0-9]{9}$")

# Words too common to say anything about what a prompt is about.
_STOP_WORDS_TEXT = """
a an and are as at be been but by can could did do does for from had has have how i if in into is
it its me my no not of on or our please should so than that the their them then there these they
this to us was we were what when where which who why will with would you your hello hi hey thanks
thank
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def topic_words(text: str, limit: int = 3) -> list[str]:
    """The first few distinct content words of ``text``, in order."""
    seen: list[str] = []
    for word in words(text):
        if word not in STOP_WORDS and not word.isdigit() and word not in seen:
            seen.append(word)
            if len(seen) == limit:
                break
    return seen


def approx_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def message_text(content: Any) -> str:
    """The text of a message's content: a string, or a list of chunks (text chunks joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(chunk.get("text", "")) for chunk in content if isinstance(chunk, dict))
    return ""


def split_for_stream(text: str) -> list[str]:
    """Stream pieces: words with their surrounding whitespace, so the pieces join back exactly."""
    return _PIECE.findall(text) if text else []


def truncate_tokens(text: str, max_tokens: int) -> tuple[str, bool]:
    """``text`` cut after ``max_tokens`` approximate tokens; True when something was cut."""
    for count, match in enumerate(_TOKEN.finditer(text), start=1):
        if count > max_tokens:
            return text[: match.start()].rstrip(), True
    return text, False


def stable_id(seed: str, length: int = 9) -> str:
    """A deterministic id of ``length`` characters [a-zA-Z0-9] (tool-call ids are 9)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_ALNUM[b % len(_ALNUM)] for b in digest[:length])


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Reply:
    content: str
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class Example:
    prompt_words: frozenset[str]
    reply: Reply


def generic_reply(prompt: str) -> str:
    topics = topic_words(prompt)
    topic = " ".join(topics) if topics else "your request"
    return (
        f"Thank you for reaching out about {topic}. I'd be glad to help with that. "
        f"Could you share a few more details about {topic}, such as what you have tried so far "
        "and what you expected to happen? With that I can give you a precise answer."
    )


@dataclass
class ReplyIndex:
    """Training examples of a fine-tuned model: (words of the user turn, reference reply)."""

    examples: list[Example] = field(default_factory=list)

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> ReplyIndex:
        index = cls()
        for path in paths:
            for record in _json_lines(path):
                index.examples.extend(_examples(record))
        return index

    def best(self, prompt: str) -> Reply | None:
        """The reply of the example closest to ``prompt``; None when no content word is shared.

        Closest = most shared content words; ties go to the higher share of the example's own
        words (a tighter match), then to the earlier example.
        """
        asked = {w for w in words(prompt) if w not in STOP_WORDS}
        best: Reply | None = None
        best_score = (0, 0.0)
        for example in self.examples:
            shared = len(asked & example.prompt_words)
            if not shared:
                continue
            score = (shared, shared / len(example.prompt_words))
            if score > best_score:
                best, best_score = example.reply, score
        return best


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    # Training files were validated at upload; still, skip anything unreadable rather than fail
    # a chat request over it.
    try:
        handle = path.open("rb")
    except OSError:
        return
    with handle:
        for line in handle:
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                yield value


def examples_of(record: dict[str, Any]) -> list[Example]:
    """The (prompt, reply) examples of one chat-format training record (other providers' data
    is first put in this shape by their own sandbox)."""
    return list(_examples(record))


def _examples(record: dict[str, Any]) -> Iterator[Example]:
    messages = record.get("messages", record.get("interactions"))
    if not isinstance(messages, list):
        text = record.get("text", record.get("content"))
        if isinstance(text, str) and text.strip():
            # Pretrain data: the closest passage is the "reply".
            yield Example(_content_words(text), Reply(text.strip()))
        return
    asked: list[str] = []
    last_prompt: frozenset[str] = frozenset()
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        text = message_text(message.get("content", message.get("text")))
        if role == "user":
            asked.append(text)
        elif role == "assistant":
            if asked:
                last_prompt = _content_words(" ".join(asked))
                asked = []
            reply = _reply_of(message)
            if reply is not None and last_prompt and message.get("weight", 1) != 0:
                yield Example(last_prompt, reply)


def _content_words(text: str) -> frozenset[str]:
    return frozenset(w for w in words(text) if w not in STOP_WORDS)


def _reply_of(message: dict[str, Any]) -> Reply | None:
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        parsed = tuple(
            _tool_call(call, n) for n, call in enumerate(calls) if isinstance(call, dict)
        )
        return Reply("", tuple(c for c in parsed if c is not None))
    text = message_text(message.get("content", message.get("text")))
    return Reply(text) if text.strip() else None


def _tool_call(call: dict[str, Any], position: int) -> ToolCall | None:
    function = call.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        return None
    arguments = function.get("arguments", "{}")
    if not isinstance(arguments, str):
        arguments = orjson.dumps(arguments).decode()
    call_id = call.get("id")
    if not isinstance(call_id, str) or not _TOOL_CALL_ID.match(call_id):
        call_id = stable_id(f"{function['name']}:{arguments}:{position}")
    return ToolCall(call_id, function["name"], arguments)


# The sections of the judge prompt (``tuner.evals.judge.TAGS``); the sandbox cannot import
# tuner.evals (it would pull in tuner.api), so the convention is repeated here and a test of the
# evals package checks that both sides agree.
_JUDGE_SECTION = re.compile(r"<(reference|answer_a|answer_b)>\n?(.*?)\n?</\1>", re.DOTALL)
_JUDGE_PARTS = frozenset({"reference", "answer_a", "answer_b"})


def word_f1(text: str, reference: str) -> float:
    """F1 of the bags of words of two texts (1.0 when both have none)."""
    said, expected = Counter(words(text)), Counter(words(reference))
    if not said or not expected:
        return 1.0 if said == expected else 0.0
    common = sum((said & expected).values())
    if not common:
        return 0.0
    precision, recall = common / sum(said.values()), common / sum(expected.values())
    return 2 * precision * recall / (precision + recall)


def judge_verdict(prompt: str) -> dict[str, str] | None:
    """A verdict for a pairwise-judge prompt, or None when ``prompt`` is not one.

    SANDBOX CONVENIENCE, NOT A JUDGEMENT: no model reads anything here. The answer whose words
    overlap the reference's more (word F1) "wins", equal overlap is a tie. It exists so that
    ``tuner eval run --judge`` can be exercised end to end offline and in tests; its verdicts
    say nothing about which answer a person or a real judge model would prefer.
    """
    sections: dict[str, str] = {}
    for match in _JUDGE_SECTION.finditer(prompt):
        sections.setdefault(match.group(1), match.group(2))
    if not sections.keys() >= _JUDGE_PARTS:
        return None
    reference = sections["reference"]
    overlap_a = word_f1(sections["answer_a"], reference)
    overlap_b = word_f1(sections["answer_b"], reference)
    if math.isclose(overlap_a, overlap_b, abs_tol=1e-9):
        winner = "tie"
    else:
        winner = "A" if overlap_a > overlap_b else "B"
    return {
        "winner": winner,
        "reason": (
            f"sandbox stand-in: word overlap with the reference is {overlap_a:.2f} for A "
            f"and {overlap_b:.2f} for B"
        ),
    }


EMBEDDING_DIMENSION = 1024


def embed(text: str, dimension: int = EMBEDDING_DIMENSION) -> list[float]:
    """A unit vector of hashed word and word-pair features (the feature hashing trick)."""
    vector = [0.0] * dimension
    tokens = words(text) or [""]
    features = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
    for feature in features:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "little") % dimension
        sign = 1.0 if digest[4] & 1 else -1.0
        # Word pairs count half: they sharpen similarity without drowning single words.
        vector[slot] += sign * (0.5 if " " in feature else 1.0)
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [round(v / norm, 8) for v in vector]
