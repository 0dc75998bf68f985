"""How fast the live panel follows an edit on a 64-GPU plan (Llama 3.1 70B, TP 8 × PP 8, 8 HGX H100).

Prints, as medians over repeated runs:
- evaluate(plan): the shared fit-and-performance model;
- panel update: every chart, the verdict and the link glows following one report;
- edit → panel: a boundary move pushed on the undo stack until the panel has drawn the new report,
  through the window's debounce (printed apart, as the part spent waiting for more edits), once for
  an edit that leaves the verdict's rows as they are and once for one that adds and removes rows;
- drag preview: one frame of a layer-map drag (evaluate the dragged layout + redraw), and how many
  evaluations a burst of 40 mouse moves costs.

Run: ``QT_QPA_PLATFORM=offscreen python -m benchmarks.panel_speed``
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1e3:7.2f} ms (min {min(samples) * 1e3:.2f}, max {max(samples) * 1e3:.2f})"


def main(runs: int = 30) -> int:
    folder = tempfile.mkdtemp(prefix="gpuplanner-bench-")
    os.environ["GPUPLANNER_USER_DIR"] = folder  # keep settings and autosave out of the real home
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.document.planfile import save_plan
    from gpuplanner.gui import create_main_window
    from gpuplanner.gui.evaluation import DEBOUNCE_MS
    from gpuplanner.gui.panel import panel_commands as pc
    from gpuplanner.gui.panel.samples import big_plan

    app = QApplication.instance() or QApplication(sys.argv[:1])
    plan = big_plan()
    path = os.path.join(folder, "big.gpuplan")
    save_plan(plan, path)
    window = create_main_window(path)
    window.resize(1440, 900)
    window.show()
    app.processEvents()
    window.evaluate_now()
    panel = window.panel
    report = window.latest_report
    assert report is not None and len(report.gpus) == 64, "the benchmark plan must evaluate"

    evaluations = []
    for _ in range(runs):
        t = time.perf_counter()
        evaluate(window.document.plan, window.catalog)
        evaluations.append(time.perf_counter() - t)

    updates = []
    for _ in range(runs):
        t = time.perf_counter()
        panel.controller._on_report(report)
        app.processEvents()
        updates.append(time.perf_counter() - t)

    loop = QEventLoop()
    guard = QTimer()  # never hang the benchmark
    guard.setSingleShot(True)
    guard.timeout.connect(loop.quit)
    marks: dict[str, float] = {}
    panel.updated.connect(
        lambda seconds: (marks.update(panel=time.perf_counter(), charts=seconds), loop.quit())
    )
    phases: dict[str, list[float]] = {
        "push (document, canvas)": [],
        "debounce + window": [],
        "evaluate": [],
        "panel charts": [],
        "paint (whole window)": [],
    }

    def timed_edits(build) -> list[float]:
        out = []
        for i in range(runs):
            marks.clear()
            t = time.perf_counter()
            window.push(lambda i=i: build(i))
            pushed = time.perf_counter()
            guard.start(2000)
            loop.exec()
            guard.stop()
            app.processEvents()  # the repaint
            done = time.perf_counter()
            out.append(done - t)
            charts, evaluated = marks.get("charts", 0.0), window.evaluator.last_seconds
            phases["push (document, canvas)"].append(pushed - t)
            phases["debounce + window"].append(marks.get("panel", done) - pushed - charts - evaluated)
            phases["evaluate"].append(evaluated)
            phases["panel charts"].append(charts)
            phases["paint (whole window)"].append(done - marks.get("panel", done))
        return out

    doc = window.document
    # a boundary between two middle stages: the verdict keeps its rows
    edits = timed_edits(lambda i: pc.boundary_command(doc, 0, 3, 41 if i % 2 == 0 else 40))
    # the first boundary: 56 GPUs start or stop stranding memory, the verdict grows and shrinks
    banner_edits = timed_edits(lambda i: pc.boundary_command(doc, 0, 0, 11 if i % 2 == 0 else 10))

    controller = panel.controller
    frames = []
    for i in range(runs):
        before = controller.preview_evaluations
        t = time.perf_counter()
        controller.preview_boundary(0, 0, 8 + i % 4)
        controller._frame.stop()
        controller._preview_now()
        app.processEvents()
        frames.append(time.perf_counter() - t)
        assert controller.preview_evaluations == before + 1
    before = controller.preview_evaluations
    for k in range(40):
        controller.preview_boundary(0, 0, 3 + k % 6)  # a burst of mouse moves within one frame
    deadline = time.perf_counter() + 0.1
    while time.perf_counter() < deadline:
        app.processEvents()
    burst = controller.preview_evaluations - before
    controller.cancel_preview()

    print(f"plan: {plan.name}, {len(report.gpus)} GPUs, {len(report.problems)} problems, {runs} runs")
    print(f"evaluate(plan)              {median_ms(evaluations)}")
    print(f"panel update (charts+glows) {median_ms(updates)}")
    print(
        f"edit -> panel drawn         {median_ms(edits)}  (includes the window's {DEBOUNCE_MS} ms debounce)"
    )
    print(f"  of which after debounce   {median_ms([e - DEBOUNCE_MS / 1e3 for e in edits])}")
    for name, samples in phases.items():
        print(f"  {name:<26}{median_ms(samples[:runs])}")
    print(f"edit that reflows verdict   {median_ms(banner_edits)}  (debounce included)")
    print(f"drag preview, one frame     {median_ms(frames)}")
    print(
        f"40 moves in 100 ms of drag  {burst} evaluations (at most one per {controller._frame.interval()} ms frame)"
    )
    window.undo_stack.setClean()  # no "save changes?" question on the way out
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
