"""The jobs table: one ``DataTable`` keyed by job id, updated cell by cell, never rebuilt on a
refresh, so the selection and the scroll position stay where the user left them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.events import Resize
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from tuner.tui import format as fmt
from tuner.tui.views.jobs import JobRow

# (key, label, width); None: shares the room left with the other flexible columns.
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("id", "ID", 8),
    ("model", "Model", None),
    ("suffix", "Suffix", None),
    ("status", "Status", 10),
    ("steps", "Steps", 7),
    ("tokens", "Tokens", 6),
    ("cost", "Cost", 6),
    ("age", "Age", 4),
)
_FLEX_SHARE = {"model": 3, "suffix": 2}
_MIN_FLEX = 6
_MAX_FLEX = {"model": 40, "suffix": 24}
# Past this many added or removed rows, a rebuild is cheaper than row-by-row changes.
_REBUILD_ABOVE = 64
# A rebuild first adds a screenful of rows (at least this many) and the rest once that frame is
# painted, so a ledger of thousands of jobs opens about as fast as one of a hundred.
FIRST_BATCH = 40
REST_AFTER = 0.05
"""Seconds before the remaining rows are added: long enough for the first frame to be painted."""


class IdCell(Text):
    """The id cell also carries what rows are ordered by (newest first)."""

    order: tuple[int, str] = (0, "")


@dataclass(frozen=True)
class UpdateStats:
    added: int = 0
    removed: int = 0
    cells: int = 0
    rebuilt: bool = False


def column_widths(total: int) -> dict[str, int]:
    """Widths for a table ``total`` cells wide (cell padding and a scrollbar included)."""
    fixed = sum(width for _, _, width in COLUMNS if width is not None)
    padding = 2 * len(COLUMNS) + 1
    room = max(2 * _MIN_FLEX, total - fixed - padding)
    shares = sum(_FLEX_SHARE.values())
    widths: dict[str, int] = {}
    for key, _, width in COLUMNS:
        if width is not None:
            widths[key] = width
        else:
            share = room * _FLEX_SHARE[key] // shares
            widths[key] = max(_MIN_FLEX, min(_MAX_FLEX[key], share))
    return widths


def row_cells(row: JobRow, now: int, widths: dict[str, int]) -> tuple[Text, ...]:
    status = Text(fmt.status_label(row.status, short=True), style=fmt.status_style(row.status))
    ident = IdCell(fmt.short_id(row.id))
    ident.order = (row.created_at, row.id)
    return (
        ident,
        Text(fmt.truncate(row.model, widths["model"])),
        Text(fmt.truncate(row.suffix or "", widths["suffix"]), style="italic"),
        status,
        Text(fmt.steps(row.step, row.total_steps), justify="right"),
        Text(fmt.count(row.trained_tokens), justify="right"),
        Text(fmt.cost(row.cost, row.currency), justify="right"),
        Text(fmt.age(now - row.created_at), justify="right", style="dim"),
    )


def _order(cell: object) -> tuple[int, str]:
    return cell.order if isinstance(cell, IdCell) else (0, "")


class JobsTable(DataTable[Text]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter", "select_cursor", "Details", id="jobs.details", tooltip="Open the selected job"
        ),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.rows_by_id: dict[str, JobRow] = {}
        self._texts: dict[str, tuple[str, ...]] = {}
        self._all: list[JobRow] = []
        self._now = 0
        self.filter_text = ""
        self._widths = column_widths(80)
        self._pending: list[JobRow] = []

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for key, label, _ in COLUMNS:
            self.add_column(label, width=self._widths[key], key=key)

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

    # -- updates ----------------------------------------------------------------------------

    def set_filter(self, text: str) -> UpdateStats:
        self.filter_text = text.strip()
        return self.show_rows(self._all, self._now)

    def show_rows(self, rows: Sequence[JobRow], now: int) -> UpdateStats:
        """Show ``rows`` (newest first): new rows added, changed cells updated in place, rows
        that are gone removed; the selected job stays selected."""
        self._all = list(rows)
        self._now = now
        wanted = [r for r in rows if not self.filter_text or r.matches(self.filter_text)]
        self._pending = []  # rows still to add from an earlier rebuild are in ``wanted``
        wanted_ids = {r.id for r in wanted}
        gone = [job_id for job_id in self.rows_by_id if job_id not in wanted_ids]
        new = [r for r in wanted if r.id not in self.rows_by_id]
        if len(gone) + len(new) > _REBUILD_ABOVE:
            return self._rebuild(wanted)
        selected = self.selected_id
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
        if new or gone:
            self.sort("id", key=_order, reverse=True)
            if selected is not None and selected in self.rows_by_id:
                self.select(selected)
        return UpdateStats(added=len(new), removed=len(gone), cells=changed)

    def _rebuild(self, wanted: Sequence[JobRow]) -> UpdateStats:
        selected = self.selected_id
        scroll = self.scroll_y
        self.clear()
        self.rows_by_id.clear()
        self._texts.clear()
        first = list(wanted[: max(FIRST_BATCH, self.app.size.height + 10)])
        if selected is not None and all(row.id != selected for row in first):
            first = list(wanted)  # keep the selection: it is further down
        for row in first:
            self._add(row)
        self._pending = list(wanted[len(first) :])
        if self._pending:
            self.set_timer(REST_AFTER, self._add_pending, name="rest of the jobs")
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
        cells = row_cells(row, self._now, self._widths)
        self.add_row(*cells, key=row.id)
        self.rows_by_id[row.id] = row
        self._texts[row.id] = tuple(cell.plain + str(cell.style) for cell in cells)

    def _update(self, row: JobRow) -> int:
        cells = row_cells(row, self._now, self._widths)
        texts = tuple(cell.plain + str(cell.style) for cell in cells)
        before = self._texts[row.id]
        self.rows_by_id[row.id] = row
        if texts == before:
            return 0
        changed = 0
        for (key, _, _), cell, old, new in zip(COLUMNS, cells, before, texts, strict=True):
            if old != new:
                self.update_cell(row.id, key, cell)
                changed += 1
        self._texts[row.id] = texts
        return changed

    def on_resize(self, event: Resize) -> None:
        widths = column_widths(event.size.width)
        if widths == self._widths:
            return
        self._widths = widths
        selected = self.selected_id
        rows = [self.rows_by_id[job_id] for job_id in self.rows_by_id]
        self.clear(columns=True)
        self.rows_by_id.clear()
        self._texts.clear()
        self._add_columns()
        ordered = sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)
        for row in ordered:
            self._add(row)
        if selected is not None:
            self.select(selected)
