"""Binning for the data screen's token histogram."""

from __future__ import annotations

from collections.abc import Sequence


def histogram(values: Sequence[int], bins: int = 20) -> tuple[list[str], list[int]]:
    """Equal-width bins over ``values``: (labels, counts); empty lists for no values."""
    if not values:
        return [], []
    low, high = min(values), max(values)
    if low == high:
        return [str(low)], [len(values)]
    bins = max(1, min(bins, high - low + 1))
    width = (high - low) / bins
    counts = [0] * bins
    for value in values:
        index = min(bins - 1, int((value - low) / width))
        counts[index] += 1
    labels = [str(int(low + width * i)) for i in range(bins)]
    return labels, counts
