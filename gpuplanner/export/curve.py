"""The throughput chart: total output tokens/s against concurrency (log scale) with its low-high band,
tokens/s per user on the right axis, and the plan's own concurrency marked. Vectors, from the report."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPolygonF

from gpuplanner.core.report import PerformanceReport
from gpuplanner.export import formats as fmt
from gpuplanner.export.drawing import legend, nice_ticks, tick_label
from gpuplanner.export.theme import ACCENT, FAINT, HAIRLINE, INK, MUTED, RULE, Ink

MEASURED = QColor("#009E73")  # the user's own runs, as in the window's chart


def throughput_chart(perf: PerformanceReport):
    """A painter for total output tokens/s against concurrency (log scale), with its low-high band,
    tokens/s per user on the right axis and the plan's own concurrency marked."""

    def paint(painter: QPainter, rect: QRectF, ink: Ink) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        items = [("Total output tokens/s", ACCENT, "line"), ("Low – high band", QColor(47, 111, 237, 60), "box"),
                 ("Tokens/s per user (right axis)", MUTED, "dash")]  # fmt: skip
        measured = perf.calibrated_on.user_points if perf.calibrated_on is not None else ()
        if measured:  # the user's own runs (gpuplanner calibrate), beside the curve
            items.append(("Your measured runs", MEASURED, "box"))
        legend_h = legend(painter, ink, rect.left(), rect.top(), rect.width(), items) + ink.pt(8)
        curve = perf.curve
        top_total = max([p.high_output_tokens_per_s for p in curve] + [v for _, v in measured])
        top_user = max(p.tokens_per_s_per_user for p in curve)
        left_ticks, right_ticks = nice_ticks(top_total), nice_ticks(top_user)
        label_w = max(ink.width(tick_label(t), "small") for t in left_ticks) + ink.pt(6)
        right_w = max(ink.width(tick_label(t), "small") for t in right_ticks) + ink.pt(6)
        axis_h = 2 * ink.line_height("small") + ink.pt(4)
        plot = QRectF(rect.left() + label_w, rect.top() + legend_h, rect.width() - label_w - right_w, 0)
        plot.setHeight(rect.height() - legend_h - axis_h)
        lo, hi = math.log2(curve[0].concurrency), math.log2(curve[-1].concurrency)

        def x_of(c: float) -> float:
            return plot.left() + (math.log2(c) - lo) / max(hi - lo, 1e-9) * plot.width()

        def y_of(v: float, ticks: list[float]) -> float:
            return plot.bottom() - v / ticks[-1] * plot.height()

        small_h = ink.line_height("small")
        for t in left_ticks:
            y = y_of(t, left_ticks)
            painter.setPen(QPen(HAIRLINE if t else RULE, ink.pt(0.5)))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            ink.draw_lines(
                painter,
                [tick_label(t)],
                rect.left(),
                y - small_h / 2,
                label_w - ink.pt(4),
                size="small",
                colour=FAINT,
                align="right",
            )
        for t in right_ticks:
            y = y_of(t, right_ticks)
            ink.draw_lines(
                painter,
                [tick_label(t)],
                plot.right() + ink.pt(4),
                y - small_h / 2,
                right_w,
                size="small",
                colour=FAINT,
            )
        for p in curve:
            x = x_of(p.concurrency)
            w = ink.width(str(p.concurrency), "small") + ink.pt(4)
            ink.draw_lines(
                painter,
                [str(p.concurrency)],
                x - w / 2,
                plot.bottom() + ink.pt(2),
                w,
                size="small",
                colour=FAINT,
                align="center",
            )
        caption = "concurrent requests (log scale)"
        ink.draw_lines(
            painter,
            [caption],
            plot.left(),
            plot.bottom() + ink.pt(2) + small_h,
            plot.width(),
            size="small",
            colour=MUTED,
            align="center",
        )
        band = QPolygonF([QPointF(x_of(p.concurrency), y_of(p.high_output_tokens_per_s, left_ticks)) for p in curve]
                         + [QPointF(x_of(p.concurrency), y_of(p.low_output_tokens_per_s, left_ticks)) for p in reversed(curve)])  # fmt: skip
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(47, 111, 237, 40))
        painter.drawPolygon(band)
        _polyline(
            painter,
            [QPointF(x_of(p.concurrency), y_of(p.output_tokens_per_s, left_ticks)) for p in curve],
            QPen(ACCENT, ink.pt(1.6)),
        )
        dash = QPen(MUTED, ink.pt(1.1))
        dash.setStyle(Qt.PenStyle.DashLine)
        _polyline(
            painter,
            [QPointF(x_of(p.concurrency), y_of(p.tokens_per_s_per_user, right_ticks)) for p in curve],
            dash,
        )
        if perf.saturation_concurrency:
            x = x_of(perf.saturation_concurrency)
            sat = QPen(FAINT, ink.pt(0.8))
            sat.setStyle(Qt.PenStyle.DotLine)
            painter.setPen(sat)
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
        for concurrency, value in measured:
            at = QPointF(
                min(max(x_of(max(concurrency, 1)), plot.left()), plot.right()), y_of(value, left_ticks)
            )
            r = ink.pt(3.2)
            painter.setPen(QPen(QColor("#ffffff"), ink.pt(0.8)))
            painter.setBrush(MEASURED)
            painter.drawPolygon(
                QPolygonF([at + QPointF(0, -r), at + QPointF(r, 0), at + QPointF(0, r), at + QPointF(-r, 0)])
            )
        _mark_plan(
            painter,
            ink,
            QPointF(x_of(perf.concurrency), y_of(perf.output_tokens_per_s, left_ticks)),
            plot,
            perf,
        )

    return paint


def _polyline(painter: QPainter, points: list[QPointF], pen: QPen) -> None:
    path = QPainterPath(points[0])
    for p in points[1:]:
        path.lineTo(p)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(path)


def _mark_plan(painter: QPainter, ink: Ink, at: QPointF, plot: QRectF, perf: PerformanceReport) -> None:
    radius = ink.pt(3)
    painter.setPen(QPen(QColor("#ffffff"), ink.pt(1)))
    painter.setBrush(ACCENT)
    painter.drawEllipse(at, radius, radius)
    text = f"this plan: {perf.concurrency} requests, {fmt.total_rate(perf.output_tokens_per_s)}"
    w = ink.width(text, "small", True) + ink.pt(4)
    x = at.x() + ink.pt(6) if at.x() + ink.pt(6) + w < plot.right() else at.x() - ink.pt(6) - w
    y = at.y() + ink.pt(4) if at.y() - plot.top() < ink.pt(16) else at.y() - ink.pt(14)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(255, 255, 255, 220))
    painter.drawRoundedRect(
        QRectF(x - ink.pt(2), y, w + ink.pt(2), ink.line_height("small")), ink.pt(2), ink.pt(2)
    )
    ink.draw_lines(painter, [text], x, y, w, size="small", bold=True, colour=INK)
