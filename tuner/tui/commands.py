"""The command palette's actions: every key binding of the current screen (and the app), so
each action is reachable by name as well as by key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.markup import escape


class ActionsProvider(Provider):
    """Context commands from the bindings of the screen the palette was opened on."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        screen = self.screen
        seen: set[str] = set()
        nodes: list[DOMNode] = []
        focused = screen.focused
        node: DOMNode | None = focused
        while node is not None and node is not screen:
            nodes.append(node)
            node = node.parent
        nodes.append(screen)
        # Widgets the screen holds that are not focused still have actions worth offering
        # (e.g. the second table of a screen).
        for widget in screen.query("*"):
            if widget not in nodes and widget._bindings.key_to_bindings:
                nodes.append(widget)
        nodes.append(self.app)
        for owner in nodes:
            for bindings in owner._bindings.key_to_bindings.values():
                for binding in bindings:
                    if not binding.description or binding.system:
                        continue
                    name = binding.description
                    if name in seen:
                        continue
                    seen.add(name)
                    key = self.app.get_key_display(binding)
                    help_text = binding.tooltip or binding.description
                    yield (
                        name,
                        escape(f"{help_text} (key: {key})"),
                        partial(self.app.run_action, binding.action, owner),
                    )

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
