"""The report's charts: per-GPU memory budget, decode-step split, throughput against concurrency and the
layer map. Each takes the report (never the document) and paints vectors into a rectangle."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPolygonF

from gpuplanner.core.report import PerformanceReport, Report
from gpuplanner.export import formats as fmt
from gpuplanner.export.drawing import BarRow, legend, nice_ticks, stacked_bars, tick_label
from gpuplanner.export.theme import (
    ACCENT,
    CAPACITY_COLOUR,
    FAINT,
    FREE_COLOUR,
    HAIRLINE,
    INK,
    MEMORY_PARTS,
    MUTED,
    OVER_COLOUR,
    RULE,
    STAGE_COLOURS,
    STEP_PARTS,
    STRANDED_COLOUR,
    Ink,
)

GIB = 2**30


def memory_chart(report: Report):
    """A painter for the budget chart: each GPU's ledger stacked up to its capacity, the budget ticked."""

    def paint(painter: QPainter, rect: QRectF, ink: Ink) -> None:
        rows = []
        for g in report.gpus:
            cap = g.capacity_bytes / GIB
            parts = [(getattr(g.memory_bytes, key) / GIB, colour) for key, _, colour in MEMORY_PARTS]
            used = sum(v for v, _ in parts)
            stranded = min(g.stranded_bytes / GIB, max(cap - used, 0.0))
            tail = [(stranded, STRANDED_COLOUR), (max(cap - used - stranded, 0.0), FREE_COLOUR)]
            if used > cap:  # what does not fit is drawn past the capacity line, in red
                parts, over = _clip(parts, cap), used - cap
                tail = [(over, OVER_COLOUR)]
            end = f"{used:,.1f} of {cap:,.1f}" + (" · over" if used > cap else "")
            rows.append(BarRow(g.id, (*parts, *tail), g.budget_bytes / GIB, end))
        top = max((max(sum(v for v, _ in r.segments), r.marker or 0) for r in rows), default=1.0)
        items = [(label, colour, "box") for _, label, colour in MEMORY_PARTS]
        if any(g.stranded_bytes for g in report.gpus):
            items.append(("Stranded KV", STRANDED_COLOUR, "box"))
        items += [("Free", FREE_COLOUR, "box")]
        if any(r.segments[-1][1] == OVER_COLOUR for r in rows):
            items.append(("Over capacity", OVER_COLOUR, "box"))
        items.append(("Engine budget", CAPACITY_COLOUR, "line"))
        stacked_bars(painter, rect, ink, rows, unit="GiB", legend_items=items, top_value=top)

    return paint


def _clip(parts: list[tuple[float, QColor]], cap: float) -> list[tuple[float, QColor]]:
    out, level = [], 0.0
    for value, colour in parts:
        out.append((max(min(value, cap - level), 0.0), colour))
        level += value
    return out


def _grouped_steps(perf: PerformanceReport) -> list[tuple[str, tuple[float, ...]]]:
    """Consecutive GPUs with the same split share one bar ('g0_0 – g0_7')."""
    groups: list[tuple[list[str], tuple[float, ...]]] = []
    for step in perf.step_split:
        values = tuple(round(getattr(step, key), 9) for key, _, _ in STEP_PARTS)
        if groups and groups[-1][1] == values:
            groups[-1][0].append(step.gpu)
        else:
            groups.append(([step.gpu], values))
    return [(ids[0] if len(ids) == 1 else f"{ids[0]} – {ids[-1]}", values) for ids, values in groups]


def step_rows(perf: PerformanceReport) -> int:
    return len(_grouped_steps(perf))


def step_chart(perf: PerformanceReport):
    """A painter for one decode step per GPU, split into its parts, in milliseconds."""

    def paint(painter: QPainter, rect: QRectF, ink: Ink) -> None:
        rows = []
        for label, values in _grouped_steps(perf):
            segments = tuple((v * 1000, colour) for v, (_, _, colour) in zip(values, STEP_PARTS, strict=True))
            rows.append(BarRow(label, segments, None, f"{sum(values) * 1000:,.1f}"))
        items = [(label, colour, "box") for _, label, colour in STEP_PARTS]
        stacked_bars(painter, rect, ink, rows, unit="ms", legend_items=items)

    return paint


def throughput_chart(perf: PerformanceReport):
    """A painter for total output tokens/s against concurrency (log scale), with its low-high band,
    tokens/s per user on the right axis and the plan's own concurrency marked."""

    def paint(painter: QPainter, rect: QRectF, ink: Ink) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        items = [("Total output tokens/s", ACCENT, "line"), ("Low – high band", QColor(47, 111, 237, 60), "box"),
                 ("Tokens/s per user (right axis)", MUTED, "dash")]  # fmt: skip
        legend_h = legend(painter, ink, rect.left(), rect.top(), rect.width(), items) + ink.pt(8)
        curve = perf.curve
        top_total = max(p.high_output_tokens_per_s for p in curve)
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


def layer_map_rows(report: Report) -> int:
    return len({(g.replica, g.stage) for g in report.gpus})


def layer_map(report: Report, num_layers: int):
    """A painter for the layer map: one bar per pipeline stage over the model's layers, with its GPUs."""

    def paint(painter: QPainter, rect: QRectF, ink: Ink) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        stages: dict[tuple[int, int], list] = {}
        for g in report.gpus:
            stages.setdefault((g.replica, g.stage), []).append(g)
        several = len({r for r, _ in stages}) > 1
        labels = {
            key: (f"Replica {key[0]} · stage {key[1]}" if several else f"Stage {key[1]}") for key in stages
        }
        label_w = max(ink.width(t, "small", True) for t in labels.values()) + ink.pt(10)
        axis_h = ink.line_height("small") + ink.pt(4)
        plot = QRectF(rect.left() + label_w, rect.top(), rect.width() - label_w, rect.height() - axis_h)
        scale = plot.width() / max(num_layers, 1)
        pitch = plot.height() / max(len(stages), 1)
        bar_h = min(pitch * 0.72, ink.pt(20))
        for tick in _layer_ticks(num_layers):
            x = plot.left() + tick * scale
            painter.setPen(QPen(HAIRLINE, ink.pt(0.5)))
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            w = ink.width(str(tick), "small") + ink.pt(4)
            ink.draw_lines(
                painter,
                [str(tick)],
                x - w / 2,
                plot.bottom() + ink.pt(2),
                w,
                size="small",
                colour=FAINT,
                align="center",
            )
        for i, (key, gpus) in enumerate(sorted(stages.items())):
            cy = plot.top() + pitch * (i + 0.5)
            small_h = ink.line_height("small")
            ink.draw_lines(
                painter,
                [labels[key]],
                rect.left(),
                cy - small_h / 2,
                label_w,
                size="small",
                bold=True,
                colour=INK,
            )
            first, last = gpus[0].layers
            bar = QRectF(
                plot.left() + first * scale, cy - bar_h / 2, max((last - first) * scale, ink.pt(2)), bar_h
            )
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(STAGE_COLOURS[key[1] % len(STAGE_COLOURS)])
            painter.drawRoundedRect(bar, ink.pt(2), ink.pt(2))
            ids = [g.id for g in sorted(gpus, key=lambda g: g.tp_rank)]
            text = f"layers {fmt.layer_range((first, last))} · TP {len(ids)}: {ids[0]}" + (
                f" … {ids[-1]}" if len(ids) > 1 else ""
            )
            text = ink.metrics("small").elidedText(text, Qt.TextElideMode.ElideRight, bar.width() - ink.pt(8))
            ink.draw_lines(
                painter,
                [text],
                bar.left() + ink.pt(4),
                cy - small_h / 2,
                bar.width(),
                size="small",
                colour=QColor("#ffffff"),
            )

    return paint


def _layer_ticks(num_layers: int) -> list[int]:
    step = max(1, int(nice_ticks(num_layers, 8)[1]))
    ticks = list(range(0, num_layers, step))
    return [*ticks, num_layers] if num_layers - ticks[-1] > step / 3 else [*ticks[:-1], num_layers]
