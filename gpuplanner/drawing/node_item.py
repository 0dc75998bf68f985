"""NodeItem: a server drawn with its slots, its GPU fabric bar and its network cards."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from gpuplanner.core.plan import Node
from gpuplanner.core.specs import LinkSpec
from gpuplanner.drawing import geometry as geo
from gpuplanner.drawing.gpu_item import GpuItem
from gpuplanner.drawing.labels import Labels, compact_link_name, host_label, host_spec
from gpuplanner.drawing.style import LINK_KIND_NAMES, RackStyle, link_colour

TITLE_SCALE = 0.2  # zoomed out, a server still shows its name and id above this zoom (10.5 pt: 3 px)


class NodeItem(QGraphicsItem):
    """Projection of one ``Node``; ``node_id`` is the key, everything else comes from ``update_from``."""

    KIND = "node"

    def __init__(self, node: Node, labels: Labels, style: RackStyle) -> None:
        super().__init__()
        self.node_id = node.id
        self.node = node
        self._labels = labels
        self._style = style
        self.highlight_slot: int | None = None  # a drop or move target
        self._drawn_key: tuple[object, ...] | None = None  # what the cached drawing shows
        self.mesh: str | None = None  # link kind joining every pair of its GPUs (drawn as one bar)
        self._bounds = geo.node_rect(node.slots).adjusted(-3, -3, 3, 3)  # asked for often: kept
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(True)
        self.update_from(node, style)

    def update_from(self, node: Node, style: RackStyle) -> None:
        self.setPos(node.x, node.y)
        scene = self.scene()
        key = (
            node,
            style,
            getattr(scene, "fabric_link", None) if scene is not None else None,
            getattr(scene, "offloads", False) if scene is not None else False,
        )
        if key == self._drawn_key:
            return  # an edit elsewhere in the plan: keep the cached drawing
        self._drawn_key = key
        if node.slots != self.node.slots:
            self.prepareGeometryChange()
        self.node, self._style = node, style
        self._bounds = geo.node_rect(node.slots).adjusted(-3, -3, 3, 3)
        self.setToolTip(self._tooltip())
        self.update()

    def set_mesh(self, kind: str | None) -> None:
        if kind != self.mesh:
            self.mesh = kind
            self.update()

    def set_highlight(self, slot: int | None) -> None:
        if slot != self.highlight_slot:
            self.highlight_slot = slot
            self.update()

    # -- Qt overrides ------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(geo.node_rect(self.node.slots), 10, 10)
        return path

    # (no itemChange override: Qt calls it for every card added, 8,000 times as a 4,096-GPU rig is
    # built; a dragged server's links follow through RackScene.items_moved, called by the drag)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if getattr(self.scene(), "zoomed_out", False):
            self._paint_zoomed_out(painter)
            return
        style, node = self._style, self.node
        rect = geo.node_rect(node.slots)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        border = QPen(
            style.selection if self.isSelected() else style.node_border, 2.5 if self.isSelected() else 1.2
        )
        painter.setPen(border)
        painter.setBrush(style.node_fill)
        painter.drawRoundedRect(rect, 10, 10)
        self._paint_header(painter, rect)
        for row in range(geo.rows(node.slots)):
            self._paint_bus(painter, row)
        taken = {g.slot for g in node.gpus}
        for slot in range(node.slots):
            self._paint_slot(painter, slot, empty=slot not in taken)
        self._paint_footer(painter)

    # -- zoomed out: no text, the cards drawn here, one shared drawing per look ---------------------
    def _flat_cards(self) -> list[GpuItem]:
        return [c for c in self.childItems() if isinstance(c, GpuItem) and c.flat]

    def zoomed_out_key(self, cards: list[GpuItem]) -> tuple[object, ...]:
        """Everything the zoomed-out drawing shows: servers with equal keys share one picture."""
        node = self.node
        spec = self._labels.link(self.fabric_link())
        footer = self._footer_link()
        return (
            node.slots,
            frozenset(g.slot for g in node.gpus),
            spec.kind if spec else "pcie",
            bool(node.nvswitch or self.mesh),
            footer.kind if footer else None,
            self.isSelected(),
            self.highlight_slot,
            self._style.dark,
            tuple(sorted(c.flat_key() for c in cards)),  # type: ignore[type-var]
        )

    def _paint_zoomed_out(self, painter: QPainter) -> None:
        """One picture per look and zoom, drawn once at the screen's resolution and copied to every
        server that looks the same (a rig of 512 equal servers draws two or three)."""
        cards = self._flat_cards()
        device = painter.device()
        ratio = device.devicePixelRatioF() if device is not None else 1.0
        scale = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform()) * ratio
        key = (round(scale, 5), *self.zoomed_out_key(cards))
        pixmaps: dict[tuple[object, ...], QPixmap] = self.scene().zoomed_out_pixmaps  # type: ignore[attr-defined]
        pixmap = pixmaps.get(key)
        bounds = self.boundingRect()
        if pixmap is None:
            if len(pixmaps) >= 64 or any(k[0] != key[0] for k in pixmaps):  # zoomed, or many looks: anew
                pixmaps.clear()
            pixmap = QPixmap(max(1, math.ceil(bounds.width() * scale)), max(1, math.ceil(bounds.height() * scale)))
            pixmap.fill(Qt.GlobalColor.transparent)
            recorder = QPainter(pixmap)
            try:
                recorder.setRenderHint(QPainter.RenderHint.Antialiasing)
                recorder.scale(scale, scale)
                recorder.translate(-bounds.topLeft())
                self._draw_zoomed_out(recorder, cards)
            finally:
                recorder.end()
            pixmaps[key] = pixmap
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        size = QSizeF(pixmap.width() / scale, pixmap.height() / scale)
        painter.drawPixmap(QRectF(bounds.topLeft(), size), pixmap, QRectF(pixmap.rect()))
        if scale / ratio >= TITLE_SCALE:  # its name still reads (few servers are in view this close)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint_header(painter, geo.node_rect(self.node.slots))

    def _draw_zoomed_out(self, painter: QPainter, cards: list[GpuItem]) -> None:
        """The server as drawn at full size, less its words: outline, fabric bars, slots, flat cards,
        the network chip."""
        style, node = self._style, self.node
        rect = geo.node_rect(node.slots)
        painter.setPen(
            QPen(style.selection if self.isSelected() else style.node_border, 2.5 if self.isSelected() else 1.2)
        )
        painter.setBrush(style.node_fill)
        painter.drawRoundedRect(rect, 10, 10)
        for row in range(geo.rows(node.slots)):
            self._paint_bus(painter, row, label=False)
        taken = {g.slot for g in node.gpus}
        for slot in range(node.slots):
            self._paint_slot(painter, slot, empty=slot not in taken, label=False)
        for card in cards:
            card.paint_flat(painter)
        self._paint_footer(painter, label=False)

    # -- drawing parts -------------------------------------------------------------------------------
    def _paint_header(self, painter: QPainter, rect: QRectF) -> None:
        style, node = self._style, self.node
        title = QFont(painter.font())
        title.setPointSizeF(10.5)
        title.setBold(True)
        painter.setFont(title)
        painter.setPen(style.text)
        text_rect = QRectF(geo.PAD, 8, rect.width() - 2 * geo.PAD, 18)
        name = painter.fontMetrics().elidedText(
            node.name, Qt.TextElideMode.ElideRight, int(text_rect.width() - 40)
        )
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        small = QFont(painter.font())
        small.setPointSizeF(8.5)
        small.setBold(False)
        painter.setFont(small)
        painter.setPen(style.muted_text)
        template = self._labels.template(node.template)
        used = len(node.gpus)
        subtitle = f"{used}/{node.slots} GPUs" + (f" · {template.id}" if template else "")
        painter.drawText(
            QRectF(geo.PAD, 25, rect.width() - 2 * geo.PAD, 16), Qt.AlignmentFlag.AlignLeft, subtitle
        )
        # the host: CPU platform and system RAM (what holds layers kept off the GPUs), once the user set
        # it or the plan keeps layers there; otherwise an unset host is only the default the offload
        # model would assume (a desktop), so the header of a DGX does not claim one (the tooltip does)
        scene = self.scene()
        if node.host or node.host_ram_gib or getattr(scene, "offloads", False):
            room = rect.width() - 2 * geo.PAD - painter.fontMetrics().horizontalAdvance(subtitle) - 12
            host = painter.fontMetrics().elidedText(
                f"Host: {host_label(node)}", Qt.TextElideMode.ElideRight, int(max(room, 0))
            )
            painter.drawText(
                QRectF(geo.PAD, 25, rect.width() - 2 * geo.PAD, 16), Qt.AlignmentFlag.AlignRight, host
            )
        painter.drawText(
            QRectF(geo.PAD, 8, rect.width() - 2 * geo.PAD, 18),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            node.id,
        )

    def fabric_link(self) -> str:
        """What joins the GPUs, as drawn on the bar: NVSwitch, else a full mesh, else PCIe."""
        return self.node.nvswitch or self.mesh or self.node.host_link

    def _paint_bus(self, painter: QPainter, row: int, label: bool = True) -> None:
        node = self.node
        spec = self._labels.link(self.fabric_link())
        kind = spec.kind if spec else "pcie"
        colour = link_colour(kind)
        bar = geo.bus_rect(node.slots, row)
        occupied = {g.slot for g in node.gpus}
        cols = geo.columns(node.slots)
        painter.setPen(QPen(colour, 2))
        for slot in range(row * cols, min((row + 1) * cols, node.slots)):
            if slot in occupied:
                card = geo.slot_rect(node.slots, slot)
                painter.drawLine(
                    QPointF(card.center().x(), card.bottom()), QPointF(card.center().x(), bar.top())
                )
        fill = QColor(colour)
        fill.setAlpha(200 if node.nvswitch or self.mesh else 120)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(bar, 5, 5)
        if not label:
            return
        text = self._bus_label(spec, kind)
        font = QFont(painter.font())
        font.setPointSizeF(7.5)
        font.setBold(True)
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(text) + 14
        tag = QRectF(bar.center().x() - width / 2, bar.center().y() - 8, width, 16)
        painter.setBrush(self._style.node_fill)
        painter.setPen(QPen(colour, 1.2))
        painter.drawRoundedRect(tag, 8, 8)
        painter.setPen(self._style.text)
        painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)

    def _bus_label(self, spec: LinkSpec | None, kind: str) -> str:
        if spec is None:
            return f"{self.fabric_link()} (not in the catalog)"
        name = compact_link_name(spec) if kind == "pcie" else LINK_KIND_NAMES.get(kind, kind)
        if self.mesh and not self.node.nvswitch:
            name = f"{compact_link_name(spec)} all-to-all"
        return f"{name} · {spec.bandwidth_gbps_per_direction:g} GB/s"

    def _paint_slot(self, painter: QPainter, slot: int, empty: bool = True, label: bool = True) -> None:
        rect = geo.slot_rect(self.node.slots, slot)
        highlighted = slot == self.highlight_slot
        pen = QPen(self._style.selection if highlighted else self._style.node_border, 2 if highlighted else 1)
        pen.setStyle(Qt.PenStyle.SolidLine if highlighted else Qt.PenStyle.DashLine)
        painter.setPen(pen)
        fill = QColor(self._style.selection) if highlighted else self._style.slot_fill
        if highlighted:
            fill.setAlpha(40)
        painter.setBrush(QBrush(fill))
        painter.drawRoundedRect(rect, 7, 7)
        if not empty or not label:  # under a card: no hidden words for a PDF's text layer to pick up
            return
        font = QFont(painter.font())
        font.setPointSizeF(8)
        font.setBold(False)
        painter.setFont(font)
        painter.setPen(self._style.muted_text)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"slot {slot}")

    def nic_port(self) -> QPointF:
        """Where the fabric line leaves this server, scene coordinates."""
        rect = geo.footer_rect(self.node.slots)
        return self.mapToScene(QPointF(rect.center().x(), rect.bottom()))

    def _footer_link(self) -> LinkSpec | None:
        """The server's network cards, else the rig's fabric they would join."""
        node = self.node
        nic = self._labels.link(node.nic) if node.nic else None
        scene = self.scene()
        fabric = getattr(scene, "fabric_link", None) if scene is not None else None
        return nic or self._labels.link(fabric)

    def _paint_footer(self, painter: QPainter, label: bool = True) -> None:
        node = self.node
        rect = geo.footer_rect(node.slots)
        nic = self._labels.link(node.nic) if node.nic else None
        spec = self._footer_link()
        colour = link_colour(spec.kind) if spec else self._style.muted_text
        painter.setPen(QPen(self._style.node_border, 1))
        painter.drawLine(QPointF(rect.left(), rect.top() - 2), QPointF(rect.right(), rect.top() - 2))
        chip = QRectF(rect.left(), rect.top() + 6, 14, 14)
        painter.setBrush(colour)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(chip, 3, 3)
        if not label:
            return
        font = QFont(painter.font())
        font.setPointSizeF(8.5)
        painter.setFont(font)
        painter.setPen(self._style.muted_text)
        if spec is None:
            hints = getattr(self.scene(), "interactive_hints", True)
            text = "Network: not set" + (" (drop an InfiniBand or Ethernet link here)" if hints else "")
        else:
            text = f"Network: {node.nics} × {compact_link_name(spec)}" + ("" if nic else " (rig fabric)")
        painter.drawText(
            rect.adjusted(22, 0, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text
        )

    def _host_text(self) -> str:
        node, spec = self.node, host_spec(self.node)
        name = spec.name if spec else str(node.host)
        speed = f", {spec.bandwidth_gbps:g} GB/s" if spec else ""
        ram = f"{node.host_ram_gib:g} GiB RAM" if node.host_ram_gib else "RAM: the platform's most"
        return f"{name}{speed}{'' if node.host else ' (not set: the default)'} · {ram}"

    def _tooltip(self) -> str:
        node = self.node
        fabric = self._labels.link_name(node.nvswitch) if node.nvswitch else "none"
        return (
            f"<b>{node.name}</b> ({node.id})<br>{len(node.gpus)} of {node.slots} slots used<br>"
            f"NVSwitch: {fabric}<br>PCIe: {self._labels.link_name(node.host_link)}<br>"
            f"Network: {node.nics} × {self._labels.link_name(node.nic) if node.nic else 'rig fabric'}<br>"
            f"Host: {self._host_text()}<br>"
            "<i>Drag to move · right-click for wiring presets</i>"
        )
