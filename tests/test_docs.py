"""The repository stands on its own: its reference lives in docs/, is current, and is what the
code cites.

- The generated tables of docs/data.md (finding codes, base models) equal the code's tables, and
  every ``convert_*`` code the package raises is in ``CONVERT_CODES``, under one category.
- No file cites the notes the project was first written from, which are not in the repository.
- Every link to ``docs/…`` (from the README, the docs themselves, docstrings and comments) names
  a page and a heading that exist.
"""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuner.datasets.convert import CONVERT_CODES, RecordError

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CODE_DIRS = ("tuner", "tests", "examples", "benchmarks", "scripts")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".sh", ".cfg", ".tcss"}

# The outside notes' file names, built from parts so that this file does not cite them itself.
OUTSIDE_NOTES = tuple(f"{stem}.md" for stem in ("mistral-api", "training-data", "peers"))


def _files(suffixes: set[str]) -> Iterator[Path]:
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in suffixes and "__pycache__" not in path.parts:
                yield path
    yield ROOT / "README.md"
    yield from sorted(DOCS.glob("*.md"))


# --------------------------------------------------------------------------- generated tables


def test_generated_tables_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "finding_codes.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _convert_codes_raised() -> dict[str, set[str]]:
    """Every ``convert_*`` string in the package, with the categories it is raised with where a
    call site says (``RecordError(code=…, category=…)``, ``UnreadableRow(Category.X, "…")``)."""
    defaults = inspect.signature(RecordError).parameters
    default_code = defaults["code"].default
    default_category = defaults["category"].default.name
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "tuner").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        listed = _table_keys(tree)
        for node in ast.walk(tree):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and id(node) not in listed and re.fullmatch(r"convert_[a-z_]+", node.value):
                found.setdefault(node.value, set())
            if isinstance(node, ast.Call):
                site = _call_site(node, default_code, default_category)
                if site is not None:
                    found.setdefault(site[0], set()).add(site[1])
    return found


def _table_keys(tree: ast.Module) -> set[int]:
    """The key nodes of the ``CONVERT_CODES`` table itself (a listing is not a use)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            named = any(isinstance(t, ast.Name) and t.id == "CONVERT_CODES" for t in targets)
            if named and isinstance(node.value, ast.Dict):
                return {id(key) for key in node.value.keys if key is not None}
    return set()


def _call_site(call: ast.Call, default_code: str, default_category: str) -> tuple[str, str] | None:
    """``(code, category)`` of a ``RecordError`` or ``UnreadableRow`` call; None for others."""
    name = call.func.id if isinstance(call.func, ast.Name) else None
    if name == "RecordError":
        keywords = {k.arg: k.value for k in call.keywords}
        code = keywords.get("code")
        category = keywords.get("category")
        return (
            code.value if isinstance(code, ast.Constant) else default_code,
            category.attr if isinstance(category, ast.Attribute) else default_category,
        )
    if name == "UnreadableRow" and len(call.args) >= 2:
        category, code = call.args[0], call.args[1]
        if isinstance(category, ast.Attribute) and isinstance(code, ast.Constant):
            return str(code.value), category.attr
    return None


def test_every_convert_code_is_listed() -> None:
    raised = _convert_codes_raised()
    assert set(raised) == set(CONVERT_CODES), (
        "list every convert_* code in tuner.datasets.convert.CONVERT_CODES (and nothing else): "
        f"missing {sorted(set(raised) - set(CONVERT_CODES))}, "
        f"stale {sorted(set(CONVERT_CODES) - set(raised))}"
    )


def test_each_convert_code_has_one_category() -> None:
    # A code means one kind of problem: raised under two categories, it would mean two.
    mixed = {code: cats for code, cats in _convert_codes_raised().items() if len(cats) > 1}
    assert not mixed


def test_the_code_table_lists_the_convert_codes() -> None:
    text = (DOCS / "data.md").read_text(encoding="utf-8")
    for code in CONVERT_CODES:
        assert f"| `{code}` |" in text


# --------------------------------------------------------------------------- citations


def test_no_file_cites_notes_outside_the_repository() -> None:
    cited = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _files(TEXT_SUFFIXES)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(name in line for name in OUTSIDE_NOTES)
    ]
    assert not cited, "cite docs/ instead:\n" + "\n".join(cited)


# --------------------------------------------------------------------------- links

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
_CODE_LINK = re.compile(r"\bdocs/([A-Za-z0-9_.-]+\.md)(#[A-Za-z0-9_-]+)?")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match is None:
            continue
        slug = _slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def _markdown_links(path: Path) -> Iterator[tuple[str, Path, str | None]]:
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        if fenced:
            continue
        for target in _MD_LINK.findall(line):
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            yield target, resolved, anchor or None


def _code_links(path: Path) -> Iterator[tuple[str, Path, str | None]]:
    for match in _CODE_LINK.finditer(path.read_text(encoding="utf-8")):
        anchor = match.group(2)
        yield match.group(0), DOCS / match.group(1), anchor[1:] if anchor else None


def _all_links() -> Iterator[tuple[Path, str, Path, str | None]]:
    for path in _files(TEXT_SUFFIXES):
        if path.suffix == ".md":
            for target, resolved, anchor in _markdown_links(path):
                yield path, target, resolved, anchor
        if path.suffix != ".md" or path.parent != DOCS:
            for target, resolved, anchor in _code_links(path):
                yield path, target, resolved, anchor


LINKS = list(_all_links())


def test_links_to_docs_are_found() -> None:
    # The README, the index and the code all point into docs/: a scan that finds none is broken.
    sources = {source.relative_to(ROOT).parts[0] for source, _, target, _ in LINKS}
    assert {"README.md", "docs", "tuner"} <= sources
    cited = {target.name for _, _, target, _ in LINKS if target.parent == DOCS}
    assert {"api.md", "data.md", "README.md"} <= cited


@pytest.mark.parametrize(
    ("source", "target", "resolved", "anchor"),
    LINKS,
    ids=[f"{s.relative_to(ROOT)}->{t}" for s, t, _, _ in LINKS],
)
def test_link_resolves(source: Path, target: str, resolved: Path, anchor: str | None) -> None:
    assert resolved.exists(), f"{source.relative_to(ROOT)} links to a missing {target}"
    if anchor is not None and resolved.suffix == ".md":
        assert anchor in anchors(resolved), (
            f"{source.relative_to(ROOT)} links to {target}: no such heading in {resolved.name}"
        )


def test_the_index_lists_every_page() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for page in sorted(DOCS.glob("*.md")):
        if page.name != "README.md":
            assert f"]({page.name})" in index, f"docs/README.md does not list {page.name}"
    assert "](docs/README.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
