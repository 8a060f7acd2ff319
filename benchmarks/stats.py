"""Benchmark: `tuner data stats` on validate's worker path, against stats in one process.

    python benchmarks/stats.py                 # the ~85 MB file of benchmarks/validate.py
    python benchmarks/stats.py --size-mb 30    # a smaller file (slow or shared machines)

Uses the seeded synthetic file of ``benchmarks/validate.py`` and, in the same run, times as
subprocesses:

(a) the baseline: ``tuner data stats --workers 1`` (everything in one process, as stats ran
    before it shared the validator's pool);
(b) ``tuner data stats --workers 2``;
(c) ``tuner data validate --workers 2`` (the same reading and counting; stats should cost
    about as much).

Each runs ``--repeat`` times, alternating; prints seconds, CPU seconds and peak memory of each
run and the ratios of the medians, b/a and b/c. Exits 1 when the JSON of (a) and (b) differ
(the figures must be identical whatever the worker count). On a machine without a free second
core the speed-up cannot show (the pool then costs its overhead); the identity still holds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from validate import BENCH_DIR, make_file, measure_cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=85.0, help="Size of the file.")
    parser.add_argument("--repeat", type=int, default=3, help="Rounds (medians are compared).")
    args = parser.parse_args()
    BENCH_DIR.mkdir(exist_ok=True)
    target = int(args.size_mb * 10**6)
    path = BENCH_DIR / f"synthetic-{args.size_mb:g}mb.jsonl"
    if args.size_mb == 85.0:
        path = BENCH_DIR / "synthetic.jsonl"
    if not path.exists() or path.stat().st_size < target:
        print(f"writing {path} …", flush=True)
        make_file(path, target_bytes=target, min_lines=0)
    print(f"file: {path} ({path.stat().st_size / 2**20:,.1f} MB)")

    tuner = str(Path(sys.executable).parent / "tuner")
    common = ["--model", "open-mistral-7b", "--json", "--quiet", str(path)]
    runs = {
        "stats --workers 1": [tuner, "data", "stats", "--workers", "1", *common],
        "stats --workers 2": [tuner, "data", "stats", "--workers", "2", *common],
        "validate --workers 2": [tuner, "data", "validate", "--workers", "2", *common],
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    outputs: dict[str, str] = {}
    # Alternating rounds, medians: other work on a shared machine comes and goes.
    for _ in range(args.repeat):
        for name, command in runs.items():
            elapsed, maxrss, pss, out, cpu = measure_cpu(command)
            times[name].append(elapsed)
            outputs[name] = out
            print(
                f"{name:21} {elapsed:7.2f} s (CPU {cpu:6.2f} s)   peak RSS"
                f" {maxrss / 2**20:5.0f} MB (largest process)   peak PSS"
                f" {pss / 2**20:5.0f} MB (all processes)"
            )
    seconds = {name: statistics.median(values) for name, values in times.items()}
    serial = json.loads(outputs["stats --workers 1"])
    parallel = json.loads(outputs["stats --workers 2"])
    same = serial == parallel
    speedup = seconds["stats --workers 1"] / seconds["stats --workers 2"]
    versus = seconds["stats --workers 2"] / seconds["validate --workers 2"]
    print(f"medians: {', '.join(f'{name} {value:.2f} s' for name, value in seconds.items())}")
    print(f"stats on 2 workers: {speedup:.2f}x faster than in one process; identical JSON: {same}")
    print(f"stats on 2 workers takes {versus:.2f}x the time of validate on 2 workers")
    # The speed-up needs a free core; what must hold everywhere is the identity.
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
