"""Distribution summaries and histograms of integer measurements (token counts, turns)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar


@dataclass(frozen=True, slots=True)
class Summary:
    count: int
    total: int
    min: int
    mean: float
    p50: int
    p95: int
    max: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


EMPTY = Summary(count=0, total=0, min=0, mean=0.0, p50=0, p95=0, max=0)


Number = TypeVar("Number", int, float)


def percentile(sorted_values: Sequence[Number], q: float) -> Number:
    """The nearest-rank percentile (0 < q <= 100) of sorted, non-empty values: an observed value.

    The one implementation for the validator's token statistics, ``data stats`` and eval
    latencies.
    """
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(values: Sequence[int]) -> Summary:
    if not values:
        return EMPTY
    ordered = sorted(values)
    total = sum(ordered)
    return Summary(
        count=len(ordered),
        total=total,
        min=ordered[0],
        mean=total / len(ordered),
        p50=percentile(ordered, 50),
        p95=percentile(ordered, 95),
        max=ordered[-1],
    )


@dataclass(frozen=True, slots=True)
class Bin:
    low: int  # inclusive
    high: int  # exclusive
    count: int


def histogram(values: Sequence[int], bins: int = 12) -> list[Bin]:
    """Equal-width bins over [min, max]; widths are rounded to whole numbers."""
    if not values:
        return []
    low, high = min(values), max(values)
    width = max(1, math.ceil((high - low + 1) / bins))
    counts = [0] * bins
    for value in values:
        counts[min((value - low) // width, bins - 1)] += 1
    edges = [(low + i * width, low + (i + 1) * width) for i in range(bins)]
    result = [Bin(lo, hi, n) for (lo, hi), n in zip(edges, counts, strict=True)]
    while result and result[-1].count == 0:
        result.pop()
    return result
