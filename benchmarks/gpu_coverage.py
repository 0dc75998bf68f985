"""Which catalog GPUs have published speed measurements, and how far the shipped model is from them.

    .venv/bin/python benchmarks/gpu_coverage.py            # every GPU
    .venv/bin/python benchmarks/gpu_coverage.py rtx-3080   # some GPUs

For every speed row of catalogs/measurements.csv the model can express (``accuracy_rows.build_case``),
``evaluate(plan)`` with the shipped calibration predicts the measured figure; rows are grouped by the
GPU they ran on. Nothing is fitted here: where the shipped constants were fitted on a GPU's rows
(benchmarks/accuracy.py says which), its error is in-sample. A GPU with no row is estimated from its
datasheet and its family's calibration: the plan's coverage line says "extrapolated" where the family
has no row either.
"""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.accuracy_rows import build_case, read_rows
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.efficiency import gpu_family
from gpuplanner.core.evaluate import evaluate


def errors_by_gpu() -> dict[str, list[tuple[str, float]]]:
    """GPU id -> [(row id, predicted / measured - 1)] over the rows the model can express and fit."""
    catalog = default_catalog()
    out: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for row in read_rows():
        case = build_case(row, catalog)
        if isinstance(case, str):
            continue
        report = evaluate(case.plan, catalog)
        predicted = case.predict(report)
        if predicted is None:
            continue
        gpu = case.plan.rig.nodes[0].gpus[0].gpu
        out[gpu].append((case.id, predicted / case.measured - 1))
    return out


def main() -> None:
    catalog = default_catalog()
    wanted = sys.argv[1:] or list(catalog.gpus)
    found = errors_by_gpu()
    print(f"{'gpu':32} {'family':12} {'rows':>4} {'median |err|':>12}  rows")
    for ident in wanted:
        spec = catalog.gpu(ident)
        rows = found.get(spec.id, [])
        if rows:
            med = statistics.median(abs(e) for _, e in rows)
            ids = ", ".join(r for r, _ in rows[:6]) + (" ..." if len(rows) > 6 else "")
            print(f"{spec.id:32} {gpu_family(spec):12} {len(rows):4} {med:12.1%}  {ids}")
        else:
            print(f"{spec.id:32} {gpu_family(spec):12} {0:4} {'-':>12}  no published speed row")
    measured = sum(1 for ident in wanted if found.get(catalog.gpu(ident).id))
    print(f"\n{measured} of {len(wanted)} GPUs have published speed rows the model can express")


if __name__ == "__main__":
    main()
