"""Receiving ``POST /v1/files``: a streaming multipart parser that writes the file part to disk.

Starlette's form parser spools file parts to a temporary file but has no size cap, so a 600 MB
upload would be read whole before it could be refused. Here the file part goes straight to the
store's ``incoming/`` folder chunk by chunk while its size, SHA-256, line count and UTF-8 validity
are measured on the way; passing the size limit stops the copy at once (413). Memory stays flat.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from tuner.sandbox.store import Store

if TYPE_CHECKING:
    # Only declared for type checkers by python-multipart.
    from python_multipart.multipart import MultipartCallbacks

# Multipart framing and the small form fields around the file part.
FRAMING_SLACK = 1 << 20
MAX_FIELD_BYTES = 64 * 1024


class UploadTooLarge(Exception):
    pass


class BadUpload(Exception):
    """The body is not usable multipart/form-data; the message says why."""


@dataclass
class _FilePart:
    handle: BinaryIO
    path: Path
    filename: str
    content_type: str | None
    size: int = 0
    newlines: int = 0
    last_byte: int = -1
    utf8_ok: bool = True
    sha256: hashlib._Hash = field(default_factory=hashlib.sha256)
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")("strict")
    )

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.size += len(data)
        self.newlines += data.count(b"\n")
        self.last_byte = data[-1]
        self.sha256.update(data)
        if self.utf8_ok:
            try:
                self.decoder.decode(data)
            except UnicodeDecodeError:
                self.utf8_ok = False

    def finish(self) -> None:
        if self.utf8_ok:
            try:
                self.decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self.utf8_ok = False


@dataclass(frozen=True)
class ReceivedFile:
    """A complete file part, on disk under ``path`` (in ``incoming/``, not yet kept)."""

    path: Path
    filename: str
    content_type: str | None
    size: int
    sha256: str
    num_lines: int
    utf8_ok: bool


@dataclass(frozen=True)
class ReceivedForm:
    file: ReceivedFile | None
    fields: dict[str, str]


class _Receiver:
    """python-multipart callbacks: form fields kept in memory (capped), the file part on disk."""

    def __init__(self, store: Store, max_bytes: int) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self.fields: dict[str, str] = {}
        self.file: _FilePart | None = None
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._content_type: str | None = None
        self._field_name: str | None = None
        self._field_data = bytearray()
        self._current_file: _FilePart | None = None

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._content_type = None
        self._field_name = None
        self._field_data = bytearray()
        self._current_file = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self._header_name.lower()
        if name == b"content-disposition":
            self._disposition = self._header_value
        elif name == b"content-type":
            self._content_type = self._header_value.decode("latin-1").strip() or None
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise BadUpload('a multipart part has no Content-Disposition "name"')
        name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options and name == "file":
            if self.file is not None:
                raise BadUpload("only one file can be uploaded per request")
            fd, path = self.store.new_incoming()
            self._current_file = _FilePart(
                handle=os.fdopen(fd, "wb"),
                path=path,
                filename=options[b"filename"].decode("utf-8", "replace"),
                content_type=self._content_type,
            )
            self.file = self._current_file
        else:
            self._field_name = name

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if start == end:
            return
        if self._current_file is not None:
            if self._current_file.size + (end - start) > self.max_bytes:
                raise UploadTooLarge
            self._current_file.write(data[start:end])
        elif self._field_name is not None:
            if len(self._field_data) + (end - start) > MAX_FIELD_BYTES:
                raise BadUpload(f"the form field {self._field_name!r} is too large")
            self._field_data.extend(data[start:end])

    def on_part_end(self) -> None:
        if self._current_file is not None:
            self._current_file.finish()
            self._current_file.handle.close()
            self._current_file = None
        elif self._field_name is not None:
            self.fields[self._field_name] = self._field_data.decode("utf-8", "replace")

    def discard(self) -> None:
        if self.file is not None:
            self.file.handle.close()
            with contextlib.suppress(FileNotFoundError):
                self.file.path.unlink()

    def result(self) -> ReceivedForm:
        part = self.file
        if part is None:
            return ReceivedForm(None, self.fields)
        lines = part.newlines + (1 if part.size and part.last_byte != ord("\n") else 0)
        received = ReceivedFile(
            path=part.path,
            filename=part.filename,
            content_type=part.content_type,
            size=part.size,
            sha256=part.sha256.hexdigest(),
            num_lines=lines,
            utf8_ok=part.utf8_ok,
        )
        return ReceivedForm(received, self.fields)


def declared_too_large(content_length: str | None, max_bytes: int) -> bool:
    """True when the request announces a body that cannot hold a file within the limit."""
    if content_length is None or not content_length.isdigit():
        return False
    return int(content_length) > max_bytes + FRAMING_SLACK


async def receive_form(
    content_type: str | None, body: AsyncIterator[bytes], store: Store, max_bytes: int
) -> ReceivedForm:
    """Parse a multipart body; the file part (field ``file``) is streamed into the store.

    Raises :class:`UploadTooLarge` as soon as the file part passes ``max_bytes`` (the partial
    file is removed) and :class:`BadUpload` for a body that is not multipart/form-data.
    """
    media_type, params = parse_options_header(content_type)
    if media_type != b"multipart/form-data" or b"boundary" not in params:
        raise BadUpload("the body must be multipart/form-data with a boundary")
    receiver = _Receiver(store, max_bytes)
    parser = MultipartParser(params[b"boundary"], receiver.callbacks())
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        receiver.discard()
        raise BadUpload("invalid multipart data") from exc
    except BaseException:
        receiver.discard()
        raise
    return receiver.result()


async def drain(body: AsyncIterator[bytes]) -> None:
    """Read and drop the rest of a request body.

    A client that sends its whole body before reading the answer (httpx, curl) would otherwise
    see a reset connection instead of the 413.
    """
    async for _chunk in body:
        pass
