"""tuner.tui (see README)."""
