"""StackedBars: the per-GPU stacked bar drawing the memory and step-time charts share.

One ``BarGraphItem`` per segment kind, created once; ``set_stacks`` moves the kinds that changed with
``setOpts``. Also finds the bar under the mouse, for hover tooltips and clicks. The stacking itself is
``gpuplanner.core.budget.stack_fields``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor

from gpuplanner.gui.panel.style import set_ticks

Segments = dict[str, tuple[float, float]]
# More GPUs than this and a bar would be a pixel or two wide: GPUs whose bars are identical (the same
# stage of every replica) are drawn as one bar, labelled with their number.
GROUP_ABOVE = 128


def group_alike(keys: Sequence[Hashable]) -> list[list[int]]:
    """Indices with equal keys together, groups in the order their first member comes."""
    groups: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def group_label(ident: str, members: int) -> str:
    """A bar's tick: its GPU, and how many identical GPUs it stands for."""
    return ident if members == 1 else f"{ident} ×{members:,}"


def group_note(members: Sequence[str]) -> str:
    """The first line of a grouped bar's tooltip: which GPUs it stands for."""
    if len(members) == 1:
        return ""
    shown = ", ".join(members[:3]) + (f", … {members[-1]}" if len(members) > 3 else "")
    return f"<b>{len(members):,} identical GPUs</b> ({shown}); this one:<br>"


def longest(labels: list[str], keep: int = 64) -> list[str]:
    """The labels to measure for the widest: all of a few, else those of the two greatest lengths in
    characters (at most ``keep``); a 4,096-GPU chart measured all 4,096 on every resize."""
    if len(labels) <= keep:
        return labels
    lengths = sorted({len(t) for t in labels})[-2:]
    return [t for t in labels if len(t) in lengths][:keep]


class StackedBars:
    """Stacked bars on ``plot``, one kind per (name, colour); ``hatched`` kinds get a diagonal hatch."""

    def __init__(
        self,
        plot: pg.PlotWidget,
        kinds: list[tuple[str, str]],
        *,
        width: float = 0.72,
        hatched: tuple[str, ...] = (),
    ) -> None:
        self.plot = plot
        self.width = width
        self._n = 0
        self._lo: dict[str, np.ndarray] = {}
        self._hi: dict[str, np.ndarray] = {}
        self._tops = np.zeros(0)
        self._segments: list[Segments] | None = None  # built from the arrays when asked
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.labels: list[str] = []
        self._step = 0
        self._shown: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # (bottoms, tops) each kind draws
        item = plot.getPlotItem()
        item.getViewBox().sigResized.connect(self._relabel)
        for name, colour in kinds:
            brush = (
                QBrush(QColor(colour), Qt.BrushStyle.BDiagPattern) if name in hatched else pg.mkBrush(colour)
            )
            bar = pg.BarGraphItem(x=[], y0=[], height=[], width=width, brush=brush, pen=pg.mkPen(None))
            item.addItem(bar)
            self.bars[name] = bar

    def set_stacks(self, n: int, lo: dict[str, np.ndarray], hi: dict[str, np.ndarray]) -> None:
        """Bottoms and tops of each kind for ``n`` bars, as arrays (a kind left out draws nothing)."""
        self._n, self._lo, self._hi = n, lo, hi
        self._segments = None
        x = np.arange(n, dtype=float)
        zeros = np.zeros(n)
        tops = zeros.copy()
        for name, bar in self.bars.items():
            bottom, top = lo.get(name, zeros), hi.get(name, zeros)
            if name in hi:
                tops = np.maximum(tops, top)
            shown = self._shown.get(name)
            if shown is not None and np.array_equal(shown[0], bottom) and np.array_equal(shown[1], top):
                continue  # an edit moves a few kinds (KV cache, weights): the others keep their picture
            self._shown[name] = (bottom, top)
            bar.setOpts(x=x, y0=bottom, height=top - bottom)
        self._tops = tops

    @property
    def segments(self) -> list[Segments]:
        """``segments[i][kind] = (bottom, top)``, for hover texts and tests (built when asked)."""
        if self._segments is None:
            self._segments = [
                {k: (float(self._lo[k][i]), float(self._hi[k][i])) for k in self._hi} for i in range(self._n)
            ]
        return self._segments

    def top(self, i: int) -> float:
        return float(self._tops[i])

    def set_ticks(self, labels: list[str]) -> None:
        """GPU names under the bars: every one when they fit, else every n-th (again on resize)."""
        if labels != self.labels:
            self.labels = labels
            self._relabel()

    def _relabel(self) -> None:
        labels = self.labels
        axis = self.plot.getPlotItem().getAxis("bottom")
        widest = max((self.plot.fontMetrics().horizontalAdvance(t) for t in longest(labels)), default=0) + 10
        room = max(self.plot.getPlotItem().getViewBox().width(), 1.0)
        fits = max(1, int(room // max(widest, 1)))
        step = max(1, int(np.ceil(len(labels) / fits)))
        self._step = step
        set_ticks(axis, [(i, labels[i]) for i in range(0, len(labels), step)])

    def index_at(self, scene_pos: QPointF) -> int | None:
        """The bar under a scene position, or None."""
        vb = self.plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        point = vb.mapSceneToView(scene_pos)
        i = round(point.x())
        if not 0 <= i < self._n or abs(point.x() - i) > self.width / 2 + 0.05:
            return None
        return i
