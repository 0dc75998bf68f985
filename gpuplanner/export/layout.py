"""Page geometry and the running header and footer (plan name, app version and date, page X of N)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPageSize, QPainter, QPen

from gpuplanner.export.flow import Placed
from gpuplanner.export.theme import ACCENT, HAIRLINE, INK, MUTED, Ink

PAGE_SIZES = {"a4": QPageSize.PageSizeId.A4, "letter": QPageSize.PageSizeId.Letter}
MARGIN_X_MM = 18.0
MARGIN_TOP_MM = 22.0
MARGIN_BOTTOM_MM = 20.0


@dataclass(frozen=True)
class PageFrame:
    """The page in device pixels and where the content column, header and footer sit."""

    width: float
    height: float
    ink: Ink
    title: str
    footer_left: str

    @property
    def content(self) -> QRectF:
        ink = self.ink
        left, top = ink.mm(MARGIN_X_MM), ink.mm(MARGIN_TOP_MM)
        return QRectF(left, top, self.width - 2 * left, self.height - top - ink.mm(MARGIN_BOTTOM_MM))

    def draw_page(self, painter: QPainter, placed: list[Placed], number: int, total: int) -> None:
        content = self.content
        for block, y in placed:
            block.draw(self.ink, painter, content.left(), content.top() + y, content.width())
        self._header(painter, content)
        self._footer(painter, content, number, total)

    def _header(self, painter: QPainter, content: QRectF) -> None:
        ink = self.ink
        baseline_top = ink.mm(10)
        brand = "gpuplanner · plan report"
        brand_w = ink.width(brand, "small", True) + ink.pt(4)
        title_w = content.width() - brand_w - ink.pt(12)
        title = ink.metrics("small").elidedText(self.title, Qt.TextElideMode.ElideRight, title_w)
        ink.draw_lines(painter, [title], content.left(), baseline_top, title_w, size="small", colour=MUTED)
        ink.draw_lines(
            painter,
            [brand],
            content.right() - brand_w,
            baseline_top,
            brand_w,
            size="small",
            bold=True,
            colour=ACCENT,
            align="right",
        )
        y = baseline_top + ink.line_height("small") + ink.pt(3)
        painter.setPen(QPen(HAIRLINE, ink.pt(0.6)))
        painter.drawLine(QPointF(content.left(), y), QPointF(content.right(), y))

    def _footer(self, painter: QPainter, content: QRectF, number: int, total: int) -> None:
        ink = self.ink
        y = self.height - ink.mm(MARGIN_BOTTOM_MM) + ink.mm(6)
        painter.setPen(QPen(HAIRLINE, ink.pt(0.6)))
        painter.drawLine(QPointF(content.left(), y), QPointF(content.right(), y))
        text_y = y + ink.pt(4)
        half = content.width() / 2
        ink.draw_lines(painter, [self.footer_left], content.left(), text_y, half, size="small", colour=MUTED)
        ink.draw_lines(
            painter,
            [f"Page {number} of {total}"],
            content.right() - half,
            text_y,
            half,
            size="small",
            colour=INK,
            align="right",
        )
