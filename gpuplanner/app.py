"""The whole application: the window with the PDF export plugged in.

``gpuplanner.gui`` and ``gpuplanner.export`` do not import each other (both stand on
``gpuplanner.drawing``); this module, above both, hands the window the exporter. Scripts that want the
window as a person sees it call :func:`create_main_window` here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gpuplanner.core.plan import Plan
    from gpuplanner.core.report import Report
    from gpuplanner.gui.main_window import MainWindow


def export_pdf(
    plan: Plan,
    path: Path,
    *,
    page_size: str,
    report: Report | None,
    progress: Callable[[int, int], object],
) -> Path | None:
    """:func:`gpuplanner.export.pdf.export_plan_pdf`, with None for a cancelled export (the window's
    ``PdfExporter``)."""
    # imported here: the PDF machinery costs a quarter of a second the window should not pay at start
    from gpuplanner.export.pdf import ExportCancelled, export_plan_pdf

    try:
        return export_plan_pdf(plan, path, page_size=page_size, report=report, progress=progress,
                               slo_targets=_slo_targets())
    except ExportCancelled:
        return None


def _slo_targets() -> tuple[float | None, float | None]:
    """The Launch dock's service-level targets (kept in the settings), for the PDF's decision page."""
    from gpuplanner.gui.recent import app_settings

    settings = app_settings()
    values = []
    for key in ("slo/ttft_ms", "slo/tpot_ms"):
        try:
            value = float(settings.value(key, 0) or 0)
        except (TypeError, ValueError):
            value = 0.0
        values.append(value if value > 0 else None)
    return values[0], values[1]


def create_main_window(plan_path: str | Path | None = None, *, staged: bool = False) -> MainWindow:
    """The main window on ``plan_path`` (or the built-in sample plan), File ▸ Export PDF… included;
    ``staged``: its first frame at once, the rest once it is painted (``gpuplanner.gui.startup``)."""
    from gpuplanner.gui.main_window import create_main_window as create

    return create(plan_path, export_pdf, staged=staged)


def run(plan_path: str | None = None) -> int:
    """Show the window (the ``gpuplanner`` command without a subcommand); returns the exit code."""
    from gpuplanner.gui.app import run as run_window

    return run_window(plan_path, export_pdf)
