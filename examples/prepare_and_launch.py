"""Scripted dataset prep and launch with tuner's Python API (no CLI).

    python examples/prepare_and_launch.py RAW.jsonl MAPPING.toml OUT_DIR [--launch] [--max-cost 10]
        [--force]

1. converts the raw conversations to Mistral JSONL with a mapping file;
2. splits them (deduplicated, seeded) into train and eval;
3. validates both with exact token counts and stops on any error;
4. with --launch: writes a job spec next to the data and creates the job through the
   orchestrator (upload once, wait for VALIDATED, compare the cost, start within --max-cost),
   then follows it to the end, everything recorded in the ledger.

It talks to TUNER_API_URL with MISTRAL_API_KEY, like the CLI (through the same service layer,
``tuner.services``): point it at `tuner sandbox serve` to try it offline. Like the CLI, it never
writes over the outputs of an earlier run unless given --force.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from pathlib import Path

from tuner.config import load_settings
from tuner.datasets.convert import convert
from tuner.datasets.mapping import load_mapping
from tuner.datasets.split import split_file
from tuner.datasets.tokens import counter_for
from tuner.datasets.validate import ValidateOptions, validate_paths
from tuner.fsutil import OutputRefused
from tuner.jobs import Plan, load_spec
from tuner.services import Services

MODEL = "open-mistral-7b"
TOKENIZER = "v3-sentencepiece"


def prepare(raw: Path, mapping: Path, out_dir: Path, *, force: bool) -> tuple[Path, Path]:
    """Convert, split and validate; return (train, eval). Exits on invalid data."""
    out_dir.mkdir(parents=True, exist_ok=True)
    converted = out_dir / "data.jsonl"
    result = convert([raw], converted, mapping=load_mapping(mapping), force=force)
    print(f"converted {result.converted} of {result.read} records ({result.skipped_count} skipped)")
    for finding in result.skipped:
        print(f"  skipped {finding.where}: {finding.message}")
    split = split_file(converted, eval_fraction=0.04, out_dir=out_dir, seed=7, force=force)
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


def write_spec(out_dir: Path, train: Path, held_out: Path, *, force: bool) -> Path:
    spec = out_dir / "job.toml"
    if spec.exists() and not force:
        raise OutputRefused(f"{spec} exists", "give --force to replace it")
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
    services = Services.from_settings(load_settings().settings)
    within_budget = functools.partial(_approve, max_cost=max_cost)
    try:
        orchestrator = services.orchestrator(confirm=within_budget, poll_interval=2.0)
        created = await orchestrator.create(load_spec(spec_path), max_cost=max_cost)
        print(f"create: {created.outcome}")
        for job in created.jobs:
            async for seen in orchestrator.watch(job.id):
                print(f"  {seen.id[:8]} {seen.status}")
            if seen.status != "SUCCESS":
                return 1
            print(f"fine-tuned model: {seen.fine_tuned_model}")
    finally:
        await services.aclose()
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
    parser.add_argument("--force", action="store_true", help="replace the outputs of a past run")
    args = parser.parse_args()
    try:
        train, held_out = prepare(args.raw, args.mapping, args.out_dir, force=args.force)
        if not args.launch:
            return 0
        spec = write_spec(args.out_dir, train, held_out, force=args.force)
    except OutputRefused as refused:
        print(f"error: {refused} ({refused.hint})", file=sys.stderr)
        return 2
    return asyncio.run(launch(spec, args.max_cost))


if __name__ == "__main__":
    sys.exit(main())
