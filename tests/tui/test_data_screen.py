"""The Data screen: validation summary, findings, a finding's conversation, fix and split."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from tuner.config import load_settings
from tuner.jobs.ledger import Ledger
from tuner.sandbox import SandboxHandle
from tuner.services import Services
from tuner.tui.screens.data import ConversationScreen, DataScreen
from tuner.tui.screens.dialogs import PromptScreen
from tuner.tui.widgets.charts import Histogram
from tuner.tui.widgets.conversation import ConversationView

from .conftest import AppFactory
from .support import BROKEN, SUPPORT, make_client, plain, settle

pytestmark = pytest.mark.anyio


def finding_row(screen: DataScreen, code: str, line: int) -> int:
    for index, finding in enumerate(screen.findings):
        if finding.code == code and finding.line == line:
            return index
    raise AssertionError(f"no {code} finding on line {line}")


async def open_file(app: object, pilot: object, path: Path, wait: bool = True) -> DataScreen:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, DataScreen)
    await pilot.press("o")  # type: ignore[attr-defined]
    # Typing a long path key by key costs ~0.1 s a key: set it, then press enter.
    screen.query_one("#data-path").value = str(path)  # type: ignore[attr-defined]
    await pilot.press("enter")  # type: ignore[attr-defined]
    if wait:
        await settle(pilot, lambda: screen.loaded >= 1)
    return screen


async def test_findings_open_their_conversation(make_tui: AppFactory, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    shutil.copy(BROKEN, broken)
    app = make_tui(mode="data", probe=False, self_poll=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_file(app, pilot, broken)
        report = screen.report
        assert report is not None and not report.ok
        table = screen.query_one("#data-findings", DataTable)
        assert table.row_count == len(screen.findings) == report.errors + report.warnings
        summary = plain(screen.query_one("#data-summary", Static).content)
        assert "broken.jsonl" in summary and f"{report.errors} errors" in summary

        # unknown_role on line 5 names message 2 (role "bot"): it is highlighted.
        table.move_cursor(row=finding_row(screen, "unknown_role", 5))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ConversationScreen))
        view = app.screen.query_one(ConversationView)
        panels = list(view.query(".message"))
        assert [p.border_title for p in panels] == ["1 user", "2 bot", "3 user", "4 assistant"]
        offending = list(view.query(".offending"))
        assert offending == [panels[1]]
        assert "◀ finding" in str(panels[1].border_subtitle)
        assert panels[0].has_class("role-user") and panels[3].has_class("role-assistant")
        assert panels[3].border_subtitle == "trained"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DataScreen)

        # A tool call is shown readable, with its arguments indented.
        table.move_cursor(row=finding_row(screen, "arguments_not_string", 14))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ConversationScreen))
        view = app.screen.query_one(ConversationView)
        text = "\n".join(plain(p.content) for p in view.query(".message"))
        assert "→ call 1" in text and '"order_id": "BF-318274"' in text
        await pilot.press("escape")
        await settle(pilot)

        # A line that is not JSON: the raw line, with the column the finding names marked.
        table.move_cursor(row=finding_row(screen, "trailing_comma", 2))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ConversationScreen))
        raw = app.screen.query_one(".raw", Static)
        assert raw.has_class("offending")
        assert "(not JSON)" in str(raw.border_title)


async def test_fix_then_split_from_the_screen(make_tui: AppFactory, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    shutil.copy(BROKEN, broken)
    app = make_tui(mode="data", probe=False, self_poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_file(app, pilot, broken)
        errors_before = screen.report.errors  # type: ignore[union-attr]
        await pilot.press("f")
        fixed = tmp_path / "broken.fixed.jsonl"
        await settle(pilot, lambda: screen.loaded >= 2)
        assert fixed.exists() and (tmp_path / "broken.fixed.rejects.jsonl").exists()
        assert screen.path == str(fixed)
        assert screen.report is not None and screen.report.errors < errors_before
        assert any("fixed" in n.message for n in app._notifications)

        # Split the (valid) example data.
        support = tmp_path / "support.jsonl"
        shutil.copy(SUPPORT, support)
        await open_file(app, pilot, support, wait=False)
        await settle(pilot, lambda: screen.loaded >= 3)
        assert screen.report is not None and screen.report.ok
        assert screen.query_one("#data-findings", DataTable).row_count == 0
        counts = list(screen.report.files[0].token_counts)
        assert len(counts) == 300
        await pilot.press("escape", "t")
        assert screen.query_one("#data-tabs").active == "lengths"  # type: ignore[attr-defined]
        assert screen.query_one(Histogram) is not None
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("enter")  # the default fraction: auto, the platform's limit
        await settle(pilot, lambda: (tmp_path / "support.eval.jsonl").exists())
        train_lines = (tmp_path / "support.train.jsonl").read_text().count("\n")
        eval_lines = (tmp_path / "support.eval.jsonl").read_text().count("\n")
        assert train_lines + eval_lines == 300 and eval_lines == 11
        assert not any("eval file is" in n.message for n in app._notifications)


async def test_a_missing_file_is_reported(make_tui: AppFactory, tmp_path: Path) -> None:
    app = make_tui(mode="data", probe=False, self_poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_file(app, pilot, tmp_path / "nope.jsonl", wait=False)
        await settle(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        assert isinstance(app.screen, DataScreen)


async def test_fix_leaves_no_empty_rejects_file_and_overwrites_nothing(
    make_tui: AppFactory, tmp_path: Path
) -> None:
    # Every problem here can be fixed (CRLF endings, a role in upper case): nothing is rejected,
    # so no rejects file may appear (the dashboard used to leave a 0-byte one).
    folder = tmp_path / "data"  # tmp_path also holds the dashboard's ledger
    folder.mkdir()
    fixable = folder / "fixable.jsonl"
    line = (
        b'{"messages": [{"role": "User", "content": "hi"}, {"role": "assistant", "content": "yo"}]}'
    )
    fixable.write_bytes(line + b"\r\n" + line.replace(b"hi", b"hello") + b"\r\n")
    taken = folder / "fixable.fixed.jsonl"
    taken.write_bytes(b"an earlier fix, kept\n")
    app = make_tui(mode="data", probe=False, self_poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_file(app, pilot, fixable)
        await pilot.press("f")
        await settle(pilot, lambda: screen.loaded >= 2)
    fixed = folder / "fixable.fixed.2.jsonl"
    assert screen.path == str(fixed)
    assert fixed.read_bytes().count(b"\n") == 2 and b"\r" not in fixed.read_bytes()
    assert taken.read_bytes() == b"an earlier fix, kept\n"
    assert sorted(p.name for p in folder.iterdir()) == [
        "fixable.fixed.2.jsonl",
        "fixable.fixed.jsonl",
        "fixable.jsonl",
    ]


async def test_the_open_prompt_completes_paths(make_tui: AppFactory, tmp_path: Path) -> None:
    # o, then a few letters of a folder and of a file: each completed as typed (right arrow
    # accepts), folders first, only data files offered, then enter opens the completed path.
    folder = tmp_path / "datasets"
    folder.mkdir()
    shutil.copy(SUPPORT, folder / "support.jsonl")
    (folder / "summary.txt").write_text("not data\n", encoding="utf-8")
    (folder / "sub").mkdir()
    app = make_tui(mode="data", probe=False, self_poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DataScreen)
        await pilot.press("o")
        field = screen.query_one("#data-path", Input)
        assert field.has_focus
        # The folder part is set (typing a long path costs ~0.1 s a key), the rest is typed.
        field.value = f"{tmp_path}{os.sep}"
        field.cursor_position = len(field.value)
        await pilot.press("d", "a")
        await settle(pilot, lambda: field._suggestion == f"{folder}{os.sep}")
        await pilot.press("right")
        assert field.value == f"{folder}{os.sep}"
        await pilot.press("s")
        # A folder comes first; then the data file, never the .txt beside it.
        await settle(pilot, lambda: field._suggestion == f"{folder}{os.sep}sub{os.sep}")
        await pilot.press("u", "p")
        await settle(pilot, lambda: field._suggestion == str(folder / "support.jsonl"))
        await pilot.press("right")
        assert field.value == str(folder / "support.jsonl")
        await pilot.press("enter")
        await settle(pilot, lambda: screen.loaded >= 1)
        assert screen.path == str(folder / "support.jsonl")
        assert screen.report is not None and screen.report.ok


def openai_chat_lines(count: int) -> str:
    """OpenAI chat data Mistral refuses: a developer turn, a weight on an assistant turn."""
    lines = []
    for index in range(count):
        messages = [
            {"role": "developer", "content": "Answer as Harbor Bikes support, briefly."},
            {"role": "user", "content": f"Can you fit tyre number {index}?"},
            {"role": "assistant", "content": "Not that one.", "weight": 0},
            {"role": "user", "content": "And now?"},
            {"role": "assistant", "content": f"Yes, tyre {index} fits."},
        ]
        lines.append(json.dumps({"messages": messages}) + "\n")
    return "".join(lines)


async def test_the_provider_setting_picks_whose_rules_apply(
    make_tui: AppFactory,
    sandbox: SandboxHandle,
    ledger: Ledger,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # TUNER_PROVIDER=openai: the screen validates as `tuner data validate` does without
    # --provider, with OpenAI's rules and, no model given, the CLI's default OpenAI model.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TUNER_PROVIDER", "openai")
    settings = load_settings().settings
    services = Services(settings, client=make_client(sandbox), ledger=ledger)
    folder = tmp_path / "data"
    folder.mkdir()
    data = folder / "harbor.jsonl"
    data.write_text(openai_chat_lines(12), encoding="utf-8")
    app = make_tui(services=services, client=None, mode="data", probe=False, self_poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DataScreen)
        model = screen.query_one("#data-model", Input).value
        assert model == "gpt-4.1-mini-2025-04-14"
        await open_file(app, pilot, data)
        report = screen.report
        assert report is not None
        # Mistral's rules refuse the developer turns (unknown_role); OpenAI's accept them.
        assert [f.code for f in screen.findings] == [] and report.ok
        assert report.files[0].tokenizer is not None
        assert report.files[0].tokenizer.startswith("o200k_base")
        summary = plain(screen.query_one("#data-summary", Static).content, width=120)
        assert "OpenAI's rules, tokens of gpt-4.1-mini-2025-04-14" in summary

        # Fix is Mistral's only (as `tuner data fix`): refused, nothing written.
        await pilot.press("escape", "f")  # out of the path field first
        await settle(pilot)
        assert any("Mistral's rules only" in n.message for n in app._notifications)
        assert [p.name for p in folder.iterdir()] == ["harbor.jsonl"]
