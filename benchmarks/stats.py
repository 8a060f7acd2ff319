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

Prints seconds and peak memory of each and the ratios b/a and b/c. Exits 1 when the JSON of (a)
and (b) differ (the figures must be identical whatever the worker count) or (b) is not faster
than (a). On a machine with fewer than two free cores the speed-up cannot show; the identity
check still holds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from validate import BENCH_DIR, make_file, measure_cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=85.0, help="Size of the file.")
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
    seconds: dict[str, float] = {}
    outputs: dict[str, str] = {}
    for name, command in runs.items():
        elapsed, maxrss, pss, out, cpu = measure_cpu(command)
        seconds[name], outputs[name] = elapsed, out
        print(
            f"{name:21} {elapsed:7.2f} s (CPU {cpu:6.2f} s)   peak RSS {maxrss / 2**20:5.0f} MB"
            f" (largest process)   peak PSS {pss / 2**20:5.0f} MB (all processes)"
        )
    serial = json.loads(outputs["stats --workers 1"])
    parallel = json.loads(outputs["stats --workers 2"])
    same = serial == parallel
    speedup = seconds["stats --workers 1"] / seconds["stats --workers 2"]
    versus = seconds["stats --workers 2"] / seconds["validate --workers 2"]
    print(f"stats on 2 workers: {speedup:.2f}x faster than in one process; identical JSON: {same}")
    print(f"stats on 2 workers takes {versus:.2f}x the time of validate on 2 workers")
    return 0 if same and speedup > 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
