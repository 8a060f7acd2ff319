"""The finding codes of OpenAI's data rules where they differ from Mistral's.

Where a rule is the same on both platforms the OpenAI checker (:mod:`tuner.datasets.openai_rules`)
reports it under the existing code (``missing_role``, ``invalid_weight``, ``tool_calls_not_list``,
...); the codes here are the rules OpenAI has and Mistral does not, or has differently. They join
:data:`tuner.datasets.rules.CODES`, the one table ``docs/data.md`` is generated from. Kept apart
from the checker so that ``rules`` can import them without importing the checker (which imports
``rules``).
"""

from __future__ import annotations

from tuner.datasets.findings import Category, Severity

E, W = Severity.ERROR, Severity.WARNING
C = Category

OPENAI_CODES: dict[str, tuple[Category, Severity, str]] = {
    "openai_unknown_role": (
        C.ROLE,
        E,
        "OpenAI: a role other than system, developer, user, assistant or tool.",
    ),
    "openai_invalid_content": (
        C.SCHEMA,
        E,
        "OpenAI: content that is neither a string nor a list of content parts.",
    ),
    "openai_invalid_part": (
        C.SCHEMA,
        E,
        "OpenAI: a content part that is not text (or, on user messages of SFT data, an image).",
    ),
    "weight_not_assistant": (
        C.WEIGHT,
        E,
        "OpenAI: a 'weight' on a message that is not an assistant message.",
    ),
    "openai_invalid_call_id": (
        C.TOOL,
        E,
        "OpenAI: a tool call id (or a tool message's tool_call_id) that is not a non-empty string.",
    ),
    "duplicate_call_id": (C.TOOL, E, "OpenAI: two tool calls of one example share an id."),
    "tool_call_type": (C.TOOL, E, "OpenAI: a tool call or tool whose 'type' is not 'function'."),
    "openai_function_missing_name": (C.TOOL, E, "OpenAI: a tool's function has no 'name'."),
    "unknown_tool_call_id": (
        C.TOOL,
        E,
        "OpenAI: a tool message whose tool_call_id answers no call of an earlier assistant turn.",
    ),
    "unanswered_tool_call": (
        C.TOOL,
        E,
        "OpenAI: a tool call left unanswered before the next turn (only the last turn may "
        "end in calls).",
    ),
    "parallel_tool_calls_not_bool": (C.TOOL, E, "OpenAI: 'parallel_tool_calls' is not a boolean."),
    "parallel_calls_disabled": (
        C.TOOL,
        W,
        "OpenAI: an assistant turn makes several tool calls while 'parallel_tool_calls' is false.",
    ),
    "no_trained_assistant": (
        C.STRUCTURE,
        E,
        "OpenAI: no assistant turn with weight 1 (nothing to train on).",
    ),
    "last_assistant_untrained": (
        C.STRUCTURE,
        E,
        "OpenAI: the example ends in an assistant turn of weight 0.",
    ),
    "openai_not_chat": (
        C.SCHEMA,
        E,
        "OpenAI: a line that is neither chat data ('messages') nor DPO data ('input', "
        "'preferred_output', 'non_preferred_output').",
    ),
    "dpo_missing_key": (
        C.SCHEMA,
        E,
        "OpenAI DPO: 'input', 'input.messages', 'preferred_output' or 'non_preferred_output' is "
        "missing or of the wrong type.",
    ),
    "dpo_output_shape": (
        C.STRUCTURE,
        E,
        "OpenAI DPO: an output that is empty or holds a message that is not an assistant message.",
    ),
    "dpo_input_ends_with_assistant": (
        C.STRUCTURE,
        E,
        "OpenAI DPO: the input ends with an assistant message (the answer belongs in the outputs).",
    ),
    "dpo_same_outputs": (
        C.CONTENT,
        W,
        "OpenAI DPO: the preferred and non-preferred outputs are the same.",
    ),
    "too_few_examples": (
        C.SIZE,
        E,
        "OpenAI: fewer than 10 valid examples in a training file (the job would fail).",
    ),
    "over_training_context": (
        C.LENGTH,
        W,
        "OpenAI: an example with more tokens (estimated) than the model's training context.",
    ),
}

# ``tuner data convert --provider openai``'s own skip reasons; they join
# :data:`tuner.datasets.convert.CONVERT_CODES`.
OPENAI_CONVERT_CODES: dict[str, str] = {
    "convert_dpo_shape": "OpenAI DPO: a pair whose sides are not assistant messages only after "
    "a shared prompt.",
    "convert_other_method": "OpenAI: a pair in SFT output, or a plain conversation in DPO output "
    "(one file holds one method).",
}
