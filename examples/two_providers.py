"""Tune the same data on Mistral and on OpenAI, then compare the two tuned models.

    python examples/two_providers.py [--data examples/data/support.jsonl]
                                     [--out two-providers-out] [--force]

Offline: the script starts both tuner sandboxes itself on 127.0.0.1 (free ports, each with a
hand-driven clock and a made-up key), so every number it prints is SIMULATED. The steps:

1. split the data (deduplicated, seeded) into a training file and a held-out eval file;
2. upload the training file to each provider and create a fine-tuning job there, with tuner's
   public clients: ``TunerClient`` for Mistral (open-mistral-7b), ``OpenAIClient`` for OpenAI
   (gpt-4o-mini-2024-07-18); follow both jobs to the end;
3. evaluate the two tuned models side by side on the held-out file with ``EvalRunner``: each is
   asked through its own provider (the OpenAI one named ``openai:…``, tuner's notation; the
   server never sees the prefix), a judge picks the better answer of each pair, and everything
   is stored in a ledger under --out, with each model's backend;
4. print the comparison.

The jobs are created with the clients directly, to show the library level; from the command
line, ``tuner jobs create examples/jobs/openai.toml`` does the OpenAI part (``make demo``, step
8, runs it). Against real servers, build the clients with ``TunerClient.from_settings`` /
``OpenAIClient.from_settings`` and sleep between polls instead of moving the sandboxes' clocks.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from tuner.api import JobCreate, TrainingFile, TrainingParameters, TunerClient
from tuner.api.openai import OpenAIClient, OpenAIJobCreate
from tuner.datasets.split import split_file
from tuner.evals import EvalOptions, EvalRunner, load_eval_set, load_report
from tuner.jobs.ledger import open_ledger
from tuner.sandbox import ManualClock, SandboxHandle, start_in_thread
from tuner.textsafe import inert

ROOT = Path(__file__).resolve().parent.parent
MISTRAL_BASE = "open-mistral-7b"
OPENAI_BASE = "gpt-4o-mini-2024-07-18"
JUDGE = "mistral-large-latest"
SUFFIX = "support"
# The sandboxes' simulated time moves this much between two polls of a job.
POLL_STEP_S = 60.0
MAX_POLLS = 1000
START = 1_760_000_000.0


async def follow(
    poll: Callable[[], Awaitable[tuple[str, bool, str | None]]], tick: Callable[[], None]
) -> str:
    """Poll a job until it ends; its tuned model's name (exits when the job did not succeed)."""
    for _ in range(MAX_POLLS):
        status, done, model = await poll()
        if done:
            if model is None:
                sys.exit(f"the job ended {inert(status)}, without a tuned model")
            return model
        tick()
    sys.exit("the job did not end")


async def tune_on_mistral(client: TunerClient, train: Path, sandbox: SandboxHandle) -> str:
    uploaded = await client.files.upload(train)
    job = await client.jobs.create(
        JobCreate(
            model=MISTRAL_BASE,
            training_files=[TrainingFile(file_id=uploaded.id)],
            hyperparameters=TrainingParameters(training_steps=10),
            suffix=SUFFIX,
            auto_start=True,
        )
    )
    print(f"mistral: job {inert(job.id)} created on {MISTRAL_BASE}")

    async def poll() -> tuple[str, bool, str | None]:
        seen = await client.jobs.get(job.id)
        return seen.status, seen.is_terminal, seen.fine_tuned_model

    return await follow(poll, lambda: sandbox.advance(POLL_STEP_S))


async def tune_on_openai(client: OpenAIClient, train: Path, sandbox: SandboxHandle) -> str:
    uploaded = await client.files.upload(train)
    job = await client.jobs.create(
        OpenAIJobCreate(
            model=OPENAI_BASE,
            training_file=uploaded.id,
            suffix=SUFFIX,
            seed=7,
            hyperparameters={"n_epochs": 1},
        )
    )
    print(f"openai: job {inert(job.id)} created on {OPENAI_BASE}")

    async def poll() -> tuple[str, bool, str | None]:
        seen = await client.jobs.get(job.id)
        return seen.status, seen.is_terminal, seen.fine_tuned_model

    return await follow(poll, lambda: sandbox.advance(POLL_STEP_S))


async def compare(
    mistral: TunerClient, openai: OpenAIClient, ledger_path: Path, held_out: Path, models: list[str]
) -> None:
    with open_ledger(str(ledger_path)) as ledger:
        runner = EvalRunner(mistral, ledger, openai_client=openai)
        options = EvalOptions(models=(models[0], models[1]), judge=JUDGE, temperature=0.0)
        outcome = await runner.run(load_eval_set(held_out), options)
        verb = "resumed" if outcome.resumed else "ran"
        print(f"eval: {verb} run {outcome.run_id}, {outcome.asked} answer(s) asked")
        report = load_report(ledger, outcome.run_id)
    if report.simulated_note:
        print(inert(report.simulated_note))
    for model, summary in report.models.items():
        backend = report.run.backend_of(model)
        where = backend.url if backend is not None else "?"
        f1 = summary.value("token_f1")
        shown = "–" if f1 is None else f"{f1:.3f}"
        print(f"  {inert(model)} ({inert(where)}): token F1 {shown}, {summary.failed} failed")
    judge = report.judge
    if judge is not None:
        print(
            f"  judge {JUDGE}: the OpenAI-tuned model wins {judge.wins}, ties {judge.ties}, "
            f"loses {judge.losses}"
        )


async def main(data: Path, out: Path, *, force: bool = False) -> int:
    if out.exists() and any(out.iterdir()) and not force:
        print(
            f"error: {inert(out)} is not empty (pick another --out, or add --force to write "
            "over it)",
            file=sys.stderr,
        )
        return 2
    out.mkdir(parents=True, exist_ok=True)
    split = split_file(data, eval_fraction=0.04, out_dir=out / "data", seed=7, force=force)
    train, held_out = Path(split.train_path), Path(split.eval_path)
    print(f"split: {split.train_lines} train, {split.eval_lines} held out")
    key = secrets.token_hex(16)  # the sandboxes' own key, for this run only
    with (
        start_in_thread(
            out / "mistral-sandbox", clock=ManualClock(START), api_key=key
        ) as mistral_box,
        start_in_thread(
            out / "openai-sandbox", clock=ManualClock(START), api_key=key, provider="openai"
        ) as openai_box,
    ):
        async with (
            TunerClient([key], base_url=mistral_box.url) as mistral,
            OpenAIClient([key], base_url=openai_box.url + "/v1") as openai,
        ):
            mistral_model = await tune_on_mistral(mistral, train, mistral_box)
            print(f"mistral: tuned model {inert(mistral_model)}")
            openai_model = await tune_on_openai(openai, train, openai_box)
            print(f"openai: tuned model {inert(openai_model)}")
            # The OpenAI-tuned model is the candidate, the Mistral-tuned one the baseline.
            models = ["openai:" + openai_model, mistral_model]
            await compare(mistral, openai, out / "ledger.db", held_out, models)
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "examples" / "data" / "support.jsonl")
    parser.add_argument("--out", type=Path, default=Path("two-providers-out"))
    parser.add_argument("--force", action="store_true", help="write over a non-empty --out")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _arguments()
    sys.exit(asyncio.run(main(arguments.data, arguments.out, force=arguments.force)))
