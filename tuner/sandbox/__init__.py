"""tuner.sandbox (see README)."""
