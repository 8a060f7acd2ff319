"""tuner.textsafe.inert: no control character survives, everything else is untouched."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from tuner.textsafe import inert


def _controls(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) == "Cc" or "\u202a" <= c <= "\u202e"]


def test_escape_sequences_are_shown_escaped() -> None:
    assert inert("a\u001b[2Jb") == "a\\x1b[2Jb"
    assert inert("\u001b]8;;http://e/\u001b\\x\u001b]8;;\u001b\\") == (
        "\\x1b]8;;http://e/\\x1b\\x\\x1b]8;;\\x1b\\"
    )
    assert inert("\u009b31m") == "\\u009b31m"
    assert inert("bell\u0007 back\u0008 cr\r del\u007f") == "bell\\x07 back\\x08 cr\\r del\\x7f"
    assert inert("abc\u202edcba") == "abc\\u202edcba"


def test_newlines_stay_only_where_asked() -> None:
    assert inert("one\ntwo\tthree") == "one\\ntwo\\tthree"
    assert inert("one\ntwo\tthree\r\u001b", multiline=True) == "one\ntwo\tthree\\r\\x1b"


def test_other_values_are_shown_as_text() -> None:
    assert inert(12) == "12"
    assert inert(None) == "None"


@given(st.text())
def test_nothing_a_terminal_acts_on_survives(text: str) -> None:
    shown = inert(text)
    assert _controls(shown) == []
    assert inert(shown) == shown  # inert twice is inert once
    assert all(c in "\n\t" for c in _controls(inert(text, multiline=True)))


@given(st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cf", "Zl", "Zp"])))
def test_printable_text_is_unchanged(text: str) -> None:
    assert inert(text) == text
