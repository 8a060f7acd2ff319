"""Notifiers (log, webhook, command) and delivery from the ledger's outbox: at least once, in
order per job, retried with backoff, recorded right after each send."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import pytest

from tuner.jobs.ledger import Ledger
from tuner.jobs.notifiers import (
    ENV_FIELDS,
    Backoff,
    CommandNotifier,
    DeliveryError,
    LogNotifier,
    Payload,
    WebhookNotifier,
    command_environment,
    deliver_pending,
    notification_text,
    with_text,
)

from .flow_support import FakeNotifier, WebhookReceiver

pytestmark = pytest.mark.anyio

BACKEND = "http://127.0.0.1:9"
T0 = 1_800_000_000


class Clock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def record(
    ledger: Ledger, job_id: str, *statuses: str, at: int = T0, sandbox: bool | None = None
) -> list[str]:
    """Apply one snapshot per status; the transition ids recorded, in order."""
    ids = []
    for offset, status in enumerate(statuses):
        snapshot = {
            "id": job_id,
            "model": "open-mistral-7b",
            "suffix": "support",
            "status": status,
            "modified_at": at + offset,
            "fine_tuned_model": "ft:open-mistral-7b:abcd1234:20251009:1a2b3c4d"
            if status == "SUCCESS"
            else None,
        }
        changes = ledger.apply_snapshot(snapshot, backend=BACKEND, now=at + offset, sandbox=sandbox)
        ids += [t.id for t in changes.transitions]
    return ids


def payload(**fields: Any) -> dict[str, Any]:
    base = {
        "transition_id": "1a2b3c4d-0000:6:SUCCESS",
        "job_id": "1a2b3c4d-0000-4000-8000-000000000000",
        "backend": BACKEND,
        "from_status": "RUNNING",
        "to_status": "SUCCESS",
        "at": T0,
        "model": "open-mistral-7b",
        "suffix": "support",
        "fine_tuned_model": "ft:open-mistral-7b:abcd1234:20251009:1a2b3c4d",
        "sweep_id": None,
    }
    return {**base, **fields}


# -- payloads ---------------------------------------------------------------------------------


def test_the_text_says_which_job_what_changed_and_the_model() -> None:
    assert notification_text(payload()) == (
        "tuner: job 1a2b3c4d (open-mistral-7b, support) RUNNING → SUCCESS: "
        "ft:open-mistral-7b:abcd1234:20251009:1a2b3c4d"
    )
    first = payload(from_status=None, to_status="QUEUED", suffix=None, fine_tuned_model=None)
    assert notification_text(first) == "tuner: job 1a2b3c4d (open-mistral-7b) QUEUED"


def test_a_sandbox_job_is_simulated_in_the_text_and_the_command_environment() -> None:
    simulated = payload(sandbox=True)
    assert notification_text(simulated).startswith("tuner: SIMULATED job 1a2b3c4d ")
    assert command_environment(simulated, {})["TUNER_JOB_SANDBOX"] == "1"
    for real_or_unknown, flag in ((False, "0"), (None, "")):
        told = payload(sandbox=real_or_unknown)
        assert "SIMULATED" not in notification_text(told)
        assert command_environment(told, {})["TUNER_JOB_SANDBOX"] == flag


async def test_the_outbox_payload_says_whether_a_sandbox_ran_the_job(ledger: Ledger) -> None:
    record(ledger, "job-sim", "QUEUED", sandbox=True)
    record(ledger, "job-real", "QUEUED", sandbox=False)
    sent = {
        n.payload["job_id"]: n.payload["sandbox"]
        for n in ledger.pending_notifications(T0 + 1, notifier="webhook")
    }
    assert sent == {"job-sim": True, "job-real": False}


def test_the_sent_payload_is_slack_compatible_and_keeps_every_field() -> None:
    sent = with_text(payload())
    assert sent["text"] == notification_text(payload())
    assert {k: v for k, v in sent.items() if k != "text"} == payload()


def test_the_command_gets_job_fields_and_no_more_than_its_own_environment() -> None:
    env = command_environment(payload(), {"PATH": "/bin", "HOME": "/home/u"})
    assert env["TUNER_JOB_ID"] == "1a2b3c4d-0000-4000-8000-000000000000"
    assert env["TUNER_JOB_STATUS"] == "SUCCESS"
    assert env["TUNER_JOB_PREVIOUS_STATUS"] == "RUNNING"
    assert env["TUNER_TRANSITION_ID"] == "1a2b3c4d-0000:6:SUCCESS"
    assert env["TUNER_FINE_TUNED_MODEL"].startswith("ft:open-mistral-7b")
    assert env["TUNER_SWEEP_ID"] == ""
    assert env["PATH"] == "/bin"
    assert not {k for k in env if "KEY" in k or "TOKEN" in k}


# -- the notifiers ----------------------------------------------------------------------------


async def test_the_webhook_posts_json_with_the_transition_id() -> None:
    with WebhookReceiver() as receiver:
        await WebhookNotifier(receiver.url).send(payload())
    assert receiver.bodies == [with_text(payload())]


async def test_a_webhook_error_status_is_a_delivery_error_without_the_secret_path() -> None:
    with WebhookReceiver(statuses=[503]) as receiver:
        notifier = WebhookNotifier(receiver.url)
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(payload())
    assert "503" in str(caught.value)
    assert "sEcReT" not in str(caught.value) and "sEcReT" not in repr(notifier)


async def test_an_unreachable_webhook_is_a_delivery_error_without_the_secret_path() -> None:
    with WebhookReceiver() as receiver:
        url = receiver.url  # closed on leaving the block: nothing listens there any more
    with pytest.raises(DeliveryError) as caught:
        await WebhookNotifier(url, timeout=2).send(payload())
    # Not in the message, nor in a logged traceback (httpx's own error quotes the URL).
    assert "sEcReT" not in "".join(traceback.format_exception(caught.value))


async def test_a_hanging_webhook_times_out() -> None:
    with WebhookReceiver(hang_on=1) as receiver:
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="did not answer within"):
            await WebhookNotifier(receiver.url, timeout=0.3).send(payload())
        assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "url",
    ["http://hooks.example.com/x", "ftp://127.0.0.1/x", "not a url", "https:///nohost"],
)
def test_webhook_urls_must_be_https_or_loopback(url: str) -> None:
    with pytest.raises(ValueError):
        WebhookNotifier(url)


async def test_the_command_sees_the_fields_and_the_payload(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    script = (
        f"{sys.executable} -c 'import sys, os, json; "
        "p = json.load(sys.stdin); "
        f'open("{out}", "w").write(os.environ["TUNER_JOB_STATUS"] + " " + p["transition_id"] '
        '+ " " + os.environ["TUNER_NOTIFICATION_TEXT"])\''
    )
    await CommandNotifier(script).send(payload())
    assert out.read_text() == ("SUCCESS 1a2b3c4d-0000:6:SUCCESS " + notification_text(payload()))


SECRETS = {
    "MISTRAL_API_KEY": "mistral-SECRET-0123456789",
    "TUNER_API_KEYS": "pool-SECRET-1,pool-SECRET-2",
    "WANDB_API_KEY": "w" * 40,
    "TUNER_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/SECRETtoken",
    "AWS_SECRET_ACCESS_KEY": "aws-SECRET",
}


async def test_the_command_gets_an_allow_listed_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    allowed = {
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "TMPDIR": str(tmp_path),
        "SLACK_CHANNEL": "#training",  # named in the notify_env setting
    }
    for name, value in allowed.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NOT_NAMED", "left out")
    dump = tmp_path / "env.json"
    script = (
        f'{sys.executable} -c \'import json, os; json.dump(dict(os.environ), open("{dump}", "w"))\''
    )

    await CommandNotifier(script, pass_env=["SLACK_CHANNEL"]).send(payload())

    seen = json.loads(dump.read_text())
    for name, value in SECRETS.items():
        assert name not in seen
        assert all(value not in text for text in seen.values())
    assert "NOT_NAMED" not in seen
    for name, value in allowed.items():
        assert seen[name] == value
    assert seen["PATH"] == os.environ["PATH"]
    assert seen["TUNER_JOB_STATUS"] == "SUCCESS"
    assert seen["TUNER_JOB_ID"] == payload()["job_id"]
    # Nothing but the allow-list, the job's fields and what the shell itself sets.
    shell_own = {"PWD", "SHLVL", "_", "OLDPWD"}
    job_fields = {*ENV_FIELDS, "TUNER_JOB_SANDBOX", "TUNER_NOTIFICATION_TEXT"}
    assert set(seen) - shell_own - job_fields - {"PATH", *allowed} == set()


async def test_a_failing_command_is_a_delivery_error() -> None:
    with pytest.raises(DeliveryError, match="status 3"):
        await CommandNotifier("exit 3").send(payload())


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a killed one no parent has reaped yet is a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    # SIGKILL is delivered asynchronously: give the kernel time to end the process. A child that
    # survived would run for its full 60 s, so this deadline cannot pass by luck.
    deadline = time.monotonic() + seconds
    while _running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


async def test_a_command_that_runs_too_long_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    # The shell starts a child that records its pid at once, then waits for it: only killing
    # the whole process group ends the child before its 60 s are up. The child lets go of the
    # output pipe, so a surviving child fails the check below instead of stalling the send.
    command = f"sh -c 'echo $$ > {pid_file}; exec sleep 60' >/dev/null 2>&1 </dev/null & wait"
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="did not finish"):
        await CommandNotifier(command, timeout=1.0).send(payload())
    assert time.monotonic() - started < 10
    assert pid_file.exists(), "the child did not start within the timeout: nothing was tested"
    child = int(pid_file.read_text())
    try:
        assert _gone_within(child, 5.0), "the command's child outlived the timeout"
    finally:
        if _running(child):
            os.kill(child, signal.SIGKILL)


async def test_the_log_notifier_writes_one_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tuner.jobs.transitions"):
        await LogNotifier().send(payload())
    assert [r.getMessage() for r in caplog.records] == [
        notification_text(payload()) + " [1a2b3c4d-0000:6:SUCCESS]"
    ]


# -- delivery ---------------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap() -> None:
    backoff = Backoff(initial=30, factor=2, maximum=3600)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 8, 50)] == [30, 60, 120, 240, 3600, 3600]
    assert backoff.next_attempt(1, T0) == T0 + 30
    assert Backoff(give_up_after=3).next_attempt(3, T0) is None


async def test_each_notification_is_sent_once_and_recorded(ledger: Ledger) -> None:
    ids = record(ledger, "job-a", "QUEUED", "RUNNING", "SUCCESS")
    notifier = FakeNotifier()
    clock = Clock()

    result = await deliver_pending(ledger, [notifier], now=clock)
    again = await deliver_pending(ledger, [notifier], now=clock)

    assert notifier.sent == ids
    assert (result.sent, again.sent) == (3, 0)
    webhook_rows = [n for n in ledger.notifications_for_job("job-a") if n.notifier == "webhook"]
    assert [(n.status, n.attempts, n.sent_at) for n in webhook_rows] == [("sent", 1, T0)] * 3
    # The log notifier was not run: its rows wait for a run that has it.
    assert len(ledger.pending_notifications(T0, notifier="log")) == 3


async def test_a_failure_is_retried_with_backoff_and_holds_back_that_job_only(
    ledger: Ledger,
) -> None:
    a_queued, a_running = record(ledger, "job-a", "QUEUED", "RUNNING")
    (b_queued,) = record(ledger, "job-b", "QUEUED")
    notifier = FakeNotifier()
    notifier.failing = {a_queued}
    clock = Clock()
    backoff = Backoff(initial=30, factor=2, maximum=600)

    first = await deliver_pending(ledger, [notifier], now=clock, backoff=backoff)
    assert notifier.sent == [b_queued]  # job-a's RUNNING waits behind its QUEUED
    assert (first.sent, first.failed, first.held) == (1, 1, 1)
    row = next(n for n in ledger.notifications_for_job("job-a") if n.notifier == "webhook")
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, T0 + 30)
    assert row.last_error == "receiver answered HTTP 503"

    clock.now = T0 + 29
    assert (await deliver_pending(ledger, [notifier], now=clock, backoff=backoff)).sent == 0

    clock.now = T0 + 30
    second = await deliver_pending(ledger, [notifier], now=clock, backoff=backoff)
    assert second.failed == 1  # still failing: the next wait doubles
    row = next(n for n in ledger.notifications_for_job("job-a") if n.notifier == "webhook")
    assert (row.attempts, row.next_attempt_at) == (2, T0 + 30 + 60)

    notifier.failing.clear()
    clock.now = T0 + 90
    third = await deliver_pending(ledger, [notifier], now=clock, backoff=backoff)
    assert third.sent == 2
    assert notifier.sent == [b_queued, a_queued, a_running]  # job-a's order kept


async def test_a_notifier_that_keeps_failing_is_left_alone_for_the_round(ledger: Ledger) -> None:
    ids = [record(ledger, f"job-{i}", "QUEUED")[0] for i in range(6)]
    notifier = FakeNotifier()
    notifier.failing = set(ids)

    result = await deliver_pending(ledger, [notifier], now=Clock())

    assert (result.failed, result.held) == (3, 3)


async def test_a_stopping_daemon_starts_no_new_send(ledger: Ledger) -> None:
    record(ledger, "job-a", "QUEUED", "RUNNING")
    calls = 0

    def stop_after_first() -> bool:
        return calls > 0

    class Counting(FakeNotifier):
        async def send(self, payload: Payload) -> None:
            nonlocal calls
            calls += 1
            await super().send(payload)

    counting = Counting()
    result = await deliver_pending(ledger, [counting], now=Clock(), should_stop=stop_after_first)

    assert (result.sent, result.held) == (1, 1)
    assert calls == 1


async def test_an_undelivered_row_survives_a_crash_and_goes_out_later(ledger: Ledger) -> None:
    (queued,) = record(ledger, "job-a", "QUEUED")

    class Crashing(FakeNotifier):
        async def send(self, payload: Payload) -> None:
            await super().send(payload)
            raise KeyboardInterrupt  # the process dies after sending, before recording

    crashing = Crashing()
    with pytest.raises(KeyboardInterrupt):
        await deliver_pending(ledger, [crashing], now=Clock())

    survivor = FakeNotifier()
    await deliver_pending(ledger, [survivor], now=Clock())
    # Sent twice (at least once), under the same transition id for the receiver to drop.
    assert crashing.sent == survivor.sent == [queued]


async def test_webhook_delivery_end_to_end_records_no_secret(ledger: Ledger) -> None:
    ids = record(ledger, "job-a", "QUEUED", "RUNNING", "SUCCESS")
    with WebhookReceiver(statuses=[500]) as receiver:
        notifier = WebhookNotifier(receiver.url)
        clock = Clock()
        await deliver_pending(ledger, [notifier], now=clock)
        clock.now += 3600
        await deliver_pending(ledger, [notifier], now=clock)
    assert receiver.transition_ids() == [ids[0], *ids]  # the first one again after its 500
    assert receiver.bodies[-1]["text"].endswith(
        "RUNNING → SUCCESS: " + "ft:open-mistral-7b:abcd1234:20251009:1a2b3c4d"
    )
    for row in ledger.notifications_for_job("job-a"):
        assert "sEcReT" not in json.dumps(row.model_dump())


async def test_the_webhook_url_never_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), WebhookReceiver(statuses=[500]) as receiver:
        notifier = WebhookNotifier(receiver.url)
        with pytest.raises(DeliveryError):
            await notifier.send(payload())
        await notifier.send(payload())
    assert "HTTP Request: POST http://127.0.0.1/…" in caplog.text  # httpx's line, host only
    assert "sEcReT" not in caplog.text
