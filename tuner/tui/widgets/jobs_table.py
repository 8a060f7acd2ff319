"""The jobs table: one ``DataTable`` keyed by job id, updated cell by cell, never rebuilt on a
refresh, so the selection and the scroll position stay where the user left them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.events import Resize
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from tuner.tui import format as fmt
from tuner.tui.views.jobs import JobRow


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int


ID_WIDTH = 8
STATUS_WIDTH = 12  # QUEUED-LOCAL, CANCELLING
FIXED: dict[str, tuple[str, int]] = {
    "steps": ("Steps", 7),
    "tokens": ("Tokens", 6),
    "cost": ("Cost", 6),
    "age": ("Age", 4),
    "val_loss": ("Val loss", 8),
    "provider": ("Prov", 6),  # mistral, openai: only once a row is not Mistral's
}
# The suffix is what tells jobs apart (a sweep's members share the model and most of the
# suffix): it gets its full length first, the model what is left (or no column at all).
MIN_SUFFIX = 8
MAX_SUFFIX = 32
MIN_MODEL = 8
MAX_MODEL = 40
SWEEP_WIDTH = 7
"""Width of a swept hyperparameter's column (compare mode)."""
HYPER_LABELS = {
    "learning_rate": "lr",
    "training_steps": "t.steps",
    "weight_decay": "wd",
    "warmup_fraction": "warmup",
    "epochs": "epochs",
    "seq_len": "seq_len",
}
SORT_KEYS: tuple[str, ...] = ("age", "suffix", "status", "val_loss", "cost")
"""What ``o`` cycles through (a header click sorts by that column)."""


def column_layout(
    total: int,
    *,
    suffix_room: int = MAX_SUFFIX,
    swept: Sequence[str] = (),
    compare: bool = False,
    providers: bool = False,
) -> list[Column]:
    """The columns for a table ``total`` cells wide (cell padding and a scrollbar included).

    ``suffix_room``: the longest suffix shown (the suffix column never needs more). Compare
    mode shows the swept hyperparameters and the best validation loss instead of the model,
    the tokens and the cost. ``providers`` adds a provider column (jobs of several providers).
    """
    # Compare mode gives the model's, tokens', cost's and age's room to the sweep's values.
    tail = ["val_loss", "steps"] if compare else ["steps", "tokens", "cost", "age"]
    sweep_columns = [
        Column(f"hp:{name}", HYPER_LABELS.get(name, name)[:SWEEP_WIDTH], SWEEP_WIDTH)
        for name in (swept if compare else ())
    ]
    fixed = [Column(key, *FIXED[key]) for key in tail]
    if providers:
        fixed.insert(0, Column("provider", *FIXED["provider"]))
    used = ID_WIDTH + STATUS_WIDTH + sum(c.width for c in (*sweep_columns, *fixed))
    count = 3 + len(sweep_columns) + len(fixed)  # id, suffix, status + the rest
    room = total - used - (2 * count + 1)
    wanted_suffix = max(MIN_SUFFIX, min(MAX_SUFFIX, suffix_room))
    suffix = max(MIN_SUFFIX, min(wanted_suffix, room))
    model = 0 if compare else min(MAX_MODEL, room - suffix - 2)
    if model < MIN_MODEL:
        model = 0  # no model column: the suffix keeps the room
        suffix = max(MIN_SUFFIX, min(MAX_SUFFIX, room))
    elif room - suffix - 2 > model:
        suffix = min(MAX_SUFFIX, room - model - 2)  # wide: whatever is left
    columns = [Column("id", "ID", ID_WIDTH)]
    if model:
        columns.append(Column("model", "Model", model))
    columns += [Column("suffix", "Suffix", suffix), Column("status", "Status", STATUS_WIDTH)]
    return [*columns, *sweep_columns, *fixed]


def keep_end(text: str, width: int) -> str:
    """``text`` in ``width`` cells, cut in the middle: sweep members differ at the end
    (``support-sw-1`` … ``support-sw-4``), so the end is kept."""
    flat = " ".join(text.split())
    if width <= 0:
        return ""
    if len(flat) <= width:
        return flat
    if width < 4:
        return flat[:width]
    head = (width - 1) // 3  # a third of the start (the common part), the rest the end
    tail = width - 1 - head
    return f"{flat[:head]}…{flat[len(flat) - tail :]}"


# Past this many added or removed rows, a rebuild is cheaper than row-by-row changes.
_REBUILD_ABOVE = 64
# A rebuild first adds a screenful of rows (at least this many) and the rest once that frame is
# painted, so a ledger of thousands of jobs opens about as fast as one of a hundred.
FIRST_BATCH = 40
REST_AFTER = 0.05
"""Seconds before the remaining rows are added: long enough for the first frame to be painted."""


class IdCell(Text):
    """The id cell also carries its job's id (the full one): rows are ordered by the job."""

    order: tuple[int, str] = (0, "")
    job_id: str = ""


@dataclass(frozen=True)
class UpdateStats:
    added: int = 0
    removed: int = 0
    cells: int = 0
    rebuilt: bool = False


def row_cells(row: JobRow, now: int, columns: Sequence[Column]) -> tuple[Text, ...]:
    return tuple(_cell(row, now, column) for column in columns)


def _cell(row: JobRow, now: int, column: Column) -> Text:
    key = column.key
    if key == "id":
        ident = IdCell(fmt.short_id(row.id))
        ident.order = (row.created_at, row.id)
        ident.job_id = row.id
        return ident
    if key == "model":
        return Text(fmt.truncate(row.model, column.width))
    if key == "provider":
        return Text(fmt.truncate(row.provider, column.width), style="dim")
    if key == "suffix":
        return Text(keep_end(fmt.plain(row.suffix or ""), column.width), style="italic")
    if key == "status":
        return Text(fmt.status_label(row.status, short=True), style=fmt.status_style(row.status))
    if key == "steps":
        return Text(fmt.steps(row.step, row.total_steps), justify="right")
    if key == "tokens":
        return Text(fmt.count(row.trained_tokens), justify="right")
    if key == "cost":
        return Text(fmt.cost(row.cost, row.currency), justify="right")
    if key == "age":
        return Text(fmt.age(now - row.created_at), justify="right", style="dim")
    if key == "val_loss":
        return Text(fmt.number(row.best_valid_loss, 4), justify="right", style="green")
    value = row.sweep_values.get(key.removeprefix("hp:"))
    shown = "-" if value is None else fmt.number(value, 3)
    return Text(fmt.truncate(shown, column.width), justify="right")


def sort_value(row: JobRow, key: str) -> tuple[Any, ...]:
    """What rows are ordered by for ``key`` (ties: newest first); unknown values last."""
    created = (row.created_at, row.id)
    if key == "suffix":
        return (row.suffix is None, (row.suffix or "").lower(), created)
    if key == "status":
        return (row.status, created)
    if key == "val_loss":
        return (row.best_valid_loss is None, row.best_valid_loss or 0.0, created)
    if key == "cost":
        return (row.cost is None, row.cost or 0.0, created)
    if key.startswith("hp:"):
        value = row.sweep_values.get(key.removeprefix("hp:"))
        return (value is None, str(type(value)), value if value is not None else 0, created)
    return created


class JobsTable(DataTable[Text]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "select_cursor",
            "Details",
            show=False,  # in the help; the footer keeps its room at 80 columns
            id="jobs.details",
            tooltip="Open the selected job",
        ),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.rows_by_id: dict[str, JobRow] = {}
        self._texts: dict[str, tuple[str, ...]] = {}
        self._all: list[JobRow] = []
        self._now = 0
        self.filter_text = ""
        self.compare = False
        """Compare mode: swept hyperparameters and the best validation loss as columns."""
        self.sort_key = "age"
        self.sort_reverse = False
        """False: the natural order of ``sort_key`` (newest first for age, A→Z, lowest loss)."""
        self._width = 80
        self._columns = column_layout(80)
        self._pending: list[JobRow] = []

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for column in self._columns:
            self.add_column(column.label, width=column.width, key=column.key)

    @property
    def column_keys(self) -> list[str]:
        return [column.key for column in self._columns]

    def _layout(self, rows: Sequence[JobRow]) -> list[Column]:
        longest = max((len(fmt.plain(row.suffix or "")) for row in rows), default=0)
        swept: list[str] = []
        for row in rows:
            for name in row.sweep_values:
                if name not in swept:
                    swept.append(name)
        return column_layout(
            self._width,
            suffix_room=longest,
            swept=swept,
            compare=self.compare,
            providers=any(row.provider != "mistral" for row in rows),
        )

    # -- what is selected -------------------------------------------------------------------

    @property
    def selected_id(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key, _ = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0))
        except CellDoesNotExist:
            return None
        return key.value

    @property
    def selected(self) -> JobRow | None:
        job_id = self.selected_id
        return None if job_id is None else self.rows_by_id.get(job_id)

    def select(self, job_id: str) -> None:
        try:
            index = self.get_row_index(job_id)
        except RowDoesNotExist:
            return
        self.move_cursor(row=index, scroll=False)

    # -- order and columns ------------------------------------------------------------------

    def sort_by(self, key: str, *, reverse: bool | None = None) -> None:
        """Order the rows by ``key`` (a column key, or one of ``SORT_KEYS``); the same key
        again flips the order."""
        if reverse is None:
            reverse = not self.sort_reverse if key == self.sort_key else False
        self.sort_key = key
        self.sort_reverse = reverse
        self._sort()

    def next_sort(self) -> str:
        """``o``: the next of ``SORT_KEYS``."""
        keys = list(SORT_KEYS)
        index = keys.index(self.sort_key) if self.sort_key in keys else -1
        self.sort_by(keys[(index + 1) % len(keys)], reverse=False)
        return self.sort_key

    def _sort(self) -> None:
        if not self.rows_by_id:
            return
        selected = self.selected_id
        key = self.sort_key
        rows = self.rows_by_id
        # Age: newest first; any other key: ascending; ``sort_reverse`` flips either.
        newest_first = key in ("age", "id", "steps", "tokens", "model")
        reverse = newest_first != self.sort_reverse

        def order(cell: object) -> tuple[Any, ...]:
            job_id = cell.job_id if isinstance(cell, IdCell) else ""
            row = rows.get(job_id)
            if row is None:
                return (0, "")
            return sort_value(row, "age" if newest_first else key)

        self.sort("id", key=order, reverse=reverse)
        if selected is not None and selected in self.rows_by_id:
            self.select(selected)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by that column (again: the other way round)."""
        event.stop()
        if event.column_key.value is not None:
            self.sort_by(event.column_key.value)

    def set_compare(self, on: bool) -> None:
        self.compare = on
        self._relayout(force=True)

    # -- updates ----------------------------------------------------------------------------

    def set_filter(self, text: str) -> UpdateStats:
        self.filter_text = text.strip()
        return self.show_rows(self._all, self._now)

    def show_rows(self, rows: Sequence[JobRow], now: int) -> UpdateStats:
        """Show ``rows`` (newest first): new rows added, changed cells updated in place, rows
        that are gone removed; the selected job stays selected."""
        self._all = list(rows)
        self._now = now
        if self.is_mounted and self._layout(rows) != self._columns:
            self._relayout(force=True)  # e.g. a longer suffix, a new swept hyperparameter
        wanted = [r for r in rows if not self.filter_text or r.matches(self.filter_text)]
        self._pending = []  # rows still to add from an earlier rebuild are in ``wanted``
        wanted_ids = {r.id for r in wanted}
        gone = [job_id for job_id in self.rows_by_id if job_id not in wanted_ids]
        new = [r for r in wanted if r.id not in self.rows_by_id]
        if len(gone) + len(new) > _REBUILD_ABOVE:
            return self._rebuild(wanted)
        for job_id in gone:
            self.remove_row(job_id)
            del self.rows_by_id[job_id]
            del self._texts[job_id]
        changed = 0
        for row in wanted:
            if row.id in self.rows_by_id:
                changed += self._update(row)
        for row in new:
            self._add(row)
        if new or gone or (changed and self.sort_key != "age"):
            self._sort()
        return UpdateStats(added=len(new), removed=len(gone), cells=changed)

    def _rebuild(self, wanted: Sequence[JobRow]) -> UpdateStats:
        selected = self.selected_id
        scroll = self.scroll_y
        self.clear()
        self.rows_by_id.clear()
        self._texts.clear()
        if self.sort_key != "age" or self.sort_reverse:
            first = list(wanted)  # a chosen order: all at once, sorted
        else:
            first = list(wanted[: max(FIRST_BATCH, self.app.size.height + 10)])
        if selected is not None and all(row.id != selected for row in first):
            first = list(wanted)  # keep the selection: it is further down
        for row in first:
            self._add(row)
        self._pending = list(wanted[len(first) :])
        if self._pending:
            self.set_timer(REST_AFTER, self._add_pending, name="rest of the jobs")
        elif self.sort_key != "age" or self.sort_reverse:
            self._sort()
        if selected is not None and selected in self.rows_by_id:
            self.select(selected)
        self.scroll_to(y=scroll, animate=False, immediate=True)
        return UpdateStats(added=len(wanted), rebuilt=True)

    def _add_pending(self) -> None:
        pending, self._pending = self._pending, []
        for row in pending:
            if row.id not in self.rows_by_id:
                self._add(row)

    @property
    def complete(self) -> bool:
        """Every row is in the table (none waits to be added after the first frame)."""
        return not self._pending

    def _add(self, row: JobRow) -> None:
        cells = row_cells(row, self._now, self._columns)
        self.add_row(*cells, key=row.id)
        self.rows_by_id[row.id] = row
        self._texts[row.id] = tuple(cell.plain + str(cell.style) for cell in cells)

    def _update(self, row: JobRow) -> int:
        cells = row_cells(row, self._now, self._columns)
        texts = tuple(cell.plain + str(cell.style) for cell in cells)
        before = self._texts[row.id]
        self.rows_by_id[row.id] = row
        if texts == before:
            return 0
        changed = 0
        for column, cell, old, new in zip(self._columns, cells, before, texts, strict=True):
            if old != new:
                self.update_cell(row.id, column.key, cell)
                changed += 1
        self._texts[row.id] = texts
        return changed

    def on_resize(self, event: Resize) -> None:
        self._width = event.size.width
        self._relayout()

    def _relayout(self, *, force: bool = False) -> None:
        columns = self._layout(self._all)
        if columns == self._columns and not force:
            return
        self._columns = columns
        selected = self.selected_id
        rows = list(self.rows_by_id.values())
        self.clear(columns=True)
        self.rows_by_id.clear()
        self._texts.clear()
        self._add_columns()
        for row in sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True):
            self._add(row)
        if self.sort_key != "age" or self.sort_reverse:
            self._sort()
        if selected is not None:
            self.select(selected)
