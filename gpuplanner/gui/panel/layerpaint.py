"""Painting of the layer map (kept apart from its mouse handling): title, per-stage labels, the cells
coloured by stage, boundary grips, the selected range and a boundary being dragged."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen

from gpuplanner.gui.panel.style import SELECTION_COLOUR, ChartColours, fmt_bytes, stage_colour

MARGIN, TITLE_H, LABEL_H, STRIP_H, GAP = 8.0, 2.0, 16.0, 26.0, 8.0
DRAG_COLOUR = "#111827"


def _gpu_span(gpus: tuple[str, ...]) -> str:
    return gpus[0] if len(gpus) == 1 else f"{gpus[0]}…{gpus[-1]} (TP {len(gpus)})"


def _stage_label(
    s: int, gpus: tuple[str, ...], a: int, b: int, nbytes: float, room: int, metrics: QFontMetrics
) -> str:
    """The longest of three labels that fits ``room`` pixels."""
    for text in (
        f"Stage {s + 1} · {_gpu_span(gpus)} · layers {a}–{b - 1} · {fmt_bytes(nbytes)}",
        f"S{s + 1} · {b - a} layers · {fmt_bytes(nbytes)}",
        f"S{s + 1} · {b - a} L",
    ):
        if metrics.horizontalAdvance(text) <= room:
            return text
    return f"S{s + 1}"


def paint_layer_map(widget: Any, p: QPainter, colours: ChartColours, exposed: QRectF | None = None) -> None:
    """Paint the layer map; only the replicas' rows that meet ``exposed`` (the paint event's rectangle),
    so a plan of hundreds of replicas in a scrolled panel paints the few rows on screen."""
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.fillRect(widget.rect(), colours.background)
    font = QFont(widget.font())
    font.setPointSizeF(max(font.pointSizeF() - 1, 7.5))
    p.setFont(font)
    metrics = QFontMetrics(font)
    data = widget.data
    width = widget.width() - 2 * MARGIN
    if data is None:
        p.setPen(colours.muted)
        p.drawText(widget.rect(), Qt.AlignmentFlag.AlignCenter, widget.message or "no layers to show")
        return
    edges = widget.edges()
    drag = widget.drag_state()
    for r, stages in enumerate(data.replicas):
        top = widget.row_top(r)
        if exposed is not None and (top - LABEL_H > exposed.bottom() or top + STRIP_H + GAP < exposed.top()):
            continue
        cuts = [st.layers[1] for st in stages[:-1]]
        if drag is not None and drag[0] == r:
            cuts[drag[1]] = drag[2]
        bounds = [0, *cuts, data.num_layers]
        for s, stage in enumerate(stages):
            colour = stage_colour(s)
            a, b = bounds[s], bounds[s + 1]
            x0 = edges[0] if s == 0 else edges[a + 1]
            x1 = edges[-1] if s == len(stages) - 1 else edges[b + 1]
            layer_bytes = sum(data.layer_bytes[a:b]) + (data.embed_bytes if s == 0 else 0.0)
            layer_bytes += data.head_bytes if s == len(stages) - 1 else 0.0
            room = int(x1 - x0 - 4)
            label = _stage_label(s, stage.gpus, a, b, layer_bytes, room, metrics)
            if len(data.replicas) > 1 and s == 0:
                label = f"R{r + 1} " + label
            p.setPen(colour.darker(135) if not colours.dark else colour.lighter(130))
            p.drawText(QRectF(x0 + 2, top - LABEL_H, room, LABEL_H), Qt.AlignmentFlag.AlignVCenter,
                       metrics.elidedText(label, Qt.TextElideMode.ElideRight, room))  # fmt: skip
            for i in range(a, b):
                cell = QRectF(edges[i + 1], top, edges[i + 2] - edges[i + 1], STRIP_H)
                p.fillRect(cell, colour.lighter(112) if i % 2 else colour)
        _paint_ends(p, edges, top, stage_colour(0), stage_colour(len(stages) - 1), metrics)
        if data.host_layers:
            _paint_host(p, edges, top, data.host_layers, colours, metrics)
        p.setPen(QPen(colours.foreground, 2.5))
        for s, cut in enumerate(cuts):
            x = edges[cut + 1]
            dragging = drag is not None and drag[0] == r and drag[1] == s
            p.setPen(QPen(QColor(DRAG_COLOUR) if dragging else colours.foreground, 4 if dragging else 2.5))
            p.drawLine(QPointF(x, top - 3), QPointF(x, top + STRIP_H + 3))
            p.setBrush(colours.foreground)
            p.drawEllipse(QPointF(x, top + STRIP_H / 2), 3.5, 3.5)
        sel = widget.selection
        if sel is not None and sel[0] == r:
            rect = QRectF(edges[sel[1] + 1], top - 2, edges[sel[2] + 1] - edges[sel[1] + 1], STRIP_H + 4)
            fill = QColor(SELECTION_COLOUR)
            fill.setAlpha(70)
            p.setBrush(QBrush(fill))
            p.setPen(QPen(QColor(SELECTION_COLOUR), 2))
            p.drawRoundedRect(rect, 3, 3)
    if drag is not None:
        r, b, layer = drag
        before = data.replicas[r][b].layers[1]
        moved = layer - before
        text = boundary_text(b, layer, moved)
        p.setPen(colours.foreground)
        p.drawText(
            QRectF(MARGIN, widget.row_top(r) + STRIP_H + 1, width, GAP + 4), Qt.AlignmentFlag.AlignRight, text
        )


HOST_SHADE = "#4B5563"


def _paint_host(
    p: QPainter, edges: list[float], top: float, layers: int, colours: ChartColours, metrics: QFontMetrics
) -> None:
    """The layers, the embeddings and the output head kept in system RAM: shaded over their cells."""
    shade = QColor(HOST_SHADE)
    shade.setAlpha(150)
    for x0, x1 in ((edges[0], edges[layers + 1]), (edges[-2], edges[-1])):
        rect = QRectF(x0, top, x1 - x0, STRIP_H)
        p.fillRect(rect, shade)
        p.fillRect(rect, QBrush(QColor("#F9FAFB"), Qt.BrushStyle.FDiagPattern))
    rect = QRectF(edges[1], top, edges[layers + 1] - edges[1], STRIP_H)
    for text in (f"system RAM · layers 0–{layers - 1}", "RAM"):
        if rect.width() > metrics.horizontalAdvance(text) + 6:
            p.setPen(QColor("#FFFFFF"))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
            break


def _paint_ends(
    p: QPainter, edges: list[float], top: float, first: QColor, last: QColor, metrics: QFontMetrics
) -> None:
    """Embeddings (before layer 0) and lm_head (after the last layer), hatched in their stage's colour."""
    for x0, x1, colour, text in ((edges[0], edges[1], first, "emb"), (edges[-2], edges[-1], last, "head")):
        rect = QRectF(x0, top, x1 - x0, STRIP_H)
        p.fillRect(rect, colour.lighter(150))
        p.fillRect(rect, QBrush(colour.darker(120), Qt.BrushStyle.BDiagPattern))
        if rect.width() > metrics.horizontalAdvance(text) + 4:
            p.setPen(QColor("#111827"))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def boundary_text(boundary: int, layer: int, moved: int) -> str:
    """What a boundary drag does, stages counted from 1: the boundary between stage ``boundary + 1`` and
    ``boundary + 2`` moved left (``moved`` < 0) hands layers to the later stage, right to the earlier."""
    to = boundary + 2 if moved < 0 else boundary + 1
    return f"boundary at layer {layer}: {abs(moved)} layer{'s' if abs(moved) != 1 else ''} to stage {to}"
