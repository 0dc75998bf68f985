"""``export_plan_pdf``: the plan report as a PDF, the same from the window and from the command line.

The file appears whole or not at all: pages are written to a temporary file in the target folder,
which replaces the target only when the last page is done, and is removed on any failure.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import QApplication

from gpuplanner import __version__
from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.plan import Plan
from gpuplanner.core.report import Report
from gpuplanner.export.content import PlanFacts
from gpuplanner.export.flow import Contents, Heading, Placed, paginate
from gpuplanner.export.layout import PAGE_SIZES, PageFrame
from gpuplanner.export.pages import all_blocks, meta_line
from gpuplanner.export.theme import FAMILY, Ink

DPI = 300
Progress = Callable[[int, int], object]  # (pages done, pages in all); returning False cancels


class ExportError(PlannerError):
    """The PDF could not be written; the message names the file, the fix says what to do."""


class ExportCancelled(Exception):
    """The progress callback asked to stop; nothing was written."""


def _temp_file(target: Path) -> Path:
    folder = target.parent
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise ExportError(
            f"cannot write {target}: the folder {folder} {what}",
            fix="choose an existing folder or create it first",
        )
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise ExportError(
            f"cannot write {target}: the folder {folder} is not writable ({exc.strerror or exc})",
            fix="choose a folder you can write to, or change its permissions",
        ) from None
    os.close(fd)
    return Path(name)


def _family() -> str:
    """The bundled DejaVu Sans, registered so the PDF embeds the same font on every machine."""
    try:
        from gpuplanner.drawing.fonts import register_bundled_fonts

        families = register_bundled_fonts()
    except (ImportError, RuntimeError):
        families = []
    return FAMILY if FAMILY in families or not families else families[0]


def _writer(path: Path, page_size: str, title: str) -> QPdfWriter:
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageLayout(
        QPageLayout(QPageSize(PAGE_SIZES[page_size]), QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0))
    )
    writer.setTitle(title)
    writer.setCreator(f"gpuplanner {__version__}")
    return writer


def _number_sections(pages: list[list[Placed]]) -> None:
    """Tell the contents block on which page each section starts."""
    starts: dict[str, int] = {}
    tables: list[Contents] = []
    for number, placed in enumerate(pages, start=1):
        for block, _ in placed:
            if isinstance(block, Heading) and block.level == 1:
                starts.setdefault(block.text, number)
            elif isinstance(block, Contents):
                tables.append(block)
    for table in tables:
        table.pages.update(starts)


def _render(facts: PlanFacts, path: Path, page_size: str, progress: Progress | None) -> int:
    writer = _writer(path, page_size, f"{facts.plan.name}: plan report")
    ink = Ink(writer, float(DPI), family=_family())
    frame = PageFrame(float(writer.width()), float(writer.height()), ink, facts.plan.name, meta_line())
    content = frame.content
    pages = paginate(all_blocks(facts, ink, content), ink, content.width(), content.height())
    _number_sections(pages)
    painter = QPainter()
    if not painter.begin(writer):
        raise ExportError(
            f"cannot start writing {path}", fix="check the disk has space and the folder is writable"
        )
    try:
        for number, placed in enumerate(pages, start=1):
            if number > 1 and not writer.newPage():
                raise ExportError(f"cannot add page {number} to {path}", fix="check the disk has space")
            frame.draw_page(painter, placed, number, len(pages))
            if progress is not None and progress(number, len(pages)) is False:
                raise ExportCancelled()
    finally:
        painter.end()  # an exception with an active painter crashes Qt at exit
    return len(pages)


def export_plan_pdf(
    plan: Plan,
    path: str | os.PathLike[str],
    *,
    page_size: str = "a4",
    report: Report | None = None,
    progress: Progress | None = None,
    catalog: Catalog | None = None,
    slo_targets: tuple[float | None, float | None] = (None, None),
) -> Path:
    """Write the plan report for ``plan`` to ``path`` (A4 or US ``letter``) and return the path.

    ``report`` is ``evaluate(plan)`` when not given. ``progress(done, total)`` is called after each
    page; returning ``False`` cancels (:class:`ExportCancelled`, no file written). Needs a
    ``QApplication``. Raises :class:`ExportError` (message + fix) when the folder is missing or not
    writable, and :class:`~gpuplanner.core.errors.PlannerError` when the plan cannot be evaluated.
    """
    if page_size not in PAGE_SIZES:
        raise ExportError(f"unknown page size '{page_size}'", fix=f"use one of: {', '.join(PAGE_SIZES)}")
    if QApplication.instance() is None:
        raise RuntimeError("export_plan_pdf() needs a QApplication; create one first")
    catalog = catalog or default_catalog()
    report = report or evaluate(plan, catalog)
    target = Path(path)
    if target.is_dir():
        raise ExportError(f"{target} is a folder", fix="give a file name ending in .pdf")
    temp = _temp_file(target)
    try:
        _render(PlanFacts(plan, report, catalog, slo_targets), temp, page_size, progress)
        if temp.stat().st_size == 0:
            raise ExportError(f"nothing was written to {target}", fix="check the disk has space")
        os.replace(temp, target)
    except OSError as exc:
        raise ExportError(
            f"cannot write {target}: {exc.strerror or exc}",
            fix="check the disk has space and the folder is writable",
        ) from None
    finally:
        temp.unlink(missing_ok=True)
    return target
