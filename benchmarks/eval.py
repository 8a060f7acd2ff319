"""Benchmark: `tuner eval run`'s runner against a plain asyncio + httpx loop on the same server.

    python benchmarks/eval.py                  # 500 items, 3 rounds, concurrency 4
    python benchmarks/eval.py --report-only    # print the figures, never fail

Makes a seeded eval set of 500 conversations (system prompts, several turns, many languages'
worth of words, a reference answer of 20-200 words) in a temporary directory, starts a sandbox
in its own process (127.0.0.1, a free port), so its work is not timed as the client's, then
times, alternating the order each round, each in a fresh child process:

(a) the baseline: ``httpx.AsyncClient`` and a semaphore asking the same chat completions (the
    same messages, tools and model) with the same concurrency, reading each answer's JSON;
(b) ``tuner.evals.runner.EvalRunner`` (what ``tuner eval run`` uses): plan, ask, score every
    answer (exact match, token F1, ROUGE-L, lengths) and record it in a fresh SQLite ledger in a
    temporary file.

Timed: from just before the first request to the last answer (a), or to the run's end with
everything recorded (b). Not timed: importing, reading the eval file, opening the ledger. Work
done lazily on the first answer (importing a scorer) is timed, as ``tuner eval run`` pays it.

Prints items/s and the client process's CPU seconds of both (medians of the rounds) and the
ratio of the times; exits 1 when the runner is more than 1.5x slower than the plain loop
(``--report-only``: exit 0 whatever the ratio), or when a side did not get every answer.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from support import run_child as run_child_process
from support import sandbox_process

API_KEY = "bench-key"
MODEL = "open-mistral-7b"
TARGET_RATIO = 1.5
CHILD_TIMEOUT = 600.0
METHODS = ("plain", "tuner")

# ----------------------------------------------------------------------------- data

_SYLLABLES = [
    "ka", "lo", "ri", "mon", "tes", "va", "del", "pra", "qui", "zen", "ul", "ber", "sa", "tor",
    "ni", "fe", "gra", "ost", "lim", "du", "cha", "wei", "ré", "ça", "über", "niño", "ß", "ø",
]  # fmt: skip
_EXTRA = ["数据", "模型", "こんにちは", "Привет", "مرحبا", "🙂", "naïve", "42", "3.14", "lamp"]


def _vocabulary(rng: random.Random) -> list[str]:
    words = ["".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))) for _ in range(3000)]
    return words + _EXTRA


def _text(rng: random.Random, vocab: list[str], low: int, high: int) -> str:
    words = rng.choices(vocab, k=rng.randint(low, high))
    for index in range(0, len(words), rng.randint(6, 15)):
        words[index] = words[index] + rng.choice([",", ".", "?", ""])
    return " ".join(words).capitalize() + "."


def _conversation(rng: random.Random, vocab: list[str]) -> dict[str, object]:
    messages: list[dict[str, str]] = []
    if rng.random() < 0.4:
        messages.append({"role": "system", "content": _text(rng, vocab, 10, 40)})
    for _ in range(rng.randint(1, 3)):
        messages.append({"role": "user", "content": _text(rng, vocab, 5, 60)})
        messages.append({"role": "assistant", "content": _text(rng, vocab, 20, 200)})
    return {"messages": messages}


def make_eval_file(path: Path, items: int, seed: int) -> None:
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    with path.open("w", encoding="utf-8") as handle:
        for _ in range(items):
            handle.write(json.dumps(_conversation(rng, vocab), ensure_ascii=False) + "\n")


# ----------------------------------------------------------------------------- children


def _child_plain(url: str, data: Path, concurrency: int, _ledger: Path) -> dict[str, object]:
    import asyncio

    import httpx

    from tuner.evals.dataset import load_eval_set

    items = load_eval_set(data).items

    async def run() -> dict[str, object]:
        slots = asyncio.Semaphore(concurrency)
        answers: list[str] = []
        failed = 0

        async def ask(http: httpx.AsyncClient, messages: list[dict[str, object]]) -> None:
            nonlocal failed
            async with slots:
                response = await http.post(
                    "/v1/chat/completions", json={"model": MODEL, "messages": messages}
                )
            if response.status_code != 200:
                failed += 1
                return
            answers.append(response.json()["choices"][0]["message"]["content"])

        started, cpu = time.perf_counter(), time.process_time()
        headers = {"Authorization": f"Bearer {API_KEY}"}
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=url, headers=headers, limits=limits, timeout=60
        ) as http:
            await asyncio.gather(*(ask(http, list(item.messages)) for item in items))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return {"seconds": seconds, "cpu": cpu, "answers": len(answers), "failed": failed}

    return asyncio.run(run())


def _child_tuner(url: str, data: Path, concurrency: int, ledger_path: Path) -> dict[str, object]:
    import asyncio

    from tuner.api import RetryPolicy, TunerClient
    from tuner.evals import EvalOptions, EvalRunner, load_eval_set
    from tuner.jobs.ledger import open_ledger

    eval_set = load_eval_set(data)
    options = EvalOptions(models=(MODEL,), concurrency=concurrency)

    async def run() -> dict[str, object]:
        with open_ledger(str(ledger_path)) as ledger:
            started, cpu = time.perf_counter(), time.process_time()
            async with TunerClient(
                [API_KEY], base_url=url, retry=RetryPolicy(max_attempts=1)
            ) as client:
                runner = EvalRunner(client, ledger)
                outcome = await runner.run(eval_set, options)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            recorded = ledger.eval_items(outcome.run_id)
        scored = sum(1 for r in recorded if r.error is None and r.scores)
        return {"seconds": seconds, "cpu": cpu, "answers": scored, "failed": outcome.failed}

    return asyncio.run(run())


def child_main(method: str, url: str, data: str, concurrency: str, ledger: str) -> int:
    run = _child_plain if method == "plain" else _child_tuner
    result = run(url, Path(data), int(concurrency), Path(ledger))
    print(json.dumps(result), flush=True)
    return 0


# ----------------------------------------------------------------------------- parent


def run_child(
    method: str, url: str, data: Path, concurrency: int, ledger: Path
) -> dict[str, float]:
    args = [method, url, str(data), str(concurrency), str(ledger)]
    return run_child_process(__file__, args, label=method, timeout=CHILD_TIMEOUT)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--items", type=int, default=500, help="Eval conversations (500).")
    parser.add_argument("--rounds", type=int, default=3, help="Runs per side; the median (3).")
    parser.add_argument("--concurrency", type=int, default=4, help="Requests at a time (4).")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--report-only", action="store_true", help="Print the figures; exit 0 whatever they are."
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(*args.child)
    if args.items < 1 or not 1 <= args.rounds <= 20 or args.concurrency < 1:
        parser.error("--items and --concurrency must be at least 1, --rounds between 1 and 20")

    with tempfile.TemporaryDirectory(prefix="tuner-bench-eval-") as tmp:
        root = Path(tmp)
        data = root / "eval.jsonl"
        make_eval_file(data, args.items, args.seed)
        runs: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS}
        with sandbox_process(root / "sandbox") as sandbox:
            url = sandbox.url
            for round_index in range(args.rounds):
                order = METHODS if round_index % 2 == 0 else METHODS[::-1]
                for method in order:
                    ledger = root / f"ledger-{round_index}.db"
                    result = run_child(method, url, data, args.concurrency, ledger)
                    runs[method].append(result)
                    print(
                        f"round {round_index + 1} {method:<6} {result['seconds']:6.2f} s  "
                        f"{result['answers'] / result['seconds']:6.1f} items/s  "
                        f"CPU {result['cpu']:5.2f} s"
                        + (f"  {result['failed']:g} FAILED" if result["failed"] else ""),
                        flush=True,
                    )
    return report(runs, args.items, args.concurrency, args.report_only)


def report(
    runs: dict[str, list[dict[str, float]]], items: int, concurrency: int, report_only: bool
) -> int:
    complete = all(r["answers"] == items and not r["failed"] for rs in runs.values() for r in rs)
    seconds = {m: statistics.median(r["seconds"] for r in runs[m]) for m in METHODS}
    cpu = {m: statistics.median(r["cpu"] for r in runs[m]) for m in METHODS}
    rates = {m: items / seconds[m] for m in METHODS}
    ratio = seconds["tuner"] / seconds["plain"]
    print()
    rounds = len(runs["plain"])
    print(f"{items} items, 1 model ({MODEL}), concurrency {concurrency}, median of {rounds} rounds")
    for method, label in (("plain", "plain asyncio + httpx loop"), ("tuner", "tuner EvalRunner")):
        print(
            f"{label:<27} {seconds[method]:6.2f} s  {rates[method]:6.1f} items/s  "
            f"client CPU {cpu[method]:5.2f} s"
        )
    met = ratio <= TARGET_RATIO
    print(
        f"ratio tuner/plain (time): {ratio:.2f}x; target <= {TARGET_RATIO}x: "
        f"{'met' if met else 'MISSED'}"
    )
    print(
        f"client CPU tuner/plain: {cpu['tuner'] / cpu['plain']:.2f}x (less sensitive to other "
        "load on the machine; not the target)"
    )
    if not complete:
        print("some answers are missing or failed: the figures are not comparable")
    if report_only:
        return 0
    return 0 if met and complete else 1


if __name__ == "__main__":
    sys.exit(main())
