"""Colours, type sizes and text helpers of the PDF.

The colours are the rack canvas's (``gpuplanner.drawing.style``): the same ink, muted text, borders
and accent blue, so the report reads as part of the app. Geometry is in device pixels of the PDF writer;
``Ink.pt`` converts typographic points. Text is laid out line by line here (not with Qt's rectangle
word wrap) so that measuring a block and drawing it always agree, and a long word (a URL, a list of
GPU ids) breaks instead of running out of its column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPagedPaintDevice, QPainter

FAMILY = "DejaVu Sans"
MONO_FAMILY = "DejaVu Sans Mono"

INK = QColor("#1d2430")
MUTED = QColor("#5d6878")
FAINT = QColor("#8a94a6")
RULE = QColor("#c9d0da")
HAIRLINE = QColor("#e3e7ed")
PANEL = QColor("#f3f5f8")
STRIPE = QColor("#f8f9fb")
ACCENT = QColor("#2f6fed")
GOOD = QColor("#1f8a57")
WARN = QColor("#b7791f")
BAD = QColor("#c9353a")

TONE_COLOURS = {"": INK, "strong": INK, "mono": INK, "muted": MUTED, "good": GOOD, "warn": WARN, "bad": BAD}

# The panel's chart colours (Okabe-Ito, gpuplanner/gui/panel/style.py). Repeated here because that
# module imports pyqtgraph (0.7 s) which the export does not need; tests/export checks they agree.
MEMORY_PARTS = (
    ("weights", "Weights", QColor("#0072B2")),
    ("kv_cache", "KV cache", QColor("#009E73")),
    ("activations", "Activations", QColor("#E69F00")),
    ("communication", "Comm. buffers", QColor("#CC79A7")),
    ("runtime", "Runtime", QColor("#7F7F7F")),
)
STEP_PARTS = (
    ("compute_s", "Compute", QColor("#0072B2")),
    ("memory_s", "Memory reads", QColor("#009E73")),
    ("communication_inside_s", "Comm. inside servers", QColor("#CC79A7")),
    ("communication_between_s", "Comm. between servers", QColor("#882255")),
    ("waiting_s", "Waiting (bubbles, scheduling)", QColor("#BFC7D5")),
)
STAGE_COLOURS = tuple(
    QColor(c)
    for c in ("#4E79A7", "#F28E2B", "#59A14F", "#E15759", "#76B7B2", "#EDC948", "#B07AA1", "#FF9DA7")
)
STRANDED_COLOUR = QColor("#C9A227")
FREE_COLOUR = QColor("#BFC7D5")
OVER_COLOUR = QColor("#D62728")
CAPACITY_COLOUR = QColor("#1F2937")

# Type sizes in points.
SIZES = {"title": 20.0, "h1": 14.0, "h2": 10.0, "body": 8.8, "table": 7.6, "small": 7.0, "figure": 12.5}


@dataclass
class Ink:
    """Fonts and text measurement for one paint device (the PDF writer)."""

    device: QPagedPaintDevice
    dpi: float
    family: str = FAMILY
    _fonts: dict[tuple[str, bool, bool], QFont] = field(default_factory=dict)
    _metrics: dict[tuple[str, bool, bool], QFontMetricsF] = field(default_factory=dict)

    def pt(self, points: float) -> float:
        """Typographic points (1/72 inch) to device pixels."""
        return points * self.dpi / 72.0

    def mm(self, millimetres: float) -> float:
        return millimetres * self.dpi / 25.4

    def font(self, size: str = "body", bold: bool = False, mono: bool = False) -> QFont:
        key = (size, bold, mono)
        if key not in self._fonts:
            font = QFont(MONO_FAMILY if mono else self.family)
            font.setPointSizeF(SIZES[size])
            font.setBold(bold)
            font.setKerning(True)
            # No 'fi'/'fl' ligatures: the PDF's text would hold U+FB01 and a search for "fit" would miss it.
            font.setFeature(QFont.Tag("liga"), 0)
            self._fonts[key] = font
        return self._fonts[key]

    def metrics(self, size: str = "body", bold: bool = False, mono: bool = False) -> QFontMetricsF:
        key = (size, bold, mono)
        if key not in self._metrics:
            self._metrics[key] = QFontMetricsF(self.font(size, bold, mono), self.device)
        return self._metrics[key]

    def line_height(self, size: str = "body") -> float:
        return self.metrics(size).height() * 1.18

    def width(self, text: str, size: str = "body", bold: bool = False) -> float:
        return self.metrics(size, bold).horizontalAdvance(text)

    def wrap(self, text: str, width: float, size: str = "body", bold: bool = False) -> list[str]:
        """Greedy word wrap; a word wider than the column is broken after a hyphen, underscore or slash
        when it has one that fits, else between characters; a last line of one short word ('2') takes
        the word before it along."""
        metrics = self.metrics(size, bold)
        lines: list[str] = []
        for paragraph in text.split("\n"):
            start = len(lines)
            line = ""
            for word in paragraph.split(" "):
                candidate = f"{line} {word}" if line else word
                if metrics.horizontalAdvance(candidate) <= width:
                    line = candidate
                    continue
                if line:
                    lines.append(line)
                line = word
                while metrics.horizontalAdvance(line) > width and len(line) > 1:
                    cut = len(line) - 1
                    while cut > 1 and metrics.horizontalAdvance(line[:cut]) > width:
                        cut -= 1
                    joint = max(line.rfind(c, 0, cut) for c in "-_/")
                    if joint > 0:  # 'VLLM-' / 'QUANT', not 'VLLM-QUAN' / 'T'
                        cut = joint + 1
                    lines.append(line[:cut])
                    line = line[cut:]
            lines.append(line)
            if len(lines) - start >= 2 and " " not in lines[-1] and len(lines[-1]) <= 3 and " " in lines[-2]:
                head, _, last_word = lines[-2].rpartition(" ")
                if metrics.horizontalAdvance(f"{last_word} {lines[-1]}") <= width:
                    lines[-2], lines[-1] = head, f"{last_word} {lines[-1]}"
        return lines

    def text_height(self, text: str, width: float, size: str = "body", bold: bool = False) -> float:
        return len(self.wrap(text, width, size, bold)) * self.line_height(size)

    def draw_lines(
        self,
        painter: QPainter,
        lines: list[str],
        x: float,
        y: float,
        width: float,
        *,
        size: str = "body",
        bold: bool = False,
        colour: QColor = INK,
        align: str = "left",
    ) -> float:
        """Draw wrapped lines with their tops at ``y``; returns the y below the last line."""
        painter.setFont(self.font(size, bold))
        painter.setPen(colour)
        metrics = self.metrics(size, bold)
        step = self.line_height(size)
        baseline = y + (step - metrics.height()) / 2 + metrics.ascent()
        for line in lines:
            dx = 0.0
            if align != "left":
                spare = width - metrics.horizontalAdvance(line)
                dx = spare if align == "right" else spare / 2
            painter.drawText(QPointF(x + dx, baseline), line)
            baseline += step
        return y + step * len(lines)

    def draw_text(
        self, painter: QPainter, text: str, x: float, y: float, width: float, **style: object
    ) -> float:
        """Wrap ``text`` to ``width`` and draw it; returns the y below it."""
        size = str(style.get("size", "body"))
        bold = bool(style.get("bold", False))
        return self.draw_lines(painter, self.wrap(text, width, size, bold), x, y, width, **style)  # type: ignore[arg-type]
