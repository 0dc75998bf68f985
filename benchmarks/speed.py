"""How long one ``evaluate(plan)`` takes: the window re-evaluates on every edit.

    .venv/bin/python benchmarks/speed.py [--runs N]

Times an 8-GPU plan (DGX H100, Llama 3.1 70B, TP 8) and a 512-GPU plan (64 nodes x 8 H100 over
InfiniBand NDR, Llama 3.1 405B at TP 8 x PP 2, DP 32), both at concurrency 'max' so the curve is
computed too. Each run evaluates a freshly edited plan (a new object, as the window makes), so
per-plan caches do not help; the catalog is loaded once, as in the app. Prints the median and the
90th percentile.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.plan import Plan, Workload
from gpuplanner.core.quick import quick_plan


def plans() -> dict[str, Plan]:
    cat = default_catalog()
    return {
        "8 GPUs (1 x DGX H100, Llama 3.1 70B, TP 8)": quick_plan(
            model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", tp=8, concurrency="max", catalog=cat
        ),
        "512 GPUs (64 x 8 H100, IB NDR, Llama 3.1 405B, TP 8 x PP 2 x DP 32)": quick_plan(
            model="meta-llama/Llama-3.1-405B-Instruct",
            gpu="h100-sxm",
            gpus_per_node=8,
            nodes=64,
            tp=8,
            pp=2,
            dp=32,
            weights="fp8",
            concurrency="max",
            catalog=cat,
        ),
    }


def time_plan(plan: Plan, runs: int) -> list[float]:
    cat = default_catalog()
    evaluate(plan, cat)  # warm imports and the catalog
    seconds = []
    for i in range(runs):
        # A new plan object per run, as an edit in the window makes one.
        edited = plan.model_copy(update={"workload": Workload(concurrency="max", input_tokens=1024 + i)})
        start = time.perf_counter()
        report = evaluate(edited, cat)
        seconds.append(time.perf_counter() - start)
        assert report.performance is not None, report.verdict
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    for name, plan in plans().items():
        seconds = sorted(time_plan(plan, args.runs))
        p90 = seconds[int(0.9 * (len(seconds) - 1))]
        print(
            f"{name}: median {statistics.median(seconds) * 1e3:.1f} ms, p90 {p90 * 1e3:.1f} ms "
            f"over {len(seconds)} runs"
        )


if __name__ == "__main__":
    main()
