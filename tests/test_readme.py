"""The README opens with what a newcomer runs first.

Its tables of finding codes moved to docs/data.md; tests/test_docs.py keeps them current.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_opens_with_the_two_commands() -> None:
    head = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:10])
    assert "make demo" in head
    assert "make test" in head
