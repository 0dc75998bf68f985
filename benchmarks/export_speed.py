"""How long the PDF export of each sample plan takes (issue 6 asks for about a second at most).

    .venv/bin/python benchmarks/export_speed.py [PLAN.gpuplan ...] [--repeat N]

Prints, per plan: evaluate, export (pages, size) as the window calls it (report given), and the whole
``export_plan_pdf`` with evaluation; best of N runs after one warm-up. The one-off cost of a command-line
run (Python + Qt start-up, imports) is printed separately.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def best(fn, repeat: int) -> float:
    fn()  # warm-up: fonts, catalogs and caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _page_count(plan, report, out: Path) -> int:
    from gpuplanner.export.pdf import export_plan_pdf

    seen: list[int] = []
    export_plan_pdf(plan, out, report=report, progress=lambda done, total: seen.append(total))
    return seen[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plans", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from gpuplanner import paths
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.document.planfile import load_plan
    from gpuplanner.export.pdf import export_plan_pdf

    app = QApplication.instance() or QApplication([])  # noqa: F841 - keeps Qt alive
    plans = args.plans or sorted(paths.examples_dir().glob("*.gpuplan"))
    print(f"{'plan':48} {'evaluate':>9} {'export':>8} {'both':>8} {'pages':>5} {'KiB':>5}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "plan.pdf"
        for path in plans:
            plan = load_plan(path)
            report = evaluate(plan)
            pages = _page_count(plan, report, out)
            t_eval = best(lambda plan=plan: evaluate(plan), args.repeat)
            t_export = best(
                lambda plan=plan, report=report: export_plan_pdf(plan, out, report=report), args.repeat
            )
            t_both = best(lambda plan=plan: export_plan_pdf(plan, out), args.repeat)
            print(f"{path.stem[:48]:48} {t_eval * 1000:7.0f} ms {t_export * 1000:5.0f} ms {t_both * 1000:5.0f} ms "
                  f"{pages:5d} {out.stat().st_size / 1024:5.0f}")  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "gpuplanner", "export", str(plans[0]), "-o", str(out)],
                              capture_output=True, text=True)  # fmt: skip
        elapsed = time.perf_counter() - start
        status = "ok" if done.returncode == 0 else f"exit {done.returncode}: {done.stderr.strip()}"
        print(f"\n`gpuplanner export {plans[0].name}` as a new process: {elapsed:.2f} s ({status})")


if __name__ == "__main__":
    main()
