"""Show one chart of the panel alone with a sample plan: ``python -m gpuplanner.gui.panel.memory``.

Arguments: an optional sample name (``hgx``, ``mixed``, ``over``, ``big``) and ``--screenshot PATH``
to save a picture and quit instead of opening a window (works with ``QT_QPA_PLATFORM=offscreen``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from PySide6.QtWidgets import QApplication, QWidget

from gpuplanner.core.errors import PlannerError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.report import Report
from gpuplanner.gui.panel.samples import SAMPLES, sample_plan


def sample_report(name: str) -> Report:
    return evaluate(sample_plan(name))


def show_alone(
    factory: Callable[[], QWidget], argv: list[str] | None = None, size: tuple[int, int] = (720, 360)
) -> int:
    """Build the widget, give it the sample plan's report, then show it or save a screenshot."""
    parser = argparse.ArgumentParser(description="Show one panel chart with a sample plan.")
    parser.add_argument("sample", nargs="?", default="hgx", choices=sorted(SAMPLES))
    parser.add_argument("--screenshot", metavar="PNG", help="save a picture and quit")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    widget = factory()
    plan = sample_plan(args.sample)
    try:
        report = evaluate(plan)
    except PlannerError as exc:
        print(f"cannot evaluate the sample plan: {exc}", file=sys.stderr)
        return 1
    if hasattr(widget, "set_plan"):
        widget.set_plan(plan)
    if hasattr(widget, "set_report"):
        widget.set_report(report)
    widget.resize(*size)
    widget.setWindowTitle(f"{type(widget).__name__}: {plan.name}")
    widget.show()
    if args.screenshot:
        app.processEvents()
        widget.grab().save(args.screenshot)
        print(args.screenshot)
        return 0
    return app.exec()
