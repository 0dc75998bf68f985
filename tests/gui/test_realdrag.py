"""A real ``QDrag.exec`` from the palette onto the canvas.

The offscreen platform cancels every drag, so this runs in its own pass on a platform that performs
them (see ENVIRONMENT.md):

    QT_QPA_PLATFORM=minimal:enable_fonts .venv/bin/pytest -m realdrag tests/gui/test_realdrag.py
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from rackhelpers import slot_centre

pytestmark = pytest.mark.realdrag


def test_real_drag_from_palette_adds_a_gpu(rig_window, qtbot):
    if QGuiApplication.platformName() != "minimal":
        pytest.skip("real drags need QT_QPA_PLATFORM=minimal:enable_fonts (offscreen cancels them)")
    window = rig_window
    tree = window.palette_widget.tree
    leaf = window.palette_widget.find_leaf("gpu", "l40s")
    tree.scrollToItem(leaf)
    start = tree.visualItemRect(leaf).center()
    view = window.view
    target_scene = slot_centre(window, "n0", 6)
    view.centerOn(target_scene)
    target = view.viewport().mapTo(window, view.mapFromScene(target_scene))
    handle = window.windowHandle()
    finished: list[str] = []

    def drive() -> None:
        # runs inside QDrag.exec's event loop: move over the canvas, then drop
        for step in range(1, 6):
            QTest.mouseMove(handle, target + QPoint(10 - 2 * step, 0))
            QTest.qWait(20)
        QTest.mouseRelease(handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)
        finished.append("dropped")

    def guard() -> None:  # never hang the test run: Escape cancels a drag that did not end
        if not finished:
            QTest.keyClick(handle, Qt.Key.Key_Escape)

    QTimer.singleShot(150, drive)
    guard_timer = QTimer(window)
    guard_timer.setSingleShot(True)
    guard_timer.timeout.connect(guard)
    guard_timer.start(5000)
    viewport = tree.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    qtbot.mouseMove(viewport, start + QPoint(30, 4))  # beyond the drag distance: QDrag.exec starts
    qtbot.mouseMove(viewport, start + QPoint(60, 8))
    qtbot.waitUntil(lambda: bool(finished), timeout=6000)
    guard_timer.stop()
    placed = [g for g in window.document.node("n0").gpus if g.slot == 6]
    assert placed and placed[0].gpu == "l40s"
    assert window.undo_stack.count() == 1


def test_real_drag_of_a_layer_range_onto_a_gpu_of_the_next_stage_moves_those_layers(rig_window, qtbot):
    if QGuiApplication.platformName() != "minimal":
        pytest.skip("real drags need QT_QPA_PLATFORM=minimal:enable_fonts (offscreen cancels them)")
    window = rig_window
    window.resize(1600, 1000)
    qtbot.wait(20)
    layer_map = window.panel.layer_map
    first_stage = window.document.plan.layout.replicas[0].stages[0]
    end = first_stage.layers[1]  # stage 1 (g0-g3) holds layers [0, end); stage 2 (g4-g7) the rest
    layers = window.document.plan.layout.replicas[0].stages[-1].layers[1]
    edges = layer_map.edges()
    y = round(layer_map.strip_y(0))

    def centre(layer: int) -> QPoint:  # cell 0 is the embeddings: model layer j is cell j + 1
        return QPoint(round((edges[layer + 1] + edges[layer + 2]) / 2), y)

    # select stage 1's last four layers, then drag the selection onto g4, a GPU of stage 2
    qtbot.mousePress(layer_map, Qt.MouseButton.LeftButton, pos=centre(end - 4))
    qtbot.mouseMove(layer_map, centre(end - 1))
    qtbot.mouseRelease(layer_map, Qt.MouseButton.LeftButton, pos=centre(end - 1))
    assert layer_map.selection == (0, end - 4, end)
    view = window.view
    card_centre = window.scene.gpus["g4"].sceneBoundingRect().center()
    view.centerOn(card_centre)
    target = view.viewport().mapTo(window, view.mapFromScene(card_centre))
    handle = window.windowHandle()
    finished: list[str] = []

    def drive() -> None:  # inside QDrag.exec's event loop
        for step in range(1, 6):
            QTest.mouseMove(handle, target + QPoint(10 - 2 * step, 0))
            QTest.qWait(20)
        QTest.mouseRelease(handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)
        finished.append("dropped")

    def guard() -> None:
        if not finished:
            QTest.keyClick(handle, Qt.Key.Key_Escape)

    QTimer.singleShot(150, drive)
    guard_timer = QTimer(window)
    guard_timer.setSingleShot(True)
    guard_timer.timeout.connect(guard)
    guard_timer.start(5000)
    start = centre(end - 2)
    qtbot.mousePress(layer_map, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    qtbot.mouseMove(layer_map, start + QPoint(0, -30))  # beyond the drag distance: QDrag.exec starts
    qtbot.waitUntil(lambda: bool(finished), timeout=6000)
    guard_timer.stop()
    stages = window.document.plan.layout.replicas[0].stages
    assert stages[0].layers == (0, end - 4) and stages[1].layers == (end - 4, layers)
    assert (
        window.undo_stack.text(window.undo_stack.index() - 1)
        == f"Put layers {end - 4}–{end - 1} on g4's stage"
    )
    window.undo_stack.undo()
    assert window.document.plan.layout.replicas[0].stages[0] == first_stage
