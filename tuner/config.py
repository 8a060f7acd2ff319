"""Settings: backend URL, API keys, timeouts and retries (pydantic-settings).

Where values come from, strongest first: arguments to ``Settings(...)``, environment variables
(``TUNER_*``, plus ``MISTRAL_API_KEY``), the config file, defaults. The config file is TOML at
``$XDG_CONFIG_HOME/tuner/config.toml`` (default ``~/.config/tuner/config.toml``) with the same
names as the fields below, e.g.::

    api_url = "https://api.mistral.ai"
    api_keys = ["...", "..."]
    read_timeout = 120
    max_active_jobs = 3
    daemon_interval = 30
    webhook_url = "https://hooks.slack.com/services/..."

Keys: ``TUNER_API_KEYS`` (comma-separated) replaces the file's ``api_keys``; ``MISTRAL_API_KEY``
is added to the pool. Keys and the webhook URL are ``SecretStr``: never in a repr, str, log or
error of this module, and a config file holding either that others can read gets a warning.

This module must not import httpx (only ``tuner.api`` speaks HTTP).
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_API_URL = "https://api.mistral.ai"
DEFAULT_OPENAI_URL = "https://api.openai.com/v1"
"""OpenAI's base URL includes the ``/v1`` (as ``OPENAI_BASE_URL`` does for the official SDK)."""
ENV_PREFIX = "TUNER_"
_SECRET_FIELDS = (
    "api_keys",
    "mistral_api_key",
    "MISTRAL_API_KEY",
    "webhook_url",
    "openai_api_key",
    "OPENAI_API_KEY",
    "openai_api_keys",
)
"""Settings whose presence makes a config file readable by others worth a warning."""


class ConfigError(Exception):
    """The configuration is unusable; the message says which setting and why (never a secret)."""


def check_api_url(url: str) -> str:
    """The URL without a trailing slash; https anywhere, plain http only on loopback hosts."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"the API URL must be an http(s):// URL with a host, got {text!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the API URL must not carry credentials; put keys in MISTRAL_API_KEY")
    if parts.query or parts.fragment:
        raise ValueError(f"the API URL must not have a query or fragment, got {text!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(
            f"plain http:// is only allowed for loopback hosts (127.0.0.0/8, ::1, localhost); "
            f"use https://{parts.netloc}{parts.path} for {parts.hostname}"
        )
    return text.rstrip("/")


def is_loopback_host(host: str) -> bool:
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tuner" / "config.toml"


# The config file's values for the Settings being built. A context variable rather than a class
# attribute, so concurrent loads (tests, threads) cannot see each other's file.
_FILE_VALUES: ContextVar[Mapping[str, Any]] = ContextVar(
    "_FILE_VALUES", default=MappingProxyType({})
)


class _ConfigFileSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = dict(values)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


# What a notify_env entry must look like: a POSIX environment variable name.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _is_header_safe(key: str) -> bool:
    """Whether ``key`` can travel in an HTTP header: printable ASCII (spaces are stripped)."""
    stripped = key.strip()
    return stripped.isascii() and stripped.isprintable()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        populate_by_name=True,
        frozen=True,
        hide_input_in_errors=True,
    )

    api_url: str = DEFAULT_API_URL
    """``TUNER_API_URL``: the Mistral API, or a local sandbox on a loopback address."""
    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    """``TUNER_API_KEYS``: comma-separated; the pool the client rotates over."""
    mistral_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("MISTRAL_API_KEY", "mistral_api_key")
    )
    """``MISTRAL_API_KEY``, as the official SDK reads it; joins the pool."""

    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key")
    )
    """``OPENAI_API_KEY``, as OpenAI's SDK reads it; joins the OpenAI key pool."""
    openai_api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    """``TUNER_OPENAI_API_KEYS``: comma-separated; the OpenAI key pool."""
    openai_base_url: str = Field(
        default=DEFAULT_OPENAI_URL,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url"),
    )
    """``OPENAI_BASE_URL`` (with its ``/v1``). Checked like ``api_url`` (https, or plain http on
    loopback) when an OpenAI client is built, not here: a variable set for other tools must not
    stop tuner's Mistral commands from loading their settings."""
    openai_organization: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_ORG_ID", "openai_organization")
    )
    """``OPENAI_ORG_ID``: sent as the ``OpenAI-Organization`` header."""
    openai_project: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_PROJECT_ID", "openai_project")
    )
    """``OPENAI_PROJECT_ID``: sent as the ``OpenAI-Project`` header."""

    provider: Literal["mistral", "openai"] = "mistral"
    """``TUNER_PROVIDER``: whose data rules ``tuner data`` commands check by default
    (``--provider`` wins)."""

    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    write_timeout: float = Field(default=60.0, gt=0)
    pool_timeout: float = Field(default=10.0, gt=0)
    upload_timeout: float = Field(default=600.0, gt=0)
    """Read and write timeout of file uploads (files are up to 512 MB)."""

    retry_max_attempts: int = Field(default=5, ge=1)
    retry_max_elapsed: float = Field(default=300.0, ge=0)
    retry_after_cap: float = Field(default=60.0, ge=0)
    """The longest ``Retry-After`` waited for, in seconds; a longer one ends the call with an
    error saying when to retry (see ``tuner.api.retry``)."""
    retry_backoff_initial: float = Field(default=0.5, ge=0)
    retry_backoff_max: float = Field(default=30.0, ge=0)

    max_active_jobs: int = Field(default=3, ge=1)
    """``TUNER_MAX_ACTIVE_JOBS``: jobs the submission queue lets run at once (``tuner jobs
    create --max-active`` and ``tuner daemon --max-active`` override it)."""

    daemon_interval: float = Field(default=30.0, ge=0.05)
    """``TUNER_DAEMON_INTERVAL``: seconds between daemon cycles while jobs are active."""
    daemon_idle_interval: float = Field(default=300.0, ge=0.05)
    """``TUNER_DAEMON_IDLE_INTERVAL``: seconds between daemon cycles when no job is active."""
    webhook_url: SecretStr | None = None
    """``TUNER_WEBHOOK_URL``: the daemon POSTs each transition here. A secret (a Slack
    incoming-webhook URL is its own credential), so never shown."""
    notify_command: str | None = None
    """``TUNER_NOTIFY_COMMAND``: a shell command the daemon runs per transition."""
    notify_env: Annotated[tuple[str, ...], NoDecode] = ()
    """``TUNER_NOTIFY_ENV`` (comma-separated) or ``notify_env = [...]``: names of environment
    variables the notification command may see besides the fixed allow-list (``PATH``,
    ``HOME``, ``LANG``, ``LC_*``, ``TZ``, ``TMPDIR`` and the job's ``TUNER_*`` fields)."""
    tui_keymap: dict[str, str] = Field(default_factory=dict)
    """``TUNER_TUI_KEYMAP`` (JSON) or ``[tui_keymap]`` in the config file: the dashboard's keys
    by binding id, e.g. ``"jobs.new" = "N"`` (``?`` in the dashboard lists the ids)."""

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return check_api_url(value)

    @field_validator("api_keys", "openai_api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list | tuple):
            return tuple(
                item.strip() if isinstance(item, str) else item
                for item in value
                if not (isinstance(item, str) and not item.strip())
            )
        return value

    @field_validator("notify_env", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            names = tuple(item.strip() if isinstance(item, str) else item for item in value)
            return tuple(name for name in names if name != "")
        return value

    @field_validator("notify_env")
    @classmethod
    def _env_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [name for name in value if not _ENV_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"not environment variable names: {', '.join(map(repr, bad))}")
        return value

    @field_validator("api_keys", "mistral_api_key", "openai_api_keys", "openai_api_key")
    @classmethod
    def _ascii_keys(cls, value: Any) -> Any:
        keys = value if isinstance(value, tuple) else (value,)
        for key in keys:
            if key is not None and not _is_header_safe(key.get_secret_value()):
                # The key itself is never shown; say what is wrong with it.
                raise ValueError(
                    "an API key holds a non-ASCII or control character (keys are plain ASCII; "
                    "look for a character picked up when copying it)"
                )
        return value

    @field_validator(
        "mistral_api_key",
        "webhook_url",
        "notify_command",
        "openai_api_key",
        "openai_organization",
        "openai_project",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ConfigFileSource(settings_cls, _FILE_VALUES.get()))

    def key_pool(self) -> tuple[SecretStr, ...]:
        """Every configured key once, in order: ``api_keys`` first, then ``MISTRAL_API_KEY``."""
        return _unique_keys([*self.api_keys, self.mistral_api_key])

    def openai_key_pool(self) -> tuple[SecretStr, ...]:
        """Every OpenAI key once: ``openai_api_keys`` first, then ``OPENAI_API_KEY``."""
        return _unique_keys([*self.openai_api_keys, self.openai_api_key])


def _unique_keys(candidates: list[SecretStr | None]) -> tuple[SecretStr, ...]:
    seen: set[str] = set()
    pool: list[SecretStr] = []
    for key in candidates:
        if key is None:
            continue
        value = key.get_secret_value().strip()
        if value and value not in seen:
            seen.add(value)
            pool.append(key)
    return tuple(pool)


class LoadedSettings(NamedTuple):
    settings: Settings
    warnings: list[str]
    """Things the user should know (an exposed key file, unknown settings); never printed here."""


def load_settings(
    config_file: str | os.PathLike[str] | None = None, **overrides: Any
) -> LoadedSettings:
    """Settings from arguments, the environment and the config file, plus warnings.

    Raises ``ConfigError`` (one line per bad setting, no values shown) when something is wrong.
    """
    path = Path(config_file) if config_file is not None else default_config_path()
    raw = _read_config_file(path)
    known = set(Settings.model_fields) | {"MISTRAL_API_KEY"}
    values = {k: v for k, v in raw.items() if k in known}
    warnings = [f"{path}: unknown setting {name!r} ignored" for name in sorted(set(raw) - known)]
    if _holds_secrets(values) and _readable_by_others(path):
        warnings.append(
            f"{path} holds API keys or a webhook URL and is readable by other users; "
            f"run: chmod 600 {path}"
        )
    with _file_values(values):
        try:
            settings = Settings(**overrides)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, path)) from None
    return LoadedSettings(settings, warnings)


@contextmanager
def _file_values(values: Mapping[str, Any]) -> Iterator[None]:
    token = _FILE_VALUES.set(values)
    try:
        yield
    finally:
        _FILE_VALUES.reset(token)


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message names the line and column, not the content.
        raise ConfigError(f"the config file {path} is not valid TOML: {exc}") from None


def _holds_secrets(values: Mapping[str, Any]) -> bool:
    return any(bool(values.get(name)) for name in _SECRET_FIELDS)


def _readable_by_others(path: Path) -> bool:
    if os.name == "nt":
        return False  # POSIX permission bits say nothing there
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))


_OPENAI_ENV = {
    "openai_api_key": "OPENAI_API_KEY",
    "openai_base_url": "OPENAI_BASE_URL",
    "openai_organization": "OPENAI_ORG_ID",
    "openai_project": "OPENAI_PROJECT_ID",
}


def _env_name(field: str) -> str:
    if field in {"mistral_api_key", "MISTRAL_API_KEY"}:
        return "MISTRAL_API_KEY"
    if field in _OPENAI_ENV:
        return _OPENAI_ENV[field]
    return f"{ENV_PREFIX}{field.upper()}"


def _describe(exc: ValidationError, path: Path) -> str:
    """One line per error: the setting, where it can be set, and what is wrong (no input)."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = error.get("loc", ())
        field = str(loc[0]) if loc else "settings"
        msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            lines.append(f"unknown setting {field!r}")
        else:
            lines.append(f"{field} ({_env_name(field)} or {path.name}): {msg}")
    return "invalid configuration: " + "; ".join(lines)
