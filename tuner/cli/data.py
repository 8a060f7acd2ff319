"""``tuner data``: validate, stats, convert, fix, split and dedupe training files."""

from __future__ import annotations

import functools
from collections import defaultdict
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tuner.cli.output import Exit, console, emit_json, fail, progress_for

app = typer.Typer(
    help="Check, convert and prepare training data (JSONL for Mistral fine-tuning).",
    no_args_is_help=True,
)

DEFAULT_MODEL = "open-mistral-7b"
MAX_LINES_SHOWN = 12

ModelOpt = typer.Option(
    None, "--model", "-m", help=f"Base model whose tokenizer counts tokens [default: {DEFAULT_MODEL}]."
)
TokenizerOpt = typer.Option(
    None,
    "--tokenizer",
    help="Tokenizer by name instead of a model: v3-sentencepiece, v3-tekken, v7-sentencepiece.",
)
JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of the report.")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bars.")


def _resolve(model: str | None, tokenizer: str | None) -> tuple[str, str | None]:
    """(tokenizer name, model) from the options; a usage error for unknown names."""
    from tuner.datasets.tokenizers import UnknownModelError, resolve_tokenizer

    if model is None and tokenizer is None:
        model = DEFAULT_MODEL
    try:
        return resolve_tokenizer(model, tokenizer), model
    except UnknownModelError as exc:
        fail(str(exc), hint="See `tuner data validate --help` for the known models.")


def _default_seq_len(model: str | None, seq_len: int | None) -> int | None:
    from tuner.datasets.tokenizers import context_length

    if seq_len is not None or model is None:
        return seq_len
    return context_length(model)


def _counter_factory(tokenizer: str) -> Any:
    from tuner.datasets.tokens import counter_for

    return functools.partial(counter_for, tokenizer)


# --------------------------------------------------------------------------- validate


@app.command()
def validate(
    paths: list[Path] = typer.Argument(..., help="JSONL training file(s) to check."),
    model: str | None = ModelOpt,
    tokenizer: str | None = TokenizerOpt,
    seq_len: int | None = typer.Option(
        None, "--seq-len", help="Warn about conversations longer than this [default: the model's context]."
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="instruct or pretrain [default: decided by the first valid line]."
    ),
    eval_path: Path | None = typer.Option(
        None, "--eval", help="Also check this evaluation file and report train/eval overlap."
    ),
    strict: bool = typer.Option(False, "--strict", help="Treat warnings as errors."),
    workers: int | None = typer.Option(
        None, "--workers", help="Worker processes for parsing and tokenizing [default: cores]."
    ),
    as_json: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Check files against the platform's rules, with exact token counts.

    Reports every finding of every file (file, line, code, message, hint). Exit 0 when no error
    is found, 1 when any is, 2 for a usage error.
    """
    from tuner.datasets.errors import DataInputError
    from tuner.datasets.validate import ValidateOptions, validate_paths

    if fmt is not None and fmt not in ("instruct", "pretrain"):
        fail(f"--format must be instruct or pretrain, not {fmt!r}")
    name, model = _resolve(model, tokenizer)
    options = ValidateOptions(fmt=fmt, seq_len=_default_seq_len(model, seq_len), strict=strict)
    extra: dict[str, Any] = {} if workers is None else {"workers": workers}
    with progress_for(quiet or as_json) as progress:
        try:
            report = validate_paths(
                paths,
                options=options,
                counter_factory=_counter_factory(name),
                eval_path=eval_path,
                progress=progress,
                **extra,
            )
        except DataInputError as exc:
            fail(str(exc), hint="Pass an existing JSONL file.")
    data = report.to_dict()
    if as_json:
        emit_json(data)
    else:
        render_validation(data)
    raise typer.Exit(int(Exit.OK if data["ok"] else Exit.FAILED))


def render_validation(data: dict[str, Any]) -> None:
    table = Table(title="Validation", title_justify="left")
    for column in ("file", "format", "lines", "conversations", "errors", "warnings", "tokens"):
        table.add_column(column, justify="left" if column in ("file", "format") else "right")
    for f in data["files"]:
        tokens = f["tokens"]
        table.add_row(
            f["path"],
            f["format"] or "-",
            f"{f['lines']:,}",
            f"{f['conversations']:,}",
            f"[red]{f['errors']:,}[/]" if f["errors"] else "0",
            f"[yellow]{f['warnings']:,}[/]" if f["warnings"] else "0",
            f"{tokens['total']:,} ({tokens['tokenizer']})" if tokens else "-",
        )
    console.print(table)
    render_findings(data["findings"])
    if data["ok"]:
        console.print("[bold green]OK[/]: no errors; the data is fit for upload.")
    else:
        errors = sum(f["errors"] for f in data["files"])
        console.print(f"[bold red]FAILED[/]: {errors:,} error(s); fix them before uploading.")


def render_findings(findings: list[dict[str, Any]]) -> None:
    """Findings grouped by (severity, code): the message, the hint and where it occurs."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for finding in findings:
        groups[(finding["severity"], finding["category"], finding["code"])].append(finding)
    order = sorted(groups, key=lambda key: (key[0] != "error", key[1], key[2]))
    for severity, category, code in order:
        items = groups[(severity, category, code)]
        colour = "red" if severity == "error" else "yellow"
        console.print(
            f"\n[bold {colour}]{severity}[/] [bold]{code}[/] [dim]({category})[/] × {len(items)}"
        )
        for item in items[:MAX_LINES_SHOWN]:
            where = f"{item['path']}:{item['line']}" if item["line"] is not None else item["path"]
            console.print(f"  {where}: {item['message']}", markup=False)
        if len(items) > MAX_LINES_SHOWN:
            lines = ", ".join(str(i["line"]) for i in items[MAX_LINES_SHOWN:][:40])
            console.print(f"  … and {len(items) - MAX_LINES_SHOWN} more (lines {lines})", markup=False)
        hint = items[0].get("hint")
        if hint:
            console.print(f"  [dim]hint: {hint}[/]")


# --------------------------------------------------------------------------- stats


@app.command()
def stats(
    path: Path = typer.Argument(..., help="A JSONL training file."),
    model: str | None = ModelOpt,
    tokenizer: str | None = TokenizerOpt,
    steps: int | None = typer.Option(None, "--steps", min=1, help="Planned training steps."),
    epochs: float | None = typer.Option(None, "--epochs", min=0.0, help="Planned epochs (instead of steps)."),
    seq_len: int | None = typer.Option(None, "--seq-len", help="Count conversations longer than this."),
    as_json: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Counts, turns, the token distribution and the cost and duration estimate."""
    from tuner.datasets.errors import DataInputError
    from tuner.datasets.stats import compute_stats
    from tuner.datasets.tokens import counter_for

    if steps is not None and epochs is not None:
        fail("give --steps or --epochs, not both")
    name, model = _resolve(model, tokenizer)
    with progress_for(quiet or as_json) as progress:
        try:
            result = compute_stats(
                path,
                counter=counter_for(name),
                model=model,
                training_steps=steps,
                epochs=epochs,
                seq_len=_default_seq_len(model, seq_len),
                progress=progress,
            )
        except DataInputError as exc:
            fail(str(exc), hint="Pass an existing JSONL file.")
    data = result.to_dict()
    if as_json:
        emit_json(data)
    else:
        render_stats(data)


def _bar(count: int, largest: int, width: int = 40) -> str:
    if largest == 0:
        return ""
    cells = count / largest * width
    return "█" * int(cells) + ("▌" if cells - int(cells) >= 0.5 else "")


def render_stats(data: dict[str, Any]) -> None:
    n = data["conversations"]
    tokens = data["tokens"]
    console.print(f"[bold]{data['path']}[/] ({data['format'] or 'empty'}, tokenizer {data['tokenizer']})")
    console.print(
        f"  {data['lines']:,} lines, {n:,} valid conversations, {data['invalid_lines']:,} invalid lines"
    )
    if data["format"] == "instruct":
        for label, key in (("messages", "messages"), ("user turns", "user_turns"),
                           ("assistant turns", "assistant_turns")):
            s = data[key]
            console.print(
                f"  {label:<16} min {s['min']}  mean {s['mean']:.1f}  p50 {s['p50']}  max {s['max']}"
            )
        console.print(
            f"  with tools {data['share_with_tools']:.0%}, with a system prompt "
            f"{data['share_with_system_prompt']:.0%}, with untrained (weight 0) turns "
            f"{data['share_with_untrained_turns']:.0%}"
        )
    console.print(
        f"  tokens: total {tokens['total']:,}  trained {data['trained_tokens']:,}  "
        f"min {tokens['min']:,}  p50 {tokens['p50']:,}  p95 {tokens['p95']:,}  max {tokens['max']:,}"
    )
    if data["seq_len"]:
        console.print(f"  longer than seq_len {data['seq_len']:,}: {data['over_seq_len']:,}")
    bins = data["histogram"]
    if bins:
        console.print("\n  tokens per conversation")
        largest = max(b["count"] for b in bins)
        for b in bins:
            label = f"{b['low']:>7,}–{b['high'] - 1:<7,}"
            console.print(f"  {label} {_bar(b['count'], largest):<41} {b['count']:,}", markup=False)
    if data["estimate"]:
        render_estimate(data["estimate"])


def render_estimate(est: dict[str, Any]) -> None:
    console.print("\n[bold]Cost and duration (estimate)[/]")
    for key, value in est.items():
        if value is None or key in ("is_estimate",):
            continue
        shown = f"{value:,.4g}" if isinstance(value, float) else (
            f"{value:,}" if isinstance(value, int) else str(value)
        )
        console.print(f"  {key.replace('_', ' '):<28} {shown}")
