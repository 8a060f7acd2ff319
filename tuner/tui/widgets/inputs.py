"""Text inputs that follow the app's cursor-blink setting (snapshot tests turn blinking off)
and that let go of the keyboard on ``escape``, so section keys (1-5) work again."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Input

from tuner.textsafe import inert_in_place


class TunerInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Leave field", id="input.leave",
                tooltip="Stop typing here (section keys work again)"),
    ]  # fmt: skip

    def __init__(self, *args: Any, leave_on_escape: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.leave_on_escape = leave_on_escape

    @property
    def _value(self) -> Text:
        """The value as drawn: a control character (a file name can hold ESC) is drawn as one
        visible character, so the terminal never acts on it and the cursor still lines up."""
        text = super()._value
        shown = inert_in_place(text.plain)
        if shown == text.plain:
            return text
        return Text(shown, no_wrap=True, overflow="ignore", end="")

    def on_mount(self) -> None:
        self.cursor_blink = bool(getattr(self.app, "cursor_blink_enabled", True))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave" and (not self.leave_on_escape or isinstance(self.screen, ModalScreen)):
            return False  # the screen's own escape (cancel, clear the filter) applies
        return super().check_action(action, parameters)

    def action_leave(self) -> None:
        self.screen.set_focus(None)
