"""How fast "Plan for me" searches: layouts for a 16-GPU rig, and rigs over the whole GPU catalog.

    .venv/bin/python -m benchmarks.recommend_speed [--repeats 3]

Prints, as the median of the repeats (the first, cold run is printed on its own: the stage-time caches
and the catalog are filled then):

- layout search on 2 × 8 H100 SXM (Llama 3.1 70B and Llama 3.1 405B, each objective; target: 16 GPUs
  in at most 1 s);
- rig search for Llama 3.1 70B, 64 users at TPOT ≤ 50 ms, over every GPU of the catalog up to 64 GPUs
  (target: at most 10 s on a 2-core machine).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable


def _time(run: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    start = time.perf_counter()
    result = run()
    cold = time.perf_counter() - start
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm) if warm else cold, result


def main(argv: list[str] | None = None) -> int:
    from gpuplanner.core.quick import quick_plan
    from gpuplanner.core.recommend import OBJECTIVES, Target, recommend_layouts, recommend_rigs

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    print("Layout search, 16 × H100 SXM in 2 servers (seconds: cold / median warm)")
    for model in ("meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Llama-3.1-405B-Instruct"):
        plan = quick_plan(model=model, gpu="h100-sxm", gpus_per_node=8, nodes=2, tp=8, pp=2, concurrency=32)
        for objective in OBJECTIVES:
            target = Target(slo_tpot_ms=50)
            cold, warm, found = _time(
                lambda p=plan, o=objective, t=target: recommend_layouts(p, o, t), args.repeats
            )
            best = found.best  # type: ignore[attr-defined]
            print(
                f"  {model.split('/')[-1]:<28} {objective:<10} {cold:6.3f} / {warm:6.3f}   "
                f"{found.tried} layouts, {found.evaluated} evaluated   "  # type: ignore[attr-defined]
                f"best: {best.shape if best else '-'}"
            )

    print("\nRig search over the catalog up to 64 GPUs: Llama 3.1 70B, 64 users, TPOT ≤ 50 ms")
    cold, warm, rigs = _time(
        lambda: recommend_rigs(
            "meta-llama/Llama-3.1-70B-Instruct", 64, target=Target(slo_tpot_ms=50), max_gpus=64
        ),
        max(1, args.repeats - 2),
    )
    found_rigs = rigs.rigs  # type: ignore[attr-defined]
    print(f"  {cold:.2f} s cold / {warm:.2f} s warm; {rigs.tried} rigs, {len(found_rigs)} serve the target")  # type: ignore[attr-defined]
    for c in found_rigs[:5]:
        print(f"    {c.plan.name}: {c.shape}, {c.price.describe()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
