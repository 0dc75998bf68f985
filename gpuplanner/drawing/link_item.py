"""LinkItem (a direct GPU-to-GPU link) and FabricItem (the network between servers)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from gpuplanner.core.plan import Link
from gpuplanner.drawing.labels import Labels, link_tooltip
from gpuplanner.drawing.style import RackStyle, link_colour, link_width


def arc_path(a: QPointF, b: QPointF) -> QPainterPath:
    """A curve from ``a`` to ``b`` that rises above both (ports sit on the cards' top edges), staying
    within the lane above a row of cards; longer links rise higher so that they do not coincide."""
    distance = abs(b.x() - a.x()) + abs(b.y() - a.y())
    rise = 10.0 + 12.0 * min(distance / 500.0, 1.0)
    top = min(a.y(), b.y()) - rise
    path = QPainterPath(a)
    path.cubicTo(QPointF(a.x(), top), QPointF(b.x(), top), b)
    return path


class LinkItem(QGraphicsPathItem):
    """Projection of one explicit ``Link``: coloured by kind, as thick as its bandwidth."""

    KIND = "link"

    def __init__(self, link: Link, labels: Labels) -> None:
        super().__init__()
        self.link_id = link.id
        self.link = link
        self._labels = labels
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(2)
        self.setAcceptHoverEvents(True)
        self.update_from(link)

    def update_from(self, link: Link) -> None:
        self.link = link
        spec = self._labels.link(link.kind)
        pen = QPen(
            link_colour(spec.kind if spec else "host"),
            link_width(spec.bandwidth_gbps_per_direction if spec else 10),
        )
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        if spec is None:
            pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)
        tip = link_tooltip(spec) if spec else f"<b>{link.kind}</b>: not in the catalog"
        self.setToolTip(f"{tip}<br>{link.a} ↔ {link.b} ({link.id})")

    def set_ends(self, a: QPointF, b: QPointF) -> None:
        """Ends in scene coordinates (the item may live inside its server)."""
        parent = self.parentItem()
        if parent is not None:
            a, b = parent.mapFromScene(a), parent.mapFromScene(b)
        self.setPath(arc_path(a, b))

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(max(self.pen().widthF(), 8.0))
        return stroker.createStroke(self.path())

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.isSelected():
            halo = QPen(QColor(76, 141, 255, 110), self.pen().widthF() + 6)
            halo.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(halo)
            painter.drawPath(self.path())
        painter.setPen(self.pen())
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())


class FabricItem(QGraphicsItem):
    """The network switch between servers, with a line to each server's network cards."""

    def __init__(self, labels: Labels, style: RackStyle) -> None:
        super().__init__()
        self._labels = labels
        self._style = style
        self._box = QRectF()
        self._lines: list[tuple[QPointF, QColor, float]] = []
        self._title = ""
        self._key: tuple[object, ...] | None = None
        self.setZValue(-1)

    def update_from(
        self, fabric: str | None, ports: list[tuple[QPointF, str | None, int]], style: RackStyle
    ) -> None:
        """``ports``: per server, its network port (scene), its NIC link id (None: the fabric), NIC count."""
        key = (fabric, tuple((p.x(), p.y(), nic, count) for p, nic, count in ports), style)
        if key == self._key:
            return  # an edit that moved no server and changed no network: keep the drawing
        self._key = key
        self.prepareGeometryChange()
        self._style = style
        spec = self._labels.link(fabric)
        self._title = f"Fabric: {spec.name}" if spec else "Fabric between servers"
        if not ports:
            self._box, self._lines = QRectF(), []
            return
        xs = [p.x() for p, _, _ in ports]
        bottom = max(p.y() for p, _, _ in ports)
        width = max(260.0, min(max(xs) - min(xs), 520.0))
        centre = (min(xs) + max(xs)) / 2
        self._box = QRectF(centre - width / 2, bottom + 60, width, 34)
        self._lines = []
        for point, nic, count in ports:
            link = self._labels.link(nic or fabric)
            colour = link_colour(link.kind if link else "ethernet")
            self._lines.append(
                (point, colour, link_width((link.bandwidth_gbps_per_direction if link else 12.5) * count))
            )
        self.setToolTip(f"<b>{self._title}</b><br>Servers talk to each other through their network cards.")
        self.update()

    def boundingRect(self) -> QRectF:
        rect = QRectF(self._box)
        for point, _, _ in self._lines:
            rect = rect.united(QRectF(point, point).adjusted(-6, -6, 6, 6))
        return rect.adjusted(-8, -8, 8, 8)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self._box.isNull():
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for point, colour, width in self._lines:
            target = QPointF(
                min(max(point.x(), self._box.left() + 16), self._box.right() - 16), self._box.top()
            )
            path = QPainterPath(point)
            mid = (point.y() + target.y()) / 2
            path.cubicTo(QPointF(point.x(), mid), QPointF(target.x(), mid), target)
            painter.setPen(QPen(colour, width))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
        painter.setPen(QPen(self._style.node_border, 1.2))
        painter.setBrush(self._style.node_fill)
        painter.drawRoundedRect(self._box, 8, 8)
        font = QFont(painter.font())
        font.setPointSizeF(9)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(self._style.text)
        painter.drawText(self._box, Qt.AlignmentFlag.AlignCenter, self._title)
