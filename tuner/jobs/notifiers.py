"""Notifiers and their delivery from the ledger's outbox: the log, a webhook, a shell command.

Every status transition the ledger records gets one outbox row per notifier in the ledger's
stored registry (``Ledger.register_notifiers``: the daemon registers its notifiers when it takes
its lease), plus any the writing ``Ledger`` was opened with. Whoever records the transition — the
daemon, ``tuner jobs watch`` or ``list``, the TUI — writes those rows in the same transaction as
the transition, so a crash can delay a notification but never lose it, and the daemon announces
changes another writer saw first. A notifier dropped from the registry gets no new rows; its
pending ones stay.

``deliver_pending`` sends the due rows and records each success right after it: a row is sent
twice only if the process dies between a send and that record (the receiver then sees the same
``transition_id`` again and can drop it). Failures are retried with exponential backoff.

Within one notifier a job's notifications go out in order: while an earlier one waits for its
retry, the later ones of the same job wait behind it; other jobs are not held up.

Payload (JSON for the webhook, environment variables for the command)::

    {"transition_id": "<job id>:<seq>:<status>", "job_id": ..., "backend": ...,
     "from_status": "RUNNING" | null, "to_status": "SUCCESS", "at": <UNIX seconds>,
     "model": ..., "suffix": ..., "fine_tuned_model": ..., "sweep_id": ...,
     "text": "tuner: job 1a2b3c4d (open-mistral-7b, support) RUNNING → SUCCESS: ft:..."}

``text`` makes the payload a valid Slack incoming-webhook message as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tuner.api.webhook import WebhookError, check_webhook_url, post_json, webhook_host
from tuner.jobs.ledger import Ledger
from tuner.jobs.records import NotificationRecord

logger = logging.getLogger("tuner.jobs.notify")

Payload = Mapping[str, Any]

LOG = "log"
WEBHOOK = "webhook"
COMMAND = "command"

# ``pending_notifications`` returns rows due at the given time; asking at this far-off instant
# returns every pending row, so rows still waiting for a retry can hold back later ones.
_EVERY_PENDING = 2**62
_MAX_OUTPUT_LOGGED = 500


class DeliveryError(Exception):
    """A notifier could not deliver; the message says why and holds no secret."""


class Notifier(Protocol):
    @property
    def name(self) -> str:
        """The name outbox rows are kept under (``log``, ``webhook``, ``command``)."""
        ...

    async def send(self, payload: Payload) -> None:
        """Deliver one notification; raise ``DeliveryError`` when it did not get through."""
        ...


def notification_text(payload: Payload) -> str:
    """One line a person can read in Slack or a log: which job, what changed, the result."""
    job_id = str(payload.get("job_id", "?"))
    about = ", ".join(str(part) for part in (payload.get("model"), payload.get("suffix")) if part)
    before = payload.get("from_status")
    change = f"{before} → {payload.get('to_status')}" if before else f"{payload.get('to_status')}"
    origin = " SIMULATED" if payload.get("sandbox") is True else ""
    text = f"tuner:{origin} job {job_id[:8]}" + (f" ({about})" if about else "") + f" {change}"
    model = payload.get("fine_tuned_model")
    if model and payload.get("to_status") == "SUCCESS":
        text += f": {model}"
    return text


def with_text(payload: Payload) -> dict[str, Any]:
    """The payload as sent: the stored fields plus the Slack-compatible ``text``."""
    return {**payload, "text": notification_text(payload)}


# -- the notifiers --------------------------------------------------------------------------


class LogNotifier:
    """Writes each transition to the log (always on: the daemon's journal is a record too)."""

    def __init__(self, name: str = LOG, *, logger_name: str = "tuner.jobs.transitions") -> None:
        self._name = name
        self._logger = logging.getLogger(logger_name)

    @property
    def name(self) -> str:
        return self._name

    async def send(self, payload: Payload) -> None:
        self._logger.info("%s [%s]", notification_text(payload), payload.get("transition_id"))


class WebhookNotifier:
    """POSTs the payload as JSON; any 2xx answer counts as delivered."""

    def __init__(self, url: str, *, timeout: float = 10.0, name: str = WEBHOOK) -> None:
        self._url = check_webhook_url(url)
        self._timeout = timeout
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        # The URL is a credential (Slack's is): show the host only.
        return f"WebhookNotifier({webhook_host(self._url)})"

    async def send(self, payload: Payload) -> None:
        try:
            status = await post_json(self._url, with_text(payload), self._timeout)
        except WebhookError as exc:
            raise DeliveryError(str(exc)) from None
        if not 200 <= status < 300:
            raise DeliveryError(f"{webhook_host(self._url)} answered HTTP {status}")


ENV_FIELDS: Mapping[str, str] = {
    "TUNER_TRANSITION_ID": "transition_id",
    "TUNER_JOB_ID": "job_id",
    "TUNER_JOB_STATUS": "to_status",
    "TUNER_JOB_PREVIOUS_STATUS": "from_status",
    "TUNER_JOB_MODEL": "model",
    "TUNER_JOB_SUFFIX": "suffix",
    "TUNER_FINE_TUNED_MODEL": "fine_tuned_model",
    "TUNER_SWEEP_ID": "sweep_id",
    "TUNER_BACKEND": "backend",
    "TUNER_TRANSITION_AT": "at",
}
"""Environment variable → payload field, for the command notifier (empty when the field is
null); ``TUNER_JOB_SANDBOX`` is ``1`` for a job a sandbox ran (``0`` for a real API, empty when
not known), ``TUNER_NOTIFICATION_TEXT`` holds the text and stdin the whole payload as JSON."""


PASSED_ENV = ("PATH", "HOME", "LANG", "TZ", "TMPDIR")
"""Variables of the daemon's environment the command always gets (and every ``LC_*``)."""


def command_environment(
    payload: Payload, base: Mapping[str, str], passed: Sequence[str] = ()
) -> dict[str, str]:
    """The command's whole environment: the allow-listed variables of ``base`` (the daemon's
    environment: ``PASSED_ENV``, ``LC_*`` and the names in ``passed``, the ``notify_env``
    setting) plus the job's fields. Nothing else: the daemon's environment holds API keys
    (``MISTRAL_API_KEY``, ``TUNER_API_KEYS``), ``WANDB_API_KEY`` and the webhook URL, and a
    notification script has no business with them."""
    allowed = {*PASSED_ENV, *passed}
    env = {name: value for name, value in base.items() if name in allowed or name.startswith("LC_")}
    for variable, key in ENV_FIELDS.items():
        value = payload.get(key)
        env[variable] = "" if value is None else str(value)
    env["TUNER_JOB_SANDBOX"] = _flag(payload.get("sandbox"))
    env["TUNER_NOTIFICATION_TEXT"] = notification_text(payload)
    return env


def _flag(value: object) -> str:
    """``1``/``0`` for a known yes/no, empty when not known (a job recorded before schema v4)."""
    return "" if value is None else ("1" if value is True else "0")


class CommandNotifier:
    """Runs a shell command per notification; exit status 0 counts as delivered.

    The command gets the job's fields in ``TUNER_*`` environment variables and the payload as
    JSON on stdin, and of the daemon's environment only the allow-listed variables
    (:func:`command_environment`; ``pass_env`` names more). It runs in its own process group,
    so a timeout (or the daemon stopping) ends the whole pipeline it started, not just the shell.
    """

    def __init__(
        self,
        command: str,
        *,
        timeout: float = 60.0,
        name: str = COMMAND,
        environ: Mapping[str, str] | None = None,
        pass_env: Sequence[str] = (),
    ) -> None:
        if not command.strip():
            raise ValueError("the notification command must not be empty")
        self._command = command
        self._pass_env = tuple(pass_env)
        self._timeout = timeout
        self._name = name
        self._environ = environ

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        # The command line may carry a token the user put there: not shown.
        return "CommandNotifier(…)"

    async def send(self, payload: Payload) -> None:
        base = os.environ if self._environ is None else self._environ
        process = await asyncio.create_subprocess_shell(
            self._command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=command_environment(payload, base, self._pass_env),
            start_new_session=True,
        )
        stdin = json.dumps(with_text(payload)).encode()
        try:
            async with asyncio.timeout(self._timeout):
                output, _ = await process.communicate(stdin)
        except TimeoutError:
            raise DeliveryError(
                f"the notification command did not finish within {self._timeout:g} s"
            ) from None
        finally:
            if process.returncode is None:
                _kill_group(process.pid)
                await process.wait()
        self._report(process.returncode, output)

    def _report(self, returncode: int | None, output: bytes) -> None:
        text = output.decode("utf-8", errors="replace").strip()
        if text:
            logger.debug("notification command said: %s", text[-_MAX_OUTPUT_LOGGED:])
        if returncode != 0:
            raise DeliveryError(f"the notification command exited with status {returncode}")


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


# -- delivery -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backoff:
    """When to try a failed notification again: ``initial * factor**(attempts-1)``, capped.

    ``give_up_after`` attempts (None: never) marks a row failed for good; by default nothing is
    ever given up, since a notification must not be lost to a receiver that is down for a day.
    """

    initial: float = 30.0
    factor: float = 2.0
    maximum: float = 3600.0
    give_up_after: int | None = None

    def delay(self, attempts: int) -> int:
        """Seconds before the next try, after ``attempts`` failed ones (>= 1)."""
        exponent = min(max(attempts - 1, 0), 64)  # bounded so factor**n never overflows
        return max(1, round(min(self.maximum, self.initial * self.factor**exponent)))

    def next_attempt(self, attempts: int, now: int) -> int | None:
        if self.give_up_after is not None and attempts >= self.give_up_after:
            return None
        return now + self.delay(attempts)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    held: int = 0
    """Rows left for later: behind an earlier row of the same job, or the round stopped."""

    def __add__(self, other: DeliveryResult) -> DeliveryResult:
        return DeliveryResult(
            self.sent + other.sent, self.failed + other.failed, self.held + other.held
        )


NOTHING_DELIVERED = DeliveryResult()
MAX_FAILURES_PER_ROUND = 3
"""A notifier that failed this many times in one round is left alone until the next round:
its receiver is most likely down, and each try may cost a full timeout."""


async def deliver_pending(
    ledger: Ledger,
    notifiers: Sequence[Notifier],
    *,
    now: Callable[[], int],
    backoff: Backoff | None = None,
    limit: int = 100,
    should_stop: Callable[[], bool] = lambda: False,
) -> DeliveryResult:
    """Send the due outbox rows of each notifier (at most ``limit`` each), oldest first.

    ``now`` is read for every row, so retry times count from the actual failure. Rows of
    notifiers not in ``notifiers`` stay pending for a run that has them configured.
    ``should_stop`` is checked before each send: a stopping daemon finishes the send in hand
    and records it, and starts no new one.
    """
    policy = backoff if backoff is not None else Backoff()
    total = NOTHING_DELIVERED
    for notifier in notifiers:
        if should_stop():
            break
        total += await _deliver_for(
            ledger, notifier, now=now, backoff=policy, limit=limit, should_stop=should_stop
        )
    return total


async def _deliver_for(
    ledger: Ledger,
    notifier: Notifier,
    *,
    now: Callable[[], int],
    backoff: Backoff,
    limit: int,
    should_stop: Callable[[], bool],
) -> DeliveryResult:
    rows = await ledger.aio.pending_notifications(_EVERY_PENDING, limit, notifier=notifier.name)
    sent = failed = held = 0
    waiting_jobs: set[str] = set()
    for row in rows:
        job_id = str(row.payload.get("job_id"))
        if should_stop() or failed >= MAX_FAILURES_PER_ROUND or job_id in waiting_jobs:
            held += 1
            continue
        if row.next_attempt_at is not None and row.next_attempt_at > now():
            waiting_jobs.add(job_id)  # keeps this job's later notifications behind this one
            held += 1
            continue
        if await _deliver_one(ledger, notifier, row, now=now, backoff=backoff):
            sent += 1
        else:
            failed += 1
            waiting_jobs.add(job_id)
    return DeliveryResult(sent=sent, failed=failed, held=held)


async def _deliver_one(
    ledger: Ledger,
    notifier: Notifier,
    row: NotificationRecord,
    *,
    now: Callable[[], int],
    backoff: Backoff,
) -> bool:
    try:
        await notifier.send(row.payload)
    except DeliveryError as exc:
        await _record_failure(ledger, notifier, row, str(exc), now=now(), backoff=backoff)
        return False
    except Exception as exc:  # a notifier bug must not stop the others; keep the row
        logger.exception("notifier %s failed unexpectedly", notifier.name)
        message = f"unexpected {type(exc).__name__}"
        await _record_failure(ledger, notifier, row, message, now=now(), backoff=backoff)
        return False
    # Recorded at once: the window in which a crash repeats this notification is this gap.
    await ledger.aio.mark_sent(row.id, now())
    return True


async def _record_failure(
    ledger: Ledger,
    notifier: Notifier,
    row: NotificationRecord,
    error: str,
    *,
    now: int,
    backoff: Backoff,
) -> None:
    attempts = row.attempts + 1
    retry_at = backoff.next_attempt(attempts, now)
    await ledger.aio.mark_failed(row.id, error, now, retry_at)
    if retry_at is None:
        logger.error(
            "notification %s via %s given up after %d attempt(s): %s",
            row.transition_id,
            notifier.name,
            attempts,
            error,
        )
    else:
        logger.warning(
            "notification %s via %s failed (attempt %d): %s; next try in %d s",
            row.transition_id,
            notifier.name,
            attempts,
            error,
            retry_at - now,
        )
