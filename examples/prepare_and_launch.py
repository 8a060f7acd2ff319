"""Scripted dataset prep and launch with tuner's Python API (no CLI).

    python examples/prepare_and_launch.py RAW.jsonl MAPPING.toml OUT_DIR [--launch] [--max-cost 10]

1. converts the raw conversations to Mistral JSONL with a mapping file;
2. splits them (deduplicated, seeded) into train and eval;
3. validates both with exact token counts and stops on any error;
4. with --launch: writes a job spec next to the data and creates the job through the
   orchestrator (upload once, wait for VALIDATED, compare the cost, start within --max-cost),
   then follows it to the end, everything recorded in the ledger.

It talks to TUNER_API_URL with MISTRAL_API_KEY, like the CLI: point it at `tuner sandbox serve`
to try it offline.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import time
from pathlib import Path

from tuner.api import TunerClient
from tuner.config import load_settings
from tuner.datasets.convert import convert
from tuner.datasets.mapping import load_mapping
from tuner.datasets.split import split_file
from tuner.datasets.tokens import counter_for
from tuner.datasets.validate import ValidateOptions, validate_paths
from tuner.jobs import Orchestrator, Plan, load_spec
from tuner.jobs.ledger import open_ledger

MODEL = "open-mistral-7b"
TOKENIZER = "v3-sentencepiece"


def prepare(raw: Path, mapping: Path, out_dir: Path) -> tuple[Path, Path]:
    """Convert, split and validate; return (train, eval). Exits on invalid data."""
    out_dir.mkdir(parents=True, exist_ok=True)
    converted = out_dir / "data.jsonl"
    result = convert([raw], converted, mapping=load_mapping(mapping))
    print(f"converted {result.converted} of {result.read} records ({result.skipped_count} skipped)")
    for finding in result.skipped:
        print(f"  skipped {finding.where}: {finding.message}")
    split = split_file(converted, eval_fraction=0.04, out_dir=out_dir, seed=7)
    train, held_out = Path(split.train_path), Path(split.eval_path)
    print(f"split: {split.train_lines} train, {split.eval_lines} eval")
    report = validate_paths(
        [train],
        options=ValidateOptions(seq_len=32_768),
        counter_factory=functools.partial(counter_for, TOKENIZER),
        eval_path=held_out,
    )
    for finding in report.iter_findings():
        print(
            f"  {finding.severity.value} {finding.path}:{finding.line} {finding.code}: "
            f"{finding.message}"
        )
    if not report.ok:
        sys.exit("the data has errors: nothing launched")
    tokens = report.files[0].tokens
    print(f"valid: {tokens.total if tokens else 0:,} tokens in the training file")
    return train, held_out


def write_spec(out_dir: Path, train: Path, held_out: Path) -> Path:
    spec = out_dir / "job.toml"
    spec.write_text(
        f'model = "{MODEL}"\n'
        'suffix = "scripted-v1"\n'
        "auto_start = true\n"
        f'training_files = [{{ path = "{train.name}", weight = 1.0 }}]\n'
        f'validation_files = ["{held_out.name}"]\n'
        "[hyperparameters]\ntraining_steps = 10\nlearning_rate = 1e-4\n",
        encoding="utf-8",
    )
    return spec


async def launch(spec_path: Path, max_cost: float) -> int:
    settings = load_settings().settings
    within_budget = functools.partial(_approve, max_cost=max_cost)
    with open_ledger() as ledger:
        async with TunerClient.from_settings(settings) as client:
            orchestrator = Orchestrator(
                client,
                ledger,
                clock=lambda: int(time.time()),
                confirm=within_budget,
                poll_interval=2.0,
            )
            created = await orchestrator.create(load_spec(spec_path), max_cost=max_cost)
            print(f"create: {created.outcome}")
            for job in created.jobs:
                async for seen in orchestrator.watch(job.id):
                    print(f"  {seen.id[:8]} {seen.status}")
                if seen.status != "SUCCESS":
                    return 1
                print(f"fine-tuned model: {seen.fine_tuned_model}")
    return 0


def _approve(plan: Plan, *, max_cost: float) -> bool:
    """The confirmation the CLI asks a person for, decided by the budget instead."""
    costs = [job.cost or 0.0 for job in plan.jobs]
    print(f"cost of {len(costs)} job(s): {sum(costs):.2f} USD (budget {max_cost:.2f} per job)")
    return all(cost <= max_cost for cost in costs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("mapping", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--launch", action="store_true")
    parser.add_argument("--max-cost", type=float, default=10.0)
    args = parser.parse_args()
    train, held_out = prepare(args.raw, args.mapping, args.out_dir)
    if not args.launch:
        return 0
    return asyncio.run(launch(write_spec(args.out_dir, train, held_out), args.max_cost))


if __name__ == "__main__":
    sys.exit(main())
