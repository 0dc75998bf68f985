"""LivePanel: the dock that shows the plan's verdict, memory, speed and step time, and its layer map.

It only displays what it is given (``set_report``, ``set_plan``, ``set_failed``, ``set_selection``) and
says what the person asked for through signals; ``PanelController`` turns those into commands on the
window. ``python -m gpuplanner.gui.panel.panel [sample]`` shows it alone with a sample plan.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFrame,
    QGraphicsScene,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gpuplanner.core.balance import OBJECTIVE_NAMES, OBJECTIVES
from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.plan import Plan
from gpuplanner.core.report import Report
from gpuplanner.gui.panel.layermap import LayerMap
from gpuplanner.gui.panel.layerstrip import try_strip_data
from gpuplanner.gui.panel.memory import IdleGpu, MemoryChart
from gpuplanner.gui.panel.steptime import StepTimeChart
from gpuplanner.gui.panel.throughput import ThroughputChart
from gpuplanner.gui.panel.verdict import VerdictBanner
from gpuplanner.gui.startup import PANEL_HEIGHT

LAYER_ROWS_SHOWN = 4  # replicas the layer map shows at once; more scroll (a 4,096-GPU plan has 256)


def gpu_roles(plan: Plan) -> list[tuple[str, str]]:
    """Every GPU of the rig with what it does in the layout, for the layer map's menu."""
    roles: dict[str, str] = {}
    for r, replica in enumerate(plan.layout.replicas):
        for s, stage in enumerate(replica.stages):
            for g in stage.gpus:
                roles[g] = (
                    f"replica {r + 1}, " if plan.layout.dp > 1 else ""
                ) + f"stage {s + 1}, TP {stage.tp}"
    return [(g, roles.get(g, "unused")) for g in plan.rig.gpu_ids()]


class LivePanel(QDockWidget):
    """The live panel dock (object name ``livePanel``)."""

    balance_requested = Signal(str)  # objective
    make_tp_requested = Signal()
    split_requested = Signal()
    updated = Signal(float)  # seconds the charts took to follow the last report
    charts_toggled = Signal(bool)  # the charts were shown (True) or folded away (False)

    def __init__(self, catalog: Catalog | None = None, parent: QWidget | None = None) -> None:
        super().__init__("Live panel", parent)
        self.setObjectName("livePanel")
        self.catalog = catalog or default_catalog()
        self.report: Report | None = None
        self.plan: Plan | None = None
        self.previewing = False
        self.last_seconds = 0.0
        self.verdict = VerdictBanner()
        self.memory = MemoryChart()
        self.throughput = ThroughputChart()
        self.steptime = StepTimeChart()
        self.layer_map = LayerMap()
        self.objective = QComboBox()
        self.objective.setObjectName("balanceObjective")
        for key in OBJECTIVES:
            self.objective.addItem(OBJECTIVE_NAMES[key].split(":")[0], key)
            self.objective.setItemData(
                self.objective.count() - 1, OBJECTIVE_NAMES[key], Qt.ItemDataRole.ToolTipRole
            )
        self.balance_button = self._button(
            "autoBalanceButton",
            "Auto-balance",
            "Place the stage boundaries for the chosen objective (one undo step)",
        )
        self.balance_button.clicked.connect(lambda: self.balance_requested.emit(self.objective.currentData()))
        self.make_tp_button = self._button(
            "makeTpGroupButton",
            "Make TP group",
            "The GPUs selected on the canvas become one tensor-parallel group",
        )
        self.make_tp_button.clicked.connect(self.make_tp_requested)
        self.split_button = self._button(
            "splitGroupButton",
            "Split into stages",
            "The selected GPU's TP group becomes one pipeline stage per GPU",
        )
        self.split_button.clicked.connect(self.split_requested)
        self.layer_title = QLabel()
        self.layer_title.setObjectName("layerMapTitle")
        self.layer_title.setTextFormat(Qt.TextFormat.RichText)
        # a long title elides into the space left by the buttons instead of widening the whole window
        self.layer_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.layer_title.setMinimumWidth(120)
        tools = QHBoxLayout()
        tools.setContentsMargins(0, 0, 0, 0)
        tools.addWidget(self.layer_title, 1)
        tools.addWidget(self.objective)
        tools.addWidget(self.balance_button)
        tools.addSpacing(12)
        tools.addWidget(self.make_tp_button)
        tools.addWidget(self.split_button)
        tools.addSpacing(12)
        self.charts_button = QToolButton()
        self.charts_button.setObjectName("chartsToggle")
        self.charts_button.setCheckable(True)
        self.charts_button.setChecked(True)
        self.charts_button.setText("Charts")
        self.charts_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.charts_button.setArrowType(Qt.ArrowType.DownArrow)
        self.charts_button.setToolTip("Fold the charts away to give the canvas the room, or show them again")
        self.charts_button.toggled.connect(self.set_charts_shown)
        tools.addWidget(self.charts_button)
        charts = self.charts = QSplitter(Qt.Orientation.Horizontal)
        charts.setObjectName("panelCharts")
        charts.setChildrenCollapsible(False)
        for chart in (self.memory, self.throughput, self.steptime):
            charts.addWidget(chart)
        charts.setSizes([420, 420, 360])
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(6)
        layout.addWidget(self.verdict)
        layout.addWidget(charts, 1)
        layout.addLayout(tools)
        # in a scroll area: hundreds of replicas' rows would otherwise stretch the window off the screen
        self.layer_scroll = QScrollArea()
        self.layer_scroll.setObjectName("layerMapScroll")
        self.layer_scroll.setWidget(self.layer_map)
        self.layer_scroll.setWidgetResizable(True)
        self.layer_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.layer_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.layer_scroll)
        body.setAutoFillBackground(True)  # opaque: the window need not repaint under the panel
        self.setWidget(body)
        self.dockLocationChanged.connect(self._arrange_for)
        self.topLevelChanged.connect(lambda _floating: self._arrange_for(None))
        self.set_selection(())

    def _arrange_for(self, area: Qt.DockWidgetArea | None) -> None:
        """Charts side by side under or over the canvas; one above the other in a side dock (or a
        floating panel taller than it is wide)."""
        if self.isFloating() or area is None:
            tall = self.height() > self.width()
        else:
            tall = area in (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)
        wanted = Qt.Orientation.Vertical if tall else Qt.Orientation.Horizontal
        if self.charts.orientation() != wanted:
            self.charts.setOrientation(wanted)
            count = self.charts.count()
            total = self.charts.height() if tall else self.charts.width()
            self.charts.setSizes([max(total, count) // count] * count)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.isFloating():
            self._arrange_for(None)

    def set_charts_shown(self, shown: bool) -> None:
        """Show or fold away the three charts (the verdict and the layer map stay)."""
        if self.charts_button.isChecked() != shown:
            self.charts_button.setChecked(shown)  # comes back here through toggled
            return
        self.charts.setVisible(shown)
        self.charts_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.UpArrow)
        self.charts_toggled.emit(shown)

    def set_compact(self, compact: bool) -> None:
        """A short window (under 800 px): the charts drop their legends (their tooltips still name every
        colour) so the plots keep their height."""
        for chart in (self.memory, self.throughput, self.steptime):
            chart.legend.setVisible(not compact)
        self.verdict.set_rows_shown(1 if compact else 2)

    def sizeHint(self) -> QSize:
        # the main window gives a dock its size hint at first: leave the canvas most of the height
        return QSize(1200, PANEL_HEIGHT)

    @staticmethod
    def _button(name: str, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(tip)
        return button

    # -- what the window tells the panel -------------------------------------------------------------
    def set_report(self, report: Report | None, *, preview: bool = False) -> float:
        """Show ``report`` in every chart; returns (and emits through ``updated``) the seconds it took."""
        started = time.perf_counter()
        self.previewing = preview
        if not preview:
            self.report = report
        self.verdict.set_report(report)
        self.memory.set_report(report, self._idle_gpus(report))
        asked = self.plan.workload.concurrency if self.plan is not None else None
        self.throughput.set_report(report, asked if isinstance(asked, int) else None)
        self.steptime.set_report(report)
        seconds = time.perf_counter() - started
        self.last_seconds = seconds  # for the benchmark (benchmarks/panel_speed.py), not shown
        self.updated.emit(seconds)
        return seconds

    def chart_scenes(self) -> list[QGraphicsScene]:
        """The graphics scenes of the three charts."""
        return [chart.plot.scene() for chart in (self.memory, self.throughput, self.steptime)]

    def restore(self) -> None:
        """Back from a preview to the last committed report."""
        if self.previewing:
            self.set_report(self.report)

    def set_failed(self, message: str) -> None:
        """The plan cannot be evaluated: say why; the charts empty."""
        self.report = None
        for chart in (self.memory, self.throughput, self.steptime):
            chart.set_report(None)
        head, _, fix = message.partition(" — ")
        self.verdict.set_error(head, fix)
        self.updated.emit(0.0)

    def _idle_gpus(self, report: Report | None) -> list[IdleGpu]:
        """The latest plan's GPUs that the report has no ledger for: unused by the layout."""
        if report is None or self.plan is None:
            return []
        used = {g.id for g in report.gpus}
        idle = []
        for _, placement in self.plan.rig.iter_gpus():
            if placement.id not in used:
                try:
                    spec = self.catalog.gpu(placement.gpu)
                except CatalogError:
                    continue  # an unknown GPU: the evaluation reports it
                idle.append(IdleGpu(placement.id, spec.name, spec.capacity_bytes))
        return idle

    def set_plan(self, plan: Plan) -> None:
        self.plan = plan
        if plan.rig.gpu_ids():
            data, message = try_strip_data(plan, self.catalog)
        else:  # an empty rig: no stage of the last model's layout lingers
            data, message = None, "No GPUs yet: the layers appear here once the rig has a GPU."
        self.layer_map.set_data(data, message, gpu_roles(plan))
        self.layer_title.setText(self.layer_map.title_text())
        rows = self.layer_map.row_top(LAYER_ROWS_SHOWN) - self.layer_map.row_top(0)
        self.layer_scroll.setFixedHeight(min(self.layer_map.minimumHeight(), int(rows) + 4))

    def set_selection(self, gpu_ids: tuple[str, ...] | list[str]) -> None:
        self.memory.set_selected(gpu_ids)
        self.make_tp_button.setEnabled(len(gpu_ids) >= 2)
        self.split_button.setEnabled(len(gpu_ids) >= 1)


def main() -> None:  # pragma: no cover - a manual look
    from gpuplanner.gui.panel.samples import show_alone

    raise SystemExit(show_alone(LivePanel, size=(1400, 640)))


if __name__ == "__main__":  # pragma: no cover
    main()
