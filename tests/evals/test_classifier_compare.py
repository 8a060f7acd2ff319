"""``tuner eval compare`` on two classifier runs: per target and role, each run's accuracy and
macro-F1 and the difference, on the items both runs answered; refusals of mixed or different
data; the SIMULATED mark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tuner.cli.main import app
from tuner.evals import DifferentDataError
from tuner.evals.classifier_compare import (
    NotClassifierRunError,
    compare_classifier_runs,
    load_classifier_comparison,
)
from tuner.evals.classifier_runner import ClassifierOptions
from tuner.jobs.ledger import Ledger
from tuner.jobs.records import SIMULATED
from tuner.sandbox import SandboxHandle

from .support import (
    BASE_MODEL,
    CLASSIFIER_TARGETS,
    HELD_OUT_REVIEWS,
    REVIEWS,
    TRAIN_REVIEWS,
    cli_against,
    error_response,
    fine_tune_in_sandbox,
)
from .test_classifier_runs import ITEMS, Counting, run_once

Classifier = tuple[SandboxHandle, str]
OTHER_CHAT = "ministral-3b-latest"


@pytest.fixture
def cli(classifier: Classifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return cli_against(classifier[0].url, tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def second_classifier(classifier: Classifier) -> str:
    """Another classifier in the same sandbox, trained on the held-out reviews: on the
    training reviews it does worse than the first one."""

    def job(file_id: str) -> dict[str, Any]:
        return {
            "model": "ministral-3b-latest",
            "job_type": "classifier",
            "classifier_targets": CLASSIFIER_TARGETS,
            "hyperparameters": {"training_steps": 10},
            "training_files": [{"file_id": file_id}],
            "auto_start": True,
        }

    return fine_tune_in_sandbox(
        classifier[0], "/v1", HELD_OUT_REVIEWS, job, seconds=2000, succeeded="SUCCESS"
    )


def invoke(cli: CliRunner, *args: str) -> Any:
    return cli.invoke(app, ["eval", *args], catch_exceptions=False)


def ran(cli: CliRunner, *args: str) -> dict[str, Any]:
    result = invoke(cli, "run", *args, "--quiet", "--json")
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def shown_json(cli: CliRunner, run_id: str) -> dict[str, Any]:
    result = invoke(cli, "show", run_id, "--json")
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def compared_json(cli: CliRunner, a: str, b: str) -> dict[str, Any]:
    result = invoke(cli, "compare", a, b, "--json")
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def by_role(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["role"]: result for result in report["results"]}


def test_two_classifier_runs_are_compared_on_the_items_both_answered(
    cli: CliRunner, classifier: Classifier, second_classifier: str
) -> None:
    handle, model = classifier
    data = ["--data", str(TRAIN_REVIEWS), "--model", model]
    first = ran(cli, *data, "--baseline", BASE_MODEL, "--limit", "10")
    second = ran(
        cli,
        "--data",
        str(TRAIN_REVIEWS),
        "--model",
        second_classifier,
        "--baseline",
        OTHER_CHAT,
        "--limit",
        "10",
    )
    a, b = first["run_id"], second["run_id"]
    assert a != b
    shown_a, shown_b = by_role(shown_json(cli, a)), by_role(shown_json(cli, b))

    body = compared_json(cli, a, b)
    assert body["kind"] == "classifier" and body["simulated"] is True
    assert body["a"]["run_id"] == a and body["b"]["run_id"] == b
    sandbox = {"url": handle.url, "sandbox": True}
    assert body["a"]["backend"] == body["b"]["backend"] == sandbox
    assert body["unmatched"] == []
    roles = {role["role"]: role for role in body["roles"]}
    assert set(roles) == {"classifier", "chat"}
    assert (roles["chat"]["model_a"], roles["chat"]["model_b"]) == (BASE_MODEL, OTHER_CHAT)
    assert roles["classifier"]["backend_a"] == roles["classifier"]["backend_b"] == sandbox
    differs = False
    for role, compared in roles.items():
        assert compared["items"] == 10
        mine = {t["name"]: t for t in shown_a[role]["targets"]}
        theirs = {t["name"]: t for t in shown_b[role]["targets"]}
        assert [t["name"] for t in compared["targets"]] == ["sentiment", "topics"]
        for target in compared["targets"]:
            x, y = mine[target["name"]], theirs[target["name"]]
            # Both runs answered the same 10 items: each side is what `eval show` says.
            for metric in ("accuracy", "macro_f1"):
                assert target[metric]["a"] == x[metric]
                assert target[metric]["b"] == y[metric]
                assert target[metric]["difference"] == pytest.approx(y[metric] - x[metric])
            assert set(target["label_f1"]) == set(x["per_label"])
            for label, f1 in target["label_f1"].items():
                assert (f1["a"], f1["b"]) == (
                    x["per_label"][label]["f1"],
                    y["per_label"][label]["f1"],
                )
                differs = differs or f1["difference"] != 0
    assert differs  # the two chat models do not answer alike: the test compares something

    # Run A extended to the whole file: it is compared on the 10 items both runs answered
    # still, so every figure stays the same; its own report now covers all 27 items.
    extended = ran(cli, *data, "--baseline", BASE_MODEL)
    assert extended["run_id"] == a and extended["items"] == ITEMS
    assert compared_json(cli, a, b)["roles"] == body["roles"]
    assert by_role(shown_json(cli, a))["chat"] != shown_a["chat"]

    text = invoke(cli, "compare", a, b)
    assert text.exit_code == 0, text.output
    assert text.stdout.lstrip().startswith(SIMULATED)
    assert "on 10 item(s) both answered" in text.stdout
    for expected in (
        a,
        b,
        model,
        second_classifier,
        BASE_MODEL,
        OTHER_CHAT,
        "accuracy",
        "macro-F1",
        "F1 positive",
    ):
        assert expected in text.stdout
    sentiment = roles["classifier"]["targets"][0]
    assert sentiment["accuracy"]["difference"] < 0
    for metric in ("accuracy", "macro_f1"):
        figures = sentiment[metric]
        assert f"{figures['a']:.1%}" in text.stdout and f"{figures['b']:.1%}" in text.stdout
        assert f"{figures['difference'] * 100:+.1f} pt" in text.stdout


def test_only_one_run_has_a_chat_model(cli: CliRunner, classifier: Classifier) -> None:
    model = classifier[1]
    a = ran(cli, "--data", str(TRAIN_REVIEWS), "--model", model, "--baseline", BASE_MODEL)
    b = ran(cli, "--data", str(TRAIN_REVIEWS), "--model", model, "--limit", "5")
    body = compared_json(cli, a["run_id"], b["run_id"])
    (role,) = body["roles"]
    assert (role["role"], role["items"]) == ("classifier", 5)
    assert body["unmatched"] == [f"chat model {BASE_MODEL} is only in run {a['run_id']}"]
    # The same classifier on the same items: no difference.
    assert all(t["accuracy"]["difference"] == 0 for t in role["targets"])
    text = invoke(cli, "compare", a["run_id"], b["run_id"])
    assert "not compared: chat model" in text.stdout


def test_mixed_or_different_runs_are_refused_in_one_line(
    cli: CliRunner, classifier: Classifier
) -> None:
    model = classifier[1]
    train = ran(cli, "--data", str(TRAIN_REVIEWS), "--model", model)["run_id"]
    held_out = ran(cli, "--data", str(HELD_OUT_REVIEWS), "--model", model)["run_id"]
    chat_data = REVIEWS / "support.eval.jsonl"
    chat = ran(cli, "--data", str(chat_data), "-m", BASE_MODEL, "--limit", "3")["run_id"]

    for a, b in ((train, chat), (chat, train)):
        refused = invoke(cli, "compare", a, b)
        assert refused.exit_code == 2, refused.output
        first, hint = refused.stderr.strip().splitlines()
        assert f"run {train} is a classifier evaluation" in first
        assert hint.startswith("hint:") and "two classifier runs" in hint
        assert refused.stdout == ""

    different = invoke(cli, "compare", train, held_out, "--json")
    assert different.exit_code == 2, different.output
    # One message (rich folds it at the console's width), as the chat compare says it.
    assert different.stderr.startswith("error: ") and different.stderr.count("error:") == 1
    assert "evaluated different data" in different.stderr and different.stdout == ""


def test_untrusted_names_are_shown_inert(
    cli: CliRunner, classifier: Classifier, tmp_path: Path
) -> None:
    # A target and a label carrying escape sequences: asked of the chat model (the classifier
    # does not know the target), shown in the comparison without their control characters.
    evil = tmp_path / "evil.jsonl"
    lines = TRAIN_REVIEWS.read_text(encoding="utf-8").splitlines()[:6]
    with evil.open("w", encoding="utf-8") as out:
        for number, line in enumerate(lines):
            row = json.loads(line)
            row["labels"]["\x1b[2Jmood"] = "\x1b]0;owned\x07calm" if number % 2 else "[red]x"
            out.write(json.dumps(row) + "\n")
    model = classifier[1]
    a = ran(cli, "--data", str(evil), "--model", model, "--baseline", BASE_MODEL)["run_id"]
    b = ran(cli, "--data", str(evil), "--model", model, "--baseline", OTHER_CHAT)["run_id"]
    text = invoke(cli, "compare", a, b)
    assert text.exit_code == 0, text.output
    assert "\x1b" not in text.stdout and "\x07" not in text.stdout
    assert "mood" in text.stdout and "[red]x" in text.stdout


@pytest.mark.anyio
async def test_failed_items_are_left_out_and_a_real_pair_is_not_simulated(
    classifier: Classifier, ledger: Ledger
) -> None:
    handle, model = classifier
    texts = [json.loads(line)["text"] for line in TRAIN_REVIEWS.read_text().splitlines()]

    def fail_some(path: str, body: dict[str, Any]) -> httpx.Response | None:
        # The chat model fails on the first three texts: those items are not compared.
        if path == "/v1/chat/completions" and body["messages"][1]["content"] in texts[:3]:
            return error_response(500, "boom")
        return None

    options = ClassifierOptions(classifier=model, chat_model=BASE_MODEL, retry_failed=False)
    failing = await run_once(handle.url, ledger, options, Counting(fail_some, real_looking=True))
    whole = await run_once(
        handle.url,
        ledger,
        ClassifierOptions(classifier=model, chat_model=OTHER_CHAT),
        Counting(real_looking=True),
    )
    run_a, run_b = ledger.get_eval_run(failing), ledger.get_eval_run(whole)
    assert run_a is not None and run_b is not None
    comparison = load_classifier_comparison(ledger, run_a, run_b)
    assert [(r.role, r.items) for r in comparison.roles] == [
        ("classifier", ITEMS),
        ("chat", ITEMS - 3),
    ]
    assert comparison.simulated_note is None  # neither run came from a sandbox
    assert comparison.to_dict()["simulated"] is False

    sandboxed = await run_once(handle.url, ledger, ClassifierOptions(classifier=model), Counting())
    run_c = ledger.get_eval_run(sandboxed)
    assert run_c is not None
    mixed = load_classifier_comparison(ledger, run_a, run_c)
    assert mixed.simulated_note is not None and mixed.simulated_note.startswith(SIMULATED)
    assert handle.url in mixed.simulated_note

    records = ledger.eval_items(failing)
    with pytest.raises(NotClassifierRunError):
        compare_classifier_runs(
            run_a.model_copy(update={"params": {}}), records, run_b, ledger.eval_items(whole)
        )
    with pytest.raises(DifferentDataError):
        compare_classifier_runs(
            run_a, records, run_b.model_copy(update={"data_hash": "0" * 64}), []
        )
