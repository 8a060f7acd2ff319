"""Job specs: parsing, clear errors, sweeps and their derived suffixes, the API request."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from tuner.api.params import SUFFIX_MAX_LENGTH
from tuner.jobs.spec import (
    MAX_SWEEP_MEMBERS,
    SpecError,
    derive_suffix,
    load_spec,
    parse_spec,
)

REPO = Path(__file__).resolve().parents[2]
BASE = {"model": "open-mistral-7b", "training_files": ["data/train.jsonl"]}


def spec(**fields: object) -> dict[str, object]:
    return {**BASE, **fields}


def test_the_issue_example_parses(tmp_path: Path) -> None:
    path = tmp_path / "job.toml"
    path.write_text(
        """
model = "open-mistral-7b"
suffix = "support-v1"
auto_start = true
training_files = [{ path = "data/train.jsonl", weight = 1.0 }, { file_id = "f-123" }]
validation_files = ["data/eval.jsonl"]
[hyperparameters]
training_steps = 100
learning_rate = 1e-4
[integrations.wandb]
project = "support-bot"
""",
        encoding="utf-8",
    )

    loaded = load_spec(path)

    job = loaded.job
    assert not loaded.is_sweep and loaded.members() == [job]
    assert job.training_paths() == [tmp_path / "data" / "train.jsonl"]
    assert job.validation_paths() == [tmp_path / "data" / "eval.jsonl"]
    assert [ref.file_id for ref in job.training_files] == [None, "f-123"]
    assert job.training_steps == 100 and job.epochs is None
    assert job.integrations.wandb is not None and job.integrations.wandb.project == "support-bot"


def test_the_request_uses_file_ids_and_never_auto_starts(tmp_path: Path) -> None:
    loaded = parse_spec(
        spec(
            training_files=[{"path": "a.jsonl", "weight": 2.0}, {"file_id": "f-b"}],
            validation_files=["v.jsonl"],
            suffix="s1",
            hyperparameters={"epochs": 3},
            integrations={"wandb": {"project": "p", "run_name": "r"}},
        ),
        base_dir=tmp_path,
    )
    ids = {tmp_path / "a.jsonl": "f-a", tmp_path / "v.jsonl": "f-v"}
    key = SecretStr("w" * 40)

    body = loaded.job.to_job_create(ids, wandb_key=key).to_body()

    assert body == {
        "model": "open-mistral-7b",
        "hyperparameters": {"epochs": 3.0},
        "training_files": [{"file_id": "f-a", "weight": 2.0}, {"file_id": "f-b"}],
        "validation_files": ["f-v"],
        "suffix": "s1",
        "integrations": [{"type": "wandb", "project": "p", "run_name": "r", "api_key": "w" * 40}],
        "auto_start": False,
    }
    with pytest.raises(SpecError, match="WANDB_API_KEY"):
        loaded.job.to_job_create(ids)
    with pytest.raises(SpecError, match="has not been uploaded"):
        loaded.job.to_job_create({}, wandb_key=key)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"training_files": []}, "training_files: List should have at least 1 item"),
        ({"suffix": "x" * 19}, "suffix: at most 18 characters"),
        ({"suffix": "v1\u001b[2J"}, "suffix: holds '.x1b'"),
        ({"suffix": "v1\u009b"}, "suffix: holds '.x9b'"),
        ({"suffix": "a b"}, "suffix: holds ' '"),
        ({"suffix": "a:b"}, "suffix: holds ':'"),
        ({"hyperparameters": {"learning_rate": 5}}, "hyperparameters.learning_rate: Input should"),
        ({"hyperparameters": {"training_steps": 0}}, "hyperparameters.training_steps"),
        ({"hyperparameters": {"training_steps": 5, "epochs": 2}}, "not both"),
        ({"hyperparameters": {"lr": 1e-4}}, "hyperparameters.lr: Extra inputs"),
        ({"training_files": [{"path": "a", "file_id": "b"}]}, "give either path or file_id"),
        ({"validation_files": [{"path": "v", "weight": 1}]}, "validation files take no weight"),
        ({"integrations": {"wandb": {"project": ""}}}, "integrations.wandb.project"),
        ({"integrations": {"wandb": {"project": "p", "api_key": "k"}}}, "api_key: Extra"),
        ({"modle": "typo"}, "modle: Extra inputs are not permitted"),
        ({"sweep": {"lr": [1]}}, "sweep.lr: not a hyperparameter"),
        ({"sweep": {"learning_rate": []}}, "non-empty list"),
        ({"sweep": {"learning_rate": [1e-4, 1e-4]}}, "values repeat"),
        ({"sweep": {"learning_rate": [1e-4, 2.0]}}, "sweep member 2"),
        ({"sweep": "no"}, "must be a table"),
    ],
)
def test_problems_are_named_by_field(fields: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message) as caught:
        parse_spec(spec(**fields), base_dir=Path("/spec"), source="job.toml")
    assert str(caught.value).startswith("job.toml: ")


def test_an_unreadable_spec_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such job spec"):
        load_spec(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("model = ", encoding="utf-8")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(bad)


def test_a_sweep_makes_one_job_per_combination_in_written_order() -> None:
    loaded = parse_spec(
        spec(
            suffix="support-v1",
            hyperparameters={"training_steps": 100, "learning_rate": 1e-4, "weight_decay": 0.1},
            sweep={"learning_rate": [1e-4, 5e-5], "training_steps": [100, 200]},
        ),
        base_dir=Path("/spec"),
    )

    members = loaded.members()

    assert [m.suffix for m in members] == [f"support-v1-{i}" for i in range(1, 5)]
    assert [(m.hyperparameters["learning_rate"], m.training_steps) for m in members] == [
        (1e-4, 100),
        (1e-4, 200),
        (5e-5, 100),
        (5e-5, 200),
    ]
    assert all(m.hyperparameters["weight_decay"] == 0.1 for m in members)
    assert members[3].sweep_values == {"learning_rate": 5e-5, "training_steps": 200}
    assert [m.member_index for m in members] == [0, 1, 2, 3]


def test_sweeping_epochs_replaces_the_base_steps() -> None:
    loaded = parse_spec(
        spec(hyperparameters={"training_steps": 100}, sweep={"epochs": [1, 2]}),
        base_dir=Path("/spec"),
    )
    assert [(m.training_steps, m.epochs) for m in loaded.members()] == [(None, 1.0), (None, 2.0)]


def test_a_huge_grid_is_refused() -> None:
    grid = {"learning_rate": [i * 1e-6 for i in range(1, 18)], "training_steps": list(range(1, 18))}
    assert MAX_SWEEP_MEMBERS < 17 * 17
    with pytest.raises(SpecError, match="makes 289 jobs"):
        parse_spec(spec(sweep=grid), base_dir=Path("/spec"))


def test_derived_suffixes_keep_the_number_and_fit() -> None:
    assert derive_suffix("support-v1", 0, 4) == "support-v1-1"
    assert derive_suffix("support-v1", 29, 30) == "support-v1-30"
    assert derive_suffix(None, 4, 120) == "sweep-005"
    long = derive_suffix("a-very-long-suffix", 99, 100)
    assert long == "a-very-long-su-100" and len(long) == SUFFIX_MAX_LENGTH
    assert derive_suffix("abcdefghijklmn----", 0, 10) == "abcdefghijklmn-01"
    with pytest.raises(ValueError, match="outside"):
        derive_suffix("x", 3, 3)


@given(
    base=st.one_of(st.none(), st.text(min_size=1, max_size=SUFFIX_MAX_LENGTH)),
    count=st.integers(min_value=1, max_value=MAX_SWEEP_MEMBERS),
)
def test_derived_suffixes_are_unique_and_at_most_18(base: str | None, count: int) -> None:
    suffixes = [derive_suffix(base, index, count) for index in range(count)]
    assert len(set(suffixes)) == count
    assert all(len(s) <= SUFFIX_MAX_LENGTH for s in suffixes)


@pytest.mark.parametrize("name", ["support.toml", "sweep.toml"])
def test_the_example_specs_load(name: str) -> None:
    loaded = load_spec(REPO / "examples" / "jobs" / name)
    for member in loaded.members():
        assert all(path.is_file() for path in member.training_paths())
