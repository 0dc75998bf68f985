"""``gpuplanner.gui.app.run``: starts on the sample plan, and turns unexpected errors into words."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

from gpuplanner.gui import app as app_module


def test_run_opens_the_sample_plan_and_returns_when_the_app_quits(qapp, no_dialogs, monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run() installs its own; put it back after
    seen = {}

    def look_and_quit():
        window = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "mainWindow")
        seen["title"] = window.windowTitle()
        seen["gpus"] = len(window.scene.gpus)
        assert isinstance(window, QMainWindow)
        window.close()
        qapp.quit()

    QTimer.singleShot(100, look_and_quit)
    assert app_module.run(None) == 0
    assert seen == {"title": "dgx-h100-llama-3.1-70b-tp8.gpuplan — gpuplanner", "gpus": 8}
    assert not qapp.windowIcon().isNull()


def test_unexpected_error_is_shown_in_words(qapp, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    try:
        raise ValueError("the bar chart lost its axis")
    except ValueError as exc:
        app_module._show_unexpected(ValueError, exc, exc.__traceback__)
    assert shown and shown[0].startswith("Something went wrong: the bar chart lost its axis")
    assert "Traceback" not in shown[0]
