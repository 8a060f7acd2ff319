"""Keep the generated tables of ``docs/data.md`` equal to the code's own tables.

    python scripts/finding_codes.py          # rewrite the tables in docs/data.md
    python scripts/finding_codes.py --check  # exit 1 when docs/data.md is out of date (tested)

Finding codes sit between ``<!-- codes:start -->`` and ``<!-- codes:end -->``; they live in
``tuner.datasets.rules.CODES`` (validator), ``tuner.datasets.convert.CONVERT_CODES``
(records ``convert`` skips) and ``tuner.datasets.fix.CHANGE_CODES`` (changes ``fix`` makes). The
base models and their tokenizers sit between ``<!-- models:start -->`` and ``<!-- models:end -->``
and come from ``tuner.datasets.tokenizers.MODELS``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tuner.datasets.convert import CONVERT_CODES
from tuner.datasets.fix import CHANGE_CODES
from tuner.datasets.rules import iter_codes
from tuner.datasets.tokenizers import MODELS

DOC = Path(__file__).resolve().parent.parent / "docs" / "data.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_codes() -> str:
    lines = [
        "`tuner data validate` (and every command that validates: `stats`, `fix`, `split`,",
        "`dedupe`, the output check of `convert`, the sandbox's upload check):",
        "",
        "| code | category | severity | when |",
        "|---|---|---|---|",
    ]
    for code, category, severity, description in iter_codes():
        lines.append(f"| `{code}` | {category.value} | {severity.value} | {_cell(description)} |")
    lines += [
        "",
        "`tuner data convert` reports under these codes each record it skips (listed with its",
        "source, row and reason: nothing is dropped silently), each field it refuses without an",
        "option, and each source field it leaves unused (a warning):",
        "",
        "| code | when |",
        "|---|---|",
    ]
    for code, description in CONVERT_CODES.items():
        lines.append(f"| `{code}` | {_cell(description)} |")
    lines += ["", "`tuner data fix` reports each change it makes under one of these codes:", ""]
    lines += ["| change | what it does |", "|---|---|"]
    for code, description in CHANGE_CODES.items():
        lines.append(f"| `{code}` | {_cell(description)} |")
    return "\n".join(lines)


def render_models() -> str:
    lines = [
        "| base model | also accepted as | tokenizer | context (tokens) | fine-tunable for text |",
        "|---|---|---|---|---|",
    ]
    for info in MODELS:
        aliases = ", ".join(f"`{alias}`" for alias in info.aliases) or "–"
        tunable = "yes" if info.fine_tunable else "no"
        size = f"{info.context_length:,}"
        lines.append(f"| `{info.name}` | {aliases} | {info.tokenizer} | {size} | {tunable} |")
    return "\n".join(lines)


SECTIONS = {"codes": render_codes, "models": render_models}


def _replaced(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    if not rest:
        raise SystemExit(f"{DOC}: no {start} marker")
    return f"{head}{start}\n{body}\n{end}{tail}"


def updated(text: str) -> str:
    for name, render in SECTIONS.items():
        text = _replaced(text, name, render())
    return text


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    new = updated(text)
    if "--check" in argv:
        if new != text:
            print("docs/data.md is out of date: run python scripts/finding_codes.py")
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
