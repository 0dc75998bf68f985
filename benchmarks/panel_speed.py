"""How fast the live panel follows an edit on a 64-GPU plan (Llama 3.1 70B, TP 8 × PP 8, 8 HGX H100).

Prints, as medians over repeated runs:
- evaluate(plan): the shared fit-and-performance model;
- panel update: every chart, the verdict and the link glows following one report;
- edit → panel: a boundary move pushed on the undo stack until the window has painted the new report,
  split into: the edit itself up to the evaluation's start (document, canvas); the wait (none after a
  quiet moment, when the edit evaluates at once; the debounce after a burst of edits); from that
  trigger to every chart holding the new report (evaluate, charts, the canvas's cards and status
  line), the issue's 16 ms budget; and Qt painting the changed areas of the window afterwards. For a
  single edit, for a burst of three, and for an edit that empties and refills the problem list;
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


FRAME_S = 0.016  # one frame at 60 Hz: the budget from the debounce to the panel updated


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
    from gpuplanner.gui.app import settle_garbage_collector
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
    settle_garbage_collector()  # as gpuplanner.gui.app.run does once the window is up
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
        window.panel_controller.show_report(report)
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
    evaluator = window.evaluator
    run_now = evaluator.run_now

    def timed_run_now() -> None:  # the evaluation starts: inside the edit, or when the debounce fires
        marks["fired"] = time.perf_counter()
        run_now()

    evaluator.run_now = timed_run_now  # type: ignore[method-assign]
    evaluator._timer.timeout.disconnect()
    evaluator._timer.timeout.connect(timed_run_now)

    def timed_edits(build, burst: bool) -> dict[str, list[float]]:
        """Each run: a quiet moment, then one edit (``burst``: three in a row, so the evaluation waits
        for the debounce), timed until the window has painted the new report."""
        phases: dict[str, list[float]] = {
            "edit -> panel drawn": [],
            "  push (document, canvas)": [],
            "  wait (debounce; none after a pause)": [],
            "  TRIGGER -> PANEL UPDATED": [],
            "    evaluate": [],
            "    panel charts": [],
            "    canvas cards, status": [],
            "  rest of the edit, paint (window)": [],
        }
        for i in range(runs):
            pause = QEventLoop()
            QTimer.singleShot(2 * DEBOUNCE_MS, pause.quit)
            pause.exec()
            marks.clear()
            t = time.perf_counter()
            for k in range(3 if burst else 1):
                window.push(lambda i=i, k=k: build(i, k))
            pushed = time.perf_counter()
            if window.evaluator.pending():  # a burst: the last edit's evaluation waits for the debounce
                marks.clear()
                guard.start(2000)
                loop.exec()
                guard.stop()
            app.processEvents()  # the repaint
            done = time.perf_counter()
            charts, evaluated = marks.get("charts", 0.0), window.evaluator.last_seconds
            fired, drawn = marks.get("fired", pushed), marks.get("panel", done)
            phases["edit -> panel drawn"].append(done - t)
            phases["  push (document, canvas)"].append(fired - t if fired < pushed else pushed - t)
            phases["  wait (debounce; none after a pause)"].append(max(0.0, fired - pushed))
            phases["  TRIGGER -> PANEL UPDATED"].append(drawn - fired)
            phases["    evaluate"].append(evaluated)
            phases["    panel charts"].append(charts)
            phases["    canvas cards, status"].append(drawn - fired - evaluated - charts)
            phases["  rest of the edit, paint (window)"].append(done - drawn)
        return phases

    doc = window.document
    # a boundary between two middle stages, back and forth; then the first boundary, which empties
    # and refills the verdict's list of problems (56 GPUs start or stop stranding memory)
    middle = lambda i, k: pc.boundary_command(doc, 0, 3, 41 if i % 2 == 0 else 40)  # noqa: E731
    # a burst walks the boundary 39, 40, 41 and back: each edit a real change, each burst ending
    # somewhere its first edit did not
    walk = lambda i, k: pc.boundary_command(doc, 0, 3, 39 + k if i % 2 == 0 else 41 - k)  # noqa: E731
    first = lambda i, k: pc.boundary_command(doc, 0, 0, 11 if i % 2 == 0 else 10)  # noqa: E731
    single = timed_edits(middle, burst=False)
    bursts = timed_edits(walk, burst=True)
    reflow = timed_edits(first, burst=False)

    controller = window.panel_controller
    frames = []
    for i in range(runs):
        before = controller.preview_evaluations
        t = time.perf_counter()
        controller.preview_boundary(0, 0, 8 + i % 4)
        controller.frame.stop()
        controller.preview_now()
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
    print(f"evaluate(plan)                    {median_ms(evaluations)}")
    print(f"panel update (charts+glows)       {median_ms(updates)}")

    def show(title: str, phases: dict[str, list[float]]) -> None:
        print(title)
        for name, samples in phases.items():
            print(f"  {name:<32}{median_ms(samples)}")
        trigger = phases["  TRIGGER -> PANEL UPDATED"]
        within = sum(x <= FRAME_S for x in trigger)
        print(
            f"  panel updated within {FRAME_S * 1e3:.0f} ms of its trigger in {within} of {len(trigger)} edits"
        )

    show("one edit after a pause (evaluated within the edit):", single)
    show(f"three edits in a row (evaluated once, {DEBOUNCE_MS} ms after the last: the debounce):", bursts)
    show("one edit that empties or refills the verdict's problem list:", reflow)
    print(f"drag preview, one frame     {median_ms(frames)}")
    print(
        f"40 moves in 100 ms of drag  {burst} evaluations (at most one per {controller.frame.interval()} ms frame)"
    )
    window.undo_stack.setClean()  # no "save changes?" question on the way out
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
