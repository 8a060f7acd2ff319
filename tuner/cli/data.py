"""``tuner data``: validate, stats, convert, fix, split and dedupe training files."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from tuner.cli.output import Exit, console, emit_json, err_console, fail, progress_for, shown
from tuner.datasets.tokenizers import DEFAULT_MODEL
from tuner.fsutil import OutputRefused, prepare_outputs
from tuner.textsafe import inert

if TYPE_CHECKING:
    from tuner.datasets.tokenizers import Counting

app = typer.Typer(
    help="Check, convert and prepare training data (JSONL for Mistral fine-tuning).",
    no_args_is_help=True,
)

MAX_LINES_SHOWN = 12

ModelOpt = typer.Option(
    None,
    "--model",
    "-m",
    help=f"Base model whose tokenizer counts tokens \\[default: {DEFAULT_MODEL}].",
)
TokenizerOpt = typer.Option(
    None,
    "--tokenizer",
    help="Tokenizer by name instead of a model: v3-sentencepiece, v3-tekken, v7-sentencepiece.",
)
JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of the report.")
ForceOpt = typer.Option(
    False, "--force", help="Write over an existing output file, even one that is an input."
)
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bars.")
ProviderOpt = typer.Option(
    None,
    "--provider",
    help="Whose rules and tokenizer: mistral or openai \\[default: the provider setting "
    "(TUNER_PROVIDER), else mistral]. With openai, --model picks the vocabulary and context "
    "(e.g. gpt-4.1-mini-2025-04-14, gpt-4o-mini-2024-07-18).",
)


def _provider(option: str | None) -> str:
    """``--provider``, else the ``provider`` setting; a usage error for an unknown name."""
    from tuner.datasets.providers import PROVIDERS

    if option is None:
        from tuner.config import ConfigError, load_settings

        try:
            return load_settings().settings.provider
        except ConfigError as exc:
            fail(str(exc), hint="Fix the setting, or give --provider.")
    if option not in PROVIDERS:
        fail(f"--provider must be one of {', '.join(PROVIDERS)}, not {option!r}")
    return option


def _counting_for(
    provider: str, model: str | None, tokenizer: str | None, seq_len: int | None = None
) -> Counting:
    """The core's :func:`resolve_counting_for`; a usage error (exit 2) for what it refuses."""
    from tuner.datasets.providers import default_model, resolve_counting_for
    from tuner.datasets.tokenizers import InvalidSeqLenError, UnknownModelError

    if provider == "openai" and tokenizer is not None:
        fail(
            "--tokenizer names a Mistral tokenizer; with --provider openai the vocabulary "
            "follows --model",
            hint="e.g. --provider openai --model gpt-4o-mini-2024-07-18",
        )
    try:
        return resolve_counting_for(provider, model, tokenizer, seq_len)
    except UnknownModelError as exc:
        hint = (
            f"Give --model an OpenAI chat model, e.g. {default_model(provider)}."
            if provider == "openai"
            else "See `tuner data validate --help` for the known models."
        )
        fail(str(exc), hint=hint)
    except InvalidSeqLenError as exc:
        fail(str(exc), hint=exc.hint)


def _refused(exc: OutputRefused) -> NoReturn:
    """An output that must not be written (exists, is an input, unwritable folder): exit 2."""
    fail(str(exc), hint=exc.hint)


def _say_temps_removed(paths: list[str]) -> None:
    """Temporary files of a killed run that this run removed: said on stderr, never silently."""
    for path in paths:
        err_console.print(f"removed {path}, left behind by an interrupted run", markup=False)


# --------------------------------------------------------------------------- validate


@app.command()
def validate(
    paths: list[Path] = typer.Argument(..., help="JSONL training file(s) to check."),
    model: str | None = ModelOpt,
    tokenizer: str | None = TokenizerOpt,
    seq_len: int | None = typer.Option(
        None,
        "--seq-len",
        help="Warn about conversations longer than this \\[default: the model's context].",
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="instruct, pretrain or classifier \\[default: decided by the first valid line].",
    ),
    eval_path: Path | None = typer.Option(
        None, "--eval", help="Also check this evaluation file and report train/eval overlap."
    ),
    labels: list[str] | None = typer.Option(
        None,
        "--labels",
        help="Classifier data: a target's allowed labels, TARGET=a,b,c (repeat per target); "
        "a label outside the set is an error.",
    ),
    strict: bool = typer.Option(False, "--strict", help="Treat warnings as errors."),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        help="Worker processes for parsing and tokenizing \\[default: cores].",
    ),
    provider_opt: str | None = ProviderOpt,
    as_json: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Check files against the platform's rules, with exact token counts.

    With --provider openai: OpenAI's chat (SFT) and DPO rules; content token counts are exact
    (the model's own vocabulary), the per-message overhead is an estimate, so totals are labelled
    estimates.

    Reports every finding of every file (file, line, code, message, hint). Exit 0 when no error
    is found, 1 when any is, 2 for a usage error.
    """
    from tuner.datasets.errors import DataInputError
    from tuner.datasets.providers import counter_factory
    from tuner.datasets.validate import ValidateOptions, validate_paths

    provider = _provider(provider_opt)
    if provider == "openai" and labels:
        fail("--labels is for classifier data, which is Mistral's only")
    formats = ("instruct", "preference") if provider == "openai" else _MISTRAL_FORMATS
    if fmt is not None and fmt not in formats:
        fail(f"--format must be {' or '.join(formats)} for {provider} data, not {fmt!r}")
    counting = _counting_for(provider, model, tokenizer, seq_len)
    options = ValidateOptions(
        fmt=fmt,
        seq_len=counting.seq_len,
        strict=strict,
        label_sets=_label_sets(labels or []),
        provider=provider,
    )
    extra: dict[str, Any] = {} if workers is None else {"workers": workers}
    with progress_for(quiet or as_json) as progress:
        try:
            report = validate_paths(
                paths,
                options=options,
                counter_factory=counter_factory(provider, counting.tokenizer),
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


_MISTRAL_FORMATS = ("instruct", "pretrain", "classifier")


def _label_sets(values: list[str]) -> dict[str, list[str]] | None:
    """``--labels TARGET=a,b,c`` options as {target: [labels]}; None when none is given."""
    sets: dict[str, list[str]] = {}
    for value in values:
        target, sep, listed = value.partition("=")
        labels = [label.strip() for label in listed.split(",") if label.strip()]
        if not sep or not target.strip() or not labels:
            fail(f"--labels takes TARGET=label,label,..., not {value!r}")
        sets[target.strip()] = labels
    return sets or None


def render_refusal(validation: dict[str, Any], *, as_json: bool, listing: str) -> None:
    """The validation report that stopped a command before anything was sent: as JSON
    ``{"ok": false, "validation": …, <listing>: []}``, or as text (the caller then fails)."""
    if as_json:
        emit_json({"ok": False, "validation": validation, listing: []})
    else:
        render_validation(validation)


def render_validation(data: dict[str, Any]) -> None:
    """One summary line per file (never truncated, also when piped), then the findings."""
    for f in data["files"]:
        tokens = f["tokens"]
        errors = f"[red]{f['errors']:,} errors[/]" if f["errors"] else "0 errors"
        warnings = f"[yellow]{f['warnings']:,} warnings[/]" if f["warnings"] else "0 warnings"
        console.print(
            f"[bold]{shown(f['path'])}[/]  {f['format'] or '-'}  {f['lines']:,} lines  "
            f"{f['conversations']:,} conversations  {errors}  {warnings}"
        )
        if tokens:
            console.print(
                f"  tokens ({tokens['tokenizer']}): total {tokens['total']:,}  trained "
                f"{tokens['trained']:,}  min {tokens['min']:,}  p50 {tokens['p50']:,}  "
                f"p95 {tokens['p95']:,}  max {tokens['max']:,}"
            )
    render_findings(data["findings"])
    if data["ok"]:
        console.print("\n[bold green]OK[/]: no errors; the data is fit for upload.")
    else:
        errors_total = sum(f["errors"] for f in data["files"])
        console.print(
            f"\n[bold red]FAILED[/]: {errors_total:,} error(s); fix them before uploading "
            "(`tuner data fix` repairs the safe ones)."
        )


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
            # Messages quote the data (roles, keys, ids, content): shown inert.
            console.print(f"  {inert(_where(item))}: {inert(item['message'])}", markup=False)
        if len(items) > MAX_LINES_SHOWN:
            rest = items[MAX_LINES_SHOWN:]
            unit = "records" if all(i.get("record") is not None for i in rest) else "lines"
            numbers = ", ".join(
                str(i["record" if unit == "records" else "line"]) for i in rest[:40]
            )
            console.print(
                f"  … and {len(items) - MAX_LINES_SHOWN} more ({unit} {numbers})", markup=False
            )
        hints = list(dict.fromkeys(i["hint"] for i in items if i.get("hint")))
        for hint in hints[:3]:
            console.print(f"  hint: {inert(hint)}", style="dim", markup=False)


def _where(item: dict[str, Any]) -> str:
    """``path:line`` for a line, ``path record N`` for a record of a non-line source."""
    if item.get("line") is not None:
        return f"{item['path']}:{item['line']}"
    if item.get("record") is not None:
        return f"{item['path']} record {item['record']}"
    return str(item["path"])


# --------------------------------------------------------------------------- stats


@app.command()
def stats(
    path: Path = typer.Argument(..., help="A JSONL training file."),
    model: str | None = ModelOpt,
    tokenizer: str | None = TokenizerOpt,
    steps: int | None = typer.Option(
        None, "--steps", min=1, help="Planned training steps (Mistral only)."
    ),
    epochs: float | None = typer.Option(
        None,
        "--epochs",
        min=0.0,
        help="Planned epochs (instead of steps); with --provider openai a whole number "
        "(n_epochs; one epoch when left out).",
    ),
    seq_len: int | None = typer.Option(
        None, "--seq-len", help="Count conversations longer than this."
    ),
    provider_opt: str | None = ProviderOpt,
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        help="Worker processes for parsing and tokenizing, as for validate \\[default: cores].",
    ),
    as_json: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Counts, turns, the token distribution and the cost and duration estimate.

    With --provider openai: the token totals are estimates (exact content, estimated overhead),
    and the cost is tokens × epochs × OpenAI's price for --model (the price table is
    unconfirmed and dated; no duration). OpenAI jobs are planned in whole epochs, not steps.
    """
    from tuner.datasets.errors import DataInputError
    from tuner.datasets.providers import counter_factory
    from tuner.datasets.stats import compute_stats

    if steps is not None and epochs is not None:
        fail("give --steps or --epochs, not both")
    provider = _provider(provider_opt)
    if provider == "openai" and steps is not None:
        fail(
            "OpenAI jobs are planned in epochs (n_epochs), not training steps",
            hint="Give --epochs N with --provider openai.",
        )
    if provider == "openai" and epochs is not None and (epochs < 1 or not epochs.is_integer()):
        fail(
            f"--epochs must be a whole number of at least 1 with --provider openai, not {epochs:g}",
            hint="OpenAI's n_epochs is a whole number, e.g. --epochs 3.",
        )
    counting = _counting_for(provider, model, tokenizer, seq_len)
    factory = counter_factory(provider, counting.tokenizer)
    with progress_for(quiet or as_json) as progress:
        try:
            result = compute_stats(
                path,
                counter_factory=factory,
                provider=provider,
                model=counting.model,
                training_steps=steps,
                epochs=epochs,
                seq_len=counting.seq_len,
                workers=workers,
                progress=progress,
            )
        except DataInputError as exc:
            fail(str(exc), hint="Pass an existing JSONL file.")
        except ValueError as exc:  # e.g. a model the price table does not know
            fail(str(exc), hint="Give a --model from `tuner models list`, or leave it out.")
    data = result.to_dict()
    if data["format"] == "classifier":
        from tuner.datasets.classifier import label_stats

        data["targets"] = [t.to_dict() for t in label_stats(path).values()]
    if as_json:
        emit_json(data)
    else:
        render_stats(data)


def _render_target(target: dict[str, Any]) -> None:
    """One classifier target's label distribution (labels are data: printed inert)."""
    console.print(
        f"  target {shown(target['name'])} ({target['loss_function']}, "
        f"{target['examples']:,} examples)"
    )
    counts = target["labels"]
    largest = max(counts.values(), default=0)
    for label, count in counts.items():
        share = count / target["examples"] if target["examples"] else 0.0
        console.print(
            f"    {shown(label):<20} {count:>7,} {share:>6.1%} {_bar(count, largest, 30)}"
        )


def _bar(count: int, largest: int, width: int = 40) -> str:
    if largest == 0:
        return ""
    cells = count / largest * width
    return "█" * int(cells) + ("▌" if cells - int(cells) >= 0.5 else "")


def render_stats(data: dict[str, Any]) -> None:
    n = data["conversations"]
    tokens = data["tokens"]
    console.print(
        f"[bold]{shown(data['path'])}[/] ({data['format'] or 'empty'}, "
        f"tokenizer {shown(data['tokenizer'])})"
    )
    console.print(
        f"  {data['lines']:,} lines, {n:,} valid conversations, "
        f"{data['invalid_lines']:,} invalid lines"
    )
    if data["format"] == "instruct":
        for label, key in (
            ("messages", "messages"),
            ("user turns", "user_turns"),
            ("assistant turns", "assistant_turns"),
        ):
            s = data[key]
            console.print(
                f"  {label:<16} min {s['min']}  mean {s['mean']:.1f}  "
                f"p50 {s['p50']}  max {s['max']}"
            )
        console.print(
            f"  with tools {data['share_with_tools']:.0%}, with a system prompt "
            f"{data['share_with_system_prompt']:.0%}, with untrained (weight 0) turns "
            f"{data['share_with_untrained_turns']:.0%}"
        )
    console.print(
        f"  tokens: total {tokens['total']:,}  trained {data['trained_tokens']:,}  "
        f"min {tokens['min']:,}  p50 {tokens['p50']:,}  p95 {tokens['p95']:,}  "
        f"max {tokens['max']:,}"
    )
    if data["seq_len"]:
        console.print(f"  longer than seq_len {data['seq_len']:,}: {data['over_seq_len']:,}")
    for target in data.get("targets", []):
        _render_target(target)
    bins = data["histogram"]
    if bins:
        console.print("\n  tokens per conversation")
        largest = max(b["count"] for b in bins)
        for b in bins:
            label = f"{b['low']:>7,}–{b['high'] - 1:<7,}"
            console.print(f"  {label} {_bar(b['count'], largest):<41} {b['count']:,}", markup=False)
    if data["estimate"]:
        render_estimate(data["estimate"])


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


BASIS = {
    "steps": "from --steps",
    "epochs": "derived from --epochs",
    "default": "fewest whole steps covering one epoch: give --steps or --epochs for your plan",
}


def render_estimate(est: dict[str, Any]) -> None:
    """The estimate as a short, labelled block; always called an estimate."""
    if est.get("provider") == "openai":
        render_openai_estimate(est)
        return
    source = {"observed": "price observed on real jobs", "guess": "price UNCONFIRMED"}.get(
        est["price_source"], f"price from {est['price_source']}"
    )
    usd = est["currency"]
    console.print(
        f"\n[bold]Cost and duration: ESTIMATE[/] ({shown(est['model'])}, {shown(source)})"
    )
    rows = [
        ("training steps", f"{est['training_steps']:,} ({BASIS.get(est['basis'], est['basis'])})"),
        (
            "train tokens",
            f"{est['train_tokens']:,} ({est['train_tokens_per_step']:,} per step)",
        ),
        ("epochs", f"{est['epochs']:,.2f} over {est['data_tokens']:,} data tokens"),
        (
            "token cost",
            f"{est['token_cost']:,.2f} {usd} ({est['usd_per_million_tokens']:g} {usd} per million "
            "training tokens)",
        ),
        ("billed", f"{est['billed_cost']:,.2f} {usd} (minimum {est['minimum_fee']:g} per job)"),
        ("storage", f"{est['storage_per_month']:g} {usd} per month while the model is kept"),
        ("duration", f"about {_duration(est['expected_duration_seconds'])}"),
    ]
    for label, value in rows:
        console.print(f"  {label:<16} {value}", markup=False)
    if est.get("note"):
        console.print(f"  note: {est['note']}", style="dim", markup=False)


OPENAI_EPOCHS = {
    "given": "from --epochs",
    "default": "assumed: give --epochs N for your plan",
    "auto": 'OpenAI picks ("auto")',
}


def _money(amount: float) -> str:
    """Cents, or four decimals for a sum under a cent (a small file's cost is not zero)."""
    return f"{amount:,.2f}" if amount >= 0.01 or amount == 0 else f"{amount:.4f}"


def render_openai_estimate(est: dict[str, Any]) -> None:
    """OpenAI's estimate: tokens (an estimate) × epochs × the table's (unconfirmed) price."""
    usd = est["currency"]
    price = (
        f"price {est['price_source'].upper()} ({est['price_as_of']})"
        if est["price_source"]
        else "no price known"
    )
    console.print(f"\n[bold]Cost: ESTIMATE[/] ({shown(est['model'])}, {shown(price)})")
    epochs = "?" if est["epochs"] is None else f"{est['epochs']:,}"
    rows = [
        ("data tokens", f"{est['data_tokens']:,} (estimate: {est['tokens_label']})"),
        ("epochs", f"{epochs} ({OPENAI_EPOCHS.get(est['epochs_basis'], est['epochs_basis'])})"),
        (
            "train tokens",
            "?" if est["train_tokens"] is None else f"{est['train_tokens']:,}",
        ),
    ]
    if est["usd_per_million_tokens"] is not None:
        cost = "?" if est["cost"] is None else f"{_money(est['cost'])} {usd}"
        rows.append(
            ("cost", f"{cost} ({est['usd_per_million_tokens']:g} {usd} per million tokens)")
        )
    else:
        rows.append(("cost", "? (no training price known for this model)"))
    for label, value in rows:
        console.print(f"  {label:<16} {value}", markup=False)
    if est.get("note"):
        console.print(f"  note: {est['note']}", style="dim", markup=False)


# --------------------------------------------------------------------------- fix, dedupe, split


def _as_json(result: Any) -> dict[str, Any]:
    """A result dataclass as plain JSON data (findings, changes and removals included)."""
    import dataclasses

    return dataclasses.asdict(result)


def _print_findings_brief(title: str, findings: list[Any]) -> None:
    if not findings:
        return
    console.print(f"\n[bold red]{title}[/] ({len(findings)} finding(s))")
    render_findings([f.to_dict() for f in findings])


@app.command()
def fix(
    src: Path = typer.Argument(..., help="The JSONL file to fix."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Where to write the fixed file."),
    in_place: bool = typer.Option(
        False, "--in-place", help="Replace SRC (atomically): your consent to replace it."
    ),
    drop_trailing: bool = typer.Option(
        False,
        "--drop-trailing-non-assistant",
        help="Remove trailing user/tool messages so conversations end on an assistant turn.",
    ),
    rejects: Path | None = typer.Option(
        None,
        "--rejects",
        help="Where unfixable lines are copied unchanged; by default <out stem>.rejects.jsonl "
        "beside OUT. Made only when a line is rejected, never written over: a numbered file "
        "beside it when the name is taken.",
    ),
    provider_opt: str | None = ProviderOpt,
    force: bool = ForceOpt,
    as_json: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Apply only safe, explained fixes; list every change by line (Mistral's rules).

    Exit 0 when every line made it into OUT, 1 when some could not be fixed.

    Fixes: BOM, blank lines, CRLF, invalid tool-call ids (rewritten consistently in calls and
    tool messages), `arguments` objects to JSON strings, `text` -> `content`, role case. Lines
    that still have errors are left out of OUT, listed, and copied to the rejects file, so
    nothing is lost: that file is created on the first rejected line and never written over
    (a later run writes <stem>.rejects.2.jsonl beside it). The input is never half-written.
    """
    from tuner.datasets.errors import DataInputError
    from tuner.datasets.fix import fix_file

    if in_place == (out is not None):
        fail("give either --out OUT or --in-place", hint="tuner data fix IN --out OUT")
    if _provider(provider_opt) != "mistral":
        # Its fixes and its idea of a valid line are Mistral's: on OpenAI data it would reject
        # lines OpenAI accepts (a developer turn, a weight) into the rejects file.
        fail(
            "tuner data fix applies Mistral's rules only, not OpenAI's",
            hint="Check OpenAI data with `tuner data validate --provider openai --model M FILE` "
            "and fix what it lists at the source.",
        )
    with progress_for(quiet or as_json) as progress:
        try:
            result = fix_file(
                src,
                out,
                in_place=in_place,
                drop_trailing_non_assistant=drop_trailing,
                rejects=rejects,
                force=force,
                progress=progress,
            )
        except DataInputError as exc:
            fail(str(exc), hint="Pass an existing JSONL file.")
        except OutputRefused as exc:
            _refused(exc)
    _say_temps_removed(result.temps_removed)
    # Exit 1 when OUT holds only part of the input: scripts must not take it as complete.
    code = Exit.OK if result.ok and not result.wrote_nothing else Exit.FAILED
    if as_json:
        emit_json(_as_json(result))
        raise typer.Exit(int(code))
    console.print(
        f"[bold]{shown(src)}[/] → [bold]{shown(result.out)}[/]: {result.lines_read:,} lines read, "
        f"{result.lines_written:,} written, {result.lines_changed:,} changed, "
        f"{result.blank_dropped:,} blank removed, {result.unfixable_lines:,} unfixable"
    )
    by_code: dict[str, list[int]] = defaultdict(list)
    for change in result.changes:
        by_code[change.code].append(change.line)
    for change in result.changes[: MAX_LINES_SHOWN * 3]:
        console.print(f"  line {change.line}: [cyan]{change.code}[/] {shown(change.description)}")
    if len(result.changes) > MAX_LINES_SHOWN * 3:
        summary = ", ".join(f"{code} × {len(lines)}" for code, lines in sorted(by_code.items()))
        console.print(f"  … {len(result.changes):,} changes in all: {summary}")
    _print_findings_brief("Not fixable (left out of the output)", result.unfixable)
    if result.rejects is not None:
        console.print(f"Unfixable lines were copied unchanged to [bold]{shown(result.rejects)}[/].")
    if result.wrote_nothing:
        console.print(
            f"[bold red]Nothing written[/]: no line could be kept; {shown(result.out)} "
            + ("was left as it was." if in_place else "was not created.")
        )
    raise typer.Exit(int(code))


@app.command()
def dedupe(
    src: Path = typer.Argument(..., help="The JSONL file to deduplicate."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the deduplicated file."),
    near: float | None = typer.Option(
        None,
        "--near",
        min=0.0,
        max=1.0,
        help="Also drop near-duplicates at this Jaccard similarity (MinHash), e.g. 0.9.",
    ),
    provider_opt: str | None = ProviderOpt,
    force: bool = ForceOpt,
    as_json: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Drop repeated conversations (exact after normalising whitespace; --near for near ones).

    The first occurrence is kept; every removed line is listed with the line it repeats. Lines
    with errors pass through unchanged.
    """
    from tuner.datasets.dedupe import dedupe_file
    from tuner.datasets.errors import DataInputError

    with progress_for(quiet or as_json) as progress:
        try:
            result = dedupe_file(
                src,
                out,
                near=near,
                force=force,
                progress=progress,
                provider=_provider(provider_opt),
            )
        except DataInputError as exc:
            fail(str(exc), hint="Pass an existing JSONL file.")
        except OutputRefused as exc:
            _refused(exc)
        except ValueError as exc:
            fail(str(exc))
    _say_temps_removed(result.temps_removed)
    if as_json:
        emit_json(_as_json(result))
        return
    console.print(
        f"[bold]{shown(src)}[/] → [bold]{shown(out)}[/]: {result.lines_read:,} lines read, "
        f"{result.lines_written:,} written, {result.exact_removed:,} exact and "
        f"{result.near_removed:,} near duplicates removed, {result.invalid_lines:,} invalid kept"
    )
    for removal in result.removed[: MAX_LINES_SHOWN * 2]:
        similarity = f" (similarity ≈ {removal.similarity:.2f})" if removal.kind == "near" else ""
        console.print(
            f"  line {removal.line}: {removal.kind} duplicate of line "
            f"{removal.duplicate_of}{similarity}"
        )
    if len(result.removed) > MAX_LINES_SHOWN * 2:
        console.print(f"  … and {len(result.removed) - MAX_LINES_SHOWN * 2:,} more (see --json)")


@app.command()
def split(
    src: Path = typer.Argument(..., help="The JSONL file to split."),
    eval_fraction: str = typer.Option(
        "auto",
        "--eval-fraction",
        help="Share of the data's bytes held out for evaluation, e.g. 0.04; auto holds out as "
        "much as the platform's validation limit takes (1 MB and 5% of the training data).",
    ),
    seed: int = typer.Option(42, "--seed", help="Same input and seed, same split."),
    out_dir: Path | None = typer.Option(
        None,
        "--out-dir",
        help="Where <stem>.train.jsonl and <stem>.eval.jsonl go \\[default: beside SRC].",
    ),
    near: float | None = typer.Option(
        None, "--near", min=0.0, max=1.0, help="Also drop near-duplicates before splitting."
    ),
    provider_opt: str | None = ProviderOpt,
    force: bool = ForceOpt,
    as_json: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Deduplicate, then split deterministically into train and eval with no overlap.

    Lines are read with the rules of --provider (invalid lines go to neither output)."""
    from tuner.datasets.errors import DataInputError
    from tuner.datasets.split import parse_fraction, split_file

    provider = _provider(provider_opt)
    try:
        fraction = parse_fraction(eval_fraction)
    except ValueError as exc:
        fail(str(exc), hint="--eval-fraction takes auto or a number between 0 and 1, e.g. 0.04")
    with progress_for(quiet or as_json) as progress:
        try:
            result = split_file(
                src,
                eval_fraction=fraction,
                out_dir=out_dir or src.parent,
                seed=seed,
                near=near,
                force=force,
                progress=progress,
                provider=provider,
            )
        except DataInputError as exc:
            fail(str(exc), hint="Pass an existing JSONL file.")
        except OutputRefused as exc:
            _refused(exc)
        except ValueError as exc:
            fail(str(exc), hint="--near takes a number in (0, 1], e.g. 0.9")
    _say_temps_removed(result.temps_removed)
    if as_json:
        emit_json(_as_json(result))
        return
    console.print(
        f"[bold]{shown(src)}[/]: {result.lines_read:,} lines → train "
        f"[bold]{shown(result.train_path)}[/] "
        f"({result.train_lines:,} lines, {result.train_bytes:,} bytes), eval "
        f"[bold]{shown(result.eval_path)}[/] ({result.eval_lines:,} lines, "
        f"{result.eval_bytes:,} bytes, {_share(result.eval_bytes, result.train_bytes)} of train); "
        f"eval fraction {result.eval_fraction}, seed {result.seed}"
    )
    console.print(
        f"  {len(result.removed):,} duplicate(s) removed first, "
        f"{result.invalid_lines:,} invalid line(s) left out"
    )
    for warning in result.warnings:
        console.print(f"  [yellow]warning[/] {shown(warning.message)}", markup=True)
    _print_findings_brief("Invalid lines (in neither output)", result.invalid)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


# --------------------------------------------------------------------------- convert

FORMATS = ("auto", "mistral", "openai", "sharegpt", "alpaca", "prompt-completion")


@app.command()
def convert(
    sources: list[Path] | None = typer.Argument(
        None,
        help="JSONL/JSON, CSV, Parquet, Arrow files or saved Hugging Face datasets (in order); "
        "with --dataset-info, the entry's file_name when none is given.",
        show_default=False,
    ),
    out: Path = typer.Option(..., "--out", "-o", help="The Mistral JSONL file to write."),
    source_format: str = typer.Option(
        "auto", "--from", help="Record shape: " + ", ".join(FORMATS) + "."
    ),
    mapping_path: Path | None = typer.Option(
        None, "--map", help="A TOML mapping of columns, turn keys and role names (see README)."
    ),
    dataset_info: Path | None = typer.Option(
        None,
        "--dataset-info",
        help="LLaMA-Factory's dataset_info.json: take the columns, tags and formatting of "
        "--dataset from it (instead of --map).",
    ),
    dataset: str | None = typer.Option(
        None, "--dataset", help="The dataset's name in --dataset-info."
    ),
    split_name: str | None = typer.Option(
        None,
        "--split",
        help="The split of a saved DatasetDict to convert (needed when it has several; "
        "its splits are listed otherwise).",
    ),
    kto_keep_desirable: bool = typer.Option(
        False,
        "--kto-keep-desirable",
        help="KTO data (true/false labels): convert only the records labelled true; the others "
        "are skipped and counted. Without it, labelled data is refused.",
    ),
    preference: str | None = typer.Option(
        None,
        "--preference",
        help="Preference pairs (chosen/rejected, OpenAI DPO): 'chosen' builds SFT data from the "
        "chosen answers. Without it, pairs are refused (Mistral has no preference tuning).",
    ),
    drop_media: bool = typer.Option(
        False,
        "--drop-media",
        help="Leave images, audio and video out and strip their <image>/<video>/<audio> "
        "placeholders. Without it, records with media are refused.",
    ),
    reasoning: str = typer.Option(
        "refuse",
        "--reasoning",
        help="Reasoning chunks: refuse, drop, or untrained (kept as an assistant turn of "
        "weight 0 before the answer).",
    ),
    model: str | None = ModelOpt,
    text_column: str | None = typer.Option(
        None, "--text", help="Classifier data: the column holding the text to classify."
    ),
    label_columns: list[str] | None = typer.Option(
        None,
        "--label",
        help="Classifier data: TARGET=COLUMN, or TARGET=COLUMN[] for a multi-label column "
        "(a list, or labels separated by |); repeat per target.",
    ),
    provider_opt: str | None = ProviderOpt,
    method: str | None = typer.Option(
        None,
        "--method",
        help="With --provider openai: sft (chat lines) or dpo (preference lines from "
        "chosen/rejected pairs) \\[default: auto, decided by the first record: a pair makes "
        "DPO data].",
    ),
    force: bool = ForceOpt,
    as_json: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Convert conversations from the shapes people have them to Mistral JSONL, then validate it.

    With --provider openai the output is OpenAI JSONL: chat lines (SFT), or DPO lines
    ({input, preferred_output, non_preferred_output}) built from preference pairs, which the
    Mistral path refuses; the output says which method it holds.

    Every record that cannot be converted is reported with its source, row and reason; none is
    dropped silently. Every field is reported as used, dropped (by an option) or unused. KTO
    labels, preference pairs, media and reasoning stop the conversion unless an option says what
    to do with them. Exit 1 when the converted file does not validate, nothing converted, or a
    record is refused. With --text and --label, rows become classifier lines ({"text",
    "labels"}) instead.
    """
    provider = _provider(provider_opt)
    if provider == "openai":
        if text_column is not None or label_columns:
            fail("classifier data is Mistral's: --text and --label go without --provider openai")
        _convert_openai(
            sources or [],
            out,
            source_format=source_format,
            mapping_path=mapping_path,
            dataset_info=dataset_info,
            dataset=dataset,
            split_name=split_name,
            options=_convert_options(kto_keep_desirable, preference, drop_media, reasoning),
            method=method or "auto",
            model=model,
            force=force,
            as_json=as_json,
            quiet=quiet,
        )
        return
    if method is not None:
        fail("--method is for --provider openai (Mistral's fine-tuning API is SFT only)")
    if text_column is not None or label_columns:
        _convert_classifier(
            sources or [], out, text_column, label_columns or [], model, force, as_json, quiet
        )
        return
    from tuner.datasets.convert import convert as run_convert
    from tuner.datasets.providers import counter_factory
    from tuner.datasets.validate import OutputCheck, ValidateOptions

    if source_format not in FORMATS:
        fail(f"--from must be one of {', '.join(FORMATS)}, not {source_format!r}")
    options = _convert_options(kto_keep_desirable, preference, drop_media, reasoning)
    mapping, sources = _convert_mapping(mapping_path, dataset_info, dataset, sources or [])
    counting = _counting_for("mistral", model, None)
    # The output is validated as it is written (the validator's workers check each line while
    # the next ones convert), not read again afterwards.
    check = OutputCheck(
        out,
        options=ValidateOptions(seq_len=counting.seq_len),
        counter_factory=counter_factory("mistral", counting.tokenizer),
        expected_bytes=_total_bytes(sources),
    )
    with progress_for(quiet or as_json) as progress, check:
        with _conversion_errors(as_json=as_json):
            result = run_convert(
                sources,
                out,
                source_format=source_format,
                mapping=mapping,
                options=options,
                force=force,
                progress=progress,
                split=split_name,
                check=check,
            )
        _say_temps_removed(result.temps_removed)
        report = check.finish() if result.converted else None
    _finish_convert(result, report, as_json=as_json)


def _convert_openai(
    sources: list[Path],
    out: Path,
    *,
    source_format: str,
    mapping_path: Path | None,
    dataset_info: Path | None,
    dataset: str | None,
    split_name: str | None,
    options: Any,
    method: str,
    model: str | None,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """``convert --provider openai``: OpenAI SFT or DPO JSONL, validated with OpenAI's rules."""
    from tuner.datasets.openai_convert import METHODS, convert_openai
    from tuner.datasets.providers import counter_factory
    from tuner.datasets.validate import ValidateOptions, validate_paths

    if source_format not in FORMATS:
        fail(f"--from must be one of {', '.join(FORMATS)}, not {source_format!r}")
    if method not in METHODS:
        fail(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    mapping, sources = _convert_mapping(mapping_path, dataset_info, dataset, sources)
    counting = _counting_for("openai", model, None)
    factory = counter_factory("openai", counting.tokenizer)
    with progress_for(quiet or as_json) as progress:
        with _conversion_errors(as_json=as_json):
            converted = convert_openai(
                sources,
                out,
                method=method,  # type: ignore[arg-type]  # checked just above
                source_format=source_format,
                mapping=mapping,
                options=options,
                force=force,
                progress=progress,
                split=split_name,
            )
        result = converted.result
        _say_temps_removed(result.temps_removed)
        fmt = "preference" if converted.method == "dpo" else "instruct"
        report = (
            validate_paths(
                [out],
                options=ValidateOptions(fmt=fmt, seq_len=counting.seq_len, provider="openai"),
                counter_factory=factory,
                progress=progress,
            )
            if result.converted
            else None
        )
    what = {"dpo": "preference pairs (DPO)", "sft": "conversations (SFT)"}
    _finish_convert(
        result,
        report,
        as_json=as_json,
        labels={"provider": "openai", "method": converted.method},
        heading=None if converted.method is None else f"OpenAI {what[converted.method]} data.",
    )


def _total_bytes(sources: list[Path]) -> int:
    """The sources' size on disk (a saved dataset: its files): whether a worker pool pays off."""
    total = 0
    for source in sources:
        paths = source.rglob("*") if source.is_dir() else [source]
        total += sum(p.stat().st_size for p in paths if p.is_file())
    return total


def _convert_options(
    kto_keep_desirable: bool, preference: str | None, drop_media: bool, reasoning: str
) -> Any:
    """The choices about fields Mistral cannot train on, from the options (usage errors)."""
    from tuner.datasets.fields import REASONING_POLICIES, ConvertOptions

    if preference is not None and preference != "chosen":
        fail(f"--preference must be chosen, not {preference!r}")
    if reasoning not in REASONING_POLICIES:
        fail(f"--reasoning must be one of {', '.join(REASONING_POLICIES)}, not {reasoning!r}")
    return ConvertOptions(
        kto="keep-desirable" if kto_keep_desirable else "refuse",
        preference="chosen" if preference == "chosen" else "refuse",
        media="drop" if drop_media else "refuse",
        reasoning=reasoning,  # type: ignore[arg-type]  # checked just above
    )


def _convert_mapping(
    mapping_path: Path | None,
    dataset_info: Path | None,
    dataset: str | None,
    sources: list[Path],
) -> tuple[Any, list[Path]]:
    """The mapping (a TOML file, or a LLaMA-Factory dataset_info.json entry) and the sources."""
    from tuner.datasets.llamafactory import load_dataset_info
    from tuner.datasets.mapping import MappingError, load_mapping

    if (dataset_info is None) != (dataset is None):
        fail(
            "--dataset-info and --dataset go together",
            hint="e.g. --dataset-info data/dataset_info.json --dataset my_data",
        )
    if dataset_info is not None and mapping_path is not None:
        fail("give --map or --dataset-info, not both")
    try:
        if dataset_info is not None and dataset is not None:
            info = load_dataset_info(dataset_info, dataset)
            for key in info.not_applied:
                console.print(
                    f"[yellow]warning[/]: {shown(str(dataset_info))}: {key!r} of "
                    f"{shown(repr(dataset))} is not applied; every record of the file is read",
                    highlight=False,
                )
            return info.mapping, sources or info.files
        mapping = load_mapping(mapping_path) if mapping_path is not None else None
    except MappingError as exc:
        fail(str(exc), hint="See README, 'Mapping files'.")
    if not sources:
        fail("no source given", hint="Pass one or more files, or --dataset-info with --dataset.")
    return mapping, sources


@contextlib.contextmanager
def _conversion_errors(*, as_json: bool) -> Iterator[None]:
    """How a conversion that could not run ends, for every provider: an unreadable source or
    an output that must not be written in one line (exit 2), a refused field (exit 1)."""
    from tuner.datasets.convert import ConvertInputError, ConvertRefusedError

    try:
        yield
    except ConvertInputError as exc:
        fail(
            str(exc),
            hint="Sources can be .jsonl(.gz), .json(.gz), .csv, .parquet, .arrow or a saved "
            "dataset dir.",
        )
    except ConvertRefusedError as exc:
        _refuse(exc, as_json=as_json)
    except OutputRefused as exc:
        _refused(exc)


def _refuse(exc: Any, *, as_json: bool) -> None:
    """A record holds a field no option allows: nothing was written; say which option decides."""
    if as_json:
        emit_json({"ok": False, "refused": exc.finding.to_dict()})
        raise typer.Exit(int(Exit.FAILED))
    # The message quotes field names from the data: fail() shows them inert, as written.
    fail(str(exc), hint=exc.finding.hint or None, code=Exit.FAILED)


def _convert_classifier(
    sources: list[Path],
    out: Path,
    text_column: str | None,
    label_columns: list[str],
    model: str | None,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    from tuner.datasets.classifier_convert import (
        LabelColumn,
        LabelSpecError,
        convert_classifier,
    )
    from tuner.datasets.formats import UnreadableSourceError
    from tuner.datasets.providers import counter_factory
    from tuner.datasets.validate import ValidateOptions, validate_paths

    if text_column is None or not label_columns:
        fail("classifier conversion needs --text COLUMN and at least one --label TARGET=COLUMN")
    try:
        _say_temps_removed([str(p) for p in prepare_outputs([out], sources, force=force)])
    except OutputRefused as exc:
        _refused(exc)
    try:
        labels = [LabelColumn.parse(spec) for spec in label_columns]
        result = convert_classifier(sources, out, text_column=text_column, labels=labels)
    except LabelSpecError as exc:
        fail(str(exc))
    except UnreadableSourceError as exc:
        fail(str(exc), hint="Sources can be .jsonl, .json, .csv, .parquet, .arrow or a dataset.")
    counting = _counting_for("mistral", model, None)
    report = None
    if result.converted:
        with progress_for(quiet or as_json) as progress:
            report = validate_paths(
                [out],
                options=ValidateOptions(fmt="classifier", seq_len=counting.seq_len),
                counter_factory=counter_factory("mistral", counting.tokenizer),
                progress=progress,
            )
    ok = report is not None and report.ok
    if as_json:
        emit_json(
            {
                "ok": ok,
                **result.to_dict(),
                "validation": report.to_dict() if report is not None else None,
            }
        )
    else:
        console.print(
            f"{result.read:,} rows read, {result.converted:,} converted, "
            f"{len(result.skipped):,} skipped → [bold]{out}[/]"
        )
        for skipped in result.skipped[:10]:
            console.print(
                f"  skipped {shown(skipped.source)}:{skipped.row}: {shown(skipped.reason)}"
            )
        if result.unused_columns:
            unused = ", ".join(shown(c) for c in sorted(result.unused_columns))
            console.print(f"  columns not used: {unused}")
        if report is not None:
            console.print("\nValidation of the output:")
            render_validation(report.to_dict())
    raise typer.Exit(int(Exit.OK if ok else Exit.FAILED))


def _finish_convert(
    result: Any,
    report: Any,
    *,
    as_json: bool,
    labels: dict[str, object] | None = None,
    heading: str | None = None,
) -> NoReturn:
    """Show a conversion (``report``: the validation of what it wrote, None when nothing was)
    and exit 0 when the output validates, else 1. ``labels`` go into the JSON after ``ok``
    (OpenAI's provider and method); ``heading`` is printed above the report."""
    ok = report is not None and report.ok
    if as_json:
        emit_json(
            {
                "ok": ok,
                **(labels or {}),
                "out": str(result.out),
                # False when nothing converted: OUT was then not written (an old one is kept).
                "written": result.converted > 0,
                "read": result.read,
                "converted": result.converted,
                "skipped": result.skipped_count,
                "skip_reasons": result.skip_reasons,
                "sources": [_as_json(s) for s in result.sources],
                "skipped_records": [f.to_dict() for f in result.skipped],
                "warnings": [f.to_dict() for f in result.warnings],
                "validation": report.to_dict() if report is not None else None,
            }
        )
    else:
        if heading is not None:
            console.print(heading, highlight=False)
        _render_convert(result, report)
    raise typer.Exit(int(Exit.OK if ok else Exit.FAILED))


def _render_convert(result: Any, report: Any) -> None:
    for source in result.sources:
        read_from = (
            f" (split {source.split!r} of {', '.join(map(repr, source.splits))})"
            if source.splits
            else ""
        )
        console.print(
            f"[bold]{shown(source.path)}[/]{shown(read_from)}: {source.read:,} records read, "
            f"{source.converted:,} converted, {source.skipped:,} skipped"
        )
        _render_fields(source.fields)
    if result.skip_reasons:
        reasons = ", ".join(f"{code} × {n}" for code, n in sorted(result.skip_reasons.items()))
        console.print(f"  skipped: {reasons}")
        render_findings([f.to_dict() for f in result.skipped])
    if report is None:
        console.print(
            f"[bold red]FAILED[/]: nothing was converted; {shown(result.out)} was not written."
        )
        return
    console.print(f"Wrote [bold]{shown(result.out)}[/] ({result.converted:,} conversations).")
    console.print("\nValidation of the output:")
    render_validation(report.to_dict())


def _render_fields(fields: Any) -> None:
    """Which fields the converted records used, which an option dropped, which are not used."""

    def listed(counts: dict[str, int]) -> str:
        return ", ".join(f"{name} × {n:,}" for name, n in counts.items())

    if fields.used:
        console.print(f"  fields used: {listed(fields.used)}", markup=False, highlight=False)
    if fields.dropped:
        console.print(
            f"  dropped as asked: {listed(fields.dropped)}", markup=False, highlight=False
        )
    if fields.unused:
        console.print(
            f"  [yellow]warning convert_unused_field[/]: not in the output: "
            f"{shown(listed(fields.unused))}",
            highlight=False,
        )
