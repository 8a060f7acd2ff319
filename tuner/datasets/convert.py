"""``tuner data convert``: conversations in the shapes users bring -> Mistral instruct JSONL.

Shapes (``source_format``): ``mistral``/``openai`` (``messages``), ``sharegpt``
(``conversations: [{from, value}]``, LLaMA-Factory ``function_call``/``observation`` turns),
``alpaca`` (``instruction``, ``input``, ``output``, ``history``), ``prompt-completion``, or
``auto`` (decided per record from its keys). LLaMA-Factory's v1 turns (content chunks
``{"type", "value"}``, ``loss_weight``) are read in every turn list. A
:class:`~tuner.datasets.mapping.Mapping` says where things are when the names differ. Every output
line is ``{"messages": [...], "tools"?: [...]}`` with the system prompt as the first ``system``
message.

Every field is accounted for (:mod:`tuner.datasets.fields`): used, dropped by an explicit
option, or reported unused. Fields whose loss would change what gets trained stop the
conversion unless :class:`~tuner.datasets.fields.ConvertOptions` decide: KTO labels, preference
pairs (recognised, and readable as :class:`PreferencePair` for targets that tune on them),
images/audio/video, and reasoning.

:func:`convert_record` is pure and raises :class:`RecordError`, so engines such as Ray Data or
Spark can map it over shards; :func:`convert` drives it over files and writes one JSONL
atomically. A record that cannot be converted is never dropped silently: it becomes a
:class:`~tuner.datasets.findings.Finding` in :attr:`ConvertResult.skipped`.

Finding codes are stable (part of the public interface): :data:`CONVERT_CODES` lists them.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol

import orjson

from tuner.datasets.fields import (
    DEFAULT_OPTIONS,
    KTO_OPTION,
    MEDIA_OPTION,
    PREFERENCE_OPTION,
    REASONING_OPTIONS,
    ConvertOptions,
    FieldCounts,
    FieldTally,
    RecordFields,
    is_empty,
)
from tuner.datasets.findings import Category, Finding, Severity, a_or_an, excerpt
from tuner.datasets.formats import Source, UnreadableRow, UnreadableSourceError, open_source
from tuner.datasets.mapping import (
    DEFAULT_MAPPING,
    SOURCE_FORMATS,
    ColumnField,
    Mapping,
    ResolvedMapping,
)
from tuner.datasets.openai_codes import OPENAI_CONVERT_CODES
from tuner.fsutil import atomic_writer, prepare_outputs
from tuner.progress import NULL_PROGRESS, Progress

# code -> what it reports. docs/data.md's table of codes is generated from this.
CONVERT_CODES: dict[str, str] = {
    "convert_bad_json": "A line, or a cell that should hold JSON, is not valid JSON.",
    "convert_bad_encoding": "A line is not valid UTF-8, or text cannot be written as UTF-8.",
    "convert_not_object": "A line or array element is not a JSON object.",
    "convert_bad_csv_row": "A CSV row with more or fewer fields than the header.",
    "convert_unknown_shape": "`--from auto` found no known conversation shape in the record.",
    "convert_ambiguous_shape": "`--from auto` found several shapes in the record.",
    "convert_missing_column": "The chosen format's column is not in the record.",
    "convert_bad_type": "A value of the wrong type (turns not a list, an unreadable chunk, ...).",
    "convert_missing_key": "A turn without a role, or without content.",
    "convert_unknown_role": "A role name that no default or `[roles]` entry maps.",
    "convert_unsupported_content": "A content chunk of a type Mistral's text format cannot hold.",
    "convert_bad_tool_call": "A malformed tool call.",
    "convert_bad_tools": "A malformed tools list.",
    "convert_orphan_tool_result": "A tool result with no call to answer.",
    "convert_unanswered_tool_call": "Tool calls not all answered before the conversation goes on.",
    "convert_two_system_prompts": "A system column and a different system turn.",
    "convert_empty": "Nothing to train on (no turns, empty prompt, output or completion).",
    "convert_bad_weight": "A `loss_weight` other than 0 or 1 on an assistant turn.",
    "convert_kto_label": "Refused: KTO labels (pass `--kto-keep-desirable`).",
    "convert_kto_undesirable": "Skipped with `--kto-keep-desirable`: the answer is labelled false.",
    "convert_preference_pair": "Refused: a preference pair (pass `--preference chosen`).",
    "convert_media": "Refused: images, audio or video (pass `--drop-media`).",
    "convert_reasoning": "Refused: a reasoning chunk (pass `--reasoning drop|untrained`).",
    "convert_unused_field": "Warning: a source field that is in no output line.",
}
# `convert --provider openai` (tuner.datasets.openai_convert) adds its own.
CONVERT_CODES.update(OPENAI_CONVERT_CODES)
CALL_ID_PATTERN = re.compile(r"^[a-zA-Z0-9]{9}$")
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ID_LENGTH = 9
# Progress is reported every this many rows: a per-row callback would dominate a fast loop.
_PROGRESS_EVERY = 256

Shape = Literal["messages", "alpaca", "prompt-completion"]
OutRole = Literal["system", "user", "assistant", "tool"]


class LineCheck(Protocol):
    """What sees each output line as it is written (e.g.
    :class:`tuner.datasets.validate.OutputCheck`, which validates the output in the same pass)."""

    def add(self, line: bytes) -> None:
        """One line as written, ending in ``\\n``."""
        ...


class ConvertInputError(UnreadableSourceError):
    """A source that cannot be read at all (missing, unknown kind, corrupt); one-line message."""


class RecordError(Exception):
    """Why one record cannot be converted; becomes a skip finding with ``code`` and ``category``."""

    def __init__(
        self,
        reason: str,
        *,
        code: str = "convert_bad_type",
        category: Category = Category.SCHEMA,
        hint: str | None = None,
        refused: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.category = category
        self.hint = hint
        # A field that an explicit option must decide about (KTO labels, preference pairs,
        # media, reasoning): the conversion stops instead of skipping record after record.
        self.refused = refused


class ConvertRefusedError(Exception):
    """A record holds a field Mistral cannot train on, and no option says what to do with it.

    Raised by :func:`convert` at the first such record; the output is left untouched.
    """

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"{finding.where}: {finding.message}")
        self.finding = finding


@dataclass(frozen=True, slots=True)
class SourceCounts:
    path: str
    read: int
    converted: int
    skipped: int
    # What became of each field of the converted records (used, dropped by an option, unused).
    fields: FieldCounts = field(default_factory=FieldCounts)
    # What row numbers count in this source: physical lines (JSON Lines) or records.
    unit: str = "line"
    # A saved DatasetDict: its splits and the one read.
    splits: tuple[str, ...] = ()
    split: str | None = None


@dataclass(frozen=True, slots=True)
class ConvertResult:
    out: Path
    sources: list[SourceCounts]
    # One finding per record that was not converted, in source order.
    skipped: list[Finding]
    # How many records were skipped for each finding code.
    skip_reasons: dict[str, int]
    # One ``convert_unused_field`` warning per source and field the output has no place for.
    warnings: list[Finding] = field(default_factory=list)
    # Temporary files of killed runs removed from the output folder before writing.
    temps_removed: list[str] = field(default_factory=list)

    @property
    def read(self) -> int:
        return sum(source.read for source in self.sources)

    @property
    def converted(self) -> int:
        return sum(source.converted for source in self.sources)

    @property
    def skipped_count(self) -> int:
        return sum(source.skipped for source in self.sources)


# --- the engine over files ---


def convert(
    sources: Sequence[str | Path],
    out: str | Path,
    *,
    source_format: str = "auto",
    mapping: Mapping | None = None,
    options: ConvertOptions = DEFAULT_OPTIONS,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
    split: str | None = None,
    check: LineCheck | None = None,
) -> ConvertResult:
    """Convert ``sources`` (shards, in order) into one Mistral instruct JSONL file at ``out``.

    ``split`` names the split of a saved DatasetDict (over the mapping's ``split``). ``check``
    is given every output line as it is written (validation in the same pass).

    ``out`` must not exist and must not be a source unless ``force``
    (:func:`tuner.fsutil.prepare_outputs`). Every source is opened before anything is written,
    so an unreadable one raises :class:`ConvertInputError` and leaves ``out`` untouched (as does
    any failure midway, and a record that ``options`` do not allow, which raises
    :class:`ConvertRefusedError`); when no record converts, ``out`` is not written either.
    """
    opened = open_sources(
        sources, out, source_format=source_format, mapping=mapping, split=split, force=force
    )

    def convert_record(record: dict[str, Any], index: int) -> tuple[dict[str, Any], RecordFields]:
        return _convert_planned(record, opened.plan, options, index)

    return write_converted(
        opened, out, convert_record, platform="Mistral", progress=progress, check=check
    )


@dataclass(frozen=True, slots=True)
class OpenedSources:
    """The sources of a conversion, all opened, with the plan to read them by."""

    plan: ResolvedMapping
    sources: list[Source]
    # Temporary files of killed runs removed from the output folder (prepare_outputs).
    removed: list[Path]


def open_sources(
    sources: Sequence[str | Path],
    out: str | Path,
    *,
    source_format: str,
    mapping: Mapping | None,
    split: str | None,
    force: bool,
) -> OpenedSources:
    """Resolve the mapping, check ``out`` may be written, and open every source (before anything
    is written, so an unreadable one leaves ``out`` untouched)."""
    chosen = mapping if mapping is not None else DEFAULT_MAPPING
    plan = chosen.resolve(resolve_format(source_format, chosen))
    removed = prepare_outputs([out], sources, force=force)
    opened = [_open(path, split if split is not None else chosen.split) for path in sources]
    return OpenedSources(plan, opened, removed)


# One source record (``index``: 0-based over all sources) to its output object and what it did
# with the record's fields; raises :class:`RecordError` for a record it skips or refuses.
RecordConverter = Callable[[dict[str, Any], int], tuple[dict[str, Any], RecordFields]]


def write_converted(
    opened: OpenedSources,
    out: str | Path,
    convert_record: RecordConverter,
    *,
    platform: str,
    progress: Progress,
    check: LineCheck | None = None,
) -> ConvertResult:
    """Write every record of the ``opened`` sources, in order, as ``convert_record`` turns it.

    The one engine of both providers' converters (``platform`` names the format in the
    unused-field warnings): ``out`` is written atomically, and not at all when nothing converts.
    """
    counts: list[SourceCounts] = []
    skipped: list[Finding] = []
    index = 0
    with atomic_writer(out, keep_empty=False) as handle:
        for source in opened.sources:
            progress.start(f"Converting {source.path.name}", source.total, "rows")
            try:
                tally = _convert_source(
                    source, handle, convert_record, index, skipped, progress, check
                )
            finally:
                progress.finish()
            counts.append(tally)
            index += tally.read
    reasons = Counter(finding.code for finding in skipped)
    warnings = [w for tally in counts for w in unused_field_warnings(tally, platform)]
    return ConvertResult(
        Path(out), counts, skipped, dict(reasons), warnings, [str(p) for p in opened.removed]
    )


def unused_field_warnings(counts: SourceCounts, platform: str = "Mistral") -> list[Finding]:
    """One warning per field of the source that is in no output line."""
    return [
        Finding(
            counts.path,
            None,
            Severity.WARNING,
            Category.SCHEMA,
            "convert_unused_field",
            f"{name!r} ({records:,} of {counts.converted:,} converted records) is not in the "
            f"output: {platform}'s format has no place for it",
            "drop it from the source, or map it to a known column in a mapping file (--map)",
        )
        for name, records in counts.fields.unused.items()
    ]


def resolve_format(source_format: str, mapping: Mapping) -> str:
    """An explicit ``source_format`` wins over the mapping's ``format``; ``auto`` defers to it."""
    if source_format not in SOURCE_FORMATS:
        raise ValueError(
            f"unknown source format {source_format!r} (expected {'|'.join(SOURCE_FORMATS)})"
        )
    return mapping.format if source_format == "auto" else source_format


def _open(path: str | Path, split: str | None) -> Source:
    try:
        return open_source(path, split=split)
    except UnreadableSourceError as exc:
        raise ConvertInputError(str(exc)) from exc


def _convert_source(
    source: Source,
    handle: BinaryIO,
    convert_record: RecordConverter,
    first_index: int,
    skipped: list[Finding],
    progress: Progress,
    check: LineCheck | None = None,
) -> SourceCounts:
    read = converted = 0
    path = str(source.path)
    fields = FieldTally()
    for row, record in _rows(source):
        read += 1
        line = _convert_row(record, convert_record, first_index + read - 1)
        if isinstance(line, tuple):
            handle.write(line[0])
            if check is not None:
                check.add(line[0])
            fields.add(line[1])
            converted += 1
        elif isinstance(line, RecordError):
            raise ConvertRefusedError(
                _finding(
                    path,
                    row,
                    UnreadableRow(line.category, line.code, line.reason, line.hint),
                    source.unit,
                )
            )
        else:
            skipped.append(_finding(path, row, line, source.unit))
        # Not held while the next row is read and parsed (a record and its output line can
        # each be hundreds of MB).
        del line, record
        if read % _PROGRESS_EVERY == 0:
            progress.advance(_PROGRESS_EVERY)
    progress.advance(read % _PROGRESS_EVERY)
    return SourceCounts(
        path,
        read,
        converted,
        read - converted,
        fields.counts(),
        source.unit,
        source.splits,
        source.split,
    )


def _rows(source: Source) -> Iterator[tuple[int | None, dict[str, Any] | UnreadableRow]]:
    try:
        yield from source.rows()
    except UnreadableSourceError as exc:
        raise ConvertInputError(str(exc)) from exc


def _convert_row(
    record: dict[str, Any] | UnreadableRow,
    convert_record: RecordConverter,
    index: int,
) -> tuple[bytes, RecordFields] | UnreadableRow | RecordError:
    """The output line for one row and what it did with the row's fields; or why there is none
    (a refusal is returned as the :class:`RecordError` itself)."""
    if isinstance(record, UnreadableRow):
        return record
    try:
        converted, fields = convert_record(record, index)
    except RecordError as exc:
        if exc.refused:
            return exc
        return UnreadableRow(exc.category, exc.code, exc.reason, exc.hint)
    try:
        # The newline appended by orjson: ``dumps(...) + b"\n"`` copied the whole line again.
        return orjson.dumps(converted, option=orjson.OPT_APPEND_NEWLINE), fields
    except orjson.JSONEncodeError as exc:
        # Lone surrogates and values JSON cannot hold (e.g. decimals from Parquet).
        return UnreadableRow(
            Category.ENCODING, "convert_bad_encoding", f"cannot be written as JSON: {exc}"
        )


def _finding(path: str, row: int | None, problem: UnreadableRow, unit: str = "line") -> Finding:
    """The finding for one row: its number is a line or a record number as the source counts."""
    line, record = (row, None) if unit == "line" else (None, row)
    return Finding(
        path,
        line,
        Severity.ERROR,
        problem.category,
        problem.code,
        problem.message,
        problem.hint,
        record,
    )


# --- one record ---


def convert_record(
    record: dict[str, Any],
    *,
    source_format: str = "auto",
    mapping: Mapping | None = None,
    options: ConvertOptions = DEFAULT_OPTIONS,
    index: int = 0,
) -> dict[str, Any]:
    """One source record as a Mistral instruct sample ``{"messages": [...], "tools"?: [...]}``.

    ``index`` (the record's position in the whole input) seeds the ids of tool calls the
    conversion invents, so the output is deterministic. Raises :class:`RecordError` (with
    ``refused`` set when ``options`` do not allow a field the record holds).
    """
    return convert_record_fields(
        record, source_format=source_format, mapping=mapping, options=options, index=index
    )[0]


def convert_record_fields(
    record: dict[str, Any],
    *,
    source_format: str = "auto",
    mapping: Mapping | None = None,
    options: ConvertOptions = DEFAULT_OPTIONS,
    index: int = 0,
) -> tuple[dict[str, Any], RecordFields]:
    """:func:`convert_record`, and what the conversion did with each field of the record."""
    chosen = mapping if mapping is not None else DEFAULT_MAPPING
    plan = chosen.resolve(resolve_format(source_format, chosen))
    return _convert_planned(record, plan, options, index)


@dataclass(frozen=True, slots=True)
class PreferencePair:
    """A recognised preference record: the same prompt with a better and a worse ending.

    ``chosen`` and ``rejected`` are whole conversations in Mistral's message form (the prompt
    is their common beginning), as DPO-style targets want them; ``tools`` is shared.
    """

    chosen: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    tools: list[dict[str, Any]]


def preference_pair(
    record: dict[str, Any],
    *,
    source_format: str = "auto",
    mapping: Mapping | None = None,
    index: int = 0,
) -> PreferencePair | None:
    """The preference pair a record holds, or None when it is not preference data.

    Recognises ``chosen``/``rejected`` columns beside ShareGPT/OpenAI turns, Alpaca instruction
    and input, a ``prompt``, or nothing (whole conversations); OpenAI's DPO shape (``input``,
    ``preferred_output``, ``non_preferred_output``); LLaMA-Factory v1's ``chosen_messages`` and
    ``rejected_messages``. Raises :class:`RecordError` when the pair cannot be read.
    """
    chosen = mapping if mapping is not None else DEFAULT_MAPPING
    plan = chosen.resolve(resolve_format(source_format, chosen))
    ctx = _Ctx(plan, ConvertOptions(preference="chosen"), RecordFields(), index)
    _check_media(record, ctx)
    return _preference(record, ctx)


@dataclass(slots=True)
class _Ctx:
    """One record's conversion: the plan, the options, and where each field went."""

    plan: ResolvedMapping
    options: ConvertOptions
    fields: RecordFields
    index: int
    # Tools declared in LLaMA-Factory v1 ``tools`` chunks.
    chunk_tools: list[dict[str, Any]] = field(default_factory=list)
    # Whether media columns were dropped (their placeholders are then stripped from the text).
    media_dropped: bool = False

    def use(self, key: str) -> None:
        self.fields.used.add(key)

    def drop(self, key: str) -> None:
        self.fields.dropped.add(key)


def _convert_planned(
    record: dict[str, Any], plan: ResolvedMapping, options: ConvertOptions, index: int
) -> tuple[dict[str, Any], RecordFields]:
    ctx = _Ctx(plan, options, RecordFields(), index)
    _check_kto(record, ctx)
    _check_media(record, ctx)
    pair = _preference(record, ctx)
    if pair is not None:
        # Only reached with --preference chosen: the rejected ending was dropped on purpose.
        sample: dict[str, Any] = {"messages": pair.chosen}
        if pair.tools:
            sample["tools"] = pair.tools
    else:
        shape = _detect_shape(record, plan) if plan.format == "auto" else _shape_of(plan.format)
        if shape == "messages":
            turns = _turns_from_list(record, ctx)
        elif shape == "alpaca":
            turns = _alpaca_turns(record, ctx)
        else:
            turns = _prompt_completion_turns(record, ctx)
        system = _system_prompt(record, ctx)
        tools = _tools(record, ctx) + ctx.chunk_tools
        sample = {"messages": _assemble(_stripped(turns, ctx), system, index)}
        if tools:
            sample["tools"] = tools
    ctx.fields.finish(record)
    return sample, ctx.fields


def _shape_of(source_format: str) -> Shape:
    if source_format == "alpaca":
        return "alpaca"
    if source_format == "prompt-completion":
        return "prompt-completion"
    return "messages"


def _detect_shape(record: dict[str, Any], plan: ResolvedMapping) -> Shape:
    """The shape of a record from its keys (``auto``); raises when none or several fit."""
    found: list[str] = [key for key in plan.columns["messages"] if _has(record, key)]
    shapes: list[Shape] = ["messages"] if found else []
    if _has_all(record, plan, "instruction", "output"):
        shapes.append("alpaca")
        found += ["+".join(_present(record, plan, "instruction", "output"))]
    if _has_all(record, plan, "prompt", "completion"):
        shapes.append("prompt-completion")
        found += ["+".join(_present(record, plan, "prompt", "completion"))]
    if len(found) == 1:
        return shapes[0]
    if not found:
        for name in _SHAPE_FIELDS:
            column = plan.configured.get(name)
            if column is not None and not _has(record, column):
                raise missing_column(record, (column,), name)
        keys = ", ".join(sorted(record)) or "none"
        raise RecordError(
            f"no known conversation shape in a record with keys: {_show(keys)}",
            code="convert_unknown_shape",
            hint=_unknown_shape_hint(record),
        )
    raise RecordError(
        f"the record fits several shapes ({', '.join(found)})",
        code="convert_ambiguous_shape",
        hint="pass --from, or set format (and columns) in a mapping file",
    )


# The columns that decide a record's shape, in the order a missing one is reported.
_SHAPE_FIELDS = ("messages", "instruction", "output", "prompt", "completion")


def missing_column(record: dict[str, Any], columns: tuple[str, ...], name: str) -> RecordError:
    """The record has none of ``columns`` (for the mapping field ``name``): say which, and what
    the record has instead (the closest key first, as a misspelling usually is)."""
    import difflib

    wanted = " or ".join(repr(c) for c in columns)
    keys = sorted(record)
    close = difflib.get_close_matches(columns[0], keys, n=1, cutoff=0.6)
    hint = (
        f"did you mean {close[0]!r}? set [columns] {name} = {close[0]!r} in the mapping file"
        if close
        else f"name it in a mapping file ([columns] {name} = ...)"
    )
    return RecordError(
        f"no {wanted} column ({name}) in the record; its keys: {_show(', '.join(keys) or 'none')}",
        code="convert_missing_column",
        hint=hint,
    )


def _unknown_shape_hint(record: dict[str, Any]) -> str:
    if _has(record, "text"):
        return "a record with only 'text' is pretraining data, not a conversation"
    if _has(record, "chosen") or _has(record, "rejected"):
        return "a preference pair needs both 'chosen' and 'rejected' (or a mapping naming them)"
    return "name the record's columns in a mapping file ([columns])"


def _has(record: dict[str, Any], key: str) -> bool:
    # Columnar sources give every row every column, with None where a row has no value.
    return record.get(key) is not None


def _present(record: dict[str, Any], plan: ResolvedMapping, *fields: ColumnField) -> list[str]:
    names = []
    for name in fields:
        key = _first_key(record, plan.columns[name])
        if key is not None:
            names.append(key)
    return names


def _has_all(record: dict[str, Any], plan: ResolvedMapping, *fields: ColumnField) -> bool:
    return len(_present(record, plan, *fields)) == len(fields)


def _first_key(record: dict[str, Any], keys: Sequence[str]) -> str | None:
    # A plain loop: this runs several times per turn.
    for key in keys:
        if record.get(key) is not None:
            return key
    return None


def _show(value: object, limit: int = 80) -> str:
    """A short excerpt of ``value`` as JSON (what the user wrote), never a Python repr."""
    if isinstance(value, str):
        return excerpt(value, limit)
    try:
        text = orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        text = repr(value)
    return excerpt(text, limit)


def _json_type(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


# --- fields Mistral cannot train on: KTO labels, media ---

# Values a KTO column may hold (CSV cells are text).
_KTO_VALUES: dict[object, bool] = {True: True, False: False, "true": True, "false": False}
_MEDIA_FIELDS: tuple[ColumnField, ...] = ("images", "videos", "audios")
_PLACEHOLDER = re.compile(r"<(?:image|video|audio)>")


def _check_kto(record: dict[str, Any], ctx: _Ctx) -> None:
    """A record-level KTO judgement (LLaMA-Factory ``kto_tag``, its demo data's ``label``)."""
    for key in ctx.plan.columns["kto_tag"]:
        value = record.get(key)
        if value is None:
            continue
        label = _KTO_VALUES.get(value.strip().lower() if isinstance(value, str) else value)
        if label is None:
            if len(ctx.plan.columns["kto_tag"]) == 1:  # named in a mapping: it must be a label
                raise RecordError(
                    f"the KTO column {key!r} holds {_show(value)}, not true or false",
                    hint="a KTO label says whether the answer is desirable: true or false",
                )
            continue  # a default name holding something else is just another column
        _kto_label(key, label, ctx)


def _kto_label(key: str, label: bool, ctx: _Ctx) -> None:
    if ctx.options.kto == "refuse":
        raise RecordError(
            f"{key!r} labels answers desirable (true) or undesirable (false), as in KTO data; "
            "Mistral fine-tuning would train on the undesirable ones too",
            code="convert_kto_label",
            hint=f"pass {KTO_OPTION} to convert only the records labelled true "
            "(the others are skipped and counted)",
            refused=True,
        )
    if not label:
        raise RecordError(
            f"{key!r} is false: the answer is marked undesirable, so it is not trained on",
            code="convert_kto_undesirable",
            category=Category.CONTENT,
        )
    ctx.use(key)


def _check_media(record: dict[str, Any], ctx: _Ctx) -> None:
    columns = ctx.plan.columns
    if not any(key in record for name in _MEDIA_FIELDS for key in columns[name]):
        return
    for name in _MEDIA_FIELDS:
        for key in ctx.plan.columns[name]:
            value = record.get(key)
            if is_empty(value):
                continue
            if ctx.options.media == "refuse":
                raise RecordError(
                    f"{key!r} holds {name} ({_show(value, 40)}): Mistral text fine-tuning cannot "
                    "train on them, and the text refers to them",
                    code="convert_media",
                    hint=f"pass {MEDIA_OPTION} to leave them out and strip the <image>, <video> "
                    "and <audio> placeholders from the text",
                    refused=True,
                )
            ctx.drop(key)
            ctx.media_dropped = True


def _stripped(turns: list[_Turn], ctx: _Ctx) -> list[_Turn]:
    """The turns without media placeholders, once their media were dropped."""
    if not ctx.media_dropped:
        return turns
    return [
        _Turn(t.role, _PLACEHOLDER.sub("", t.content), t.calls, t.answers, t.name, t.weight)
        if t.content is not None
        else t
        for t in turns
    ]


# --- preference pairs ---

# LLaMA-Factory v1 DPO samples (OpenAI DPO is recognised by its two output columns).
_V1_DPO = ("chosen_messages", "rejected_messages")


def _preference(record: dict[str, Any], ctx: _Ctx) -> PreferencePair | None:
    """The pair when the record is preference data (refused unless ``--preference chosen``)."""
    plan = ctx.plan
    chosen_key = _first_key(record, plan.columns["chosen"])
    rejected_key = _first_key(record, plan.columns["rejected"])
    if _has(record, "preferred_output") and _has(record, "non_preferred_output"):
        keys = ("preferred_output", "non_preferred_output")
    elif _has(record, "chosen_messages") and _has(record, "rejected_messages"):
        keys = _V1_DPO
    elif chosen_key is not None and rejected_key is not None:
        keys = (chosen_key, rejected_key)
    else:
        return None
    if ctx.options.preference == "refuse":
        raise RecordError(
            f"a preference pair ({keys[0]!r} and {keys[1]!r}): Mistral's fine-tuning API has no "
            "preference tuning (DPO), so the pair cannot be trained as it is",
            code="convert_preference_pair",
            hint=f"pass {PREFERENCE_OPTION} to build SFT data from the chosen answers "
            "(the rejected ones are left out)",
            refused=True,
        )
    if keys[0] == "preferred_output":
        prompt, tools = _openai_dpo_prompt(record, ctx)
    elif keys == _V1_DPO:
        prompt, tools = [], _tools(record, ctx)
    else:
        prompt, tools = _preference_prompt(record, ctx), _tools(record, ctx)
    system = _system_prompt(record, ctx)
    chosen = _ending(record, keys[0], ctx)
    # The rejected ending is read (so a pair can be written out whole) but is not in the SFT
    # output: its inner keys are not counted as used.
    kept, ctx.fields = ctx.fields, RecordFields()
    try:
        rejected = _ending(record, keys[1], ctx)
    finally:
        ctx.fields = kept
    ctx.use(keys[0])
    ctx.drop(keys[1])
    return PreferencePair(
        _assemble(_stripped(prompt + chosen, ctx), system, ctx.index),
        _assemble(_stripped(prompt + rejected, ctx), system, ctx.index),
        tools + ctx.chunk_tools,
    )


def _openai_dpo_prompt(
    record: dict[str, Any], ctx: _Ctx
) -> tuple[list[_Turn], list[dict[str, Any]]]:
    """OpenAI DPO ``input``: ``{"messages": [...], "tools"?: [...]}``."""
    raw = _json_value(record.get("input"), "'input'")
    if not isinstance(raw, dict) or not isinstance(raw.get("messages"), list):
        raise RecordError(f"'input' is not an object with a 'messages' list: {_show(raw)}")
    ctx.use("input")
    turns = _raw_turns(raw["messages"], "input.messages[]", ctx)
    tools = _tool_list(raw["tools"], "input.tools") if raw.get("tools") else []
    return turns, tools


def _preference_prompt(record: dict[str, Any], ctx: _Ctx) -> list[_Turn]:
    """The shared beginning: turns, Alpaca instruction (and input, history), a prompt, or none."""
    plan = ctx.plan
    if any(_has(record, key) for key in plan.columns["messages"]):
        return _turns_from_list(record, ctx)
    if _first_key(record, plan.columns["instruction"]) is not None:
        return _alpaca_prompt(record, ctx)
    key = _first_key(record, plan.columns["prompt"])
    if key is None:
        return []  # the chosen and rejected columns hold whole conversations
    ctx.use(key)
    value = _json_value(record[key], key)
    if isinstance(value, list):
        return _raw_turns(value, f"{key}[]", ctx)
    return [_Turn("user", _text(value, f"the {key!r} column", ctx) or "")]


def _ending(record: dict[str, Any], key: str, ctx: _Ctx) -> list[_Turn]:
    """One side of a pair: an answer text, one turn object, or a list of turns."""
    value = _json_value(record[key], key)
    if isinstance(value, str):
        if not value.strip():
            raise RecordError(f"{key!r} is empty", code="convert_empty")
        return [_Turn("assistant", value)]
    if isinstance(value, dict):
        return _turn(value, 1, ctx, key)
    if isinstance(value, list):
        return _raw_turns(value, f"{key}[]", ctx)
    raise RecordError(f"{key!r} is not an answer, a turn or a list of turns: {_show(value)}")


# --- intermediate turns ---


@dataclass(frozen=True, slots=True)
class _Call:
    name: str
    arguments: str
    source_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Turn:
    role: OutRole
    content: str | None
    calls: tuple[_Call, ...] = ()
    # Tool results: the call id they answer in the source, and the function's name (legacy).
    answers: str | None = None
    name: str | None = None
    weight: Any = None


def _turns_from_list(record: dict[str, Any], ctx: _Ctx) -> list[_Turn]:
    columns = ctx.plan.columns["messages"]
    key = _first_key(record, columns)
    if key is None:
        raise missing_column(record, columns, "messages")
    ctx.use(key)
    raw_turns = _json_value(record[key], key)
    if not isinstance(raw_turns, list):
        raise RecordError(f"{key!r} is not a list of turns: {_show(raw_turns)}")
    return _raw_turns(raw_turns, f"{key}[]", ctx)


def _raw_turns(raw_turns: list[Any], where: str, ctx: _Ctx) -> list[_Turn]:
    turns: list[_Turn] = []
    for number, raw in enumerate(raw_turns, start=1):
        turns += _turn(raw, number, ctx, where)
    return turns


# Keys a turn may carry besides its role and content, by target role; anything else is unused.
_TURN_KEYS: dict[str, frozenset[str]] = {
    "assistant": frozenset(
        {"weight", "loss_weight", "label", "tool_calls", "function_call", "reasoning_content"}
    ),
    "tool_call": frozenset({"weight", "loss_weight", "label"}),
    "tool": frozenset({"weight", "tool_call_id", "name"}),
    "user": frozenset({"weight"}),
    "system": frozenset({"weight"}),
}
# LLaMA-Factory v1 writes a loss_weight on every turn; Mistral only weighs assistant turns.
_UNWEIGHTED_KEYS = frozenset({"loss_weight"})


def _turn(raw: object, number: int, ctx: _Ctx, where: str) -> list[_Turn]:
    """One source turn as one turn (two when its reasoning is kept as an untrained turn)."""
    if not isinstance(raw, dict):
        raise RecordError(f"turn {number} is not an object: {_show(raw)}")
    plan = ctx.plan
    role_key = _first_key(raw, plan.role_keys)
    if role_key is None:
        keys = " or ".join(repr(k) for k in plan.role_keys)
        raise RecordError(
            f"turn {number} has no role ({keys})",
            code="convert_missing_key",
            hint="name the role key in a mapping file ([keys] role = ...)",
        )
    role = plan.role_for(str(raw[role_key]))
    if role is None:
        name = str(raw[role_key])
        raise RecordError(
            f"unknown role {_show(name)!r} in turn {number}",
            code="convert_unknown_role",
            category=Category.ROLE,
            hint=f'map it in a mapping file: [roles] "{_show(name, 40)}" = "user" (or '
            "assistant, system, tool, tool_call)",
        )
    content_key = _first_key(raw, plan.content_keys)
    content = raw[content_key] if content_key is not None else None
    _account_turn(raw, role, (role_key, content_key), where, ctx)
    label = raw.get("label")
    if role in ("assistant", "tool_call") and label in (True, False):
        _kto_label(f"{where}.label", bool(label), ctx)
    weight = _turn_weight(raw, role, number)
    if role == "tool_call":
        calls = tuple(_calls_from_payload(content, f"turn {number}"))
        return [_Turn("assistant", None, calls, weight=weight)]
    if role == "assistant":
        return _assistant_turns(raw, content, number, weight, ctx)
    if role == "tool":
        return [
            _Turn(
                "tool",
                _tool_text(content, number, ctx),
                answers=_optional_str(raw.get("tool_call_id")),
                name=_optional_str(raw.get("name")),
                weight=weight,
            )
        ]
    text = _required_text(content, role, number, ctx)
    if role == "system" and not text and _only_tools_chunks(content):
        return []  # a v1 system turn that only declares the tools: no system prompt
    return [_Turn(role, text, weight=weight)]


def _only_tools_chunks(content: object) -> bool:
    return isinstance(content, list) and all(
        isinstance(chunk, dict) and chunk.get("type") == "tools" for chunk in content
    )


# Turn layout -> (the field names it uses, its other keys with their field names). Turns of a
# dataset share a few layouts, so names are built once per layout, not once per turn.
_LAYOUTS: dict[tuple[Any, ...], tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {}
_MAX_LAYOUTS = 4096


def _account_turn(
    raw: dict[str, Any], role: str, keys: tuple[str | None, ...], where: str, ctx: _Ctx
) -> None:
    layout = (where, role, keys, *raw)
    names = _LAYOUTS.get(layout)
    if names is None:
        names = _layout_names(raw, role, keys, where)
        if len(_LAYOUTS) >= _MAX_LAYOUTS:
            _LAYOUTS.clear()  # odd data with ever new keys: stay bounded
        _LAYOUTS[layout] = names
    used, other = names
    ctx.fields.used.update(used)
    for key, name in other:
        if not is_empty(raw[key]):
            ctx.fields.unused.add(name)


def _layout_names(
    raw: dict[str, Any], role: str, keys: tuple[str | None, ...], where: str
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    known = _TURN_KEYS[role]
    used = tuple(
        f"{where}.{key}" for key in raw if key in keys or key in known or key in _UNWEIGHTED_KEYS
    )
    other = tuple(
        (key, f"{where}.{key}")
        for key in raw
        if not (key in keys or key in known or key in _UNWEIGHTED_KEYS)
    )
    return used, other


def _turn_weight(raw: dict[str, Any], role: str, number: int) -> Any:
    """``weight`` as given, else LLaMA-Factory v1's ``loss_weight`` on assistant turns (0 or 1)."""
    weight = raw.get("weight")
    if weight is not None:
        return weight
    loss_weight = raw.get("loss_weight")
    if loss_weight is None or role not in ("assistant", "tool_call"):
        return None  # user, system and tool turns are never trained: nothing to write
    if isinstance(loss_weight, bool) or not isinstance(loss_weight, int | float):
        raise RecordError(
            f"turn {number} has loss_weight {_show(loss_weight)}, not a number",
            code="convert_bad_weight",
            category=Category.WEIGHT,
        )
    if loss_weight not in (0, 1):
        raise RecordError(
            f"turn {number} has loss_weight {_show(loss_weight)}: Mistral trains an assistant "
            "turn fully (weight 1) or not at all (weight 0)",
            code="convert_bad_weight",
            category=Category.WEIGHT,
            hint="use loss_weight 0 or 1; partial weights have no Mistral equivalent",
        )
    return int(loss_weight)


def _assistant_turns(
    raw: dict[str, Any], content: object, number: int, weight: Any, ctx: _Ctx
) -> list[_Turn]:
    where = f"turn {number}"
    calls: list[_Call] = []
    if raw.get("tool_calls") is not None:
        calls += _calls_from_openai(raw["tool_calls"], where)
    if raw.get("function_call") is not None:
        # Legacy OpenAI: one call without an id; the id is invented when assembling.
        calls += _calls_from_payload(raw["function_call"], where)
    parts = _parts(content, where, ctx)
    calls += parts.calls
    reasoning = parts.reasoning
    if isinstance(raw.get("reasoning_content"), str) and raw["reasoning_content"].strip():
        # DeepSeek-style exports keep the chain of thought beside the answer.
        reasoning = [
            _reasoning(raw["reasoning_content"], "reasoning_content", where, ctx),
            *reasoning,
        ]
    if parts.text is None and not calls:
        raise RecordError(f"assistant turn {number} has no content", code="convert_missing_key")
    turns = [_Turn("assistant", text, weight=0) for text in reasoning if text is not None]
    return [*turns, _Turn("assistant", parts.text, tuple(calls), weight=weight)]


def _required_text(content: object, role: str, number: int, ctx: _Ctx) -> str:
    text = _text(content, f"turn {number}", ctx)
    if text is None:
        keys = " or ".join(repr(k) for k in ctx.plan.content_keys)
        raise RecordError(
            f"{role} turn {number} has no content ({keys})",
            code="convert_missing_key",
            hint="name the content key in a mapping file ([keys] content = ...)",
        )
    return text


@dataclass(slots=True)
class _Parts:
    """Content read from a string or a list of chunks."""

    text: str | None
    reasoning: list[str | None] = field(default_factory=list)
    calls: list[_Call] = field(default_factory=list)


# Chunk types by what they hold (OpenAI, Mistral, LLaMA-Factory v1, Anthropic-style exports).
_REASONING_CHUNKS = frozenset({"reasoning", "thinking"})
_CALL_CHUNKS = frozenset({"tool_call", "tool_calls"})
_MEDIA_CHUNKS = frozenset(
    {
        "image",
        "image_url",
        "input_image",
        "audio",
        "input_audio",
        "audio_url",
        "video",
        "video_url",
    }
)


def _text(value: object, where: str, ctx: _Ctx) -> str | None:
    """Text content: a string, a list of text chunks (joined), a number; None when absent."""
    if value is None or isinstance(value, str):
        return value
    parts = _parts(value, where, ctx)
    if parts.calls:
        raise RecordError(f"{where} holds a tool call chunk, but only assistant turns make calls")
    if any(text is not None for text in parts.reasoning):
        raise RecordError(
            f"{where} holds a reasoning chunk, but only assistant turns reason",
            hint="pass --reasoning drop to leave it out",
        )
    return parts.text


def _parts(value: object, where: str, ctx: _Ctx) -> _Parts:
    if value is None or isinstance(value, str):
        return _Parts(value)
    if isinstance(value, bool):
        raise RecordError(f"the content of {where} is a boolean, not text")
    if isinstance(value, int | float):
        return _Parts(str(value))
    if isinstance(value, list):
        parts = _Parts("")
        for chunk in value:
            _read_chunk(chunk, where, ctx, parts)
        return parts
    raise RecordError(
        f"the content of {where} is a JSON {_json_type(value)}, not text or a list of chunks: "
        f"{_show(value)}"
    )


def _read_chunk(chunk: object, where: str, ctx: _Ctx, parts: _Parts) -> None:
    if isinstance(chunk, str):
        parts.text = (parts.text or "") + chunk
        return
    if not isinstance(chunk, dict):
        raise RecordError(
            f"a content chunk of {where} is a JSON {_json_type(chunk)}, not a chunk object: "
            f"{_show(chunk)}",
            hint='a text chunk is {"type": "text", "text": "..."} ("value" in LLaMA-Factory v1)',
        )
    kind = chunk.get("type", "text")
    if kind == "text":
        text = _chunk_value(chunk)
        if text is None:
            raise RecordError(
                f"a text chunk of {where} has no 'text' or 'value' string: {_show(chunk)}"
            )
        parts.text = (parts.text or "") + text
    elif kind in _REASONING_CHUNKS:
        parts.reasoning.append(_reasoning(_chunk_value(chunk), f"{kind!r} chunk", where, ctx))
    elif kind in _CALL_CHUNKS:
        value = chunk.get("value", chunk.get(kind))
        parts.calls += _calls_from_payload(value, where)
    elif kind == "tools":
        # LLaMA-Factory v1 declares the tools in a chunk (of the system turn).
        ctx.chunk_tools += _tool_list(chunk.get("value"), f"a 'tools' chunk of {where}")
    elif kind in _MEDIA_CHUNKS:
        if ctx.options.media == "refuse":
            raise RecordError(
                f"{where} holds a {_show(kind, 30)} chunk: Mistral text fine-tuning cannot "
                "train on images, audio or video",
                code="convert_media",
                hint=f"pass {MEDIA_OPTION} to leave such chunks out",
                refused=True,
            )
        ctx.drop(f"{kind} chunks")
    else:
        raise RecordError(
            f"{where} holds a {_show(kind, 30)} chunk, which has no place in Mistral's text "
            f"format: {_show(chunk)}",
            code="convert_unsupported_content",
        )


def _chunk_value(chunk: dict[str, Any]) -> str | None:
    for key in ("text", "value", "thinking"):
        value = chunk.get(key)
        if isinstance(value, str):
            return value
    return None


def _reasoning(text: str | None, what: str, where: str, ctx: _Ctx) -> str | None:
    """The reasoning to keep as an untrained turn, or None when it is dropped (or refused)."""
    policy = ctx.options.reasoning
    if policy == "refuse":
        raise RecordError(
            f"{where} holds reasoning (a {what}): the model's chain of thought, which Mistral's "
            "format has no place for",
            code="convert_reasoning",
            hint=f"pass {REASONING_OPTIONS} to keep it as an untrained assistant turn",
            refused=True,
        )
    if text is None:
        raise RecordError(f"{where} holds a {what} without text")
    if policy == "drop":
        ctx.drop("reasoning chunks")
        return None
    ctx.use("reasoning chunks")
    return text


def _tool_text(content: object, number: int, ctx: _Ctx) -> str:
    # Tool results are often structured; the platform wants them as a string.
    if isinstance(content, dict | bool) or (
        isinstance(content, list) and not all(_is_text_chunk(chunk) for chunk in content)
    ):
        return orjson.dumps(content).decode()
    text = _text(content, f"turn {number}", ctx)
    if text is None:
        raise RecordError(f"tool turn {number} has no content", code="convert_missing_key")
    return text


def _is_text_chunk(chunk: object) -> bool:
    return isinstance(chunk, str) or (
        isinstance(chunk, dict)
        and chunk.get("type") == "text"
        and isinstance(chunk.get("text", chunk.get("value")), str)
    )


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# --- tool calls ---


def _calls_from_openai(value: object, where: str) -> list[_Call]:
    """OpenAI/Mistral ``tool_calls``: ``[{"id", "type", "function": {"name", "arguments"}}]``."""
    raw = _json_value(value, f"tool_calls of {where}")
    if not isinstance(raw, list):
        raise _bad_call(where, raw)
    calls = []
    for item in raw:
        if not isinstance(item, dict):
            raise _bad_call(where, item)
        function = item.get("function", item)
        call = _call(function, where)
        calls.append(_Call(call.name, call.arguments, _optional_str(item.get("id"))))
    return calls


def _calls_from_payload(value: object, where: str) -> list[_Call]:
    """A call payload ``{"name", "arguments"}`` (or a list of them, for parallel calls)."""
    raw = _json_value(value, f"the tool call of {where}")
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise _bad_call(where, raw)
    return [_call(item, where) for item in items]


def _call(function: object, where: str) -> _Call:
    if not isinstance(function, dict):
        raise _bad_call(where, function)
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise _bad_call(where, function)
    arguments = function.get("arguments")
    if arguments is None:
        # Some exports (glaive-style) name them "parameters".
        arguments = function.get("parameters")
    return _Call(name, _arguments(arguments, where), _optional_str(function.get("id")))


def _arguments(value: object, where: str) -> str:
    """Arguments as the JSON string the platform wants (objects are serialised)."""
    if value is None:
        return "{}"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    raise RecordError(
        f"the arguments of the tool call in {where} are not an object: {_show(value)}",
        code="convert_bad_tool_call",
        category=Category.TOOL,
    )


def _bad_call(where: str, value: object) -> RecordError:
    return RecordError(
        f'{where} holds a malformed tool call (want {{"name", "arguments"}}): {_show(value)}',
        code="convert_bad_tool_call",
        category=Category.TOOL,
    )


def call_id(index: int, position: int) -> str:
    """A deterministic valid call id (9 chars of [a-zA-Z0-9]) for call ``position`` of a record."""
    digest = hashlib.blake2b(f"{index}:{position}".encode(), digest_size=_ID_LENGTH).digest()
    # The slight modulo bias does not matter: ids only need to differ within one conversation.
    return "".join(_ID_ALPHABET[byte % len(_ID_ALPHABET)] for byte in digest)


# --- system prompt and tools ---


def _system_prompt(record: dict[str, Any], ctx: _Ctx) -> str | None:
    key = _first_key(record, ctx.plan.columns["system"])
    if key is None:
        return None
    ctx.use(key)
    text = _text(record[key], f"the {key!r} column", ctx)
    # An empty cell means "no system prompt" (CSV and Parquet give every row every column).
    return text if text and text.strip() else None


def _tools(record: dict[str, Any], ctx: _Ctx) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    for key in ctx.plan.columns["tools"]:
        if _has(record, key):
            ctx.use(key)
            tools += _tool_list(record[key], key)
    return tools


def _tool_list(value: object, key: str) -> list[dict[str, Any]]:
    if isinstance(value, str) and not value.strip():
        return []
    raw = _json_value(value, key)
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise _bad_tools(key, raw)
    return [_tool(item, key) for item in items]


def _tool(item: object, key: str) -> dict[str, Any]:
    """A tools entry; a bare function schema (legacy ``functions``, LLaMA-Factory) is wrapped."""
    if isinstance(item, str):
        item = _json_value(item, key)
    if not isinstance(item, dict):
        raise _bad_tools(key, item)
    if isinstance(item.get("function"), dict):
        return {"type": "function", **item}
    if isinstance(item.get("name"), str):
        return {"type": "function", "function": item}
    raise _bad_tools(key, item)


def _bad_tools(key: str, value: object) -> RecordError:
    return RecordError(
        f"{key} is not a list of tools (function schemas): {_show(value)}"
        if key.startswith("a ")
        else f"{key!r} is not a list of tools (function schemas): {_show(value)}",
        code="convert_bad_tools",
        category=Category.TOOL,
    )


def _json_value(value: object, what: str) -> Any:
    """``value``, or what it holds when it is JSON text (CSV cells, ShareGPT tool columns)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text.startswith(("[", "{")):
        return value
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RecordError(
            f"{what} is not valid JSON ({exc.msg}): {_show(text)}",
            code="convert_bad_json",
            category=Category.JSON,
        ) from exc


# --- Alpaca and prompt/completion ---


def _alpaca_turns(record: dict[str, Any], ctx: _Ctx) -> list[_Turn]:
    turns = _alpaca_prompt(record, ctx)
    output = _column_text(record, ctx, "output", required=True) or ""
    if not output.strip():
        raise RecordError("empty output", code="convert_empty")
    return [*turns, _Turn("assistant", output)]


def _alpaca_prompt(record: dict[str, Any], ctx: _Ctx) -> list[_Turn]:
    """History pairs, then instruction and input joined by a newline (as LLaMA-Factory does)."""
    instruction = _column_text(record, ctx, "instruction", required=True) or ""
    extra = _column_text(record, ctx, "input", required=False) or ""
    prompt = "\n".join(part for part in (instruction, extra) if part.strip())
    if not prompt.strip():
        raise RecordError("empty instruction and input", code="convert_empty")
    return [*_history_turns(record, ctx), _Turn("user", prompt)]


def _history_turns(record: dict[str, Any], ctx: _Ctx) -> list[_Turn]:
    key = _first_key(record, ctx.plan.columns["history"])
    if key is None:
        return []
    ctx.use(key)
    history = _json_value(record[key], key)
    if isinstance(history, str) and not history.strip():
        return []
    if not isinstance(history, list):
        raise RecordError(f"{key!r} is not a list of [user, assistant] pairs: {_show(history)}")
    turns: list[_Turn] = []
    for number, pair in enumerate(history, start=1):
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise RecordError(
                f"{key!r} entry {number} is not a [user, assistant] pair: {_show(pair)}"
            )
        turns += [_Turn("user", pair[0]), _Turn("assistant", pair[1])]
    return turns


def _prompt_completion_turns(record: dict[str, Any], ctx: _Ctx) -> list[_Turn]:
    prompt = _column_text(record, ctx, "prompt", required=True) or ""
    completion = _column_text(record, ctx, "completion", required=True) or ""
    if not prompt.strip():
        raise RecordError("empty prompt", code="convert_empty")
    if not completion.strip():
        raise RecordError("empty completion", code="convert_empty")
    return [_Turn("user", prompt), _Turn("assistant", completion)]


def _column_text(
    record: dict[str, Any], ctx: _Ctx, name: ColumnField, *, required: bool
) -> str | None:
    columns = ctx.plan.columns[name]
    key = _first_key(record, columns)
    if key is None:
        if required:
            raise missing_column(record, columns, name)
        return None
    ctx.use(key)
    value = record[key]
    if isinstance(value, list):
        raise RecordError(f"{key!r} is a list, not text: {_show(value)}")
    return _text(value, f"the {key!r} column", ctx)


# --- assembling messages ---


@dataclass(slots=True)
class _Pending:
    id: str
    name: str
    source_id: str | None


@dataclass(slots=True)
class _Assembler:
    """Turns into Mistral messages, giving every call a valid id and every result its call's."""

    index: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)
    # Source ids already rewritten, so a later result can refer to an answered call too.
    id_map: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    position: int = 0
    # Whether the last message is an assistant call message with nothing answered yet.
    open_calls: bool = False

    def add(self, turn: _Turn) -> None:
        if turn.role == "tool":
            self._add_result(turn)
        elif turn.calls:
            self._add_calls(turn)
        else:
            self._require_answered(turn.role)
            self._append(_message(turn.role, turn.content, turn.weight))

    def finish(self) -> list[dict[str, Any]]:
        if self.pending and not self.open_calls:
            raise _unanswered(self.pending)
        return self.messages

    def _add_calls(self, turn: _Turn) -> None:
        if turn.content is not None and turn.content.strip():
            # The platform forbids text beside tool calls: keep the text as its own turn.
            self._require_answered("assistant")
            self._append(_message("assistant", turn.content, turn.weight))
        if self.open_calls:
            # Consecutive call turns (one ShareGPT turn per call) are one parallel call.
            message = self.messages[-1]
        else:
            self._require_answered("assistant")
            message = {"role": "assistant", "tool_calls": []}
            if turn.weight is not None:
                message["weight"] = turn.weight
            self._append(message)
            self.open_calls = True
        for call in turn.calls:
            new_id = self._id_for(call.source_id)
            message["tool_calls"].append(
                {
                    "id": new_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
            )
            self.pending.append(_Pending(new_id, call.name, call.source_id))

    def _add_result(self, turn: _Turn) -> None:
        answered = self._take_pending(turn)
        self.messages.append({"role": "tool", "content": turn.content, "tool_call_id": answered})
        self.open_calls = False

    def _take_pending(self, turn: _Turn) -> str:
        """The id of the call this result answers: by source id, then by name, then in order."""
        pending = self._match(turn)
        if pending is not None:
            self.pending.remove(pending)
            return pending.id
        if turn.answers is not None and turn.answers in self.id_map:
            return self.id_map[turn.answers]
        if turn.answers is not None and CALL_ID_PATTERN.match(turn.answers):
            return turn.answers
        raise RecordError(
            f"a tool result ({excerpt(turn.content or '', 40)}) answers no tool call",
            code="convert_orphan_tool_result",
            category=Category.STRUCTURE,
            hint="a tool/observation turn must follow an assistant tool call",
        )

    def _match(self, turn: _Turn) -> _Pending | None:
        if turn.answers is not None:
            by_id = next((p for p in self.pending if p.source_id == turn.answers), None)
            if by_id is not None:
                return by_id
        elif turn.name is not None:
            # Legacy OpenAI `function` messages name the function they answer.
            by_name = next((p for p in self.pending if p.name == turn.name), None)
            if by_name is not None:
                return by_name
        return self.pending[0] if self.pending else None

    def _require_answered(self, role: str) -> None:
        if self.pending:
            raise _unanswered(self.pending, before=role)
        self.open_calls = False

    def _id_for(self, source_id: str | None) -> str:
        # Valid ids are kept as they are; missing or invalid ones (OpenAI's "call_...") replaced.
        if source_id is not None and CALL_ID_PATTERN.match(source_id):
            self.used.add(source_id)
            return source_id
        new_id = call_id(self.index, self.position)
        while new_id in self.used:
            self.position += 1
            new_id = call_id(self.index, self.position)
        self.position += 1
        self.used.add(new_id)
        if source_id is not None:
            self.id_map[source_id] = new_id
        return new_id

    def _append(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


def _message(role: OutRole, content: str | None, weight: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"role": role, "content": content}
    if weight is not None:
        message["weight"] = weight
    return message


def _unanswered(pending: list[_Pending], before: str | None = None) -> RecordError:
    names = ", ".join(call.name for call in pending)
    where = f" before {a_or_an(before)} turn" if before else ""
    return RecordError(
        f"tool calls not answered{where}: {excerpt(names)}",
        code="convert_unanswered_tool_call",
        category=Category.STRUCTURE,
        hint="every call needs its tool result before the conversation goes on",
    )


def _assemble(turns: list[_Turn], system: str | None, index: int) -> list[dict[str, Any]]:
    _check_system(turns, system)
    turns = _split_joined_results(turns)
    assembler = _Assembler(index)
    for source_id in _valid_source_ids(turns):
        assembler.used.add(source_id)
    if system is not None and not any(turn.role == "system" for turn in turns):
        assembler.add(_Turn("system", system))
    for turn in turns:
        assembler.add(turn)
    messages = assembler.finish()
    if not any(message["role"] != "system" for message in messages):
        raise RecordError("no conversation turns", code="convert_empty")
    return messages


def _check_system(turns: list[_Turn], system: str | None) -> None:
    if system is None:
        return
    for turn in turns:
        if turn.role == "system" and turn.content != system:
            raise RecordError(
                f"a system column ({excerpt(system, 30)}) and a different system turn "
                f"({excerpt(turn.content or '', 30)})",
                code="convert_two_system_prompts",
                category=Category.STRUCTURE,
                hint="keep one: drop the system column from the mapping, or the system turn",
            )


def _valid_source_ids(turns: list[_Turn]) -> Iterator[str]:
    # Reserved up front so an invented id never collides with one that comes later.
    for turn in turns:
        for call in turn.calls:
            if call.source_id is not None and CALL_ID_PATTERN.match(call.source_id):
                yield call.source_id


# LLaMA-Factory's OpenAI converter joins the results of parallel calls into one observation turn
# with this separator; its ShareGPT data allows a single observation after a function_call turn.
_RESULT_SEPARATOR = "\n</tool_response>\n<tool_response>\n"


def _split_joined_results(turns: list[_Turn]) -> list[_Turn]:
    """One result turn answering N > 1 parallel calls becomes N results when it can be split.

    Splits a JSON array of exactly N items, or text with N-1 LLaMA-Factory separators; anything
    else is left alone (and then reported as unanswered calls).
    """
    result: list[_Turn] = []
    for position, turn in enumerate(turns):
        parts = _split_lone_result(turns, position) if turn.role == "tool" else None
        if parts is not None:
            result += [_Turn("tool", part) for part in parts]
        else:
            result.append(turn)
    return result


def _split_lone_result(turns: list[_Turn], position: int) -> list[str] | None:
    """The parts of the result at ``position`` if it alone follows several calls, else None."""
    following = turns[position + 1] if position + 1 < len(turns) else None
    if following is not None and following.role == "tool":
        return None
    calls = _open_call_count(turns, position)
    return _split_result(turns[position].content or "", calls) if calls > 1 else None


def _open_call_count(turns: list[_Turn], position: int) -> int:
    """How many calls the call turns right before ``position`` make (0 if none)."""
    count = 0
    for earlier in reversed(turns[:position]):
        if earlier.role != "assistant" or not earlier.calls:
            break
        count += len(earlier.calls)
        if earlier.content is not None and earlier.content.strip():
            break
    return count


def _split_result(text: str, parts: int) -> list[str] | None:
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            items = None
        if isinstance(items, list) and len(items) == parts:
            return [
                item if isinstance(item, str) else orjson.dumps(item).decode() for item in items
            ]
    if text.count(_RESULT_SEPARATOR) == parts - 1:
        return text.split(_RESULT_SEPARATOR)
    return None
