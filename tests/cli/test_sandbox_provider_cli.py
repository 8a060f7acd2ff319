"""``tuner sandbox serve --provider``: the option reaches the server, and a wrong name is a
one-line usage error (exit 2) before anything is bound or written."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tuner.cli.main import app


def test_an_unknown_provider_is_a_usage_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = CliRunner().invoke(
        app, ["sandbox", "serve", "--provider", "nope", "--port", "0", "--data-dir", str(data)]
    )
    assert result.exit_code == 2
    assert "provider must be one of mistral, openai" in result.output
    assert not data.exists(), "nothing is created for a refused provider"


def test_help_names_the_providers() -> None:
    result = CliRunner().invoke(app, ["sandbox", "serve", "--help"])
    assert result.exit_code == 0
    assert "--provider" in result.output and "openai" in result.output
