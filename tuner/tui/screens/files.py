"""Files and models: the uploaded files and the fine-tuned models, with rename, archive,
unarchive and delete (deleting asks first)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from tuner.api import File, FineTunedModelCard
from tuner.tui import format as fmt
from tuner.tui.screens.base import TunerScreen
from tuner.tui.screens.dialogs import ConfirmScreen, PromptScreen

FILE_LIMIT = 1000


class FilesScreen(TunerScreen):
    SECTION = "files"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh", id="files.refresh", tooltip="List files and models"),
        Binding(
            "tab",
            "switch_table",
            "Files/models",
            id="files.switch",
            tooltip="Move between the files and the models",
        ),
        Binding("n", "rename", "Rename", id="files.rename", tooltip="Rename the selected model"),
        Binding(
            "a", "archive", "Archive", id="files.archive", tooltip="Archive the selected model"
        ),
        Binding(
            "u",
            "unarchive",
            "Unarchive",
            id="files.unarchive",
            tooltip="Unarchive the selected model",
        ),
        Binding(
            "delete,x",
            "delete",
            "Delete",
            id="files.delete",
            tooltip="Delete the selected file or model (asks first)",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, File] = {}
        self.models: dict[str, FineTunedModelCard] = {}
        self.loaded = 0

    def compose_body(self) -> ComposeResult:
        with Vertical(id="files-body"):
            with Vertical(classes="half"):
                yield Label("Uploaded files", classes="section-title", id="files-title")
                yield DataTable(id="files-table", cursor_type="row", zebra_stripes=True)
            with Vertical(classes="half"):
                yield Label("Fine-tuned models", classes="section-title", id="models-title")
                yield DataTable(id="models-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#files-table", DataTable).add_columns(
            "ID", "Name", "Size", "Lines", "Purpose", "Uploaded"
        )
        self.query_one("#models-table", DataTable).add_columns(
            "Model", "Name", "Base", "Archived", "Created"
        )
        self.query_one("#files-table", DataTable).focus()
        self.load()

    def action_refresh(self) -> None:
        self.load()

    @work(group="files", exclusive=True, exit_on_error=False, description="listing files")
    async def load(self) -> None:
        client = self.tuner.client
        files: list[File] = []
        async for item in client.files.list(page_size=100):
            files.append(item)
            if len(files) >= FILE_LIMIT:
                break
        listing = await client.models.list()
        models = [card for card in listing.data if isinstance(card, FineTunedModelCard)]
        self.files = {f.id: f for f in files}
        self.models = {m.id: m for m in models}
        self._fill_files(files)
        self._fill_models(models)
        self.loaded += 1

    def _fill_files(self, files: list[File]) -> None:
        table = self.query_one("#files-table", DataTable)
        selected = _selected_key(table)
        table.clear()
        for item in sorted(files, key=lambda f: (f.created_at or 0, f.id), reverse=True):
            table.add_row(
                Text(fmt.short_id(item.id)),
                Text(fmt.truncate(item.filename or "", 28)),
                Text(fmt.size(item.size_bytes), justify="right"),
                Text(fmt.count(item.num_lines), justify="right"),
                Text(fmt.plain(item.purpose or "-")),
                Text(fmt.timestamp(item.created_at)),
                key=item.id,
            )
        _reselect(table, selected)
        self.query_one("#files-title", Label).update(f"Uploaded files ({len(files)})")

    def _fill_models(self, models: list[FineTunedModelCard]) -> None:
        table = self.query_one("#models-table", DataTable)
        selected = _selected_key(table)
        table.clear()
        for card in sorted(models, key=lambda m: (m.created or 0, m.id), reverse=True):
            archived = Text("archived", style="dim") if card.archived else Text("active", "green")
            table.add_row(
                Text(fmt.plain(card.id)),
                Text(fmt.plain(card.name or "-")),
                Text(fmt.plain(card.root or "-")),
                archived,
                Text(fmt.timestamp(card.created)),
                key=card.id,
            )
        _reselect(table, selected)
        self.query_one("#models-title", Label).update(f"Fine-tuned models ({len(models)})")

    # -- what is selected -------------------------------------------------------------------

    def _focused_table(self) -> str:
        focused = self.focused
        return "models" if focused is not None and focused.id == "models-table" else "files"

    def _selected_model(self) -> FineTunedModelCard | None:
        key = _selected_key(self.query_one("#models-table", DataTable))
        if key is None or key not in self.models:
            self.notify("no model selected (tab moves to the models)", severity="warning")
            return None
        return self.models[key]

    def action_switch_table(self) -> None:
        target = "#files-table" if self._focused_table() == "models" else "#models-table"
        self.query_one(target, DataTable).focus()

    @on(DataTable.RowHighlighted)
    def _highlight(self, event: DataTable.RowHighlighted) -> None:
        event.stop()

    # -- actions ----------------------------------------------------------------------------

    def action_rename(self) -> None:
        model = self._selected_model()
        if model is None:
            return

        def named(name: str | None) -> None:
            if name is not None and name.strip():
                self.update_model(model.id, "rename", name.strip())

        self.app.push_screen(
            PromptScreen(f"New name for {model.id}:", value=model.name or ""), named
        )

    def action_archive(self) -> None:
        model = self._selected_model()
        if model is not None:
            self.update_model(model.id, "archive", None)

    def action_unarchive(self) -> None:
        model = self._selected_model()
        if model is not None:
            self.update_model(model.id, "unarchive", None)

    def action_delete(self) -> None:
        if self._focused_table() == "models":
            model = self._selected_model()
            if model is None:
                return
            what, ident = "model", model.id
        else:
            key = _selected_key(self.query_one("#files-table", DataTable))
            if key is None:
                self.notify("no file selected", severity="warning")
                return
            name = self.files[key].filename if key in self.files else None
            what, ident = "file", key
            if name:
                what = f"file {name}"

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete(ident, model=self._focused_table() == "models")

        self.app.push_screen(
            ConfirmScreen(
                f"Delete {what} ({ident})?", detail="This cannot be undone.", yes="Delete"
            ),
            answered,
        )

    @work(group="files-action", exclusive=True, exit_on_error=False, description="updating a model")
    async def update_model(self, model_id: str, how: str, name: str | None) -> None:
        models = self.tuner.client.models
        result: Any
        if how == "rename":
            result = await models.update(model_id, name=name)
            self.notify(f"{model_id} renamed to {result.name}", markup=False)
        elif how == "archive":
            await models.archive(model_id)
            self.notify(f"{model_id} archived", markup=False)
        else:
            await models.unarchive(model_id)
            self.notify(f"{model_id} unarchived", markup=False)
        self.load()

    @work(group="files-action", exclusive=True, exit_on_error=False, description="deleting")
    async def delete(self, ident: str, *, model: bool) -> None:
        client = self.tuner.client
        if model:
            await client.models.delete(ident)
        else:
            await client.files.delete(ident)
            ledger = self.tuner.ledger
            if await ledger.aio.get_file(ident) is not None:
                await ledger.aio.mark_file_deleted(ident, now=self.tuner.now())
        self.notify(f"deleted {ident}", markup=False)
        self.load()


def _selected_key(table: DataTable[Any]) -> str | None:
    if table.row_count == 0:
        return None
    from textual.coordinate import Coordinate

    row_key, _ = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0))
    return row_key.value


def _reselect(table: DataTable[Any], key: str | None) -> None:
    if key is None:
        return
    try:
        table.move_cursor(row=table.get_row_index(key), scroll=False)
    except Exception:  # the row is gone: the cursor stays where it is
        return
