"""tuner.jobs (see README)."""
