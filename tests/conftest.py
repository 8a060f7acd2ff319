"""Suite-wide test settings."""

from __future__ import annotations

from hypothesis import settings

# No property test may fail on wall-clock luck: hypothesis's per-example deadline is off for
# every test (tests that set their own settings inherit this).
settings.register_profile("tuner", deadline=None)
settings.load_profile("tuner")
