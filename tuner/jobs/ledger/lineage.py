"""Lineage: dataset content hash → uploaded file → job → fine-tuned model → evaluation runs.

This is what answers "which data made this model, and was it better than the base?" months
later, from the ledger alone.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from ..records import JobRecord, Lineage, LineageFile
from . import schema
from .evals import list_eval_runs
from .files import datasets_by_hash, files_by_id
from .jobs import job_files, job_record, newest_first

_J = schema.jobs.c
_JF = schema.job_files.c
_F = schema.files.c


def lineage_of_model(conn: Connection, fine_tuned_model: str) -> Lineage:
    job = _job_of_model(conn, fine_tuned_model)
    eval_runs = list_eval_runs(conn, model=fine_tuned_model)
    if job is None:
        return Lineage(
            fine_tuned_model=fine_tuned_model, job=None, files=[], datasets=[], eval_runs=eval_runs
        )
    links = job_files(conn, job.id)
    known = files_by_id(conn, [link.file_id for link in links])
    files = [
        LineageFile(
            role=link.role, weight=link.weight, file_id=link.file_id, file=known.get(link.file_id)
        )
        for link in links
    ]
    hashes = sorted({f.content_hash for f in known.values() if f.content_hash is not None})
    return Lineage(
        fine_tuned_model=fine_tuned_model,
        job=job,
        files=files,
        datasets=datasets_by_hash(conn, hashes),
        eval_runs=eval_runs,
    )


def _job_of_model(conn: Connection, fine_tuned_model: str) -> JobRecord | None:
    query = (
        select(schema.jobs)
        .where(_J.fine_tuned_model == fine_tuned_model)
        .order_by(*newest_first())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else job_record(row)


def jobs_using_file(conn: Connection, file_id: str) -> list[JobRecord]:
    used = select(_JF.job_id).where(_JF.file_id == file_id)
    query = select(schema.jobs).where(_J.id.in_(used)).order_by(*newest_first())
    return [job_record(row) for row in conn.execute(query).mappings()]


def jobs_from_dataset(conn: Connection, content_hash: str) -> list[JobRecord]:
    uploads = select(_F.file_id).where(_F.content_hash == content_hash)
    used = select(_JF.job_id).where(_JF.file_id.in_(uploads))
    query = select(schema.jobs).where(_J.id.in_(used)).order_by(*newest_first())
    return [job_record(row) for row in conn.execute(query).mappings()]
