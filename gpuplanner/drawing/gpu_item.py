"""GpuItem: a GPU card in its slot, with its name, memory, role in the layout and a live fill bar."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from gpuplanner.core.budget import used_bytes
from gpuplanner.core.plan import GpuPlacement
from gpuplanner.core.report import GpuReport
from gpuplanner.core.specs import GIB
from gpuplanner.drawing import geometry as geo
from gpuplanner.drawing.labels import Labels, gpu_tooltip, short_gpu_name
from gpuplanner.drawing.style import (
    FILL_COLOURS,
    STAGE_COLOURS,
    VENDOR_COLOURS,
    RackStyle,
    fill_colour,
    fill_level,
    link_colour,
)

READABLE_SCALE = 0.4  # below this zoom a card's 7-9 pt text is under 4 px high: drawn without it
# Below READABLE_SCALE a card shows no text, only its outline, stripe, port and fill bar: on screen its
# server draws that for it ("flat" cards, see GpuItem.set_flat), one paint per server instead of two per
# card, so a 4,096-GPU rig fitted in view repaints in one pass over 512 servers.
FLAT_SCALE = READABLE_SCALE
NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
CARD_FLAGS = (
    QGraphicsItem.GraphicsItemFlag.ItemIsMovable
    | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
    | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
)
OVER_BORDER = "#e5484d"  # a card whose memory is over its capacity


def too_small_to_read(item: QGraphicsItem, painter: QPainter, option: QStyleOptionGraphicsItem) -> bool:
    """On screen and zoomed out so far that text would be a grey smear (and slow): leave it out. Paper
    (the PDF's rig drawing) always gets the text: it is vector and the reader zooms."""
    scene = item.scene()
    if scene is None or not getattr(scene, "interactive_hints", True):
        return False
    return option.levelOfDetailFromTransform(painter.worldTransform()) < READABLE_SCALE


class FillBar(QGraphicsItem):
    """The card's memory fill bar and its "used / capacity" line: a child item of its own, so an edit
    that changes every GPU's KV cache redraws 64 small bars, not 64 whole cards (the card keeps its
    cached pixmap). It takes no mouse buttons, hover or tooltip: those go to the card under it."""

    KIND = "gpu-fill"
    RECT = QRectF(11, geo.CARD_H - 20, geo.CARD_W - 22, 7)
    BOUNDS = QRectF(RECT.left() - 1, RECT.top() - 1, RECT.width() + 2, RECT.height() + 14)

    def __init__(self, card: GpuItem) -> None:
        super().__init__(card)
        self.card = card
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # (no hover events either: Qt's default)

    def boundingRect(self) -> QRectF:
        return self.BOUNDS

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        card = self.card
        style = card._style
        bar = self.RECT
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style.grid if not style.dark else QColor("#20242b"))
        painter.drawRoundedRect(bar, 3.5, 3.5)
        fraction = card.fill_fraction()
        if fraction is None or card.report is None:
            return
        painter.setBrush(fill_colour(card.used_bytes(), card.report.capacity_bytes))
        painter.drawRoundedRect(
            QRectF(bar.left(), bar.top(), bar.width() * min(fraction, 1.0), bar.height()), 3.5, 3.5
        )
        if too_small_to_read(self, painter, option):
            return
        font = QFont(painter.font())
        font.setPointSizeF(7)
        painter.setFont(font)
        painter.setPen(style.muted_text)
        painter.drawText(
            QRectF(bar.left(), bar.bottom() + 1, bar.width(), 11),
            Qt.AlignmentFlag.AlignRight,
            card.bar_text(),
        )


class GpuItem(QGraphicsItem):
    """Projection of one ``GpuPlacement``, child of its server's ``NodeItem``."""

    KIND = "gpu"

    def __init__(self, placement: GpuPlacement, labels: Labels, style: RackStyle, flat: bool = False) -> None:
        super().__init__()
        self.gpu_id = placement.id
        self.placement = placement
        self.role = ""  # 'stage 1 · TP 4/8' or 'unused' (counted from 1)
        self.stage: int | None = None  # 0-based stage in the layout: the badge 'S1' in its colour
        self.report: GpuReport | None = None
        self._labels = labels
        self._style = style
        self.setFlags(CARD_FLAGS | NO_CONTENTS if flat else CARD_FLAGS)
        self.setZValue(1)
        self.setAcceptHoverEvents(True)
        self.flat = flat  # drawn by its server (zoomed out): no paint, no cached pixmap of its own
        self._bar: FillBar | None = None if flat else FillBar(self)  # made when first drawn or asked for
        self._synced = False
        self._drawn: tuple[object, ...] = (None,)  # _drawn_figures() of the report shown
        self._tip_stale = True  # the tooltip is written when it is asked for (RackScene.helpEvent)
        self._colours: tuple[str, str] | None = None  # stripe and port colours, from the catalog

    def set_flat(self, flat: bool) -> None:
        """Let the server draw this card (zoomed out: ``flat``) or draw it itself. A flat card keeps
        everything else: it is selected, hit, dragged and asked for its tooltip as before."""
        if flat == self.flat:
            return
        self.flat = flat
        self.setFlag(NO_CONTENTS, flat)
        if self._bar is not None:
            self._bar.setFlag(NO_CONTENTS, flat)
        if not flat:
            self.update()
            self.fill_bar.update()
        self._server_redraw()

    @property
    def fill_bar(self) -> FillBar:
        """The fill bar child item; a card drawn flat from the start gets it once it is drawn itself."""
        if self._bar is None:
            self._bar = FillBar(self)
            self._bar.setFlag(NO_CONTENTS, self.flat)
        return self._bar

    def _bar_changed(self) -> None:
        if self._bar is not None:
            self._bar.update()

    def _server_redraw(self) -> None:
        parent = self.parentItem()
        if parent is not None:
            parent.update()

    def update_from(self, placement: GpuPlacement, slots: int, role: str, style: RackStyle) -> None:
        self.setPos(*geo.slot_origin(slots, placement.slot))
        if (placement, role, style) == (self.placement, self.role, self._style) and self._synced:
            return  # an edit elsewhere in the plan: keep the cached drawing
        self._synced = True
        self.placement, self.role, self._style = placement, role, style
        self._tip_stale = True
        self._colours = None
        self.update()
        self._bar_changed()
        if self.flat:
            self._server_redraw()

    def set_report(self, report: GpuReport | None) -> None:
        if report is self.report:
            return  # (a deep comparison of two reports costs more than what follows)
        drawn = self._drawn
        self.report = report
        self._tip_stale = True  # 64 cards change on most edits; a tooltip is read one at a time
        now = self._drawn = self._drawn_figures()
        if now[:1] != drawn[:1]:  # over budget or back: the card's border changes colour
            self.update()
        if now != drawn:
            self._bar_changed()
            if self.flat:
                self._server_redraw()

    def _drawn_figures(self) -> tuple[object, ...]:
        """What the card shows of its report, the over-budget border first: the bar redraws only when
        this changes, the rest of the card only when the border does."""
        fraction = self.fill_fraction()
        if fraction is None or self.report is None:
            return (None,)
        capacity, used = self.report.capacity_bytes, self.used_bytes()
        return (
            fraction > 1.0,
            round(min(fraction, 1.0) * FillBar.RECT.width() * 4),  # the fill, to a quarter pixel
            fill_level(used, capacity),  # its colour
            round(used / GIB, 1),  # the "used / capacity" text
            capacity,
        )

    def used_bytes(self) -> int:
        """Bytes the report puts on this GPU (more than capacity when over)."""
        assert self.report is not None
        return used_bytes(self.report)

    def bar_text(self) -> str:
        assert self.report is not None
        return f"{self.used_bytes() / GIB:.1f} / {self.report.capacity_bytes / GIB:.1f} GiB"

    def port_rect(self) -> QRectF:
        """The wiring port (top centre), item coordinates."""
        r = geo.PORT_R
        return QRectF(geo.CARD_W / 2 - r, -r, 2 * r, 2 * r)

    def port_scene_pos(self) -> QPointF:
        return self.mapToScene(self.port_rect().center())

    def fill_fraction(self) -> float | None:
        if self.report is None or self.report.capacity_bytes <= 0:
            return None
        return self.used_bytes() / self.report.capacity_bytes

    # -- Qt overrides ------------------------------------------------------------------------------
    BOUNDS = QRectF(-3, -geo.PORT_R - 2, geo.CARD_W + 6, geo.CARD_H + geo.PORT_R + 5)

    def boundingRect(self) -> QRectF:
        return self.BOUNDS

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.setFillRule(Qt.FillRule.WindingFill)  # the port overlaps the card: keep both filled
        path.addRoundedRect(QRectF(0, 0, geo.CARD_W, geo.CARD_H), 7, 7)
        path.addEllipse(self.port_rect().adjusted(-3, -3, 3, 3))
        return path

    # (no itemChange override: Qt calls it a dozen times per card as a scene is built, 0.15 s for
    # 4,096 cards; a dragged card's links follow through RackScene.items_moved, called by the drag)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        style = self._style
        spec = self._labels.gpu(self.placement.gpu)
        rect = QRectF(0, 0, geo.CARD_W, geo.CARD_H)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        over = (self.fill_fraction() or 0) > 1.0
        stripe, port = self.colours()
        self._paint_card(painter, rect, self.isSelected(), over, stripe)
        if not too_small_to_read(self, painter, option):  # the fill bar is a child item: FillBar
            self._paint_text(painter, spec)
        painter.setPen(QPen(style.node_fill, 2))
        painter.setBrush(QColor(port))
        painter.drawEllipse(self.port_rect())

    def _paint_card(self, painter: QPainter, rect: QRectF, selected: bool, over: bool, stripe: str) -> None:
        style = self._style
        border = style.selection if selected else QColor(OVER_BORDER) if over else style.card_border
        painter.setPen(QPen(border, 2.5 if selected or over else 1))
        painter.setBrush(style.card_fill)
        painter.drawRoundedRect(rect, 7, 7)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(stripe))
        painter.drawRoundedRect(QRectF(rect.left() + 1.5, rect.top() + 6, 4, geo.CARD_H - 12), 2, 2)

    def colours(self) -> tuple[str, str]:
        """The vendor stripe's and the port's colours (the GPU's own link kind), as colour names."""
        if self._colours is None:
            spec = self._labels.gpu(self.placement.gpu)
            stripe = VENDOR_COLOURS.get(spec.vendor, "#8a94a6") if spec else OVER_BORDER
            native = self._labels.link(spec.native_link) if spec and spec.native_link else None
            port = link_colour(native.kind).name() if native else "#8a94a6"
            self._colours = (stripe, port)
        return self._colours

    def flat_key(self) -> tuple[object, ...]:
        """Everything ``paint_flat`` draws: servers whose cards have equal keys share one drawing."""
        # a flat card sits in its slot (a dragged one draws itself): the slot and the GPU model say where
        # and in which colours
        return (self.placement.slot, self.placement.gpu, self.isSelected(), self._drawn[:3])

    def paint_flat(self, painter: QPainter) -> None:
        """The card as drawn zoomed out (no text), by its server, in the server's coordinates: the
        same outline, stripe, port and fill bar as its own paint below READABLE_SCALE."""
        rect = QRectF(self.pos().x(), self.pos().y(), geo.CARD_W, geo.CARD_H)
        stripe, port = self.colours()
        drawn = self._drawn
        self._paint_card(painter, rect, self.isSelected(), drawn[0] is True, stripe)
        bar = FillBar.RECT.translated(rect.topLeft())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._style.grid if not self._style.dark else QColor("#20242b"))
        painter.drawRoundedRect(bar, 3.5, 3.5)
        if len(drawn) > 2:
            painter.setBrush(QColor(FILL_COLOURS[drawn[2]]))  # type: ignore[index]
            width = drawn[1] / 4  # type: ignore[operator]
            painter.drawRoundedRect(QRectF(bar.left(), bar.top(), width, bar.height()), 3.5, 3.5)
        painter.setPen(QPen(self._style.node_fill, 2))
        painter.setBrush(QColor(port))
        painter.drawEllipse(self.port_rect().translated(rect.topLeft()))

    def _paint_text(self, painter: QPainter, spec: object) -> None:
        style = self._style
        font = QFont(painter.font())
        font.setPointSizeF(9)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(style.text if spec else QColor("#e5484d"))
        name = short_gpu_name(spec) if spec else f"{self.placement.gpu}?"  # type: ignore[arg-type]
        metrics = painter.fontMetrics()
        badge = 30 if self.stage is not None else 0
        name = metrics.elidedText(name, Qt.TextElideMode.ElideRight, int(geo.CARD_W - 18 - badge))
        painter.drawText(QRectF(11, 7, geo.CARD_W - 16 - badge, 16), Qt.AlignmentFlag.AlignLeft, name)
        if self.stage is not None:  # the stage as a badge in the layer map's colour for it
            box = QRectF(geo.CARD_W - 36, 7, 28, 15)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(STAGE_COLOURS[self.stage % len(STAGE_COLOURS)]))
            painter.drawRoundedRect(box, 4, 4)
            painter.setPen(QColor("white"))
            small = QFont(font)
            small.setPointSizeF(7.5)
            painter.setFont(small)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, f"S{self.stage + 1}")
            painter.setFont(font)
        font.setBold(False)
        font.setPointSizeF(8)
        painter.setFont(font)
        painter.setPen(style.muted_text)
        memory = f"{spec.memory_gb:g} GB {spec.memory_type}" if spec else "not in the catalog"  # type: ignore[attr-defined]
        painter.drawText(QRectF(11, 24, geo.CARD_W - 16, 14), Qt.AlignmentFlag.AlignLeft, memory)
        painter.drawText(
            QRectF(11, 38, geo.CARD_W - 16, 14), Qt.AlignmentFlag.AlignLeft, f"{self.gpu_id} · {self.role}"
        )

    def refresh_tooltip(self) -> str:
        """Write the tooltip if the card changed since it was last shown; returns it."""
        if self._tip_stale:
            self._tip_stale = False
            self.setToolTip(self._tooltip())
        return self.toolTip()

    def _tooltip(self) -> str:
        spec = self._labels.gpu(self.placement.gpu)
        text = gpu_tooltip(spec) if spec else f"<b>{self.placement.gpu}</b>: not in the catalog"
        text += f"<br>{self.gpu_id} in slot {self.placement.slot} · {self.role}"
        if self.report is not None:
            m = self.report.memory_bytes
            parts = [("weights", m.weights), ("KV cache", m.kv_cache), ("activations", m.activations),
                     ("communication", m.communication), ("runtime", m.runtime), ("free", m.free)]  # fmt: skip
            text += "<br>" + " · ".join(f"{k} {v / GIB:.1f} GiB" for k, v in parts)
        return text + "<br><i>Drag to move · drag its port to wire</i>"
