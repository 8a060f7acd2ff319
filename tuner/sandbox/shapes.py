"""Answers shaped by the request: forced or forbidden tool calls, JSON-schema outputs.

- ``tool_choice`` (docs/api.md): ``"none"`` forbids a tool call; ``"any"`` and
  ``"required"`` force one; ``{"type": "function", "function": {"name": ...}}`` forces a call of
  that function; ``"auto"`` (the default) lets the stand-in decide. A model answers with tool
  calls only when the request gives ``tools``.
- ``response_format`` ``{"type": "json_schema", "json_schema": {"schema": ...}}``: the answer is
  an object with the schema's required keys (and its other properties), values of the declared
  types, the reply's text in the first string property.

A forced call that the stand-in did not make is made up: the first declared tool (or the named
one) with stand-in values for its required parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from tuner.sandbox.standin import Reply, ToolCall, stable_id

JSON = dict[str, Any]
FORCING = ("any", "required")


def _tool_name(tool: Mapping[str, Any]) -> str | None:
    function = tool.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) else None


def _named(tool_choice: object) -> str | None:
    if isinstance(tool_choice, dict):
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        return name if isinstance(name, str) else None
    return None


def apply_tool_choice(
    reply: Reply, tools: Sequence[Mapping[str, Any]] | None, tool_choice: object, prompt: str
) -> Reply:
    """``reply`` with its tool calls kept, dropped or made up as ``tools``/``tool_choice`` ask."""
    declared = [name for tool in tools or [] if (name := _tool_name(tool)) is not None]
    if not declared or tool_choice == "none":
        return Reply(reply.content, ()) if reply.tool_calls else reply
    named = _named(tool_choice)
    calls = tuple(c for c in reply.tool_calls if c.name in declared)
    if named is not None:
        calls = tuple(c for c in calls if c.name == named)
    forced = tool_choice in FORCING or named is not None
    if calls or not forced:
        return Reply("" if calls else reply.content, calls)
    target = named if named in declared else declared[0]
    tool = next(t for t in tools or [] if _tool_name(t) == target)
    function = tool.get("function")
    parameters = function.get("parameters") if isinstance(function, dict) else None
    arguments = instance_of(parameters if isinstance(parameters, dict) else {}, prompt)
    encoded = orjson.dumps(arguments).decode()
    return Reply("", (ToolCall(stable_id(f"{target}:{encoded}"), target, encoded),))


def json_schema_of(response_format: Mapping[str, Any] | None) -> JSON | None:
    """The schema of a ``json_schema`` response format, if the request has one."""
    if not response_format or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    return schema if isinstance(schema, dict) else None


def instance_of(schema: Mapping[str, Any], text: str) -> Any:
    """A value that has the schema's type and, for an object, its required keys; ``text``
    goes into the first string it needs."""
    filled = [False]
    return _instance(schema, text, filled)


def _instance(schema: Mapping[str, Any], text: str, filled: list[bool]) -> Any:
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = [k for k in schema.get("required") or [] if isinstance(k, str)]
        keys = list(dict.fromkeys([*required, *properties]))
        values = {}
        for key in keys:
            sub = properties.get(key)
            values[key] = _instance(sub if isinstance(sub, dict) else {}, text, filled)
        return values
    if kind == "array":
        items = schema.get("items")
        count = max(int(schema.get("minItems") or 0), 1)
        return [_instance(items if isinstance(items, dict) else {}, text, filled)] * count
    if kind == "integer":
        return int(schema.get("minimum") or 0)
    if kind == "number":
        return float(schema.get("minimum") or 0)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    if filled[0]:
        return ""
    filled[0] = True
    return text
