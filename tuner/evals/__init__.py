"""tuner.evals (see README)."""
