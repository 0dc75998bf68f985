"""``gpuplanner.gui.app.run``: starts on the sample plan, and turns unexpected errors into words."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QMessageBox

from gpuplanner.gui import app as app_module


def test_run_opens_the_sample_plan(qapp, qtbot, no_dialogs, monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run() installs its own; put it back after
    # run() ends in app.exec(); quitting the test's shared application would stop later event loops
    monkeypatch.setattr(QApplication, "exec", lambda self=None: 0)
    # the real one freezes the garbage collector for the rest of the session: every window of every
    # later test would then outlive its test
    settled = []
    monkeypatch.setattr(app_module, "settle_garbage_collector", lambda: settled.append(True))
    assert app_module.run(None) == 0
    window = next(
        w for w in QApplication.topLevelWidgets() if w.objectName() == "mainWindow" and w.isVisible()
    )
    qtbot.addWidget(window)
    assert isinstance(window, QMainWindow) and window.isVisible()
    # the first frame is on screen before the plan is loaded (gui.startup); the rest follows it
    assert not window.built and window.windowTitle() == "gpuplanner"
    assert window.findChild(QLabel, "statusVerdict").text() == "Loading sample plan…"
    qtbot.waitUntil(lambda: window.ready)
    assert window.windowTitle() == "dgx-h100-llama-3.1-70b-tp8.gpuplan — gpuplanner"
    assert len(window.scene.gpus) == 8
    assert not qapp.windowIcon().isNull()
    qtbot.waitUntil(lambda: settled == [True])  # once the window is ready


def test_unexpected_error_is_shown_in_words(qapp, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    try:
        raise ValueError("the bar chart lost its axis")
    except ValueError as exc:
        app_module._show_unexpected(ValueError, exc, exc.__traceback__)
    assert shown and shown[0].startswith("Something went wrong: the bar chart lost its axis")
    assert "Traceback" not in shown[0]
