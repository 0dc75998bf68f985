"""``gpuplanner --selftest``: prove an installed or packaged app works, end to end, without a screen.

It finds the data folders, loads the built-in sample plan, opens the main window on it offscreen,
evaluates the plan, exports a PDF to a temporary folder and checks the file. One line per step; exit status 0
when every step passed, 1 with a message naming the failed step otherwise. It never touches the user's
own settings, recent files or autosave: the run gets a throw-away user folder.

Set ``GPUPLANNER_SELFTEST_TRACEBACK=1`` to see the Python traceback of a failure, and
``GPUPLANNER_SELFTEST_SCREENSHOT=window.png`` to keep a picture of the window it opened.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

SAMPLE_PLAN = "dgx-h100-llama-3.1-70b-tp8.gpuplan"
WINDOW_OBJECT_NAME = "mainWindow"
SETTLE_MS = 300  # let the window's debounced first evaluation and layout run before checking it


class SelftestError(Exception):
    """A step failed in a way we can explain; the message says what and what to do."""


@dataclass
class _Context:
    work_dir: Path
    plan_path: Path | None = None
    plan: Any = None
    report: Any = None
    app: Any = None
    facts: dict[str, str] = field(default_factory=dict)


def _seconds_since_process_start() -> float | None:
    """Wall time since this process started (Linux only, 10 ms resolution); None elsewhere."""
    try:
        stat = Path("/proc/self/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        # field 22 (starttime, in clock ticks since boot); split after the ')' ending the command name
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _step_environment(ctx: _Context) -> str:
    import gpuplanner

    frozen = "packaged app" if getattr(sys, "frozen", False) else "Python package"
    return (
        f"gpuplanner {gpuplanner.__version__} ({frozen}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM', '')}"
    )


def _step_data_folders(ctx: _Context) -> str:
    from gpuplanner import paths

    try:
        catalogs = paths.catalogs_dir()
        resources = paths.resources_dir()
    except FileNotFoundError as exc:
        raise SelftestError(str(exc)) from None
    if ctx.plan_path is None:
        ctx.plan_path = paths.examples_dir() / SAMPLE_PLAN
    if not ctx.plan_path.is_file():
        raise SelftestError(f"the sample plan {ctx.plan_path} is missing; the installation is incomplete")
    fonts = sorted(p.name for p in (resources / "fonts").glob("*.ttf"))
    return f"catalogs {catalogs}, resources {resources}, {len(fonts)} bundled fonts"


def _step_load_plan(ctx: _Context) -> str:
    from gpuplanner.document.planfile import load_plan

    ctx.plan = load_plan(ctx.plan_path)
    return f"{ctx.plan_path.name}: {ctx.plan.name!r}, model {ctx.plan.model}"


def _step_evaluate(ctx: _Context) -> str:
    from gpuplanner.core.evaluate import evaluate

    ctx.report = evaluate(ctx.plan)
    report = ctx.report
    speed = ""
    if report.performance is not None:
        perf = report.performance
        speed = f", {perf.output_tokens_per_s:,.0f} output tokens/s, TPOT {perf.tpot_s * 1000:.1f} ms"
    return f"{len(report.gpus)} GPUs, fits={report.fits}{speed}: {report.verdict}"


def _step_start_qt(ctx: _Context) -> str:
    from PySide6.QtWidgets import QApplication

    from gpuplanner.gui.about import prepare_application

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "gpuplanner"])
        families = prepare_application(app)
    else:  # in-process (tests): the host application already has its identity; only make sure of fonts
        from gpuplanner.drawing.fonts import register_bundled_fonts

        families = register_bundled_fonts()
    ctx.app = app
    from PySide6.QtGui import QFontDatabase, QFontInfo, QGuiApplication

    ui_font = QFontInfo(QGuiApplication.font()).family()
    return (
        f"platform {QGuiApplication.platformName()}, {len(QFontDatabase.families())} font families "
        f"(bundled: {', '.join(families) or 'none'}), UI font {ui_font}"
    )


def _settle(ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


class _ModalGuard:
    """Closes any modal dialog the window opens (nobody is there to click it) and remembers it.

    Without it a message box raised while the window loads, or a "save changes?" on close, would
    block the self-test forever on a machine without a screen.
    """

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.seen: list[str] = []
        self._timer = QTimer()
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._close_modal)

    def _close_modal(self) -> None:
        from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

        widget = QApplication.activeModalWidget()
        if widget is None:
            return
        text = widget.text() if isinstance(widget, QMessageBox) else ""
        self.seen.append(f"{widget.windowTitle()!r}{': ' + text if text else ''}")
        if isinstance(widget, QDialog):
            widget.reject()
        else:
            widget.close()

    def __enter__(self) -> _ModalGuard:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.stop()


def _step_main_window(ctx: _Context) -> str:
    from gpuplanner.app import create_main_window

    with _ModalGuard() as guard:
        window = create_main_window(str(ctx.plan_path))
        try:
            window.show()
            shown_after = _seconds_since_process_start()
            _settle(SETTLE_MS)
            if not window.isVisible():
                raise SelftestError("the main window did not become visible")
            if window.objectName() != WINDOW_OBJECT_NAME:
                raise SelftestError(
                    f"the main window's objectName is {window.objectName()!r}, not {WINDOW_OBJECT_NAME!r}"
                )
            size = window.size()
            picture = window.grab()
            if picture.isNull():
                raise SelftestError("the main window could not be drawn")
            screenshot = os.environ.get("GPUPLANNER_SELFTEST_SCREENSHOT")
            if screenshot and not picture.save(screenshot):
                raise SelftestError(f"could not save the window's picture to {screenshot}")
            title = window.windowTitle()
        finally:
            window.close()
            window.deleteLater()
            _settle(0)
    if guard.seen:
        raise SelftestError(f"the window opened a dialog nobody could answer: {'; '.join(guard.seen)}")
    when = f", shown {shown_after:.2f} s after process start" if shown_after is not None else ""
    return f"{title!r}, {size.width()}x{size.height()}{when}"


def _step_export_pdf(ctx: _Context) -> str:
    from gpuplanner.export.pdf import export_plan_pdf

    target = ctx.work_dir / "selftest.pdf"
    written = Path(export_plan_pdf(ctx.plan, target))
    if not written.is_file():
        raise SelftestError(f"the PDF export reported {written} but wrote no file")
    data = written.read_bytes()
    if not data.startswith(b"%PDF"):
        raise SelftestError(f"{written} is not a PDF (starts with {data[:8]!r})")
    if len(data) < 1024:
        raise SelftestError(f"{written} is only {len(data)} bytes; the export drew nothing")
    return f"{written.name}, {len(data) / 1024:.0f} KiB"


STEPS: tuple[tuple[str, Callable[[_Context], str]], ...] = (
    ("environment", _step_environment),
    ("data folders", _step_data_folders),
    ("load sample plan", _step_load_plan),
    ("start Qt", _step_start_qt),
    ("main window", _step_main_window),  # before evaluate: its "shown after" is the real time to a window
    ("evaluate", _step_evaluate),
    ("PDF export", _step_export_pdf),
)


def _explain(exc: BaseException) -> str:
    if isinstance(exc, SelftestError):
        return str(exc)
    if isinstance(exc, ImportError):
        detail = str(exc).strip()
        if len(detail) > 600:  # numpy's import error is a page of advice; its last line is the cause
            detail = detail.splitlines()[-1] if detail.splitlines() else detail[-600:]
        return f"a part of gpuplanner or a library it needs cannot be loaded ({type(exc).__name__}: {detail}); reinstall the app"
    return f"{type(exc).__name__}: {exc}"


@contextmanager
def _isolated_environment(work_dir: Path):
    """Offscreen Qt unless the caller chose a platform, and a throw-away user folder."""
    saved = {name: os.environ.get(name) for name in ("QT_QPA_PLATFORM", "GPUPLANNER_USER_DIR")}
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["GPUPLANNER_USER_DIR"] = str(work_dir / "user")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_selftest(*, plan_path: str | os.PathLike[str] | None = None, stream: TextIO | None = None) -> int:
    """Run every step, print one line each to ``stream`` (stdout); 0 when all passed, 1 otherwise.

    ``plan_path`` replaces the built-in sample plan.
    """
    out = stream if stream is not None else sys.stdout
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpuplanner-selftest-") as tmp:
        ctx = _Context(work_dir=Path(tmp), plan_path=Path(plan_path) if plan_path else None)
        with _isolated_environment(ctx.work_dir):
            for number, (name, step) in enumerate(STEPS, start=1):
                step_started = time.perf_counter()
                try:
                    detail = step(ctx)
                except Exception as exc:
                    print(f"FAIL [{number}/{len(STEPS)}] {name}: {_explain(exc)}", file=out, flush=True)
                    if os.environ.get("GPUPLANNER_SELFTEST_TRACEBACK"):
                        traceback.print_exc(file=out)
                    print("selftest FAILED", file=out, flush=True)
                    return 1
                elapsed = time.perf_counter() - step_started
                print(
                    f"ok   [{number}/{len(STEPS)}] {name} ({elapsed:.2f} s): {detail}", file=out, flush=True
                )
    print(
        f"selftest passed: {len(STEPS)} steps in {time.perf_counter() - started:.2f} s", file=out, flush=True
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run_selftest())
