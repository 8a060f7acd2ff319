"""`make demo`: the whole flow on the shipped examples, against a local sandbox.

Each step runs the real `tuner` command in a subprocess and shows its output under a heading:
data preparation (convert, validate, fix, split, stats), then a fine-tuning job on the sandbox
(created from examples/jobs/support.toml, cost shown, started, followed to SUCCESS), then an
evaluation of the tuned model against its base with a judge, and an HTML report. Then the
second provider: OpenAI's sandbox beside Mistral's, a job created from examples/jobs/openai.toml
(the local estimate shown, creating starts it), followed to its end, and the OpenAI-tuned model
compared with the Mistral-tuned one on the same held-out split (each asked at its provider).

Each sandbox is started in the background on a free loopback port with its own data directory
under demo-out/, and stopped at the end, on failure and on Ctrl-C. Their training is SIMULATED.
The demo exits non-zero as soon as a step does not end as expected.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# TUNER_DEMO_OUT lets the test suite run the demo into a temporary directory.
OUT = Path(os.environ.get("TUNER_DEMO_OUT") or ROOT / "demo-out").resolve()
TUNER = [sys.executable, "-m", "tuner"]
# Simulated-clock speed: a 10-step job takes a few seconds of wall time.
SANDBOX_SPEED = "60"
# OpenAI's sandbox trains 2 epochs over every example (576 steps of 2 simulated seconds): a
# faster clock keeps it ~10 s, so `jobs watch` still sees it train.
OPENAI_SANDBOX_SPEED = "120"
SANDBOX_KEY = "demo-sandbox-key-0000"
OPENAI_SANDBOX_KEY = "demo-openai-sandbox-key-0000"
BASE_MODEL = "open-mistral-7b"
JUDGE_MODEL = "mistral-large-latest"

# Relative paths (the steps run in the project root): shorter, as a user would type them.
DATA = Path("examples") / "data"
MAPPINGS = Path("examples") / "mappings"
OUT_REL = Path(os.path.relpath(OUT, ROOT))
OUT_DATA = OUT_REL / "data"  # mirrors examples/: the job spec's paths resolve the same way
CONVERTED = OUT_DATA / "support.jsonl"
TRAIN = OUT_DATA / "support.train.jsonl"
EVAL = OUT_DATA / "support.eval.jsonl"
SPEC = OUT_REL / "jobs" / "support.toml"
OPENAI_SPEC = OUT_REL / "jobs" / "openai.toml"


class DemoError(Exception):
    """A step did not end as expected."""


@dataclass(frozen=True)
class Step:
    title: str
    args: list[str]
    expect: int = 0  # the exit code this step should end with
    env: dict[str, str] = field(default_factory=dict)


def heading(text: str) -> None:
    bar = "=" * min(len(text), 78)
    print(f"\n{bar}\n{text}\n{bar}", flush=True)


def run(step: Step) -> None:
    """Run a step with its output on the terminal."""
    heading(step.title)
    print("$ tuner " + " ".join(shlex.quote(a) for a in step.args), flush=True)
    started = time.monotonic()
    code = subprocess.call([*TUNER, *step.args], cwd=ROOT, env={**os.environ, **step.env})
    took = time.monotonic() - started
    verdict = "ok" if code == step.expect else f"UNEXPECTED (expected exit {step.expect})"
    print(f"-- exit {code} in {took:.1f}s: {verdict}", flush=True)
    if code != step.expect:
        raise DemoError(step.title)


def capture_json(args: list[str], env: dict[str, str]) -> object:
    """Run a `--json` command quietly and return what it printed."""
    result = subprocess.run(
        [*TUNER, *args], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise DemoError("tuner " + " ".join(args))
    return json.loads(result.stdout)


def data_steps() -> list[Step]:
    return [
        Step(
            "1. Convert ShareGPT-style conversations to Mistral JSONL (with a mapping file)",
            [
                "data",
                "convert",
                str(DATA / "support.sharegpt.jsonl"),
                "--map",
                str(MAPPINGS / "sharegpt.toml"),
                "--out",
                str(CONVERTED),
            ],
        ),
        Step(
            "2a. Validate the converted file with exact open-mistral-7b token counts",
            ["data", "validate", str(CONVERTED), "--model", BASE_MODEL],
        ),
        Step(
            "2b. Validate a deliberately broken file: every finding, with its line",
            ["data", "validate", str(DATA / "broken.jsonl")],
            expect=1,
        ),
        Step(
            "2c. Fix what is safe to fix; list what cannot be fixed (exit 1: some lines remain)",
            [
                "data",
                "fix",
                str(DATA / "broken.jsonl"),
                "--out",
                str(OUT_REL / "broken.fixed.jsonl"),
            ],
            expect=1,
        ),
        Step(
            "3a. Split into train and eval (deduplicated, seeded, no overlap)",
            [
                "data",
                "split",
                str(CONVERTED),
                "--eval-fraction",
                "0.04",
                "--seed",
                "7",
                "--out-dir",
                str(OUT_DATA),
            ],
        ),
        Step(
            "3b. Statistics and the cost estimate for the job's 10 training steps",
            ["data", "stats", str(TRAIN), "--model", BASE_MODEL, "--steps", "10"],
        ),
        Step(
            "3c. Validate train against eval (overlap, validation-file limit) as the job uses them",
            ["data", "validate", str(TRAIN), "--eval", str(EVAL), "--model", BASE_MODEL],
        ),
    ]


@contextmanager
def sandbox() -> Iterator[dict[str, str]]:
    """Start Mistral's sandbox on a free loopback port; yield the environment to reach it."""
    env = {
        # Everything the demo writes stays in demo-out/: the ledger, config and data dirs.
        "TUNER_DB": str(OUT / "ledger.db"),
        "XDG_CONFIG_HOME": str(OUT / "config"),
        "XDG_DATA_HOME": str(OUT / "data-home"),
        "MISTRAL_API_KEY": SANDBOX_KEY,
        "TUNER_API_KEYS": "",
        # Mistral only until step 8 (an OPENAI_API_KEY of the caller's must not be used).
        "OPENAI_API_KEY": "",
        "OPENAI_API_KEYS": "",
    }
    heading("4. Start the sandbox: the same HTTP API, offline; training is SIMULATED")
    with serve("mistral", "sandbox", SANDBOX_SPEED, SANDBOX_KEY, env) as url:
        print(f"sandbox at {url} (log: {OUT_REL / 'sandbox.log'}); clock {SANDBOX_SPEED}x")
        yield {**env, "TUNER_API_URL": url}


@contextmanager
def serve(provider: str, name: str, speed: str, key: str, env: dict[str, str]) -> Iterator[str]:
    """`tuner sandbox serve --provider PROVIDER` on a free loopback port, logging to
    demo-out/NAME.log with its data in demo-out/NAME; yields its URL; stopped on leaving."""
    log_path = OUT / f"{name}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                *TUNER,
                "sandbox",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(OUT / name),
                "--speed",
                speed,
                "--api-key",
                key,
                "--provider",
                provider,
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    try:
        yield _wait_for_url(log_path, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        print(f"{name} stopped", flush=True)


def _wait_for_url(log_path: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"http://127\.0\.0\.1:\d+", log_path.read_text())
        if match:
            return match.group(0)
        if process.poll() is not None:
            raise DemoError(f"the sandbox exited: {log_path.read_text()}")
        time.sleep(0.1)
    raise DemoError("the sandbox did not start within 60 s")


def job_steps(env: dict[str, str]) -> tuple[str, str]:
    """Create, follow and inspect the job; return (job id, fine-tuned model)."""
    SPEC.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "examples" / "jobs" / "support.toml", ROOT / SPEC)
    run(
        Step(
            "5a. Create the job from examples/jobs/support.toml: validate, upload, VALIDATED, "
            "cost side by side, start",
            ["jobs", "create", str(SPEC), "--yes"],
            env=env,
        )
    )
    jobs = capture_json(["jobs", "list", "--json"], env)
    assert isinstance(jobs, list) and jobs, "no job was created"
    job_id = str(jobs[0]["id"])
    run(
        Step(
            "5b. Follow the job until it ends: progress over steps and losses",
            ["jobs", "watch", job_id],
            env=env,
        )
    )
    run(
        Step(
            "5c. One daemon cycle: poll active jobs, record every change, notify",
            ["daemon", "--once"],
            env=env,
        )
    )
    run(
        Step(
            "5d. The job as the ledger holds it: transitions, checkpoints, cost",
            ["jobs", "show", job_id],
            env=env,
        )
    )
    job = capture_json(["jobs", "show", job_id, "--json"], env)
    assert isinstance(job, dict)
    model = job.get("fine_tuned_model")
    if not model:
        raise DemoError(f"job {job_id} ended without a fine-tuned model")
    return job_id, str(model)


def eval_steps(env: dict[str, str], model: str) -> Path:
    run(
        Step(
            "6a. Evaluate the tuned model against its base on the held-out split, with a judge",
            [
                "eval",
                "run",
                "--data",
                str(EVAL),
                "--model",
                model,
                "--baseline",
                BASE_MODEL,
                "--judge",
                JUDGE_MODEL,
                "--concurrency",
                "4",
            ],
            env=env,
        )
    )
    runs = capture_json(["eval", "list", "--json"], env)
    assert isinstance(runs, list) and runs, "no evaluation run was stored"
    run_id = str(runs[0]["run_id"])
    report = OUT_REL / "eval-report.html"
    run(
        Step(
            "6b. Write the HTML report (self-contained: open it in any browser)",
            ["eval", "report", run_id, "--html", str(report)],
            env=env,
        )
    )
    return report


def openai_steps(env: dict[str, str], mistral_model: str) -> None:
    """The second provider: an OpenAI job on OpenAI's sandbox, and its model compared with
    the Mistral-tuned one."""
    heading("8. A second provider: OpenAI's sandbox beside Mistral's (training SIMULATED too)")
    with serve("openai", "openai-sandbox", OPENAI_SANDBOX_SPEED, OPENAI_SANDBOX_KEY, env) as url:
        print(
            f"OpenAI sandbox at {url}/v1 (log: {OUT_REL / 'openai-sandbox.log'}); "
            f"clock {OPENAI_SANDBOX_SPEED}x"
        )
        both = {**env, "OPENAI_BASE_URL": url + "/v1", "OPENAI_API_KEY": OPENAI_SANDBOX_KEY}
        shutil.copy(ROOT / "examples" / "jobs" / "openai.toml", ROOT / OPENAI_SPEC)
        run(
            Step(
                "8a. Create the OpenAI job from examples/jobs/openai.toml: tokens counted and "
                "the cost estimated locally, then uploaded and created (creating starts it)",
                ["jobs", "create", str(OPENAI_SPEC), "--yes"],
                env=both,
            )
        )
        jobs = capture_json(["jobs", "list", "--json"], both)
        assert isinstance(jobs, list)
        openai_jobs = [job for job in jobs if job.get("provider") == "openai"]
        if not openai_jobs:
            raise DemoError("no OpenAI job was created")
        job_id = str(openai_jobs[0]["id"])
        run(
            Step(
                "8b. Follow the OpenAI job until it ends: OpenAI's status, steps and losses",
                ["jobs", "watch", job_id, "--interval", "1"],
                env=both,
            )
        )
        job = capture_json(["jobs", "show", job_id, "--json"], both)
        assert isinstance(job, dict)
        openai_model = job.get("fine_tuned_model")
        if not openai_model:
            raise DemoError(f"OpenAI job {job_id} ended without a fine-tuned model")
        run(
            Step(
                "8c. Compare the OpenAI-tuned model with the Mistral-tuned one on the held-out "
                "split, each asked at its own provider (openai: names OpenAI's), with a judge",
                [
                    "eval",
                    "run",
                    "--data",
                    str(EVAL),
                    "--model",
                    f"openai:{openai_model}",
                    "--baseline",
                    mistral_model,
                    "--judge",
                    JUDGE_MODEL,
                    "--concurrency",
                    "4",
                ],
                env=both,
            )
        )


def closing(env: dict[str, str], report: Path) -> None:
    heading("9. Next: the dashboard on the same data")
    shown = {k: v for k, v in env.items() if k in ("TUNER_DB", "XDG_CONFIG_HOME")}
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in shown.items())
    print(
        "Start the sandbox again on its data, then open the dashboard:\n"
        f"  tuner sandbox serve --data-dir {OUT_REL / 'sandbox'} --speed {SANDBOX_SPEED} "
        f"--api-key {SANDBOX_KEY} &\n"
        f"  {prefix} TUNER_API_URL=http://127.0.0.1:8000 MISTRAL_API_KEY={SANDBOX_KEY} "
        "tuner tui\n"
        f"(inside the project: .venv/bin/tuner). The evaluation report is {report}."
    )


def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    (ROOT / OUT_DATA).mkdir(parents=True)
    started = time.monotonic()
    try:
        for step in data_steps():
            run(step)
        with sandbox() as env:
            _, model = job_steps(env)
            report = eval_steps(env, model)
            openai_steps(env, model)
        closing(env, report)
    except DemoError as exc:
        print(f"\ndemo FAILED at: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo interrupted", file=sys.stderr)
        return 130
    heading(f"Done in {time.monotonic() - started:.0f}s")
    print(f"Outputs are in {OUT_REL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
