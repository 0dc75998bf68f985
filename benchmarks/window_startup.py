"""How soon the window is on screen, how soon it shows the evaluated plan, and how fast an edit shows.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.window_startup [--runs N]

Start-up, each run a fresh interpreter started from here (the clock runs from just before the process
is launched, so the interpreter's own start and every import count), the real entry path
(``gpuplanner.__main__.main([])``: the sample plan, a user folder empty but for the validated-catalog
cache that an uncounted first run wrote, as on every start after the first; modules loaded from their
bytecode caches, as installed, after that uncounted run of each) interleaved with a bare PySide6 +
pyqtgraph window (one plot in a QMainWindow, 1440×900):

- **first frame**: the window exposed and painted (title, menus, toolbar, docks: ``gui.startup``'s
  first frame), against the bare window painted;
- **fully populated**: the plan loaded and evaluated, the canvas and the charts drawn and painted,
  against the same bare window.

Both children watch their window the same way: an event filter on the window and its QWindow, and a
zero-delay timer after each expose (on its QWindow) or update request (on the widget) it sees, so the time is taken once that paint is
done; each also reports its own CPU time by then (steadier than the wall clock on a shared machine).
Then an edit on a 64-GPU plan (Llama 3.1 70B, TP 8 × PP 8 on eight HGX H100 servers), in this
process: one edit pushed on the undo stack after a quiet moment (evaluated at once by the window's
own evaluator), then a synchronous repaint of the whole window; the concurrency changed, and a GPU
dropped into a new server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PROBE = """
import json, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

class Probe(QObject):
    # times (wall clock) at which the watched window had painted its first frame and its full contents
    def __init__(self, populated):
        super().__init__()
        self.populated, self.window, self.marks = populated, None, {}

    def watch(self, window):
        self.window = window
        window.installEventFilter(self)

    def eventFilter(self, obj, event):
        kind = event.type()
        if obj is self.window and kind == QEvent.Type.Show and obj.windowHandle() is not None:
            obj.windowHandle().installEventFilter(self)
        elif kind == QEvent.Type.Expose or (obj is self.window and kind == QEvent.Type.UpdateRequest):
            # the window's QWindow exposed, or the widget told to paint what changed
            QTimer.singleShot(0, self.painted)  # runs once this paint is done
        return False

    def painted(self):
        now, cpu = time.time(), time.process_time()
        if "first_frame" not in self.marks:
            self.marks.update(first_frame=now, first_frame_cpu=cpu)
        if "populated" not in self.marks and self.populated(self.window):
            self.marks.update(populated=now, populated_cpu=cpu)
            print(json.dumps(self.marks), flush=True)
            QTimer.singleShot(0, QApplication.quit)
"""

OURS = (
    PROBE
    + """
probe = Probe(lambda w: getattr(w, "built", True) and w.latest_report is not None)
import gpuplanner.gui.main_window as main_window
create = main_window.create_main_window

def watched(*args, **kwargs):
    window = create(*args, **kwargs)
    probe.watch(window)
    return window

main_window.create_main_window = watched
from gpuplanner.__main__ import main
main([])
"""
)

BARE = (
    PROBE
    + """
probe = Probe(lambda w: True)
from PySide6.QtWidgets import QMainWindow
import pyqtgraph as pg
app = QApplication(sys.argv[:1])
w = QMainWindow()
w.setCentralWidget(pg.PlotWidget())
w.resize(1440, 900)
probe.watch(w)
w.show()
app.exec()
"""
)


def child(script: str, user_dir: str) -> dict[str, float]:
    """Seconds from just before launching ``script`` in a fresh interpreter to each mark it prints."""
    env = dict(os.environ, GPUPLANNER_USER_DIR=user_dir, QT_QPA_PLATFORM="offscreen")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: modules load from their cached bytecode
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True, env=env, timeout=120
    )
    marks = json.loads(done.stdout.strip().splitlines()[-1])
    # wall-clock marks from the launch; "_cpu" marks: the child's own CPU seconds by then
    return {name: at if name.endswith("_cpu") else at - started for name, at in marks.items()}


def start_up(runs: int) -> None:
    ours: dict[str, list[float]] = {}
    bare: dict[str, list[float]] = {}
    warm = tempfile.mkdtemp(prefix="gpuplanner-startup-")
    child(OURS, warm)  # not counted: writes the bytecode caches and the validated-catalog cache
    child(BARE, warm)
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="gpuplanner-startup-") as user_dir:
            # a user folder empty but for the catalog cache, as on every start after the first
            shutil.copytree(Path(warm) / "cache", Path(user_dir) / "cache")
            for script, out in ((OURS, ours), (BARE, bare)):
                for name, seconds in child(script, user_dir).items():
                    out.setdefault(name, []).append(seconds)
    shutil.rmtree(warm, ignore_errors=True)

    def figures(samples: list[float]) -> str:
        return f"{statistics.median(samples):.2f} s (min {min(samples):.2f}, max {max(samples):.2f})"

    print(f"start-up, process start to painted window, median of {runs} runs each, interleaved:")
    print(f"  {'':<40} {'wall clock':<30} {'CPU time of the process'}")
    print(f"  {'bare PySide6 + pyqtgraph window':<40} {figures(bare['first_frame']):<30} {figures(bare['first_frame_cpu'])}")
    for name, title in (("first_frame", "gpuplanner, first frame"), ("populated", "gpuplanner, fully populated")):
        print(f"  {title:<40} {figures(ours[name]):<30} {figures(ours[name + '_cpu'])}")
    for name, title in (("first_frame", "first frame"), ("populated", "fully populated (evaluated, charts)")):
        wall = statistics.median(ours[name]) / statistics.median(bare["first_frame"])
        cpu = statistics.median(ours[name + "_cpu"]) / statistics.median(bare["first_frame_cpu"])
        print(f"  {title:<40} {wall:.2f}× the bare window (CPU time: {cpu:.2f}×)")


def edit_to_painted(runs: int) -> None:
    """An edit on the 64-GPU plan until the window has repainted it, through the window's own
    evaluation (after a quiet moment: evaluated inside the edit)."""
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from gpuplanner.document.planfile import save_plan
    from gpuplanner.gui import commands as cmd
    from gpuplanner.gui import create_main_window
    from gpuplanner.gui.app import settle_garbage_collector
    from gpuplanner.gui.evaluation import DEBOUNCE_MS
    from gpuplanner.gui.panel.samples import big_plan

    app = QApplication.instance() or QApplication(sys.argv[:1])
    folder = tempfile.mkdtemp(prefix="gpuplanner-bench-")
    os.environ["GPUPLANNER_USER_DIR"] = folder  # no settings, no autosave offer
    path = os.path.join(folder, "big.gpuplan")
    save_plan(big_plan(), path)
    window = create_main_window(path)
    window.resize(1440, 900)
    window.show()
    app.processEvents()
    report = window.evaluate_now()
    assert report is not None and len(report.gpus) == 64, "the benchmark plan must evaluate"
    settle_garbage_collector()  # as gpuplanner.gui.app.run does once the window is up
    doc = window.document

    def timed(build, undo_after: bool) -> list[float]:
        times = []
        for i in range(runs):
            pause = QEventLoop()
            QTimer.singleShot(3 * DEBOUNCE_MS, pause.quit)  # a quiet moment: the edit evaluates at once
            pause.exec()
            before = window.evaluator.evaluations
            t = time.perf_counter()
            window.push(lambda i=i: build(i))
            window.repaint()  # synchronous: every widget of the window painted
            times.append(time.perf_counter() - t)
            assert window.evaluator.evaluations == before + 1, "the edit must be evaluated"
            if undo_after:
                window.undo_stack.undo()
                window.evaluate_now()
                app.processEvents()
        return times

    concurrency = timed(lambda i: cmd.set_workload_field_command(doc, "concurrency", 96 + 32 * (i % 2)), False)
    drop = timed(lambda i: cmd.add_gpu_in_new_node_command(doc, "h100-sxm", 0, 2400), True)
    print(f"edit -> evaluated -> window repainted, 64-GPU plan ({len(report.gpus)} GPUs, {runs} edits each):")
    for name, samples in (("concurrency 96 <-> 128", concurrency), ("drop a GPU into a new server", drop)):
        print(
            f"  {name:<30} median {statistics.median(samples) * 1e3:6.1f} ms "
            f"(min {min(samples) * 1e3:.1f}, max {max(samples) * 1e3:.1f})"
        )
    window.undo_stack.setClean()
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each start-up (default 5)")
    parser.add_argument("--edits", type=int, default=15, help="edits of each kind (default 15)")
    args = parser.parse_args()
    start_up(args.runs)
    edit_to_painted(args.edits)


if __name__ == "__main__":
    main()
