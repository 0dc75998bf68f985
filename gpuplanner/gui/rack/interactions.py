"""Gestures on the canvas as small objects with one protocol, :class:`Gesture` (no mode flags).

The view creates one on mouse press or drag enter, calls ``start``, hands it every ``move``, and ends it
with ``finish`` (release, drop) or ``cancel`` (Escape, the drag leaving the canvas), as
orange-canvas-core's ``UserInteraction`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QColor, QIcon, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsView, QMenu

from gpuplanner.drawing.gpu_item import GpuItem
from gpuplanner.drawing.link_item import arc_path
from gpuplanner.drawing.style import link_colour
from gpuplanner.gui.mime import CatalogItemRef
from gpuplanner.gui.rack.controller import RackController


@dataclass(frozen=True)
class Pointer:
    """Where the mouse (or a drag) is: in the view's viewport, in the scene, on the screen."""

    view: QPoint
    scene: QPointF
    screen: QPoint


class Gesture(Protocol):
    # True when Qt's own handling (the scene moving the grabbed items) also sees the mouse events;
    # the view then passes each move and the release to QGraphicsView before the gesture
    scene_sees_mouse: ClassVar[bool]

    def start(self, at: Pointer) -> None: ...

    def move(self, at: Pointer) -> None: ...

    def finish(self, at: Pointer) -> None: ...

    def cancel(self) -> None: ...


class MoveInteraction:
    """Dragging servers and GPU cards: remembers where they were on press, pushes one command on
    release (Qt moves the items meanwhile; the document changes only at the end)."""

    scene_sees_mouse = True

    def __init__(self, controller: RackController) -> None:
        self.controller = controller
        self._nodes: dict[str, QPointF] = {}
        self._gpus: dict[str, QPointF] = {}

    def start(self, at: Pointer) -> None:
        scene = self.controller.scene
        self._nodes = {i.node_id: i.pos() for i in scene.nodes.values() if i.isSelected()}
        self._gpus = {i.gpu_id: i.pos() for i in scene.gpus.values() if i.isSelected()}
        scene.lift_cards(list(self._gpus))  # zoomed out, a dragged card draws itself, not its server
        for item in scene.gpus.values():
            if item.isSelected() and item.parentItem() is not None:
                item.parentItem().setZValue(5)  # a card dragged out of its server stays on top
                item.setZValue(10)

    def move(self, at: Pointer) -> None:
        scene = self.controller.scene
        scene.items_moved(  # Qt moved them: their links and the fabric line follow
            [n for n, pos in self._nodes.items() if n in scene.nodes and scene.nodes[n].pos() != pos],
            self._moved_gpus(),
        )
        scene.clear_highlights()
        for gpu_id in self._moved_gpus():
            target = scene.slot_at(scene.gpus[gpu_id].sceneBoundingRect().center())
            if target:
                scene.nodes[target[0]].set_highlight(target[1])

    def _moved_gpus(self) -> list[str]:
        scene = self.controller.scene
        return [g for g, pos in self._gpus.items() if g in scene.gpus and scene.gpus[g].pos() != pos]

    def finish(self, at: Pointer) -> None:
        scene = self.controller.scene
        scene.clear_highlights()
        gpus = {
            g: scene.gpus[g].mapToScene(scene.gpus[g].boundingRect().center()) for g in self._moved_gpus()
        }
        nodes = {
            n: scene.nodes[n].pos()
            for n, pos in self._nodes.items()
            if n in scene.nodes and scene.nodes[n].pos() != pos
        }
        self._reset_z()
        if (gpus or nodes) and self.controller.commit_moves(nodes, gpus) is None:
            self.cancel()

    def cancel(self) -> None:
        scene = self.controller.scene
        grabber = scene.mouseGrabberItem()
        if grabber is not None:
            grabber.ungrabMouse()  # Escape mid-drag: Qt must stop moving the items too
        self._reset_z()
        scene.clear_highlights()
        scene.sync(self.controller.document.plan, force=True)  # everything back where the document says

    def _reset_z(self) -> None:
        for item in self.controller.scene.nodes.values():
            item.setZValue(0)
        for item in self.controller.scene.gpus.values():
            item.setZValue(1)
        self.controller.scene.lower_cards()


class WireInteraction:
    """Dragging from a GPU's port to another GPU: a dashed wire follows the cursor; on release over a
    GPU a menu offers only the link kinds both ends support."""

    scene_sees_mouse = False

    def __init__(self, controller: RackController, source: GpuItem, view: QGraphicsView) -> None:
        self.controller = controller
        self.source = source
        self.view = view
        self.menu: QMenu | None = None
        self.wire = QGraphicsPathItem()

    def start(self, at: Pointer) -> None:
        self.wire.setPen(QPen(QColor("#4c8dff"), 2.5, Qt.PenStyle.DashLine))
        self.wire.setZValue(20)
        self.controller.scene.addItem(self.wire)
        self.wire.setPath(arc_path(self.source.port_scene_pos(), self.source.port_scene_pos()))

    def move(self, at: Pointer) -> None:
        self.wire.setPath(arc_path(self.source.port_scene_pos(), at.scene))

    def finish(self, at: Pointer) -> None:
        target = self.controller.scene.gpu_at(at.scene, exclude=self.source)
        self._remove_wire()
        if target is None:
            return
        choices = self.controller.link_choices(self.source.gpu_id, target.gpu_id)
        if not choices:
            self.controller.notify("these GPUs have no link kind in common")
            return
        menu = QMenu(self.view)
        menu.setObjectName("linkKindMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addSection(f"Link {self.source.gpu_id} → {target.gpu_id}")
        a, b = self.source.gpu_id, target.gpu_id
        for spec in choices:
            action = QAction(f"{spec.name}  ·  {spec.bandwidth_gbps_per_direction:g} GB/s", menu)
            action.setData(spec.id)
            action.setIcon(_swatch(link_colour(spec.kind)))
            action.setToolTip(spec.notes or spec.name)
            action.triggered.connect(lambda _=False, k=spec.id: self.controller.wire(a, b, k))
            menu.addAction(action)
        self.menu = menu
        menu.popup(at.screen)

    def cancel(self) -> None:
        self._remove_wire()

    def _remove_wire(self) -> None:
        if self.wire.scene() is not None:
            self.wire.scene().removeItem(self.wire)


def _swatch(colour: QColor) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(colour)
    return QIcon(pixmap)


class DropInteraction:
    """A catalog item dragged over the canvas: highlights the slot it would land in, adds it on drop."""

    scene_sees_mouse = False

    def __init__(self, controller: RackController, ref: CatalogItemRef) -> None:
        self.controller = controller
        self.ref = ref

    def start(self, at: Pointer) -> None:
        self.move(at)

    def move(self, at: Pointer) -> None:
        scene = self.controller.scene
        scene.clear_highlights()
        target = self.controller.drop_target(self.ref, at.scene)
        if target is not None:
            scene.nodes[target[0]].set_highlight(target[1])

    def finish(self, at: Pointer) -> None:
        self.controller.scene.clear_highlights()
        self.controller.drop(self.ref, at.scene)

    def cancel(self) -> None:
        self.controller.scene.clear_highlights()


class PanInteraction:
    """Middle-button (or Space + left-button) drag scrolls the canvas."""

    scene_sees_mouse = False

    def __init__(self, view: QGraphicsView) -> None:
        self.view = view
        self.last = QPoint()

    def start(self, at: Pointer) -> None:
        self.last = at.view
        self.view.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def move(self, at: Pointer) -> None:
        delta = at.view - self.last
        self.last = at.view
        self.view.horizontalScrollBar().setValue(self.view.horizontalScrollBar().value() - delta.x())
        self.view.verticalScrollBar().setValue(self.view.verticalScrollBar().value() - delta.y())

    def finish(self, at: Pointer) -> None:
        self.cancel()

    def cancel(self) -> None:
        self.view.viewport().unsetCursor()


def is_port_hit(item: object, scene_pos: QPointF) -> bool:
    return isinstance(item, GpuItem) and item.port_rect().adjusted(-3, -3, 3, 3).contains(
        item.mapFromScene(scene_pos)
    )
