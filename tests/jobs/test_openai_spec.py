"""OpenAI job specs: provider = "openai", one training file, OpenAI's hyperparameter names, and
each provider's fields refused in the other's spec with a message naming them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuner.jobs.spec import SpecError, parse_spec

OPENAI = {
    "provider": "openai",
    "model": "gpt-4.1-mini-2025-04-14",
    "training_files": ["data/train.jsonl"],
}
MISTRAL = {"model": "open-mistral-7b", "training_files": ["data/train.jsonl"]}


def load(**fields: object) -> object:
    return parse_spec({**OPENAI, **fields}, base_dir=Path("/specs")).job


def test_an_openai_spec_becomes_openai_request() -> None:
    job = parse_spec(
        {
            **OPENAI,
            "suffix": "care",
            "seed": 7,
            "method": "dpo",
            "validation_files": ["data/eval.jsonl"],
            "hyperparameters": {"n_epochs": 2, "batch_size": "auto", "beta": 0.2},
        },
        base_dir=Path("/specs"),
    ).job
    train, evals = Path("/specs/data/train.jsonl"), Path("/specs/data/eval.jsonl")

    request = job.to_openai_create({train: "file-t", evals: "file-v"})

    assert job.is_openai and job.n_epochs == 2
    assert request.to_body() == {
        "model": "gpt-4.1-mini-2025-04-14",
        "training_file": "file-t",
        "validation_file": "file-v",
        "suffix": "care",
        "seed": 7,
        "method": {
            "type": "dpo",
            "dpo": {"hyperparameters": {"n_epochs": 2, "batch_size": "auto", "beta": 0.2}},
        },
    }
    with pytest.raises(SpecError, match="to_openai_create"):
        job.to_job_create({train: "file-t", evals: "file-v"})


def test_the_default_method_is_supervised_and_mistral_the_default_provider() -> None:
    job = parse_spec(OPENAI, base_dir=Path("/specs")).job
    assert job.openai_method == "supervised" and job.n_epochs is None
    request = job.to_openai_create({Path("/specs/data/train.jsonl"): "file-t"})
    assert request.to_body()["method"] == {"type": "supervised", "supervised": {}}
    assert parse_spec(MISTRAL, base_dir=Path("/specs")).job.provider == "mistral"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"training_files": ["a.jsonl", "b.jsonl"]}, "exactly one training file, not 2"),
        ({"training_files": []}, "training_files"),
        ({"training_files": [{"path": "a.jsonl", "weight": 2.0}]}, "OpenAI takes no weights"),
        ({"validation_files": ["a.jsonl", "b.jsonl"]}, "at most one validation file"),
        ({"auto_start": False}, "auto_start = false: creating an OpenAI job starts it"),
        ({"job_type": "classifier"}, "job_type/classifier_targets: a Mistral field"),
        ({"integrations": {"wandb": {"project": "p"}}}, "integrations.wandb: a Mistral field"),
        ({"invalid_sample_skip_percentage": 0.1}, "invalid_sample_skip_percentage"),
        ({"hyperparameters": {"training_steps": 10}}, "'training_steps' is not one of"),
        ({"hyperparameters": {"beta": 0.1}}, "'beta' is not one of supervised's"),
        ({"hyperparameters": {"n_epochs": 0}}, 'n_epochs must be "auto" or a positive'),
        ({"hyperparameters": {"n_epochs": 1.5}}, 'n_epochs must be "auto" or a positive'),
        ({"hyperparameters": {"n_epochs": 51}}, 'n_epochs must be "auto" or 1 to 50, not 51'),
        ({"sweep": {"n_epochs": [50, 51]}}, 'n_epochs must be "auto" or 1 to 50, not 51'),
        ({"hyperparameters": {"learning_rate_multiplier": "fast"}}, "learning_rate_multiplier"),
        ({"method": "reinforcement"}, "method"),
        ({"provider": "anthropic"}, "provider"),
    ],
)
def test_what_openai_does_not_take_is_refused_by_name(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(")):
        load(**fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"seed": 3}, 'seed: an OpenAI field; set provider = "openai"'),
        ({"method": "dpo"}, "method: an OpenAI field"),
        ({"hyperparameters": {"n_epochs": 3}}, "hyperparameters.n_epochs: an OpenAI field"),
    ],
)
def test_openai_fields_in_a_mistral_spec_are_refused(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec({**MISTRAL, **fields}, base_dir=Path("/specs"))


def test_an_openai_sweep_uses_openai_names() -> None:
    loaded = parse_spec(
        {**OPENAI, "suffix": "care", "sweep": {"n_epochs": [1, 2], "batch_size": [4, "auto"]}},
        base_dir=Path("/specs"),
    )
    members = loaded.members()
    assert [m.hyperparameters for m in members] == [
        {"n_epochs": 1, "batch_size": 4},
        {"n_epochs": 1, "batch_size": "auto"},
        {"n_epochs": 2, "batch_size": 4},
        {"n_epochs": 2, "batch_size": "auto"},
    ]
    assert [m.suffix for m in members] == ["care-1", "care-2", "care-3", "care-4"]
    with pytest.raises(SpecError, match=r"sweep\.learning_rate: not a hyperparameter"):
        parse_spec({**OPENAI, "sweep": {"learning_rate": [1e-4]}}, base_dir=Path("/s"))
    with pytest.raises(SpecError, match="sweep member 1"):
        parse_spec({**OPENAI, "sweep": {"n_epochs": [0]}}, base_dir=Path("/s"))


def test_a_file_already_on_the_server_is_used_by_id() -> None:
    job = parse_spec(
        {**OPENAI, "training_files": [{"file_id": "file-abc"}]}, base_dir=Path("/s")
    ).job
    assert job.to_openai_create({}).training_file == "file-abc"
    assert job.local_paths() == []
