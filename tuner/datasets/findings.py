"""Findings: what the validator (and the converters and fixers) report about input data.

Every finding names the file, the 1-based physical line (``None`` only for file-level findings),
a severity, a category (``docs/data.md``) and a stable snake_case ``code``. Codes are part of the
public interface (``--json`` output, ``docs/data.md#finding-codes``): never rename one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Category(StrEnum):
    ENCODING = "encoding"
    JSON = "json"
    NOT_OBJECT = "not_object"
    SCHEMA = "schema"
    ROLE = "role"
    STRUCTURE = "structure"
    TOOL = "tool"
    WEIGHT = "weight"
    PRETRAIN = "pretrain"
    SIZE = "size"
    DUPLICATE = "duplicate"
    LENGTH = "length"
    CONTENT = "content"
    SPECIAL_TOKEN = "special_token"
    OVERLAP = "overlap"


EXCERPT_CHARS = 80


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A short, single-line rendering of ``value`` for messages (quoted values are shortened)."""
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def a_or_an(word: str) -> str:
    """``word`` after its indefinite article, for messages: "an assistant", "a user", "an array".

    Only the words messages put here (roles, JSON type names) need to be right: a leading "u"
    takes "a" (as in "a user").
    """
    return f"{'an' if word[:1].lower() in ('a', 'e', 'i', 'o') else 'a'} {word}"


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int | None
    severity: Severity
    category: Category
    code: str
    message: str
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["category"] = self.category.value
        return data

    def promoted(self) -> Finding:
        """This finding as an error (``--strict`` turns warnings into errors)."""
        if self.is_error:
            return self
        return Finding(
            self.path, self.line, Severity.ERROR, self.category, self.code, self.message, self.hint
        )
