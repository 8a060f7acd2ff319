"""Benchmark: `tuner data validate` against what mistral-finetune's reference validator does.

    python benchmarks/validate.py               # ~85 MB, 20,120 conversations
    python benchmarks/validate.py --size-gb 1   # memory check on a 1 GB file

Makes a seeded synthetic JSONL file (system prompts, weights, function calling, many languages'
worth of words) under ``.bench/``, then in the same run times:

(a) the baseline: one process reading the whole file, ``json.loads`` per line, building the
    ``InstructRequest`` mistral-finetune builds (``UserMessage``, ``FinetuningAssistantMessage``
    with its weight, ``ToolMessage``, assistant tool calls, ``system_prompt``,
    ``available_tools``; mistral-common's fine-tuning validator) and encoding it with
    ``MistralTokenizer.v3().instruct_tokenizer.encode_instruct``;
(b) ``tuner data validate --model open-mistral-7b --json FILE`` as a subprocess.

Each side runs in its own child process. Memory is shown two ways: the peak RSS of the largest
process (``ru_maxrss`` from ``os.wait4``, which covers the workers it waited for) and the peak of
the summed PSS of the whole process tree sampled from /proc (PSS splits pages shared by forked
workers, so the sum is the real footprint). The token totals of both must be identical. Prints
figures; exits 1 when a target is missed (>= 2.5x faster, both memory figures < 300 MB) or the
totals differ. On a 1 GB file the report also holds the file_too_large error (over 512 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / ".bench"
TARGET_SPEEDUP = 2.5
TARGET_RSS_MB = 300

# ----------------------------------------------------------------------------- data

_SYLLABLES = [
    "ka", "lo", "ri", "mon", "tes", "va", "del", "pra", "qui", "zen", "ul", "ber", "sa", "tor",
    "ni", "fe", "gra", "ost", "lim", "du", "cha", "wei", "ré", "ça", "über", "niño", "ß", "ø",
]  # fmt: skip
_EXTRA = [
    "数据",
    "模型",
    "こんにちは",
    "Привет",
    "مرحبا",
    "🙂",
    "✓",
    "naïve",
    "façade",
    "42",
    "3.14",
]
_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"Look up the {name.split('_')[1]} of a place or a thing.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What to look up."},
                    "limit": {"type": "integer", "description": "At most this many results."},
                },
                "required": ["query"],
            },
        },
    }
    for name in ("get_weather", "get_price", "get_population", "get_distance")
]
_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class _Words:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.vocab = [
            "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(6000)
        ] + _EXTRA

    def text(self, low: int, high: int) -> str:
        words = self.rng.choices(self.vocab, k=self.rng.randint(low, high))
        for index in range(0, len(words), self.rng.randint(8, 20)):
            words[index] = words[index].capitalize()
        return " ".join(words) + self.rng.choice([".", "?", "!", "."])


def _call_id(rng: random.Random) -> str:
    return "".join(rng.choices(_ID_CHARS, k=9))


def _tool_turns(rng: random.Random, words: _Words, tools: list[dict]) -> list[dict]:
    calls = []
    for _ in range(rng.choice([1, 1, 2])):
        name = rng.choice(tools)["function"]["name"]
        arguments = json.dumps({"query": words.text(1, 4), "limit": rng.randint(1, 9)})
        calls.append(
            {
                "id": _call_id(rng),
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        )
    turns: list[dict] = [{"role": "assistant", "content": "", "tool_calls": calls}]
    for call in calls:
        result = json.dumps({"result": words.text(10, 60), "score": rng.randint(0, 100)})
        turns.append({"role": "tool", "content": result, "tool_call_id": call["id"]})
    return turns


def conversation(rng: random.Random, words: _Words, scale: float) -> dict:
    line: dict = {}
    messages: list[dict] = []
    if rng.random() < 0.5:
        messages.append({"role": "system", "content": words.text(20, 120)})
    tools = rng.sample(_TOOLS, rng.randint(1, 3)) if rng.random() < 0.35 else None
    turns = rng.randint(1, 5)
    for turn in range(turns):
        messages.append({"role": "user", "content": words.text(10, int(150 * scale))})
        if tools and rng.random() < 0.5:
            messages += _tool_turns(rng, words, tools)
        answer = {"role": "assistant", "content": words.text(30, int(450 * scale))}
        if rng.random() < 0.25:
            # Weight 0 on earlier turns only: every conversation keeps something to train on.
            answer["weight"] = rng.choice([0, 1]) if turn < turns - 1 else 1
        messages.append(answer)
    if tools and rng.random() < 0.3:
        messages.append({"role": "user", "content": words.text(5, 40)})
        messages += _tool_turns(rng, words, tools)[:1]  # ends with a tool call
    line["messages"] = messages
    if tools:
        line["tools"] = tools
    return line


def make_file(path: Path, *, target_bytes: int, min_lines: int, seed: int = 1234) -> None:
    """Write conversations until both the size and the line count are reached."""
    rng = random.Random(seed)
    words = _Words(rng)
    written = lines = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < target_bytes or lines < min_lines:
            text = json.dumps(conversation(rng, words, scale=0.4), ensure_ascii=False) + "\n"
            handle.write(text)
            written += len(text.encode())
            lines += 1


# ----------------------------------------------------------------------------- baseline


def baseline(path: str) -> dict:
    """What mistral-finetune's validate_data.py does per line (v3 tokenizer, one process)."""
    from mistral_common.protocol.instruct.messages import (
        FinetuningAssistantMessage,
        ToolMessage,
        UserMessage,
    )
    from mistral_common.protocol.instruct.request import InstructRequest
    from mistral_common.protocol.instruct.tool_calls import Function, FunctionCall, Tool, ToolCall
    from mistral_common.protocol.instruct.validator import (
        MistralRequestValidatorV3,
        ValidationMode,
    )
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    tokenizer = MistralTokenizer.v3().instruct_tokenizer
    validator = MistralRequestValidatorV3(ValidationMode.finetuning)
    total = lines = 0
    with open(path, encoding="utf-8") as handle:  # noqa: PTH123
        content = handle.readlines()  # as the reference does: the whole file in memory
    for line in content:
        data = json.loads(line)
        lines += 1
        tools = [
            Tool(
                function=Function(
                    **{k: t["function"][k] for k in ("name", "description", "parameters")}
                )
            )
            for t in data.get("tools") or []
        ] or None
        system_prompt = None
        messages: list = []
        raw = data["messages"]
        for index, message in enumerate(raw):
            role = message["role"]
            if role == "system":
                system_prompt = message["content"]
            elif role == "user":
                messages.append(UserMessage(content=message["content"]))
            elif role == "tool":
                messages.append(
                    ToolMessage(content=message["content"], tool_call_id=message["tool_call_id"])
                )
            else:
                calls = None
                if message.get("tool_calls") is not None:
                    last = index == len(raw) - 1
                    calls = [
                        # mistral-finetune drops the last turn's call ids (maybe_remove_call_id).
                        ToolCall(function=FunctionCall(**c["function"]))
                        if last
                        else ToolCall(id=c["id"], function=FunctionCall(**c["function"]))
                        for c in message["tool_calls"]
                    ]
                messages.append(
                    FinetuningAssistantMessage(
                        content=message.get("content"),
                        tool_calls=calls,
                        weight=message.get("weight"),
                    )
                )
        validator.validate_messages(messages)
        validator._validate_tools(tools or [])
        request = InstructRequest(
            messages=messages, system_prompt=system_prompt, available_tools=tools
        )
        total += len(tokenizer.encode_instruct(request).tokens)
    return {"lines": lines, "total": total}


# ----------------------------------------------------------------------------- measuring


def _tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _pss(pid: int) -> int:
    """Proportional set size in bytes: shared pages split between the processes sharing them,
    so the sum over a process tree is its real footprint (summed RSS counts forked pages twice).
    """
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:  # noqa: PTH123
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def measure(command: list[str]) -> tuple[float, int, int, str]:
    """Run ``command``: (seconds, peak RSS of its largest process, peak summed PSS, stdout)."""
    elapsed, maxrss, pss, out, _ = measure_cpu(command)
    return elapsed, maxrss, pss, out


def measure_cpu(command: list[str]) -> tuple[float, int, int, str, float]:
    """:func:`measure`, and the CPU seconds (user + system) of the command and its workers:
    on a shared machine wall-clock time says little when the cores are busy."""
    out_path = BENCH_DIR / "out.json"
    with out_path.open("wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, cwd=ROOT)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, sum(_pss(pid) for pid in _tree(process.pid)))
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # wait4: this child's own rusage (ru_maxrss covers the workers it waited for too).
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{command[:3]} failed with exit code {process.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss * 1024, peak, out_path.read_text(), cpu


def _figures(name: str, seconds: float, maxrss: int, pss: int, tokens: int) -> str:
    return (
        f"{name:9} {seconds:7.2f} s   peak RSS {maxrss / 2**20:5.0f} MB (largest process)   "
        f"peak PSS {pss / 2**20:5.0f} MB (all processes)   tokens {tokens:,}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-gb", type=float, default=None, help="Make a file this big instead.")
    parser.add_argument("--skip-baseline", action="store_true", help="Only run tuner.")
    parser.add_argument("--baseline-only", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_only:
        print(json.dumps(baseline(args.baseline_only)))
        return 0

    BENCH_DIR.mkdir(exist_ok=True)
    if args.size_gb:
        target, min_lines = int(args.size_gb * 2**30), 0
        path = BENCH_DIR / f"synthetic-{args.size_gb:g}gb.jsonl"
    else:
        target, min_lines = 85 * 10**6, 20_120
        path = BENCH_DIR / "synthetic.jsonl"
    if not path.exists() or path.stat().st_size < target:
        print(f"writing {path} …", flush=True)
        make_file(path, target_bytes=target, min_lines=min_lines)
    size = path.stat().st_size
    lines = sum(1 for _ in path.open("rb"))
    print(f"file: {path} ({size / 2**20:,.1f} MB, {lines:,} conversations)")

    tuner = [str(Path(sys.executable).parent / "tuner"), "data", "validate"]
    ours_cmd = [*tuner, "--model", "open-mistral-7b", "--json", "--quiet", str(path)]
    ours_time, ours_max, ours_pss, ours_out = measure(ours_cmd)
    report = json.loads(ours_out)
    ours_total = sum(f["tokens"]["total"] for f in report["files"])
    errors = sum(f["errors"] for f in report["files"])
    print(_figures("tuner:", ours_time, ours_max, ours_pss, ours_total) + f"   errors {errors}")
    memory_ok = max(ours_max, ours_pss) < TARGET_RSS_MB * 2**20
    print(f"memory:   {'OK' if memory_ok else 'OVER'} (target < {TARGET_RSS_MB} MB)")
    if args.skip_baseline or args.size_gb:
        return 0 if memory_ok else 1

    base_cmd = [sys.executable, str(Path(__file__).resolve()), "--baseline-only", str(path)]
    base_time, base_max, base_pss, base_out = measure(base_cmd)
    base_total = json.loads(base_out)["total"]
    print(_figures("baseline:", base_time, base_max, base_pss, base_total))
    speedup = base_time / ours_time
    same = ours_total == base_total
    print(f"speed-up: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x); token totals identical: {same}")
    if not same:
        print("FAIL: token totals differ")
        return 1
    return 0 if memory_ok and speedup >= TARGET_SPEEDUP else 1


if __name__ == "__main__":
    raise SystemExit(main())
