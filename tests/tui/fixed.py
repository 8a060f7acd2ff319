"""Fixed data for the snapshot tests (and the README screenshots): a ledger with known jobs,
checkpoints, lineage and an evaluation run, and a fake API (``httpx.MockTransport``) that
answers with the same jobs, files and models, marks itself a sandbox, and streams a fixed reply.

Everything is a pure function of ``NOW``: ids are fixed, ages and times are computed from it.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Any

import httpx

from tuner.api import RetryPolicy, TunerClient
from tuner.evals import load_eval_set
from tuner.jobs.ledger import Ledger

from .support import BROKEN, SUPPORT

NOW = 1_760_040_000  # 2025-10-09T20:00:00Z
URL = "http://127.0.0.1:8000"
BASE = "open-mistral-7b"
OWNER = "a1b2c3d4"
TRAIN_FILE = "8b0d6f2e-4a1c-4e9b-b3d5-7c2a9e0f1d64"
VALID_FILE = "2e7f9a1b-6c3d-4f8e-a0b2-5d4c8e1f7a39"
RAW_FILE = "d5c3b1a9-8e7f-4d6c-9b5a-3f1e0d2c4b86"
SUPPORT_JOB = "3f9c2a71-5b0e-4c8d-9a61-2d7e8f104c55"
SUPPORT_MODEL = f"ft:{BASE}:{OWNER}:20251009:support-v1:3f9c2a71"
EVAL_RUN = "ev4b1d2c3e4f5a6b7"


def _job(
    job_id: str,
    status: str,
    *,
    suffix: str,
    created: int,
    steps: int = 100,
    done: int = 0,
    model: str = BASE,
    validation: bool = True,
    seed: float = 0.0,
) -> dict[str, Any]:
    """A job as the API shows it, with events and checkpoints consistent with its status."""
    cost = round(steps * 131072 / 1e6 * 2, 4)
    ran = status in ("RUNNING", "SUCCESS", "CANCELLED", "FAILED")
    flow = ["QUEUED", "VALIDATING"]
    if status != "FAILED_VALIDATION":
        flow.append("VALIDATED")
    if ran:
        flow += ["QUEUED", "RUNNING"]
    if status not in flow:
        flow.append(status)
    # Validation takes 20 s, the queue 10 s, set-up 30 s, each step 6 s.
    start = created + 60
    times = [created, created + 5, created + 20, created + 20, created + 30]
    end = start + 6 * (done if status != "SUCCESS" else steps)
    events = [
        {"name": "status-updated", "data": {"status": s}, "created_at": times[i] if i < 5 else end}
        for i, s in enumerate(flow)
    ]
    checkpoints = []
    for step in range(10, done + 1, 10):
        train = 0.45 + 1.6 * math.exp(-3.2 * step / steps) + seed
        valid = train + 0.08 + 0.12 * (step / steps) ** 3 if validation else None
        checkpoints.append(
            {
                "step_number": step,
                "created_at": start + step * 6,
                "metrics": {
                    "train_loss": round(train, 4),
                    "valid_loss": round(valid, 4) if valid is not None else None,
                    "valid_mean_token_accuracy": round(0.5 + 0.4 * step / steps, 3)
                    if validation
                    else None,
                },
            }
        )
    finished = status == "SUCCESS"
    suffix_part = f":{suffix}" if suffix else ""
    return {
        "id": job_id,
        "object": "job",
        "model": model,
        "status": status,
        "job_type": "completion",
        "auto_start": status != "VALIDATED",
        "created_at": created,
        "modified_at": events[-1]["created_at"],
        "training_files": [TRAIN_FILE],
        "validation_files": [VALID_FILE] if validation else [],
        "hyperparameters": {
            "training_steps": steps,
            "learning_rate": 0.0001,
            "weight_decay": 0.1,
            "warmup_fraction": 0.05,
            "epochs": round(steps * 131072 / 95_000, 3),
            "seq_len": 16384,
            "fim_ratio": None,
        },
        "fine_tuned_model": (
            f"ft:{model}:{OWNER}:20251009{suffix_part}:{job_id[:8]}" if finished else None
        ),
        "suffix": suffix or None,
        "trained_tokens": steps * 131072 if finished else None,
        "integrations": [],
        "repositories": [],
        "metadata": {
            "expected_duration_seconds": 60 + steps * 6,
            "cost": cost,
            "cost_currency": "USD",
            "train_tokens_per_step": 131072,
            "train_tokens": steps * 131072,
            "data_tokens": 95_000,
            "estimated_start_time": created + 60,
        },
        "events": events,
        "checkpoints": list(reversed(checkpoints)),  # newest first, as the platform lists them
        "classifier_targets": [],
    }


JOBS: list[dict[str, Any]] = [
    _job("9d41e0b2-7c3a-4e55-8f21-6b0a9c3d2e17", "RUNNING", suffix="support-v2",
         created=NOW - 420, done=60, seed=0.03),
    _job("c7a5f3e9-2d4b-4a61-b8c0-1e9f7d5a3b28", "VALIDATED", suffix="faq-short",
         created=NOW - 1500, steps=10, validation=False),
    _job("51be7d0c-9a2f-4c3e-a7d8-4f6b2e1c0a93", "QUEUED", suffix="tools",
         created=NOW - 60, steps=50, model="open-mistral-nemo"),
    _job(SUPPORT_JOB, "SUCCESS", suffix="support-v1", created=NOW - 7200, done=100),
    _job("e2c8b6a4-1f3d-4b7e-9c5a-8d0f6e4b2a71", "CANCELLED", suffix="support-lr3",
         created=NOW - 86400 * 2, done=30, seed=0.1),
    _job("a0f4c2e6-8b1d-4f3a-b5c7-9e2d0a6c4f18", "FAILED_VALIDATION", suffix="raw-export",
         created=NOW - 86400 * 3, steps=10, validation=False),
]  # fmt: skip

# A sweep over learning rate and steps: its members differ only at the end of their suffix.
SWEEP_ID = "5e1f0c9a2b7d4e3f8a6c1b0d9e2f4a7c"
SWEEP: list[tuple[str, str, float, int, int]] = [
    # (job id, status, learning rate, steps, steps done); the fourth waits in the local queue
    ("b3d1f7a9-4c2e-4a8b-9f6d-0e5c7a1b3d92", "SUCCESS", 1e-4, 50, 50),
    ("f8e2a4c6-0d9b-4e1f-a3c5-7b9d1f3e5a80", "RUNNING", 5e-5, 50, 30),
    ("6a0c8e2f-b4d6-4f8a-9c1e-3d5f7b9a1c64", "RUNNING", 1e-4, 100, 20),
]
SWEEP_QUEUED = (5e-5, 100)


def sweep_meta(index: int, learning_rate: float, steps: int) -> dict[str, Any]:
    return {
        "start": "approved",
        "source": "sweep.toml",
        "member_index": index,
        "sweep_values": {"learning_rate": learning_rate, "training_steps": steps},
        "estimated_cost": round(steps * 131072 / 1e6 * 2, 2),
    }


JOBS += [
    _job(job_id, status, suffix=f"support-sw-{index + 1}", created=NOW - 900 + 10 * index,
         steps=steps, done=done, seed=0.02 * index * (1 if lr > 9e-5 else -1))
    for index, (job_id, status, lr, steps, done) in enumerate(SWEEP)
]  # fmt: skip

FILES: list[dict[str, Any]] = [
    {"id": TRAIN_FILE, "object": "file", "bytes": 392_118, "created_at": NOW - 7300,
     "filename": "support.train.jsonl", "purpose": "fine-tune", "sample_type": "instruct",
     "num_lines": 285, "source": "upload"},
    {"id": VALID_FILE, "object": "file", "bytes": 19_204, "created_at": NOW - 7300,
     "filename": "support.eval.jsonl", "purpose": "fine-tune", "sample_type": "instruct",
     "num_lines": 15, "source": "upload"},
    {"id": RAW_FILE, "object": "file", "bytes": 6_620,
     "created_at": NOW - 86400 * 3, "filename": "raw-export.jsonl", "purpose": "fine-tune",
     "sample_type": "instruct", "num_lines": 22, "source": "upload"},
]  # fmt: skip

MODELS: list[dict[str, Any]] = [
    {"id": BASE, "object": "model", "type": "base", "created": NOW - 86400 * 400,
     "owned_by": "mistralai", "capabilities": {"completion_chat": True, "fine_tuning": True}},
    {"id": "mistral-small-latest", "object": "model", "type": "base",
     "created": NOW - 86400 * 100, "owned_by": "mistralai",
     "capabilities": {"completion_chat": True, "fine_tuning": False}},
    {"id": SUPPORT_MODEL, "object": "model", "type": "fine-tuned", "created": NOW - 6000,
     "owned_by": OWNER, "job": SUPPORT_JOB, "root": BASE, "archived": False,
     "name": "support bot v1", "capabilities": {"completion_chat": True}},
    {"id": f"ft:{BASE}:{OWNER}:20251001:draft:0b3e77aa", "object": "model",
     "type": "fine-tuned", "created": NOW - 86400 * 8, "owned_by": OWNER, "job": "0b3e77aa",
     "root": BASE, "archived": True, "capabilities": {"completion_chat": True}},
]  # fmt: skip

REPLY = (
    "Open Settings, choose Security and press Reset password. You will get an e-mail with a "
    "link that stays valid for one hour."
)


def _stream_body(model: str, text: str) -> bytes:
    words = text.split(" ")
    pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
    events = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        chunk = {
            "id": "0" * 32,
            "object": "chat.completion.chunk",
            "created": NOW,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": piece},
                    "finish_reason": "stop" if last else None,
                }
            ],
        }
        events.append(f"data: {json.dumps(chunk)}\n\n")
    events.append("data: [DONE]\n\n")
    return "".join(events).encode()


def handler(request: httpx.Request) -> httpx.Response:
    """The fake API: fixed answers, always marked as the sandbox."""
    headers = {"x-tuner-sandbox": "1"}
    path = request.url.path
    if path == "/v1/models":
        return httpx.Response(200, json={"object": "list", "data": MODELS}, headers=headers)
    if path == "/v1/files":
        page = int(request.url.params.get("page", "0"))
        data = FILES if page == 0 else []
        body = {"object": "list", "data": data, "total": len(FILES)}
        return httpx.Response(200, json=body, headers=headers)
    if path == "/v1/fine_tuning/jobs":
        page = int(request.url.params.get("page", "0"))
        status = request.url.params.get("status")
        found = [j for j in JOBS if status is None or j["status"] == status]
        summaries = [
            {k: v for k, v in j.items() if k not in ("events", "checkpoints")} for j in found
        ]
        body = {"object": "list", "data": summaries if page == 0 else [], "total": len(found)}
        return httpx.Response(200, json=body, headers=headers)
    if path.startswith("/v1/fine_tuning/jobs/"):
        job_id = path.rsplit("/", 1)[-1]
        for job in JOBS:
            if job["id"] == job_id:
                return httpx.Response(200, json=job, headers=headers)
    if path == "/v1/chat/completions":
        body = json.loads(request.content)
        return httpx.Response(
            200,
            content=_stream_body(body["model"], REPLY),
            headers={**headers, "content-type": "text/event-stream"},
        )
    return httpx.Response(
        404, json={"object": "error", "message": "not found", "type": "not_found"}, headers=headers
    )


async def _no_sleep(_seconds: float) -> None:
    return None


def fake_client() -> TunerClient:
    return TunerClient(
        ["fixed-key-0000000000000000"],
        base_url=URL,
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_attempts=1, max_elapsed=1.0),
        sleep=_no_sleep,
    )


def clock() -> float:
    return float(NOW)


def seed_ledger(ledger: Ledger, folder: Path) -> None:
    """The jobs, the lineage of the support model, a daemon, and an evaluation run.

    Files the screens open are copied into ``folder`` (the test's working directory), so paths
    shown are relative and the same on every machine.
    """
    for job in JOBS:
        ledger.apply_snapshot(job, backend=URL, now=NOW - 30)
    train = folder / "support.train.jsonl"
    shutil.copy(SUPPORT, train)
    digest = hashlib.sha256(train.read_bytes()).hexdigest()
    ledger.record_dataset(
        digest, path="data/support.train.jsonl", size_bytes=392_118, line_count=285, now=NOW
    )
    ledger.record_file(
        TRAIN_FILE,
        backend=URL,
        uploaded_at=NOW - 7300,
        content_hash=digest,
        filename="support.train.jsonl",
        size_bytes=392_118,
    )
    ledger.record_file(
        VALID_FILE, backend=URL, uploaded_at=NOW - 7300, filename="support.eval.jsonl"
    )
    _seed_sweep(ledger)
    assert ledger.acquire_lease("daemon", "build-01:4242:7f3e", 120, NOW - 20)
    ledger.record_heartbeat("daemon", NOW - 15)  # the daemon's last completed cycle
    shutil.copy(BROKEN, folder / "broken.jsonl")
    _seed_eval(ledger, folder)


def _seed_sweep(ledger: Ledger) -> None:
    """The sweep's members with what tuner knows of them (spec, sweep id); the fourth is
    still a spec in the submission queue (more than three may not run at once)."""
    by_id = {job["id"]: job for job in JOBS}
    for index, (job_id, _, lr, steps, _) in enumerate(SWEEP):
        spec = {"model": BASE, "suffix": f"support-sw-{index + 1}",
                "tuner": sweep_meta(index, lr, steps)}  # fmt: skip
        ledger.upsert_job(by_id[job_id], backend=URL, now=NOW - 30, spec=spec, sweep_id=SWEEP_ID)
    lr, steps = SWEEP_QUEUED
    index = len(SWEEP)
    queued = {
        "model": BASE,
        "suffix": f"support-sw-{index + 1}",
        "hyperparameters": {"training_steps": steps, "learning_rate": lr},
        "tuner": sweep_meta(index, lr, steps),
    }
    ledger.enqueue([queued], None, now=NOW - 870)


def _seed_eval(ledger: Ledger, folder: Path) -> None:
    lines = SUPPORT.read_bytes().splitlines(keepends=True)
    eval_path = folder / "eval.jsonl"
    eval_path.write_bytes(b"".join(lines[:4]))
    eval_set = load_eval_set(eval_path)
    ledger.create_eval_run(
        run_id=EVAL_RUN,
        data_path="eval.jsonl",
        data_hash=eval_set.data_hash,
        models=[SUPPORT_MODEL, BASE],
        judge="mistral-small-latest",
        params={"temperature": None, "max_tokens": None, "embed_model": None},
        now=NOW - 600,
        status="completed",
    )
    f1 = {SUPPORT_MODEL: [0.82, 0.64, 0.91, 0.58], BASE: [0.31, 0.42, 0.28, 0.49]}
    outcomes = ["win", "win", "win", "tie"]
    for item in eval_set.items:
        for model in (SUPPORT_MODEL, BASE):
            score = f1[model][item.index]
            tuned = model == SUPPORT_MODEL
            answer = item.reference.rendered() if tuned else "Thank you for reaching out."
            verdict = None
            if tuned:
                verdict = {
                    "judge": "mistral-small-latest",
                    "status": "ok",
                    "outcome": outcomes[item.index],
                    "reason": "A follows the documented procedure; B stays generic.",
                }
            ledger.record_eval_item(
                EVAL_RUN,
                item.index,
                model,
                prompt_hash=item.prompt_hash,
                now=NOW - 600,
                response_text=answer,
                latency_s=0.4,
                prompt_tokens=120,
                completion_tokens=40,
                scores={
                    "metrics": {
                        "exact_match": 1.0 if tuned and item.index == 2 else 0.0,
                        "token_f1": score,
                        "rouge_l": round(score - 0.05, 2),
                        "length_words": 24.0 if tuned else 6.0,
                    },
                    "tool_calls": [],
                    "finish_reason": "stop",
                },
                judge_verdict=verdict,
            )
