"""The rig page: the window's own rack drawing (``gpuplanner.drawing.scene.RackScene``), on paper.

The scene is built from the plan exactly as the window builds it, with the light palette, no dot grid,
and a tag on each direct link naming its kind and bandwidth (the window shows those in tooltips, which
paper has not). It is recorded into a ``QPicture`` and replayed onto the PDF: that keeps it vectors and
keeps the items' point-size fonts in proportion to the boxes at any scale (a direct
``QGraphicsScene.render`` onto a 300-dpi writer draws the text three times too large).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette, QPen, QPicture
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QStyleOptionGraphicsItem, QWidget

from gpuplanner.core.catalog import Catalog
from gpuplanner.core.plan import Plan
from gpuplanner.core.report import Report
from gpuplanner.core.specs import LinkSpec
from gpuplanner.drawing import geometry as geo
from gpuplanner.drawing.labels import Labels
from gpuplanner.drawing.link_item import FabricItem
from gpuplanner.drawing.scene import RackScene
from gpuplanner.drawing.style import LINK_KIND_NAMES, RackStyle, link_colour
from gpuplanner.export.content import Cell, Column, PlanFacts, TableData
from gpuplanner.export.theme import FAMILY, RULE, Ink

SCREEN_DPI = 96.0  # the scene's units are the window's pixels at 100% zoom
MAX_LINK_TAGS = 8  # more direct links than this (an xGMI mesh) are named in the legend only


class _PaperRackScene(RackScene):
    """The window's scene on paper: no dot grid behind it, no hints about dragging things."""

    interactive_hints = False

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        pass


class LinkTag(QGraphicsItem):
    """'NVLink · 450 GB/s' in a small pill at the top of a link's arc."""

    def __init__(self, text: str, colour: QColor, at: QPointF, style: RackStyle) -> None:
        super().__init__()
        self._text, self._colour, self._style = text, colour, style
        self._font = QFont(FAMILY)
        self._font.setPointSizeF(7)
        width = QFontMetricsF(self._font).horizontalAdvance(text) + 12
        self._rect = QRectF(-width / 2, -8, width, 16)
        self.setPos(at)
        self.setZValue(3)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self._colour, 1.2))
        painter.setBrush(self._style.node_fill)
        painter.drawRoundedRect(self._rect, 8, 8)
        painter.setFont(self._font)
        painter.setPen(self._style.text)
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self._text)


def _light_style() -> RackStyle:
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#ffffff"))
    return RackStyle.from_palette(palette)


def build_rack_scene(plan: Plan, report: Report | None, catalog: Catalog) -> QGraphicsScene:
    """The window's rack scene for ``plan`` (light palette, memory fill from ``report``), laid out side
    by side when servers overlap (as the window does on opening such a file), with link tags."""
    if geo.overlapping([(n.x, n.y, n.slots) for n in plan.rig.nodes]):
        spots = geo.arranged([n.slots for n in plan.rig.nodes])
        nodes = tuple(
            n.model_copy(update={"x": x, "y": y}) for n, (x, y) in zip(plan.rig.nodes, spots, strict=True)
        )
        plan = plan.model_copy(update={"rig": plan.rig.model_copy(update={"nodes": nodes})})
    labels = Labels(catalog)
    scene = _PaperRackScene(labels)
    scene.style = _light_style()
    scene.sync(plan)
    scene.set_report(report)
    if len(scene.links) <= MAX_LINK_TAGS:
        for item in scene.links.values():
            spec = labels.link(item.link.kind)
            if spec is None:
                continue
            text = f"{LINK_KIND_NAMES.get(spec.kind, spec.kind)} · {spec.bandwidth_gbps_per_direction:g} GB/s"
            scene.addItem(LinkTag(text, link_colour(spec.kind), item.path().pointAtPercent(0.5), scene.style))
    return scene


def _record(scene: QGraphicsScene, source: QRectF) -> QPicture:
    picture = QPicture()
    painter = QPainter(picture)
    try:
        scene.render(painter, QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()
    return picture


def scene_painter(scene: QGraphicsScene, source: QRectF | None = None, *, one_server: bool = False):
    """A painter for a ``Graphic`` block: ``source`` (scene units; default everything) scaled to fit.
    ``one_server``: a close-up of one server, drawn without the network between servers (its arc would
    hang cut off below the server, and its label would sit outside the page's drawing)."""
    area = (source or scene.itemsBoundingRect()).adjusted(-10, -10, 10, 10)
    hidden = [i for i in scene.items() if isinstance(i, FabricItem) and i.isVisible()] if one_server else []
    for item in hidden:
        item.hide()
    try:
        picture = _record(scene, area)
    finally:
        for item in hidden:
            item.show()

    def paint(painter: QPainter, rect: QRectF, ink: Ink) -> None:
        device_per_unit = min(rect.width() / area.width(), rect.height() / area.height())
        width, height = area.width() * device_per_unit, area.height() * device_per_unit
        left = rect.left() + (rect.width() - width) / 2
        painter.setPen(QPen(RULE, ink.pt(0.6)))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(QRectF(rect.left(), rect.top(), rect.width(), height), ink.pt(3), ink.pt(3))
        painter.translate(left, rect.top())
        # QPainter.drawPicture scales a 96-dpi picture to the device's resolution by itself.
        painter.scale(device_per_unit * SCREEN_DPI / ink.dpi, device_per_unit * SCREEN_DPI / ink.dpi)
        painter.drawPicture(0, 0, picture)

    return paint, area


def node_areas(scene: QGraphicsScene) -> list[tuple[str, QRectF]]:
    """(server name, its scene rectangle) for each server of a rack scene, in plan order."""
    if not isinstance(scene, RackScene):
        return []
    return [(item.node.name, item.sceneBoundingRect()) for item in scene.nodes.values()]


def link_table(facts: PlanFacts) -> TableData:
    """Every interconnect in the drawing: its kind, name, bandwidth per direction, latency and where."""
    uses: dict[str, tuple[LinkSpec, list[str]]] = {}

    def add(ref: str | None, where: str) -> None:
        spec = facts.link_spec(ref)
        if spec is not None:
            uses.setdefault(spec.id, (spec, []))[1].append(where)

    rig = facts.plan.rig
    several = len(rig.nodes) > 1
    for node in rig.nodes:
        add(node.nvswitch or node.host_link, f"inside {node.name}")
        if several and node.nic:
            add(node.nic, f"{node.name}: {node.nics} network card{'s' if node.nics != 1 else ''}")
    for link in rig.links:
        add(link.kind, f"{link.a} ↔ {link.b}")
    if several:
        add(rig.fabric, "between servers")
    rows: list[list[Cell | str]] = []
    for spec, where in uses.values():
        rows.append(
            [
                Cell(LINK_KIND_NAMES.get(spec.kind, spec.kind), "strong"),
                spec.name,
                f"{spec.bandwidth_gbps_per_direction:g} GB/s",
                f"{spec.latency_us:g} µs",
                ", ".join(where),
            ]
        )
    columns = [
        Column("Kind", 1.2),
        Column("Link", 2.6),
        Column("Per direction", 1.1, "right"),
        Column("Latency", 0.8, "right"),
        Column("Where", 2.8),
    ]
    return TableData.build(columns, rows)
