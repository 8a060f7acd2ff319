"""Charts with textual-plotext, always through the widget's own ``plt`` (never the global
plotext module, whose state would be shared between widgets)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual_plotext import PlotextPlot


def step_ticks(steps: Sequence[int], most: int = 6) -> list[int]:
    """Round step numbers for the x axis (a 1, 2 or 5 times a power of ten apart), at most
    ``most`` of them, within the steps shown."""
    if not steps:
        return []
    low, high = min(steps), max(steps)
    if high == low:
        return [low]
    span = high - low
    scale = 10 ** max(0, len(str(span)) - 2)
    for factor in (1, 2, 5, 10, 20, 50, 100):
        spacing = factor * scale
        first = -(-low // spacing) * spacing
        ticks = list(range(first, high + 1, spacing))
        if len(ticks) <= most:
            return ticks or [low, high]
    return [low, high]


class LossChart(PlotextPlot):
    """``train_loss`` and ``valid_loss`` over steps; the best ``valid_loss`` marked."""

    def show_losses(
        self,
        train: tuple[Sequence[int], Sequence[float]],
        valid: tuple[Sequence[int], Sequence[float]],
        best: tuple[int, float] | None,
    ) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("loss")
        plt.xlabel("step")
        if not train[0] and not valid[0]:
            plt.title("loss: no checkpoints yet")
            self.refresh()
            return
        if train[0]:
            plt.plot(list(train[0]), list(train[1]), label="train_loss", marker="braille")
        if valid[0]:
            plt.plot(list(valid[0]), list(valid[1]), label="valid_loss", marker="braille")
        if best is not None:
            plt.scatter([best[0]], [best[1]], label=f"best valid {best[1]:.3f}", marker="x")
        steps = sorted(set(train[0]) | set(valid[0]))
        plt.xticks([float(tick) for tick in step_ticks(steps)])
        self.refresh()


class Histogram(PlotextPlot):
    """Token lengths of a file's conversations, as bars."""

    def show_counts(self, labels: Sequence[str], counts: Sequence[int], title: str) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        if labels:
            plt.bar(list(labels), list(counts))
            plt.xlabel("tokens per conversation (bin start)")
            # Counts are whole numbers: no 2.50 on the y axis.
            plt.yticks([float(tick) for tick in count_ticks(max(counts, default=0))])
        self.refresh()


def count_ticks(most: int, ticks: int = 5) -> list[int]:
    """Whole-number ticks from 0 to at least ``most``, at most ``ticks`` + 1 of them."""
    step = max(1, math.ceil(most / ticks))
    return list(range(0, max(most, 1) + step, step))
