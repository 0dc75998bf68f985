"""The staged start (``gui.startup``): the window's first frame on screen before the plan is loaded,
then the same window as the synchronous ``create_main_window`` builds; parts built late still work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow

from gpuplanner.gui import startup
from gpuplanner.paths import examples_dir

SAMPLE = "dgx-h100-llama-3.1-70b-tp8.gpuplan"
MIXED = "mixed-3090-4090-qwen3-32b-uneven.gpuplan"


def staged_window(qtbot, path=None):
    """The window as ``gpuplanner`` starts it: the first frame, shown (not yet loaded)."""
    from gpuplanner.app import export_pdf
    from gpuplanner.gui.main_window import create_main_window

    window = create_main_window(path, export_pdf, staged=True)
    qtbot.addWidget(window)
    window.show()
    return window


def dock_layout(window: QMainWindow) -> dict[str, tuple]:
    """Each dock's area, visibility, floating state and the docks tabbed with it."""
    return {
        dock.objectName(): (
            window.dockWidgetArea(dock),
            dock.isVisibleTo(window),
            dock.isFloating(),
            sorted(d.objectName() for d in window.tabifiedDockWidgets(dock)),
        )
        for dock in window.findChildren(QDockWidget)
        if dock.objectName()
    }


def menus(window: QMainWindow) -> list[tuple[str, list[str]]]:
    return [
        (action.text(), [a.text() for a in action.menu().actions()])
        for action in window.menuBar().actions()
        if action.menu() is not None
    ]


def test_the_first_frame_shows_before_the_plan_is_loaded(qtbot, no_dialogs):
    window = staged_window(qtbot)
    qtbot.waitExposed(window)
    # on screen: title, menus, toolbar, the docks where they will be, "Loading…" on the canvas
    assert not window.built and not window.ready
    assert window.windowTitle() == "gpuplanner"
    assert [a.text() for a in window.menuBar().actions()] == ["&File", "&Edit", "&View", "&Rig", "&Import", "&Help"]
    assert window.findChild(QLabel, "statusVerdict").text() == "Loading sample plan…"
    assert isinstance(window.centralWidget(), startup.StandIn)
    assert window.centralWidget().text() == "Loading sample plan…"
    names = {d.objectName() for d in window.findChildren(QDockWidget)}
    assert {"catalogDock", "inspectorDock", "livePanel", "launchDock", "planForMeDock"} <= names
    qtbot.waitUntil(lambda: window.ready, timeout=20000)
    assert window.latest_report is not None  # evaluated
    assert not window.findChildren(startup.StandInDock) or all(
        not d.objectName() for d in window.findChildren(startup.StandInDock)
    )
    assert window.findChild(QLabel, "statusVerdict").text() != "Loading sample plan…"


def test_the_staged_start_ends_as_the_synchronous_one(qtbot, open_window):
    synchronous = open_window(None)
    synchronous_layout, synchronous_menus = dock_layout(synchronous), menus(synchronous)
    staged = staged_window(qtbot)
    qtbot.waitUntil(lambda: staged.ready, timeout=20000)
    QApplication.processEvents()  # the stand-ins' deferred deletion
    assert staged.document.plan == synchronous.document.plan
    assert staged.path == synchronous.path and staged.path.name == SAMPLE
    assert staged.latest_report is not None and staged.latest_report == synchronous.evaluate_now()
    assert not staged.is_dirty() and staged.undo_stack.count() == 0 and staged.undo_stack.isClean()
    assert staged.windowTitle() == synchronous.windowTitle() == f"{SAMPLE} — gpuplanner"
    assert len(staged.scene.gpus) == len(synchronous.scene.gpus) == 8
    assert dock_layout(staged) == synchronous_layout
    assert menus(staged) == synchronous_menus
    assert sorted(staged.actions.by_name) == sorted(synchronous.actions.by_name)
    assert not staged.findChildren(startup.StandIn) and not staged.findChildren(startup.StandInDock)
    # the verdict in the status bar is the report's, as in the synchronous window
    verdict = staged.findChild(QLabel, "statusVerdict").text()
    assert verdict == synchronous.findChild(QLabel, "statusVerdict").text()


def test_a_plan_given_on_the_command_line_opens(qtbot, no_dialogs):
    path = examples_dir() / MIXED
    window = staged_window(qtbot, path)
    assert window.findChild(QLabel, "statusVerdict").text() == f"Loading {MIXED}…"
    qtbot.waitUntil(lambda: window.ready, timeout=20000)
    assert window.path == path and window.windowTitle() == f"{MIXED} — gpuplanner"
    assert window.latest_report is not None and not window.is_dirty()
    assert not no_dialogs


def test_an_unreadable_plan_says_so_and_opens_the_sample(qtbot, no_dialogs, tmp_path):
    bad = tmp_path / "broken.gpuplan"
    bad.write_text("{ not json", encoding="utf-8")
    window = staged_window(qtbot, bad)
    qtbot.waitUntil(lambda: window.ready, timeout=20000)
    assert no_dialogs and no_dialogs[0][0] == "Cannot open plan"
    assert window.path is not None and window.path.name == SAMPLE


def test_the_remembered_dock_layout_applies_to_the_first_frame_and_stays(qtbot, open_window):
    from gpuplanner.gui.files import remember_geometry

    first = open_window(None)
    first.catalog_dock.hide()
    first.panel.setFloating(True)
    first.launch_dock.raise_()  # the Launch tab in front of the inspector
    remember_geometry(first)
    remembered = dock_layout(first)
    first.close()

    window = staged_window(qtbot)
    from gpuplanner.gui.startup import restore_frame_layout

    restore_frame_layout(window)  # as gui.app.run does before showing it
    assert not window.catalog_dock.isVisibleTo(window)
    assert window.findChild(QDockWidget, "livePanel").isFloating()  # the stand-in, where the panel was
    qtbot.waitUntil(lambda: window.ready, timeout=20000)
    QApplication.processEvents()
    assert dock_layout(window) == remembered
    assert window.panel.isFloating() and not window.catalog_dock.isVisibleTo(window)


def test_an_action_triggered_while_loading_runs_once_ready(qtbot, no_dialogs):
    window = staged_window(qtbot)
    window.actions.by_name["actionSelectAll"].trigger()  # before the canvas exists
    assert not window.built
    qtbot.waitUntil(lambda: window.ready, timeout=20000)
    assert len(window.scene.selection().nodes) == len(window.document.plan.rig.nodes) == 1


def test_a_plan_opened_by_the_system_while_loading_opens_after_it(qtbot, no_dialogs):
    from gpuplanner.gui.app import _FileOpenFilter

    window = staged_window(qtbot)
    path = examples_dir() / MIXED
    opener = _FileOpenFilter(window, window)
    assert opener.eventFilter(window, QFileOpenEvent(str(path)))
    qtbot.waitUntil(lambda: window.ready, timeout=20000)
    assert window.path == path


def test_the_docks_built_after_the_first_frame_work(qtbot, no_dialogs):
    window = staged_window(qtbot)
    qtbot.waitUntil(lambda: window.ready, timeout=20000)
    # the Launch dock: its tab brought forward shows the plan's launch command
    window.launch_dock.show()
    window.launch_dock.raise_()
    qtbot.waitUntil(lambda: "vllm serve" in window.launch_dock.panel.text.toPlainText(), timeout=5000)
    # Plan for me: its View-menu entry (Ctrl+Shift+L) shows the dock holding the panel
    dock = window.findChild(QDockWidget, "planForMeDock")
    toggle = dock.toggleViewAction()
    assert toggle in window.actions.view_menu.actions()
    dock.close()
    toggle.trigger()
    assert dock.isVisible() and dock.widget().widget() is window.plan_for_me
    # the live panel shows the report
    assert window.panel.report is window.latest_report
    # History (built with the first frame)
    window.actions.by_name["actionHistory"].trigger()
    assert window.actions.history_dock.isVisible()


def test_the_import_menu_loads_its_machinery_when_chosen(qtbot, no_dialogs):
    window = staged_window(qtbot)
    qtbot.waitUntil(lambda: window.ready, timeout=20000)
    window.actions.by_name["actionRemoveCalibration"].trigger()  # imports gui.own_rig now
    assert window.statusBar().currentMessage() == "No calibration to remove"
    assert window.findChild(type(window.actions.import_menu), "importMenu") is window.actions.import_menu


def test_closing_while_loading_keeps_the_remembered_layout(qtbot, no_dialogs):
    from gpuplanner.gui.recent import app_settings

    app_settings().setValue("window/state", QByteArray(b"kept"))
    window = staged_window(qtbot)
    assert not window.built
    window.close()  # before the plan is loaded: nothing to ask, nothing saved over the settings
    assert app_settings().value("window/state") == QByteArray(b"kept")
    qtbot.wait(50)
    assert not window.built  # and the loading does not go on behind a closed window


def test_importing_the_window_imports_none_of_what_waits_for_first_use():
    """The first frame's modules: the window class, its menus, the stand-ins. The catalog, the model,
    the canvas, the charts, the Import menu's machinery (HTTP client included), Plan for me's search,
    the launch commands and the PDF are imported after the first frame or on first use."""
    later = [
        "gpuplanner.core.hf_fetch",
        "urllib.request",
        "http.client",
        "gpuplanner.gui.own_rig",
        "gpuplanner.core.topo_import",
        "gpuplanner.core.user_fit",
        "gpuplanner.core.bench_import",
        "gpuplanner.core.recommend",
        "gpuplanner.core.launch",
        "gpuplanner.gui.plan_for_me",
        "gpuplanner.gui.launch_panel",
        "gpuplanner.core.catalog",
        "gpuplanner.core.evaluate",
        "gpuplanner.drawing.scene",
        "gpuplanner.gui.panel.panel",
        "gpuplanner.export.pdf",
        "pyqtgraph",
        "pydantic",
        "numpy",
    ]
    code = (
        "import json, sys\nimport gpuplanner.gui.main_window, gpuplanner.gui.app\n"
        f"print(json.dumps([m for m in {later!r} if m in sys.modules]))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root,
        env={"PYTHONPATH": str(root), "QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_a_broken_catalog_is_a_message_and_exit_code_1(qtbot, no_dialogs, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from gpuplanner.core import catalog
    from gpuplanner.core.errors import CatalogError

    def broken():
        raise CatalogError("gpus.toml line 3: bad value", fix="reinstall gpuplanner")

    shown, exits = [], []
    monkeypatch.setattr(catalog, "default_catalog", broken)
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append((title, text)))
    monkeypatch.setattr(QApplication, "exit", lambda code=0: exits.append(code))
    window = staged_window(qtbot)
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    assert shown[0][0] == "gpuplanner cannot start" and "gpus.toml line 3" in shown[0][1]
    assert exits == [1] and not window.isVisible() and not window.built


def test_the_stand_in_text_names_the_file():
    assert startup.loading_text(None) == "Loading sample plan…"
    assert startup.loading_text("/some/where/rack.gpuplan") == "Loading rack.gpuplan…"
    assert Qt.AlignmentFlag.AlignCenter in startup.StandIn("x").alignment()


def test_autosaved_work_is_offered_back_by_the_staged_start(qtbot, rig_window, monkeypatch):
    from gpuplanner.gui import dialogs
    from gpuplanner.gui.autosave import pending_autosave

    rig_window.scene.gpus["g0"].setSelected(True)
    rig_window.delete_selection()
    rig_window.autosave.write_now()
    edited = rig_window.document.plan  # the process "dies" here: the next start finds the file
    asked = []
    monkeypatch.setattr(dialogs, "ask_restore", lambda parent, description: asked.append(description) or True)
    window = staged_window(qtbot)
    qtbot.waitUntil(lambda: window.ready, timeout=20000)
    assert asked and window.document.plan == edited and window.is_dirty()
    assert window.path is not None and window.path.name == "hand-made.gpuplan"
    assert pending_autosave() is None


def test_pdf_export_chosen_while_loading_waits_for_the_plan(qtbot, no_dialogs, monkeypatch, tmp_path):
    from gpuplanner.gui import export_action

    exported = []
    monkeypatch.setattr(
        export_action, "export_interactive", lambda window, export_pdf: exported.append(window.document.plan)
    )
    window = staged_window(qtbot)
    window.actions.by_name["actionExportPdf"].trigger()
    assert not exported
    qtbot.waitUntil(lambda: window.ready, timeout=20000)
    assert exported == [window.document.plan]
