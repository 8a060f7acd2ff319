"""OpenAI's line-level data rules: one JSONL line in, its findings out (``--provider openai``).

The same contract as :func:`tuner.datasets.rules.check_record` (pure, never raises, every finding
of a line, the normalised sample only when the line has no error), for OpenAI's two formats:

- supervised (SFT) chat lines: ``{"messages": [...], "tools"?, "parallel_tool_calls"?}`` with
  roles system, developer, user, assistant and tool, ``weight`` 0/1 on assistant turns, tool
  calls (several per turn allowed) answered by tool messages naming the call's id;
- DPO lines: ``{"input": {"messages", "tools"?, "parallel_tool_calls"?}, "preferred_output":
  [assistant message], "non_preferred_output": [assistant message]}``.

Where the rule is the same as Mistral's the finding uses the existing code; OpenAI's own rules
have the codes of :mod:`tuner.datasets.openai_codes`. What each rule rests on (OpenAI's guide,
its API description as the SDKs generate it, reports, or nothing) is in ``docs/openai.md``.
The JSON parsing and message helpers are the Mistral checker's, so both explain a broken line
the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeGuard, cast

from tuner.datasets.findings import a_or_an
from tuner.datasets.rules import (
    _ROLE_HINTS,
    Kind,
    LineCheck,
    _json_type,
    _Out,
    _show,
    call_object,
    check_call_function,
    check_parameters,
    declare_function,
    parse_object,
    run_line_check,
    tool_function,
)
from tuner.datasets.samples import (
    InstructSample,
    Message,
    PreferenceSample,
    Role,
    Sample,
    ToolCall,
)

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_TOP_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
_DPO_KEYS = frozenset({"input", "preferred_output", "non_preferred_output"})
_DPO_INPUT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls"})
# Keys each role's message may have (OpenAI's chat message types, plus ``weight`` on assistant
# turns); ``function_call`` and ``functions`` are OpenAI's older, deprecated spelling of tools.
_MESSAGE_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name"}),
    "developer": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset(
        {"role", "content", "name", "tool_calls", "function_call", "weight", "refusal"}
    ),
    "tool": frozenset({"role", "content", "tool_call_id"}),
}
_CHOSEN_KEYS = frozenset({"chosen", "rejected", "chosen_messages", "rejected_messages"})
_MAX_LISTED = 5
_HINT_ROLE = "Use one of 'system', 'developer', 'user', 'assistant', 'tool'."
_HINT_CALL = (
    'A tool call is {"id": "call_1", "type": "function", "function": {"name": ..., '
    '"arguments": "{}"}}.'
)
_HINT_TOOL = 'A tool is {"type": "function", "function": {"name", "description"?, "parameters"?}}.'
_HINT_CONVERT = "Convert the source: tuner data convert SRC --provider openai --out OUT.jsonl"


def check_record(data: bytes, *, path: str, line: int, expect: Kind | None) -> LineCheck:
    """All OpenAI findings of one JSONL line, and its sample if it has no error. Never raises.

    ``expect`` is the file's format when known ("instruct" for SFT chat data, "preference" for
    DPO data); a line of the other format is a ``wrong_format`` error.
    """
    return run_line_check(_check, data, path=path, line=line, expect=expect)


def kind_of(obj: dict[str, Any]) -> Kind | None:
    """The OpenAI format a line's keys say: DPO keys win over ``messages``."""
    if any(key in obj for key in _DPO_KEYS):
        return "preference"
    if "messages" in obj:
        return "instruct"
    return None


def _check(data: bytes, out: _Out, expect: Kind | None) -> tuple[Sample | None, Kind | None]:
    value = parse_object(
        data, out, 'Each line must be one object: {"messages": [...]} (or a DPO line with "input").'
    )
    if value is None:
        return None, None
    kind = kind_of(value)
    if kind is None:
        _not_chat(value, out)
        return None, None
    if expect is not None and kind != expect:
        out.add_wrong_format(kind, expect)
        return None, kind
    if kind == "preference":
        return _Preference(value, out).check(), kind
    return _Chat(value, out, where="").check_sft(), kind


def _not_chat(obj: dict[str, Any], out: _Out) -> None:
    if _CHOSEN_KEYS & obj.keys():
        keys = ", ".join(repr(k) for k in sorted(_CHOSEN_KEYS & obj.keys()))
        out.add(
            "preference_pair",
            f"the line holds preference data ({keys}) in a shape OpenAI does not read",
            "OpenAI's DPO lines are {input, preferred_output, non_preferred_output}: "
            + _HINT_CONVERT,
        )
        return
    names = [_show(k, 30) for k in list(obj)[:_MAX_LISTED]]
    out.add(
        "openai_not_chat",
        f"no 'messages' (chat) or 'input'/'preferred_output' (DPO) key; keys found: "
        f"{', '.join(names) or 'none'}",
        'OpenAI fine-tuning reads chat lines {"messages": [...]}: ' + _HINT_CONVERT,
    )


# --------------------------------------------------------------------------- chat (SFT and input)


@dataclass(slots=True)
class _Call:
    id: str
    answered: bool = False


@dataclass(slots=True)
class _ChatState:
    messages: list[Message] = field(default_factory=list)
    declared: set[str] = field(default_factory=set)
    tools: tuple[dict[str, Any], ...] = ()
    # Call ids seen so far in the example, and the calls still waiting for their tool message.
    call_ids: set[str] = field(default_factory=set)
    open_calls: dict[str, int] = field(default_factory=dict)
    parallel: bool | None = None
    unknown: list[str] = field(default_factory=list)
    roles_ok: bool = True


class _Chat:
    """Checks a message list with its tools: an SFT line, or the ``input`` of a DPO line."""

    def __init__(self, obj: dict[str, Any], out: _Out, *, where: str) -> None:
        self.obj = obj
        self.out = out
        # "" for an SFT line, "input." inside a DPO line: messages name the key path.
        self.where = where
        self.state = _ChatState()

    # ----------------------------------------------------------------- entry points

    def check_sft(self) -> InstructSample | None:
        out, state = self.out, self.state
        self._tools()
        for key in self.obj:
            if key not in _TOP_KEYS:
                state.unknown.append(f"{_show(key, 30)} (top level)")
        raw = self.obj["messages"]
        if not self._messages(raw):
            self._unknown_keys()
            return None
        if state.roles_ok:
            self._sft_structure()
        self._unknown_keys()
        if out.errors:
            return None
        return InstructSample(messages=tuple(state.messages), tools=state.tools)

    def check_input(self) -> tuple[tuple[Message, ...], tuple[dict[str, Any], ...]] | None:
        state = self.state
        self._tools()
        for key in self.obj:
            if key not in _DPO_INPUT_KEYS:
                state.unknown.append(f"{_show(key, 30)} (input)")
        if not self._messages(self.obj["messages"]):
            return None
        if state.roles_ok:
            self._input_structure()
        return tuple(state.messages), state.tools

    # ----------------------------------------------------------------- tools

    def _tools(self) -> None:
        obj, out, state = self.obj, self.out, self.state
        parallel = obj.get("parallel_tool_calls")
        if parallel is not None and not isinstance(parallel, bool):
            out.add(
                "parallel_tool_calls_not_bool",
                f"'{self.where}parallel_tool_calls' is a JSON {_json_type(parallel)}: "
                f"{_show(parallel)}",
                "Give true or false, or leave it out.",
            )
        elif isinstance(parallel, bool):
            state.parallel = parallel
        raw = obj.get("tools")
        if raw is None:
            return
        if not isinstance(raw, list):
            out.add(
                "tools_not_list",
                f"'{self.where}tools' is a JSON {_json_type(raw)}, not a list: {_show(raw)}",
                _HINT_TOOL,
            )
            return
        for index, tool in enumerate(raw):
            self._tool(f"{self.where}tools[{index}]", tool)
        state.tools = tuple(t for t in raw if isinstance(t, dict))

    def _tool(self, label: str, tool: object) -> None:
        out = self.out
        if not isinstance(tool, dict):
            out.add(
                "tool_not_object",
                f"{label} is a JSON {_json_type(tool)}, not an object",
                _HINT_TOOL,
            )
            return
        if tool.get("type") != "function":
            out.add(
                "tool_call_type",
                f'{label} has type {_show(tool.get("type"))}, not "function"',
                _HINT_TOOL,
            )
        function = tool_function(out, label, tool, _HINT_TOOL)
        if function is None:
            return
        if "name" not in function:
            out.add("openai_function_missing_name", f"{label}.function has no 'name'", _HINT_TOOL)
        else:
            declare_function(out, label, function["name"], self.state.declared)
        description = function.get("description")
        if description is not None and not isinstance(description, str):
            out.add(
                "description_not_string",
                f"{label}.function description is a JSON {_json_type(description)}",
                "Describe the function in a string.",
            )
        if "parameters" in function:
            check_parameters(
                out,
                label,
                function["parameters"],
                not_object_hint="Give a JSON schema object, or leave 'parameters' out.",
                schema_hint='Write a JSON schema, e.g. {"type": "object", "properties": {...}}.',
            )

    # ----------------------------------------------------------------- messages

    def _messages(self, raw: object) -> bool:
        if not isinstance(raw, list):
            self.out.add(
                "messages_not_list",
                f"'{self.where}messages' is a JSON {_json_type(raw)}, not a list: {_show(raw)}",
                'Give it as a list of {"role": ..., "content": ...} objects.',
            )
            return False
        for index, message in enumerate(raw):
            # DPO is text only: images are refused in its input as in its outputs.
            label = f"{self.where}message {index + 1}"
            self._message(label, message, text_only=bool(self.where))
        return True

    def _message(self, label: str, message: object, *, text_only: bool) -> Message | None:
        """Check one message; for chat messages also track its calls and answers."""
        out, state = self.out, self.state
        if not isinstance(message, dict):
            out.add(
                "message_not_object",
                f"{label} is a JSON {_json_type(message)}, not an object: {_show(message)}",
                'A message is {"role": "user", "content": "..."}.',
            )
            state.roles_ok = False
            return None
        role = self._role(label, message)
        if role is None:
            return None
        label = f"{label} ({role})"
        for key in message:
            if key not in _MESSAGE_KEYS[role]:
                if key == "weight":
                    out.add(
                        "weight_not_assistant",
                        f"{label} has a 'weight': only assistant turns take one",
                        "Remove it: OpenAI trains on assistant turns only (weight 0 or 1).",
                    )
                else:
                    state.unknown.append(f"{_show(key, 30)} ({label})")
        calls_raw = message.get("tool_calls") if role == "assistant" else None
        has_calls = calls_raw is not None or (
            role == "assistant" and message.get("function_call") is not None
        )
        content = self._content(label, role, message, has_calls, text_only=text_only)
        weight = self._weight(label, message) if role == "assistant" else None
        calls: tuple[ToolCall, ...] = ()
        if calls_raw is not None:
            calls = self._calls(label, calls_raw)
        tool_call_id = self._answer(label, message) if role == "tool" else None
        name = message.get("name")
        made = Message(
            cast(Role, role),
            content,
            calls,
            tool_call_id,
            weight,
            name if isinstance(name, str) else None,
        )
        state.messages.append(made)
        return made

    def _role(self, label: str, message: dict[str, Any]) -> str | None:
        if "role" not in message:
            self.out.add("missing_role", f"{label} has no 'role'", _HINT_ROLE)
            self.state.roles_ok = False
            return None
        role = message["role"]
        if isinstance(role, str) and role in ROLES:
            return role
        self.state.roles_ok = False
        hint = _HINT_ROLE
        if role == "function":
            hint = "The 'function' role is deprecated: answer tool calls with 'tool' messages."
        elif isinstance(role, str) and role.strip().lower() in ROLES:
            hint = f"Roles are lowercase: use {role.strip().lower()!r}."
        elif isinstance(role, str) and role.strip().lower() in _ROLE_HINTS:
            hint = f"Use {_ROLE_HINTS[role.strip().lower()]!r} for {role!r} turns."
        self.out.add("openai_unknown_role", f"{label} has role {_show(role)}", hint)
        return None

    def _content(
        self,
        label: str,
        role: str,
        message: dict[str, Any],
        has_calls: bool,
        *,
        text_only: bool,
    ) -> str | tuple[str, ...] | None:
        out = self.out
        content = message.get("content")
        if content is None:
            if role == "assistant" and (has_calls or message.get("refusal") is not None):
                return None
            out.add(
                "missing_content",
                f"{label} has no content" + (" and no tool calls" if role == "assistant" else ""),
                "Give every message a 'content' string.",
            )
            return None
        if isinstance(content, str):
            if role == "assistant" and not content.strip() and not has_calls:
                out.add(
                    "empty_assistant",
                    f"{label} has empty content and no tool calls",
                    "Write the answer, or remove the turn.",
                )
            return content
        if isinstance(content, list):
            return self._parts(label, role, content, text_only=text_only)
        out.add(
            "openai_invalid_content",
            f"{label} content is a JSON {_json_type(content)}: {_show(content)}",
            'Give the content as a string, or a list of {"type": "text", "text": ...} parts.',
        )
        return None

    def _parts(
        self, label: str, role: str, parts: list[Any], *, text_only: bool
    ) -> tuple[str, ...] | None:
        texts: list[str] = []
        images = role == "user" and not text_only
        for index, part in enumerate(parts, start=1):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif images and kind == "image_url" and isinstance(part.get("image_url"), dict):
                continue  # an image: not text, so not token-counted (see docs/openai.md)
            else:
                allowed = "text or image_url" if images else "text"
                why = " (DPO data is text only)" if text_only and kind == "image_url" else ""
                self.out.add(
                    "openai_invalid_part",
                    f"{label} content part {index} is not a {allowed} part{why}: {_show(part)}",
                    'A text part is {"type": "text", "text": "..."}.',
                )
                return None
        return tuple(texts)

    def _weight(self, label: str, message: dict[str, Any]) -> float | None:
        if "weight" not in message:
            return None
        weight = message["weight"]
        if isinstance(weight, bool) or weight not in (0, 1):
            self.out.add(
                "invalid_weight",
                f"{label} has weight {_show(weight)}; OpenAI takes 0 or 1",
                "Use 1 to train on the turn, 0 to show it without training (or leave it out).",
            )
            return None
        return float(weight)

    def _calls(self, label: str, raw: object) -> tuple[ToolCall, ...]:
        out, state = self.out, self.state
        if not isinstance(raw, list):
            out.add(
                "tool_calls_not_list",
                f"{label} tool_calls is a JSON {_json_type(raw)}, not a list: {_show(raw)}",
                _HINT_CALL,
            )
            return ()
        if len(raw) > 1 and state.parallel is False:
            out.add(
                "parallel_calls_disabled",
                f"{label} makes {len(raw)} tool calls while parallel_tool_calls is false",
                "Set parallel_tool_calls to true, or make one call per turn.",
            )
        calls: list[ToolCall] = []
        for position, call in enumerate(raw, start=1):
            made = self._call(f"{label} tool call {position}", call)
            if made is not None:
                calls.append(made)
        return tuple(calls)

    def _call(self, label: str, raw: object) -> ToolCall | None:
        out, state = self.out, self.state
        call = call_object(out, label, raw, _HINT_CALL)
        if call is None:
            return None
        if "type" in call and call["type"] != "function":
            out.add(
                "tool_call_type",
                f'{label} has type {_show(call["type"])}, not "function"',
                _HINT_CALL,
            )
        call_id = call.get("id")
        if "id" in call:
            if not _id_ok(call_id):
                out.add(
                    "openai_invalid_call_id",
                    f"{label} id {_show(call_id)} is not a non-empty string",
                    _HINT_CALL,
                )
            elif call_id in state.call_ids:
                out.add(
                    "duplicate_call_id",
                    f"{label} reuses the id {_show(call_id)} of an earlier call",
                    "Give each call of an example its own id: tool messages answer by id.",
                )
            else:
                state.call_ids.add(call_id)
                state.open_calls[call_id] = len(state.messages) + 1
        return check_call_function(
            out,
            label,
            call,
            call_id,
            hint=_HINT_CALL,
            declared=state.declared,
            double_hint="Decode it once, so the model learns to write the object.",
        )

    def _answer(self, label: str, message: dict[str, Any]) -> str | None:
        """A tool message: which call it answers (the call must be open)."""
        out, state = self.out, self.state
        call_id = message.get("tool_call_id")
        if call_id is None:
            out.add(
                "missing_tool_call_id",
                f"{label} has no 'tool_call_id'",
                "Give the id of the tool call this message answers.",
            )
            return None
        if not _id_ok(call_id):
            out.add(
                "openai_invalid_call_id",
                f"{label} tool_call_id {_show(call_id)} is not a non-empty string",
                "Give the id of the tool call this message answers.",
            )
            return None
        if state.open_calls.pop(call_id, None) is None:
            again = " (it was answered already)" if call_id in state.call_ids else ""
            out.add(
                "unknown_tool_call_id",
                f"{label} answers {_show(call_id)}, which no earlier assistant turn calls{again}",
                "A tool message answers one call of the assistant turn before it, by its id.",
            )
        return call_id

    # ----------------------------------------------------------------- structure

    def _unanswered(self, before: int | None) -> None:
        """Calls still open when a non-tool message (or the end, for the input) comes."""
        state = self.state
        if not state.open_calls:
            return
        ids = ", ".join(_show(i, 30) for i in list(state.open_calls)[:_MAX_LISTED])
        where = f"before message {before}" if before is not None else "at the end of the input"
        self.out.add(
            "unanswered_tool_call",
            f"{len(state.open_calls)} tool call(s) left unanswered {where}: {ids}",
            "Answer each call with a tool message (its tool_call_id) before the next turn.",
        )
        state.open_calls.clear()

    def _walk_answers(self, *, last_may_call: bool) -> None:
        """Re-walk the order: each turn's calls must be answered before a non-tool message."""
        open_ids: dict[str, int] = {}
        messages = self.state.messages
        for number, message in enumerate(messages, start=1):
            if message.role == "tool":
                if message.tool_call_id is not None:
                    open_ids.pop(message.tool_call_id, None)
                continue
            if open_ids:
                self.state.open_calls = open_ids
                self._unanswered(number)
                open_ids = {}
            for call in message.tool_calls:
                open_ids[call.id] = number
        if open_ids and not (last_may_call and messages and messages[-1].tool_calls):
            self.state.open_calls = open_ids
            self._unanswered(None)

    def _sft_structure(self) -> None:
        out, messages = self.out, self.state.messages
        if not messages:
            out.add(
                "no_messages",
                "no messages; an example needs a user turn and the assistant's answer",
                "Add a user message and the assistant's answer.",
            )
            return
        self._walk_answers(last_may_call=True)
        last = messages[-1]
        if last.role != "assistant":
            out.add(
                "last_not_assistant",
                f"the last message is {a_or_an(last.role)} message (message {len(messages)})",
                "End every example with the assistant turn to train on.",
            )
        assistants = [m for m in messages if m.role == "assistant"]
        if assistants and all(m.weight == 0 for m in assistants):
            out.add(
                "no_trained_assistant",
                "every assistant turn has weight 0: nothing to train on",
                "Give at least the last assistant turn weight 1 (or leave 'weight' out).",
            )
        elif last.role == "assistant" and last.weight == 0:
            out.add(
                "last_assistant_untrained",
                "the example ends in an assistant turn of weight 0",
                "Give the last assistant turn weight 1 (or leave 'weight' out), or drop it.",
            )

    def _input_structure(self) -> None:
        out, messages = self.out, self.state.messages
        if not messages:
            out.add(
                "no_messages",
                "'input.messages' is empty; the prompt needs at least a user message",
                "Put the conversation up to the answer in input.messages.",
            )
            return
        self._walk_answers(last_may_call=False)
        if messages[-1].role == "assistant":
            out.add(
                "dpo_input_ends_with_assistant",
                f"input.messages ends with an assistant message (message {len(messages)})",
                "The answers to compare go in preferred_output and non_preferred_output.",
            )

    def _unknown_keys(self) -> None:
        unknown = self.state.unknown
        if not unknown:
            return
        listed = "; ".join(unknown[:_MAX_LISTED])
        more = f"; and {len(unknown) - _MAX_LISTED} more" if len(unknown) > _MAX_LISTED else ""
        self.out.add(
            "unknown_key",
            f"keys OpenAI does not read: {listed}{more}",
            "Remove them, or keep them knowing they are not used for training.",
        )


# --------------------------------------------------------------------------- DPO


class _Preference:
    """Checks one DPO line."""

    def __init__(self, obj: dict[str, Any], out: _Out) -> None:
        self.obj = obj
        self.out = out

    def check(self) -> PreferenceSample | None:
        obj, out = self.obj, self.out
        unknown = [f"{_show(k, 30)} (top level)" for k in obj if k not in _DPO_KEYS]
        chat: _Chat | None = None
        prompt: tuple[tuple[Message, ...], tuple[dict[str, Any], ...]] | None = None
        source = obj.get("input")
        if not isinstance(source, dict) or not isinstance(source.get("messages"), list):
            what = (
                "no 'input'"
                if source is None
                else f"'input' is {a_or_an(_json_type(source))}"
                if not isinstance(source, dict)
                else "'input' has no 'messages' list"
            )
            out.add(
                "dpo_missing_key",
                f"{what}; a DPO line's prompt is input.messages",
                'Write {"input": {"messages": [...]}, "preferred_output": [...], '
                '"non_preferred_output": [...]}.',
            )
        else:
            chat = _Chat(source, out, where="input.")
            prompt = chat.check_input()
            unknown.extend(chat.state.unknown)
        declared = chat.state.declared if chat is not None else set()
        preferred = self._output("preferred_output", declared)
        non_preferred = self._output("non_preferred_output", declared)
        if unknown:
            listed = "; ".join(unknown[:_MAX_LISTED])
            out.add(
                "unknown_key",
                f"keys OpenAI does not read: {listed}",
                "Remove them, or keep them knowing they are not used for training.",
            )
        if out.errors or prompt is None or preferred is None or non_preferred is None:
            return None
        if _same(preferred, non_preferred):
            out.add(
                "dpo_same_outputs",
                "preferred_output and non_preferred_output are the same answer",
                "A pair teaches nothing when both answers are equal: drop it or fix one side.",
            )
        messages, tools = prompt
        return PreferenceSample(
            messages=messages, tools=tools, preferred=preferred, non_preferred=non_preferred
        )

    def _output(self, key: str, declared: set[str]) -> tuple[Message, ...] | None:
        """One side of the pair: a non-empty list of assistant messages (usually one)."""
        out = self.out
        raw = self.obj.get(key)
        if not isinstance(raw, list):
            what = "missing" if raw is None else f"a JSON {_json_type(raw)}"
            out.add(
                "dpo_missing_key",
                f"'{key}' is {what}; it must be a list of assistant messages",
                f'Write "{key}": [{{"role": "assistant", "content": "..."}}].',
            )
            return None
        if not raw:
            out.add(
                "dpo_output_shape",
                f"'{key}' is empty; it needs the assistant's answer",
                f'Write "{key}": [{{"role": "assistant", "content": "..."}}].',
            )
            return None
        # Each output is checked on its own (its own calls), with the input's declared tools.
        chat = _Chat({}, out, where="")
        chat.state.declared = set(declared)
        messages: list[Message] = []
        for index, item in enumerate(raw):
            message = chat._message(f"{key}[{index}]", item, text_only=True)
            if message is None:
                return None
            if message.role != "assistant":
                out.add(
                    "dpo_output_shape",
                    f"'{key}[{index}]' is {a_or_an(message.role)} message, not an assistant "
                    "message",
                    'Write the answer as {"role": "assistant", "content": "..."}.',
                )
                return None
            if message.weight is not None:
                out.add(
                    "weight_not_assistant",
                    f"'{key}[{index}]' has a 'weight': DPO outputs take none",
                    "Remove it: both outputs of a pair are compared as a whole.",
                )
            messages.append(message)
        if chat.state.unknown:
            out.add(
                "unknown_key",
                f"keys OpenAI does not read: {'; '.join(chat.state.unknown[:_MAX_LISTED])}",
                "Remove them, or keep them knowing they are not used for training.",
            )
        return tuple(messages)


def _same(a: tuple[Message, ...], b: tuple[Message, ...]) -> bool:
    def shape(messages: tuple[Message, ...]) -> list[Any]:
        return [(m.text.strip(), [(c.name, c.arguments) for c in m.tool_calls]) for m in messages]

    return shape(a) == shape(b)


def _id_ok(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())
