"""The test suite; a package, so the CLI tests can share ``tests.jobs.flow_support``."""
