"""Evaluation runs (an eval set × models) and their items (one response of one model each).

Items are upserted by (run, item index, model), so an interrupted run resumes by asking
``missing_items`` what is left and recording only that.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update

from ..records import Backend, EvalItemRecord, EvalRunRecord, EvalRunStatus
from . import schema
from .common import insert_ignore, upsert, upsert_many
from .errors import LedgerError, NotFoundError

_R = schema.eval_runs.c
_M = schema.eval_run_models.c
_I = schema.eval_items.c
_ITEM_KEYS = ("run_id", "item_index", "model")


@dataclass(frozen=True, slots=True)
class EvalItemWrite:
    """One model's result on one item, as ``Ledger.record_eval_items`` records it."""

    run_id: str
    item_index: int
    model: str
    prompt_hash: str
    response_text: str | None = None
    latency_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    scores: Mapping[str, Any] | None = None
    error: str | None = None
    judge_verdict: Mapping[str, Any] | None = None


def create_eval_run(
    conn: Connection,
    *,
    run_id: str,
    data_path: str,
    data_hash: str,
    models: Sequence[str],
    backends: Sequence[Backend] | None = None,
    judge: str | None,
    params: dict[str, Any] | None,
    status: EvalRunStatus,
    now: int,
) -> EvalRunRecord:
    if not models:
        raise ValueError("an evaluation run needs at least one model")
    if backends is not None and len(backends) != len(models):
        raise ValueError("give one backend per model")
    origins = (
        list(backends) if backends is not None else [Backend(url=None, sandbox=None)] * len(models)
    )
    row = {
        "run_id": run_id,
        "data_path": data_path,
        "data_hash": data_hash,
        "judge": judge,
        "params": params,
        "status": status,
        "created_at": now,
        "updated_at": now,
    }
    if not insert_ignore(conn, schema.eval_runs, [row], ["run_id"]):
        raise LedgerError(f"evaluation run {run_id} already exists")
    conn.execute(
        schema.eval_run_models.insert(),
        [
            {
                "run_id": run_id,
                "position": i,
                "model": m,
                "backend": origin.url,
                "sandbox": origin.sandbox,
            }
            for i, (m, origin) in enumerate(zip(models, origins, strict=True))
        ],
    )
    return _require_run(conn, run_id)


def set_eval_run_status(
    conn: Connection, run_id: str, *, status: EvalRunStatus, now: int
) -> EvalRunRecord:
    result = conn.execute(
        update(schema.eval_runs).where(_R.run_id == run_id).values(status=status, updated_at=now)
    )
    if result.rowcount == 0:
        raise NotFoundError(f"no evaluation run {run_id} in the ledger")
    return _require_run(conn, run_id)


def _require_run(conn: Connection, run_id: str) -> EvalRunRecord:
    found = get_eval_run(conn, run_id)
    if found is None:
        raise NotFoundError(f"no evaluation run {run_id} in the ledger")
    return found


def _models_of(conn: Connection, run_ids: Collection[str]) -> dict[str, list[tuple[str, Backend]]]:
    if not run_ids:
        return {}
    query = (
        select(_M.run_id, _M.model, _M.backend, _M.sandbox)
        .where(_M.run_id.in_(list(run_ids)))
        .order_by(_M.run_id, _M.position)
    )
    found: dict[str, list[tuple[str, Backend]]] = {run_id: [] for run_id in run_ids}
    for run_id, model, backend, sandbox in conn.execute(query):
        found[run_id].append((model, Backend(url=backend, sandbox=sandbox)))
    return found


def _run_records(conn: Connection, rows: Sequence[RowMapping]) -> list[EvalRunRecord]:
    models = _models_of(conn, [row["run_id"] for row in rows])
    return [
        EvalRunRecord.model_validate(
            {
                **dict(row),
                "models": [model for model, _ in models[row["run_id"]]],
                "backends": [origin for _, origin in models[row["run_id"]]],
            }
        )
        for row in rows
    ]


def get_eval_run(conn: Connection, run_id: str) -> EvalRunRecord | None:
    rows = conn.execute(select(schema.eval_runs).where(_R.run_id == run_id)).mappings().all()
    records = _run_records(conn, rows)
    return records[0] if records else None


def list_eval_runs(
    conn: Connection,
    *,
    model: str | None = None,
    data_hash: str | None = None,
    limit: int | None = None,
) -> list[EvalRunRecord]:
    """Runs newest first; ``model`` keeps runs that evaluated that model."""
    query = select(schema.eval_runs).order_by(_R.created_at.desc(), _R.run_id.desc())
    if model is not None:
        query = query.where(_R.run_id.in_(select(_M.run_id).where(_M.model == model)))
    if data_hash is not None:
        query = query.where(_R.data_hash == data_hash)
    if limit is not None:
        query = query.limit(limit)
    return _run_records(conn, conn.execute(query).mappings().all())


def record_eval_item(conn: Connection, row: dict[str, Any]) -> EvalItemRecord:
    if get_eval_run(conn, row["run_id"]) is None:
        raise NotFoundError(f"no evaluation run {row['run_id']} in the ledger")
    keys = ["run_id", "item_index", "model"]
    upsert(conn, schema.eval_items, row, keys, [name for name in row if name not in keys])
    query = select(schema.eval_items).where(
        _I.run_id == row["run_id"], _I.item_index == row["item_index"], _I.model == row["model"]
    )
    return EvalItemRecord.model_validate(dict(conn.execute(query).mappings().one()))


def record_eval_items(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Upsert many items in one statement; how many rows were written.

    Of rows for the same (run, item, model), the last one wins, as with one call per row.
    """
    if not rows:
        return 0
    latest = {tuple(row[key] for key in _ITEM_KEYS): row for row in rows}
    run_ids = {row["run_id"] for row in latest.values()}
    known = set(conn.execute(select(_R.run_id).where(_R.run_id.in_(run_ids))).scalars())
    unknown = sorted(run_ids - known)
    if unknown:
        raise NotFoundError(f"no evaluation run {unknown[0]} in the ledger")
    columns = [name for name in rows[0] if name not in _ITEM_KEYS]
    upsert_many(conn, schema.eval_items, list(latest.values()), _ITEM_KEYS, columns)
    return len(latest)


def eval_items(conn: Connection, run_id: str, *, model: str | None = None) -> list[EvalItemRecord]:
    query = select(schema.eval_items).where(_I.run_id == run_id).order_by(_I.item_index, _I.model)
    if model is not None:
        query = query.where(_I.model == model)
    return [EvalItemRecord.model_validate(dict(row)) for row in conn.execute(query).mappings()]


def missing_items(
    conn: Connection,
    run_id: str,
    *,
    indices: Collection[int],
    models: Collection[str],
    retry_errors: bool,
) -> list[tuple[int, str]]:
    """(index, model) pairs with no usable item yet, in index then model order.

    With ``retry_errors`` an item that ended in an error counts as missing, so a resumed run
    tries it again.
    """
    query = select(_I.item_index, _I.model).where(_I.run_id == run_id)
    if retry_errors:
        query = query.where(_I.error.is_(None))
    done = {(int(index), str(model)) for index, model in conn.execute(query)}
    wanted_models = list(dict.fromkeys(models))
    return [
        (index, model)
        for index in sorted(set(indices))
        for model in wanted_models
        if (index, model) not in done
    ]
