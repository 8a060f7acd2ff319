"""Command-line entry points (typer). Thin: parse, call the core, render."""
