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
