"""Helpers to drive the rack canvas as a person would (drops, drags, clicks), for the GUI tests."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from gpuplanner.drawing import geometry as geo
from gpuplanner.gui.mime import encode_catalog_item


def palette_mime(window, kind: str, ident: str) -> QMimeData:
    """The MIME data the palette puts on a drag of one of its leaves."""
    palette = window.palette_widget
    leaf = palette.find_leaf(kind, ident)
    assert leaf is not None, f"{kind} {ident} is not in the palette"
    return palette.tree.mimeData([leaf])


def drop_at(
    window, scene_pos: QPointF, mime: QMimeData | None = None, kind: str = "", ident: str = ""
) -> None:
    """Drag enter, move and drop on the view's viewport at a scene position."""
    view = window.view
    data = mime or encode_catalog_item(kind, ident)
    point: QPoint = view.mapFromScene(scene_pos)
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point, actions, data, buttons, mods)
    QApplication.sendEvent(view.viewport(), enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(point, actions, data, buttons, mods)
    QApplication.sendEvent(view.viewport(), move)
    drop = QDropEvent(QPointF(point), actions, data, buttons, mods)
    QApplication.sendEvent(view.viewport(), drop)


def slot_centre(window, node_id: str, slot: int) -> QPointF:
    node = window.scene.nodes[node_id]
    return node.mapToScene(geo.slot_rect(node.node.slots, slot).center())


def view_point(window, scene_pos: QPointF) -> QPoint:
    return window.view.mapFromScene(scene_pos)


def drag(qtbot, window, start: QPointF, end: QPointF, steps: int = 6) -> None:
    """Press at ``start``, move in steps, release at ``end`` (scene positions), left button."""
    viewport = window.view.viewport()
    a, b = view_point(window, start), view_point(window, end)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for i in range(1, steps + 1):
        p = a + (b - a) * (i / steps)
        qtbot.mouseMove(viewport, QPoint(round(p.x()), round(p.y())))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def click(qtbot, window, scene_pos: QPointF, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.mouseClick(
        window.view.viewport(), Qt.MouseButton.LeftButton, modifier, view_point(window, scene_pos)
    )


def port_of(window, gpu_id: str) -> QPointF:
    return window.scene.gpus[gpu_id].port_scene_pos()


def empty_canvas_point(window) -> QPointF:
    rect = window.scene.content_rect()
    return QPointF(rect.right() + 400, rect.top() + 50)
