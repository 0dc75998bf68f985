"""``benchmarks/speed.py``'s two plans counted in instructions per ``evaluate`` (callgrind), which the
load of a shared machine does not disturb the way it disturbs wall-clock times.

    .venv/bin/python -m benchmarks.speed_instructions [--runs N] [--new-layouts]   # needs valgrind; minutes

Each plan runs in its own process under ``valgrind --tool=callgrind``: the catalog is loaded and the
plan evaluated once, the garbage collector's survivors are frozen (as the window freezes them after
start-up), then ``N`` freshly edited plans are evaluated inside one ``eval`` call, the only code
callgrind counts (``--toggle-collect=builtin_eval``). Prints instructions per evaluation and the
ratio of the 512-GPU plan to the 8-GPU one.

The edits change the workload, as most edits in the window do: the rig and the layout stay the same
objects, so what ``resolve_plan`` keeps per (rig, layout, catalog) serves them. ``--new-layouts``
gives every edited plan a new (equal) layout object as well, as an edit of the layout (a boundary
dragged in the layer map) does: nothing kept per layout applies.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child(index: int, runs: int, new_layouts: bool) -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.speed import plans
    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.core.plan import Workload

    cat = default_catalog()
    plan = list(plans().values())[index]
    evaluate(plan, cat)
    edited = [
        plan.model_copy(update={"workload": Workload(concurrency="max", input_tokens=1024 + i)})
        for i in range(runs)
    ]
    if new_layouts:
        edited = [p.model_copy(update={"layout": p.layout.model_copy()}) for p in edited]

    def run() -> None:
        for p in edited:
            evaluate(p, cat)

    gc.collect()
    gc.freeze()
    eval("run()", {"run": run})  # the only code callgrind counts


def _count(index: int, runs: int, new_layouts: bool) -> float:
    """Instructions per evaluation of plan ``index`` of ``benchmarks.speed.plans``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--collect-atstart=no",
                "--toggle-collect=builtin_eval",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "benchmarks.speed_instructions",
                "--child",
                str(index),
                "--runs",
                str(runs),
                *(["--new-layouts"] if new_layouts else []),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            capture_output=True,
            text=True,
            check=True,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found.group(1)) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--new-layouts", action="store_true", help="a new layout object on every edit")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child, args.runs, args.new_layouts)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (e.g. apt-get install valgrind)")
    from benchmarks.speed import plans

    counts = []
    for index, name in enumerate(plans()):
        counts.append(_count(index, args.runs, args.new_layouts))
        print(f"{name}: {counts[-1] / 1e6:.2f} M instructions per evaluation", flush=True)
    print(f"ratio: {counts[1] / counts[0]:.2f}x")


if __name__ == "__main__":
    main()
