"""Classifier fine-tuning in the sandbox, proven with the official SDK (mistralai 2.5.1), which
parses every answer with its own models: upload, a classifier job to SUCCESS, the model card,
classifications of text and of chats; and the sandbox's refusals."""

from __future__ import annotations

import math
from collections.abc import Iterator

import httpx
import pytest
from mistralai.client import Mistral
from mistralai.client import models as m
from mistralai.client.errors import SDKError

from tuner.sandbox import SandboxHandle

from .support import (
    API_KEY,
    CLASSIFIER_TARGETS,
    SENTIMENT_LABELS,
    SENTIMENTS,
    TOPIC_LABELS,
    classifier_data,
    create_job,
    job,
    training_data,
    upload_ok,
)


@pytest.fixture
def sdk(sandbox: SandboxHandle) -> Iterator[Mistral]:
    with Mistral(api_key=API_KEY, server_url=sandbox.url) as client:
        yield client


def _trained_classifier(sdk: Mistral, sandbox: SandboxHandle, *, chat: bool = False) -> str:
    content = classifier_data(chat=chat)
    uploaded = sdk.files.upload(
        file={"file_name": "reviews.jsonl", "content": content}, purpose="fine-tune"
    )
    assert uploaded.num_lines == len(SENTIMENTS)
    created = sdk.fine_tuning.jobs.create(
        model="ministral-3b-latest",
        job_type="classifier",
        training_files=[{"file_id": uploaded.id}],
        hyperparameters={"training_steps": 10, "learning_rate": 1e-4},
        classifier_targets=CLASSIFIER_TARGETS,
        auto_start=True,
    )
    assert isinstance(created, m.ClassifierFineTuningJob)
    assert created.job_type == "classifier"
    sandbox.advance(2000)
    done = sdk.fine_tuning.jobs.get(job_id=created.id)
    assert isinstance(done, m.ClassifierFineTuningJobDetails)
    assert done.status == "SUCCESS", done.events
    assert [(t.name, t.labels, t.weight, t.loss_function) for t in done.classifier_targets] == [
        ("sentiment", SENTIMENT_LABELS, 1.0, "single_class"),
        ("topics", TOPIC_LABELS, 0.5, "multi_class"),
    ]
    assert done.metadata is not None and done.metadata.train_tokens_per_step == 65536
    assert isinstance(done.fine_tuned_model, str)
    return done.fine_tuned_model


def test_classifier_flow_with_the_official_sdk(sdk: Mistral, sandbox: SandboxHandle) -> None:
    model_id = _trained_classifier(sdk, sandbox)
    assert model_id.startswith("ft:classifier:ministral-3b-latest:")

    card = sdk.models.retrieve(model_id=model_id)
    assert isinstance(card, m.FTModelCard)
    assert card.capabilities.classification is True
    assert card.capabilities.completion_chat is False
    updated = sdk.models.update(model_id=model_id, name="Reviews")
    assert isinstance(updated, m.ClassifierFineTunedModel)
    assert updated.model_type == "classifier"
    assert [t.name for t in updated.classifier_targets] == ["sentiment", "topics"]

    base = sdk.models.retrieve(model_id="ministral-3b-latest")
    assert base.capabilities.classification is True
    assert sdk.models.retrieve(model_id="open-mistral-7b").capabilities.classification is False

    texts = [text for text, _, _ in SENTIMENTS]
    answer = sdk.classifiers.classify(model=model_id, inputs=texts)
    assert isinstance(answer, m.ClassificationResponse)
    assert answer.model == model_id
    assert len(answer.results) == len(texts)
    for result, (_, sentiment, topics) in zip(answer.results, SENTIMENTS, strict=True):
        scores = result["sentiment"].scores
        assert set(scores) == set(SENTIMENT_LABELS)
        assert math.isclose(sum(scores.values()), 1.0)
        # A training example gets its own label back.
        assert max(scores, key=lambda label: scores[label]) == sentiment
        multi = result["topics"].scores
        assert set(multi) == set(TOPIC_LABELS)
        assert all(0.0 <= p <= 1.0 for p in multi.values())
        assert {label for label, p in multi.items() if p > 0.5} == set(topics)

    again = sdk.classifiers.classify(model=model_id, inputs=texts[0])
    assert again.results[0]["sentiment"].scores == answer.results[0]["sentiment"].scores

    chat = sdk.classifiers.classify_chat(
        model=model_id, input={"messages": [{"role": "user", "content": texts[4]}]}
    )
    assert len(chat.results) == 1
    scores = chat.results[0]["sentiment"].scores
    assert max(scores, key=lambda label: scores[label]) == "negative"


def test_a_chat_classifier_trains_from_messages(sdk: Mistral, sandbox: SandboxHandle) -> None:
    model_id = _trained_classifier(sdk, sandbox, chat=True)
    answer = sdk.classifiers.classify_chat(
        model=model_id,
        input=[{"messages": [{"role": "user", "content": SENTIMENTS[0][0]}]}],
    )
    assert set(answer.results[0]) == {"sentiment", "topics"}


def test_scores_are_marked_only_by_the_header(
    sdk: Mistral, sandbox: SandboxHandle, client: httpx.Client
) -> None:
    model_id = _trained_classifier(sdk, sandbox)
    answer = client.post("/v1/classifications", json={"model": model_id, "input": ["hello"]})
    assert answer.status_code == 200
    assert answer.headers["x-tuner-sandbox"] == "1"
    assert set(answer.json()) == {"id", "model", "results"}
    assert set(answer.json()["results"][0]) == {"sentiment", "topics"}


def test_only_a_fine_tuned_classifier_classifies(sdk: Mistral, sandbox: SandboxHandle) -> None:
    model_id = _trained_classifier(sdk, sandbox)
    for model in ("ministral-3b-latest", "ft:nothing:here"):
        with pytest.raises(SDKError) as refused:
            sdk.classifiers.classify(model=model, inputs="hello")
        assert refused.value.status_code == 400
    with pytest.raises(SDKError) as no_chat:
        sdk.chat.complete(model=model_id, messages=[{"role": "user", "content": "hi"}])
    assert no_chat.value.status_code == 400


def test_classifier_jobs_are_checked(client: httpx.Client, sandbox: SandboxHandle) -> None:
    classifier_file = upload_ok(client, classifier_data(), "reviews.jsonl")
    instruct_file = upload_ok(client, training_data(), "chat.jsonl")
    # No targets, a model that cannot be a classifier, targets on a completion job.
    assert (
        create_job(
            client, classifier_file, model="ministral-3b-latest", job_type="classifier"
        ).status_code
        == 422
    )
    assert (
        create_job(
            client,
            classifier_file,
            model="open-mistral-7b",
            job_type="classifier",
            classifier_targets=CLASSIFIER_TARGETS,
        ).status_code
        == 422
    )
    assert (
        create_job(
            client,
            instruct_file,
            model="ministral-3b-latest",
            classifier_targets=CLASSIFIER_TARGETS,
        ).status_code
        == 422
    )

    def outcome(file_id: str, **fields: object) -> dict[str, object]:
        created = create_job(client, file_id, model="ministral-3b-latest", **fields)
        assert created.status_code == 200, created.text
        sandbox.advance(30)
        return job(client, created.json()["id"])

    narrow = [{"name": "sentiment", "labels": ["positive", "negative"]}, CLASSIFIER_TARGETS[1]]
    failed = outcome(classifier_file, job_type="classifier", classifier_targets=narrow)
    assert failed["status"] == "FAILED_VALIDATION"
    assert "neutral" in str(failed["events"])
    missing = outcome(
        classifier_file, job_type="classifier", classifier_targets=CLASSIFIER_TARGETS[:1]
    )
    assert missing["status"] == "FAILED_VALIDATION"
    assert "topics" in str(missing["events"])
    completion = outcome(classifier_file, hyperparameters={"training_steps": 3})
    assert completion["status"] == "FAILED_VALIDATION"
    assert "job_type 'classifier'" in str(completion["events"])
    chat_data = outcome(
        instruct_file,
        job_type="classifier",
        classifier_targets=CLASSIFIER_TARGETS,
        hyperparameters={"training_steps": 4},
    )
    assert chat_data["status"] == "FAILED_VALIDATION"
