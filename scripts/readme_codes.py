"""Keep the README's table of finding codes equal to the validator's own table.

    python scripts/readme_codes.py          # rewrite the section in README.md
    python scripts/readme_codes.py --check  # exit 1 when README.md is out of date (a test runs it)

The table sits between ``<!-- codes:start -->`` and ``<!-- codes:end -->``. The codes live in
``tuner.datasets.rules.CODES`` (validator) and ``tuner.datasets.fix.CHANGE_CODES`` (fixer) and
``tuner.datasets.convert.CONVERT_CODES`` (converter).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tuner.datasets.convert import CONVERT_CODES
from tuner.datasets.fix import CHANGE_CODES
from tuner.datasets.rules import iter_codes

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- codes:start -->", "<!-- codes:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    lines = [
        "| code | category | severity | when |",
        "|---|---|---|---|",
    ]
    for code, category, severity, description in iter_codes():
        lines.append(f"| `{code}` | {category.value} | {severity.value} | {_cell(description)} |")
    lines += ["", "`tuner data fix` reports each change it makes under one of these codes:", ""]
    lines += ["| change | what it does |", "|---|---|"]
    for code, description in CHANGE_CODES.items():
        lines.append(f"| `{code}` | {_cell(description)} |")
    lines += ["", "`tuner data convert` reports records it skips or refuses under these codes:", ""]
    lines += ["| code | when |", "|---|---|"]
    for code, description in CONVERT_CODES.items():
        lines.append(f"| `{code}` | {_cell(description)} |")
    return "\n".join(lines)


def updated(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    if not rest:
        raise SystemExit(f"{README}: no {START} marker")
    return f"{head}{START}\n{render()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    new = updated(text)
    if "--check" in argv:
        if new != text:
            print("README.md's code table is out of date: run python scripts/readme_codes.py")
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
