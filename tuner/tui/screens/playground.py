"""Playground: chat with a model, replies streamed as they arrive; a second pane asks another
model the same thing, side by side."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, Static

from tuner.api import NOT_GIVEN, APIError
from tuner.tui import format as fmt
from tuner.tui.messages import ReplyUpdated
from tuner.tui.screens.base import TunerScreen
from tuner.tui.screens.evaluate import ModelSuggester
from tuner.tui.widgets.inputs import TunerInput


class ChatPane(VerticalScroll):
    """One conversation with one model; follows the reply only when already at the bottom."""

    def __init__(self, pane: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pane = pane
        self.history: list[dict[str, Any]] = []
        self.reply: Static | None = None
        self.reply_text = ""
        self.chunks = 0
        """Chunks of the last reply, as they came off the stream."""
        self.updates = 0
        """Times the reply on screen changed (bursts coalesce, so at most ``chunks``)."""
        self.streaming = False
        self.model = ""
        self.can_focus = True

    def _add(self, widget: Static) -> None:
        at_bottom = self.scroll_y >= self.max_scroll_y - 1
        self.mount(widget)
        if at_bottom:
            self.call_after_refresh(self.scroll_end, animate=False)

    def ask(self, prompt: str, model: str) -> None:
        self.model = model
        self.history.append({"role": "user", "content": prompt})
        user = Static(Text(fmt.plain(prompt, multiline=True)), classes="message role-user")
        user.border_title = "you"
        self._add(user)
        self.reply = Static(Text("…", style="dim"), classes="message role-assistant")
        self.reply.border_title = Text(fmt.plain(model))
        self.reply_text = ""
        self.chunks = 0
        self.updates = 0
        self.streaming = True
        self._add(self.reply)

    def show(self, text: str, *, done: bool, error: str | None) -> None:
        if self.reply is None:
            return
        at_bottom = self.scroll_y >= self.max_scroll_y - 1
        self.reply_text = text
        self.updates += 1
        # A model's reply and the server's error are untrusted text.
        body = Text(fmt.plain(text, multiline=True))
        if error is not None:
            body.append(("\n" if text else "") + f"error: {fmt.plain(error)}", style="bold red")
        elif not done:
            body.append("▌", style="dim")
        self.reply.update(body)
        if done or error is not None:
            self.streaming = False
            if error is None:
                self.history.append({"role": "assistant", "content": text})
            self.reply.border_subtitle = "stopped" if error else f"{len(text.split())} words"
        if at_bottom:
            self.call_after_refresh(self.scroll_end, animate=False)

    def clear_chat(self) -> None:
        self.history.clear()
        self.reply = None
        self.remove_children()


class PlaygroundScreen(TunerScreen):
    SECTION = "playground"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+b", "compare", "Compare", id="playground.compare",
                tooltip="Show a second pane to ask another model the same thing"),
        Binding("ctrl+l", "clear", "Clear", id="playground.clear",
                tooltip="Start the conversations afresh"),
        Binding("ctrl+s", "stop", "Stop", id="playground.stop", tooltip="Stop the replies"),
    ]  # fmt: skip

    def compose_body(self) -> ComposeResult:
        suggest = ModelSuggester(lambda: self.tuner.models)
        base = self.tuner.config.base_model
        with Horizontal(classes="form-row"):
            yield Label("model", classes="form-label")
            yield TunerInput(value=base, id="pg-model-a", compact=True, suggester=suggest)
            yield Label("vs", classes="form-label", id="pg-vs")
            yield TunerInput(value=base, id="pg-model-b", compact=True, suggester=suggest)
            yield Label("temp", classes="form-label")
            yield TunerInput(value="0.7", id="pg-temperature", compact=True)
        with Horizontal(classes="form-row"):
            yield Label("system", classes="form-label")
            yield TunerInput(placeholder="system prompt (optional)", id="pg-system", compact=True)
        with Horizontal(id="pg-panes"):
            yield ChatPane("a", id="pane-a")
            yield ChatPane("b", id="pane-b")
        yield TunerInput(placeholder="ask something, enter to send", id="pg-prompt")

    def on_mount(self) -> None:
        self._set_compare(False)
        self.query_one("#pg-prompt", TunerInput).focus()

    def pane(self, name: str) -> ChatPane:
        return self.query_one(f"#pane-{name}", ChatPane)

    @property
    def comparing(self) -> bool:
        return bool(self.pane("b").display)

    def _set_compare(self, on: bool) -> None:
        for selector in ("#pane-b", "#pg-model-b", "#pg-vs"):
            self.query_one(selector).display = on

    def action_compare(self) -> None:
        self._set_compare(not self.comparing)

    def action_clear(self) -> None:
        self.action_stop()
        for name in ("a", "b"):
            self.pane(name).clear_chat()

    def action_stop(self) -> None:
        for name in ("a", "b"):
            self.workers.cancel_group(self, f"chat-{name}")
            pane = self.pane(name)
            if pane.streaming:
                pane.show(pane.reply_text, done=False, error="stopped")

    @on(Input.Submitted, "#pg-prompt")
    def _send(self, event: Input.Submitted) -> None:
        prompt = event.value.strip()
        if not prompt:
            return
        try:
            temperature = float(self.query_one("#pg-temperature", TunerInput).value or "0.7")
        except ValueError:
            self.notify("temperature must be a number", severity="error")
            return
        event.input.value = ""
        system = self.query_one("#pg-system", TunerInput).value.strip()
        targets = [("a", "#pg-model-a")]
        if self.comparing:
            targets.append(("b", "#pg-model-b"))
        for name, selector in targets:
            model = self.query_one(selector, TunerInput).value.strip()
            if not model:
                self.notify("name a model first", severity="warning")
                continue
            pane = self.pane(name)
            pane.ask(prompt, model)
            messages = ([{"role": "system", "content": system}] if system else []) + list(
                pane.history
            )
            self.run_worker(
                self._stream(name, model, messages, temperature),
                group=f"chat-{name}",
                exclusive=True,
                exit_on_error=False,
                description=f"asking {model}",
            )

    async def _stream(
        self, pane_name: str, model: str, messages: list[dict[str, Any]], temperature: float
    ) -> None:
        pane = self.pane(pane_name)
        text = ""
        try:
            stream = self.tuner.client.chat.stream(
                model=model,
                messages=messages,
                temperature=temperature if temperature >= 0 else NOT_GIVEN,
            )
            async with stream:
                async for chunk in stream:
                    for choice in chunk.choices:
                        content = choice.delta.content
                        if isinstance(content, str) and content:
                            text += content
                    pane.chunks += 1
                    self.post_message(ReplyUpdated(pane_name, text))
        except APIError as error:
            self.post_message(ReplyUpdated(pane_name, text, error=fmt.truncate(str(error), 200)))
            return
        self.post_message(ReplyUpdated(pane_name, text, done=True))

    def on_reply_updated(self, message: ReplyUpdated) -> None:
        self.pane(message.pane).show(message.text, done=message.done, error=message.error)
