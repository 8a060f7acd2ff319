"""One self-contained HTML file for a run: summary, metric distributions, answers side by side.

No script, no stylesheet or font to fetch, no image to load: the CSS is inline and the charts
are inline SVG, so the file opens offline and can be mailed or archived as is. Every piece of
text from the data or the models is escaped.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from html import escape

from tuner.evals.dataset import content_text
from tuner.evals.report import (
    DISTRIBUTION_METRICS,
    SUMMARY_METRICS,
    ItemRow,
    ModelSummary,
    RunReport,
    format_metric,
)

BINS = 10
COLOURS = ("#3465a4", "#f57900", "#4e9a06", "#75507b")
_CHART_W, _CHART_H, _PAD = 560, 220, 36
_METRIC_LABELS = {key: label for key, label, _ in SUMMARY_METRICS}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222}
h1{font-size:1.4rem}
.simulated{background:#ffd84d;color:#000;font-weight:bold;padding:.6rem 1rem;border:2px solid #000}
h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.best{font-weight:bold;background:#eaf4e4}
.items td{max-width:28rem;white-space:pre-wrap;word-break:break-word}
.meta{color:#555}.err{color:#a40000}.score{color:#555;font-size:.85em;display:block;margin-top:.3rem}
details summary{cursor:pointer;color:#555}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
"""


def _summary_table(report: RunReport) -> str:
    models = list(report.models)
    head = "".join(f"<th>{escape(m)}</th>" for m in models)
    rows = []
    for key, label, _ in SUMMARY_METRICS:
        values = {m: report.models[m].value(key) for m in models}
        if all(v is None for v in values.values()):
            continue
        best = report.better(key)
        cells = "".join(
            f'<td class="num{" best" if m == best else ""}">{format_metric(values[m], key)}</td>'
            for m in models
        )
        rows.append(f"<tr><th>{escape(label)}</th>{cells}</tr>")
    return f"<table><tr><th>metric</th>{head}</tr>{''.join(rows)}</table>"


def _judge_section(report: RunReport) -> str:
    judge = report.judge
    if judge is None:
        return ""
    rate = "–" if judge.win_rate is None else f"{judge.win_rate:.1%}"
    ci = "" if judge.ci95 is None else f" (95% CI {judge.ci95[0]:.1%} – {judge.ci95[1]:.1%})"
    return (
        f"<h2>Pairwise judge: {escape(report.run.judge or '')}</h2>"
        f"<p>{escape(report.candidate)} against {escape(report.baseline or '')}: "
        f"<b>{judge.wins}</b> wins, <b>{judge.ties}</b> ties, <b>{judge.losses}</b> losses; "
        f"win rate {rate}{ci}. Unparsed verdicts: {judge.unparsed}; failed: {judge.failed}. "
        "Answers were shown in a random order per item to remove position bias.</p>"
    )


def histogram(values: Sequence[float], bins: int = BINS) -> list[int]:
    """Counts of ``values`` in ``bins`` equal bins over [0, 1] (1.0 goes in the last bin)."""
    counts = [0] * bins
    for value in values:
        clamped = min(max(value, 0.0), 1.0)
        counts[min(int(clamped * bins), bins - 1)] += 1
    return counts


def distribution_svg(title: str, series: dict[str, list[float]]) -> str:
    """Grouped histogram bars of each model's values of one metric, as inline SVG."""
    counts = {model: histogram(values) for model, values in series.items()}
    peak = max((max(c) for c in counts.values() if c), default=0) or 1
    inner_w, inner_h = _CHART_W - 2 * _PAD, _CHART_H - 2 * _PAD
    group = inner_w / BINS
    bar = group / (len(counts) + 1)
    parts = [
        f'<svg width="{_CHART_W}" height="{_CHART_H}" role="img" aria-label="{escape(title)}">',
        f'<text x="{_PAD}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{_PAD}" y1="{_PAD + inner_h}" x2="{_PAD + inner_w}" y2="{_PAD + inner_h}" '
        'stroke="#888"/>',
    ]
    for position, (model, model_counts) in enumerate(counts.items()):
        colour = COLOURS[position % len(COLOURS)]
        for b, count in enumerate(model_counts):
            height = inner_h * count / peak
            x = _PAD + b * group + bar * (position + 0.5)
            y = _PAD + inner_h - height
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{colour}"><title>{escape(model)}: {count} in '
                f"[{b / BINS:.1f}, {(b + 1) / BINS:.1f}{']' if b == BINS - 1 else ')'}"
                "</title></rect>"
            )
        legend_y = 16 + 14 * position
        parts.append(
            f'<rect x="{_CHART_W - 210}" y="{legend_y - 9}" width="10" height="10" '
            f'fill="{colour}"/><text x="{_CHART_W - 195}" y="{legend_y}" font-size="11">'
            f"{escape(_short(model, 30))}</text>"
        )
    for tick in range(0, BINS + 1, 2):
        x = _PAD + tick * group
        parts.append(
            f'<text x="{x:.1f}" y="{_PAD + inner_h + 14}" font-size="10" '
            f'text-anchor="middle">{tick / BINS:.1f}</text>'
        )
    parts.append(
        f'<text x="{_PAD - 6}" y="{_PAD + 4}" font-size="10" text-anchor="end">{peak}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _charts(report: RunReport) -> str:
    charts = []
    for metric in DISTRIBUTION_METRICS:
        series = {
            model: [v for row in report.rows if (v := row.metric(model, metric)) is not None]
            for model in report.models
        }
        if any(series.values()):
            charts.append(distribution_svg(_METRIC_LABELS.get(metric, metric), series))
    if not charts:
        return ""
    return f'<h2>Distributions</h2><div class="charts">{"".join(charts)}</div>'


def _prompt_cell(row: ItemRow) -> str:
    if row.item is None:
        return '<td class="meta">(eval file not available)</td>'
    earlier = row.item.messages[:-1]
    last = row.item.messages[-1] if row.item.messages else None
    context = ""
    if earlier:
        lines = "\n".join(
            f"{m['role']}: {_message_text(m)}" for m in earlier if m["role"] != "system"
        )
        summary = f"<summary>{len(earlier)} earlier message(s)</summary>"
        context = f"<details>{summary}{escape(lines)}</details>"
    shown = f"{last['role']}: {_message_text(last)}" if last is not None else ""
    return f"<td>{context}{escape(shown)}</td>"


def _message_text(message: dict[str, object]) -> str:
    text = content_text(message.get("content"))
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        names = ", ".join(
            str(call.get("function", {}).get("name", "?"))
            for call in calls
            if isinstance(call, dict)
        )
        text = f"{text} [calls {names}]".strip()
    return text


def _answer_cell(row: ItemRow, model: str) -> str:
    record = row.answers.get(model)
    if record is None:
        return '<td class="meta">(not asked yet)</td>'
    if record.error is not None:
        return f'<td class="err">failed: {escape(record.error)}</td>'
    scores = " · ".join(
        f"{name} {value:.2f}"
        for name in ("token_f1", "rouge_l", "tool_call")
        if (value := row.metric(model, name)) is not None
    )
    latency = f" · {record.latency_s:.2f} s" if record.latency_s is not None else ""
    return (
        f"<td>{escape(record.response_text or '')}"
        f'<span class="score">{escape(scores)}{latency}</span></td>'
    )


def _verdict_cell(row: ItemRow) -> str:
    verdict = row.verdict
    if verdict is None:
        return "<td></td>"
    status = verdict.get("status")
    if status == "ok":
        text = f"{verdict.get('winner_model')} — {verdict.get('reason', '')}"
    else:
        text = f"{status}: {verdict.get('error') or verdict.get('raw') or ''}"
    order = " / ".join(str(m) for m in verdict.get("order", []))
    return f'<td>{escape(text)}<span class="score">shown as A / B: {escape(order)}</span></td>'


def _items_table(report: RunReport) -> str:
    models = list(report.models)
    judged = report.judge is not None
    head = "".join(f"<th>{escape(m)}</th>" for m in models)
    rows = []
    for row in report.rows:
        reference = "" if row.item is None else row.item.reference.rendered()
        cells = "".join(_answer_cell(row, m) for m in models)
        line = f" (line {row.item.line})" if row.item is not None else ""
        rows.append(
            f"<tr><td>{row.index}{line}</td>{_prompt_cell(row)}<td>{escape(reference)}</td>"
            f"{cells}{_verdict_cell(row) if judged else ''}</tr>"
        )
    judge_head = "<th>judge</th>" if judged else ""
    return (
        '<h2>Items</h2><table class="items"><tr><th>#</th><th>prompt</th><th>reference</th>'
        f"{head}{judge_head}</tr>{''.join(rows)}</table>"
    )


def render_html(report: RunReport) -> str:
    run = report.run
    created = datetime.datetime.fromtimestamp(run.created_at, datetime.UTC)
    models: dict[str, ModelSummary] = report.models
    note = f'<p class="meta">{escape(report.note)}</p>' if report.note else ""
    simulated = report.simulated_note
    banner = f'<p class="simulated">{escape(simulated)}</p>' if simulated else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>tuner eval {escape(run.run_id)}</title><style>{_CSS}</style></head><body>"
        f"{banner}<h1>Evaluation {escape(run.run_id)}"
        f"{' (SIMULATED)' if simulated else ''}</h1>"
        f'<p class="meta">{escape(run.data_path)} · {len(report.rows)} items · '
        f"{escape(', '.join(models))} · {escape(run.status)} · "
        f"created {created:%Y-%m-%d %H:%M} UTC</p>{note}"
        "<h2>Summary</h2>"
        f"{_summary_table(report)}"
        '<p class="meta">Bold: the better model on that metric. Scores are averaged over the '
        "answered items; failed items are counted, not scored.</p>"
        f"{_judge_section(report)}{_charts(report)}{_items_table(report)}"
        "</body></html>\n"
    )
