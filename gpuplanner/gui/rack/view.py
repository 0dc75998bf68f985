"""RackView: the canvas widget. Zoom, pan, fit; routes mouse and drag events to interactions."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsView, QMenu, QWidget

from gpuplanner.drawing.gpu_item import GpuItem
from gpuplanner.drawing.link_item import LinkItem
from gpuplanner.drawing.node_item import NodeItem
from gpuplanner.gui.mime import decode_catalog_item, decode_layer_range
from gpuplanner.gui.presets import PRESETS
from gpuplanner.gui.rack.controller import RackController
from gpuplanner.gui.rack.interactions import (
    DropInteraction,
    Gesture,
    MoveInteraction,
    PanInteraction,
    Pointer,
    WireInteraction,
    is_port_hit,
)

MIN_ZOOM, MAX_ZOOM = 0.15, 4.0


class RackView(QGraphicsView):
    zoom_changed = Signal(float)
    delete_requested = Signal()
    layer_range_dropped = Signal(int, int, int, str)  # replica, first, last (exclusive), GPU id

    def __init__(self, controller: RackController, parent: QWidget | None = None) -> None:
        super().__init__(controller.scene, parent)
        self.setObjectName("rackView")
        self.controller = controller
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.ContainsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setAcceptDrops(True)
        self.setToolTip("")
        self.interaction: Gesture | None = None
        self._space = False
        self.zoom_changed.connect(controller.scene.set_view_scale)  # the canvas's level of detail
        # the rig is fitted again whenever the canvas changes size (the window manager's final size, a
        # dock resized) until the person zooms or pans: then the view is theirs
        self._auto_fit = False
        self.auto_fit = True

    @property
    def auto_fit(self) -> bool:
        return self._auto_fit

    @auto_fit.setter
    def auto_fit(self, on: bool) -> None:
        """While the rig is kept fitted, the whole of it is in view and the scroll bars stay off: a fit
        that showed or hid a scroll bar would resize the canvas, refit it, and hide or show the bar
        again, for ever (a 4,096-GPU rig did)."""
        self._auto_fit = on
        policy = Qt.ScrollBarPolicy.ScrollBarAlwaysOff if on else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        if self.horizontalScrollBarPolicy() != policy:
            self.setHorizontalScrollBarPolicy(policy)
            self.setVerticalScrollBarPolicy(policy)

    # -- zoom and pan --------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        self.auto_fit = False
        factor = max(MIN_ZOOM / self.zoom(), min(MAX_ZOOM / self.zoom(), factor))
        self.scale(factor, factor)
        self.zoom_changed.emit(self.zoom())

    def reset_zoom(self) -> None:
        self.auto_fit = False
        self.resetTransform()
        self.zoom_changed.emit(1.0)

    def fit_all(self) -> None:
        """Fit the whole rig in view, and keep it fitted when the canvas is resized until the person
        zooms or pans."""
        self.auto_fit = True
        rect = self.controller.scene.content_rect()
        if rect.isNull():
            self.resetTransform()
            self.zoom_changed.emit(1.0)
            return
        self.fitInView(rect.adjusted(-40, -40, 40, 40), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.25:
            self.resetTransform()
            self.scale(1.25, 1.25)
            self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom())

    def ensure_scene_margin(self) -> None:
        rect = self.controller.scene.content_rect()
        self.setSceneRect(
            QRectF(rect).adjusted(-1200, -900, 1200, 900)
            if not rect.isNull()
            else QRectF(-800, -600, 1600, 1200)
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.auto_fit and event.size() != event.oldSize():
            self.fit_all()

    # -- Qt overrides: mouse -------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.0015 ** event.angleDelta().y())
            event.accept()
            return
        self.auto_fit = False  # the wheel scrolls: the person is looking somewhere
        super().wheelEvent(event)

    def _pointer(self, event: QMouseEvent | QDragMoveEvent | QDropEvent) -> Pointer:
        view = event.position().toPoint()
        return Pointer(view, self.mapToScene(view), self.viewport().mapToGlobal(view))

    def _begin(self, gesture: Gesture, at: Pointer) -> None:
        self.interaction = gesture
        gesture.start(at)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        at = self._pointer(event)
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space
        ):
            self.auto_fit = False
            self._begin(PanInteraction(self), at)
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton:
            # links end on ports and are drawn above the cards: look under them for a port
            port = next((i for i in self.items(at.view) if is_port_hit(i, at.scene)), None)
            if isinstance(port, GpuItem):
                self._begin(WireInteraction(self.controller, port, self), at)
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and isinstance(
            self.scene().mouseGrabberItem(), NodeItem | GpuItem
        ):
            self._begin(MoveInteraction(self.controller), at)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        gesture = self.interaction
        if gesture is None or gesture.scene_sees_mouse:
            super().mouseMoveEvent(event)
        if gesture is not None:
            gesture.move(self._pointer(event))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        gesture, self.interaction = self.interaction, None
        if gesture is None or gesture.scene_sees_mouse:
            super().mouseReleaseEvent(event)
        if gesture is not None:
            gesture.finish(self._pointer(event))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.interaction is not None:
            self.interaction.cancel()
            self.interaction = None
            return
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
        super().keyReleaseEvent(event)

    # -- Qt overrides: drops from the palette (or another program) --------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._layer_range_event(event):
            return
        ref = decode_catalog_item(event.mimeData())
        if ref is None:
            event.ignore()
            return
        self._begin(DropInteraction(self.controller, ref), self._pointer(event))
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._layer_range_event(event):
            return
        if self.interaction is None:
            event.ignore()
            return
        self.interaction.move(self._pointer(event))
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        if self.interaction is not None:
            self.interaction.cancel()
        self.interaction = None
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        if self._layer_range_event(event, drop=True):
            return
        gesture, self.interaction = self.interaction, None
        ref = decode_catalog_item(event.mimeData())
        if ref is None:
            event.ignore()
            return
        gesture = gesture or DropInteraction(self.controller, ref)  # a drop with no drag over us first
        gesture.finish(self._pointer(event))
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()

    def _layer_range_event(self, event: QDragMoveEvent | QDropEvent, drop: bool = False) -> bool:
        """Layers dragged from the layer map: accepted over a GPU, dropped as ``layer_range_dropped``."""
        layers = decode_layer_range(event.mimeData())
        if layers is None:
            return False
        gpu = self.controller.scene.gpu_at(self.mapToScene(event.position().toPoint()))
        if gpu is None and not isinstance(event, QDragEnterEvent):
            event.ignore()
            return True
        event.setDropAction(Qt.DropAction.MoveAction)
        event.accept()
        if drop and gpu is not None:
            self.layer_range_dropped.emit(*layers, gpu.gpu_id)
        return True

    # -- context menu -------------------------------------------------------------------------------
    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        self.context_menu(event.pos()).exec(event.globalPos())

    def context_menu(self, pos: QPoint) -> QMenu:
        """The right-click menu for what is under ``pos`` (viewport coordinates), selecting it first."""
        # the topmost card, link or server: overlays (traffic glows, a card's fill bar) are not targets
        item = next((i for i in self.items(pos) if isinstance(i, GpuItem | LinkItem | NodeItem)), None)
        menu = QMenu(self)
        menu.setObjectName("rackContextMenu")
        if isinstance(item, GpuItem | LinkItem | NodeItem) and not item.isSelected():
            self.controller.scene.clearSelection()
            item.setSelected(True)
        node = (
            item if isinstance(item, NodeItem) else item.parentItem() if isinstance(item, GpuItem) else None
        )
        if isinstance(item, GpuItem):  # the layout, from the canvas: the window's Rig menu actions
            window = self.window()
            for name in ("actionMakeTpGroup", "actionSplitStages"):
                action = window.findChild(QAction, name) if window is not None else None
                if action is not None:
                    menu.addAction(action)
            menu.addSeparator()
        if isinstance(node, NodeItem):
            wiring = menu.addMenu("Wire this server")
            for key, text in PRESETS.items():
                wiring.addAction(text, lambda k=key, n=node.node_id: self.controller.apply_preset(n, k))
        if isinstance(item, GpuItem | LinkItem | NodeItem):
            menu.addAction("Delete", self.delete_requested.emit)
        menu.addAction("Fit to view", self.fit_all)
        return menu

    def paintEvent(self, event: QPaintEvent) -> None:
        # the level of detail follows the zoom however it was set (zoom, fit, a transform set directly)
        self.controller.scene.set_view_scale(self.zoom())
        super().paintEvent(event)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """An empty canvas says how to start."""
        if self.controller.scene.nodes:
            return
        painter.save()
        try:
            painter.resetTransform()
            font = painter.font()
            font.setPointSizeF(font.pointSizeF() * 1.25)
            painter.setFont(font)
            painter.setPen(self.controller.scene.style.muted_text)
            painter.drawText(
                self.viewport().rect(),
                Qt.AlignmentFlag.AlignCenter,
                "Drag a server or a GPU from the catalog onto the canvas",
            )
        finally:
            painter.restore()
