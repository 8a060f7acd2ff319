"""/v1/fine_tuning/jobs over real HTTP, time driven by the manual clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx

from tuner.sandbox import SandboxHandle

from .conftest import StartSandbox, make_client
from .support import (
    START,
    conversation,
    create_job,
    job,
    jsonl,
    training_data,
    upload,
    upload_ok,
)


def statuses(detail: dict[str, object]) -> list[str]:
    return [e["data"]["status"] for e in detail["events"]]  # type: ignore[attr-defined,index]


def test_lifecycle_without_auto_start(client: httpx.Client, sandbox: SandboxHandle) -> None:
    file_id = upload_ok(client, training_data())
    created = create_job(client, file_id, suffix="support")
    assert created.status_code == 200
    body = created.json()
    assert body["status"] == "QUEUED"
    assert body["job_type"] == "completion"
    assert body["object"] == "job"
    assert body["training_files"] == [file_id]
    assert body["metadata"] is None
    assert body["hyperparameters"] == {
        "training_steps": 10,
        "learning_rate": 1e-4,
        "weight_decay": 0.1,
        "warmup_fraction": 0.05,
        "epochs": None,
        "seq_len": 16384,
        "fim_ratio": None,
    }
    job_id = body["id"]

    sandbox.advance(6)
    assert job(client, job_id)["status"] == "VALIDATING"

    sandbox.advance(60)  # parked at VALIDATED: nothing moves without /start
    validated = job(client, job_id)
    assert validated["status"] == "VALIDATED"
    assert statuses(validated) == ["QUEUED", "VALIDATING", "VALIDATED"]
    meta = validated["metadata"]
    assert meta["train_tokens_per_step"] == 131072
    assert meta["train_tokens"] == 10 * 131072
    assert meta["data_tokens"] > 100  # counted with the model's tokenizer
    assert meta["cost"] == round(10 * 131072 / 1e6 * 2, 4)  # 2.6214, as observed
    assert meta["cost_currency"] == "USD"
    assert meta["expected_duration_seconds"] == 120  # the observed 10-step job
    assert validated["hyperparameters"]["epochs"] == round(1310720 / meta["data_tokens"], 4)
    assert validated["checkpoints"] == []

    started = client.post(f"/v1/fine_tuning/jobs/{job_id}/start")
    assert started.status_code == 200
    assert started.json()["status"] == "QUEUED"
    assert started.json()["modified_at"] == START + 66

    sandbox.advance(11)
    running = job(client, job_id)
    assert running["status"] == "RUNNING"
    assert running["fine_tuned_model"] is None

    sandbox.advance(200)
    done = job(client, job_id)
    assert done["status"] == "SUCCESS"
    assert statuses(done) == ["QUEUED", "VALIDATING", "VALIDATED", "QUEUED", "RUNNING", "SUCCESS"]
    assert done["trained_tokens"] == 10 * 131072
    owner = done["fine_tuned_model"].split(":")[2]
    date = datetime.fromtimestamp(START + 66 + 10 + 120, UTC).strftime("%Y%m%d")
    assert done["fine_tuned_model"] == (
        f"ft:open-mistral-7b:{owner}:{date}:support:{job_id.replace('-', '')[:8]}"
    )
    assert len(owner) == 8
    int(owner, 16)
    # A 10-step job: one checkpoint at step 10 (checkpoints are >= 10 steps apart).
    assert [c["step_number"] for c in done["checkpoints"]] == [10]
    times = [e["created_at"] for e in done["events"]]
    assert times == sorted(times)

    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert done["fine_tuned_model"] in ids


def test_checkpoints_every_tenth_with_validation_metrics(
    client: httpx.Client, sandbox: SandboxHandle
) -> None:
    train = upload_ok(client, training_data())
    valid = upload_ok(client, training_data(prefix="Quick question: "), "valid.jsonl")
    created = create_job(
        client,
        train,
        auto_start=True,
        validation_files=[valid],
        hyperparameters={"training_steps": 100, "learning_rate": 4e-5},
    ).json()
    sandbox.advance(20 + 10 + 20 + 50 * 10)  # validated, queued, set-up, 50 steps
    halfway = job(client, created["id"])
    assert halfway["status"] == "RUNNING"
    assert statuses(halfway) == ["QUEUED", "VALIDATING", "VALIDATED", "QUEUED", "RUNNING"]
    assert [c["step_number"] for c in halfway["checkpoints"]] == [50, 40, 30, 20, 10]
    sandbox.advance(50 * 10)
    done = job(client, created["id"])
    assert done["status"] == "SUCCESS"
    checkpoints = list(reversed(done["checkpoints"]))  # newest first on the wire
    assert [c["step_number"] for c in checkpoints] == list(range(10, 101, 10))
    losses = [c["metrics"]["train_loss"] for c in checkpoints]
    assert losses == sorted(losses, reverse=True)
    assert len(set(losses)) == len(losses)
    assert all(c["metrics"]["valid_loss"] > 0 for c in checkpoints)
    assert all(c["metrics"]["valid_mean_token_accuracy"] > 0 for c in checkpoints)
    assert done["validation_files"] == [valid]
    assert done["hyperparameters"]["learning_rate"] == 4e-5


def test_cancel(client: httpx.Client, sandbox: SandboxHandle) -> None:
    file_id = upload_ok(client, training_data())
    created = create_job(client, file_id, auto_start=True, hyperparameters={"training_steps": 50})
    job_id = created.json()["id"]
    sandbox.advance(20 + 10 + 20 + 25 * 10)
    cancelled = client.post(f"/v1/fine_tuning/jobs/{job_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "CANCELLATION_REQUESTED"
    sandbox.advance(5)
    final = job(client, job_id)
    assert final["status"] == "CANCELLED"
    assert statuses(final)[-3:] == ["RUNNING", "CANCELLATION_REQUESTED", "CANCELLED"]
    assert [c["step_number"] for c in final["checkpoints"]] == [20, 10]
    assert final["fine_tuned_model"] is None
    sandbox.advance(10_000)  # nothing happens after a cancellation
    assert job(client, job_id)["status"] == "CANCELLED"
    again = client.post(f"/v1/fine_tuning/jobs/{job_id}/cancel")
    assert again.status_code == 400
    assert "CANCELLED" in again.json()["detail"]


def test_cancel_while_validating_never_validates(
    client: httpx.Client, sandbox: SandboxHandle
) -> None:
    job_id = create_job(client, upload_ok(client, training_data())).json()["id"]
    sandbox.advance(6)
    client.post(f"/v1/fine_tuning/jobs/{job_id}/cancel")
    sandbox.advance(100)
    final = job(client, job_id)
    assert statuses(final) == ["QUEUED", "VALIDATING", "CANCELLATION_REQUESTED", "CANCELLED"]
    assert final["metadata"] is None


def test_start_only_a_validated_job(client: httpx.Client, sandbox: SandboxHandle) -> None:
    job_id = create_job(client, upload_ok(client, training_data())).json()["id"]
    early = client.post(f"/v1/fine_tuning/jobs/{job_id}/start")
    assert early.status_code == 400
    assert early.json() == {"detail": "Only a VALIDATED job can be started; this job is QUEUED."}
    sandbox.advance(30)
    assert client.post(f"/v1/fine_tuning/jobs/{job_id}/start").status_code == 200
    assert client.post(f"/v1/fine_tuning/jobs/{job_id}/start").status_code == 400


def test_duplicate_of_an_active_job_is_409(client: httpx.Client, sandbox: SandboxHandle) -> None:
    file_id = upload_ok(client, training_data())
    first = create_job(client, file_id).json()
    duplicate = create_job(client, file_id)
    assert duplicate.status_code == 409
    assert first["id"] in duplicate.json()["detail"]
    # Different hyperparameters or suffix: not a duplicate.
    assert create_job(client, file_id, suffix="v2").status_code == 200
    sandbox.advance(30)  # VALIDATED is still active
    assert create_job(client, file_id).status_code == 409
    client.post(f"/v1/fine_tuning/jobs/{first['id']}/cancel")
    sandbox.advance(5)
    assert create_job(client, file_id).status_code == 200


def test_request_validation_shapes(client: httpx.Client) -> None:
    file_id = upload_ok(client, training_data())
    extra = create_job(client, file_id, max_completion_tokens=5)
    assert extra.status_code == 422
    assert extra.json() == {
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["body", "max_completion_tokens"],
                "msg": "Extra inputs are not permitted",
                "input": 5,
            }
        ]
    }
    suffix = create_job(client, file_id, suffix="x" * 19).json()["detail"][0]
    assert (suffix["type"], suffix["loc"]) == ("string_too_long", ["body", "suffix"])
    no_files = create_job(client, file_id, training_files=[])
    assert no_files.status_code == 422
    entry = no_files.json()["detail"][0]
    assert entry["type"] == "value_error"
    assert entry["loc"] == ["body", "job_in"]
    assert entry["msg"] == "Value error, At least one training file or repository is required."
    rate = create_job(client, file_id, hyperparameters={"learning_rate": 2})
    assert rate.json()["detail"][0]["loc"] == ["body", "hyperparameters", "learning_rate"]
    bad_id = create_job(client, "nope")
    assert bad_id.json()["detail"][0]["loc"] == ["body", "training_files", 0, "file_id"]
    assert client.post("/v1/fine_tuning/jobs", content=b"{").status_code == 422


def test_model_not_available_and_unknown_files(client: httpx.Client) -> None:
    file_id = upload_ok(client, training_data())
    for model in ("mistral-embed", "gpt-4o", "ft:open-mistral-7b:abcd1234:20250101:12345678"):
        refused = create_job(client, file_id, model=model)
        assert refused.status_code == 422
        assert refused.json() == {
            "detail": "Model not available for this type of fine-tuning (completion)."
        }
    # Only ministral-3b is a classifier base model (docs/classifier.md).
    classifier = create_job(client, file_id, model="open-mistral-7b", job_type="classifier")
    assert classifier.json() == {
        "detail": "Model not available for this type of fine-tuning (classifier)."
    }
    missing = str(uuid.uuid4())
    unknown = create_job(client, missing)
    assert unknown.status_code == 404
    assert missing in unknown.json()["detail"]
    # Dated aliases are accepted.
    assert create_job(client, file_id, model="open-mistral-nemo-2407").status_code == 200


def test_unknown_and_malformed_job_ids(client: httpx.Client) -> None:
    for method, suffix in (("GET", ""), ("POST", "/start"), ("POST", "/cancel")):
        response = client.request(method, f"/v1/fine_tuning/jobs/{uuid.uuid4()}{suffix}")
        assert response.status_code == 404
        assert response.json() == {"detail": "No fine tuning job matches the given query."}
    malformed = client.get("/v1/fine_tuning/jobs/123")
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["loc"] == ["path", "job_id"]


def test_invalid_training_data_fails_validation(
    client: httpx.Client, sandbox: SandboxHandle
) -> None:
    # Batch files are not checked at upload; as training data they fail validation.
    response = upload(client, b'{"custom_id": "1"}\n' * 12, "batch.jsonl", purpose="batch")
    created = create_job(client, response.json()["id"], auto_start=True).json()
    sandbox.advance(30)
    failed = job(client, created["id"])
    assert failed["status"] == "FAILED_VALIDATION"
    assert statuses(failed) == ["QUEUED", "VALIDATING", "FAILED_VALIDATION"]
    assert "12 of 12 training lines have errors" in failed["events"][-1]["data"]["error"]
    assert failed["metadata"] is None
    sandbox.advance(10_000)
    assert job(client, created["id"])["status"] == "FAILED_VALIDATION"


def test_skip_percentage_tolerates_a_few_bad_lines(
    client: httpx.Client, sandbox: SandboxHandle
) -> None:
    records = [conversation(f"Question {n} about shipping?", f"Answer {n}.") for n in range(19)]
    content = jsonl(records) + b'{"messages": "broken"}\n'
    file_id = upload(client, content, "mixed.jsonl", purpose="batch").json()["id"]
    strict = create_job(client, file_id, auto_start=True).json()
    lenient = create_job(
        client, file_id, auto_start=True, invalid_sample_skip_percentage=0.1, suffix="skip"
    ).json()
    sandbox.advance(25)
    assert job(client, strict["id"])["status"] == "FAILED_VALIDATION"
    assert job(client, lenient["id"])["status"] == "QUEUED"


def test_epochs_derive_the_steps(client: httpx.Client, sandbox: SandboxHandle) -> None:
    file_id = upload_ok(client, training_data())
    created = create_job(client, file_id, hyperparameters={"epochs": 2000.0}).json()
    sandbox.advance(30)
    detail = job(client, created["id"])
    data_tokens = detail["metadata"]["data_tokens"]
    steps = detail["hyperparameters"]["training_steps"]
    assert steps == -(-2000 * data_tokens // 131072)
    assert detail["metadata"]["train_tokens"] == steps * 131072


def test_list_filters_pagination_and_total(start_sandbox: StartSandbox) -> None:
    handle = start_sandbox()
    with make_client(handle.url) as mine, make_client(handle.url, "someone-else") as theirs:
        file_id = upload_ok(mine, training_data())
        ids = []
        for n in range(4):
            handle.advance(100)
            ids.append(create_job(mine, file_id, suffix=f"run{n}").json()["id"])
        handle.advance(1)
        wandb = [{"type": "wandb", "project": "tuning", "name": "exp", "api_key": "k" * 40}]
        theirs_job = create_job(theirs, file_id, model="ministral-8b-latest", integrations=wandb)
        ids.append(theirs_job.json()["id"])
        handle.advance(5)

        listing = mine.get("/v1/fine_tuning/jobs", params={"page_size": 2}).json()
        assert listing["object"] == "list"
        assert listing["total"] == 5
        assert [j["id"] for j in listing["data"]] == [ids[4], ids[3]]
        assert "events" not in listing["data"][0]
        assert listing["data"][0]["integrations"] == [
            {"type": "wandb", "project": "tuning", "name": "exp", "run_name": None, "url": None}
        ]
        page2 = mine.get("/v1/fine_tuning/jobs", params={"page": 2, "page_size": 2}).json()
        assert [j["id"] for j in page2["data"]] == [ids[0]]

        def total(**params: object) -> int:
            result = mine.get("/v1/fine_tuning/jobs", params=params)  # type: ignore[arg-type]
            assert result.status_code == 200, result.text
            return int(result.json()["total"])

        assert total(model="ministral-8b-latest") == 1
        assert total(suffix="run2") == 1
        assert total(created_by_me="true") == 4
        assert total(wandb_project="tuning") == 1
        assert total(wandb_name="exp", wandb_project="other") == 0
        # At +406 the jobs created at +100..+300 are validated, the last two validating.
        assert total(status="VALIDATING") == 2
        assert total(status="VALIDATED") == 3
        assert total(status="SUCCESS") == 0
        after = datetime.fromtimestamp(START + 250, UTC).isoformat()
        assert total(created_after=after) == 3  # created at +300, +400 and +401
        assert total(created_before=after) == 2
        assert mine.get("/v1/fine_tuning/jobs", params={"status": "DONE"}).status_code == 422
        handle.advance(30)
        mine.post(f"/v1/fine_tuning/jobs/{ids[0]}/cancel")
        assert total(status="VALIDATED") == 4
        assert total(status="CANCELLATION_REQUESTED") == 1
