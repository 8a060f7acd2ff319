"""What every command that talks to the API needs: settings, a client, the ledger, and exits.

A command builds a :class:`CommandContext` (settings loaded once, config errors become exit 2),
opens a :func:`session` inside its coroutine (the core's ``tuner.services.Services``: client,
ledger, orchestrator, daemon, all closed afterwards) and runs that coroutine with
:func:`run_async`, which turns API failures into one line and the architecture's exit codes::

    ctx = load_context()

    async def body() -> None:
        async with session(ctx) as s:
            job = await s.refresh_job(job_id)

    run_async(body())

:data:`hooks` holds the seams tests set (how commands wait, read the time, and extra client
options such as a sandbox's clock); production code never changes it. Read its fields at call
time (``hooks.sleep``), and in tests set the fields of the one object
(``monkeypatch.setattr(hooks, "sleep", ...)``), so modules that imported it see the change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from tuner.cli.output import Exit, err_console, fail
from tuner.config import ConfigError, Settings, load_settings
from tuner.jobs.ledger import Ledger, LedgerError
from tuner.services import Services

if TYPE_CHECKING:
    # tuner.api (httpx, pydantic wire models) is imported where a command uses it, not when the
    # CLI starts: `tuner tui` and `tuner data` must not pay for it before they show anything.
    from tuner.api import APIError

T = TypeVar("T")

INTERRUPTED = 130
"""The shell's code for a command stopped by Ctrl-C (128 + SIGINT)."""

KEYS_HINT = (
    "Set MISTRAL_API_KEY (or TUNER_API_KEYS, comma-separated) to a key that is valid for "
    "{url}; keys are managed at https://console.mistral.ai/api-keys."
)
OPENAI_KEYS_HINT = (
    "Set OPENAI_API_KEY (or TUNER_OPENAI_API_KEYS, comma-separated) to a key that is valid for "
    "{url}; keys are managed at https://platform.openai.com/api-keys."
)
CONFIG_HINT = "Check the TUNER_* environment variables and ~/.config/tuner/config.toml."
LEDGER_HINT = "Check TUNER_DB (a file path, sqlite:///PATH or postgresql://…)."


def _wall_seconds() -> int:
    return int(time.time())


@dataclass
class Hooks:
    """Seams for tests: how commands wait and read the time, and extra ``TunerClient`` options.

    A test against a sandbox with a manual clock sets ``sleep`` to advance that clock, ``now`` to
    read it, and ``client_options={"wall_clock": handle.clock.now, ...}``, so no test waits.
    """

    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    now: Callable[[], int] = _wall_seconds
    client_options: dict[str, Any] = field(default_factory=dict)


hooks = Hooks()


@dataclass(frozen=True)
class CommandContext:
    """Settings for one command run; :func:`session` builds the services from them."""

    settings: Settings

    @property
    def backend(self) -> str:
        """The API URL, as the ledger keys files and jobs by it."""
        return self.settings.api_url

    def services(self, notifiers: Sequence[str] = ()) -> Services:
        """The core services for this command, with the test seams of :data:`hooks`."""
        return Services.from_settings(
            self.settings,
            notifiers=notifiers,
            clock=hooks.now,
            sleep=hooks.sleep,
            client_options=hooks.client_options,
        )

    def ledger(self, notifiers: Sequence[str] = ()) -> Ledger:
        """The ledger alone (commands that never talk to the API), checked first: what they
        show comes from it alone, and a damaged page can read as no rows. A failure exits 2."""
        ledger = require_ledger(self.services(notifiers))
        try:
            ledger.verify()
        except LedgerError as exc:
            fail(f"ledger: {exc}", hint=LEDGER_HINT, code=Exit.USAGE)
        return ledger


def require_ledger(services: Services) -> Ledger:
    """The services' ledger, opened now; one that cannot be opened is one line and exit 2."""
    try:
        return services.ledger
    except LedgerError as exc:
        fail(str(exc), hint=LEDGER_HINT, code=Exit.USAGE)


Session = Services
"""What a command's coroutine works with: the core services (client, ledger, orchestrator)."""


def load_context(**overrides: Any) -> CommandContext:
    """Load settings (``overrides`` win, e.g. ``api_url=``); a config error exits 2.

    Warnings (an exposed key file, unknown settings) go to stderr, never stdout, so ``--json``
    output stays one JSON document.
    """
    try:
        loaded = load_settings(**overrides)
    except ConfigError as exc:
        fail(str(exc), hint=CONFIG_HINT, code=Exit.USAGE)
    for warning in loaded.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", markup=True, highlight=False)
    return CommandContext(loaded.settings)


@asynccontextmanager
async def session(ctx: CommandContext, *, notifiers: Sequence[str] = ()) -> AsyncIterator[Services]:
    """The services for one command; the client and the ledger are closed when the block ends.

    Config and ledger errors raised inside become one line and exit 2 in :func:`run_async`.
    """
    services = ctx.services(notifiers)
    try:
        yield services
    finally:
        await services.aclose()


@dataclass(frozen=True)
class Failure:
    """How a failed API call is reported: one line, an optional hint, an exit code."""

    message: str
    hint: str | None
    code: Exit


URL_SETTINGS = {"mistral": "TUNER_API_URL", "openai": "OPENAI_BASE_URL"}
"""The setting that names each provider's server, as the hints say it."""


def describe_api_error(
    error: APIError, api_url: str | None = None, *, provider: str | None = "mistral"
) -> Failure:
    """The report for an API error that survived the client's retries.

    ``api_url`` is the server the command talked to and ``provider`` whose it is ("mistral",
    "openai", or None when a command talked to both), so the hint names the right setting.

    401 is a configuration problem (exit 2); a refused or unknown resource means the job or the
    data failed (exit 1); a network failure, timeout, 429, 5xx or an unreadable answer means the
    API failed after retries (exit 3). Messages come from the client, already scrubbed of keys.
    """
    from tuner.api import (
        APIConnectionError,
        APIResponseValidationError,
        APIStatusError,
        AuthenticationError,
        ConflictError,
        InvalidIdError,
        NotFoundError,
        PayloadTooLargeError,
    )

    where = api_url or "the API"
    if isinstance(error, InvalidIdError):  # refused before sending anything
        return Failure(str(error), _NOT_FOUND_HINT, Exit.USAGE)
    if isinstance(error, AuthenticationError):
        return Failure(str(error), _keys_hint(provider, where), Exit.USAGE)
    if isinstance(error, APIConnectionError):
        return Failure(
            f"cannot reach {where}: {error.message}",
            _unreachable_hint(provider),
            Exit.API,
        )
    if isinstance(error, APIResponseValidationError):
        return Failure(f"unexpected answer from {where}: {error.message}", None, Exit.API)
    if isinstance(error, NotFoundError):
        return Failure(f"not found: {error.message}", _NOT_FOUND_HINT, Exit.FAILED)
    if isinstance(error, ConflictError):
        return Failure(str(error), _CONFLICT_HINT, Exit.FAILED)
    if isinstance(error, PayloadTooLargeError):
        return Failure(str(error), "Split the file (`tuner data split`).", Exit.FAILED)
    if isinstance(error, APIStatusError) and 400 <= error.status_code < 500:
        if error.status_code in (408, 429):
            return Failure(str(error), _retry_hint(error), Exit.API)
        return Failure(str(error), None, Exit.FAILED)
    return Failure(f"{where} failed: {error}", _retry_hint(error), Exit.API)


def _keys_hint(provider: str | None, where: str) -> str:
    if provider is None:  # a command that talked to both: the message says which refused
        return "Check MISTRAL_API_KEY and OPENAI_API_KEY (or their TUNER_*_KEYS pools)."
    return (OPENAI_KEYS_HINT if provider == "openai" else KEYS_HINT).format(url=where)


def _unreachable_hint(provider: str | None) -> str:
    setting = URL_SETTINGS.get(provider or "", " or ".join(URL_SETTINGS.values()))
    return f"Check the network and {setting}; the request was retried before giving up."


def _retry_hint(error: APIError) -> str:
    """When the server said how long to wait, say so instead of a vague "later"."""
    from tuner.api.errors import format_seconds

    wait = getattr(error, "retry_after", None)
    if isinstance(wait, int | float):
        return f"The server asked to wait {format_seconds(wait)}; run the command again after that."
    return _RETRY_LATER_HINT


_NOT_FOUND_HINT = "Check the id (`tuner jobs list`, `tuner files list`, `tuner models list`)."
_CONFLICT_HINT = (
    "A job with the same parameters is already queued, validated or running; see `tuner jobs list`."
)
_RETRY_LATER_HINT = "The API kept failing after retries; try again later."


def fail_api(
    error: APIError, api_url: str | None = None, *, provider: str | None = "mistral"
) -> NoReturn:
    report = describe_api_error(error, api_url, provider=provider)
    fail(report.message, hint=report.hint, code=report.code)


def run_async(
    coro: Coroutine[Any, Any, T], *, api_url: str | None = None, provider: str | None = "mistral"
) -> T:
    """Run a command's coroutine; API, config and ledger errors exit with one line and a code.

    ``api_url`` and ``provider`` name the server in API errors (see :func:`describe_api_error`).
    """
    from tuner.api import APIError

    try:
        return asyncio.run(coro)
    except APIError as error:
        fail_api(error, api_url, provider=provider)
    except ConfigError as exc:
        fail(str(exc), hint=CONFIG_HINT, code=Exit.USAGE)
    except LedgerError as exc:
        fail(f"ledger: {exc}", hint=LEDGER_HINT, code=Exit.USAGE)
    except KeyboardInterrupt:
        # Ctrl-C: one line, not a traceback; what was recorded in the ledger stays recorded.
        err_console.print("interrupted")
        raise typer.Exit(INTERRUPTED) from None
