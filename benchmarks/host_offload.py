"""Predicted vs measured speed of the published runs that keep layers in system RAM.

    .venv/bin/python benchmarks/host_offload.py

Each ``host_offload_tokens_per_s`` row of catalogs/measurements.csv becomes the plan it measured
(``gpuplanner.core.host.run_plan``: one GPU under llama.cpp, its first layers and the output layer on
the host) and its speed is read from ``evaluate(plan)``, the estimate the window, the command line
and the PDF use. Nothing is fitted: the host's streaming efficiency stays the assumed constant of
``core/host.py``, so every figure here is out of sample.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.host import host_runs, run_plan


def compare() -> list[tuple[str, str, str, float, float | None, str]]:
    """(row id, model, what is in RAM, measured tok/s, predicted tok/s or None, note) per published run."""
    catalog = default_catalog()
    out: list[tuple[str, str, str, float, float | None, str]] = []
    for run in host_runs():
        what = f"{run.layers_in_ram} layers" if run.layers_in_ram else f"experts of {run.expert_layers}"
        if catalog.find("models", run.model) is None:
            out.append((run.id, run.model, what, run.tokens_per_s, None, "model not in the catalog"))
            continue
        try:
            report = evaluate(run_plan(run, catalog))
        except PlannerError as exc:
            out.append((run.id, run.model, what, run.tokens_per_s, None, exc.message))
            continue
        host = report.host
        speed = host.tokens_per_s_per_user if host is not None else None
        note = "" if report.fits else f"the fit model refuses it: {report.verdict}"
        out.append((run.id, run.model, what, run.tokens_per_s, speed, note))
    return out


def main() -> None:
    rows = compare()
    print(f"{'row':5} {'model':20} {'in RAM':>14} {'measured':>9} {'estimate':>9} {'ratio':>6}  note")
    ratios = []
    for rid, model, layers, measured, predicted, note in rows:
        if predicted is None:
            print(f"{rid:5} {model:20} {layers:>14} {measured:9.1f} {'-':>9} {'-':>6}  {note}")
            continue
        ratio = predicted / measured
        ratios.append(ratio)
        print(f"{rid:5} {model:20} {layers:>14} {measured:9.1f} {predicted:9.1f} {ratio:6.2f}  {note[:70]}")
    if ratios:
        print(
            f"\n{len(ratios)} runs: median estimate/measured {statistics.median(ratios):.2f}, "
            f"range {min(ratios):.2f}-{max(ratios):.2f}"
        )


if __name__ == "__main__":
    main()
