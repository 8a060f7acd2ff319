"""Benchmark: `tuner data convert` validating its output in the same pass, and its memory on a
single huge line.

    python benchmarks/convert.py                      # ~50 MB file, then a 200 MB single line
    python benchmarks/convert.py --size-mb 20 --single-line-mb 0

Speed (``--size-mb``): the seeded synthetic file of ``benchmarks/validate.py``, converted in the
same run, each side in its own child process, by

(a) the baseline, the former way: ``convert()`` writes the file, then ``validate_paths()``
    reads it again (on the default worker count);
(b) ``convert(check=OutputCheck(...))``: each line goes to the validator's workers as it is
    written; no second reading.

Prints seconds, CPU seconds and peak memory of each, and the ratio a/b. The two validation
reports must be identical (exit 1 otherwise).

Memory (``--single-line-mb``): one conversation whose answer is that many MB on one line;
peak RSS (largest process) of ``tuner data convert`` and, for reference, ``tuner data
validate`` on it. Nothing is committed: the files live under ``.bench/``.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from validate import BENCH_DIR, ROOT, make_file, measure_cpu

sys.path.insert(0, str(ROOT))


def _factory() -> object:
    from tuner.datasets.tokens import counter_for

    return functools.partial(counter_for, "v3-sentencepiece")


def two_pass(source: str, out: str) -> dict:
    from tuner.datasets.convert import convert
    from tuner.datasets.validate import validate_paths

    convert([source], out, force=True)
    return validate_paths([out], counter_factory=_factory()).to_dict()  # type: ignore[arg-type]


def same_pass(source: str, out: str) -> dict:
    from tuner.datasets.convert import convert
    from tuner.datasets.validate import OutputCheck

    expected = Path(source).stat().st_size
    with OutputCheck(out, counter_factory=_factory(), expected_bytes=expected) as check:  # type: ignore[arg-type]
        convert([source], out, force=True, check=check)
        return check.finish().to_dict()


def single_line_file(path: Path, megabytes: float) -> None:
    rng = random.Random(5)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choices(letters, k=rng.randint(2, 9))) for _ in range(5000)]
    target = int(megabytes * 2**20)
    parts, size = [], 0
    while size < target:
        chunk = " ".join(rng.choices(words, k=20_000))
        parts.append(chunk)
        size += len(chunk) + 1
    record = {
        "messages": [
            {"role": "user", "content": "Summarise this."},
            {"role": "assistant", "content": " ".join(parts)},
        ]
    }
    path.write_bytes(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))


def speed(size_mb: float, repeat: int) -> bool:
    path = BENCH_DIR / f"convert-{size_mb:g}mb.jsonl"
    if not path.exists() or path.stat().st_size < size_mb * 10**6:
        print(f"writing {path} …", flush=True)
        make_file(path, target_bytes=int(size_mb * 10**6), min_lines=0)
    print(f"file: {path} ({path.stat().st_size / 2**20:,.1f} MB)")
    reports: dict[str, dict] = {}
    seconds: dict[str, list[float]] = {"two-pass": [], "same-pass": []}
    # Alternating rounds, medians: other work on a shared machine comes and goes.
    for _ in range(repeat):
        for mode in ("two-pass", "same-pass"):
            out = BENCH_DIR / f"convert-{mode}.out.jsonl"
            command = [sys.executable, __file__, f"--{mode}", str(path), str(out)]
            elapsed, maxrss, pss, text, cpu = measure_cpu(command)
            report = json.loads(text)
            for item in [*report["files"], *report["findings"]]:
                item["path"] = "OUT"
            reports[mode] = report
            seconds[mode].append(elapsed)
            print(
                f"  {mode:9} {elapsed:7.2f} s (CPU {cpu:6.2f} s)   peak RSS"
                f" {maxrss / 2**20:5.0f} MB (largest process)   peak PSS"
                f" {pss / 2**20:5.0f} MB (all processes)"
            )
    same = reports["two-pass"] == reports["same-pass"]
    two, one = statistics.median(seconds["two-pass"]), statistics.median(seconds["same-pass"])
    print(
        f"  medians {two:.2f} s vs {one:.2f} s: same pass {two / one:.2f}x faster than"
        f" convert-then-validate; same report: {same}"
    )
    return same


def memory(megabytes: float) -> None:
    path = BENCH_DIR / f"single-line-{megabytes:g}mb.jsonl"
    if not path.exists():
        print(f"writing {path} …", flush=True)
        single_line_file(path, megabytes)
    print(f"file: {path} ({path.stat().st_size / 2**20:,.1f} MB on one line)")
    tuner = str(Path(sys.executable).parent / "tuner")
    out = BENCH_DIR / "single-line.out.jsonl"
    for name, command in (
        ("convert", [tuner, "data", "convert", str(path), "--out", str(out), "--force", "-q"]),
        ("validate", [tuner, "data", "validate", str(path), "-q"]),
    ):
        elapsed, maxrss, _, _, cpu = measure_cpu(command)
        print(f"  {name:9} {elapsed:7.2f} s (CPU {cpu:6.2f} s)   peak RSS {maxrss / 2**20:5.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=50.0, help="0 skips the speed run.")
    parser.add_argument("--single-line-mb", type=float, default=200.0, help="0 skips it.")
    parser.add_argument("--repeat", type=int, default=3, help="Rounds of the speed run.")
    parser.add_argument("--two-pass", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--same-pass", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.two_pass or args.same_pass:
        run = two_pass if args.two_pass else same_pass
        print(json.dumps(run(*(args.two_pass or args.same_pass))))
        return 0
    BENCH_DIR.mkdir(exist_ok=True)
    ok = True
    if args.size_mb:
        ok = speed(args.size_mb, args.repeat)
    if args.single_line_mb:
        memory(args.single_line_mb)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
