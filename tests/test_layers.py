"""The layers stay honest: which library each package may import, and which packages may not
reach which (README, "Architecture").

Two checks of one contract: ``lint-imports`` reads every import statement (lazy ones included)
against the contracts in pyproject.toml, and a fresh interpreter shows what importing each package
really loads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ["tuner.datasets", "tuner.jobs", "tuner.evals", "tuner.api"]
UI_AND_SERVER = ["textual", "typer", "fastapi", "uvicorn", "starlette"]
CONTRACTS = [
    "textual only in tuner.tui",
    "typer only in tuner.cli",
    "httpx only in tuner.api",
    "sqlalchemy only in tuner.jobs.ledger",
    "fastapi, uvicorn and starlette only in tuner.sandbox",
    "the sandbox never reaches the client or the jobs (not even indirectly)",
    "the core never reaches the UI or the CLI (not even indirectly)",
    "the official SDKs only in tests (tuner speaks HTTP itself)",
]


def _loaded_by(package: str) -> set[str]:
    """Every module in ``sys.modules`` after importing ``package`` and all its submodules, in a
    fresh interpreter so nothing imported by other tests hides an import."""
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "print('\\n'.join(sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def _within(modules: set[str], roots: list[str]) -> list[str]:
    return sorted(m for m in modules if any(m == r or m.startswith(r + ".") for r in roots))


def test_the_import_contract_holds() -> None:
    # The repository's own tuner first on the path, so the contract judges this checkout.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    run = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    result = subprocess.run(
        [sys.executable, "-c", run, "--no-cache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every contract was checked: deleting one from pyproject.toml fails here, not silently.
    for name in CONTRACTS:
        assert f"{name} KEPT" in result.stdout, f"contract not checked: {name}"
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


@pytest.mark.parametrize("package", CORE)
def test_core_does_not_load_the_ui_cli_or_server_libraries(package: str) -> None:
    loaded = _loaded_by(package)
    bad = _within(loaded, [*UI_AND_SERVER, "tuner.tui", "tuner.cli", "tuner.sandbox"])
    assert bad == [], f"{package} pulls in {', '.join(bad)}"


def test_datasets_does_not_load_httpx() -> None:
    assert _within(_loaded_by("tuner.datasets"), ["httpx", "tuner.api"]) == []


def test_the_sandbox_loads_neither_the_client_nor_the_jobs() -> None:
    loaded = _loaded_by("tuner.sandbox")
    bad = _within(loaded, ["tuner.api", "tuner.jobs", "sqlalchemy", "textual", "typer"])
    assert bad == [], f"tuner.sandbox pulls in {', '.join(bad)}"


# How a command counts tokens (which vocabulary, which longest example, which counter) is
# decided in one place, tuner.datasets.providers, for the CLI and the dashboard alike: neither
# may pick a provider's tokenizer or counter itself (the CLI once had its own OpenAI branch).
COUNTING_INTERNALS = (
    "resolve_counting(",
    "resolve_openai_counting(",
    "counter_for(",
    "openai_counter_for(",
)


def test_the_cli_and_the_dashboard_count_tokens_through_the_core() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for package in ("cli", "tui")
        for path in sorted((ROOT / "tuner" / package).rglob("*.py"))
        for name in COUNTING_INTERNALS
        if name in path.read_text(encoding="utf-8")
    ]
    assert found == [], "use tuner.datasets.providers (resolve_counting_for, counter_factory)"


# The CLI and the dashboard take their clients, runners, orchestrators, job queues and daemon
# from tuner.services (README, "Architecture"): none builds its own, so none can miss what the
# core wires in (the W&B key, max-active, the cycle lock, the clock, the backend's identity).
CORE_WIRING = (
    "TunerClient(",
    "OpenAIClient(",
    "Orchestrator(",
    "Submitter(",
    "EvalRunner(",
    "ClassifierRunner(",
    "OpenAIJobs(",
    "OpenAICreator(",
    "Daemon(",
    "DaemonConfig(",
    "queue_drainer(",
    "load_job_detail(",
    "parse_retry_after(",
    '"ftjob-"',
)


def test_the_cli_and_the_dashboard_build_no_core_object_themselves() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for package in ("cli", "tui")
        for path in sorted((ROOT / "tuner" / package).rglob("*.py"))
        for name in CORE_WIRING
        if name in path.read_text(encoding="utf-8")
    ]
    assert found == [], "take it from tuner.services.Services"
