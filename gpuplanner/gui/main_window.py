"""MainWindow: the canvas in the middle, the catalog on the left, the inspector on the right, the
verdict in the status bar; a bottom dock area is kept for the live panel (``add_panel_dock``).

The window owns one ``PlanDocument``, one ``QUndoStack`` and one ``Evaluator``. Everything else
(scene, inspector, panel) follows the document's change events and the evaluator's report.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent, QUndoStack
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QWidget

from gpuplanner.gui import actions, startup
from gpuplanner.gui.export_action import PdfExporter, install_export_action
from gpuplanner.gui.startup import PANEL_HEIGHT

# The rig canvas never gets less than this: a dock layout remembered from a smaller window (or
# screen) gives the docks the room first, and without a floor the canvas could end up a sliver.
CANVAS_MIN_SIZE = QSize(240, 120)

if TYPE_CHECKING:  # the rest is imported once the first frame is on screen (``gui.startup``)
    from gpuplanner.core.catalog import Catalog
    from gpuplanner.core.plan import Plan
    from gpuplanner.core.report import Report
    from gpuplanner.document.document import Change
    from gpuplanner.drawing.scene import Selection
    from gpuplanner.gui.commands import PlanCommand

FRAME_GUESS = (4, 32)  # a window manager's border and title bar, pixels, until the real frame is known


class MainWindow(QMainWindow):
    report_changed = Signal(object)  # the latest Report, after every evaluation that succeeds
    evaluation_failed = Signal(str)  # why the current plan cannot be evaluated
    selection_changed = Signal(object)  # Selection on the canvas
    plan_changed = Signal(object)  # the document's new Plan after any change

    def __init__(
        self,
        plan: Plan | None = None,
        catalog: Catalog | None = None,
        export_pdf: PdfExporter | None = None,
        *,
        loading: str = startup.LOADING_SAMPLE,
    ) -> None:
        """The window on ``plan``, built in full; with no plan, only its first frame (menus, toolbar,
        docks holding stand-ins, ``loading`` on the canvas) until :meth:`build_contents`."""
        super().__init__()
        self.setObjectName("mainWindow")
        self._shown_once = False
        self._was_empty = False
        self._shown_size = self.size()
        self.built = False  # canvas, inspector, live panel and plan in place
        self.ready = False  # every part built: menu actions run at once (``startup.when_ready``)
        self.waiting_for_ready: list[Callable[[], object]] = []
        self.undo_stack = QUndoStack(self)
        self.path: Path | None = None
        self.latest_report: Report | None = None

        central = startup.StandIn(loading)
        central.setMinimumSize(CANVAS_MIN_SIZE)
        self.setCentralWidget(central)
        self.catalog_dock = self._dock(
            "catalogDock", "Catalog", startup.StandIn(), Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.inspector_dock = self._dock(
            "inspectorDock", "Inspector", startup.StandIn(), Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.setDockNestingEnabled(True)
        self.resizeDocks([self.catalog_dock, self.inspector_dock], [250, 320], Qt.Orientation.Horizontal)

        self.verdict_label = QLabel("Evaluating…" if plan is not None else loading, self)
        self.verdict_label.setObjectName("statusVerdict")
        self.verdict_label.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict_label.setToolTip("The verdict of the fit-and-performance model on the current plan")
        self.zoom_label = QLabel("100%", self)
        self.zoom_label.setToolTip("Zoom (Ctrl+wheel, Ctrl++ / Ctrl+-, Ctrl+0 fits the rig)")
        self.statusBar().addWidget(self.verdict_label, 1)
        self.statusBar().addPermanentWidget(self.zoom_label)

        self.actions = actions.build(self)
        if export_pdf is not None:
            install_export_action(self, export_pdf)  # File ▸ Export PDF… (Ctrl+E)
        if plan is None:
            self.setWindowTitle("gpuplanner")
            startup.add_stand_ins(self)
            self._soon(self.adapt_layout)
        else:
            self.build_contents(plan, catalog)
            self.build_rest()
        self.resize(*first_size(self))
        self.fit_frame_to_screen()
        if not self.built:
            self.adapt_layout()  # the first frame's docks at the sizes the built window will give them

    def build_contents(self, plan: Plan, catalog: Catalog | None = None) -> None:
        """What the first frame stands in for: the catalog, the canvas, the inspector, the live panel
        (in its stand-in's place), the plan."""
        from gpuplanner.core.catalog import default_catalog
        from gpuplanner.document.document import Change, PlanDocument
        from gpuplanner.drawing.labels import Labels
        from gpuplanner.drawing.scene import RackScene
        from gpuplanner.gui import files
        from gpuplanner.gui.autosave import Autosave
        from gpuplanner.gui.editor import Editor
        from gpuplanner.gui.evaluation import Evaluator
        from gpuplanner.gui.inspector import Inspector
        from gpuplanner.gui.palette import CatalogPalette
        from gpuplanner.gui.panel.controller import PanelController
        from gpuplanner.gui.panel.panel import LivePanel
        from gpuplanner.gui.rack.controller import RackController
        from gpuplanner.gui.rack.view import RackView

        self.catalog = catalog or default_catalog()
        self.labels = Labels(self.catalog)
        self.document = PlanDocument(plan)

        self.scene = RackScene(self.labels, self)
        self.editor = Editor(self.document, self.undo_stack, self.scene, self.catalog, self.show_message)
        self.controller = RackController(self.editor, self.scene)
        self.view = RackView(self.controller, self)
        self.view.setMinimumSize(CANVAS_MIN_SIZE)
        self.setCentralWidget(self.view)
        self.palette_widget = CatalogPalette(self.labels, self)
        self.inspector = Inspector(self.editor, self.controller, self)
        self.inspector.arranged.connect(self.view.fit_all)
        for dock, widget in ((self.catalog_dock, self.palette_widget), (self.inspector_dock, self.inspector)):
            stand_in = dock.widget()
            dock.setWidget(widget)
            if stand_in is not None:
                stand_in.deleteLater()

        self.evaluator = Evaluator(self.catalog, self)
        self.evaluator.report_changed.connect(self._on_report)
        self.evaluator.failed.connect(self._on_failed)
        self.autosave = Autosave(lambda: (self.document.plan, str(self.path) if self.path else None), self)

        self.document.subscribe(self._on_document_changed)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.scene.selectionChanged.connect(self._on_selection_changed)
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.view.delete_requested.connect(self.delete_selection)

        self.panel = LivePanel(self.catalog, self)
        startup.replace_stand_ins(self, (startup.LIVE_PANEL,), lambda: self.add_panel_dock(self.panel))
        self._soon(self.adapt_layout)
        self.panel.charts_toggled.connect(self._on_charts_toggled)
        self.panel_controller = PanelController(self.editor, self.panel, self.view, self.latest_report)
        self.report_changed.connect(self.panel_controller.show_report)
        self.evaluation_failed.connect(self.panel_controller.show_failure)
        self.plan_changed.connect(self.panel_controller.show_plan)
        self.selection_changed.connect(self.panel_controller.show_selection)
        self.built = True
        files.arrange_if_overlapping(self)
        self.undo_stack.setClean()
        self._on_document_changed(Change("plan"))

    def build_rest(self) -> None:
        """The docks tabbed behind the inspector, in their stand-ins' places; then the window is ready
        and runs what waited for it."""
        from gpuplanner.gui.launch_panel import install_launch_dock
        from gpuplanner.gui.plan_for_me import install_plan_for_me

        def install() -> None:
            self.launch_dock = install_launch_dock(self)  # launch command, bill of materials, cost, service level
            install_plan_for_me(self)  # Plan for me dock, and the offer when GPUs join the rig unused

        startup.replace_stand_ins(self, (startup.LAUNCH, startup.PLAN_FOR_ME), install)
        self.ready = True
        waiting, self.waiting_for_ready = self.waiting_for_ready, []
        for slot in waiting:
            slot()

    def adapt_layout(self) -> None:
        """Dock sizes that suit the window's size, unless the person's own are remembered: the
        inspector a fifth of the width (300–440 px), the catalog a sixth, the live panel at most
        half the height, so the canvas keeps room at 1280×720 and the inspector grows at 1920×1080."""
        panel = self.findChild(QDockWidget, startup.LIVE_PANEL)  # the live panel, or its stand-in
        if startup.has_saved_layout():
            if self.built:
                from gpuplanner.gui.panel.controller import leave_room_for_canvas

                leave_room_for_canvas(self, self.panel)
            return
        width, height = self.width(), self.height()
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        side = max(300, min(440, width // 5))
        catalog = max(210, min(300, width // 6))
        self.resizeDocks([self.catalog_dock, self.inspector_dock], [catalog, side], horizontal)
        if panel is not None and not panel.isFloating():
            startup.ask_for_height(panel, max(300, min(PANEL_HEIGHT, height // 2)))
        if panel is not None and panel.isVisible() and not panel.isFloating():
            self.resizeDocks([panel], [max(300, min(PANEL_HEIGHT, height // 2))], vertical)
        if self.built:
            self.panel.set_compact(height < 800)

    def _on_charts_toggled(self, shown: bool) -> None:
        """Folded charts give their height to the canvas; shown again, they take it back."""
        if self.panel.isFloating():
            return
        height = min(PANEL_HEIGHT, self.height() // 2) if shown else self.panel.minimumSizeHint().height()
        self.resizeDocks([self.panel], [height], Qt.Orientation.Vertical)

    def fit_frame_to_screen(self) -> None:
        """Keep the whole frame (title bar and status bar included) inside the screen's available
        geometry: a window asking for 1440×900 on a 1440×900 screen hides its status bar under the
        task bar. Before the window manager has framed the window its frame is guessed."""
        screen = self.screen()
        if screen is None or self.isMaximized() or self.isFullScreen():
            return
        available = screen.availableGeometry()
        frame = self.frameGeometry()
        extra_w = frame.width() - self.width() or 2 * FRAME_GUESS[0]
        extra_h = frame.height() - self.height() or FRAME_GUESS[1] + FRAME_GUESS[0]
        width = min(self.width(), available.width() - extra_w)
        height = min(self.height(), available.height() - extra_h)
        if (width, height) != (self.width(), self.height()):
            self.resize(max(width, 400), max(height, 300))
        frame = self.frameGeometry()
        if not available.contains(frame):
            x = min(max(frame.x(), available.x()), available.right() + 1 - frame.width())
            y = min(max(frame.y(), available.y()), available.bottom() + 1 - frame.height())
            self.move(max(x, available.x()), max(y, available.y()))

    def _soon(self, slot: Callable[[], object], delay_ms: int = 0) -> None:
        """Run ``slot`` when the event loop is back, unless the window is gone by then: a child timer,
        where ``QTimer.singleShot`` would hold the slot, and the window with it, until it fired."""
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.timeout.connect(slot)
        timer.timeout.connect(timer.deleteLater)
        timer.start(delay_ms)

    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    # -- the stable API (scripts, tests, the live panel) ---------------------------------------------
    def open_plan(self, path: str | Path) -> bool:
        """Open a plan file in this window (no questions asked); False with a message when it cannot."""
        from gpuplanner.gui import files

        return files.open_plan(self, Path(path))

    def save_plan(self, path: str | Path | None = None) -> bool:
        """Save to ``path`` (or the current file); False with a message when it cannot."""
        from gpuplanner.gui import files

        return files.save_plan(self, Path(path) if path else self.path)

    def add_panel_dock(
        self, dock: QDockWidget, area: Qt.DockWidgetArea = Qt.DockWidgetArea.BottomDockWidgetArea
    ) -> None:
        """Where the live panel goes: the bottom dock area is kept free for it."""
        self.addDockWidget(area, dock)
        self.actions.view_menu.addAction(dock.toggleViewAction())

    def push(self, build: Callable[[], PlanCommand]) -> PlanCommand | None:
        """Push the command ``build()`` returns; a refused edit shows its reason instead
        (:meth:`Editor.push`, the one way commands reach the undo stack)."""
        return self.editor.push(build)

    def select(self, selection: Selection) -> None:
        self.scene.select(selection)

    def evaluate_now(self) -> Report | None:
        """Run a pending evaluation at once (tests, export) and return the latest report."""
        self.evaluator.schedule(self.document.plan)  # at once after a pause, else pending: run it now
        if self.evaluator.pending():
            self.evaluator.run_now()
        return self.latest_report

    def show_message(self, text: str, timeout_ms: int = 6000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def is_dirty(self) -> bool:
        return not self.undo_stack.isClean()

    # -- reacting -----------------------------------------------------------------------------------
    def _on_document_changed(self, change: Change) -> None:
        plan = self.document.plan
        self.scene.sync(plan)
        self.view.ensure_scene_margin()
        if not plan.rig.nodes or self._was_empty:
            # the whole empty-canvas hint, not only the exposed part: drawn, or wiped once a server came
            self.view.viewport().update()
        self._was_empty = not plan.rig.nodes
        self.inspector.refresh()
        self.update_title()
        if self.is_dirty():
            self.autosave.schedule()
        self.plan_changed.emit(plan)
        if change.kind == "position" and self.evaluator.report is not None and not self.evaluator.pending():
            return  # where a server is drawn is in no estimate: the report stands (a 1,024-GPU rig moves fast)
        if self._shown_once and self.ready:
            self.evaluator.schedule(plan)  # last: the panel has the new plan when its report comes
        else:  # starting: the window shows first, the first evaluation follows at once
            self.evaluator.defer(plan)

    def _on_report(self, report: Report) -> None:
        self.latest_report = report
        self.scene.set_report(report)
        from gpuplanner.core.verdict import verdict_of

        verdict = verdict_of(report)  # the banner's verdict, icon and colour: never a second opinion
        self.verdict_label.setText(verdict.line)
        style = "" if verdict.level == "fits" else f"color: {verdict.colour};"
        if self.verdict_label.styleSheet() != style:  # a style sheet re-polishes the label: only on change
            self.verdict_label.setStyleSheet(style)
        self.verdict_label.setToolTip(
            "\n".join(
                f"{p.severity}: {p.message}" + (f" — {p.fix}" if p.fix else "") for p in report.problems
            )
            or report.verdict
        )
        self.report_changed.emit(report)

    def _on_failed(self, message: str) -> None:
        self.latest_report = None
        self.scene.set_report(None)
        self.verdict_label.setText("⚠ " + message)
        self.verdict_label.setStyleSheet("color: #c27c0e;")
        self.verdict_label.setToolTip(message)
        self.evaluation_failed.emit(message)

    def _on_clean_changed(self, _clean: bool) -> None:
        self.update_title()
        if self.undo_stack.isClean():
            self.autosave.discard()

    def _on_selection_changed(self) -> None:
        selection = self.scene.selection()
        self.inspector.refresh()
        if selection:  # what was selected shows its properties, not the plan's settings further down
            self.inspector.verticalScrollBar().setValue(0)
            self.inspector.ensureWidgetVisible(self.inspector.selection_section)
        self.actions.update_enabled(selection)
        self.selection_changed.emit(selection)

    def update_title(self) -> None:
        name = self.path.name if self.path else self.document.plan.name
        self.setWindowTitle(f"{name}{'*' if self.is_dirty() else ''} — gpuplanner")

    # -- edit actions -------------------------------------------------------------------------------
    def delete_selection(self) -> None:
        from gpuplanner.gui import edits

        edits.delete_selection(self.editor)

    def copy_selection(self) -> bool:
        from gpuplanner.gui import edits

        return edits.copy_selection(self.editor)

    def paste(self) -> None:
        from gpuplanner.gui import edits

        edits.paste(self.editor)

    # -- Qt override --------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown_once:  # whoever shows the window first sees the whole rig, not a corner of it
            self._shown_once = True
            self._shown_size = self.size()
            self._soon(lambda: self.view.fit_all() if self.built else None)
            self._soon(self.fit_frame_to_screen)  # framed by now, or at the next resize
            self._soon(self._settle_frame, 400)

    def _settle_frame(self) -> None:
        """The window manager frames a window some time after it is shown: once it has, the frame goes
        inside the screen (the canvas refits itself on the resize)."""
        if self.isVisible() and self.size() == self._shown_size:  # nobody resized it meanwhile
            self.fit_frame_to_screen()
            self.adapt_layout()  # the window manager's size, not the one asked for

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.built:  # closed while loading: nothing to save, the remembered layout stays as it was
            event.accept()
            return
        from gpuplanner.gui import dialogs, files

        if self.is_dirty():
            answer = dialogs.ask_save_changes(self, self.path.name if self.path else self.document.plan.name)
            if answer == "cancel" or (answer == "save" and not files.save_interactive(self)):
                event.ignore()
                return
        self.autosave.discard()
        files.remember_geometry(self)
        event.accept()


def first_size(window: QWidget) -> tuple[int, int]:
    """The window's size before any is remembered: 1440×900, or most of a larger screen (a 1920×1080
    screen gets a window wide enough for a roomy inspector); a smaller screen is handled by
    ``fit_frame_to_screen``."""
    screen = window.screen()
    if screen is None:
        return 1440, 900
    available = screen.availableGeometry()
    return max(1440, int(available.width() * 0.92)), max(900, int(available.height() * 0.92))


def default_plan_path() -> Path | None:
    from gpuplanner.paths import examples_dir

    try:
        path = examples_dir() / "dgx-h100-llama-3.1-70b-tp8.gpuplan"
    except FileNotFoundError:
        return None
    return path if path.is_file() else None


def create_main_window(
    plan_path: str | Path | None = None, export_pdf: PdfExporter | None = None, *, staged: bool = False
) -> MainWindow:
    """The main window on ``plan_path`` (or the built-in sample plan), with File ▸ Export PDF… when
    given ``export_pdf``. Raises PlannerError when the catalog is broken; a plan that cannot be opened
    becomes a message and the sample plan opens.

    With ``staged`` (the ``gpuplanner`` command) it returns the window's first frame at once and the
    rest is built once that frame is painted (``gui.startup``): ``window.ready`` says when; a broken
    catalog then becomes a message and the application exits with 1."""
    if staged:
        window = MainWindow(export_pdf=export_pdf, loading=startup.loading_text(plan_path))
        startup.after_paint(window.centralWidget(), lambda: _load_staged(window, plan_path))
        return window
    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.gui import files

    path, first, plan = _first_plan(plan_path, default_catalog())
    window = MainWindow(plan, export_pdf=export_pdf)
    _open_first_plan(window, plan_path, path, first)
    files.offer_autosave(window)
    return window


def _first_plan(plan_path: str | Path | None, catalog: Catalog) -> tuple[Path | None, Plan | None, Plan]:
    """The file a new window opens, its plan read before the window is built so that the window is
    built on it (a cluster-sized file is then drawn once, not after a sample plan), and the plan to
    build on: the file's, or the fallback when there is none or it cannot be read."""
    from gpuplanner.gui import files

    path = Path(plan_path) if plan_path else default_plan_path()
    first = files.read_first_plan(path)
    return path, first, first if first is not None else files.fallback_plan(catalog)


def _open_first_plan(
    window: MainWindow, plan_path: str | Path | None, path: Path | None, first: Plan | None
) -> None:
    """The window built on ``first`` (read from ``path``) is that file, opened; a file that could not
    be read is opened again for its message, and the sample plan opens instead."""
    from gpuplanner.gui import files

    if first is not None and path is not None:
        files.opened_as_built(window, first, path)
    elif path is not None and not window.open_plan(path) and plan_path:
        sample = default_plan_path()
        if sample is not None:
            window.open_plan(sample)


def _load_staged(window: MainWindow, plan_path: str | Path | None) -> None:
    """Steps 2 and 3 of the staged start: the plan opened and evaluated before the next paint, then
    the docks behind the inspector and the autosave offer one turn later."""
    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.core.errors import PlannerError
    from gpuplanner.gui import files

    if window.built or not window.isVisible():
        return  # closed while loading
    try:
        catalog = default_catalog()
    except PlannerError as exc:
        startup.cannot_start(window, str(exc))
        return
    path, first, plan = _first_plan(plan_path, catalog)
    window.build_contents(plan, catalog)
    _open_first_plan(window, plan_path, path, first)
    files.restore_chart_sizes(window)
    window.evaluate_now()

    def rest() -> None:
        files.offer_autosave(window)  # before what waited for the window (a plan the system asked to open)
        window.build_rest()

    startup.after_paint(window.view.viewport(), rest)  # once the plan and its charts are on screen
