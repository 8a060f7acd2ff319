"""The command palette's actions and the help overlay: every key binding of the current screen
(and the app), so each action is reachable by name as well as by key, and listed under ``?``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.markup import escape
from textual.screen import Screen


class ActionsProvider(Provider):
    """Context commands from the bindings of the screen the palette was opened on."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        for entry in screen_bindings(self.app, self.screen):
            help_text = entry.binding.tooltip or entry.binding.description
            yield (
                entry.binding.description,
                escape(f"{help_text} (key: {entry.keys})"),
                partial(self.app.run_action, entry.binding.action, entry.owner),
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


@dataclass(frozen=True)
class BoundAction:
    """One action of the current screen: its binding, who runs it, its keys as shown."""

    binding: Binding
    owner: DOMNode
    keys: str
    enabled: bool = True


def _owners(app: App[Any], screen: Screen[Any]) -> list[DOMNode]:
    """The screen, the focused widget and its ancestors, the screen's other widgets with
    bindings (e.g. a second table), then the app."""
    nodes: list[DOMNode] = [screen]
    node: DOMNode | None = screen.focused
    while node is not None and node is not screen:
        nodes.append(node)
        node = node.parent
    for widget in screen.query("*"):
        if widget not in nodes and widget._bindings.key_to_bindings:
            nodes.append(widget)
    nodes.append(app)
    return nodes


def screen_bindings(app: App[Any], screen: Screen[Any]) -> list[BoundAction]:
    """Each action of ``screen`` once (by description: several keys, one entry), the
    innermost owner first; Textual's own system bindings left out."""
    found: dict[str, BoundAction] = {}
    for owner in _owners(app, screen):
        for bindings in owner._bindings.key_to_bindings.values():
            for binding in bindings:
                # Only tuner's own (they all have an id): Textual's generic cursor and page
                # keys would bury the screen's actions.
                if not binding.description or binding.system or not binding.id:
                    continue
                name = binding.description
                if name in found:
                    # The same action on more keys (e.g. ``?`` and F1): shown together.
                    first = found[name]
                    if first.binding.action == binding.action and first.owner is owner:
                        keys = app.get_key_display(binding)
                        if keys not in first.keys.split("/"):
                            found[name] = BoundAction(
                                first.binding, owner, f"{first.keys}/{keys}", first.enabled
                            )
                    continue
                enabled = _enabled(owner, binding)
                found[name] = BoundAction(binding, owner, app.get_key_display(binding), enabled)
    return list(found.values())


def _enabled(owner: DOMNode, binding: Binding) -> bool:
    action = binding.action.split("(", 1)[0].rsplit(".", 1)[-1]
    try:
        return owner.check_action(action, ()) is True
    except Exception:  # a check that needs parameters: assume it may run
        return True


def help_rows(app: App[Any], screen: Screen[Any]) -> list[tuple[str, str, str]]:
    """(keys, action, what it does) for the help overlay; actions not valid now say so."""
    rows = []
    for entry in screen_bindings(app, screen):
        what = entry.binding.tooltip or ""
        if not entry.enabled:
            what = f"{what} (not now)" if what else "(not now)"
        rows.append((entry.keys, entry.binding.description, what))
    return rows


def binding_ids(app: App[Any]) -> set[str]:
    """Every binding id of the app and its screens and widgets (what a keymap may name)."""
    from tuner.tui.screens import data, dialogs, evaluate, files, job_detail, jobs, playground
    from tuner.tui.widgets import inputs, jobs_table

    owners: list[Any] = [
        type(app),
        jobs.JobsScreen,
        job_detail.JobDetailScreen,
        data.DataScreen,
        data.ConversationScreen,
        files.FilesScreen,
        evaluate.EvaluateScreen,
        evaluate.EvalItemScreen,
        playground.PlaygroundScreen,
        dialogs.ConfirmScreen,
        dialogs.PromptScreen,
        dialogs.EventScreen,
        dialogs.HelpScreen,
        inputs.TunerInput,
        jobs_table.JobsTable,
    ]
    return {
        binding.id
        for owner in owners
        for binding in owner.BINDINGS
        if isinstance(binding, Binding) and binding.id
    }
