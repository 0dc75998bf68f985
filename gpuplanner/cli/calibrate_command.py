"""``gpuplanner calibrate FILE... [--plan PLAN] [--reset] [--json]``: fit the speed model to your runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gpuplanner.core.bench_import import BenchError, BenchRun, parse_bench
from gpuplanner.core.calibration import load_user_calibration
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.limits import read_text_limited
from gpuplanner.core.user_fit import calibrated_line, fit_runs, reset_user_calibration, rig_kind, save_fit
from gpuplanner.core.verdict import plural
from gpuplanner.document.planfile import load_plan


def _runs(files: list[str]) -> tuple[list[BenchRun], list[str]]:
    runs: list[BenchRun] = []
    notes: list[str] = []
    for name in files:
        text = read_text_limited(name, error=BenchError, what="benchmark output")
        found, left_out = parse_bench(text, Path(name).name)
        runs += found
        notes += left_out
    return runs, notes


def calibrate(args: argparse.Namespace) -> int:
    catalog = default_catalog()
    if args.reset:
        gpu = engine = None
        if args.plan:
            gpu, engine = rig_kind(load_plan(args.plan), catalog)
        removed = reset_user_calibration(gpu, engine)
        if args.json:
            print(json.dumps({"reset": removed}))
        else:
            print(f"removed {plural(removed, 'calibration')}: the catalog's figures apply again")
        if not args.files:
            return 0
    if not args.files:
        saved = load_user_calibration()
        if args.json:
            print(json.dumps(saved.model_dump(mode="json", by_alias=True), indent=2))
        elif not saved.factors:
            print("no calibration of your own; give llama-bench or vllm bench serve output and --plan")
        for factor in saved.factors:
            print(
                f"{calibrated_line(factor)}: memory ×{factor.memory_scale:.3f}, compute ×{factor.compute_scale:.3f}"
            )
        return 0
    if not args.plan:
        raise PlannerError(
            "calibrate needs the plan the runs were measured on (its GPUs, model, precision and engine)",
            fix="pass --plan PLAN.gpuplan (e.g. from `gpuplanner import-topology`, with the model set)",
        )
    plan = load_plan(args.plan)
    runs, notes = _runs(args.files)
    if not runs:
        raise BenchError(
            "none of the files holds a run the planner can use", fix="give pp and tg tests or serving results"
        )
    result = fit_runs(plan, runs, catalog, files=[Path(f).name for f in args.files])
    save_fit(result)
    factor = result.factor
    if args.json:
        print(
            json.dumps(
                {
                    "calibrated_on": calibrated_line(factor),
                    "gpu": factor.gpu,
                    "engine": factor.engine,
                    "factors": {
                        "memory_scale": {
                            "before": result.previous.memory_scale if result.previous else 1.0,
                            "after": factor.memory_scale,
                        },
                        "compute_scale": {
                            "before": result.previous.compute_scale if result.previous else 1.0,
                            "after": factor.compute_scale,
                        },
                    },
                    "error_before": result.error_before,
                    "error_after": result.error_after,
                    "runs": [
                        {
                            "source": r.run.source,
                            "test": r.run.label,
                            "measured": r.run.value,
                            "predicted_before": r.before,
                            "predicted_after": r.after,
                        }
                        for r in result.results
                    ],
                    "notes": notes,
                },
                indent=2,
            )
        )
        return 0
    print(calibrated_line(factor))
    for name, before, after in (
        ("memory (decode)", result.previous.memory_scale if result.previous else 1.0, factor.memory_scale),
        (
            "compute (prefill)",
            result.previous.compute_scale if result.previous else 1.0,
            factor.compute_scale,
        ),
    ):
        if before != after:
            print(f"  {name} efficiency ×{before:.3f} → ×{after:.3f}")
    print(f"  {'run':<34} {'measured':>10} {'before':>10} {'after':>10}")
    for r in result.results:
        print(
            f"  {r.run.source + ' ' + r.run.label:<34} {r.run.value:>10.1f} "
            f"{r.before:>10.1f} {r.after:>10.1f}   ({r.error_before:+.0%} → {r.error_after:+.0%})"
            + ("  check only, not fitted" if r.run.kind == "kv" else "")
        )
    print(f"  mean error of the speed runs {result.error_before:.1%} → {result.error_after:.1%}")
    for note in notes:
        print(f"  note: {note}")
    print("  undo with `gpuplanner calibrate --reset`")
    return 0
