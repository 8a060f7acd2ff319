"""What the dashboard is given: the core services (client, ledger, clock) and a few options.

Everything the app touches from outside is in here, injected by ``make_app``: the CLI passes the
services it builds from the settings (whose client, with ``tuner.api`` and httpx, is built after
the first frame); tests pass services over a sandbox on loopback, a temporary ledger file and the
sandbox's manual clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from tuner.services import Services

Mode = Literal["jobs", "data", "files", "evaluate", "playground"]
MODES: tuple[Mode, ...] = ("jobs", "data", "files", "evaluate", "playground")

DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_BASE_MODEL = "open-mistral-7b"
DEFAULT_JUDGE = "mistral-small-latest"


@dataclass
class TuiConfig:
    services: Services
    """Client, ledger, clock, orchestrator: the core's (``tuner.services``), as the CLI uses."""
    poll_interval: float | None = DEFAULT_POLL_INTERVAL
    """Seconds between refreshes; None: only on demand (``r``), as tests drive it."""
    self_poll: bool = True
    """Poll the API when no daemon holds the lease (False: only read the ledger)."""
    watch_running: bool = True
    """GET running jobs on every refresh, so their checkpoints show before they finish."""
    cursor_blink: bool = True
    close_client: bool = False
    """Close the services' client when the app exits (the caller hands it over)."""
    mode: Mode = "jobs"
    data_path: Path | None = None
    """A JSONL file to open in the Data screen at start."""
    base_model: str = DEFAULT_BASE_MODEL
    judge: str = DEFAULT_JUDGE
    probe: bool = True
    """Ask the API for its models at start (to learn whether it is the sandbox)."""
    keymap: Mapping[str, str] = field(default_factory=dict)
    """Binding id → keys (the ``tui_keymap`` setting), e.g. ``{"jobs.new": "N"}``."""

    def __post_init__(self) -> None:
        if self.poll_interval is not None and self.poll_interval <= 0:
            raise ValueError("poll_interval must be positive (or None)")
