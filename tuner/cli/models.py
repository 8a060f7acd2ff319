"""``tuner models``: list, show, rename, archive, unarchive and delete models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from tuner.cli.context import load_context, run_async, session
from tuner.cli.output import (
    Exit,
    console,
    emit_json,
    emit_listing,
    fail,
    mark_origin,
    shown,
    wire_json,
    with_backend,
)
from tuner.jobs.records import Backend
from tuner.textsafe import inert

if TYPE_CHECKING:
    from tuner.api import ModelCard

app = typer.Typer(
    help="List and manage base and fine-tuned models.",
    no_args_is_help=True,
)

JsonOpt = typer.Option(False, "--json", help="Print JSON instead of text.")
IdArg = typer.Argument(..., help="The model id, e.g. ft:open-mistral-7b:…")


def _kind(card: ModelCard) -> str:
    return str(getattr(card, "type", None) or "unknown")


@app.command("list")
def list_models(
    fine_tuned: bool = typer.Option(False, "--fine-tuned", help="Only fine-tuned models."),
    tunable: bool = typer.Option(False, "--tunable", help="Only models that can be fine-tuned."),
    as_json: bool = JsonOpt,
) -> None:
    """The models your keys can use."""
    ctx = load_context()

    async def body() -> tuple[list[ModelCard], Backend]:
        async with session(ctx) as s:
            return list((await s.client.models.list()).data), s.origin()

    cards, origin = run_async(body(), api_url=ctx.backend)
    if fine_tuned:
        cards = [c for c in cards if _kind(c) == "fine-tuned"]
    if tunable:
        cards = [c for c in cards if c.capabilities.fine_tuning]
    emit_listing(
        cards,
        origin=origin,
        as_json=as_json,
        columns=("id", "type", "fine-tunable", "archived", "context"),
        row=lambda card: (
            card.id,
            _kind(card),
            "yes" if card.capabilities.fine_tuning else "no",
            "yes" if getattr(card, "archived", False) else "-",
            "-" if card.max_context_length is None else f"{card.max_context_length:,}",
        ),
    )


@app.command()
def show(model_id: str = IdArg, as_json: bool = JsonOpt) -> None:
    """One model's card."""
    ctx = load_context()

    async def body() -> tuple[ModelCard, Backend]:
        async with session(ctx) as s:
            return await s.client.models.get(model_id), s.origin()

    card, origin = run_async(body(), api_url=ctx.backend)
    data = wire_json(card)
    if as_json:
        emit_json(with_backend(data, origin))
        return
    mark_origin(origin)
    console.print(f"[bold]{shown(card.id)}[/]  ({_kind(card)})")
    for key, value in data.items():
        if key not in ("id", "type", "object") and value not in (None, [], {}):
            console.print(inert(f"  {key:<28} {value}"), markup=False)


@app.command()
def rename(
    model_id: str = IdArg,
    name: str | None = typer.Option(None, "--name", help="The new name."),
    description: str | None = typer.Option(None, "--description", help="The new description."),
    as_json: bool = JsonOpt,
) -> None:
    """Rename or re-describe a fine-tuned model."""
    if name is None and description is None:
        fail("give --name and/or --description")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if description is not None:
        changes["description"] = description
    ctx = load_context()

    async def body() -> tuple[Any, Backend]:
        async with session(ctx) as s:
            return await s.client.models.update(model_id, **changes), s.origin()

    model, origin = run_async(body(), api_url=ctx.backend)
    if as_json:
        emit_json(with_backend(wire_json(model), origin))
        return
    mark_origin(origin)
    console.print(f"[bold]{shown(model.id)}[/]  name: {shown(model.name or '-')}")


def _set_archived(model_id: str, archived: bool, as_json: bool) -> None:
    ctx = load_context()

    async def body() -> tuple[Any, Backend]:
        async with session(ctx) as s:
            models = s.client.models
            changed = await (models.archive(model_id) if archived else models.unarchive(model_id))
            return changed, s.origin()

    result, origin = run_async(body(), api_url=ctx.backend)
    if as_json:
        emit_json(with_backend(wire_json(result), origin))
        return
    mark_origin(origin)
    console.print(f"{shown(result.id)}: {'archived' if result.archived else 'not archived'}")


@app.command()
def archive(model_id: str = IdArg, as_json: bool = JsonOpt) -> None:
    """Archive a fine-tuned model (it can be unarchived)."""
    _set_archived(model_id, True, as_json)


@app.command()
def unarchive(model_id: str = IdArg, as_json: bool = JsonOpt) -> None:
    """Unarchive a fine-tuned model."""
    _set_archived(model_id, False, as_json)


@app.command()
def delete(
    model_id: str = IdArg,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a fine-tuned model for good (asks unless --yes)."""
    if not yes and not typer.confirm(
        f"Delete model {model_id}? This cannot be undone.", default=False, err=True
    ):
        fail("not deleted", code=Exit.FAILED)
    ctx = load_context()

    async def body() -> Any:
        async with session(ctx) as s:
            return await s.client.models.delete(model_id)

    result = run_async(body(), api_url=ctx.backend)
    console.print(f"deleted {shown(result.id)}")
