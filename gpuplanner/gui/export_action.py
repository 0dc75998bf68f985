"""File ▸ Export PDF… (Ctrl+E): the window's way into the PDF export.

The window does not import ``gpuplanner.export`` (the two are independent siblings on top of
``gpuplanner.drawing``): whoever builds the window hands it a :class:`PdfExporter`
(``gpuplanner.app`` hands it ``export_plan_pdf``), and without one the window has no Export PDF action.

The person picks a file and the paper size (the save dialog's file type: A4 or US Letter); the export
uses the window's current plan and its latest report, so the PDF shows what the window shows. A
progress dialog appears when the export takes more than a moment, and can cancel it. Problems are
dialogs that say what went wrong and what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QLocale, QStandardPaths, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QProgressDialog, QWidget

from gpuplanner.core.errors import PlannerError
from gpuplanner.gui import dialogs
from gpuplanner.gui.startup import when_ready

if TYPE_CHECKING:  # File ▸ Export PDF… is installed with the window's first frame: no model import
    from gpuplanner.core.plan import Plan
    from gpuplanner.core.report import Report
    from gpuplanner.gui.window_api import PlanWindow

ACTION_NAME = "actionExportPdf"
FILTERS = {"a4": "PDF, A4 paper (*.pdf)", "letter": "PDF, US Letter paper (*.pdf)"}
SHOW_PROGRESS_AFTER_MS = 400


class PdfExporter(Protocol):
    """Writes ``plan`` as a PDF at ``path``; returns the path written, or None when ``progress``
    (pages done, pages in all) returned False and nothing was written. Raises PlannerError or OSError."""

    def __call__(
        self,
        plan: Plan,
        path: Path,
        *,
        page_size: str,
        report: Report | None,
        progress: Callable[[int, int], object],
    ) -> Path | None: ...


def default_page_size() -> str:
    """US Letter where people use it (the United States, Canada, Mexico, …), A4 elsewhere."""
    size = QLocale.system().measurementSystem()
    return "letter" if size == QLocale.MeasurementSystem.ImperialUSSystem else "a4"


def suggested_path(window: PlanWindow) -> Path:
    """The plan file's name with .pdf, next to it; or the plan's name in Documents."""
    if window.path:
        return Path(window.path).with_suffix(".pdf")
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(
        Path.home()
    )
    safe = "".join(ch if ch.isalnum() or ch in " -_." else "-" for ch in window.document.plan.name).strip()
    return Path(folder) / f"{safe or 'plan'}.pdf"


def ask_pdf_path(parent: QWidget, suggested: Path) -> tuple[Path, str] | None:
    """(path ending in .pdf, page size) from a save dialog, or None when the person cancels."""
    first = default_page_size()
    filters = [FILTERS[first], *(f for size, f in FILTERS.items() if size != first)]
    path, chosen = QFileDialog.getSaveFileName(
        parent, "Export PDF", str(suggested), ";;".join(filters), filters[0]
    )
    if not path:
        return None
    size = next((s for s, f in FILTERS.items() if f == chosen), first)
    return (Path(path if path.lower().endswith(".pdf") else f"{path}.pdf"), size)


def export_window_pdf(
    window: PlanWindow, export_pdf: PdfExporter, path: Path, page_size: str = "a4"
) -> Path | None:
    """Export the window's plan to ``path`` with a progress dialog; errors become a warning dialog.

    Returns the written path, or None when it failed or was cancelled.
    """
    report = window.evaluate_now()
    progress = QProgressDialog("Writing the PDF…", "Cancel", 0, 0, window)
    progress.setWindowTitle("Export PDF")
    progress.setObjectName("exportProgress")
    progress.setWindowModality(Qt.WindowModality.WindowModal)
    progress.setMinimumDuration(SHOW_PROGRESS_AFTER_MS)
    progress.setAutoClose(False)

    def step(done: int, total: int) -> bool:
        progress.setMaximum(total)
        progress.setValue(done)
        progress.setLabelText(f"Writing page {done} of {total}…")
        QApplication.processEvents()
        return not progress.wasCanceled()

    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        written = export_pdf(window.document.plan, path, page_size=page_size, report=report, progress=step)
    except PlannerError as exc:
        _warn(window, f"The PDF could not be written.\n\n{exc.message}", exc.fix)
        return None
    except OSError as exc:
        _warn(window, f"The PDF could not be written: {exc}", "Choose another folder.")
        return None
    finally:
        QApplication.restoreOverrideCursor()
        progress.close()
        progress.deleteLater()
    if written is None:
        window.show_message("PDF export cancelled; nothing was written.")
        return None
    window.show_message(f"Exported {written}")
    return written


def _warn(parent: QWidget, message: str, fix: str) -> None:
    dialogs.show_error(parent, "Export PDF", f"{message}\n\nFix: {fix}" if fix else message)


def export_interactive(window: PlanWindow, export_pdf: PdfExporter) -> Path | None:
    """Ask where to save, then export (the menu action)."""
    answer = ask_pdf_path(window, suggested_path(window))
    if answer is None:
        return None
    return export_window_pdf(window, export_pdf, *answer)


def install_export_action(window: PlanWindow, export_pdf: PdfExporter) -> QAction:
    """Add File ▸ Export PDF… (Ctrl+E) above Quit, registered as ``actionExportPdf``."""
    actions = window.actions
    action = QAction("Export &PDF…", window)
    action.setObjectName(ACTION_NAME)
    action.setShortcut(QKeySequence("Ctrl+E"))
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(f"Export the plan as a PDF report ({keys})")
    action.setStatusTip("Export the plan as a PDF report to hand to a colleague")
    # while the window loads its plan (``gui.startup``), the export waits for it
    action.triggered.connect(lambda _=False: when_ready(window, lambda: export_interactive(window, export_pdf)))
    quit_action = actions.by_name.get("actionQuit")
    if quit_action is not None:
        actions.file_menu.insertAction(quit_action, action)
        actions.file_menu.insertSeparator(quit_action)
    else:
        actions.file_menu.addAction(action)
    actions.by_name[ACTION_NAME] = action
    return action
