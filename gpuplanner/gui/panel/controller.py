"""PanelController: ties the live panel to the plan.

Window → panel: every report, every failed evaluation, every plan (for the layer map) and the canvas
selection (the window connects its signals to ``show_*``). Panel → plan: undoable commands pushed
through ``editor.push`` (fix buttons, boundary drags, ranges given to a GPU, TP groups, auto-balance)
and selections (a click on a bar selects that GPU on the canvas).

While a boundary is dragged the panel previews the result: the dragged layout is evaluated at most once
per frame (``FRAME_MS``), without touching the document; the release pushes one command.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QMainWindow

from gpuplanner.core.balance import Objective
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.layout_ops import set_stage_boundary
from gpuplanner.core.plan import Plan
from gpuplanner.core.report import FixAction, Report
from gpuplanner.document.document import PlanDocument
from gpuplanner.drawing.scene import RackScene, Selection
from gpuplanner.gui.editor import Editor
from gpuplanner.gui.panel import panel_commands as pc
from gpuplanner.gui.panel.panel import LivePanel
from gpuplanner.gui.panel.traffic import TrafficOverlay
from gpuplanner.gui.rack.view import RackView

FRAME_MS = 16


class PanelController(QObject):
    """Connects the live panel to the plan: the window hands it each report, failure, plan and
    selection (``show_*``); its gestures become commands through ``editor.push``."""

    def __init__(
        self, editor: Editor, panel: LivePanel, view: RackView, report: Report | None = None
    ) -> None:
        super().__init__(panel)
        self.editor = editor
        self.panel = panel
        self.view = view
        self.scene: RackScene = view.controller.scene
        self.preview_evaluations = 0
        self.last_preview_seconds = 0.0
        self._pending: Plan | None = None
        self.frame = QTimer(self)  # the frame clock: a drag's previews wait for its tick
        self.frame.setSingleShot(True)
        self.frame.setInterval(FRAME_MS)
        self.frame.timeout.connect(self.preview_now)
        self.traffic = TrafficOverlay(self.scene)
        panel.memory.gpu_clicked.connect(self.select_gpu)
        panel.steptime.gpu_clicked.connect(self.select_gpu)
        panel.verdict.fix_requested.connect(self.apply_fix)
        panel.balance_requested.connect(self.balance)
        panel.make_tp_requested.connect(self.make_tp_group)
        panel.split_requested.connect(self.split_group)
        lm = panel.layer_map
        lm.boundary_preview.connect(self.preview_boundary)
        lm.boundary_moved.connect(self.move_boundary)
        lm.drag_cancelled.connect(self.cancel_preview)
        lm.range_assign_requested.connect(self.assign_range)
        view.layer_range_dropped.connect(self.assign_range)
        panel.set_plan(editor.document.plan)
        if report is not None:
            self.show_report(report)

    @property
    def document(self) -> PlanDocument:
        return self.editor.document

    def show_report(self, report: Report) -> None:
        self.frame.stop()
        self._pending = None
        self.panel.set_report(report)
        self.traffic.set_report(report)
        self.flush_charts()

    def flush_charts(self) -> None:
        """Have the charts' scenes hand Qt their changed areas now, so that the window's next repaint
        draws all three charts in one pass (left to the event loop, each scene's queued update landed
        in a repaint pass of its own, each repainting the panel's labels again)."""
        for scene in self.panel.chart_scenes():
            QCoreApplication.sendPostedEvents(scene, QEvent.Type.MetaCall)

    def show_failure(self, message: str) -> None:
        self.panel.set_failed(message)
        self.traffic.set_report(None)

    def show_plan(self, plan: Plan) -> None:
        self.panel.set_plan(plan)
        self.traffic.refresh()

    def show_selection(self, selection: Selection) -> None:
        self.panel.set_selection(tuple(selection.gpus))

    # -- selection -----------------------------------------------------------------------------------
    def select_gpu(self, gpu_id: str, additive: bool) -> None:
        current = tuple(self.editor.selection().gpus) if additive else ()
        gpus = tuple(g for g in current if g != gpu_id) if gpu_id in current else (*current, gpu_id)
        self.editor.select(Selection(gpus=gpus))
        item = self.scene.gpus.get(gpu_id)
        if item is not None:
            self.view.ensureVisible(item)

    def selected_gpus(self) -> list[str]:
        return list(self.editor.selection().gpus)

    # -- commands ------------------------------------------------------------------------------------
    def apply_fix(self, action: FixAction) -> None:
        report = self.panel.report
        text = next((p.fix for p in report.problems if p.action == action), "") if report else ""
        self.editor.push(lambda: pc.fix_command(self.document, action, text))

    def move_boundary(self, replica: int, boundary: int, layer: int) -> None:
        self.frame.stop()
        self._pending = None
        if self.editor.push(lambda: pc.boundary_command(self.document, replica, boundary, layer)) is None:
            self.panel.restore()
        self.panel.set_plan(self.document.plan)

    def assign_range(self, replica: int, first: int, last: int, gpu_id: str) -> None:
        self.editor.push(lambda: pc.assign_range_command(self.document, replica, first, last, gpu_id))

    def make_tp_group(self) -> None:
        self.editor.push(lambda: pc.make_tp_group_command(self.document, self.selected_gpus()))

    def split_group(self) -> None:
        gpus = self.selected_gpus()
        if gpus:
            self.editor.push(lambda: pc.split_group_command(self.document, gpus[0]))

    def balance(self, objective: Objective) -> None:
        self.editor.push(lambda: pc.balance_command(self.document, objective, self.editor.catalog))

    # -- previews while a boundary is dragged ---------------------------------------------------------
    def preview_boundary(self, replica: int, boundary: int, layer: int) -> None:
        """Queue the dragged layout; it is evaluated on the next frame tick (later moves replace it)."""
        plan = self.document.plan
        try:
            layout = set_stage_boundary(plan.layout, replica, boundary, layer)
        except PlannerError:
            return
        self._pending = plan.model_copy(update={"layout": layout})
        if not self.frame.isActive():
            self.frame.start()

    def preview_now(self) -> None:
        """The frame's tick: evaluate the latest dragged layout, if any is waiting."""
        plan, self._pending = self._pending, None
        if plan is None:
            return
        started = time.perf_counter()
        try:
            report = evaluate(plan, self.editor.catalog)
        except PlannerError:
            return
        self.preview_evaluations += 1
        self.last_preview_seconds = time.perf_counter() - started
        self.panel.set_report(report, preview=True)
        self.flush_charts()

    def cancel_preview(self) -> None:
        self.frame.stop()
        self._pending = None
        self.panel.restore()


def leave_room_for_canvas(window: QMainWindow, panel: LivePanel) -> None:
    """A first layout gives the dock most of the window: bring it back to its size hint (a layout the
    person saved, with a panel under 60 % of the height, is left as it is)."""
    if panel.isVisible() and panel.height() > 0.6 * window.height():
        window.resizeDocks([panel], [panel.sizeHint().height()], Qt.Orientation.Vertical)
