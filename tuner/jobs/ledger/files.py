"""Datasets (content seen locally) and uploaded files (content on a server)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, RowMapping, select, update

from ..records import DatasetRecord, FileRecord
from . import schema
from .common import upsert
from .errors import NotFoundError

_D = schema.datasets.c
_F = schema.files.c


def record_dataset(
    conn: Connection,
    *,
    content_hash: str,
    path: str,
    size_bytes: int,
    line_count: int,
    stats: dict[str, Any] | None,
    now: int,
) -> DatasetRecord:
    """Insert the dataset, or refresh where it was last seen; ``created_at`` stays the first."""
    row = {
        "content_hash": content_hash,
        "path": path,
        "size_bytes": size_bytes,
        "line_count": line_count,
        "stats": stats,
        "created_at": now,
    }
    refreshed = ["path", "size_bytes", "line_count"] + (["stats"] if stats is not None else [])
    upsert(conn, schema.datasets, row, ["content_hash"], refreshed)
    found = get_dataset(conn, content_hash)
    if found is None:
        raise NotFoundError(f"dataset {content_hash} vanished while being recorded")
    return found


def dataset_record(row: RowMapping) -> DatasetRecord:
    return DatasetRecord.model_validate(dict(row))


def get_dataset(conn: Connection, content_hash: str) -> DatasetRecord | None:
    row = conn.execute(select(schema.datasets).where(_D.content_hash == content_hash))
    found = row.mappings().first()
    return None if found is None else dataset_record(found)


def datasets_by_hash(conn: Connection, hashes: list[str]) -> list[DatasetRecord]:
    if not hashes:
        return []
    query = select(schema.datasets).where(_D.content_hash.in_(hashes)).order_by(_D.created_at)
    return [dataset_record(row) for row in conn.execute(query).mappings()]


def record_file(conn: Connection, row: dict[str, Any]) -> FileRecord:
    """Insert or refresh an uploaded file (same id: same file, the server's latest facts win)."""
    if row.get("content_hash") is not None and get_dataset(conn, row["content_hash"]) is None:
        raise NotFoundError(
            f"file {row['file_id']} names dataset {row['content_hash']}, which is not in the "
            "ledger; record the dataset first"
        )
    update_columns = [name for name in row if name not in {"file_id", "uploaded_at"}]
    upsert(conn, schema.files, row, ["file_id"], update_columns)
    found = get_file(conn, row["file_id"])
    if found is None:
        raise NotFoundError(f"file {row['file_id']} vanished while being recorded")
    return found


def file_record(row: RowMapping) -> FileRecord:
    return FileRecord.model_validate(dict(row))


def get_file(conn: Connection, file_id: str) -> FileRecord | None:
    found = conn.execute(select(schema.files).where(_F.file_id == file_id)).mappings().first()
    return None if found is None else file_record(found)


def files_by_id(conn: Connection, file_ids: list[str]) -> dict[str, FileRecord]:
    if not file_ids:
        return {}
    rows = conn.execute(select(schema.files).where(_F.file_id.in_(file_ids))).mappings()
    return {row["file_id"]: file_record(row) for row in rows}


def find_uploaded_file(
    conn: Connection, *, content_hash: str, backend: str, key_last4: str | None
) -> FileRecord | None:
    """The newest live upload of this content to this server (and key's workspace, if given)."""
    query = (
        select(schema.files)
        .where(_F.content_hash == content_hash, _F.backend == backend, _F.deleted_at.is_(None))
        .order_by(_F.uploaded_at.desc(), _F.file_id)
        .limit(1)
    )
    if key_last4 is not None:
        query = query.where(_F.key_last4 == key_last4)
    found = conn.execute(query).mappings().first()
    return None if found is None else file_record(found)


def mark_file_deleted(conn: Connection, file_id: str, *, now: int) -> None:
    result = conn.execute(update(schema.files).where(_F.file_id == file_id).values(deleted_at=now))
    if result.rowcount == 0:
        raise NotFoundError(f"no file {file_id} in the ledger")
