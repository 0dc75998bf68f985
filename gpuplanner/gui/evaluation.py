"""Evaluator: the one place the window evaluates its plan: at once after a pause, debounced in a burst.

An edit that follows a quiet moment is evaluated at once, inside the edit: the canvas and the panel
then show it in the same repaint, with no added wait and no frame where they disagree. Edits that
arrive in a burst (a drag, a spin box held down, undo held) restart a short timer instead, and the
shared model runs once more when they pause. The result goes out as ``report_changed(Report)`` or,
when the plan cannot be evaluated, ``failed(message)``: a sentence for the status bar, never a
traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from gpuplanner.core.catalog import Catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.plan import Plan
from gpuplanner.core.report import Report
from gpuplanner.crash import write_crash_report

log = logging.getLogger(__name__)
DEBOUNCE_MS = 30
EMPTY_RIG = "The rig is empty: drag a GPU or a server from the catalog onto the canvas."


class Evaluator(QObject):
    report_changed = Signal(object)  # Report
    failed = Signal(str)

    def __init__(
        self, catalog: Catalog, parent: QObject | None = None, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.clock = clock  # seconds; what "a quiet moment" is measured with (tests drive their own)
        self.report: Report | None = None
        self.error: str | None = None
        self.last_seconds = 0.0
        self.evaluations = 0  # successful evaluations so far (tests and benchmarks count them)
        self._last_run_end = -1e9
        self._plan: Plan | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.run_now)

    def schedule(self, plan: Plan) -> None:
        """Evaluate ``plan``: now when nothing was evaluated in the last DEBOUNCE_MS, else once edits
        pause for DEBOUNCE_MS."""
        self._plan = plan
        quiet = self.clock() - self._last_run_end >= DEBOUNCE_MS / 1e3
        if quiet and not self._timer.isActive():
            self.run_now()
        else:
            self._timer.start(DEBOUNCE_MS)

    def defer(self, plan: Plan) -> None:
        """Evaluate ``plan`` just after the event loop starts: a window not shown yet paints first
        (frame, canvas, empty charts), and its first report follows a debounce interval later."""
        self._plan = plan
        self._timer.start(DEBOUNCE_MS)

    def pending(self) -> bool:
        return self._timer.isActive()

    def run_now(self) -> None:
        self._timer.stop()
        plan = self._plan
        if plan is None:
            return
        if not plan.rig.gpu_ids():
            self._fail(EMPTY_RIG)
            return
        started = time.perf_counter()
        try:
            report = evaluate(plan, self.catalog)
        except PlannerError as exc:
            self._fail(exc.message + (f" — {exc.fix}" if exc.fix else ""))
            return
        except Exception as exc:  # a bug in the model must not take the window down
            log.exception("evaluate() failed")
            crash = write_crash_report(exc, context=["evaluating the window's plan"])
            where = f" Details are in {crash}; please report it." if crash else ""
            self._fail(f"The model could not evaluate this plan ({type(exc).__name__}: {exc}).{where}")
            return
        self.last_seconds = time.perf_counter() - started
        self.report, self.error = report, None
        self.evaluations += 1
        self.report_changed.emit(report)
        self._last_run_end = self.clock()

    def _fail(self, message: str) -> None:
        self.report, self.error = None, message
        self.failed.emit(message)
        self._last_run_end = self.clock()
