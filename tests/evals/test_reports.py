"""Reports from ledger records: aggregates, the better model, differences, two runs, HTML."""

from __future__ import annotations

import html.parser
import json
from pathlib import Path
from typing import Any

import pytest

from tuner.evals import (
    DifferentDataError,
    RunNotFoundError,
    build_report,
    compare_runs,
    find_run,
    load_eval_set,
    load_report,
    render_html,
)
from tuner.evals.dataset import file_sha256
from tuner.evals.html import histogram
from tuner.jobs.ledger import Ledger

CANDIDATE, BASELINE = "ft:open-mistral-7b:abcd1234:20250101:deadbeef", "open-mistral-7b"
NOW = 1_760_000_000


def write_eval(tmp_path: Path, name: str = "eval.jsonl", extra: str = "") -> Path:
    records = [
        {
            "messages": [
                {"role": "user", "content": f"Question {n}{extra} <b>bold?</b> & more"},
                {"role": "assistant", "content": f"Answer number {n} über alles"},
            ]
        }
        for n in range(4)
    ]
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def record(
    ledger: Ledger,
    run_id: str,
    index: int,
    model: str,
    f1: float | None,
    verdict: dict[str, Any] | None = None,
    **metrics: float,
) -> None:
    if f1 is None:
        ledger.record_eval_item(
            run_id, index, model, prompt_hash="0" * 64, now=NOW, error="503 overloaded"
        )
        return
    ledger.record_eval_item(
        run_id,
        index,
        model,
        prompt_hash="0" * 64,
        now=NOW,
        response_text=f"<script>alert({index})</script> answer by {model}",
        latency_s=0.5 + index,
        prompt_tokens=10,
        completion_tokens=5,
        scores={
            "metrics": {"token_f1": f1, "rouge_l": f1 / 2, "exact_match": 0.0, **metrics},
            "tool_calls": [],
        },
        judge_verdict=verdict,
    )


def verdict(outcome: str, winner_model: str) -> dict[str, Any]:
    return {
        "status": "ok",
        "outcome": outcome,
        "winner": "A",
        "winner_model": winner_model,
        "order": [CANDIDATE, BASELINE],
        "reason": "closer to the reference",
    }


def make_run(ledger: Ledger, path: Path, run_id: str = "evtest0001", judge: bool = True) -> None:
    ledger.create_eval_run(
        run_id=run_id,
        data_path=path,
        data_hash=file_sha256(path),
        models=[CANDIDATE, BASELINE],
        judge="mistral-small-latest" if judge else None,
        now=NOW,
        status="completed",
    )
    record(ledger, run_id, 0, CANDIDATE, 0.9, verdict("win", CANDIDATE))
    record(ledger, run_id, 0, BASELINE, 0.1)
    record(ledger, run_id, 1, CANDIDATE, 0.5, verdict("tie", "tie"), tool_call=1.0)
    record(ledger, run_id, 1, BASELINE, 0.5, tool_call=0.0)
    record(ledger, run_id, 2, CANDIDATE, 0.2, {"status": "unparsed", "raw": "hmm"})
    record(ledger, run_id, 2, BASELINE, 0.6)
    record(ledger, run_id, 3, CANDIDATE, 0.4)
    record(ledger, run_id, 3, BASELINE, None)


def test_aggregates_and_judge(ledger: Ledger, tmp_path: Path) -> None:
    path = write_eval(tmp_path)
    make_run(ledger, path)
    run = find_run(ledger, "evtest")
    report = build_report(run, ledger.eval_items(run.run_id), load_eval_set(path))
    candidate, baseline = report.models[CANDIDATE], report.models[BASELINE]
    assert candidate.token_f1 == pytest.approx((0.9 + 0.5 + 0.2 + 0.4) / 4)
    assert baseline.token_f1 == pytest.approx((0.1 + 0.5 + 0.6) / 3)  # the failure is not scored
    assert (baseline.answered, baseline.failed) == (3, 1)
    assert candidate.tool_call_accuracy == 1.0
    assert candidate.tool_call_items == 1
    assert candidate.mean_latency_s == pytest.approx((0.5 + 1.5 + 2.5 + 3.5) / 4)
    assert candidate.p95_latency_s == pytest.approx(3.5)
    assert candidate.prompt_tokens == 40
    assert candidate.cost_usd is None
    assert report.better("token_f1") == CANDIDATE
    assert report.better("failed") == CANDIDATE
    assert report.better("exact_match") is None  # a tie marks neither
    assert report.judge is not None
    assert (report.judge.wins, report.judge.ties, report.judge.losses) == (1, 1, 0)
    assert report.judge.unparsed == 1
    assert report.judge.win_rate == pytest.approx(0.75)

    summary = report.as_json()
    assert summary["run_id"] == "evtest0001"
    assert summary["models"][CANDIDATE]["tool_call_accuracy"] == 1.0
    assert summary["models"][BASELINE]["failed"] == 1
    assert summary["judge"]["wins"] == 1
    assert summary["judge"]["ci95"] is not None
    json.dumps(summary)

    # Biggest differences first, both signs; items with equal scores left out.
    assert [(row.index, round(d, 2)) for row, d in report.differences()] == [(0, 0.8), (2, -0.4)]


def test_tool_call_accuracy_is_left_out_where_undefined(ledger: Ledger, tmp_path: Path) -> None:
    path = write_eval(tmp_path)
    ledger.create_eval_run(
        run_id="evnotools", data_path=path, data_hash=file_sha256(path), models=["m"], now=NOW
    )
    record(ledger, "evnotools", 0, "m", 0.3)
    run = find_run(ledger, "evnotools")
    summary = build_report(run, ledger.eval_items("evnotools")).as_json()
    assert "tool_call_accuracy" not in summary["models"]["m"]
    assert "judge" not in summary
    assert summary["baseline"] is None


def test_find_run_by_prefix(ledger: Ledger, tmp_path: Path) -> None:
    path = write_eval(tmp_path)
    make_run(ledger, path, "evaaa111")
    make_run(ledger, path, "evaaa222")
    assert find_run(ledger, "evaaa1").run_id == "evaaa111"
    with pytest.raises(RunNotFoundError, match="several"):
        find_run(ledger, "evaaa")
    with pytest.raises(RunNotFoundError, match="no evaluation run"):
        find_run(ledger, "nope")


def test_compare_runs_pairs_items(ledger: Ledger, tmp_path: Path) -> None:
    path = write_eval(tmp_path)
    make_run(ledger, path, "evfirst")
    ledger.create_eval_run(
        run_id="evsecond", data_path=path, data_hash=file_sha256(path), models=[BASELINE], now=NOW
    )
    for index, f1 in enumerate([0.1, 0.5, 0.6, 0.4]):
        record(ledger, "evsecond", index, BASELINE, f1)
    first = build_report(find_run(ledger, "evfirst"), ledger.eval_items("evfirst"))
    second = build_report(find_run(ledger, "evsecond"), ledger.eval_items("evsecond"))
    comparison = compare_runs(first, second)
    paired = comparison.paired[0]
    assert paired.metric == "token_f1"
    assert paired.items == 4
    # B − A per item: 0.1−0.9, 0.5−0.5, 0.6−0.2, 0.4−0.4.
    assert paired.mean_difference == pytest.approx((-0.8 + 0 + 0.4 + 0) / 4)
    assert (paired.better, paired.worse, paired.same) == (1, 1, 2)
    assert comparison.as_json()["candidate_b"] == BASELINE

    other = write_eval(tmp_path, "other.jsonl", extra="!")
    ledger.create_eval_run(
        run_id="evother", data_path=other, data_hash=file_sha256(other), models=["m"], now=NOW
    )
    elsewhere = build_report(find_run(ledger, "evother"), [])
    with pytest.raises(DifferentDataError, match="different data"):
        compare_runs(first, elsewhere)


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_is_self_contained_and_escaped(ledger: Ledger, tmp_path: Path) -> None:
    path = write_eval(tmp_path)
    make_run(ledger, path)
    run = find_run(ledger, "evtest0001")
    page = render_html(build_report(run, ledger.eval_items(run.run_id), load_eval_set(path)))
    parser = _Tags()
    parser.feed(page)
    names = [tag for tag, _ in parser.tags]
    # Nothing to fetch: no script, no external stylesheet, image, frame or font.
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(names)
    for _, attrs in parser.tags:
        assert "src" not in attrs
        assert not (attrs.get("href") or "").startswith(("http:", "https:", "//"))
    assert "@import" not in page and "url(" not in page
    # The summary, an SVG chart per distribution, and the side-by-side table.
    assert names.count("svg") == 2  # token F1 and ROUGE-L (no embeddings in this run)
    assert "rect" in names
    assert "Answer number 2 über alles" in page
    assert "Question 1 &lt;b&gt;bold?&lt;/b&gt; &amp; more" in page
    assert "&lt;script&gt;alert(0)&lt;/script&gt;" in page
    assert "failed: 503 overloaded" in page
    assert "1</b> wins" in page
    assert 'class="num best"' in page


def test_html_without_the_eval_file(ledger: Ledger, tmp_path: Path) -> None:
    path = write_eval(tmp_path)
    make_run(ledger, path)
    path.unlink()
    report = load_report(ledger, "evtest0001")
    assert report.note is not None
    page = render_html(report)
    assert "(eval file not available)" in page


def test_histogram_bins() -> None:
    assert histogram([0.0, 0.05, 0.1, 0.95, 1.0, 1.2, -0.1]) == [3, 1, 0, 0, 0, 0, 0, 0, 0, 3]
    assert histogram([]) == [0] * 10
