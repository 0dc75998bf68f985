"""PanelController: ties the live panel to the main window.

Window → panel: every report (``report_changed``), every failed evaluation, every plan (for the layer
map) and the canvas selection. Panel → window: undoable commands pushed through ``window.push`` (fix
buttons, boundary drags, ranges given to a GPU, TP groups, auto-balance) and selections (a click on a
bar selects that GPU on the canvas).

While a boundary is dragged the panel previews the result: the dragged layout is evaluated at most once
per frame (``FRAME_MS``), without touching the document; the release pushes one command.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer

from gpuplanner.core.errors import PlannerError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.layout_ops import set_stage_boundary
from gpuplanner.core.plan import Plan
from gpuplanner.core.report import FixAction, Report
from gpuplanner.gui.panel import panel_commands as pc
from gpuplanner.gui.panel.panel import LivePanel
from gpuplanner.gui.panel.traffic import TrafficOverlay

FRAME_MS = 16


class PanelController(QObject):
    def __init__(self, window: Any, panel: LivePanel) -> None:
        super().__init__(panel)
        self.window = window
        self.panel = panel
        self.preview_evaluations = 0
        self.last_preview_seconds = 0.0
        self._pending: Plan | None = None
        self._frame = QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.setInterval(FRAME_MS)
        self._frame.timeout.connect(self._preview_now)
        self.traffic = TrafficOverlay(window.scene)
        window.report_changed.connect(self._on_report)
        window.evaluation_failed.connect(self._on_failed)
        window.plan_changed.connect(self._on_plan)
        window.selection_changed.connect(lambda s: panel.set_selection(tuple(s.gpus)))
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
        window.view.layer_range_dropped.connect(self.assign_range)
        panel.set_plan(window.document.plan)
        if window.latest_report is not None:
            self._on_report(window.latest_report)

    @property
    def document(self) -> Any:
        return self.window.document

    def _on_report(self, report: Report) -> None:
        self._frame.stop()
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

    def _on_failed(self, message: str) -> None:
        self.panel.set_failed(message)
        self.traffic.set_report(None)

    def _on_plan(self, plan: Plan) -> None:
        self.panel.set_plan(plan)
        self.traffic.refresh()

    # -- selection -----------------------------------------------------------------------------------
    def select_gpu(self, gpu_id: str, additive: bool) -> None:
        from gpuplanner.drawing.scene import Selection

        current = tuple(self.window.scene.selection().gpus) if additive else ()
        gpus = tuple(g for g in current if g != gpu_id) if gpu_id in current else (*current, gpu_id)
        self.window.select(Selection(gpus=gpus))
        item = self.window.scene.gpus.get(gpu_id)
        if item is not None:
            self.window.view.ensureVisible(item)

    def selected_gpus(self) -> list[str]:
        return list(self.window.scene.selection().gpus)

    # -- commands ------------------------------------------------------------------------------------
    def apply_fix(self, action: FixAction) -> None:
        report = self.panel.report
        text = next((p.fix for p in report.problems if p.action == action), "") if report else ""
        self.window.push(lambda: pc.fix_command(self.document, action, text))

    def move_boundary(self, replica: int, boundary: int, layer: int) -> None:
        self._frame.stop()
        self._pending = None
        if self.window.push(lambda: pc.boundary_command(self.document, replica, boundary, layer)) is None:
            self.panel.restore()
        self.panel.set_plan(self.document.plan)

    def assign_range(self, replica: int, first: int, last: int, gpu_id: str) -> None:
        self.window.push(lambda: pc.assign_range_command(self.document, replica, first, last, gpu_id))

    def make_tp_group(self) -> None:
        self.window.push(lambda: pc.make_tp_group_command(self.document, self.selected_gpus()))

    def split_group(self) -> None:
        gpus = self.selected_gpus()
        if gpus:
            self.window.push(lambda: pc.split_group_command(self.document, gpus[0]))

    def balance(self, objective: str) -> None:
        self.window.push(lambda: pc.balance_command(self.document, objective, self.window.catalog))  # type: ignore[arg-type]

    # -- previews while a boundary is dragged ---------------------------------------------------------
    def preview_boundary(self, replica: int, boundary: int, layer: int) -> None:
        """Queue the dragged layout; it is evaluated on the next frame tick (later moves replace it)."""
        plan = self.document.plan
        try:
            layout = set_stage_boundary(plan.layout, replica, boundary, layer)
        except PlannerError:
            return
        self._pending = plan.model_copy(update={"layout": layout})
        if not self._frame.isActive():
            self._frame.start()

    def _preview_now(self) -> None:
        plan, self._pending = self._pending, None
        if plan is None:
            return
        started = time.perf_counter()
        try:
            report = evaluate(plan, self.window.catalog)
        except PlannerError:
            return
        self.preview_evaluations += 1
        self.last_preview_seconds = time.perf_counter() - started
        self.panel.set_report(report, preview=True)
        self.flush_charts()

    def cancel_preview(self) -> None:
        self._frame.stop()
        self._pending = None
        self.panel.restore()


def _leave_room_for_canvas(window: Any, panel: LivePanel) -> None:
    """A first layout gives the dock most of the window: bring it back to its size hint (a layout the
    person saved, with a panel under 60 % of the height, is left as it is)."""
    if panel.isVisible() and panel.height() > 0.6 * window.height():
        window.resizeDocks([panel], [panel.sizeHint().height()], Qt.Orientation.Vertical)


def install_panel(window: Any) -> LivePanel:
    """Create the live panel, dock it in ``window`` and connect it; returns the panel."""
    panel = LivePanel(window.catalog, window)
    window.add_panel_dock(panel)
    QTimer.singleShot(0, lambda: _leave_room_for_canvas(window, panel))
    panel.controller = PanelController(window, panel)  # type: ignore[attr-defined]
    return panel
