"""Classifier data: detection, the per-line and across-file rules, label statistics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tuner.datasets.classifier import file_findings, label_stats
from tuner.datasets.rules import check_record
from tuner.datasets.samples import ClassifierSample
from tuner.datasets.validate import ValidateOptions, validate_paths


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def codes(path: Path, **options: Any) -> list[tuple[int | None, str]]:
    report = validate_paths([path], options=ValidateOptions(workers=1, **options))
    return [(f.line, f.code) for f in report.iter_findings()]


def row(text: str, **labels: Any) -> dict[str, Any]:
    return {"text": text, "labels": labels}


BALANCED = [row(f"text {i}", sentiment=("pos" if i % 2 else "neg")) for i in range(12)]


def test_a_labels_line_is_classifier_data_with_its_labels() -> None:
    line = b'{"messages": [{"role": "user", "content": "hi"}], "labels": {"t": ["a", "b"]}}'
    check = check_record(line, path="x", line=1, expect=None)
    assert check.kind == "classifier"
    assert check.findings == []
    assert isinstance(check.sample, ClassifierSample)
    assert check.sample.labels == (("t", ("a", "b")),)
    assert check.sample.multi == frozenset({"t"})
    assert check.sample.text == "hi"


def test_a_balanced_file_is_valid_classifier_data(tmp_path: Path) -> None:
    path = write(tmp_path / "c.jsonl", BALANCED)
    report = validate_paths([path], options=ValidateOptions(workers=1))
    assert report.ok
    assert report.files[0].format == "classifier"
    assert report.files[0].conversations == 12


def test_a_line_without_labels_in_a_classifier_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.jsonl", [*BALANCED, {"text": "no labels"}])
    assert (13, "missing_labels") in codes(path)


def test_forced_format_reports_missing_labels_on_every_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.jsonl", [{"text": "a"}, {"text": "b"}])
    found = codes(path, fmt="classifier")
    assert (1, "missing_labels") in found
    assert (2, "missing_labels") in found


def test_a_target_whose_kind_changes(tmp_path: Path) -> None:
    rows = [*BALANCED, row("x", sentiment=["pos"])]
    assert (13, "target_kind_changed") in codes(write(tmp_path / "c.jsonl", rows))


def test_a_label_outside_the_given_set(tmp_path: Path) -> None:
    rows = [*BALANCED, row("x", sentiment="meh")]
    path = write(tmp_path / "c.jsonl", rows)
    assert (13, "label_not_in_set") in codes(path, label_sets={"sentiment": ["pos", "neg"]})
    # Without a set, any label goes.
    assert not [c for c in codes(path) if c[1] == "label_not_in_set"]


def test_rare_labels_and_imbalance_are_warnings(tmp_path: Path) -> None:
    rows = [row(f"t{i}", s="common") for i in range(30)] + [
        row("r1", s="rare"),
        row("r2", s="rare"),
    ]
    path = write(tmp_path / "c.jsonl", rows)
    found = {f.code: f for f in file_findings(str(path))}
    assert found["rare_label"].severity.value == "warning"
    assert '"rare" (2)' in found["rare_label"].message
    assert "30 examples" in found["class_imbalance"].message
    report = validate_paths([path], options=ValidateOptions(workers=1))
    assert report.ok  # warnings only


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ({"text": "a", "labels": {}}, "labels_not_object"),
        ({"text": "a", "labels": {"t": ["a", 1]}}, "invalid_label"),
        ({"text": "a", "labels": {"t": ""}}, "invalid_label"),
        ({"text": "a", "messages": [], "labels": {"t": "a"}}, "missing_input"),
        ({"messages": [{"role": "user"}], "labels": {"t": "a"}}, "empty_input"),
        ({"messages": [{"role": "user", "content": ""}], "labels": {"t": "a"}}, "empty_input"),
    ],
)
def test_line_errors(line: dict[str, Any], code: str) -> None:
    check = check_record(json.dumps(line).encode(), path="x", line=1, expect=None)
    assert check.sample is None
    assert code in [f.code for f in check.findings if f.is_error]


def test_label_stats_per_target(tmp_path: Path) -> None:
    rows = [row("a", s="x", t=["p", "q"]), row("b", s="y", t=["p"]), row("c", s="x", t=[])]
    stats = label_stats(write(tmp_path / "c.jsonl", rows))
    assert stats["s"].to_dict() == {
        "name": "s",
        "loss_function": "single_class",
        "examples": 3,
        "labels": {"x": 2, "y": 1},
    }
    assert stats["t"].multi
    assert dict(stats["t"].counts) == {"p": 2, "q": 1}


def test_split_is_stratified_by_label(tmp_path: Path) -> None:
    from collections import Counter

    from tuner.datasets.split import split_file

    rows = [row(f"common text {i}", s="common") for i in range(40)]
    rows += [row(f"rare text {i}", s="rare") for i in range(10)]
    path = write(tmp_path / "c.jsonl", rows)
    for seed in range(5):
        result = split_file(path, eval_fraction=0.2, out_dir=tmp_path / f"out{seed}", seed=seed)
        assert (result.train_lines, result.eval_lines) == (40, 10)
        held = Counter(
            json.loads(line)["labels"]["s"]
            for line in Path(result.eval_path).read_text().splitlines()
        )
        # 20 % of each label, whatever the seed.
        assert held == {"common": 8, "rare": 2}


def test_convert_classifier_from_csv_and_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tuner.datasets.classifier_convert import LabelColumn, convert_classifier

    csv = tmp_path / "reviews.csv"
    csv.write_text(
        "review,sentiment,topics,stars\n"
        "Great lamp,positive,quality|app,5\n"
        ",neutral,,3\n"
        "Average,,,3\n"
        "Broke fast,negative,,1\n",
        encoding="utf-8",
    )
    table = pa.table({"review": ["Nice"], "sentiment": [1], "topics": [["app", "delivery"]]})
    parquet = tmp_path / "more.parquet"
    pq.write_table(table, parquet)
    out = tmp_path / "out.jsonl"
    labels = [LabelColumn.parse("sentiment=sentiment"), LabelColumn.parse("topics=topics[]")]
    result = convert_classifier([csv, parquet], out, text_column="review", labels=labels)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {"text": "Great lamp", "labels": {"sentiment": "positive", "topics": ["quality", "app"]}},
        {"text": "Broke fast", "labels": {"sentiment": "negative", "topics": []}},
        {"text": "Nice", "labels": {"sentiment": "1", "topics": ["app", "delivery"]}},
    ]
    assert (result.read, result.converted) == (5, 3)
    assert [s.reason for s in result.skipped] == [
        "no text in column 'review'",
        "no label in column 'sentiment' (target 'sentiment')",
    ]
    assert result.unused_columns == {"stars"}


def test_convert_cli_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tuner.cli.main import app

    source = tmp_path / "in.csv"
    source.write_text("t,s\nhello,a\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    out.write_text("keep me\n", encoding="utf-8")
    args = ["data", "convert", str(source), "--out", str(out), "--text", "t", "--label", "s=s"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2
    assert out.read_text(encoding="utf-8") == "keep me\n"
    forced = CliRunner().invoke(app, [*args, "--force", "--json"])
    assert json.loads(forced.stdout)["converted"] == 1
    assert json.loads(out.read_text(encoding="utf-8")) == {"text": "hello", "labels": {"s": "a"}}
