"""What the dashboard is given: the client, the ledger, the clock, and a few options.

Everything the app touches from outside is in here, injected by ``make_app``: tests pass a client
for a sandbox on loopback, a temporary ledger file and the sandbox's manual clock. The CLI passes
a client *factory* instead, so the client (``tuner.api``, httpx) is built after the first frame.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from tuner.api import TunerClient
    from tuner.jobs.ledger import Ledger

Mode = Literal["jobs", "data", "files", "evaluate", "playground"]
MODES: tuple[Mode, ...] = ("jobs", "data", "files", "evaluate", "playground")

DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_BASE_MODEL = "open-mistral-7b"
DEFAULT_JUDGE = "mistral-small-latest"


@dataclass
class TuiConfig:
    client: TunerClient | None
    """The client; None when ``client_factory`` builds it (in a worker, after the first frame)."""
    ledger: Ledger
    clock: Callable[[], float] = time.time
    """UNIX seconds; stamps ledger rows and ages (the sandbox's manual clock in tests)."""
    backend: str = ""
    """The ledger's key for this API (its URL); the client's base URL when empty."""
    poll_interval: float | None = DEFAULT_POLL_INTERVAL
    """Seconds between refreshes; None: only on demand (``r``), as tests drive it."""
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    """How the orchestrator waits between polls of a new job (tests advance a clock)."""
    self_poll: bool = True
    """Poll the API when no daemon holds the lease (False: only read the ledger)."""
    watch_running: bool = True
    """GET running jobs on every refresh, so their checkpoints show before they finish."""
    cursor_blink: bool = True
    close_client: bool = False
    """Close the client when the app exits (the CLI hands its client over)."""
    mode: Mode = "jobs"
    data_path: Path | None = None
    """A JSONL file to open in the Data screen at start."""
    base_model: str = DEFAULT_BASE_MODEL
    judge: str = DEFAULT_JUDGE
    probe: bool = True
    """Ask the API for its models at start (to learn whether it is the sandbox)."""
    client_factory: Callable[[], TunerClient] | None = None
    """Builds the client when ``client`` is None (zero arguments; may run in a thread)."""

    def __post_init__(self) -> None:
        if (self.client is None) == (self.client_factory is None):
            raise ValueError("give either a client or a client factory")
        if not self.backend:
            if self.client is None:
                raise ValueError("a client factory needs the backend (the API URL)")
            self.backend = self.client.base_url
        if self.poll_interval is not None and self.poll_interval <= 0:
            raise ValueError("poll_interval must be positive (or None)")

    def now(self) -> int:
        return int(self.clock())
