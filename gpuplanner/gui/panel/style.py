"""Colours, units and small shared pieces of the live panel's charts.

Colours follow the Okabe–Ito palette so the memory categories stay apart for colour-blind readers,
and the chart background follows the application palette (light or dark).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QLabel, QWidget

GIB = 2**30

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
    ("communication_s", "Communication", "#CC79A7"),
    ("waiting_s", "Waiting (bubble)", "#BFC7D5"),
)

# One colour per pipeline stage, repeated past eight stages.
STAGE_COLOURS = ("#4E79A7", "#F28E2B", "#59A14F", "#E15759", "#76B7B2", "#EDC948", "#B07AA1", "#FF9DA7")


def stage_colour(stage: int) -> QColor:
    return QColor(STAGE_COLOURS[stage % len(STAGE_COLOURS)])


def gib(nbytes: float) -> float:
    return nbytes / GIB


def fmt_bytes(nbytes: float) -> str:
    """Bytes for people: GiB with two decimals above 1 GiB, MiB below, plus the exact count."""
    if abs(nbytes) >= GIB:
        return f"{nbytes / GIB:,.2f} GiB"
    return f"{nbytes / 2**20:,.1f} MiB"


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


def make_plot(title: str, y_label: str, x_label: str = "") -> pg.PlotWidget:
    """A plot widget styled like the rest of the panel: palette colours, no mouse zoom, no menu."""
    colours = ChartColours.from_palette()
    plot = pg.PlotWidget(background=colours.background)
    item = plot.getPlotItem()
    item.setTitle(f"<span style='font-weight:600'>{title}</span>", color=colours.foreground, size="10pt")
    item.setMenuEnabled(False)
    item.hideButtons()
    item.getViewBox().setMouseEnabled(False, False)
    item.showGrid(x=False, y=True, alpha=0.18)
    for name in ("left", "bottom", "right"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(colours.muted))
        axis.setTextPen(pg.mkPen(colours.foreground))
    item.setLabel("left", y_label, color=colours.foreground.name())
    if x_label:
        item.setLabel("bottom", x_label, color=colours.foreground.name())
    plot.setMinimumHeight(170)
    return plot


def legend_label(entries: list[tuple[str, str]], *, hatched: set[str] | None = None) -> QLabel:
    """A one-line legend (rich text) of coloured squares: reads better than pyqtgraph's in-plot box."""
    parts = []
    for text, colour in entries:
        mark = "▨" if hatched and text in hatched else "■"
        text = text.replace(" ", "&nbsp;")
        parts.append(f"<span style='color:{colour}; font-size:13pt'>{mark}</span>&nbsp;{text}")
    label = QLabel("&nbsp;&nbsp; ".join(parts))
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    return label


def header_label(name: str) -> QLabel:
    """The one-line summary above a chart (same height on every chart so the plots line up)."""
    label = QLabel()
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setFixedHeight(label.fontMetrics().lineSpacing() * 2 + 4)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return label


def short_name(gpu_name: str) -> str:
    """'NVIDIA H100 SXM5 80GB' -> 'H100 SXM5 80GB' for axis labels."""
    for prefix in ("NVIDIA GeForce ", "NVIDIA ", "AMD Instinct ", "AMD ", "Intel "):
        if gpu_name.startswith(prefix):
            return gpu_name[len(prefix) :]
    return gpu_name


def set_muted(widget: QWidget, text: str) -> None:
    """Put a grey hint text on a QLabel-like widget."""
    colours = ChartColours.from_palette()
    widget.setStyleSheet(f"color: {colours.muted.name(QColor.NameFormat.HexArgb)};")
    if isinstance(widget, QLabel):
        widget.setText(text)
