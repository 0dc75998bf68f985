"""How long the window takes to open on the sample plan, and how long an edit takes to show.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.window_startup

Prints: the whole process to a shown window (a fresh interpreter, imports included), the window
construction alone, the first evaluation, and an edit (drop a GPU) through to the canvas update.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CHILD = """
import time, sys
t0 = time.perf_counter()
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from gpuplanner.gui import create_main_window
w = create_main_window(None)
w.show()
app.processEvents()
w.evaluate_now()
print(time.perf_counter() - t0)
w.undo_stack.setClean()
"""


BARE = """
import time, sys
t0 = time.perf_counter()
from PySide6.QtWidgets import QApplication, QMainWindow
import pyqtgraph as pg
app = QApplication(sys.argv[:1])
w = QMainWindow()
w.setCentralWidget(pg.PlotWidget())
w.resize(1440, 900)
w.show()
app.processEvents()
print(time.perf_counter() - t0)
"""

SHOWN = """
import time, sys
t0 = time.perf_counter()
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from gpuplanner.gui import create_main_window
w = create_main_window(None)
w.show()
app.processEvents()
print(time.perf_counter() - t0)
w.undo_stack.setClean()
"""


def against_bare_window(runs: int = 5) -> tuple[list[float], list[float]]:
    """Start-up to a shown window against a bare PySide6 + pyqtgraph window (one plot in a main
    window), each a fresh interpreter, runs interleaved so a busy machine slows both alike. The
    seconds each child reports from its first line to its shown window."""
    ours, bare = [], []
    for _ in range(runs):
        for script, out in ((SHOWN, ours), (BARE, bare)):
            done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
            out.append(float(done.stdout.strip().splitlines()[-1]))
    return ours, bare


def process_to_window(runs: int = 5) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", CHILD], check=True, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
    return times


def in_process(runs: int = 5) -> None:
    from PySide6.QtWidgets import QApplication

    from gpuplanner.gui import commands as cmd
    from gpuplanner.gui import create_main_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    build, first_eval, edit = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        window = create_main_window(None)
        window.show()
        app.processEvents()
        t1 = time.perf_counter()
        window.evaluate_now()
        t2 = time.perf_counter()
        window.push(lambda w=window: cmd.add_gpu_in_new_node_command(w.document, "h100-sxm", 0, 900))
        window.evaluate_now()
        app.processEvents()
        t3 = time.perf_counter()
        build.append(t1 - t0)
        first_eval.append(t2 - t1)
        edit.append(t3 - t2)
        window.undo_stack.setClean()
        window.close()
        window.deleteLater()
        app.processEvents()
    print(f"window construction + show : median {statistics.median(build) * 1000:7.1f} ms")
    print(f"first evaluation           : median {statistics.median(first_eval) * 1000:7.1f} ms")
    print(f"edit -> evaluation -> canvas: median {statistics.median(edit) * 1000:7.1f} ms")


def main() -> None:
    wall = process_to_window()
    print(
        f"process start to shown, evaluated window: median {statistics.median(wall):.2f} s "
        f"(min {min(wall):.2f}, max {max(wall):.2f}, {len(wall)} runs)"
    )
    ours, bare = against_bare_window()
    print(
        f"shown window vs bare PySide6 + pyqtgraph window: median {statistics.median(ours):.2f} s vs "
        f"{statistics.median(bare):.2f} s ({statistics.median(ours) / statistics.median(bare):.2f}×, "
        f"{len(ours)} runs each, interleaved)"
    )
    in_process()


if __name__ == "__main__":
    main()
