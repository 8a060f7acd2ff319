"""tuner.tui: the Textual dashboard, a view over the core.

``make_app(client=..., ledger=..., clock=...)`` builds the app; it gets everything it touches
from outside injected, does its I/O in workers, and holds no business logic of its own.
"""

from tuner.tui.app import TunerApp, make_app

__all__ = ["TunerApp", "make_app"]
