"""Chart primitives drawn with QPainter as vectors: nice axis ticks, a legend row, stacked bars."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from gpuplanner.export.theme import FAINT, HAIRLINE, INK, MUTED, RULE, Ink


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-9:
        ticks.append(ticks[-1] + step)
    return ticks


def tick_label(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    if value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def legend(
    painter: QPainter, ink: Ink, x: float, y: float, width: float, items: Sequence[tuple[str, QColor, str]]
) -> float:
    """Swatches with labels on one or more lines; ``style`` is 'box', 'line' or 'dash'. Returns the height."""
    size = "small"
    swatch = ink.pt(7)
    line_h = ink.line_height(size)
    left, top = x, y
    for label, colour, style in items:
        item_w = swatch + ink.pt(4 if style == "box" else 9) + ink.width(label, size) + ink.pt(12)
        if left + item_w > x + width and left > x:
            left, top = x, top + line_h
        cy = top + line_h / 2
        if style == "box":
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(QRectF(left, cy - swatch / 2, swatch, swatch), ink.pt(1), ink.pt(1))
        else:
            pen = QPen(colour, ink.pt(1.6))
            if style == "dash":
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawLine(QPointF(left, cy), QPointF(left + swatch + ink.pt(2), cy))
            left += ink.pt(5)
        ink.draw_lines(painter, [label], left + swatch + ink.pt(4), top, item_w, size=size, colour=MUTED)
        left += item_w + ink.pt(3)
    return top + line_h - y


@dataclass(frozen=True)
class BarRow:
    label: str
    segments: tuple[tuple[float, QColor], ...]
    marker: float | None = None  # a tick across the bar (the engine's memory budget)
    end_label: str = ""


def stacked_bars(
    painter: QPainter,
    rect: QRectF,
    ink: Ink,
    rows: Sequence[BarRow],
    *,
    unit: str,
    legend_items: Sequence[tuple[str, QColor, str]],
    top_value: float | None = None,
    value_text: Callable[[float], str] = tick_label,
) -> None:
    """Horizontal stacked bars, one row each, with a value axis at the bottom and a legend on top."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    legend_h = legend(painter, ink, rect.left(), rect.top(), rect.width(), legend_items) + ink.pt(6)
    label_w = max([ink.width(r.label, "small") for r in rows] + [ink.pt(20)]) + ink.pt(8)
    end_w = max([ink.width(r.end_label, "small") for r in rows] + [0.0]) + ink.pt(6)
    plot = QRectF(rect.left() + label_w, rect.top() + legend_h, rect.width() - label_w - end_w, 0)
    axis_h = ink.line_height("small") + ink.pt(4)
    plot.setHeight(rect.height() - legend_h - axis_h)
    top = top_value or max((sum(v for v, _ in r.segments) for r in rows), default=1.0) or 1.0
    ticks = nice_ticks(top)
    scale = plot.width() / ticks[-1]
    for t in ticks:
        x = plot.left() + t * scale
        painter.setPen(QPen(HAIRLINE if t else RULE, ink.pt(0.5)))
        painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
        text = value_text(t)
        w = ink.width(text, "small") + ink.pt(2)
        ink.draw_lines(
            painter,
            [text],
            x - w / 2,
            plot.bottom() + ink.pt(2),
            w,
            size="small",
            colour=FAINT,
            align="center",
        )
    unit_w = ink.width(unit, "small") + ink.pt(2)
    ink.draw_lines(
        painter,
        [unit],
        plot.right() + end_w - unit_w,
        plot.bottom() + ink.pt(2),
        unit_w,
        size="small",
        colour=MUTED,
        align="right",
    )
    pitch = plot.height() / max(len(rows), 1)
    bar_h = min(pitch * 0.66, ink.pt(9))
    for i, row in enumerate(rows):
        cy = plot.top() + pitch * (i + 0.5)
        ink.draw_lines(
            painter,
            [row.label],
            rect.left(),
            cy - ink.line_height("small") / 2,
            label_w - ink.pt(6),
            size="small",
            colour=INK,
        )
        x = plot.left()
        painter.setPen(Qt.PenStyle.NoPen)
        for value, colour in row.segments:
            if value <= 0:
                continue
            painter.setBrush(colour)
            painter.drawRect(QRectF(x, cy - bar_h / 2, value * scale, bar_h))
            x += value * scale
        if row.marker is not None:
            mx = plot.left() + row.marker * scale
            painter.setPen(QPen(INK, ink.pt(1.1)))
            painter.drawLine(QPointF(mx, cy - bar_h / 2 - ink.pt(2)), QPointF(mx, cy + bar_h / 2 + ink.pt(2)))
        if row.end_label:
            ink.draw_lines(
                painter,
                [row.end_label],
                x + ink.pt(4),
                cy - ink.line_height("small") / 2,
                end_w,
                size="small",
                colour=MUTED,
            )
