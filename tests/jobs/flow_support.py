"""The one helper module of the jobs and CLI tests: sandboxes, clients, data, specs, notifier
stand-ins, and time that never waits (the fixtures built on it are in ``conftest.py``).

The sandbox runs on 127.0.0.1, port 0, with a manual clock. Everything that would wait is
redirected: the client's retry sleeps move a fake monotonic clock (so a 429's Retry-After costs
nothing), its wall clock is the sandbox's clock (so "created after" look-ups agree with the
server), and the orchestrator's poll sleep advances the sandbox's clock.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tuner.api import RetryPolicy, TunerClient
from tuner.jobs.ledger import Ledger
from tuner.jobs.notifiers import DeliveryError, Payload
from tuner.sandbox import ManualClock, SandboxHandle, start_in_thread

API_KEY = "flow-test-key-0123456789abcdef"
START = 1_760_000_000
"""The sandbox's manual clock starts here."""
NOW = 1_800_000_000
"""A ledger clock independent of the sandbox's, on purpose."""
SECRET_PATH = "/services/T0000/B0000/sEcReTtOkEn42"
"""The path of a test webhook URL: the secret part, which must never be shown."""
REPO = Path(__file__).resolve().parents[2]
SUPPORT = REPO / "examples" / "data" / "support.jsonl"

QUESTIONS = [
    ("How do I reset my password?", "Open Settings, choose Security and press Reset password."),
    ("Where can I download my invoice?", "Invoices are under Billing, in the Documents tab."),
    ("Can I change the delivery address?", "Yes, until it ships: open the order."),
    ("How do I cancel my subscription?", "Go to Billing and press Cancel subscription."),
    ("What payment methods do you accept?", "Cards, bank transfers and PayPal."),
    ("How long does shipping take?", "Three to five working days within the EU."),
    ("Do you ship to Canada?", "Yes, international shipping covers Canada."),
    ("How can I contact support by phone?", "Call us on working days."),
    ("Is my data encrypted?", "Yes, at rest and in transit."),
    ("Can I get a refund for a damaged item?", "Yes: send a photo and we refund within a week."),
    ("Does the lamp dim?", "Yes, from 5 to 100 percent in the app."),
    ("Which colours exist?", "Graphite, sand and sage."),
]


class FakeMonotonic:
    """The client's monotonic clock and retry sleep: sleeping only moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def training_bytes(*, tag: str = "") -> bytes:
    """A valid instruct file of 12 short conversations (the platform wants at least 10)."""
    lines = [
        {
            "messages": [
                {"role": "user", "content": f"{tag}{question}"},
                {"role": "assistant", "content": answer},
            ]
        }
        for question, answer in QUESTIONS
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def small_training(path: Path, *, tag: str = "") -> Path:
    """``training_bytes`` written to ``path``."""
    path.write_bytes(training_bytes(tag=tag))
    return path


def support_split(folder: Path, *, eval_lines: int = 8) -> tuple[Path, Path]:
    """The example support conversations split into train and a small eval file (the eval file
    must stay under 5 % of the training bytes)."""
    lines = SUPPORT.read_text(encoding="utf-8").splitlines(keepends=True)
    train = folder / "train.jsonl"
    evals = folder / "eval.jsonl"
    train.write_text("".join(lines[:-eval_lines]), encoding="utf-8")
    evals.write_text("".join(lines[-eval_lines:]), encoding="utf-8")
    return train, evals


def write_spec(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


class Sandboxes:
    """Starts sandboxes, each with its own data folder under ``root`` and a manual clock that
    starts at ``start`` (None: the wall clock's time); ``stop_all`` stops them."""

    def __init__(self, root: Path, *, start: float | None = START) -> None:
        self.root = root
        self.start_at = start
        self.started: list[SandboxHandle] = []

    def start(self, **options: Any) -> SandboxHandle:
        folder = self.root / f"sandbox-{len(self.started)}"
        options.setdefault("clock", ManualClock(self.start_at))
        handle = start_in_thread(folder, **options)
        self.started.append(handle)
        return handle

    def stop_all(self) -> None:
        for handle in self.started:
            # Stopping takes a fixed ~0.2 s: do it off the test's path.
            threading.Thread(target=handle.stop, name="stop-sandbox", daemon=True).start()


def sandbox_starter(
    root: Path, *, start: float | None = START
) -> Iterator[Callable[..., SandboxHandle]]:
    """The body of a ``start_sandbox`` fixture: ``Sandboxes(root, start=start).start``, with
    every sandbox it started stopped afterwards."""
    sandboxes = Sandboxes(root, start=start)
    try:
        yield sandboxes.start
    finally:
        sandboxes.stop_all()


def make_client(
    handle: SandboxHandle,
    *,
    max_attempts: int = 6,
    monotonic: FakeMonotonic | None = None,
    retry_after_cap: float = 5.0,
) -> TunerClient:
    """A client of the sandbox whose retry waits only move ``monotonic``. The default cap lets
    it wait out the sandbox's ``Retry-After`` (1 s); below that, a 429 ends the call."""
    mono = monotonic or FakeMonotonic()
    return TunerClient(
        [API_KEY],
        base_url=handle.url,
        retry=RetryPolicy(
            max_attempts=max_attempts,
            max_elapsed=10_000.0,
            retry_after_cap=retry_after_cap,
            backoff_initial=0.01,
            backoff_max=0.05,
        ),
        sleep=mono.sleep,
        clock=mono,
        wall_clock=handle.clock.now,
        rng=random.Random(11),
    )


def sandbox_clock(handle: SandboxHandle) -> Callable[[], int]:
    """The ledger's clock: the sandbox's simulated time, in whole seconds."""

    def now() -> int:
        return int(handle.clock.now())

    return now


def advancing_sleep(handle: SandboxHandle) -> Callable[[float], Awaitable[None]]:
    """A poll sleep that moves the sandbox's manual clock instead of waiting."""

    async def sleep(seconds: float) -> None:
        handle.advance(seconds)

    return sleep


def server_jobs(handle: SandboxHandle) -> list[Any]:
    """Every job the sandbox stores (read from its store, so no fault can hide one)."""
    from tuner.sandbox.store import JOBS

    return list(handle.sandbox.store.all(JOBS))


def server_files(handle: SandboxHandle) -> list[Any]:
    from tuner.sandbox.store import FILES

    return [f for f in handle.sandbox.store.all(FILES) if not f.deleted]


def statuses(ledger: Ledger, job_id: str) -> list[str]:
    """The statuses the ledger recorded for a job, in order."""
    return [t.to_status for t in ledger.transitions(job_id)]


class WebhookReceiver:
    """A webhook endpoint on 127.0.0.1 (port 0) that records each JSON body it gets.

    ``statuses`` are answered in turn (then 200). With ``hang_on=N`` the N-th delivery is
    recorded, ``arrived`` is set, and the answer waits for ``release`` (so a test can kill the
    sender while it waits).
    """

    def __init__(self, statuses: list[int] | None = None, hang_on: int | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        self.hang_on = hang_on
        self.arrived = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                with receiver._lock:
                    receiver.bodies.append(body)
                    count = len(receiver.bodies)
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if count == receiver.hang_on:
                    receiver.arrived.set()
                    receiver.release.wait(timeout=60)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None  # quiet: the tests read the bodies instead

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                return None  # a sender killed mid-request breaks the pipe; expected

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{SECRET_PATH}"

    def transition_ids(self) -> list[str]:
        with self._lock:
            return [str(body["transition_id"]) for body in self.bodies]

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


class FakeNotifier:
    """Records payloads; fails the payloads whose transition id is listed in ``failing``."""

    def __init__(self, name: str = "webhook") -> None:
        self._name = name
        self.sent: list[str] = []
        self.failing: set[str] = set()

    @property
    def name(self) -> str:
        return self._name

    async def send(self, payload: Payload) -> None:
        transition_id = str(payload["transition_id"])
        if transition_id in self.failing:
            raise DeliveryError("receiver answered HTTP 503")
        self.sent.append(transition_id)
