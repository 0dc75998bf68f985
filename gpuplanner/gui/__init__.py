"""The PySide6 window: rack canvas, catalog palette, inspector, undo, files.

``create_main_window(plan_path=None, export_pdf=None)`` returns the ``QMainWindow`` (objectName
``mainWindow``) with ``open_plan(path)``, ``save_plan(path)``, ``undo_stack`` and the ``report_changed``
signal; File ▸ Export PDF… only with an ``export_pdf`` (``gpuplanner.app.create_main_window`` is the
whole window, PDF export included).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpuplanner.gui.export_action import PdfExporter
    from gpuplanner.gui.main_window import MainWindow


def create_main_window(plan_path: Any = None, export_pdf: PdfExporter | None = None) -> MainWindow:
    """The main window on ``plan_path`` or the built-in sample plan (needs a QApplication)."""
    from gpuplanner.gui.main_window import create_main_window as create

    return create(plan_path, export_pdf)


__all__ = ["create_main_window"]
