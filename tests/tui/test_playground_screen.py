"""The Playground against the sandbox: replies streamed in pieces, a second model side by side."""

from __future__ import annotations

import pytest

from tuner.tui.screens.playground import ChatPane, PlaygroundScreen

from .conftest import AppFactory
from .support import BASE_MODEL, settle

pytestmark = pytest.mark.anyio


async def test_a_streamed_reply_arrives_in_pieces(make_tui: AppFactory) -> None:
    app = make_tui(mode="playground", self_poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PlaygroundScreen)
        pane = screen.query_one("#pane-a", ChatPane)
        screen.query_one("#pg-system").value = "You answer support questions."  # type: ignore[attr-defined]
        await pilot.press(*"Hi there", "enter")
        await settle(pilot, lambda: not pane.streaming and pane.reply is not None)
        assert pane.chunks > 1  # many chunks came off the stream…
        assert 1 <= pane.updates <= pane.chunks + 1  # …and bursts coalesced on screen
        assert len(pane.reply_text.split()) > 3
        assert pane.history == [
            {"role": "user", "content": "Hi there"},
            {"role": "assistant", "content": pane.reply_text},
        ]
        assert pane.reply is not None and pane.reply.border_title == BASE_MODEL
        assert "words" in str(pane.reply.border_subtitle)


async def test_a_second_pane_asks_another_model_the_same_thing(make_tui: AppFactory) -> None:
    app = make_tui(mode="playground", self_poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PlaygroundScreen)
        await pilot.press("ctrl+b")
        assert screen.comparing
        screen.query_one("#pg-model-b").value = "mistral-small-latest"  # type: ignore[attr-defined]
        await pilot.press(*"Refund?", "enter")
        a, b = screen.query_one("#pane-a", ChatPane), screen.query_one("#pane-b", ChatPane)
        await settle(pilot, lambda: not a.streaming and not b.streaming and bool(b.reply_text))
        assert a.model == BASE_MODEL and b.model == "mistral-small-latest"
        assert a.history[0] == b.history[0] == {"role": "user", "content": "Refund?"}
        assert a.reply_text and b.reply_text

        await pilot.press("ctrl+l")
        assert not a.history and not b.history


async def test_an_unknown_model_is_shown_in_the_reply(make_tui: AppFactory) -> None:
    app = make_tui(mode="playground", self_poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PlaygroundScreen)
        screen.query_one("#pg-model-a").value = "no-such-model"  # type: ignore[attr-defined]
        await pilot.press(*"Hello", "enter")
        pane = screen.query_one("#pane-a", ChatPane)
        await settle(pilot, lambda: not pane.streaming)
        assert pane.reply is not None and pane.reply.border_subtitle == "stopped"
        assert len(pane.history) == 1  # the failed reply is not part of the conversation
