"""`make demo`: the whole flow on the shipped examples, as a user would run it.

Each step runs the real `tuner` command in a subprocess and shows its output under a heading.
The demo stops with a non-zero exit as soon as a step does not end as expected.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "demo-out"
TUNER = [sys.executable, "-m", "tuner"]


@dataclass(frozen=True)
class Step:
    title: str
    args: list[str]
    expect: int = 0  # the exit code this step should end with


def steps() -> list[Step]:
    # Relative paths (the steps run in the project root): shorter, as a user would type them.
    data = Path("examples") / "data"
    mappings = Path("examples") / "mappings"
    out = OUT.relative_to(ROOT)
    converted = out / "support.jsonl"
    return [
        Step(
            "1. Convert ShareGPT-style conversations to Mistral JSONL (with a mapping file)",
            [
                "data",
                "convert",
                str(data / "support.sharegpt.jsonl"),
                "--map",
                str(mappings / "sharegpt.toml"),
                "--out",
                str(converted),
            ],
        ),
        Step(
            "2a. Validate the converted file with exact open-mistral-7b token counts",
            ["data", "validate", str(converted), "--model", "open-mistral-7b"],
        ),
        Step(
            "2b. Validate a deliberately broken file: every finding, with its line",
            ["data", "validate", str(data / "broken.jsonl")],
            expect=1,
        ),
        Step(
            "2c. Fix what is safe to fix; list what cannot be fixed (exit 1: some lines remain)",
            ["data", "fix", str(data / "broken.jsonl"), "--out", str(out / "broken.fixed.jsonl")],
            expect=1,
        ),
        Step(
            "3a. Split into train and eval (deduplicated, seeded, no overlap)",
            [
                "data",
                "split",
                str(converted),
                "--eval-fraction",
                "0.04",
                "--seed",
                "7",
                "--out-dir",
                str(out),
            ],
        ),
        Step(
            "3b. Statistics and the cost estimate for 100 training steps",
            [
                "data",
                "stats",
                str(out / "support.train.jsonl"),
                "--model",
                "open-mistral-7b",
                "--steps",
                "100",
            ],
        ),
        Step(
            "3c. Validate train against eval (overlap check) as the job would use them",
            [
                "data",
                "validate",
                str(out / "support.train.jsonl"),
                "--eval",
                str(out / "support.eval.jsonl"),
                "--model",
                "open-mistral-7b",
            ],
        ),
    ]


def heading(text: str) -> None:
    bar = "=" * min(len(text), 78)
    print(f"\n{bar}\n{text}\n{bar}", flush=True)


def run(step: Step) -> bool:
    heading(step.title)
    print("$ tuner " + " ".join(shlex.quote(a) for a in step.args), flush=True)
    started = time.monotonic()
    code = subprocess.call([*TUNER, *step.args], cwd=ROOT)
    took = time.monotonic() - started
    ok = code == step.expect
    verdict = "ok" if ok else f"UNEXPECTED exit {code} (expected {step.expect})"
    print(f"-- exit {code} in {took:.1f}s: {verdict}", flush=True)
    return ok


def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    for step in steps():
        if not run(step):
            return 1
    heading("Done")
    print(f"Outputs are in {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
