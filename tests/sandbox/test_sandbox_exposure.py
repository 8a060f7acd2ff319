"""A closed sandbox: no open network bind, only its own Host names, a clear --data-dir error."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tuner.cli.main import app
from tuner.sandbox.server import served_host_names

from .conftest import StartSandbox, make_client


def test_a_foreign_host_header_gets_400_before_auth_and_faults(
    start_sandbox: StartSandbox,
) -> None:
    # Every request would be a 500 if it got past the Host check.
    handle = start_sandbox(faults="500=1.0")
    port = handle.url.rsplit(":", 1)[1]
    with make_client(handle.url) as client:
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.nip.io", "10.0.0.1"):
            response = client.get("/v1/models", headers={"Host": host})
            assert response.status_code == 400, host
            assert response.headers["x-tuner-sandbox"] == "1"
        # No key at all, but a foreign Host: still 400, the Host check comes first.
        assert httpx.get(
            f"{handle.url}/v1/files", headers={"Host": "evil.example"}
        ).status_code == (400)


def test_loopback_host_names_are_answered(start_sandbox: StartSandbox) -> None:
    handle = start_sandbox()
    port = handle.url.rsplit(":", 1)[1]
    with make_client(handle.url) as client:
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", f"[::1]:{port}"):
            assert client.get("/v1/models", headers={"Host": host}).status_code == 200, host


def test_served_names_on_a_non_loopback_bind() -> None:
    names = served_host_names("192.0.2.7", ["tuner.lan", "Box.Example"])
    assert set(names) == {
        "127.0.0.1",
        "localhost",
        "[::1]",
        "192.0.2.7",
        "tuner.lan",
        "box.example",
    }
    assert "0.0.0.0" not in served_host_names("0.0.0.0", ["tuner.lan"])
    with pytest.raises(ValueError, match="non-loopback"):
        served_host_names("127.0.0.1", ["tuner.lan"])
    for bad in ("*.example", "tuner.lan:8000", "http://x"):
        with pytest.raises(ValueError, match="not a host name"):
            served_host_names("0.0.0.0", [bad])


def test_a_non_loopback_bind_without_a_key_is_refused(start_sandbox: StartSandbox) -> None:
    with pytest.raises(ValueError, match="without --api-key"):
        start_sandbox(host="0.0.0.0")


def test_serve_refuses_a_network_bind_without_a_key(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["sandbox", "serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "without --api-key" in result.stderr
    assert "list, download and delete" in result.stderr
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # refused before touching anything


def test_serve_refuses_extra_host_names_on_loopback(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["sandbox", "serve", "--port", "0", "--data-dir", str(tmp_path), "--allowed-host", "a.b"],
    )
    assert result.exit_code == 2
    assert "--allowed-host is only for a non-loopback --host" in result.stderr


def test_a_data_dir_that_is_a_file_is_named_as_such(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("not a directory")
    result = CliRunner().invoke(app, ["sandbox", "serve", "--port", "0", "--data-dir", str(target)])
    assert result.exit_code == 2
    assert "is a file, not a directory" in result.stderr
    assert "--port" not in result.stderr
    assert target.read_text() == "not a directory"
