"""Settings: URL rules, key sources, the config file and its permissions, secrets hidden."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tuner.api import RetryPolicy, Timeouts, TunerClient
from tuner.config import (
    DEFAULT_API_URL,
    ConfigError,
    Settings,
    check_api_url,
    default_config_path,
    load_settings,
)

from .support import KEY_A, KEY_B, KEY_C

ENV_NAMES = (
    "MISTRAL_API_KEY",
    "TUNER_API_KEYS",
    "TUNER_API_URL",
    "TUNER_READ_TIMEOUT",
    "TUNER_MAX_ACTIVE_JOBS",
    "TUNER_DAEMON_INTERVAL",
    "TUNER_DAEMON_IDLE_INTERVAL",
    "TUNER_WEBHOOK_URL",
    "TUNER_NOTIFY_COMMAND",
    "TUNER_NOTIFY_ENV",
)
WEBHOOK = "https://hooks.example.com/services/T000/B000/sEcReTtOkEn42"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def _write_config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "xdg" / "tuner" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_defaults() -> None:
    loaded = load_settings()
    settings = loaded.settings
    assert loaded.warnings == []
    assert settings.api_url == DEFAULT_API_URL == "https://api.mistral.ai"
    assert (settings.connect_timeout, settings.read_timeout) == (5.0, 60.0)
    assert settings.upload_timeout > settings.read_timeout
    assert settings.retry_after_cap == 60.0
    assert settings.key_pool() == ()


def test_default_config_path_follows_xdg(tmp_path: Path) -> None:
    assert default_config_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/tuner/config.toml")
    assert default_config_path({}) == Path.home() / ".config" / "tuner" / "config.toml"


@pytest.mark.parametrize(
    "url",
    [
        "https://api.mistral.ai",
        "https://proxy.example.com/mistral/",
        "http://127.0.0.1:8000",
        "http://127.1.2.3:9",
        "http://localhost:8000",
        "http://[::1]:8000",
    ],
)
def test_accepted_urls(url: str) -> None:
    assert check_api_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://api.mistral.ai", "only allowed for loopback hosts"),
        ("http://10.0.0.5:8000", "only allowed for loopback hosts"),
        ("http://localhost.evil.com", "only allowed for loopback hosts"),
        ("ftp://127.0.0.1", "http(s)://"),
        ("api.mistral.ai", "http(s)://"),
        ("https://user:pw@api.mistral.ai", "must not carry credentials"),
    ],
)
def test_refused_urls(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why.replace("(", r"\(").replace(")", r"\)")):
        check_api_url(url)


def test_plain_http_to_a_remote_host_is_a_clear_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TUNER_API_URL", "http://api.mistral.ai")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "api_url (TUNER_API_URL" in message
    assert "only allowed for loopback hosts" in message
    with pytest.raises(ConfigError):
        TunerClient([KEY_A], base_url="http://example.com")


def test_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNER_API_KEYS", f" {KEY_A}, {KEY_B},,")
    monkeypatch.setenv("MISTRAL_API_KEY", KEY_C)
    settings = load_settings().settings
    assert [k.get_secret_value() for k in settings.key_pool()] == [KEY_A, KEY_B, KEY_C]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("MISTRAL_API_KEY", "abcdé0123456789SECRET"),
        ("TUNER_API_KEYS", f"{KEY_A},k\u200bSECRET"),  # a zero-width space from a copy
        ("MISTRAL_API_KEY", "abc\u001b[2JSECRET"),
    ],
)
def test_a_key_that_cannot_be_sent_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, name: str, key: str
) -> None:
    monkeypatch.setenv(name, key)
    with pytest.raises(ConfigError, match="non-ASCII or control character") as caught:
        load_settings()
    assert "SECRET" not in str(caught.value)


def test_notify_env_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNER_NOTIFY_ENV", " SLACK_CHANNEL, PROJECT ,")
    assert load_settings().settings.notify_env == ("SLACK_CHANNEL", "PROJECT")
    monkeypatch.delenv("TUNER_NOTIFY_ENV")
    _write_config(tmp_path, 'notify_env = ["A_B"]\n')
    assert load_settings().settings.notify_env == ("A_B",)
    monkeypatch.setenv("TUNER_NOTIFY_ENV", "OK,$(rm -rf x)")
    with pytest.raises(ConfigError, match="not environment variable names"):
        load_settings()


def test_mistral_api_key_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", KEY_A)
    assert [k.get_secret_value() for k in load_settings().settings.key_pool()] == [KEY_A]


def test_config_file_values_and_env_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_config(
        tmp_path,
        f'api_url = "http://127.0.0.1:8765"\napi_keys = ["{KEY_A}", "{KEY_B}"]\n'
        "read_timeout = 120\nretry_max_attempts = 2\n",
    )
    settings = load_settings().settings
    assert settings.api_url == "http://127.0.0.1:8765"
    assert [k.get_secret_value() for k in settings.key_pool()] == [KEY_A, KEY_B]
    assert settings.read_timeout == 120.0
    monkeypatch.setenv("TUNER_API_KEYS", KEY_C)
    monkeypatch.setenv("TUNER_READ_TIMEOUT", "30")
    overridden = load_settings().settings
    assert [k.get_secret_value() for k in overridden.key_pool()] == [KEY_C]
    assert overridden.read_timeout == 30.0
    assert load_settings(read_timeout=7).settings.read_timeout == 7.0


def test_a_key_file_readable_by_others_gets_a_warning(tmp_path: Path) -> None:
    path = _write_config(tmp_path, f'api_keys = ["{KEY_A}"]\n', mode=0o644)
    warnings = load_settings().warnings
    assert len(warnings) == 1
    assert str(path) in warnings[0] and "chmod 600" in warnings[0]
    assert KEY_A not in warnings[0]
    path.chmod(0o600)
    assert load_settings().warnings == []
    path.write_text("read_timeout = 10\n")
    path.chmod(0o644)
    assert load_settings().warnings == []  # no keys in it: nothing to protect


def test_unknown_settings_in_the_file_are_warned_about(tmp_path: Path) -> None:
    _write_config(tmp_path, 'api_ulr = "https://x"\n')
    assert load_settings().warnings == [
        f"{tmp_path / 'xdg' / 'tuner' / 'config.toml'}: unknown setting 'api_ulr' ignored"
    ]


def test_broken_files_and_values_are_config_errors(tmp_path: Path) -> None:
    path = _write_config(tmp_path, f'api_keys = ["{KEY_A}"\n')
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_settings()
    assert KEY_A not in str(caught.value)
    path.write_text(f'api_keys = ["{KEY_A}"]\nread_timeout = "soon"\n')
    with pytest.raises(ConfigError, match="read_timeout") as bad_value:
        load_settings()
    assert "soon" not in str(bad_value.value)
    assert bad_value.value.__cause__ is None and bad_value.value.__suppress_context__


def test_queue_and_daemon_settings_from_the_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = load_settings().settings
    assert defaults.max_active_jobs == 3
    assert (defaults.daemon_interval, defaults.daemon_idle_interval) == (30.0, 300.0)
    assert defaults.webhook_url is None and defaults.notify_command is None
    _write_config(
        tmp_path,
        f"max_active_jobs = 5\ndaemon_interval = 12.5\ndaemon_idle_interval = 600\n"
        f'webhook_url = "{WEBHOOK}"\nnotify_command = "notify-me --quiet"\n',
    )
    loaded = load_settings()
    settings = loaded.settings
    assert loaded.warnings == []
    assert (settings.max_active_jobs, settings.daemon_interval) == (5, 12.5)
    assert settings.daemon_idle_interval == 600.0
    assert settings.webhook_url is not None and settings.webhook_url.get_secret_value() == WEBHOOK
    assert settings.notify_command == "notify-me --quiet"
    monkeypatch.setenv("TUNER_MAX_ACTIVE_JOBS", "7")
    monkeypatch.setenv("TUNER_DAEMON_INTERVAL", "2")
    monkeypatch.setenv("TUNER_WEBHOOK_URL", " ")  # blank: no webhook, whatever the file says
    monkeypatch.setenv("TUNER_NOTIFY_COMMAND", "other")
    overridden = load_settings().settings
    assert (overridden.max_active_jobs, overridden.daemon_interval) == (7, 2.0)
    assert overridden.webhook_url is None and overridden.notify_command == "other"


@pytest.mark.parametrize(
    ("name", "value"),
    [("max_active_jobs", "0"), ("daemon_interval", "0"), ("daemon_idle_interval", "-1")],
)
def test_out_of_range_queue_and_daemon_settings_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"TUNER_{name.upper()}", value)
    with pytest.raises(ConfigError, match=f"{name} \\(TUNER_{name.upper()} or config.toml\\)"):
        load_settings()


def test_the_webhook_url_is_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNER_WEBHOOK_URL", WEBHOOK)
    settings = load_settings().settings
    for text in (repr(settings), str(settings), str(settings.model_dump())):
        assert "sEcReT" not in text
    monkeypatch.delenv("TUNER_WEBHOOK_URL")
    path = _write_config(tmp_path, f'webhook_url = "{WEBHOOK}"\n', mode=0o644)
    [warning] = load_settings().warnings
    assert str(path) in warning and "chmod 600" in warning and "sEcReT" not in warning


def test_secrets_never_in_repr_or_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNER_API_KEYS", f"{KEY_A},{KEY_B}")
    monkeypatch.setenv("MISTRAL_API_KEY", KEY_C)
    settings = load_settings().settings
    for text in (repr(settings), str(settings), str(settings.model_dump())):
        assert all(key not in text for key in (KEY_A, KEY_B, KEY_C))


@pytest.mark.anyio
async def test_client_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNER_API_KEYS", f"{KEY_A},{KEY_B}")
    monkeypatch.setenv("TUNER_API_URL", "http://localhost:8765/")
    settings = Settings(retry_max_attempts=2, upload_timeout=900)
    async with TunerClient.from_settings(settings) as client:
        assert client.base_url == "http://localhost:8765"
        assert client.keys.hints == ("…AAAA", "…BBBB")
        assert client.retry_policy == RetryPolicy(max_attempts=2)
        assert client.timeouts == Timeouts(upload=900.0)
        assert client.is_sandbox is None


def test_config_does_not_import_httpx() -> None:
    code = "import sys, tuner.config; print('httpx' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
