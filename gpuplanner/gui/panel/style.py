"""Colours, units and small shared pieces of the live panel's charts.

Colours follow the Okabe–Ito palette so the memory categories stay apart for colour-blind readers,
and the chart background follows the application palette (light or dark).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QColor, QCursor, QGuiApplication, QPalette
from PySide6.QtWidgets import QGraphicsItem, QLabel, QToolTip, QVBoxLayout, QWidget

from gpuplanner.core.specs import GIB
from gpuplanner.core.units import gib
from gpuplanner.drawing.style import STAGE_COLOURS  # the canvas's stage badges use the same colours

# (ledger field, legend text, colour)
MEMORY_PARTS: tuple[tuple[str, str, str], ...] = (
    ("weights", "Weights", "#0072B2"),
    ("kv_cache", "KV cache", "#009E73"),
    ("activations", "Activations", "#E69F00"),
    ("communication", "Comm. buffers", "#CC79A7"),
    ("runtime", "Runtime", "#7F7F7F"),
)
STRANDED_COLOUR = "#C9A227"
FREE_COLOUR = "#BFC7D5"
OVERFLOW_COLOUR = "#D62728"
CAPACITY_COLOUR = "#1F2937"
SELECTION_COLOUR = "#4C8DFF"

STEP_PARTS: tuple[tuple[str, str, str], ...] = (
    ("compute_s", "Compute", "#0072B2"),
    ("memory_s", "Memory reads", "#009E73"),
    ("communication_inside_s", "Comm. inside servers", "#CC79A7"),
    ("communication_between_s", "Comm. between servers", "#882255"),
    ("waiting_s", "Waiting (bubbles, scheduling)", "#BFC7D5"),
)


def stage_colour(stage: int) -> QColor:
    return QColor(STAGE_COLOURS[stage % len(STAGE_COLOURS)])


def fmt_bytes(nbytes: float) -> str:
    """Bytes for people: GiB with two decimals above 1 GiB, then MiB, KiB, bytes."""
    if abs(nbytes) >= GIB:
        return gib(nbytes)
    if abs(nbytes) >= 2**20:
        return f"{nbytes / 2**20:,.1f} MiB"
    if abs(nbytes) >= 1024:
        return f"{nbytes / 1024:,.1f} KiB"
    return f"{nbytes:,.0f} B"


def fmt_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


@dataclass(frozen=True)
class ChartColours:
    background: QColor
    foreground: QColor
    muted: QColor
    dark: bool

    @classmethod
    def from_palette(cls) -> ChartColours:
        app = QGuiApplication.instance()
        palette = QGuiApplication.palette() if app is not None else QPalette()
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        dark = base.lightness() < 128
        muted = QColor(text)
        muted.setAlpha(150)
        return cls(base, text, muted, dark)


def nice_top(value: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k at or above ``value``: an axis that
    ends on a round number, and stays put while the data moves a little (no axis redraw per edit)."""
    if value <= 0:
        return 1.0
    scale = 10 ** math.floor(math.log10(value))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * scale >= value * (1 - 1e-12):
            return step * scale
    return 10 * scale


def steady_top(shown: float, value: float, filled: float = 0.6) -> float:
    """The axis top for data reaching ``value``: the one ``shown`` while it holds the data and the data
    fill at least ``filled`` of it, else :func:`nice_top`. Data that moves a little across a round
    number (a boundary dragged back and forth) would otherwise flip the axis, and redraw it, on every
    other edit."""
    if shown > 0 and filled * shown <= value <= shown:
        return shown
    return nice_top(value)


def set_range(
    view: pg.ViewBox, x: tuple[float, float] | None = None, y: tuple[float, float] | None = None
) -> None:
    """``view.setRange`` without padding, skipped when nothing changes (a no-op range still makes
    pyqtgraph redraw the axes' text)."""
    (x0, x1), (y0, y1) = view.viewRange()
    same_x = x is None or (abs(x[0] - x0) < 1e-9 and abs(x[1] - x1) < 1e-9)
    same_y = y is None or (abs(y[0] - y0) < 1e-9 and abs(y[1] - y1) < 1e-9)
    if same_x and same_y:
        return
    view.setRange(xRange=None if same_x else x, yRange=None if same_y else y, padding=0)


def show_axis_values(plot: pg.PlotWidget, show: bool, names: tuple[str, ...] = ("left", "bottom")) -> None:
    """Show or hide the axes' numbers (hidden on an empty chart); only touches axes that change."""
    for name in names:
        axis = plot.getPlotItem().getAxis(name)
        if axis.style["showValues"] != show:
            axis.setStyle(showValues=show)


def set_curve(curve: pg.PlotDataItem, x: object, y: object) -> None:
    """``curve.setData(x, y)`` unless it already shows those points (setting them redraws it)."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    shown = getattr(curve, "_gp_shown", None)
    if shown is not None and np.array_equal(shown[0], xs) and np.array_equal(shown[1], ys):
        return
    curve._gp_shown = (xs, ys)
    curve.setData(xs, ys)


def set_ticks(axis: pg.AxisItem, ticks: list[tuple[float, str]]) -> None:
    """``axis.setTicks`` unless the ticks are the ones shown (setting them redraws the axis)."""
    if getattr(axis, "_gp_ticks", None) != ticks:
        axis._gp_ticks = ticks
        axis.setTicks([ticks, []])


def make_plot(y_label: str, x_label: str = "") -> pg.PlotWidget:
    """A plot widget styled like the rest of the panel: palette colours, no mouse zoom, no menu. The
    chart's title lives in its header line (a title inside the plot would cost a row of pixels)."""
    colours = ChartColours.from_palette()
    plot = pg.PlotWidget(background=colours.background)
    item = plot.getPlotItem()
    item.setMenuEnabled(False)
    item.hideButtons()
    item.getViewBox().setMouseEnabled(False, False)
    item.showGrid(x=False, y=True, alpha=0.18)
    for name in ("left", "bottom", "right"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(colours.muted))
        axis.setTextPen(pg.mkPen(colours.foreground))
        # an axis also draws the grid, so every bar update would repaint its text: cache it as a pixmap
        # (pyqtgraph invalidates it itself when the range or the ticks change)
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    item.setLabel("left", y_label, color=colours.foreground.name())
    if x_label:
        item.setLabel("bottom", x_label, color=colours.foreground.name())
    plot.setMinimumHeight(120)
    return plot


class Legend(QLabel):
    """A legend of coloured squares under a chart (rich text): reads better than an in-plot box and
    takes no room from the bars. ``set_entries`` shows only what the chart currently draws."""

    def __init__(self, entries: list[tuple[str, str]], hatched: set[str] | None = None) -> None:
        super().__init__()
        self.hatched = hatched or set()
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.entries: list[str] = []
        self.set_entries(entries)

    def set_entries(self, entries: list[tuple[str, str]]) -> None:
        names = [t for t, _ in entries]
        if names == self.entries:
            return
        self.entries = names
        parts = []
        for text, colour in entries:
            mark = "▨" if text in self.hatched else "■"
            parts.append(
                f"<span style='color:{colour}; font-size:11pt'>{mark}</span>&nbsp;{text.replace(' ', '&nbsp;')}"
            )
        self.setText("<span style='font-size:8.5pt'>" + "&nbsp;&nbsp; ".join(parts) + "</span>")


def legend_label(entries: list[tuple[str, str]], *, hatched: set[str] | None = None) -> Legend:
    return Legend(entries, hatched)


class Header(QLabel):
    """The chart's title and a summary, two lines high on every chart so the plots line up."""

    def __init__(self, name: str, title: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self.title = title
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * 2 + 4)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

    def set_summary(self, html: str) -> None:
        self.setText(f"<b>{self.title}</b> · {html}")


def chart_column(chart: QWidget, header: QWidget, plot: pg.PlotWidget, legend: QWidget) -> None:
    """Lay out a chart: its header line, the plot taking the room left, its legend."""
    layout = QVBoxLayout(chart)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(header)
    layout.addWidget(plot, 1)
    layout.addWidget(legend)


def header_label(name: str, title: str) -> Header:
    return Header(name, title)


def short_name(gpu_name: str) -> str:
    """'NVIDIA H100 SXM5 80GB' -> 'H100 SXM5 80GB' for axis labels."""
    for prefix in ("NVIDIA GeForce ", "NVIDIA ", "AMD Instinct ", "AMD ", "Intel "):
        if gpu_name.startswith(prefix):
            return gpu_name[len(prefix) :]
    return gpu_name


class HeldTip(QObject):
    """A chart's hover tooltip that stays while the pointer rests on what it describes.

    ``QToolTip.showText`` from a mouse-move alone vanishes about a second later: the view then gets
    its own tool-tip event, finds no item with a tooltip in the scene and hides the text. This filter
    answers that event with the text shown last, and ``hide`` clears it when the pointer leaves."""

    HOLD_MS = 60_000

    def __init__(self, plot: pg.PlotWidget) -> None:
        super().__init__(plot)
        self.plot = plot
        self.text = ""
        plot.viewport().installEventFilter(self)
        plot.installEventFilter(self)

    def show(self, text: str) -> None:
        self.text = text
        QToolTip.showText(QCursor.pos(), text, self.plot, QRect(), self.HOLD_MS)

    def hide(self) -> None:
        if self.text:
            self.text = ""
            QToolTip.hideText()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            if self.text:
                QToolTip.showText(QCursor.pos(), self.text, self.plot, QRect(), self.HOLD_MS)
            return True  # never the scene's own (empty) tooltip, which would hide ours
        if event.type() == QEvent.Type.Leave:
            self.hide()
        return False
