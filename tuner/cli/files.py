"""``tuner files``: upload (each content once), list, show, delete and download files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tuner.cli.context import load_context, run_async, session
from tuner.cli.output import (
    Exit,
    console,
    emit_json,
    emit_listing,
    err_console,
    fail,
    mark_origin,
    progress_for,
    shown,
    wire_json,
    with_backend,
)
from tuner.fsutil import OutputRefused, prepare_outputs
from tuner.jobs.records import Backend
from tuner.textsafe import inert

if TYPE_CHECKING:
    from tuner.api import File
    from tuner.jobs.orchestrator import UploadResult

app = typer.Typer(help="Upload, list, show, delete and download files.", no_args_is_help=True)

JsonOpt = typer.Option(False, "--json", help="Print JSON instead of text.")
IdArg = typer.Argument(..., help="The file id.")


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    if size < 1024 * 1024:
        return f"{size:,} B"
    return f"{size / 2**20:,.1f} MB"


@app.command()
def upload(
    paths: list[Path] = typer.Argument(..., help="JSONL file(s) to upload."),
    force: bool = typer.Option(
        False, "--force", help="Upload even when the same content is already on the server."
    ),
    no_validate: bool = typer.Option(
        False,
        "--no-validate",
        help="Upload without checking the files first (the server refuses invalid files).",
    ),
    as_json: bool = JsonOpt,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Upload files for fine-tuning; content already uploaded (per the ledger) is reused.

    Each file is checked first against the platform's rules for fine-tuning data, as
    `tuner data validate` does (without token counts: no model is known here). With any error
    nothing is uploaded: the report is shown and the command exits 1. `--no-validate` skips it.
    """
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        fail(f"no such file: {', '.join(missing)}")
    if not no_validate:
        _refuse_invalid(paths, as_json=as_json, quiet=quiet)
    ctx = load_context()

    async def body() -> tuple[list[UploadResult], Backend]:
        async with session(ctx) as s:
            with progress_for(quiet or as_json) as progress:
                orch = s.orchestrator(progress=progress)
                return [await orch.upload(path, force=force) for path in paths], s.origin()

    results, origin = run_async(body(), api_url=ctx.backend)
    if as_json:
        emit_json([with_backend(_upload_json(result), origin) for result in results])
        return
    mark_origin(origin)
    for result in results:
        how = "already uploaded" if result.reused else "uploaded"
        console.print(f"[bold]{shown(result.file_id)}[/]  {shown(result.path)}  ({how})")


def _refuse_invalid(paths: list[Path], *, as_json: bool, quiet: bool) -> None:
    """Validate ``paths`` as fine-tuning data; on errors show the report and exit 1."""
    from tuner.cli.data import render_refusal
    from tuner.datasets.errors import DataInputError
    from tuner.datasets.validate import validate_paths

    with progress_for(quiet or as_json) as progress:
        try:
            report = validate_paths(paths, progress=progress)
        except DataInputError as exc:
            fail(str(exc), hint="Pass an existing, readable JSONL file.")
    if report.ok:
        return
    render_refusal(report.to_dict(), as_json=as_json, listing="files")
    fail(
        "the data has errors; nothing was uploaded",
        hint="Fix them (see `tuner data fix`), or pass --no-validate to upload anyway.",
        code=Exit.FAILED,
    )


def _upload_json(result: UploadResult) -> dict[str, Any]:
    return {
        "id": result.file_id,
        "path": str(result.path),
        "sha256": result.content_hash,
        "reused": result.reused,
        "file": None if result.file is None else wire_json(result.file),
    }


@app.command("list")
def list_files(
    purpose: str | None = typer.Option(None, "--purpose", help="fine-tune, batch or ocr."),
    as_json: bool = JsonOpt,
) -> None:
    """Every file on the server (all pages)."""
    ctx = load_context()
    filters: dict[str, Any] = {} if purpose is None else {"purpose": purpose}

    async def body() -> tuple[list[File], Backend]:
        async with session(ctx) as s:
            return await s.client.files.list(**filters).to_list(), s.origin()

    listed, origin = run_async(body(), api_url=ctx.backend)
    emit_listing(
        listed,
        origin=origin,
        as_json=as_json,
        columns=("id", "filename", "size", "lines", "type", "purpose"),
        row=lambda f: (
            f.id,
            f.filename or "-",
            _size(f.size_bytes),
            "-" if f.num_lines is None else f"{f.num_lines:,}",
            f.sample_type or "-",
            f.purpose or "-",
        ),
        empty="No files.",
    )


@app.command()
def show(file_id: str = IdArg, as_json: bool = JsonOpt) -> None:
    """One file's details."""
    ctx = load_context()

    async def body() -> tuple[File, Backend]:
        async with session(ctx) as s:
            return await s.client.files.get(file_id), s.origin()

    file, origin = run_async(body(), api_url=ctx.backend)
    if as_json:
        emit_json(with_backend(wire_json(file), origin))
        return
    mark_origin(origin)
    console.print(f"[bold]{shown(file.id)}[/]")
    for key, value in wire_json(file).items():
        if key != "id" and value is not None:
            console.print(inert(f"  {key:<12} {value}"), markup=False)


@app.command()
def delete(
    file_id: str = IdArg,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a file from the server (asks unless --yes)."""
    if not yes and not typer.confirm(f"Delete file {file_id}?", default=False, err=True):
        fail("not deleted", code=Exit.FAILED)
    ctx = load_context()

    async def body() -> None:
        async with session(ctx) as s:
            await s.client.files.delete(file_id)
            await s.ledger.aio.mark_file_deleted(file_id, now=s.clock())

    run_async(body(), api_url=ctx.backend)
    console.print(f"deleted {shown(file_id)}")


@app.command()
def download(
    file_id: str = IdArg,
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Where to write it \\[default: its filename, here]."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Download a file's content (written whole or not at all)."""
    ctx = load_context()

    async def body() -> Path:
        async with session(ctx) as s:
            target = out or Path(Path((await s.client.files.get(file_id)).filename or file_id).name)
            try:  # the one no-clobber check every writer uses
                removed = prepare_outputs([target], force=force)
            except OutputRefused as exc:
                fail(str(exc), hint=exc.hint)
            for path in removed:
                err_console.print(f"removed {path}, left behind by an interrupted run")
            with progress_for(quiet) as progress:
                progress.start(f"downloading {target.name}", unit="B")
                seen = 0

                def advance(written: int, _total: int | None) -> None:
                    nonlocal seen
                    progress.advance(written - seen)
                    seen = written

                return await s.client.files.download(file_id, target, progress=advance)

    target = run_async(body(), api_url=ctx.backend)
    err_console.print(f"wrote {shown(target)}")
