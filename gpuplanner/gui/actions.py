"""Menus, toolbar and keyboard shortcuts of the main window.

They are part of the window's first frame, so this module imports no model, no file handling and none
of the dialogs' machinery: each slot imports what it runs when it is first triggered (the Import menu's
``own_rig`` with its HTTP client, ``files``, ``edits``). While the window is still loading its plan, a
triggered action waits for it (``when_ready``) instead of reaching parts not built yet.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu, QStyle, QToolBar, QToolButton, QUndoView

from gpuplanner.gui.presets import PRESETS
from gpuplanner.gui.recent import clear_recent_files, recent_files
from gpuplanner.gui.startup import sample_plans, when_ready

if TYPE_CHECKING:
    from gpuplanner.drawing.scene import Selection
    from gpuplanner.gui.window_api import PlanWindow


class WindowActions:
    def __init__(self, window: PlanWindow) -> None:
        self.window = window
        self.by_name: dict[str, QAction] = {}
        bar = window.menuBar()
        self.file_menu = bar.addMenu("&File")
        self.edit_menu = bar.addMenu("&Edit")
        self.view_menu = bar.addMenu("&View")
        self.rig_menu = bar.addMenu("&Rig")
        self.help_menu = bar.addMenu("&Help")
        self.recent_menu = QMenu("Open &Recent", window)
        self.recent_menu.setObjectName("recentMenu")
        self.new_menu = QMenu("New from &Template", window)
        self.new_menu.setObjectName("newFromTemplateMenu")
        self._file()
        self._edit()
        self._view()
        self._rig()
        self._help()
        self.import_menu = install_import_menu(window, self.add, self.help_menu)
        self._toolbar()
        self.refresh_recent()

    def add(
        self,
        menu: QMenu,
        name: str,
        text: str,
        slot: Callable[[], object],
        shortcut: object = None,
        tip: str = "",
        *,
        wait: bool = True,
    ) -> QAction:
        """A menu action; with ``wait`` (all but Quit) triggered while the window loads, it runs once
        the window is ready."""
        action = QAction(text, self.window)
        action.setObjectName(name)
        if shortcut is not None:
            if isinstance(shortcut, list):
                action.setShortcuts(shortcut)
            else:
                action.setShortcut(shortcut)
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip or text.replace('&', '').rstrip('…')}" + (f" ({keys})" if keys else ""))
        action.setStatusTip(tip)
        if wait:
            action.triggered.connect(lambda _=False: when_ready(self.window, slot))
        else:
            action.triggered.connect(lambda _=False: slot())
        menu.addAction(action)
        self.by_name[name] = action
        return action

    def _file(self) -> None:
        w, m = self.window, self.file_menu
        self.add(
            m,
            "actionNew",
            "&New Empty Rig",
            lambda: _files().new_plan(w, None),
            QKeySequence.StandardKey.New,
            "Start a plan with an empty canvas",
        )
        m.addMenu(self.new_menu)
        samples = sample_plans()
        for path in samples:
            self.new_menu.addAction(
                path.stem.replace("-", " "), lambda p=path: when_ready(w, lambda: _files().new_plan(w, p))
            )
        self.new_menu.setEnabled(bool(samples))
        self.add(
            m,
            "actionOpen",
            "&Open…",
            lambda: _files().open_interactive(w),
            QKeySequence.StandardKey.Open,
            "Open a .gpuplan file",
        )
        m.addMenu(self.recent_menu)
        m.addSeparator()
        self.add(
            m,
            "actionSave",
            "&Save",
            lambda: _files().save_interactive(w),
            QKeySequence.StandardKey.Save,
            "Save the plan",
        )
        self.add(
            m,
            "actionSaveAs",
            "Save &As…",
            lambda: _files().save_interactive(w, ask=True),
            QKeySequence("Ctrl+Shift+S"),
            "Save the plan to a new file",
        )
        m.addSeparator()
        self.add(
            m,
            "actionImportModel",
            "&Import Model…",
            lambda: _import_model(w),
            QKeySequence("Ctrl+I"),
            "Add a model from its Hugging Face config.json and use it in this plan",
        )
        m.addSeparator()
        self.add(m, "actionQuit", "&Quit", w.close, QKeySequence("Ctrl+Q"), "Close the window", wait=False)

    def _edit(self) -> None:
        w, m = self.window, self.edit_menu
        undo = w.undo_stack.createUndoAction(w, "&Undo")
        undo.setObjectName("actionUndo")
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        redo = w.undo_stack.createRedoAction(w, "&Redo")
        redo.setObjectName("actionRedo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        m.addActions([undo, redo])
        self.by_name.update(actionUndo=undo, actionRedo=redo)
        self.add(
            m,
            "actionHistory",
            "&History",
            self.show_history,
            QKeySequence("Ctrl+H"),
            "Every edit so far; click one to go back to it",
        )
        m.addSeparator()
        self.add(
            m,
            "actionCopy",
            "&Copy",
            w.copy_selection,
            QKeySequence.StandardKey.Copy,
            "Copy the selected servers and GPUs",
        )
        self.add(m, "actionPaste", "&Paste", w.paste, QKeySequence.StandardKey.Paste, "Paste servers or GPUs")
        self.add(
            m,
            "actionDelete",
            "&Delete",
            w.delete_selection,
            [QKeySequence(Qt.Key.Key_Delete), QKeySequence(Qt.Key.Key_Backspace)],
            "Delete the selection (with the links it takes along)",
        )
        self.add(
            m,
            "actionSelectAll",
            "Select &All",
            lambda: _select_all(w),
            QKeySequence.StandardKey.SelectAll,
            "Select every server",
        )
        self.history_view = QUndoView(w.undo_stack)
        self.history_view.setObjectName("historyView")
        self.history_view.setEmptyLabel("Opened plan")
        self.history_dock = QDockWidget("History", w)
        self.history_dock.setObjectName("historyDock")
        self.history_dock.setWidget(self.history_view)
        w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.history_dock)
        self.history_dock.hide()

    def show_history(self) -> None:
        self.history_dock.show()
        self.history_dock.raise_()

    def _view(self) -> None:
        w, m = self.window, self.view_menu
        self.add(
            m,
            "actionZoomIn",
            "Zoom &In",
            lambda: w.view.zoom_by(1.25),
            [QKeySequence.StandardKey.ZoomIn, QKeySequence("Ctrl+=")],
            "Zoom in",
        )
        self.add(
            m,
            "actionZoomOut",
            "Zoom &Out",
            lambda: w.view.zoom_by(0.8),
            QKeySequence.StandardKey.ZoomOut,
            "Zoom out",
        )
        self.add(
            m, "actionFit", "&Fit to View", lambda: w.view.fit_all(), QKeySequence("Ctrl+0"), "Show the whole rig"
        )
        self.add(
            m,
            "actionActualSize",
            "&Actual Size",
            lambda: w.view.reset_zoom(),
            QKeySequence("Ctrl+1"),
            "Zoom to 100%",
        )
        m.addSeparator()
        for dock in (w.catalog_dock, w.inspector_dock, self.history_dock):
            m.addAction(dock.toggleViewAction())
        m.addSeparator()

    def _rig(self) -> None:
        w, m = self.window, self.rig_menu
        self.add(
            m,
            "actionAddServer",
            "Add Empty &Server",
            lambda: w.inspector.add_empty_server(),
            QKeySequence("Ctrl+Shift+N"),
            "Add a server with 8 empty slots",
        )
        self.add(
            m,
            "actionArrange",
            "&Arrange Servers",
            lambda: w.inspector.arrange_servers(),
            QKeySequence("Ctrl+Shift+A"),
            "Lay the servers out side by side",
        )
        m.addSeparator()
        self.add(
            m,
            "actionMakeTpGroup",
            "Make &TP Group",
            lambda: w.panel_controller.make_tp_group(),
            QKeySequence("Ctrl+G"),
            "The selected GPUs become one tensor-parallel group (a stage of their own, or a new replica)",
        ).setEnabled(False)
        self.add(
            m,
            "actionSplitStages",
            "S&plit into Stages",
            lambda: w.panel_controller.split_group(),
            QKeySequence("Ctrl+Shift+G"),
            "Break the selected GPU's tensor-parallel group into pipeline stages, one GPU each",
        ).setEnabled(False)
        m.addSeparator()
        for key, text in PRESETS.items():
            self.add(
                m,
                f"actionPreset_{key.replace('-', '_')}",
                f"Wire: {text}",
                lambda k=key: w.inspector.apply_preset(k),
                None,
                f"Wire the selected server: {text}",
            )

    def _help(self) -> None:
        def about() -> None:
            from gpuplanner.gui.about import show_about

            show_about(self.window)

        self.add(
            self.help_menu, "actionAbout", "&About gpuplanner", about, None, "Version, catalogs and licences"
        )

    def _toolbar(self) -> None:
        bar = QToolBar("Main", self.window)
        bar.setObjectName("mainToolBar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        style = self.window.style()
        icons = {
            "actionNew": QStyle.StandardPixmap.SP_FileIcon,
            "actionOpen": QStyle.StandardPixmap.SP_DialogOpenButton,
            "actionSave": QStyle.StandardPixmap.SP_DialogSaveButton,
            "actionUndo": QStyle.StandardPixmap.SP_ArrowBack,
            "actionRedo": QStyle.StandardPixmap.SP_ArrowForward,
            "actionDelete": QStyle.StandardPixmap.SP_TrashIcon,
        }
        for name, pixmap in icons.items():
            self.by_name[name].setIcon(style.standardIcon(pixmap))
        for name in (
            "actionNew",
            "actionOpen",
            "actionSave",
            None,
            "actionUndo",
            "actionRedo",
            None,
            "actionDelete",
            "actionFit",
        ):
            if name is None:
                bar.addSeparator()
            else:
                bar.addAction(self.by_name[name])
        for name in ("actionUndo", "actionRedo"):  # their text names the edit: too long for a button
            button = bar.widgetForAction(self.by_name[name])
            if isinstance(button, QToolButton):
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.window.addToolBar(bar)

    def refresh_recent(self) -> None:
        self.recent_menu.clear()
        paths = recent_files()
        for path in paths:
            action = self.recent_menu.addAction(Path(path).name, lambda p=path: self._open_recent(p))
            action.setToolTip(path)
        if paths:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", self._clear_recent)
        self.recent_menu.setEnabled(bool(paths))

    def _open_recent(self, path: str) -> None:
        when_ready(self.window, lambda: _open_recent(self.window, path))

    def _clear_recent(self) -> None:
        clear_recent_files()
        self.refresh_recent()

    def update_enabled(self, selection: Selection) -> None:
        self.by_name["actionDelete"].setEnabled(bool(selection))
        self.by_name["actionCopy"].setEnabled(bool(selection.nodes or selection.gpus))
        self.by_name["actionMakeTpGroup"].setEnabled(len(selection.gpus) >= 2)
        self.by_name["actionSplitStages"].setEnabled(len(selection.gpus) >= 1)


def build(window: PlanWindow) -> WindowActions:
    return WindowActions(window)


def _files() -> ModuleType:
    from gpuplanner.gui import files

    return files


def _open_recent(window: PlanWindow, path: str) -> None:
    files = _files()
    if files.confirm_discard(window):
        files.open_plan(window, Path(path))


def _import_model(window: PlanWindow) -> None:
    from gpuplanner.gui.import_model import import_model_interactive

    import_model_interactive(window, window.editor)  # type: ignore[arg-type]


def _select_all(window: PlanWindow) -> None:
    from gpuplanner.gui import edits

    edits.select_all(window.editor)


def _own_rig(name: str, window: PlanWindow) -> Callable[[], object]:
    """The Import menu's slot ``own_rig.<name>(window)``; ``own_rig`` (dialogs, the Hub's HTTP client,
    the topology parser, the benchmark fit) is imported the first time one is chosen."""

    def run() -> object:
        from gpuplanner.gui import own_rig

        return getattr(own_rig, name)(window)

    return run


def install_import_menu(window: PlanWindow, add: Callable[..., Any], before: QMenu) -> QMenu:
    """The Import menu, placed before ``before`` (Help) in the menu bar."""
    menu = QMenu("&Import", window)  # type: ignore[arg-type]
    menu.setObjectName("importMenu")
    window.menuBar().insertMenu(before.menuAction(), menu)  # type: ignore[attr-defined]
    add(
        menu,
        "actionImportTopology",
        "&Rig from nvidia-smi…",
        _own_rig("import_topology_interactive", window),
        QKeySequence("Ctrl+Shift+I"),
        "Build the rig from `nvidia-smi topo -m` output (pasted or from a file)",
    )
    add(
        menu,
        "actionCustomGpu",
        "&Custom GPU…",
        _own_rig("add_custom_gpu_interactive", window),
        None,
        "Add a GPU the catalog lacks (user-defined)",
    )
    add(
        menu,
        "actionImportModelByName",
        "&Model from Hugging Face…",
        _own_rig("import_model_by_name_interactive", window),
        None,
        "Fetch a model's config.json by its repo id (ORG/NAME)",
    )
    menu.addSeparator()
    add(
        menu,
        "actionCalibrate",
        "Calibrate from &Benchmarks…",
        _own_rig("calibrate_interactive", window),
        None,
        "Fit the speed model to llama-bench / vllm bench serve results measured on this plan's machine",
    )
    add(
        menu,
        "actionRemoveCalibration",
        "Remove My Calibration",
        _own_rig("remove_calibration", window),
        None,
        "Go back to the catalog's figures",
    )
    return menu
