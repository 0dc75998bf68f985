"""PlanWindow: the main window as its own menus, file handling and PDF export see it.

``gpuplanner.gui.main_window.MainWindow`` is one. The menus (``actions``), ``files`` and
``export_action`` are parts of the window's chrome and type their window as this protocol, so they do
not import ``main_window`` (which imports them): the gui package has no import loop. Parts that only
edit the plan (the canvas, the inspector, the live panel, the Edit menu) get the narrower
:class:`~gpuplanner.gui.editor.Editor` instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QAction, QUndoStack
from PySide6.QtWidgets import QDockWidget, QMenu

from gpuplanner.core.catalog import Catalog
from gpuplanner.core.report import Report
from gpuplanner.document.document import PlanDocument
from gpuplanner.gui.autosave import Autosave
from gpuplanner.gui.editor import Editor
from gpuplanner.gui.inspector import Inspector
from gpuplanner.gui.panel.controller import PanelController
from gpuplanner.gui.rack.view import RackView


class Menus(Protocol):
    """The window's menus as the file handling and the export action use them."""

    file_menu: QMenu
    by_name: dict[str, QAction]

    def refresh_recent(self) -> None: ...


class PlanWindow(Protocol):
    document: PlanDocument
    editor: Editor
    undo_stack: QUndoStack
    catalog: Catalog
    path: Path | None
    view: RackView
    inspector: Inspector
    panel_controller: PanelController
    autosave: Autosave
    catalog_dock: QDockWidget
    inspector_dock: QDockWidget

    @property
    def actions(self) -> Menus: ...

    def show_message(self, text: str, timeout_ms: int = 6000) -> None: ...

    def update_title(self) -> None: ...

    def is_dirty(self) -> bool: ...

    def evaluate_now(self) -> Report | None: ...

    def copy_selection(self) -> bool: ...

    def paste(self) -> None: ...

    def delete_selection(self) -> None: ...

    # QMainWindow's own, for the window's remembered layout
    def saveGeometry(self) -> QByteArray: ...

    def saveState(self, version: int = 0) -> QByteArray: ...

    def restoreGeometry(self, geometry: QByteArray) -> bool: ...

    def restoreState(self, state: QByteArray, version: int = 0) -> bool: ...
