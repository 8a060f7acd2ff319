"""``python -m tuner`` runs the CLI."""

from tuner.cli.main import main

main()
