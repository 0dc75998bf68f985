"""LayerMap: a strip of the model's layers (embeddings and lm_head included) per replica, coloured by
pipeline stage, each cell as wide as the layer is big.

Drag a stage boundary to move layers between two stages: ``boundary_preview`` while dragging (the panel
shows the result live), one ``boundary_moved`` on release (one undo step). Press and drag across layers
to select a range; drag the range onto a GPU on the canvas (MIME ``LAYER_RANGE_MIME`` of ``gpuplanner.gui.mime``) or use the
context menu to give it to a GPU's stage (``range_assign_requested``).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QContextMenuEvent, QDrag, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QApplication, QMenu, QToolTip, QWidget

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.plan import Plan
from gpuplanner.gui.mime import encode_layer_range
from gpuplanner.gui.panel import layerstrip as ls
from gpuplanner.gui.panel.layerpaint import GAP, LABEL_H, MARGIN, STRIP_H, TITLE_H, paint_layer_map
from gpuplanner.gui.panel.style import ChartColours, fmt_bytes

GRIP = 5.0  # pixels either side of a boundary that grab it


class LayerMap(QWidget):
    boundary_preview = Signal(int, int, int)  # replica, boundary (stage index before it), layer
    boundary_moved = Signal(int, int, int)
    drag_cancelled = Signal()
    range_assign_requested = Signal(int, int, int, str)  # replica, first, last (exclusive), GPU id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("layerMap")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.data: ls.StripData | None = None
        self.message = "no plan to show"
        self.gpu_choices: list[tuple[str, str]] = []  # (GPU id, what it does now) for the context menu
        self.selection: tuple[int, int, int] | None = None  # replica, first, last (exclusive)
        self._drag: tuple[int, int, int] | None = None  # replica, boundary, layer now
        self._anchor: tuple[int, int] | None = None  # replica, layer where a range selection started
        self._press: QPointF | None = None
        self._edges: list[float] = []

    # -- data --------------------------------------------------------------------------------------
    def set_data(
        self, data: ls.StripData | None, message: str = "", gpu_choices: list[tuple[str, str]] | None = None
    ) -> None:
        """Show ``data`` (None shows ``message``); ``gpu_choices`` are the GPUs a range can be given to."""
        self.data, self.message = data, message
        self.gpu_choices = gpu_choices or []
        if self._drag is not None:
            self._drag = None
        if data is None or (self.selection and self.selection[0] >= len(data.replicas)):
            self.selection = None
        rows = len(data.replicas) if data else 1
        self.setMinimumHeight(int(TITLE_H + rows * (LABEL_H + STRIP_H + GAP) + 4))
        self.setToolTip("")
        self.update()

    def title_text(self) -> str:
        if self.data is None:
            return "<b>Layers</b>"
        host = (
            f" · <b>in system RAM: layers 0–{self.data.host_layers - 1}, emb, head</b>"
            if self.data.host_layers
            else ""
        )
        return (
            f"<b>Layers of {self.data.model_name}</b> · {self.data.num_layers} layers with embeddings and lm_head,"
            f" width = size · drag a boundary to move layers{host}"
        )

    def edges(self) -> list[float]:
        if self.data is None:
            return []
        return ls.cell_edges(self.data, MARGIN, max(self.width() - 2 * MARGIN, 10.0))

    def row_top(self, replica: int) -> float:
        return TITLE_H + replica * (LABEL_H + STRIP_H + GAP) + LABEL_H

    def boundary_x(self, replica: int, boundary: int) -> float:
        """x of the boundary after stage ``boundary`` (tests drag from here)."""
        assert self.data is not None
        layer = self.data.replicas[replica][boundary].layers[1]
        return self.edges()[layer + 1]

    def layer_x(self, layer: int) -> float:
        e = self.edges()
        return (e[layer + 1] + e[layer + 2]) / 2

    def strip_y(self, replica: int) -> float:
        return self.row_top(replica) + STRIP_H / 2

    # -- hit tests ---------------------------------------------------------------------------------
    def _row_at(self, y: float) -> int | None:
        if self.data is None:
            return None
        for r in range(len(self.data.replicas)):
            top = self.row_top(r)
            if top - 4 <= y <= top + STRIP_H + 4:
                return r
        return None

    def _boundary_at(self, pos: QPointF) -> tuple[int, int] | None:
        r = self._row_at(pos.y())
        if r is None or self.data is None:
            return None
        edges = self.edges()
        for b, stage in enumerate(self.data.replicas[r][:-1]):
            if abs(edges[stage.layers[1] + 1] - pos.x()) <= GRIP:
                return r, b
        return None

    def _layer_at(self, pos: QPointF) -> tuple[int, int] | None:
        r = self._row_at(pos.y())
        layer = ls.layer_at(self.edges(), pos.x()) if r is not None else None
        return (r, layer) if r is not None and layer is not None else None

    def _in_selection(self, pos: QPointF) -> bool:
        hit = self._layer_at(pos)
        s = self.selection
        return bool(hit and s and hit[0] == s[0] and s[1] <= hit[1] < s[2])

    # -- mouse -------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.data is None:
            return super().mousePressEvent(event)
        pos = event.position()
        self._press = pos
        boundary = self._boundary_at(pos)
        if boundary is not None:
            r, b = boundary
            self._drag = (r, b, self.data.replicas[r][b].layers[1])
        elif not self._in_selection(pos):
            hit = self._layer_at(pos)
            self._anchor = hit
            self.selection = (hit[0], hit[1], hit[1] + 1) if hit else None
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._drag is not None and self.data is not None:
            r, b, layer = self._drag
            stages = self.data.replicas[r]
            lo, hi = stages[b].layers[0] + 1, stages[b + 1].layers[1] - 1
            new = min(max(ls.nearest_boundary(self.edges(), pos.x()), lo), hi)
            if new != layer:
                self._drag = (r, b, new)
                self.boundary_preview.emit(r, b, new)
                self.update()
        elif self._anchor is not None:
            hit = self._layer_at(QPointF(pos.x(), self.strip_y(self._anchor[0])))
            if hit is not None:
                a, h = self._anchor[1], hit[1]
                self.selection = (self._anchor[0], min(a, h), max(a, h) + 1)
                self.update()
        elif self._press is not None and self.selection and self._in_selection(self._press):
            if (pos - self._press).manhattanLength() >= QApplication.startDragDistance():
                self._start_range_drag()
        else:
            hover = self._boundary_at(pos) is not None
            self.setCursor(Qt.CursorShape.SplitHCursor if hover else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None and self.data is not None:
            r, b, layer = self._drag
            self._drag = None
            if layer != self.data.replicas[r][b].layers[1]:
                self.boundary_moved.emit(r, b, layer)
            else:
                self.drag_cancelled.emit()
        self._anchor = None
        self._press = None
        self.update()
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: object) -> None:
        if event.key() == Qt.Key.Key_Escape and self._drag is not None:  # type: ignore[attr-defined]
            self._drag = None
            self.drag_cancelled.emit()
            self.update()
            return
        super().keyPressEvent(event)  # type: ignore[arg-type]

    def _start_range_drag(self) -> None:
        assert self.selection is not None
        self._press = None
        drag = QDrag(self)
        drag.setMimeData(encode_layer_range(*self.selection))
        drag.exec(Qt.DropAction.MoveAction)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if self.selection is None or not self.gpu_choices:
            return
        r, first, last = self.selection
        menu = QMenu(self)
        sub = menu.addMenu(f"Put layers {first}–{last - 1} on")
        for gpu_id, role in self.gpu_choices:
            action = sub.addAction(f"{gpu_id} ({role})")
            action.triggered.connect(
                lambda _=False, g=gpu_id: self.range_assign_requested.emit(r, first, last, g)
            )
        menu.exec(event.globalPos())

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.data is not None:
            QToolTip.showText(event.globalPos(), self._tooltip(QPointF(event.pos())), self)  # type: ignore[attr-defined]
            return True
        return super().event(event)

    def _tooltip(self, pos: QPointF) -> str:
        assert self.data is not None
        if (b := self._boundary_at(pos)) is not None:
            return f"Drag to move layers between stage {b[1] + 1} and stage {b[1] + 2}"
        hit = self._layer_at(pos)
        if hit is None:
            return "Drag a stage boundary to move layers; select layers and drag them onto a GPU"
        r, i = hit
        stage = next(s for s, st in enumerate(self.data.replicas[r]) if st.layers[0] <= i < st.layers[1])
        return (
            f"<b>Layer {i}</b> · stage {stage + 1} ({', '.join(self.data.replicas[r][stage].gpus)})<br>"
            f"{self.data.layer_params[i]:,} parameters · {fmt_bytes(self.data.layer_bytes[i])} of weights"
        )

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            paint_layer_map(self, painter, ChartColours.from_palette(), QRectF(event.rect()))
        finally:
            painter.end()

    def drag_state(self) -> tuple[int, int, int] | None:
        return self._drag

    def set_plan(self, plan: Plan) -> None:
        """Show ``plan``'s layers (for running this module alone; the panel calls ``set_data``)."""
        data, message = ls.try_strip_data(plan, default_catalog())
        self.set_data(data, message)


def main() -> None:  # pragma: no cover - a manual look
    from gpuplanner.gui.panel.samples import show_alone

    raise SystemExit(show_alone(LayerMap, size=(1000, 120)))


if __name__ == "__main__":  # pragma: no cover
    main()
