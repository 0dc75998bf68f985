"""How the window copes with cluster-sized plans: 1,024 and 4,096 GPUs (Llama 3.1 405B, TP 8 × PP 2,
replicas across HGX H100 servers).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.large_rigs [--sizes 1024,4096] [--edits 5]

Prints per size: evaluate(plan) alone; open to painted (create the window on the file, show it, the
window's own first evaluation, and the whole window painted once, synchronously; the number of
evaluations the open took is printed: one); and edit to repainted (an edit pushed on
the undo stack, the window's own evaluation of it, and the window painted), as the median of a few edits of two kinds:
the workload's concurrency (every chart changes, the canvas's cards keep their shape) and moving one
server (the canvas changes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def build_plan(gpus: int):
    from gpuplanner.core.quick import quick_plan

    nodes = gpus // 8
    return quick_plan(
        model="meta-llama/Llama-3.1-405B-Instruct", gpu="h100-sxm", gpus_per_node=8, nodes=nodes, tp=8, pp=2,
        dp=gpus // 16, weights="fp8", concurrency=gpus,
    )  # fmt: skip


def settle(app, window) -> None:
    """As after an edit in the window: its own evaluation (at once after a pause, else after the
    debounce), then everything painted, synchronously."""
    app.processEvents()
    if window.evaluator.pending():
        window.evaluator.run_now()
    window.repaint()


def measure(gpus: int, edits: int, folder: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.document.planfile import save_plan
    from gpuplanner.gui import commands as cmd
    from gpuplanner.gui import create_main_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    import gpuplanner.gui.main_window  # noqa: F401 - imports are start-up time, not opening a plan

    plan = build_plan(gpus)
    path = save_plan(plan, folder / f"rig-{gpus}.gpuplan")
    evaluations = []
    for _ in range(3):
        t0 = time.perf_counter()
        evaluate(plan)
        evaluations.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    window = create_main_window(path)
    window.resize(1440, 900)
    window.show()
    settle(app, window)  # the window's own first evaluation (deferred until it is shown), then painted
    opened = time.perf_counter() - t0
    evaluations_to_open = window.evaluator.evaluations
    app.processEvents()

    concurrency, moves = [], []
    nodes = [n.id for n in window.document.plan.rig.nodes]
    for i in range(edits):
        t0 = time.perf_counter()
        window.push(
            lambda i=i: cmd.set_workload_field_command(window.document, "concurrency", gpus + 8 * (i + 1))
        )
        settle(app, window)  # the window's own evaluation of the edit (evaluate_now would add a second)
        concurrency.append(time.perf_counter() - t0)
        app.processEvents()
        node = window.document.node(nodes[i % len(nodes)])
        t0 = time.perf_counter()
        window.push(lambda node=node: cmd.move_node_command(window.document, node.id, node.x + 7, node.y))
        settle(app, window)
        moves.append(time.perf_counter() - t0)
        app.processEvents()
    report = window.latest_report
    verdict = "fits" if report is not None and report.fits else "does not fit"
    print(
        f"{gpus:>5} GPUs ({len(nodes)} servers, {verdict}): evaluate {statistics.median(evaluations) * 1e3:7.0f} ms | "
        f"open to painted {opened:6.2f} s ({evaluations_to_open} evaluation) | edit to repainted: concurrency "
        f"{statistics.median(concurrency) * 1e3:6.0f} ms, move a server {statistics.median(moves) * 1e3:6.0f} ms "
        f"(median of {edits})",
        flush=True,
    )
    window.undo_stack.clear()
    window.undo_stack.setClean()
    window.close()
    window.deleteLater()
    app.processEvents()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1024,4096", help="GPU counts, comma-separated (multiples of 16)")
    parser.add_argument("--edits", type=int, default=5)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="gpuplanner-large-"))
    os.environ["GPUPLANNER_USER_DIR"] = str(folder / "user")
    from gpuplanner.gui import dialogs

    dialogs.ask_save_changes = lambda parent, name: "discard"
    dialogs.ask_restore = lambda parent, description: False
    for size in (int(s) for s in args.sizes.split(",")):
        measure(size, args.edits, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
