"""A streamed ``multipart/form-data`` body for file uploads.

httpx's own multipart encoder reads files synchronously and reports no progress, so the body is
built here: the form fields and the file part's headers up front, then the file in chunks read
off the event loop, then the closing boundary. The length is known in advance, so the request
carries a ``Content-Length`` (no chunked encoding) and memory holds one chunk at a time.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

UploadProgress = Callable[[int, int], None]
"""Called with ``(file bytes sent, file size)`` after each chunk."""

DEFAULT_CHUNK_SIZE = 256 * 1024


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    path: Path
    file_size: int
    boundary: str
    head: bytes
    tail: bytes
    chunk_size: int = DEFAULT_CHUNK_SIZE
    progress: UploadProgress | None = None

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def content_length(self) -> int:
        return len(self.head) + self.file_size + len(self.tail)

    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, "Content-Length": str(self.content_length)}

    async def body(self) -> AsyncIterator[bytes]:
        """The body, streamed: a fresh iterator per call, so a retry sends the file again."""
        yield self.head
        sent = 0
        self._report(sent)
        with self.path.open("rb") as handle:
            while sent < self.file_size:
                want = min(self.chunk_size, self.file_size - sent)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    raise OSError(f"{self.path} shrank while it was being uploaded")
                sent += len(chunk)
                yield chunk
                self._report(sent)
        yield self.tail

    def _report(self, sent: int) -> None:
        if self.progress is not None:
            self.progress(sent, self.file_size)


def build_upload(
    path: str | os.PathLike[str],
    *,
    fields: Mapping[str, str],
    filename: str | None = None,
    field_name: str = "file",
    content_type: str = "application/octet-stream",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: UploadProgress | None = None,
) -> MultipartUpload:
    """Describe the upload of ``path`` with the given form fields (sent before the file)."""
    source = Path(path)
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    size = source.stat().st_size
    boundary = secrets.token_hex(16)
    head = b"".join(_field_part(boundary, name, value) for name, value in fields.items())
    head += _file_part_head(boundary, field_name, filename or source.name, content_type)
    tail = f"\r\n--{boundary}--\r\n".encode()
    return MultipartUpload(
        path=source,
        file_size=size,
        boundary=boundary,
        head=head,
        tail=tail,
        chunk_size=chunk_size,
        progress=progress,
    )


def _quote(value: str) -> str:
    # The same escaping browsers and httpx use inside a quoted header parameter.
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _field_part(boundary: str, name: str, value: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n{value}\r\n'
    ).encode()


def _file_part_head(boundary: str, name: str, filename: str, content_type: str) -> bytes:
    return (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{_quote(name)}"; filename="{_quote(filename)}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
