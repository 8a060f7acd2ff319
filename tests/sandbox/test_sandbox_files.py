"""/v1/files over real HTTP: uploads (valid, invalid, too large), listing, content, deletion."""

from __future__ import annotations

import hashlib
import uuid

import httpx

from tuner.sandbox import SandboxHandle

from .conftest import StartSandbox, make_client
from .support import pretrain_data, training_data, upload, upload_ok


def test_upload_fills_every_field_truthfully(client: httpx.Client) -> None:
    content = training_data()
    response = upload(client, content)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "file"
    assert body["filename"] == "train.jsonl"
    assert body["bytes"] == len(content)
    assert body["num_lines"] == 10
    assert body["purpose"] == "fine-tune"
    assert body["sample_type"] == "instruct"
    assert body["source"] == "upload"
    assert body["mimetype"] == "application/jsonl"
    assert body["signature"] == hashlib.sha256(content).hexdigest()[:16]
    assert body["visibility"] == "workspace"
    assert body["expires_at"] is None
    uuid.UUID(body["id"])


def test_pretrain_file_is_recognised(client: httpx.Client) -> None:
    body = upload(client, pretrain_data(), "corpus.jsonl").json()
    assert body["sample_type"] == "pretrain"


def test_purpose_defaults_to_fine_tune_and_batch_is_not_validated(client: httpx.Client) -> None:
    assert upload(client, training_data(), purpose=None).json()["purpose"] == "fine-tune"
    batch = upload(client, b'{"custom_id": "1", "body": {}}\n', "batch.jsonl", purpose="batch")
    assert batch.status_code == 200
    assert batch.json()["sample_type"] == "batch_request"


def test_same_name_and_content_returns_the_existing_file(client: httpx.Client) -> None:
    first = upload_ok(client, training_data())
    assert upload_ok(client, training_data()) == first
    assert upload_ok(client, training_data(), "other-name.jsonl") != first
    assert upload_ok(client, training_data(prefix="Hi. "), "train.jsonl") != first


def test_invalid_file_gets_the_platform_body_with_line_numbers(client: httpx.Client) -> None:
    content = b'{"messages": [{"role": "user", "content": "hi"}]}\nnot json\n{"messages": 3}\n'
    response = upload(client, content, "broken.jsonl")
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "Invalid file format."
    assert body["description"].startswith("Found 3 errors in this file. You can view")
    assert [e["line_number"] for e in body["errors"]] == [1, 2, 3]
    assert all(isinstance(e["message"], str) and e["message"] for e in body["errors"])
    # Nothing was kept.
    assert client.get("/v1/files").json()["total"] == 0


def test_non_utf8_file_gets_the_decode_error(client: httpx.Client) -> None:
    content = training_data() + b'{"messages": "caf\xe9"}\n'
    response = upload(client, content)
    assert response.status_code == 422
    assert response.json() == {
        "detail": "Failed to decode data, please encode your file using UTF-8."
    }


def test_empty_file_is_invalid(client: httpx.Client) -> None:
    response = upload(client, b"")
    assert response.status_code == 422
    assert response.json()["errors"][0]["line_number"] is None


def test_form_problems_are_422_detail_lists(client: httpx.Client) -> None:
    no_file = client.post("/v1/files", data={"purpose": "fine-tune"}, files={"x": ("a", b"1")})
    assert no_file.status_code == 422
    assert no_file.json()["detail"][0]["loc"] == ["body", "file"]
    bad_purpose = upload(client, training_data(), purpose="training")
    assert bad_purpose.status_code == 422
    assert bad_purpose.json()["detail"][0]["type"] == "enum"
    assert bad_purpose.json()["detail"][0]["loc"] == ["body", "purpose"]


def test_upload_over_the_limit_is_413_streamed_or_declared(start_sandbox: StartSandbox) -> None:
    handle = start_sandbox(max_upload_bytes=1000)
    with make_client(handle.url) as client:
        big = training_data() * 2
        assert len(big) > 1000
        response = upload(client, big)
        assert response.status_code == 413
        assert response.json()["message"] == "Request Entity Too Large"
        assert "request_id" in response.json()

        def chunks() -> object:  # no Content-Length: the limit is enforced while streaming
            boundary = b"--xyz"
            yield boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"'
            yield b"\r\n\r\n" + big + b"\r\n" + boundary + b"--\r\n"

        streamed = client.post(
            "/v1/files",
            content=chunks(),  # type: ignore[arg-type]
            headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        )
        assert streamed.status_code == 413
        # The partial upload was removed, the sandbox still works.
        assert list((handle.sandbox.store.incoming).iterdir()) == []
        assert upload(client, training_data()[:900]).status_code in (200, 422)


def test_list_pages_filters_and_total(client: httpx.Client, sandbox: SandboxHandle) -> None:
    ids = []
    for n in range(5):
        sandbox.advance(1)  # distinct creation times: the order below is by time
        ids.append(upload_ok(client, training_data(prefix=f"{n}. "), f"set-{n}.jsonl"))
    upload_ok(client, pretrain_data(), "corpus.jsonl")
    listing = client.get("/v1/files", params={"page_size": 2}).json()
    assert listing["object"] == "list"
    assert listing["total"] == 6
    assert len(listing["data"]) == 2
    # Newest first, pages do not overlap.
    pages = [
        client.get("/v1/files", params={"page": p, "page_size": 2}).json()["data"] for p in range(3)
    ]
    seen = [f["id"] for page in pages for f in page]
    assert len(set(seen)) == 6
    assert seen.index(ids[4]) < seen.index(ids[0])
    assert client.get("/v1/files", params={"include_total": "false"}).json()["total"] is None
    pretrain = client.get("/v1/files", params={"sample_type": "pretrain"}).json()
    assert [f["filename"] for f in pretrain["data"]] == ["corpus.jsonl"]
    both = client.get(
        "/v1/files", params=[("sample_type", "pretrain"), ("sample_type", "instruct")]
    )
    assert both.json()["total"] == 6
    assert client.get("/v1/files", params={"search": "set-3"}).json()["total"] == 1
    assert client.get("/v1/files", params={"purpose": "batch"}).json()["total"] == 0
    assert client.get("/v1/files", params={"source": "mistral"}).json()["total"] == 0
    assert client.get("/v1/files", params={"sample_type": "nonsense"}).status_code == 422


def test_get_content_url_and_delete(client: httpx.Client) -> None:
    content = training_data()
    file_id = upload_ok(client, content)
    one = client.get(f"/v1/files/{file_id}").json()
    assert one["deleted"] is False
    assert one["bytes"] == len(content)
    raw = client.get(f"/v1/files/{file_id}/content")
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "application/octet-stream"
    assert raw.content == content

    signed = client.get(f"/v1/files/{file_id}/url", params={"expiry": 1}).json()["url"]
    with httpx.Client() as anonymous:  # a signed URL needs no API key
        assert anonymous.get(signed).content == content
        tampered = signed.replace("sig=", "sig=0")
        assert anonymous.get(tampered).status_code == 403
    assert client.get(f"/v1/files/{file_id}/url", params={"expiry": 500}).status_code == 422

    deleted = client.delete(f"/v1/files/{file_id}")
    assert deleted.json() == {"id": file_id, "object": "file", "deleted": True}
    assert client.get(f"/v1/files/{file_id}").json()["deleted"] is True
    assert client.get(f"/v1/files/{file_id}/content").status_code == 404
    assert client.delete(f"/v1/files/{file_id}").status_code == 404
    assert client.get("/v1/files").json()["total"] == 0


def test_signed_url_expires_with_the_clock(client: httpx.Client, sandbox: SandboxHandle) -> None:
    file_id = upload_ok(client, training_data())
    signed = client.get(f"/v1/files/{file_id}/url", params={"expiry": 1}).json()["url"]
    sandbox.advance(3601)
    with httpx.Client() as anonymous:
        assert anonymous.get(signed).status_code == 403


def test_unknown_and_malformed_file_ids(client: httpx.Client) -> None:
    missing = client.get(f"/v1/files/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "File not found."}
    malformed = client.get("/v1/files/not-a-uuid")
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["loc"] == ["path", "file_id"]
    assert malformed.json()["detail"][0]["type"] == "uuid_parsing"
