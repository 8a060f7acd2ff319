"""The layers stay honest: the core imports neither the UI nor the CLI libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE = ["tuner.datasets", "tuner.jobs", "tuner.evals", "tuner.api"]
FORBIDDEN = ["textual", "typer"]


@pytest.mark.parametrize("module", CORE)
def test_core_does_not_import_ui_or_cli(module: str) -> None:
    # A fresh interpreter, so nothing imported by other tests hides an import.
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({module!r})\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{module} pulls in {result.stdout.strip()}"


def test_datasets_does_not_import_httpx() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "pkg = importlib.import_module('tuner.datasets')\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "print('httpx' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
