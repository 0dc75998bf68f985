"""Plan for me: a dock that searches the best layouts for the rig, or the best rigs for a goal.

Pick the objective and the service level, press Search: the search (``gpuplanner.core.recommend``)
runs on a worker thread with a progress bar and Cancel, candidates appear ranked with their reason,
the Pareto front of total tokens/s against tokens/s per user (or, for rigs, power against tokens/s)
is plotted. Hovering a candidate previews it on the canvas (the cards' memory) and in the live panel;
Apply (or a double-click) makes it the plan as one undo step.

When GPUs join the rig and the layout leaves them unused, the status bar offers the best layout that
uses them all: one click, one undo step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gpuplanner.core.catalog import Catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.layout_ops import layout_gpu_ids
from gpuplanner.core.plan import Plan
from gpuplanner.core.recommend import (
    OBJECTIVE_NAMES,
    OBJECTIVES,
    Candidate,
    RigSearch,
    Search,
    Space,
    Target,
    layout_using_all,
    recommend_layouts,
    recommend_rigs,
)
from gpuplanner.core.report import Report
from gpuplanner.document.document import PlanDocument
from gpuplanner.gui import commands as cmd
from gpuplanner.gui.panel.style import make_plot

POINT_COLOUR = "#0072B2"
FRONT_COLOUR = "#D55E00"
HOVER_COLOUR = "#009E73"
OFFER_DELAY_MS = 250


class Host(Protocol):
    """What the dock uses of the main window."""

    catalog: Catalog
    document: PlanDocument
    latest_report: Report | None
    plan_changed: Any

    def push(self, build: Callable[[], cmd.PlanCommand]) -> cmd.PlanCommand | None: ...
    def show_message(self, text: str, timeout_ms: int = 6000) -> None: ...


def apply_command(document: PlanDocument, candidate: Candidate, text: str) -> cmd.PlanCommand:
    """One undo step that makes ``candidate`` the plan: for a layout of the same rig its layout,
    formats, engine settings and users; for a rig, the whole plan."""
    plan = candidate.plan
    same_rig = plan.rig == document.plan.rig

    def edit(d: PlanDocument) -> None:
        if not same_rig:
            d.replace_plan(plan.model_copy(update={"name": d.plan.name, "description": d.plan.description}))
            return
        d.set_precisions(weights=plan.weights, kv_cache=plan.kv_cache)
        d.set_engine_settings(plan.engine)
        d.set_workload(plan.workload)
        d.set_layout(plan.layout)

    return cmd.edit_command(document, text, edit)


def layout_only_command(document: PlanDocument, candidate: Candidate, text: str) -> cmd.PlanCommand:
    """One undo step that takes only the candidate's layout (the offer for GPUs the layout leaves unused)."""
    return cmd.edit_command(document, text, lambda d: d.set_layout(candidate.plan.layout))


Job = Callable[[Callable[[int, int], None], Callable[[], bool]], object]


class Runner(QObject):
    """Runs one search at a time on a worker thread (a plain Python thread: no Qt object lives there).

    The worker reports through this object's signals, which Qt queues to the window's thread; each
    run has a number, and reports of a run that was replaced or cancelled are dropped. ``stop()``
    cancels and waits (a search stops within one candidate, milliseconds)."""

    progress = Signal(int, int)
    done = Signal(object)  # Search | RigSearch | Candidate | None | whatever the job returns
    failed = Signal(str)
    _report = Signal(int, str, object)  # run number, kind, payload: from the worker thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._run = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._report.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, job: Job) -> None:
        self.stop()
        self._run += 1
        run, stop = self._run, threading.Event()
        self._stop = stop

        def report(kind: str, payload: object) -> None:
            try:
                self._report.emit(run, kind, payload)
            except RuntimeError:  # the window is gone: nobody to tell
                stop.set()

        def work() -> None:
            try:
                result = job(lambda done, total: report("progress", (done, total)), stop.is_set)
            except PlannerError as exc:
                report("failed", exc.message + (f" — {exc.fix}" if exc.fix else ""))
                return
            except Exception as exc:  # a bug must not end the thread silently: say it
                report("failed", f"the search failed: {exc}")
                return
            report("done", result)

        self._thread = threading.Thread(target=work, name=f"gpuplanner-search-{run}", daemon=True)
        self._thread.start()

    def _deliver(self, run: int, kind: str, payload: object) -> None:
        if run != self._run:
            return  # a replaced run
        if kind == "progress":
            done, total = payload  # type: ignore[misc]
            self.progress.emit(done, total)
        elif kind == "failed":
            self._thread = None
            self.failed.emit(payload)
        else:
            self._thread = None
            self.done.emit(payload)

    def cancel(self) -> None:
        """Ask the search to stop; it reports what it found so far (``done``, cancelled)."""
        self._stop.set()

    def stop(self) -> None:
        """Cancel, wait for the thread, and drop its reports."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=10)
        self._run += 1


def _fmt(value: float) -> str:
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


class PlanForMePanel(QWidget):
    """The dock's content: what to search, the progress, the candidates and their plot."""

    def __init__(self, host: Host, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("planForMe")
        self.host = host
        self.candidates: list[Candidate] = []
        self.previewing: Candidate | None = None
        self.last_search: Search | RigSearch | None = None
        self.runner = Runner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.done.connect(self._on_done)
        self.runner.failed.connect(self._on_failed)

        self.mode = QComboBox(self)
        self.mode.setObjectName("planForMeMode")
        self.mode.addItem("Best layout for this rig", "layouts")
        self.mode.addItem("Best rig for a number of users", "rigs")
        self.mode.setToolTip("Search the layouts of the rig on the canvas, or rigs built from the catalog")
        for combo in (self.mode,):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        self.objective = QComboBox(self)
        self.objective.setObjectName("planForMeObjective")
        for key in OBJECTIVES:
            self.objective.addItem(OBJECTIVE_NAMES[key].split(":")[0], key)
            self.objective.setItemData(
                self.objective.count() - 1, OBJECTIVE_NAMES[key], Qt.ItemDataRole.ToolTipRole
            )
        self.objective.setToolTip("What 'best' means; the service level below applies to every objective")
        self.ttft = self._ms_box("planForMeTtft", "Time to first token at most this (0: no limit)")
        self.tpot = self._ms_box("planForMeTpot", "Time per output token at most this (0: no limit)")
        self.tpot.setValue(50)
        self.users = QSpinBox(self)
        self.users.setObjectName("planForMeUsers")
        self.users.setRange(0, 100_000)
        self.users.setSpecialValueText("any")
        self.users.setToolTip("Concurrent users to serve (a rig search needs it; 'any' for layouts)")
        self.use_all = QCheckBox("Use every GPU", self)
        self.use_all.setObjectName("planForMeUseAll")
        self.use_all.setToolTip("Only layouts that use all the rig's GPUs")
        self.fp8 = QCheckBox("Also try FP8", self)
        self.fp8.setObjectName("planForMeFp8")
        self.fp8.setToolTip(
            "Also try FP8 weights and KV cache: half the bytes read per token; the model's quality changes slightly"
        )
        self.max_gpus = QSpinBox(self)
        self.max_gpus.setObjectName("planForMeMaxGpus")
        self.max_gpus.setRange(1, 512)
        self.max_gpus.setValue(64)
        self.max_gpus.setToolTip("Rig search: the most GPUs a rig may have")

        form = QGridLayout()
        form.setHorizontalSpacing(6)
        form.setVerticalSpacing(4)
        pairs = [
            [("Search", self.mode)],
            [("Objective", self.objective)],
            [("TTFT ≤", self.ttft), ("TPOT ≤", self.tpot)],
            [("Users", self.users), ("GPUs ≤", self.max_gpus)],
        ]
        for row, fields in enumerate(pairs):
            for col, (text, widget) in enumerate(fields):
                label = QLabel(text, self)
                label.setBuddy(widget)
                form.addWidget(label, row, col * 2)
                form.addWidget(widget, row, col * 2 + 1, 1, 3 if len(fields) == 1 else 1)
        form.addWidget(self.use_all, len(pairs), 0, 1, 2)
        form.addWidget(self.fp8, len(pairs), 2, 1, 2)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)

        self.search_button = QPushButton("Search", self)
        self.search_button.setObjectName("planForMeSearch")
        self.search_button.setToolTip("Search with these choices (Ctrl+Shift+P)")
        self.search_button.setShortcut("Ctrl+Shift+P")
        self.search_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("planForMeCancel")
        self.cancel_button.setToolTip("Stop the search; the candidates found so far stay")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.apply_button = QPushButton("Apply", self)
        self.apply_button.setObjectName("planForMeApply")
        self.apply_button.setToolTip("Make the chosen candidate the plan (one undo step)")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply_current)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("planForMeProgress")
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v of %m")
        self.progress.setFixedWidth(90)
        self.progress.setValue(0)
        buttons = QHBoxLayout()
        for w in (self.search_button, self.cancel_button, self.apply_button):
            buttons.addWidget(w)
        self.status = QLabel("Choose an objective and press Search.", self)
        self.status.setObjectName("planForMeStatus")
        self.status.setWordWrap(True)

        self.table = QTreeWidget(self)
        self.table.setObjectName("planForMeCandidates")
        self.table.setRootIsDecorated(False)
        self.table.setMouseTracking(True)
        self.table.setAlternatingRowColors(True)
        self.table.itemEntered.connect(lambda item, _col: self.preview(self._row_of(item)))
        self.table.currentItemChanged.connect(self._on_current)
        self.table.itemDoubleClicked.connect(lambda item, _col: self.apply(self._row_of(item)))
        self.table.viewport().installEventFilter(self)
        self.table.setMinimumHeight(90)
        self.table.setHeaderLabels(["#", "Layout", "Objective", "tok/s", "Users", "TTFT", "TPOT", "GPUs"])
        self.reason = QLabel("", self)
        self.reason.setObjectName("planForMeReason")
        self.reason.setWordWrap(True)
        self.reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reason.setFixedHeight(self.reason.fontMetrics().lineSpacing() * 3 + 4)
        self.reason.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        self.plot = make_plot("total tok/s", "tok/s per user")
        self.plot.setObjectName("planForMePlot")
        self.plot.setMinimumHeight(90)
        self.scatter = pg.ScatterPlotItem(
            size=9, brush=pg.mkBrush(POINT_COLOUR), pen=None, hoverable=True, hoverSize=12
        )
        self.scatter.sigHovered.connect(self._on_point_hovered)
        self.scatter.sigClicked.connect(self._on_point_clicked)
        self.front = pg.PlotDataItem(pen=pg.mkPen(FRONT_COLOUR, width=2), symbol="o", symbolSize=5,
                                     symbolBrush=FRONT_COLOUR, symbolPen=None)  # fmt: skip
        self.hover_mark = pg.ScatterPlotItem(size=14, brush=pg.mkBrush(HOVER_COLOUR), pen=pg.mkPen("w"))
        for item in (self.scatter, self.front, self.hover_mark):
            self.plot.addItem(item)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(form)
        layout.addLayout(buttons)
        state = QHBoxLayout()
        state.addWidget(self.progress)
        state.addWidget(self.status, 1)
        layout.addLayout(state)
        self.tabs = QTabWidget(self)  # the list and the plot share the dock's height
        self.tabs.setObjectName("planForMeTabs")
        self.tabs.addTab(self.table, "Candidates")
        self.tabs.addTab(self.plot, "Trade-off")
        self.tabs.setTabToolTip(
            1, "Total tok/s against tok/s per user, with the Pareto front (rigs: power against tok/s)"
        )
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.reason)
        self.mode.currentIndexChanged.connect(self._on_mode)
        self._on_mode()

    def heightForWidth(self, _width: int) -> int:
        # the wrapped labels would make the dock's scroll area give the panel its preferred height;
        # without it the panel takes the dock's height (scrolling only below its minimum)
        return -1

    def _ms_box(self, name: str, tip: str) -> QSpinBox:
        box = QSpinBox(self)
        box.setObjectName(name)
        box.setRange(0, 600_000)
        box.setSuffix(" ms")
        box.setSpecialValueText("none")
        box.setToolTip(tip)
        return box

    def _on_mode(self) -> None:
        rigs = self.mode.currentData() == "rigs"
        self.objective.setEnabled(not rigs)
        self.use_all.setEnabled(not rigs)
        self.max_gpus.setEnabled(rigs)
        if rigs and self.users.value() == 0:
            self.users.setValue(max(1, self._plan_users()))

    def _plan_users(self) -> int:
        c = self.host.document.plan.workload.concurrency
        return c if isinstance(c, int) else 1

    # -- searching ------------------------------------------------------------------------------------
    def target(self) -> Target:
        return Target(
            slo_ttft_ms=float(self.ttft.value()) or None,
            slo_tpot_ms=float(self.tpot.value()) or None,
            users=self.users.value() or None,
        )

    def start(self) -> None:
        """Start a search with the current choices (the previous one, if any, is cancelled)."""
        self.end_preview()
        plan = self.host.document.plan
        target = self.target()
        catalog = self.host.catalog
        formats = ("bf16", "fp8") if self.fp8.isChecked() else ()
        if self.mode.currentData() == "rigs":
            users = self.users.value() or self._plan_users()
            max_gpus = self.max_gpus.value()
            weights = plan.weights

            def rig_job(progress: Callable[[int, int], None], stop: Callable[[], bool]) -> object:
                return recommend_rigs(
                    plan.model, users, target=target, max_gpus=max_gpus, engine=plan.engine.engine,
                    weights=weights, input_tokens=plan.workload.input_tokens,
                    output_tokens=plan.workload.output_tokens, catalog=catalog, progress=progress,
                    cancelled=stop,
                )  # fmt: skip

            job = rig_job
        else:
            objective = self.objective.currentData()
            space = Space(
                weights=tuple(dict.fromkeys((plan.weights, *formats))) if formats else (),
                kv_cache=tuple(dict.fromkeys((plan.kv_cache, *formats))) if formats else (),
                use_all=self.use_all.isChecked(),
            )

            def layout_job(progress: Callable[[int, int], None], stop: Callable[[], bool]) -> object:
                return recommend_layouts(
                    plan, objective, target, space=space, top=20, catalog=catalog, progress=progress,
                    cancelled=stop,
                )  # fmt: skip

            job = layout_job
        self.search_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.status.setText("Searching…")
        self.runner.start(job)

    def cancel(self) -> None:
        self.runner.cancel()
        self.status.setText("Cancelling…")

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_failed(self, message: str) -> None:
        self._idle()
        self.status.setText(message)

    def _idle(self) -> None:
        self.search_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)

    def _on_done(self, result: object) -> None:
        self._idle()
        if isinstance(result, RigSearch):
            self.show_rigs(result)
        elif isinstance(result, Search):
            self.show_layouts(result)

    # -- showing ----------------------------------------------------------------------------------------
    def show_layouts(self, search: Search) -> None:
        self.last_search = search
        self.candidates = list(search.candidates)
        self.table.setHeaderLabels(["#", "Layout", "Objective", "tok/s", "Users", "TTFT", "TPOT", "GPUs"])
        self._fill(lambda c: [c.shape, f"{_fmt(c.value)} {c.unit}"])
        done = "Cancelled: " if search.cancelled else ""
        note = f" {search.message}." if search.message else ""
        self.status.setText(
            f"{done}{len(self.candidates)} candidates of {search.tried} layouts ({search.pruned} set aside by "
            f"memory, {search.evaluated} evaluated).{note}"
        )
        self.plot.getPlotItem().setLabel("bottom", "tok/s per user")
        self.plot.getPlotItem().setLabel("left", "total tok/s")
        xs, ys, rows = [], [], []
        for row, c in enumerate(self.candidates):
            perf = c.report.performance
            if perf is not None:
                xs.append(perf.tokens_per_s_per_user)
                ys.append(perf.output_tokens_per_s)
                rows.append(row)
        self.scatter.setData(xs, ys, data=rows)
        self.front.setData(
            [p.tokens_per_s_per_user for p in search.pareto], [p.output_tokens_per_s for p in search.pareto]
        )
        self.hover_mark.setData([], [])

    def show_rigs(self, search: RigSearch) -> None:
        self.last_search = search
        self.candidates = list(search.rigs)
        self.table.setHeaderLabels(["#", "Rig", "Layout", "tok/s", "Users", "TTFT", "TPOT", "GPUs"])
        self._fill(lambda c: [c.plan.name.split(" on ")[-1], c.shape])
        done = "Cancelled: " if search.cancelled else ""
        self.status.setText(
            f"{done}{len(self.candidates)} rigs serve {search.target.describe()} "
            f"(ranked by {search.rank}: GPUs, then power). {search.message}"
        )
        self.plot.getPlotItem().setLabel("bottom", "total tok/s")
        self.plot.getPlotItem().setLabel("left", "GPU power, kW")
        xs = [
            c.report.performance.output_tokens_per_s if c.report.performance else 0.0 for c in self.candidates
        ]
        ys = [c.price.watts / 1000 for c in self.candidates]
        self.scatter.setData(xs, ys, data=list(range(len(self.candidates))))
        self.front.setData([], [])
        self.hover_mark.setData([], [])

    def _fill(self, first_columns: Callable[[Candidate], list[str]]) -> None:
        self.table.clear()
        for i, c in enumerate(self.candidates, 1):
            perf = c.report.performance
            assert perf is not None
            cells = [str(i), *first_columns(c), f"{perf.output_tokens_per_s:,.0f}", f"{perf.concurrency:,}",
                     f"{perf.ttft_s * 1000:,.0f} ms", f"{perf.tpot_s * 1000:,.1f} ms", str(c.price.gpus)]  # fmt: skip
            item = QTreeWidgetItem(cells)
            item.setData(0, Qt.ItemDataRole.UserRole, i - 1)
            for col in range(len(cells)):
                item.setToolTip(col, c.reason)
            if not c.meets:
                item.setForeground(0, Qt.GlobalColor.darkRed)
                item.setToolTip(0, "misses the target: " + c.reason)
            self.table.addTopLevelItem(item)
        header = self.table.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        if self.candidates:
            self.table.setCurrentItem(self.table.topLevelItem(0))
        self.apply_button.setEnabled(bool(self.candidates))

    def _on_point_hovered(self, _item: object, points: Any, _event: object) -> None:
        """Hovering a point of the plot previews its candidate, as hovering its row does."""
        if len(points):
            self.preview(int(points[0].data()))
        else:
            self.end_preview()

    def _on_point_clicked(self, _item: object, points: Any, _event: object) -> None:
        """Clicking a point selects its candidate in the list (Apply then applies it)."""
        if len(points):
            row = int(points[0].data())
            self.table.setCurrentItem(self.table.topLevelItem(row))

    def _row_of(self, item: QTreeWidgetItem | None) -> int:
        return int(item.data(0, Qt.ItemDataRole.UserRole)) if item is not None else -1

    def _on_current(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        row = self._row_of(item)
        self.reason.setText(self.candidates[row].reason if 0 <= row < len(self.candidates) else "")

    # -- hover preview and apply -------------------------------------------------------------------------
    def preview(self, row: int) -> None:
        """Show candidate ``row`` on the canvas and in the live panel, without touching the plan."""
        if not 0 <= row < len(self.candidates):
            return
        c = self.candidates[row]
        if c is self.previewing:
            return
        self.previewing = c
        perf = c.report.performance
        if perf is not None:
            rigs = isinstance(self.last_search, RigSearch)
            x = perf.output_tokens_per_s if rigs else perf.tokens_per_s_per_user
            y = c.price.watts / 1000 if rigs else perf.output_tokens_per_s
            self.hover_mark.setData([x], [y])
        self.reason.setText(c.reason)
        window = self.host
        scene = getattr(window, "scene", None)
        if scene is not None and c.plan.rig == window.document.plan.rig:
            scene.sync(c.plan)  # the candidate's stages and TP ranks on the cards, their memory
            scene.set_report(c.report)
        panel = getattr(window, "panel", None)
        if panel is not None:
            panel.set_plan(c.plan)
            panel.set_report(c.report, preview=True)

    def end_preview(self) -> None:
        """Back to the plan as it is."""
        if self.previewing is None:
            return
        self.previewing = None
        self.hover_mark.setData([], [])
        window = self.host
        scene = getattr(window, "scene", None)
        if scene is not None:
            scene.sync(window.document.plan)
            scene.set_report(window.latest_report)
        panel = getattr(window, "panel", None)
        if panel is not None:
            panel.set_plan(window.document.plan)
            panel.restore()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Leave:
            self.end_preview()
        return super().eventFilter(watched, event)

    def apply_current(self) -> None:
        self.apply(self._row_of(self.table.currentItem()))

    def apply(self, row: int) -> None:
        """Make candidate ``row`` the plan, as one undo step."""
        if not 0 <= row < len(self.candidates):
            return
        c = self.candidates[row]
        self.end_preview()
        text = (
            f"Plan for me: {c.shape}"
            if c.plan.rig == self.host.document.plan.rig
            else f"Plan for me: {c.plan.name}"
        )
        if self.host.push(lambda: apply_command(self.host.document, c, text)) is not None:
            self.host.show_message(f"Applied {c.reason}")


class UnusedGpuOffer(QObject):
    """When GPUs join the rig and the layout leaves them unused, offer the best layout using them all
    (a status-bar button: one click, one undo step). The search runs off the window's thread."""

    offered = Signal(object)  # Candidate

    def __init__(self, host: Host, button: QPushButton, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.button = button
        self.button.hide()
        self.button.clicked.connect(self.accept)
        self.candidate: Candidate | None = None
        self._gpus = len(host.document.plan.rig.gpu_ids())
        self._asked_for: Plan | None = None
        self.runner = Runner(self)
        self.runner.done.connect(self._on_found)
        self._timer = QTimer(self)  # a burst of drops asks once, when it pauses
        self._timer.setSingleShot(True)
        self._timer.setInterval(OFFER_DELAY_MS)
        self._timer.timeout.connect(self._search)

    def plan_changed(self, plan: Plan) -> None:
        count = len(plan.rig.gpu_ids())
        grew, self._gpus = count > self._gpus, count
        unused = count - len(set(layout_gpu_ids(plan.layout)) & set(plan.rig.gpu_ids()))
        if self.candidate is not None and (unused == 0 or grew):
            self._withdraw()
        # only an edit of the rig adds GPUs (opening a file or undoing is not an offer's moment)
        change = self.host.document.last_change
        if not grew or unused == 0 or change is None or change.kind != "rig":
            if self._timer.isActive() and not grew:
                self._timer.stop()
            return
        self._asked_for = plan
        self._timer.start()

    def _search(self) -> None:
        plan, catalog = self._asked_for, self.host.catalog
        if plan is None or self.host.document.plan is not plan:
            return
        self.runner.start(lambda _progress, stop: layout_using_all(plan, catalog, cancelled=stop))

    def _on_found(self, candidate: object) -> None:
        if not isinstance(candidate, Candidate) or self.host.document.plan is not self._asked_for:
            return
        self.candidate = candidate
        n = len(layout_gpu_ids(candidate.plan.layout))
        self.button.setText(f"Use all {n} GPUs as {candidate.shape.split(',')[0]}?")
        self.button.setToolTip(candidate.reason + "\n\nOne click applies it (Ctrl+Z undoes it).")
        self.button.show()
        self.offered.emit(candidate)

    def _withdraw(self) -> None:
        self.candidate = None
        self.button.hide()

    def accept(self) -> None:
        c = self.candidate
        if c is None:
            return
        self._withdraw()
        n = len(layout_gpu_ids(c.plan.layout))
        self.host.push(lambda: layout_only_command(self.host.document, c, f"Use all {n} GPUs"))


class _StopOnClose(QObject):
    """Searches end when the window closes (a thread must not outlive its window)."""

    def __init__(self, runners: list[Runner], parent: QObject) -> None:
        super().__init__(parent)
        self.runners = runners

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close:
            for runner in self.runners:
                runner.stop()
        return False


class _DockScroll(QScrollArea):
    """The dock's scroll area: asks for a dock's usual size, not its content's whole height."""

    def sizeHint(self) -> QSize:
        return QSize(320, 420)


def install_plan_for_me(window: Any) -> QDockWidget:
    """Add the Plan for me dock (View menu, right dock area, tabbed with the inspector) and the offer
    for unused GPUs (status bar) to the main window."""
    panel = PlanForMePanel(window)
    dock = QDockWidget("Plan for me", window)
    dock.setObjectName("planForMeDock")
    scroll = _DockScroll(dock)  # a short window scrolls the dock instead of growing to fit it
    scroll.setObjectName("planForMeScroll")
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(panel)
    dock.setWidget(scroll)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
    )
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    inspector = getattr(window, "inspector_dock", None)
    if inspector is not None:
        window.tabifyDockWidget(inspector, dock)
        inspector.raise_()
    actions = getattr(window, "actions", None)
    if actions is not None and hasattr(actions, "view_menu"):
        toggle = dock.toggleViewAction()
        toggle.setShortcut("Ctrl+Shift+L")
        toggle.setToolTip("The best layout for this rig, or the best rig for a goal")
        actions.view_menu.addAction(toggle)
    button = QPushButton(window)
    button.setObjectName("useAllGpusOffer")
    window.statusBar().addPermanentWidget(button)
    offer = UnusedGpuOffer(window, button, window)
    window.plan_changed.connect(offer.plan_changed)
    stopper = _StopOnClose([panel.runner, offer.runner], window)
    window.installEventFilter(stopper)
    window.plan_for_me = panel
    window.plan_for_me_dock = dock
    window.unused_gpu_offer = offer
    return dock
