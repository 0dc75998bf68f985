"""``benchmarks/speed.py``'s two plans counted in instructions per ``evaluate`` (callgrind), which the
load of a shared machine does not disturb the way it disturbs wall-clock times.

    .venv/bin/python -m benchmarks.speed_instructions [--runs N]   # needs valgrind; a few minutes

Each plan runs in its own process under ``valgrind --tool=callgrind``: the catalog is loaded and the
plan evaluated once, the garbage collector's survivors are frozen (as the window freezes them after
start-up), then ``N`` freshly edited plans are evaluated inside one ``eval`` call, the only code
callgrind counts (``--toggle-collect=builtin_eval``). Prints instructions per evaluation and the
ratio of the 512-GPU plan to the 8-GPU one.
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


def _child(index: int, runs: int) -> None:
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

    def run() -> None:
        for p in edited:
            evaluate(p, cat)

    gc.collect()
    gc.freeze()
    eval("run()", {"run": run})  # the only code callgrind counts


def _count(index: int, runs: int) -> float:
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
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child, args.runs)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (e.g. apt-get install valgrind)")
    from benchmarks.speed import plans

    counts = []
    for index, name in enumerate(plans()):
        counts.append(_count(index, args.runs))
        print(f"{name}: {counts[-1] / 1e6:.2f} M instructions per evaluation", flush=True)
    print(f"ratio: {counts[1] / counts[0]:.2f}x")


if __name__ == "__main__":
    main()
