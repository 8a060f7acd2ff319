"""Source readers for ``tuner data convert``: one stream of raw records, whatever the file format.

Every reader yields ``(row, record)`` pairs in file order, where ``row`` is the 1-based physical
line for JSON Lines and the 1-based row index otherwise, and ``record`` is a ``dict`` or an
:class:`UnreadableRow` saying why that row could not be read (so the converter reports it instead
of dropping it). Readers stream where the format allows, so memory stays bounded by a batch:

- JSON Lines (``.jsonl``, ``.ndjson``): line by line; gzip-compressed too (``.jsonl.gz``).
- JSON (``.json``): an array of objects or a single object, parsed whole (JSON has no streaming
  parser here); a ``.json`` file whose first line is a complete object is read as JSON Lines;
  ``.json.gz`` too.
- CSV/TSV: pyarrow's streaming CSV reader, every column read as a string.
- Parquet: one row group at a time, in batches, through pyarrow (memory bounded by a row group).
- Arrow IPC, file (Feather v2) or stream format: record batch by record batch.
- A Hugging Face dataset saved with ``save_to_disk`` (a directory; memory-mapped by ``datasets``).
  A ``DatasetDict`` with one split is read whole; with several, the split must be named (its
  splits are listed otherwise), and :attr:`Source.splits` says which exist and which was read.

Positions: JSON Lines rows are numbered by physical line (:attr:`Source.unit` ``"line"``); rows
of a JSON array, CSV, Parquet, Arrow and saved datasets are numbered by record (``"record"``).

Padded nulls in nested structs: Arrow stores a column of objects as a struct whose fields are
the union of every row's keys, so a key a row did not have reads back as ``null`` (a tool's
``parameters`` gained the properties of every other tool). Arrow cannot tell such a padded null
from a ``null`` written in the source. The rule: in Parquet, Arrow and saved-dataset sources,
a ``null`` *inside a nested object* (at any depth; list items are kept) is taken as absent and
dropped; top-level columns are left as they are (a null column is absent to the converter
already). The output then equals what the same records give from JSON Lines whenever a nested
``null`` means "absent", which is what it means in every field of Mistral's format; a JSON
schema keyword whose value is ``null`` (``"default": null``) is the one thing this loses.

A source that cannot be read at all raises :class:`UnreadableSourceError` with a one-line reason.
"""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, cast

import orjson

from tuner.datasets.findings import Category, excerpt

if TYPE_CHECKING:
    import pyarrow as pa

# Rows per Arrow batch: large enough to amortise the conversion to Python, small enough that a
# batch of long conversations stays a few megabytes.
BATCH_ROWS = 256

_BOM = b"\xef\xbb\xbf"


class SourceKind(StrEnum):
    JSONL = "jsonl"
    JSON = "json"
    CSV = "csv"
    TSV = "tsv"
    PARQUET = "parquet"
    ARROW = "arrow"
    HF_DATASET = "hf-dataset"


_EXTENSIONS: dict[str, SourceKind] = {
    ".jsonl": SourceKind.JSONL,
    ".ndjson": SourceKind.JSONL,
    ".jsonlines": SourceKind.JSONL,
    ".json": SourceKind.JSON,
    ".csv": SourceKind.CSV,
    ".tsv": SourceKind.TSV,
    ".parquet": SourceKind.PARQUET,
    ".pq": SourceKind.PARQUET,
    ".arrow": SourceKind.ARROW,
    ".feather": SourceKind.ARROW,
    ".ipc": SourceKind.ARROW,
    ".arrows": SourceKind.ARROW,
}

# What save_to_disk leaves in its directory: a Dataset has state.json (and dataset_info.json),
# a DatasetDict has dataset_dict.json and one such directory per split.
_HF_MARKERS = ("dataset_dict.json", "state.json")
# Compressed JSON Lines or JSON, read through gzip.
_GZIP_KINDS = (SourceKind.JSONL, SourceKind.JSON)

Unit = Literal["line", "record"]


class UnreadableSourceError(Exception):
    """A source that cannot be read at all: missing, of an unknown kind, or corrupt."""


@dataclass(frozen=True, slots=True)
class UnreadableRow:
    """Why one row of a readable source could not be turned into a record."""

    category: Category
    code: str
    message: str
    hint: str | None = None


Row = tuple[int | None, dict[str, Any] | UnreadableRow]


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    kind: SourceKind
    # Rows in the source when cheaply known (for progress), None otherwise.
    total: int | None
    _rows: Callable[[], Iterator[Row]]
    # What a row's number counts: physical lines (JSON Lines) or records.
    unit: Unit = "record"
    # A saved DatasetDict: every split it has, and the one read.
    splits: tuple[str, ...] = ()
    split: str | None = None

    def rows(self) -> Iterator[Row]:
        return self._rows()


def open_source(path: str | Path, *, split: str | None = None) -> Source:
    """Check that ``path`` is readable and prepare to stream its rows.

    ``split`` picks the split of a saved ``DatasetDict`` (needed when it has several).
    Raises :class:`UnreadableSourceError`.
    """
    source = Path(path)
    kind = detect_kind(source)
    if kind is SourceKind.HF_DATASET:
        return _open_hf_dataset(source, split)
    if kind is SourceKind.PARQUET:
        return _open_parquet(source)
    if kind is SourceKind.ARROW:
        return _open_arrow(source)
    if kind in (SourceKind.CSV, SourceKind.TSV):
        return _open_csv(source, delimiter="\t" if kind is SourceKind.TSV else ",")
    if kind is SourceKind.JSON:
        unit: Unit = "line" if _first_line_is_object(source) else "record"
        return Source(source, kind, None, lambda: _json_rows(source), unit)
    return Source(source, kind, None, lambda: _jsonl_rows(source), "line")


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when its name ends in ``.gz``."""
    if path.name.lower().endswith(".gz"):
        return cast("IO[bytes]", gzip.open(path, "rb"))
    return path.open("rb")


def detect_kind(path: Path) -> SourceKind:
    """The kind of a source from what it is on disk and its extension."""
    if path.is_dir():
        if any((path / marker).is_file() for marker in _HF_MARKERS):
            return SourceKind.HF_DATASET
        raise UnreadableSourceError(
            f"{path}: a directory that is not a dataset saved with save_to_disk "
            "(no dataset_dict.json or state.json)"
        )
    if not path.exists():
        raise UnreadableSourceError(f"{path}: no such file")
    suffix = path.suffix.lower()
    kind = _EXTENSIONS.get(suffix)
    if suffix == ".gz":
        inner = _EXTENSIONS.get(Path(path.stem).suffix.lower())
        if inner in _GZIP_KINDS:
            return inner
        suffix = "".join(path.suffixes[-2:]).lower()
    if kind is None:
        known = ", ".join(sorted(_EXTENSIONS))
        raise UnreadableSourceError(
            f"{path}: unknown extension {suffix or '(none)'!r} (expected one of {known}, "
            ".jsonl.gz, .json.gz, or a save_to_disk directory)"
        )
    return kind


# --- JSON Lines and JSON ---


def _jsonl_rows(path: Path) -> Iterator[Row]:
    """Yield one row per non-blank physical line (split on ``\\n`` only; CRLF is fine).

    Memory per line is bounded by its size, not the file's: a huge single line costs about three
    times its size at the peak (its bytes, orjson's working copy while it parses, the parsed
    text); only a streaming parser would do better (see docs/data.md, "Source shapes").
    """
    try:
        handle = open_binary(path)
    except OSError as exc:
        raise UnreadableSourceError(f"{path}: {exc.strerror or exc}") from exc
    with handle:
        number = 0
        while (raw := _next_line(path, handle)) is not None:
            number += 1
            line = raw[len(_BOM) :] if number == 1 and raw.startswith(_BOM) else raw
            # Blank lines hold no record (a trailing blank line is common); nothing is lost.
            # isspace(), not strip(): no copy of a line that may be hundreds of MB.
            if not line or line.isspace():
                continue
            record = _parse_line(line)
            # The bytes are not kept while the record is converted: a huge line would otherwise
            # be held twice (bytes and parsed text). Hence no enumerate() either: it keeps its
            # last (number, line) tuple for reuse.
            del raw, line
            yield number, record


def _next_line(path: Path, handle: IO[bytes]) -> bytes | None:
    """The next physical line (with its newline), None at the end; a plain call, so no
    generator frame keeps the line alive."""
    try:
        return handle.readline() or None
    except (OSError, EOFError) as exc:  # a corrupt or truncated .gz
        raise UnreadableSourceError(f"{path}: cannot read: {exc}") from exc


def _parse_line(line: bytes) -> dict[str, Any] | UnreadableRow:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return _json_problem(line, exc)
    if not isinstance(value, dict):
        return _not_object(value)
    return value


def _json_problem(line: bytes, exc: orjson.JSONDecodeError) -> UnreadableRow:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return UnreadableRow(
            Category.ENCODING, "convert_bad_encoding", "the line is not valid UTF-8"
        )
    text = line.decode("utf-8").rstrip("\r\n")
    return UnreadableRow(
        Category.JSON, "convert_bad_json", f"not valid JSON ({exc.msg}): {excerpt(text)}"
    )


def _not_object(value: object) -> UnreadableRow:
    return UnreadableRow(
        Category.NOT_OBJECT,
        "convert_not_object",
        f"a JSON {_json_type(value)} where an object was expected: {excerpt(value)}",
    )


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


def _json_rows(path: Path) -> Iterator[Row]:
    """A JSON array of records or one record; a ``.json`` file that is really JSON Lines too."""
    if _first_line_is_object(path):
        yield from _jsonl_rows(path)
        return
    try:
        with open_binary(path) as handle:
            data = handle.read()
    except (OSError, EOFError) as exc:
        raise UnreadableSourceError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from exc
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UnreadableSourceError(
            f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}) and not JSON Lines"
        ) from exc
    if isinstance(value, dict):
        yield 1, value
        return
    if not isinstance(value, list):
        raise UnreadableSourceError(
            f"{path}: the JSON value is a {_json_type(value)}, "
            "expected an array of objects or an object"
        )
    for number, item in enumerate(value, start=1):
        yield number, item if isinstance(item, dict) else _not_object(item)


def _first_line_is_object(path: Path) -> bool:
    """Whether the first non-blank line alone parses as an object (then the file is JSON Lines)."""
    try:
        with open_binary(path) as handle:
            for raw in handle:
                line = raw.removeprefix(_BOM)
                if line.strip():
                    try:
                        return isinstance(orjson.loads(line), dict)
                    except orjson.JSONDecodeError:
                        return False
    except (OSError, EOFError) as exc:
        raise UnreadableSourceError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from exc
    return False


# --- CSV ---


def _open_csv(path: Path, *, delimiter: str) -> Source:
    columns = _csv_columns(path, delimiter)
    return Source(
        path,
        SourceKind.TSV if delimiter == "\t" else SourceKind.CSV,
        None,
        lambda: _csv_rows(path, delimiter, columns),
    )


def _csv_options(delimiter: str, on_bad_row: Callable[[Any], str] | None = None) -> Any:
    import pyarrow.csv as pacsv

    # Cells may hold JSON with line breaks (a messages column), so quoted newlines are allowed.
    return pacsv.ParseOptions(
        delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_bad_row
    )


def _csv_columns(path: Path, delimiter: str) -> list[str]:
    """The header's column names (pyarrow reads the first block to learn them)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        # Malformed rows are skipped here: they are reported when the rows are read.
        reader = pacsv.open_csv(path, parse_options=_csv_options(delimiter, lambda _: "skip"))
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableSourceError(f"{path}: cannot read as CSV: {_first_line(exc)}") from exc
    with contextlib.closing(reader):
        return list(reader.schema.names)


def _csv_rows(path: Path, delimiter: str, columns: list[str]) -> Iterator[Row]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    bad_rows: list[Any] = []

    def keep_going(row: Any) -> str:
        bad_rows.append(row)
        return "skip"

    # Every column as a string: type inference per block could otherwise change a column's
    # type halfway through the file, and the converter wants text anyway.
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(columns, pa.string()))
    number = 0
    try:
        reader = pacsv.open_csv(
            path, parse_options=_csv_options(delimiter, keep_going), convert_options=convert
        )
        with contextlib.closing(reader):
            for batch in reader:
                # The handler cannot tell where in the block a malformed row was, so its
                # report comes before the block's good rows and carries no row number.
                while bad_rows:
                    yield None, _bad_csv_row(bad_rows.pop(0))
                for record in batch.to_pylist():
                    number += 1
                    yield number, record
            while bad_rows:
                yield None, _bad_csv_row(bad_rows.pop(0))
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableSourceError(
            f"{path}: cannot read as CSV after row {number}: {_first_line(exc)}"
        ) from exc


def _bad_csv_row(row: Any) -> UnreadableRow:
    return UnreadableRow(
        Category.SCHEMA,
        "convert_bad_csv_row",
        f"a CSV row with {row.actual_columns} fields where the header has "
        f"{row.expected_columns}: {excerpt(row.text)}",
        "quote cells that contain the delimiter; rows after it are numbered without it",
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- Parquet and Arrow ---


def _open_parquet(path: Path) -> Source:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as parquet:
            total = parquet.metadata.num_rows
            nested = has_nested_struct(parquet.schema_arrow)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableSourceError(f"{path}: not a Parquet file: {_first_line(exc)}") from exc
    return Source(path, SourceKind.PARQUET, total, lambda: _parquet_rows(path, nested=nested))


def _parquet_rows(path: Path, *, nested: bool) -> Iterator[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # One row group at a time: iterating the whole file let pyarrow buffer ahead, so the
        # process grew with the file; a row group is the unit a writer bounded.
        with pq.ParquetFile(path, pre_buffer=False) as parquet:
            groups = (
                parquet.read_row_group(i).to_batches(max_chunksize=BATCH_ROWS)
                for i in range(parquet.num_row_groups)
            )
            yield from _batch_rows((b for group in groups for b in group), nested=nested)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableSourceError(f"{path}: cannot read Parquet: {_first_line(exc)}") from exc


def _batch_rows(batches: Iterator[pa.RecordBatch], *, nested: bool) -> Iterator[Row]:
    number = 0
    for batch in batches:
        for record in batch.to_pylist():
            number += 1
            yield number, strip_padded_nulls(record) if nested else record


def has_nested_struct(schema: pa.Schema) -> bool:
    """Whether any column holds structs (at any depth, in lists too): only then can Arrow have
    padded a row's objects with null fields."""
    import pyarrow as pa

    def nested(kind: pa.DataType) -> bool:
        if pa.types.is_struct(kind):
            return True
        if (
            pa.types.is_list(kind)
            or pa.types.is_large_list(kind)
            or pa.types.is_fixed_size_list(kind)
        ):
            return nested(kind.value_type)
        if pa.types.is_map(kind):
            return nested(kind.item_type)
        return False

    return any(nested(f.type) for f in schema)


def strip_padded_nulls(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with every null inside a nested object dropped (see the module docstring);
    top-level columns are kept as they are."""
    return {key: _without_nulls(value) for key, value in record.items()}


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _open_arrow(path: Path) -> Source:
    import pyarrow as pa

    try:
        total, stream, nested = _arrow_layout(path)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableSourceError(
            f"{path}: not an Arrow IPC file or stream: {_first_line(exc)}"
        ) from exc
    return Source(
        path, SourceKind.ARROW, total, lambda: _arrow_rows(path, stream=stream, nested=nested)
    )


def _arrow_layout(path: Path) -> tuple[int | None, bool, bool]:
    """(rows when known, whether it is the streaming format, whether it has nested structs);
    raises if it is neither format."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    with pa.memory_map(str(path), "r") as mapped:
        try:
            reader = ipc.open_file(mapped)
            return reader.count_rows(), False, has_nested_struct(reader.schema)
        except pa.ArrowInvalid:
            # Not the random-access file format (Feather v2): the streaming format, or neither.
            mapped.seek(0)
            return None, True, has_nested_struct(ipc.open_stream(mapped).schema)


def _arrow_rows(path: Path, *, stream: bool, nested: bool) -> Iterator[Row]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        with pa.memory_map(str(path), "r") as mapped:
            if stream:
                yield from _batch_rows(_rebatched(iter(ipc.open_stream(mapped))), nested=nested)
            else:
                reader = ipc.open_file(mapped)
                batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
                yield from _batch_rows(_rebatched(batches), nested=nested)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableSourceError(f"{path}: cannot read Arrow: {_first_line(exc)}") from exc


def _rebatched(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Slices of at most BATCH_ROWS rows (a writer may have made one huge batch)."""
    for batch in batches:
        for offset in range(0, batch.num_rows, BATCH_ROWS):
            yield batch.slice(offset, BATCH_ROWS)


# --- Hugging Face datasets saved with save_to_disk ---


def _open_hf_dataset(path: Path, split: str | None) -> Source:
    dataset, splits, chosen = _load_hf_split(path, split)
    nested = has_nested_struct(dataset.data.schema)
    return Source(
        path,
        SourceKind.HF_DATASET,
        len(dataset),
        lambda: _hf_rows(dataset, nested=nested),
        splits=splits,
        split=chosen,
    )


def _load_hf_split(path: Path, split: str | None) -> tuple[Any, tuple[str, ...], str | None]:
    """(the dataset to read, the DatasetDict's splits, the split read); a plain Dataset has no
    splits. A DatasetDict of several splits needs ``split``: reading one of them in silence
    would leave the others out without a word."""
    # Imported here: `datasets` takes seconds to import and most conversions never need it.
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise UnreadableSourceError(
            f"{path}: cannot load the saved dataset: {_first_line(exc)}"
        ) from exc
    if not isinstance(loaded, datasets.DatasetDict):
        if split is not None:
            raise UnreadableSourceError(
                f"{path}: a saved Dataset has no splits (asked for {split!r}); leave --split out"
            )
        return loaded, (), None
    splits = tuple(loaded)
    available = ", ".join(splits) or "none"
    if split is None:
        if len(splits) != 1:
            raise UnreadableSourceError(
                f"{path}: a saved DatasetDict with {len(splits)} splits ({available}); "
                "name the one to convert with --split NAME (or split in the mapping file)"
            )
        split = splits[0]
    if split not in loaded:
        raise UnreadableSourceError(
            f"{path}: no split {split!r} in the saved DatasetDict (splits: {available}); "
            "name one with --split NAME"
        )
    return loaded[split], splits, split


def _hf_rows(dataset: Any, *, nested: bool) -> Iterator[Row]:
    # Arrow batches through the public API: it honours any indices mapping and ignores a format
    # (e.g. "torch") the dataset was saved with, so rows come out as plain Python values.
    batches = dataset.with_format("arrow").iter(batch_size=BATCH_ROWS)
    number = 0
    for table in batches:
        for record in table.to_pylist():
            number += 1
            yield number, strip_padded_nulls(record) if nested else record
