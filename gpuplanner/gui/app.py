"""``run(plan_path)``: the application entry point the ``gpuplanner`` command calls."""

from __future__ import annotations

import gc
import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QFileOpenEvent, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from gpuplanner.core.errors import PlannerError
from gpuplanner.crash import write_crash_report
from gpuplanner.paths import resources_dir

if TYPE_CHECKING:
    from gpuplanner.gui.export_action import PdfExporter
    from gpuplanner.gui.window_api import PlanWindow

log = logging.getLogger("gpuplanner")


def _show_unexpected(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
    """A bug in a slot must not kill the window nor show a traceback: write a crash report, say it in
    words with the report's path. The plan is untouched (every edit swaps in a whole new plan, so
    a failure leaves the last good one), and autosave keeps the edits."""
    if isinstance(error, PlannerError):  # a refused edit that reached no handler: the message says it all
        log.warning("refused: %s", error)
        text = str(error)
    else:
        log.error("unexpected error\n%s", "".join(traceback.format_exception(kind, error, tb)))
        report = write_crash_report(error, tb, context=["in the window"])
        where = f"\n\nDetails are in {report}; please attach it to a bug report." if report else ""
        text = f"Something went wrong: {error or kind.__name__}.\nYour plan is unchanged; autosave keeps your edits.{where}"
    parent = QApplication.activeWindow()
    QMessageBox.warning(parent, "gpuplanner", text)


def _set_icon(app: QApplication) -> None:
    try:
        from gpuplanner.gui.about import prepare_application

        prepare_application(app)  # name, icon, bundled fonts
    except ImportError:
        pass
    if app.windowIcon().isNull():
        try:
            svg = resources_dir() / "icons" / "gpuplanner.svg"
        except FileNotFoundError:
            return
        if svg.is_file():
            app.setWindowIcon(QIcon(str(svg)))


class _FileOpenFilter(QObject):
    """Opens the plan of a QFileOpenEvent (a double-click in macOS Finder), asking first when unsaved."""

    def __init__(self, window: PlanWindow, parent: QObject) -> None:
        super().__init__(parent)
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent) and event.file():
            from gpuplanner.gui import files
            from gpuplanner.gui.startup import when_ready

            path = Path(event.file())

            def open_it() -> None:
                if files.confirm_discard(self.window):
                    files.open_plan(self.window, path)

            when_ready(self.window, open_it)  # a plan double-clicked while the window loads opens after it
            return True
        return super().eventFilter(watched, event)


def run(plan_path: str | None = None, export_pdf: PdfExporter | None = None) -> int:
    """Show the main window on ``plan_path`` (or the built-in sample plan); returns the exit code."""
    # start-up allocates a great deal and frees little: the cyclic collector's passes over it (a tenth
    # of the start) find nothing; it runs again once the window is ready (``_started``)
    gc.disable()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    _set_icon(app)  # type: ignore[arg-type]
    from gpuplanner.gui.main_window import create_main_window
    from gpuplanner.gui.startup import restore_frame_layout, when_ready

    # the first frame (menus, toolbar, docks) shows at once; the plan, canvas and charts follow it
    # (gui.startup); a broken catalog is then a message and exit code 1
    window = create_main_window(plan_path, export_pdf, staged=True)
    sys.excepthook = _show_unexpected
    opener = _FileOpenFilter(window, window)  # macOS Finder sends double-clicked plans as events
    app.installEventFilter(opener)
    restore_frame_layout(window)
    window.fit_frame_to_screen()  # the frame inside the screen's available geometry, status bar included
    window.show()
    when_ready(window, _started)
    return app.exec()


def _started() -> None:
    """Once every part of the window is built: the cyclic garbage collector back on, and settled."""
    gc.enable()
    settle_garbage_collector()


def settle_garbage_collector() -> None:
    """Move everything built at start-up (Qt wrappers, catalogs, the first report) out of the cyclic
    garbage collector's view: a full collection then walks only what edits create, and stops costing
    tens of milliseconds in the middle of an edit on a big plan. Reference counting still frees them."""
    gc.collect()
    gc.freeze()
