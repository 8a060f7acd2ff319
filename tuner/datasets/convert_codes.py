"""The codes under which ``tuner data convert`` reports a record it could not convert.

Each skipped record is an error finding (``tuner.datasets.convert``, ``tuner.datasets.formats``)
with one of these codes. Like the validator's :data:`tuner.datasets.rules.CODES`, they are part of
the ``--json`` interface: never rename one. This table is what ``docs/data.md`` lists
(``scripts/finding_codes.py``); a test checks that every ``convert_*`` code the package raises
is here, with the category it is raised with.
"""

from __future__ import annotations

from typing import Final

from tuner.datasets.findings import Category

C = Category

# code -> (category, description).
CONVERT_CODES: Final[dict[str, tuple[Category, str]]] = {
    "convert_bad_encoding": (
        C.ENCODING,
        "A JSONL line that is not UTF-8, or a value JSON cannot hold (lone surrogate, decimal).",
    ),
    "convert_bad_json": (
        C.JSON,
        "A JSONL line, or a cell meant to hold JSON (tools, a tool call), that is not valid JSON.",
    ),
    "convert_not_object": (C.NOT_OBJECT, "A JSONL line or JSON array item that is not an object."),
    "convert_bad_csv_row": (C.SCHEMA, "A CSV row with more or fewer fields than the header."),
    "convert_unknown_shape": (C.SCHEMA, "The record fits no known conversation shape."),
    "convert_ambiguous_shape": (
        C.SCHEMA,
        "The record fits several shapes; --from or a mapping file decides.",
    ),
    "convert_missing_column": (C.SCHEMA, "A column the shape or the mapping needs is missing."),
    "convert_missing_key": (C.SCHEMA, "A turn without its role, or without its content."),
    "convert_unknown_role": (C.ROLE, "A role name that is neither known nor mapped."),
    "convert_unsupported_content": (
        C.SCHEMA,
        "A content chunk that is not text (an image, audio, ...).",
    ),
    "convert_bad_type": (
        C.SCHEMA,
        "A value of the wrong type (turns that are not a list, content that is not text, ...).",
    ),
    "convert_bad_tool_call": (C.TOOL, "A malformed tool call, or its arguments not an object."),
    "convert_bad_tools": (C.TOOL, "The tools value is not a list of function schemas."),
    "convert_empty": (C.SCHEMA, "Nothing to train on: an empty prompt or answer, or no turns."),
    "convert_orphan_tool_result": (C.STRUCTURE, "A tool result that answers no tool call."),
    "convert_unanswered_tool_call": (
        C.STRUCTURE,
        "Tool calls not answered before the conversation goes on.",
    ),
    "convert_two_system_prompts": (
        C.STRUCTURE,
        "A system column and a different system turn in one record.",
    ),
}
