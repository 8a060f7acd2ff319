"""``/v1/files``: streamed upload, paged listing, get, delete, streamed download."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import httpx

from tuner.api.multipart import DEFAULT_CHUNK_SIZE, UploadProgress, build_upload
from tuner.api.pagination import AsyncPager, Page
from tuner.api.resources._common import Resource, segment
from tuner.api.sentinel import NOT_GIVEN, NotGiven
from tuner.api.transport import RequestSpec, stream_error
from tuner.api.wire import DeletedFile, File, FileList, SignedURL
from tuner.fsutil import atomic_writer

FilePurpose = Literal["fine-tune", "batch", "ocr"]
Visibility = Literal["workspace", "user"]
DownloadProgress = Callable[[int, int | None], None]
"""Called with ``(bytes written, total or None when the server sent no length)``."""


class Files(Resource):
    async def upload(
        self,
        path: str | os.PathLike[str],
        *,
        purpose: FilePurpose | NotGiven = "fine-tune",
        filename: str | None = None,
        expiry: int | NotGiven = NOT_GIVEN,
        visibility: Visibility | NotGiven = NOT_GIVEN,
        progress: UploadProgress | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> File:
        """Upload ``path`` streamed from disk; ``progress(sent, total)`` follows the file bytes.

        On a retry the file is sent again from the start, so ``progress`` starts over. The API
        returns the existing file when one with the same name and content exists.
        """
        fields: dict[str, str] = {}
        if not isinstance(purpose, NotGiven):
            fields["purpose"] = purpose
        if not isinstance(expiry, NotGiven):
            fields["expiry"] = str(expiry)
        if not isinstance(visibility, NotGiven):
            fields["visibility"] = visibility
        upload = build_upload(
            path, fields=fields, filename=filename, chunk_size=chunk_size, progress=progress
        )
        sent = await self._transport.request(
            RequestSpec(
                "POST",
                "/v1/files",
                content=upload.body,
                headers=upload.headers(),
                timeout=self._transport.timeouts.for_upload(),
            )
        )
        uploaded = sent.parse(File)
        self._transport.keys.record_owner(uploaded.id, sent.key)
        return uploaded

    def list(
        self,
        *,
        page: int = 0,
        page_size: int = 100,
        include_total: bool | NotGiven = NOT_GIVEN,
        sample_type: Sequence[str] | NotGiven = NOT_GIVEN,
        source: Sequence[str] | NotGiven = NOT_GIVEN,
        search: str | NotGiven = NOT_GIVEN,
        purpose: FilePurpose | NotGiven = NOT_GIVEN,
        mimetypes: Sequence[str] | NotGiven = NOT_GIVEN,
    ) -> AsyncPager[File]:
        """Every file matching the filters, page by page (list filters repeat the query key)."""
        filters: dict[str, object] = {
            "include_total": include_total,
            "sample_type": _as_list(sample_type),
            "source": _as_list(source),
            "search": search,
            "purpose": purpose,
            "mimetypes": _as_list(mimetypes),
        }

        async def fetch(page_number: int, size: int) -> Page[File]:
            params = {**filters, "page": page_number, "page_size": size}
            sent = await self._transport.request(RequestSpec("GET", "/v1/files", params=params))
            listing = sent.parse(FileList)
            return Page(listing.data, listing.total)

        return AsyncPager(fetch, first_page=page, page_size=page_size, identity=_file_id)

    async def get(self, file_id: str) -> File:
        sent = await self._transport.request(self._about(file_id, "GET", ""))
        return sent.parse(File)

    async def delete(self, file_id: str) -> DeletedFile:
        sent = await self._transport.request(self._about(file_id, "DELETE", ""))
        return sent.parse(DeletedFile)

    async def url(self, file_id: str, *, expiry_hours: int | NotGiven = NOT_GIVEN) -> str:
        """A signed download URL, valid ``expiry_hours`` (the API's default is 24)."""
        spec = self._about(file_id, "GET", "/url", params={"expiry": expiry_hours})
        sent = await self._transport.request(spec)
        return sent.parse(SignedURL).url

    async def download(
        self,
        file_id: str,
        destination: str | os.PathLike[str],
        *,
        progress: DownloadProgress | None = None,
    ) -> Path:
        """Stream the file's content to ``destination``; it appears whole or not at all."""
        target = Path(destination)
        spec = self._about(file_id, "GET", "/content", stream=True)
        sent = await self._transport.request(spec)
        response = sent.response
        try:
            total = _content_length(response)
            written = 0
            with atomic_writer(target) as handle:
                try:
                    async for chunk in response.aiter_bytes():
                        handle.write(chunk)
                        written += len(chunk)
                        if progress is not None:
                            progress(written, total)
                except httpx.HTTPError as exc:
                    raise stream_error(spec.method, spec.path, exc) from exc
        finally:
            await response.aclose()
        return target

    def _about(
        self,
        file_id: str,
        method: str,
        tail: str,
        *,
        params: dict[str, object] | None = None,
        stream: bool = False,
    ) -> RequestSpec:
        return RequestSpec(
            method,
            f"/v1/files/{segment(file_id)}{tail}",
            params=params,
            prefer_key=self._transport.keys.owner_of(file_id),
            stream=stream,
            follow_redirects=stream,  # content may be served from storage elsewhere
        )


def _file_id(item: File) -> str:
    return item.id


def _as_list(values: Sequence[str] | NotGiven) -> list[str] | NotGiven:
    if isinstance(values, NotGiven):
        return values
    if isinstance(values, str):
        return [values]
    return list(values)


def _content_length(response: httpx.Response) -> int | None:
    raw = response.headers.get("content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
