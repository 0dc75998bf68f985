"""A table block: aligned columns, wrapped cells, zebra rows, and the header repeated on every page the
table continues onto."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPen

from gpuplanner.export.content import Cell, TableData
from gpuplanner.export.flow import Block
from gpuplanner.export.theme import HAIRLINE, INK, MUTED, STRIPE, TONE_COLOURS, Ink

PAD_X_PT = 4.0
PAD_Y_PT = 2.6
ORPHAN_ROWS = 3  # a table starts on a page only with its header and this many rows


@dataclass
class TableBlock(Block):
    data: TableData
    size: str = "table"
    continued: bool = False
    first_row: int = 0  # index of this part's first row in the whole table (keeps the zebra in step)
    _cache: dict[float, tuple[list[float], float, list[float]]] = field(default_factory=dict, repr=False)

    # -- measuring ---------------------------------------------------------------------------------
    def _widths(self, ink: Ink, width: float) -> list[float]:
        """Column widths the way a browser sizes a table: every column gets at least its longest word,
        then the room left goes where text would otherwise wrap, then by the columns' weights."""
        pad = 2 * ink.pt(PAD_X_PT) + 0.5
        shortest, natural = [], []
        for i, column in enumerate(self.data.columns):
            texts = [(column.title, True)] + [
                (row[i].text, row[i].tone == "strong") for row in self.data.rows
            ]
            words = [word for text, _ in texts for word in text.split()] or [""]
            shortest.append(max(ink.width(word, self.size, True) for word in words) + pad)
            natural.append(
                max(
                    max(ink.width(line, self.size, bold) for line in text.split("\n")) for text, bold in texts
                )
                + pad
            )
        weights = [c.weight for c in self.data.columns]
        if sum(natural) <= width:
            return _share(natural, weights, width - sum(natural))
        if sum(shortest) <= width:
            return _fill(shortest, natural, weights, width)
        return _share([0.0] * len(weights), weights, width)

    def _lines(self, ink: Ink, cell: Cell, width: float, bold: bool = False) -> list[str]:
        return ink.wrap(cell.text, width - 2 * ink.pt(PAD_X_PT), self.size, bold or cell.tone == "strong")

    def _layout(self, ink: Ink, width: float) -> tuple[list[float], float, list[float]]:
        if width not in self._cache:
            widths = self._widths(ink, width)
            line = ink.line_height(self.size)
            pad = 2 * ink.pt(PAD_Y_PT)
            # measured as drawn: the first title of a continued table carries " (cont.)", which may wrap
            # onto one more line; the header must not print over the first row
            first = self.data.columns[0] if self.data.columns else None
            header = max(
                len(self._lines(ink, Cell(c.title + (" (cont.)" if c is first and c.title else "")), w, True))
                for c, w in zip(self.data.columns, widths, strict=True)
            )
            rows = [
                max(len(self._lines(ink, cell, w)) for cell, w in zip(row, widths, strict=True)) * line + pad
                for row in self.data.rows
            ]
            self._cache[width] = (widths, header * line + pad + ink.pt(1), rows)
        return self._cache[width]

    def height(self, ink: Ink, width: float) -> float:
        _, header, rows = self._layout(ink, width)
        return header + sum(rows) + ink.pt(10)

    def first_part_height(self, ink: Ink, width: float) -> float:
        _, header, rows = self._layout(ink, width)
        return header + sum(rows[:ORPHAN_ROWS]) + ink.pt(10)

    def split(self, ink: Ink, width: float, available: float) -> tuple[Block | None, Block] | None:
        _, header, rows = self._layout(ink, width)
        used, fit = header + ink.pt(10), 0
        for h in rows:
            if used + h > available:
                break
            used += h
            fit += 1
        if fit < min(ORPHAN_ROWS, len(rows)):  # a header with one or two rows is an orphan: move it all
            return (None, self)
        if fit >= len(rows):
            return None
        head = TableData(self.data.columns, self.data.rows[:fit])
        tail = TableData(self.data.columns, self.data.rows[fit:])
        return (
            TableBlock(head, self.size, self.continued, self.first_row),
            TableBlock(tail, self.size, True, self.first_row + fit),
        )

    # -- drawing -----------------------------------------------------------------------------------
    def _draw_cell(
        self,
        ink: Ink,
        painter: QPainter,
        lines: list[str],
        cell: Cell,
        align: str,
        x: float,
        y: float,
        w: float,
        bold: bool = False,
    ) -> None:
        colour = MUTED if bold else TONE_COLOURS.get(cell.tone, INK)
        ink.draw_lines(
            painter,
            lines,
            x + ink.pt(PAD_X_PT),
            y + ink.pt(PAD_Y_PT),
            w - 2 * ink.pt(PAD_X_PT),
            size=self.size,
            bold=bold or cell.tone == "strong",
            colour=colour,
            align=align,
        )

    def draw(self, ink: Ink, painter: QPainter, x: float, y: float, width: float) -> None:
        widths, header, rows = self._layout(ink, width)
        columns = self.data.columns
        left = x
        for column, w in zip(columns, widths, strict=True):
            title = column.title + (
                " (cont.)" if self.continued and column is columns[0] and column.title else ""
            )
            cell = Cell(title)
            self._draw_cell(
                ink, painter, self._lines(ink, cell, w, True), cell, column.align, left, y, w, bold=True
            )
            left += w
        y += header
        painter.setPen(QPen(INK, ink.pt(0.8)))
        painter.drawLine(QPointF(x, y - ink.pt(1)), QPointF(x + width, y - ink.pt(1)))
        for index, (row, h) in enumerate(zip(self.data.rows, rows, strict=True)):
            if (self.first_row + index) % 2 == 1:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(STRIPE)
                painter.drawRect(QRectF(x, y, width, h))
            left = x
            for cell, column, w in zip(row, columns, widths, strict=True):
                self._draw_cell(ink, painter, self._lines(ink, cell, w), cell, column.align, left, y, w)
                left += w
            y += h
            painter.setPen(QPen(HAIRLINE, ink.pt(0.5)))
            painter.drawLine(QPointF(x, y), QPointF(x + width, y))


def _share(base: list[float], weights: list[float], extra: float) -> list[float]:
    total = sum(weights) or 1.0
    return [b + extra * w / total for b, w in zip(base, weights, strict=True)]


def _fill(widths: list[float], limits: list[float], weights: list[float], width: float) -> list[float]:
    """Pour the room left into the columns by weight, each up to its natural width (water-filling)."""
    widths = list(widths)
    for _ in range(len(widths)):
        room = width - sum(widths)
        open_ = [i for i, (w, cap) in enumerate(zip(widths, limits, strict=True)) if w < cap - 0.01]
        if room <= 0.01 or not open_:
            break
        total = sum(weights[i] for i in open_) or 1.0
        for i in open_:
            widths[i] = min(limits[i], widths[i] + room * weights[i] / total)
    return widths
