"""StackedBars: the per-GPU stacked bar drawing the memory and step-time charts share.

One ``BarGraphItem`` per segment kind, created once; ``set_segments`` moves them all with
``setOpts``. Also finds the bar under the mouse, for hover tooltips and clicks.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor

from gpuplanner.gui.panel.style import set_ticks

Segments = dict[str, tuple[float, float]]


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
        self.segments: list[Segments] = []
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

    def set_segments(self, segments: list[Segments]) -> None:
        """``segments[i][kind] = (bottom, top)`` of bar ``i``."""
        self.segments = segments
        x = np.arange(len(segments), dtype=float)
        none = (0.0, 0.0)
        for name, bar in self.bars.items():
            lo = np.array([s.get(name, none)[0] for s in segments], dtype=float)
            hi = np.array([s.get(name, none)[1] for s in segments], dtype=float)
            shown = self._shown.get(name)
            if shown is not None and np.array_equal(shown[0], lo) and np.array_equal(shown[1], hi):
                continue  # an edit moves a few kinds (KV cache, weights): the others keep their picture
            self._shown[name] = (lo, hi)
            bar.setOpts(x=x, y0=lo, height=hi - lo)

    def top(self, i: int) -> float:
        return max((hi for _, hi in self.segments[i].values()), default=0.0)

    def set_ticks(self, labels: list[str]) -> None:
        """GPU names under the bars: every one when they fit, else every n-th (again on resize)."""
        if labels != self.labels:
            self.labels = labels
            self._relabel()

    def _relabel(self) -> None:
        labels = self.labels
        axis = self.plot.getPlotItem().getAxis("bottom")
        widest = max((self.plot.fontMetrics().horizontalAdvance(t) for t in labels), default=0) + 10
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
        if not 0 <= i < len(self.segments) or abs(point.x() - i) > self.width / 2 + 0.05:
            return None
        return i


def stack(values: list[tuple[str, float]], start: float = 0.0) -> tuple[Segments, float]:
    """(bottom, top) of each value stacked from ``start``; returns the segments and the top."""
    out: Segments = {}
    level = start
    for name, value in values:
        out[name] = (level, level + value)
        level += value
    return out, level
