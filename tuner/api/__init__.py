"""tuner.api (see README)."""
