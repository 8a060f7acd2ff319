"""Messages workers post to widgets. Those that carry a whole state coalesce (``can_replace``):
a burst of updates (a fast stream, many answers at once) renders once, with the latest state.
"""

from __future__ import annotations

from textual.message import Message


class ReplyUpdated(Message):
    """A streamed reply so far (the whole text, not a delta: updates may be dropped)."""

    def __init__(self, pane: str, text: str, *, done: bool = False, error: str | None = None):
        super().__init__()
        self.pane = pane
        self.text = text
        self.done = done
        self.error = error

    def can_replace(self, message: Message) -> bool:
        # A pending update of the same pane is superseded; the final one is never dropped.
        return (
            isinstance(message, ReplyUpdated)
            and message.pane == self.pane
            and not message.done
            and message.error is None
        )


class EvalProgress(Message):
    """How far an evaluation run is: answers (and verdicts) recorded of those to do."""

    def __init__(self, stage: str, done: int, total: int | None) -> None:
        super().__init__()
        self.stage = stage
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EvalProgress) and message.stage == self.stage
