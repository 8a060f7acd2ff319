"""Training data: read, validate, count tokens, fix, dedupe, split and write (see README)."""
