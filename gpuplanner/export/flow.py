"""Blocks that flow down a page (headings, paragraphs, key figures, charts) and the pagination that
cuts them into pages. A block knows its height for a width, draws itself at a position, and, when it
can (tables), splits itself where a page ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from gpuplanner.core.verdict import ICONS, LABELS
from gpuplanner.export.content import Figure
from gpuplanner.export.theme import ACCENT, BAD, GOOD, HAIRLINE, INK, MUTED, PANEL, TONE_COLOURS, WARN, Ink


class Block:
    """Something drawn in the content column. Heights and positions are device pixels."""

    keep_with_next = False

    def height(self, ink: Ink, width: float) -> float:
        raise NotImplementedError

    def split(self, ink: Ink, width: float, available: float) -> tuple[Block | None, Block] | None:
        """(what fits in ``available``, the rest), or None when the block cannot be split."""
        return None

    def first_part_height(self, ink: Ink, width: float) -> float:
        """The least of this block that may stand at the foot of a page (all of it, unless it splits)."""
        return self.height(ink, width)

    def draw(self, ink: Ink, painter: QPainter, x: float, y: float, width: float) -> None:
        raise NotImplementedError


class PageBreak(Block):
    def height(self, ink: Ink, width: float) -> float:
        return 0.0


@dataclass
class Spacer(Block):
    points: float

    def height(self, ink: Ink, width: float) -> float:
        return ink.pt(self.points)

    def draw(self, ink: Ink, painter: QPainter, x: float, y: float, width: float) -> None:
        pass


@dataclass
class Heading(Block):
    """A section title (level 1, with a rule under it) or a sub-heading (level 2)."""

    text: str
    level: int = 1
    keep_with_next = True

    @property
    def _size(self) -> str:
        return "h1" if self.level == 1 else "h2"

    def height(self, ink: Ink, width: float) -> float:
        below = ink.pt(10) if self.level == 1 else ink.pt(4)
        above = 0.0 if self.level == 1 else ink.pt(10)
        return above + ink.text_height(self.text, width, self._size, True) + below

    def draw(self, ink: Ink, painter: QPainter, x: float, y: float, width: float) -> None:
        if self.level != 1:
            y += ink.pt(10)
        bottom = ink.draw_text(painter, self.text, x, y, width, size=self._size, bold=True, colour=INK)
        if self.level == 1:
            painter.setPen(QPen(ACCENT, ink.pt(1.2)))
            painter.drawLine(QPointF(x, bottom + ink.pt(3)), QPointF(x + ink.pt(28), bottom + ink.pt(3)))


@dataclass
class Paragraph(Block):
    text: str
    size: str = "body"
    tone: str = ""
    bullet: bool = False
    space_after_pt: float = 5.0
    bold: bool = False

    def _indent(self, ink: Ink) -> float:
        return ink.pt(10) if self.bullet else 0.0

    def height(self, ink: Ink, width: float) -> float:
        text_width = width - self._indent(ink)
        return ink.text_height(self.text, text_width, self.size, self.bold) + ink.pt(self.space_after_pt)

    def draw(self, ink: Ink, painter: QPainter, x: float, y: float, width: float) -> None:
        colour = TONE_COLOURS.get(self.tone, INK)
        indent = self._indent(ink)
        if self.bullet:
            ink.draw_lines(painter, ["•"], x + ink.pt(1), y, indent, size=self.size, colour=MUTED)
        ink.draw_text(
            painter, self.text, x + indent, y, width - indent, size=self.size, bold=self.bold, colour=colour
        )


@dataclass
class Verdict(Block):
    """The verdict sentence in a tinted panel with a green (fits), amber (fits, with warnings) or red
    (does not fit) edge; ``level`` is ``core.verdict``'s, the window's banner and status bar's."""

    fits: bool
    text: str
    level: str = ""

    def _label(self) -> str:
        level = self.level or ("fits" if self.fits else "fails")
        return f"{ICONS[level]} {LABELS[level]}"

    def height(self, ink: Ink, width: float) -> float:
        inner = width - ink.pt(24)
        return ink.pt(8) + ink.line_height("small") + ink.text_height(self.text, inner, "h2") + ink.pt(16)

    def draw(self, ink: Ink, painter: QPainter, x: float, y: float, width: float) -> None:
        h = self.height(ink, width) - ink.pt(6)
        level = self.level or ("fits" if self.fits else "fails")
        edge = {"fits": GOOD, "warn": WARN}.get(level, BAD)
        tint = QColor(edge)
        tint.setAlpha(22)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(tint)
        painter.drawRect(QRectF(x, y, width, h))
        painter.setBrush(edge)
        painter.drawRect(QRectF(x, y, ink.pt(3), h))
        left = x + ink.pt(14)
        top = ink.draw_lines(
            painter, [self._label()], left, y + ink.pt(6), width, size="small", bold=True, colour=edge
        )
        ink.draw_text(painter, self.text, left, top + ink.pt(1), width - ink.pt(24), size="h2", colour=INK)


def _value_size(ink: Ink, value: str, width: float) -> str:
    """A tile's value in its large size, or one size smaller when that keeps it on one line (a GPU
    name broken before its memory size reads as two things)."""
    if ink.width(value, "figure", True) <= width or ink.width(value, "h2", True) > width:
        return "figure"
    return "h2"


@dataclass
class FigureGrid(Block):
    """Key figures in tiles: a small label, the value large, a line of context."""

    figures: list[Figure]
    columns: int = 3

    def _tile_height(self, ink: Ink, width: float, figures: list[Figure]) -> float:
        inner = width - ink.pt(16)
        tallest = 0.0
        for f in figures:
            h = ink.line_height("small") + ink.text_height(
                f.value, inner, _value_size(ink, f.value, inner), True
            )
            h += ink.text_height(f.note, inner, "small") if f.note else 0.0
            tallest = max(tallest, h)
        return tallest + ink.pt(16)

    def _rows(self) -> list[list[Figure]]:
        return [self.figures[i : i + self.columns] for i in range(0, len(self.figures), self.columns)]

    def _tile_width(self, ink: Ink, width: float) -> float:
        return (width - ink.pt(8) * (self.columns - 1)) / self.columns

    def height(self, ink: Ink, width: float) -> float:
        tile = self._tile_width(ink, width)
        return sum(self._tile_height(ink, tile, row) + ink.pt(8) for row in self._rows())

    def draw(self, ink: Ink, painter: QPainter, x: float, y: float, width: float) -> None:
        tile = self._tile_width(ink, width)
        for row in self._rows():
            h = self._tile_height(ink, tile, row)
            for i, f in enumerate(row):
                left = x + i * (tile + ink.pt(8))
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(PANEL)
                painter.drawRoundedRect(QRectF(left, y, tile, h), ink.pt(3), ink.pt(3))
                inner_x, inner_w = left + ink.pt(8), tile - ink.pt(16)
                top = ink.draw_lines(
                    painter,
                    [f.label.upper()],
                    inner_x,
                    y + ink.pt(7),
                    inner_w,
                    size="small",
                    bold=True,
                    colour=MUTED,
                )
                colour = TONE_COLOURS.get(f.tone, INK)
                size = _value_size(ink, f.value, inner_w)
                top = ink.draw_text(
                    painter, f.value, inner_x, top, inner_w, size=size, bold=True, colour=colour
                )
                if f.note:
                    ink.draw_text(painter, f.note, inner_x, top, inner_w, size="small", colour=MUTED)
            y += h + ink.pt(8)


@dataclass
class Graphic(Block):
    """A vector drawing (chart, rig, layer map) of a given height in points, drawn by ``paint``."""

    height_pt: float
    paint: Callable[[QPainter, QRectF, Ink], None]
    caption: str = ""

    def height(self, ink: Ink, width: float) -> float:
        caption = ink.text_height(self.caption, width, "small") + ink.pt(2) if self.caption else 0.0
        return ink.pt(self.height_pt) + caption + ink.pt(8)

    def draw(self, ink: Ink, painter: QPainter, x: float, y: float, width: float) -> None:
        rect = QRectF(x, y, width, ink.pt(self.height_pt))
        painter.save()
        try:
            painter.setClipRect(rect.adjusted(-ink.pt(2), -ink.pt(2), ink.pt(2), ink.pt(2)))
            self.paint(painter, rect, ink)
        finally:
            painter.restore()
        if self.caption:
            ink.draw_text(
                painter, self.caption, x, rect.bottom() + ink.pt(3), width, size="small", colour=MUTED
            )


@dataclass
class Rule(Block):
    def height(self, ink: Ink, width: float) -> float:
        return ink.pt(10)

    def draw(self, ink: Ink, painter: QPainter, x: float, y: float, width: float) -> None:
        painter.setPen(QPen(HAIRLINE, ink.pt(0.6)))
        painter.drawLine(QPointF(x, y + ink.pt(5)), QPointF(x + width, y + ink.pt(5)))


@dataclass
class Contents(Block):
    """'In this report': each section's title and its page, filled in after pagination."""

    titles: list[str]
    pages: dict[str, int] = field(default_factory=dict)

    def height(self, ink: Ink, width: float) -> float:
        return len(self.titles) * ink.line_height("body") * 1.25 + ink.pt(6)

    def draw(self, ink: Ink, painter: QPainter, x: float, y: float, width: float) -> None:
        step = ink.line_height("body") * 1.25
        for i, title in enumerate(self.titles):
            top = y + i * step
            number = str(self.pages.get(title, ""))
            number_w = ink.width("000") + ink.pt(2)
            title_w = ink.width(title) + ink.pt(6)
            ink.draw_lines(painter, [f"{i + 1}   {title}"], x, top, width - number_w, colour=INK)
            ink.draw_lines(painter, [number], x + width - number_w, top, number_w, colour=INK, align="right")
            leader_y = top + ink.line_height("body") * 0.72
            pen = QPen(HAIRLINE, ink.pt(0.8))
            pen.setStyle(Qt.PenStyle.DotLine)
            painter.setPen(pen)
            start = x + ink.width(f"{i + 1}   ") + title_w
            painter.drawLine(QPointF(start, leader_y), QPointF(x + width - number_w - ink.pt(4), leader_y))


Placed = tuple[Block, float]  # a block and its top, device pixels from the content top


def paginate(blocks: list[Block], ink: Ink, width: float, page_height: float) -> list[list[Placed]]:
    """Cut ``blocks`` into pages of ``page_height``: splittable blocks continue on the next page,
    headings move down with what follows them, ``PageBreak`` starts a new page."""
    pages: list[list[Placed]] = [[]]
    y = 0.0
    queue = list(blocks)
    while queue:
        block = queue.pop(0)
        if isinstance(block, PageBreak):
            if pages[-1]:
                pages.append([])
                y = 0.0
            continue
        h = block.height(ink, width)
        need = h
        if block.keep_with_next and queue:
            follower = queue[0]
            need += follower.first_part_height(ink, width)
        if y + need <= page_height or not pages[-1]:
            if y + h > page_height and pages[-1] == []:
                parts = block.split(ink, width, page_height - y)
                if parts is not None and parts[0] is not None:
                    pages[-1].append((parts[0], y))
                    pages.append([])
                    y = 0.0
                    queue.insert(0, parts[1])
                    continue
            pages[-1].append((block, y))
            y += h
            continue
        parts = None if block.keep_with_next else block.split(ink, width, page_height - y)
        if parts is not None and parts[0] is not None:
            pages[-1].append((parts[0], y))
            queue.insert(0, parts[1])
        else:
            queue.insert(0, block)
        pages.append([])
        y = 0.0
    return [page for page in pages if page]
