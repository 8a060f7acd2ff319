"""Where every source field went in ``tuner data convert``, and the choices that decide it.

Nothing is lost in silence: each field (column, or key inside a turn) of a converted record is
*used* (it shaped the output), *dropped* (left out because an explicit option said so) or
*unused* (Mistral's format has no place for it; reported as a warning). A field whose loss would
change what gets trained (a KTO label, the rejected half of a preference pair, an image, a
reasoning chunk) is never merely unused: the conversion refuses it unless one of the
:class:`ConvertOptions` says what to do with it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

KtoPolicy = Literal["refuse", "keep-desirable"]
PreferencePolicy = Literal["refuse", "chosen"]
MediaPolicy = Literal["refuse", "drop"]
ReasoningPolicy = Literal["refuse", "drop", "untrained"]
PREFERENCE_POLICIES: tuple[str, ...] = get_args(PreferencePolicy)
REASONING_POLICIES: tuple[str, ...] = get_args(ReasoningPolicy)

# The CLI spells each choice as one option; messages name the option so a user can act on them.
KTO_OPTION = "--kto-keep-desirable"
PREFERENCE_OPTION = "--preference chosen"
MEDIA_OPTION = "--drop-media"
REASONING_OPTIONS = "--reasoning drop (leave it out) or --reasoning untrained"


@dataclass(frozen=True, slots=True)
class ConvertOptions:
    """What to do with fields Mistral fine-tuning cannot train on; the default refuses them.

    - ``kto``: ``keep-desirable`` converts records labelled true and skips (and reports) those
      labelled false.
    - ``preference``: ``chosen`` builds SFT data from the chosen answers of preference pairs.
    - ``media``: ``drop`` leaves images, audio and video out and strips their placeholders.
    - ``reasoning``: ``drop`` leaves reasoning chunks out; ``untrained`` keeps each one as an
      assistant message of weight 0 (seen by the model, not trained) before the answer.
    """

    kto: KtoPolicy = "refuse"
    preference: PreferencePolicy = "refuse"
    media: MediaPolicy = "refuse"
    reasoning: ReasoningPolicy = "refuse"


DEFAULT_OPTIONS = ConvertOptions()


@dataclass(frozen=True, slots=True)
class FieldCounts:
    """For each field name, how many converted records had it, by what became of it."""

    used: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    unused: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class RecordFields:
    """What one record's conversion did with its fields (filled in while converting)."""

    used: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)
    unused: set[str] = field(default_factory=set)

    def finish(self, record: dict[str, Any]) -> None:
        """Every top-level field with a value that was neither used nor dropped is unused."""
        for key, value in record.items():
            if key not in self.used and key not in self.dropped and not is_empty(value):
                self.unused.add(key)


@dataclass(slots=True)
class FieldTally:
    """Field counts over the converted records of one source."""

    used: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    unused: Counter[str] = field(default_factory=Counter)

    def add(self, fields: RecordFields) -> None:
        self.used.update(fields.used)
        self.dropped.update(fields.dropped)
        self.unused.update(fields.unused)

    def counts(self) -> FieldCounts:
        return FieldCounts(_sorted(self.used), _sorted(self.dropped), _sorted(self.unused))


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items()))


def is_empty(value: object) -> bool:
    """No value at all: columnar sources give every row every column, empty where unset."""
    return value is None or (isinstance(value, str | list | dict) and not value)
