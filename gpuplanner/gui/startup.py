"""The window's staged start: its frame on screen first, the plan, the canvas and the charts just after.

``gpuplanner`` (``gui.app.run``) builds the main window in three steps, each a turn of the event loop:

1. **First frame** (before the event loop runs): title, menus, toolbar, status bar and the docks where
   they will be (catalog, inspector, live panel, the Launch and Plan for me tabs), each holding a
   stand-in; the canvas says "Loading sample plan…" (or the file's name). Nothing here imports the
   catalog, the model, the drawing or pyqtgraph: this module and ``actions`` import Qt and little else.
2. **Populated**, once the first frame is painted: the catalog, the canvas, the inspector and the live
   panel replace their stand-ins, the plan opens and is evaluated, all before the next paint, so the
   window goes from "Loading…" to the right numbers with no frame in between.
3. **The rest**, once that is painted: the offer to restore autosaved work, the docks tabbed behind
   the inspector (Launch, Plan for me). Then the window is ``ready``; a menu action or a file-open
   event that came meanwhile runs now (``when_ready``) instead of reaching parts not built yet.

A stand-in dock bears the object name of the dock it stands for, so the remembered dock layout applies
to the first frame; a real dock takes its stand-in's place and size (``replace_stand_ins``).
``create_main_window(path)`` without ``staged`` still returns a window built in full.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QWidget

PANEL_HEIGHT = 450  # the live panel's height when there is room for it, pixels
LOADING_SAMPLE = "Loading sample plan…"
PAINT_FALLBACK_MS = 300  # a window never painted (minimised, no screen) still loads this soon after
LIVE_PANEL, LAUNCH, PLAN_FOR_ME = "livePanel", "launchDock", "planForMeDock"
STAND_INS = ((LIVE_PANEL, "Live panel"), (LAUNCH, "Launch"), (PLAN_FOR_ME, "Plan for me"))


def loading_text(plan_path: str | Path | None) -> str:
    """What the canvas says while the window loads ``plan_path`` (the sample plan when None)."""
    return f"Loading {Path(plan_path).name}…" if plan_path else LOADING_SAMPLE


def sample_plans() -> list[Path]:
    """The sample plans offered by File ▸ New from Template (``files.templates``)."""
    from gpuplanner.paths import examples_dir

    try:
        return sorted(examples_dir().glob("*.gpuplan"))
    except FileNotFoundError:
        return []


def when_ready(window: object, slot: Callable[[], object]) -> None:
    """Run ``slot`` now, or, while ``window`` is still loading its plan, once it is ready."""
    waiting: list[Callable[[], object]] | None = getattr(window, "waiting_for_ready", None)
    if waiting is None or getattr(window, "ready", True):
        slot()
    else:
        waiting.append(slot)


class StandIn(QLabel):
    """What a part of the window shows until it is built: nothing, or one line of grey text."""

    def __init__(self, text: str = "", parent: QWidget | None = None, hint: QSize | None = None) -> None:
        super().__init__(text, parent)
        self.hint = hint  # the size the real part asks for, so the docks keep their places when it comes
        self.setObjectName("loadingStandIn")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setEnabled(False)  # the palette's grey, no focus
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.Base)

    def sizeHint(self) -> QSize:
        return self.hint if self.hint is not None else super().sizeHint()


class StandInDock(QDockWidget):
    """A dock that will be replaced by the real one of the same object name (``replace_stand_ins``)."""

    def __init__(self, name: str, title: str, parent: QWidget, hint: QSize | None = None) -> None:
        super().__init__(title, parent)
        self.setObjectName(name)
        self.setWidget(StandIn(hint=hint))


def ask_for_height(dock: QDockWidget, height: int) -> None:
    """A stand-in dock (before the window is shown) asks for ``height``, as its real dock will be given."""
    stand_in = dock.widget()
    if isinstance(stand_in, StandIn) and stand_in.hint is not None:
        stand_in.hint = QSize(stand_in.hint.width(), height)
        stand_in.updateGeometry()


def add_stand_ins(window: QMainWindow) -> None:
    """The live panel below the canvas, and the Launch and Plan for me tabs behind the inspector (a dock
    object-named ``inspectorDock`` already in place), as stand-ins."""
    inspector = window.findChild(QDockWidget, "inspectorDock")
    panel_hint = QSize(1200, PANEL_HEIGHT)  # the live panel's own size hint
    docks = {
        name: StandInDock(name, title, window, panel_hint if name == LIVE_PANEL else None)
        for name, title in STAND_INS
    }
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, docks[LIVE_PANEL])
    for name in (LAUNCH, PLAN_FOR_ME):
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, docks[name])
        if inspector is not None:
            window.tabifyDockWidget(inspector, docks[name])
    if inspector is not None:
        inspector.raise_()


def replace_stand_ins(window: QMainWindow, names: tuple[str, ...], build: Callable[[], object]) -> None:
    """Run ``build`` (which adds the real docks ``names``) in place of their stand-ins: the window's dock
    layout as it is now (the remembered one, or the default one) is kept, the real docks taking the
    stand-ins' places, sizes, tabs and visibility. Without stand-ins (the synchronous start) it only
    runs ``build``."""
    stand_ins = [d for d in window.findChildren(StandInDock) if d.objectName() in names]
    if not stand_ins:
        build()
        return
    state: QByteArray = window.saveState()
    for dock in stand_ins:
        window.removeDockWidget(dock)
        dock.setObjectName("")
        dock.deleteLater()
    build()
    window.restoreState(state)


def has_saved_layout() -> bool:
    """Whether the person's own dock sizes are remembered (then the window does not re-proportion them)."""
    from gpuplanner.gui.recent import app_settings

    return isinstance(app_settings().value("window/state"), QByteArray)


def restore_frame_layout(window: QMainWindow) -> None:
    """The remembered window geometry and dock layout, applied to the first frame (``files.restore_geometry``
    applies them, with the live panel's chart sizes, to a window built in full)."""
    from gpuplanner.gui.recent import app_settings

    settings = app_settings()
    geometry, state = settings.value("window/geometry"), settings.value("window/state")
    if isinstance(geometry, QByteArray):
        window.restoreGeometry(geometry)
    if isinstance(state, QByteArray):
        window.restoreState(state)


class _AfterPaint(QObject):
    """Calls ``then`` one event-loop turn after ``watched`` is next painted (or after
    PAINT_FALLBACK_MS when it is not): what was drawn reaches the screen before the next work starts."""

    def __init__(self, watched: QWidget, then: Callable[[], object]) -> None:
        super().__init__(watched.window())  # the watched widget may be deleted by what ``then`` builds
        self.then = then
        self.done = False
        watched.installEventFilter(self)
        self.fallback = QTimer(self)
        self.fallback.setSingleShot(True)
        self.fallback.timeout.connect(self.fire)
        if watched.isVisible():
            self.fallback.start(PAINT_FALLBACK_MS)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.done:
            QTimer.singleShot(0, self, self.fire)  # after this paint is flushed to the screen
        elif event.type() == QEvent.Type.Show and not self.done:
            self.fallback.start(PAINT_FALLBACK_MS)
        return False

    def fire(self) -> None:
        if self.done:
            return
        self.done = True
        self.fallback.stop()
        self.deleteLater()
        self.then()


def after_paint(watched: QWidget, then: Callable[[], object]) -> None:
    """Run ``then`` once ``watched`` has been painted (its first frame, or what just changed in it)."""
    _AfterPaint(watched, then)


def cannot_start(window: QWidget, message: str) -> None:
    """The window cannot be built (a broken catalog): say why, close it, and end the application with
    exit code 1."""
    import gc

    from PySide6.QtWidgets import QApplication, QMessageBox

    gc.enable()  # off while the window was being built (``gui.app.run``)
    QMessageBox.critical(window, "gpuplanner cannot start", message)
    window.close()
    QApplication.exit(1)
