"""Link traffic on the canvas: each link the plan uses glows in a colour and thickness set by the share of
its bandwidth the plan needs, with bytes per token in its tooltip.

Drawn as an overlay under the rack's own items, so the canvas's items stay projections of the document:
- an explicit link (NVLink, bridge) gets a glow along its own curve;
- traffic inside one server (NVSwitch, PCIe) outlines the GPUs that share it;
- traffic between servers follows a curve between their network ports.
"""

from __future__ import annotations

import itertools
from typing import Any

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from gpuplanner.core.report import LinkTraffic, Report
from gpuplanner.gui.panel.style import fmt_bytes

PAD = 4.0  # an outline's distance from its cards: under half the gap between two cards


def traffic_colour(share: float) -> QColor:
    """Green while the link has room, amber from 30 %, red from 70 % of its bandwidth."""
    colour = QColor("#30a46c" if share < 0.3 else "#f5a524" if share < 0.7 else "#e5484d")
    colour.setAlpha(150)
    return colour


def traffic_width(share: float) -> float:
    """3 px idle to 15 px saturated, in half-pixel steps: a share that moves by a fraction of a percent
    does not repaint the glow."""
    return round(2 * (3.0 + 12.0 * min(max(share, 0.0), 1.0))) / 2


def traffic_tooltip(t: LinkTraffic) -> str:
    return (
        f"<b>{t.name}</b> · {t.purpose}<br>{fmt_bytes(t.bytes_per_token)} per token"
        f" ({t.bytes_per_token:,.0f} B) · <b>{t.share_of_bandwidth:.1%}</b> of its bandwidth at the plan's"
        f" throughput<br>GPUs: {', '.join(t.gpus)}"
    )


class GlowItem(QGraphicsPathItem):
    """A glow answers to the mouse on its stroke only: an outline around a server's GPUs must not take
    the cards' tooltips (or clicks) inside it."""

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker(self.pen())
        return stroker.createStroke(self.path())


class TrafficOverlay:
    """Keeps one glow item per link the report's performance names; items are reused between reports."""

    Z = 0.5  # above the servers, under the GPU cards (1) and links (2)

    def __init__(self, scene: Any) -> None:
        self.scene = scene
        self.items: list[QGraphicsPathItem] = []
        self.traffic: tuple[LinkTraffic, ...] = ()
        self._placed: tuple[object, int] | None = None  # the traffic and scene geometry last placed

    def set_report(self, report: Report | None) -> None:
        perf = report.performance if report is not None else None
        self.traffic = perf.links if perf is not None else ()
        self.refresh()

    def refresh(self) -> None:
        """Place the glows on the items' current positions (after an edit moved them); nothing to do
        when neither the traffic nor where the items sit changed (a workload edit, before its report)."""
        placed = (self.traffic, getattr(self.scene, "geometry_version", -1))
        if self._placed is not None and placed[0] is self._placed[0] and placed[1] == self._placed[1] != -1:
            return
        self._placed = placed
        shown = 0
        seen: dict[str, int] = {}
        for t in self.traffic:
            path = self._path(t, seen)
            if path is None:
                continue
            if shown == len(self.items):
                item = GlowItem()
                item.setZValue(self.Z)
                item.setAcceptHoverEvents(True)  # for its tooltip; clicks go to what lies under it
                item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
                self.scene.addItem(item)
                self.items.append(item)
            item = self.items[shown]
            pen = QPen(traffic_colour(t.share_of_bandwidth), traffic_width(t.share_of_bandwidth))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            # most edits leave most glows as they were: setting an equal pen or path still repaints
            if item.pen() != pen:
                item.setPen(pen)
            if item.path() != path:
                item.setPath(path)
            tip = traffic_tooltip(t)
            if item.toolTip() != tip:
                item.setToolTip(tip)
            if not item.isVisible():
                item.show()
            shown += 1
        for item in self.items[shown:]:
            if item.isVisible():
                item.hide()

    def visible(self) -> list[QGraphicsPathItem]:
        return [i for i in self.items if i.isVisible()]

    def _path(self, t: LinkTraffic, seen: dict[str, int]) -> QPainterPath | None:
        gpus = [self.scene.gpus[g] for g in t.gpus if g in self.scene.gpus]
        if len(gpus) < 2:
            return None
        members = set(t.gpus)
        for link in self.scene.links.values():
            if link.link.kind == t.link and {link.link.a, link.link.b} <= members:
                return QPainterPath(link.path())
        nodes = {g.parentItem() for g in gpus}
        if len(nodes) == 1:
            # one server: outline exactly the GPUs sharing it (each card's own frame, merged), never a
            # box that takes in other cards between them nor one that spills past the server's frame
            path = QPainterPath()
            for g in gpus:
                card = QPainterPath()
                card.addRoundedRect(g.sceneBoundingRect().adjusted(-PAD, -PAD, PAD, PAD), 8, 8)
                path = path.united(card)
            return path.simplified()
        ports = [n.nic_port() for n in nodes if hasattr(n, "nic_port")]
        if len(ports) < 2:
            return None
        ports.sort(key=lambda p: p.x())
        low = max(p.y() for p in ports) + 34
        path = QPainterPath(ports[0])
        for a, b in itertools.pairwise(ports):
            path.cubicTo(QPointF(a.x(), low), QPointF(b.x(), low), b)
        return path
