"""Files: streamed multipart upload with progress, paged listing, get, delete, download."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import httpx
import pytest
import respx

from tuner.api import InvalidIdError, NotFoundError, RetryPolicy, TunerClient

from .support import BASE_URL, FILE_ID, FILE_ID_2, KEY_A, ClientFactory, FakeTime, file_payload

pytestmark = pytest.mark.anyio

CHUNK = 64 * 1024


def _training_file(tmp_path: Path, size: int) -> tuple[Path, bytes]:
    line = (
        b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}'
    )
    line += b"\n"
    content = (line * (size // len(line) + 1))[:size]
    path = tmp_path / "train.jsonl"
    path.write_bytes(content)
    return path, content


def _parts(request: httpx.Request) -> dict[str, tuple[str | None, bytes]]:
    """Parse the multipart body: field name → (filename, content)."""
    boundary = re.search(r"boundary=([0-9a-f]+)", request.headers["content-type"])
    assert boundary is not None
    body = request.content
    parts: dict[str, tuple[str | None, bytes]] = {}
    for raw in body.split(b"--" + boundary.group(1).encode())[1:-1]:
        head, _, value = raw.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        disposition = head.decode()
        name = re.search(r'name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        assert name is not None
        parts[name.group(1)] = (
            filename.group(1) if filename else None,
            value.removesuffix(b"\r\n"),
        )
    return parts


async def test_upload_sends_the_file_as_multipart_with_progress(
    api: respx.MockRouter, make_client: ClientFactory, tmp_path: Path
) -> None:
    path, content = _training_file(tmp_path, 300_000)
    route = api.post("/v1/files").respond(200, json=file_payload(bytes=None))
    progress: list[tuple[int, int]] = []
    async with make_client() as client:
        uploaded = await client.files.upload(
            path,
            filename="custom.jsonl",
            progress=lambda sent, total: progress.append((sent, total)),
            chunk_size=CHUNK,
        )
    assert uploaded.id == FILE_ID
    assert uploaded.size_bytes is None  # official examples send "bytes": null
    request = route.calls.last.request
    parts = _parts(request)
    assert parts["purpose"] == (None, b"fine-tune")
    assert parts["file"] == ("custom.jsonl", content)
    assert "expiry" not in parts and "visibility" not in parts
    assert int(request.headers["content-length"]) == len(request.content)
    assert "transfer-encoding" not in request.headers
    # Progress in chunk-sized steps: the file is never read whole.
    assert progress[0] == (0, len(content))
    assert progress[-1] == (len(content), len(content))
    steps = [b[0] - a[0] for a, b in itertools.pairwise(progress)]
    assert len(steps) == 5 and max(steps) == CHUNK


class _ReadingTransport(httpx.AsyncBaseTransport):
    """Reads the request body piece by piece, as a socket would (httpx's MockTransport and
    respx read it whole first, which would hide whether the client streams)."""

    def __init__(self) -> None:
        self.pieces: list[int] = []
        self.body = bytearray()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        async for piece in request.stream:
            self.pieces.append(len(piece))
            self.body.extend(piece)
        return httpx.Response(200, json=file_payload())


async def test_upload_streams_chunks_no_larger_than_the_chunk_size(tmp_path: Path) -> None:
    path, content = _training_file(tmp_path, 1_000_000)
    transport = _ReadingTransport()
    async with TunerClient([KEY_A], base_url=BASE_URL, transport=transport) as client:
        await client.files.upload(path, purpose="fine-tune", visibility="user", chunk_size=CHUNK)
    assert content in bytes(transport.body)
    assert b'name="visibility"\r\n\r\nuser' in bytes(transport.body)
    full_chunks = [n for n in transport.pieces if n == CHUNK]
    assert len(full_chunks) == len(content) // CHUNK
    assert max(transport.pieces) <= CHUNK < len(content)


async def test_upload_retry_streams_the_file_again(
    api: respx.MockRouter, make_client: ClientFactory, tmp_path: Path, fake_time: FakeTime
) -> None:
    path, content = _training_file(tmp_path, 10_000)
    route = api.post("/v1/files").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=file_payload())]
    )
    async with make_client() as client:
        await client.files.upload(path, expiry=24)
    assert route.call_count == 2
    for call in route.calls:
        parts = _parts(call.request)
        assert parts["file"] == ("train.jsonl", content)
        assert parts["expiry"] == (None, b"24")


async def test_list_pages_with_repeated_query_keys(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    pages = [
        {"object": "list", "data": [file_payload(FILE_ID)], "total": 2},
        {"object": "list", "data": [file_payload(FILE_ID_2)], "total": 2},
    ]
    route = api.get("/v1/files").mock(
        side_effect=[httpx.Response(200, json=page) for page in pages]
    )
    async with make_client() as client:
        files = await client.files.list(
            page_size=1, source=["upload", "mistral"], purpose="fine-tune", search="train"
        ).to_list()
    assert [f.id for f in files] == [FILE_ID, FILE_ID_2]
    query = route.calls[0].request.url.params
    assert query.get_list("source") == ["upload", "mistral"]
    assert query["purpose"] == "fine-tune"
    assert "sample_type" not in query and "include_total" not in query


async def test_get_and_delete(api: respx.MockRouter, make_client: ClientFactory) -> None:
    api.get(f"/v1/files/{FILE_ID}").respond(200, json=file_payload(deleted=False))
    api.delete(f"/v1/files/{FILE_ID}").respond(
        200, json={"id": FILE_ID, "object": "file", "deleted": True}
    )
    api.get(f"/v1/files/{FILE_ID}/url").respond(200, json={"url": "https://blob.test/x?sig=1"})
    async with make_client() as client:
        assert (await client.files.get(FILE_ID)).filename == "train.jsonl"
        assert (await client.files.delete(FILE_ID)).deleted is True
        assert await client.files.url(FILE_ID, expiry_hours=2) == "https://blob.test/x?sig=1"


async def test_ids_cannot_change_the_route(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = api.get(url__regex=r"/v1/files/.+").respond(200, json=file_payload())
    async with make_client() as client:
        await client.files.get("jobs?x=1#y")
        with pytest.raises(InvalidIdError):  # a "/" is refused, not sent escaped
            await client.files.get("../jobs?x=1")
    assert route.calls.call_count == 1
    assert route.calls.last.request.url.raw_path == b"/v1/files/jobs%3Fx%3D1%23y"


async def test_download_streams_to_the_destination(
    api: respx.MockRouter, make_client: ClientFactory, tmp_path: Path
) -> None:
    payload = os.urandom(200_000)
    api.get(f"/v1/files/{FILE_ID}/content").respond(
        200, content=payload, headers={"content-type": "application/octet-stream"}
    )
    seen: list[tuple[int, int | None]] = []
    target = tmp_path / "out" / "copy.jsonl"
    async with make_client() as client:
        written = await client.files.download(
            FILE_ID, target, progress=lambda done, total: seen.append((done, total))
        )
    assert written == target
    assert target.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload))


async def test_failed_download_leaves_nothing_behind(
    api: respx.MockRouter, make_client: ClientFactory, tmp_path: Path
) -> None:
    api.get(f"/v1/files/{FILE_ID}/content").respond(404, json={"detail": "Not Found"})
    target = tmp_path / "copy.jsonl"
    async with make_client(retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(NotFoundError, match="Not Found"):
            await client.files.download(FILE_ID, target)
    assert list(tmp_path.iterdir()) == []
