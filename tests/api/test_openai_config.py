"""OpenAI's settings: the official SDK's variable names, a key pool, secrets kept secret."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tuner.config import DEFAULT_OPENAI_URL, ConfigError, load_settings


def test_openai_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key")
    monkeypatch.setenv("TUNER_OPENAI_API_KEYS", "sk-pool-1, sk-pool-2,sk-env-key")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-1")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_1")
    settings = load_settings(tmp_path / "none.toml").settings
    assert [k.get_secret_value() for k in settings.openai_key_pool()] == [
        "sk-pool-1",
        "sk-pool-2",
        "sk-env-key",
    ]
    assert (settings.openai_organization, settings.openai_project) == ("org-1", "proj_1")
    assert settings.openai_base_url == DEFAULT_OPENAI_URL
    assert settings.key_pool() == (), "OpenAI keys never join the Mistral pool"
    assert "sk-env-key" not in repr(settings) and "sk-pool-1" not in str(settings)


def test_a_config_file_with_openai_keys_readable_by_others_warns(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    path = tmp_path / "config.toml"
    path.write_text('openai_api_key = "sk-file"\nopenai_base_url = "http://127.0.0.1:8000/v1"\n')
    if os.name != "nt":
        path.chmod(0o644)
    loaded = load_settings(path)
    assert loaded.settings.openai_api_key is not None
    assert loaded.settings.openai_base_url == "http://127.0.0.1:8000/v1"
    if os.name != "nt":
        assert any("chmod 600" in warning for warning in loaded.warnings)


def test_a_bad_openai_setting_names_its_variable(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("openai_project = 5\n")
    with pytest.raises(ConfigError, match="OPENAI_PROJECT_ID"):
        load_settings(path)
