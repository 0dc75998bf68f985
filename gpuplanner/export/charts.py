"""The report's charts: per-GPU memory budget, decode-step split, throughput against concurrency and the
layer map. Each takes the report (never the document) and paints vectors into a rectangle."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from gpuplanner.core.budget import budgets, used_bytes
from gpuplanner.core.report import PerformanceReport, Report
from gpuplanner.core.specs import GIB
from gpuplanner.export import formats as fmt
from gpuplanner.export.drawing import BarRow, nice_ticks, stacked_bars
from gpuplanner.export.theme import (
    CAPACITY_COLOUR,
    FAINT,
    FREE_COLOUR,
    HAIRLINE,
    INK,
    MEMORY_PARTS,
    OVER_COLOUR,
    STAGE_COLOURS,
    STEP_PARTS,
    STRANDED_COLOUR,
    Ink,
)


def memory_chart(report: Report):
    """A painter for the budget chart: each GPU's ledger stacked up to its capacity, the budget ticked."""

    def paint(painter: QPainter, rect: QRectF, ink: Ink) -> None:
        rows = []
        bars = budgets(report.gpus, [key for key, _, _ in MEMORY_PARTS], 1 / GIB)
        for i, g in enumerate(report.gpus):
            cap, used = g.capacity_bytes / GIB, used_bytes(g) / GIB
            lengths, over, stranded, free = bars.lengths(i)
            parts = [(v, colour) for v, (_, _, colour) in zip(lengths, MEMORY_PARTS, strict=True)]
            tail = [(stranded, STRANDED_COLOUR), (free, FREE_COLOUR)]
            if over > 0:  # what does not fit is drawn past the capacity line, in red
                tail = [(over, OVER_COLOUR)]
            end = f"{used:,.1f} of {cap:,.1f}" + (" · over" if over > 0 else "")
            rows.append(BarRow(g.id, (*parts, *tail), g.budget_bytes / GIB, end))
        host = report.host
        if host is not None:
            # system RAM holding offloaded layers or experts: what it holds (its capacity in the label, so
            # a RAM many times a GPU's memory does not shrink the GPUs' bars)
            weights_colour, kv_colour = MEMORY_PARTS[0][2], MEMORY_PARTS[1][2]
            segments = ((host.weights_bytes / GIB, weights_colour), (host.kv_cache_bytes / GIB, kv_colour))
            ram = f" of {host.ram_bytes / GIB:,.0f} GiB RAM" if host.ram_bytes else " in RAM"
            rows.append(BarRow("host", segments, None, f"{host.memory_bytes / GIB:,.1f}{ram}"))
        top = max((max(sum(v for v, _ in r.segments), r.marker or 0) for r in rows), default=1.0)
        items = [(label, colour, "box") for _, label, colour in MEMORY_PARTS]
        if any(g.stranded_bytes >= 0.005 * GIB for g in report.gpus):
            items.append(("Stranded KV", STRANDED_COLOUR, "box"))
        items += [("Free", FREE_COLOUR, "box")]
        if any(r.segments[-1][1] == OVER_COLOUR for r in rows):
            items.append(("Over capacity", OVER_COLOUR, "box"))
        items.append(("Engine budget", CAPACITY_COLOUR, "line"))
        stacked_bars(painter, rect, ink, rows, unit="GiB", legend_items=items, top_value=top)

    return paint


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
            key: (f"Replica {key[0] + 1} · stage {key[1] + 1}" if several else f"Stage {key[1] + 1}")
            for key in stages
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
            w = ink.width(str(tick), "small") + ink.pt(8)
            ink.draw_lines(
                painter,
                [str(tick)],
                min(x - w / 2, rect.right() - w),  # the last tick ends inside the drawing, not cut off
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
