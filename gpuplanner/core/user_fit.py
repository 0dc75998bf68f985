"""Calibrate the speed model on your own runs: fit, save per GPU kind and engine, reset.

Each run (:mod:`gpuplanner.core.bench_import`) is compared with ``evaluate`` of the plan it was
measured on, at the run's workload. Two factors are fitted, each only from the runs that inform it:

* ``memory_scale`` from decode and serving runs (tokens/s while generating: memory bound);
* ``compute_scale`` from prefill runs (prompt tokens/s: compute bound).

The fit multiplies a factor by the geometric mean of measured / predicted over its runs and repeats
until it settles (each factor moves its own runs almost proportionally). The result is stored in the
user folder (``paths.user_calibration_file()``) for the plan's GPU kind and engine and applied to
every plan with that GPU and engine, nothing else: other GPU kinds keep the catalog figures, and
:func:`reset_user_calibration` restores them exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from gpuplanner import paths
from gpuplanner.core.bench_import import BenchRun
from gpuplanner.core.calibration import (
    UserCalibration,
    UserFactor,
    load_user_calibration,
    use_user_calibration,
)
from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.limits import MAX_CONCURRENCY, MAX_TOKENS
from gpuplanner.core.plan import Plan, Workload

SCALE_RANGE = (0.2, 5.0)
ROUNDS = 8


@dataclass(frozen=True)
class RunResult:
    run: BenchRun
    before: float  # predicted, catalog figures
    after: float  # predicted, fitted factors

    @property
    def error_before(self) -> float:
        return self.before / self.run.value - 1

    @property
    def error_after(self) -> float:
        return self.after / self.run.value - 1


@dataclass(frozen=True)
class FitResult:
    factor: UserFactor
    previous: UserFactor | None
    results: tuple[RunResult, ...]

    @property
    def error_before(self) -> float:
        """Mean |relative error| on the speed runs before the fit (KV-cache checks are not fitted)."""
        return _mean_abs([r.error_before for r in self.results if r.run.kind != "kv"])

    @property
    def error_after(self) -> float:
        return _mean_abs([r.error_after for r in self.results if r.run.kind != "kv"])


def _mean_abs(values: Sequence[float]) -> float:
    return sum(abs(v) for v in values) / len(values) if values else 0.0


def _plan_for(plan: Plan, run: BenchRun) -> Plan:
    if run.kind == "kv":  # the capacity does not depend on the workload
        return plan
    workload = Workload(
        concurrency=run.concurrency,
        input_tokens=run.input_tokens,
        output_tokens=run.output_tokens,
        batching="continuous" if run.kind == "serve" else "static",
    )
    return plan.model_copy(update={"workload": workload})


def predict(plan: Plan, run: BenchRun, catalog: Catalog) -> float:
    """What the speed model says for ``run``'s figure on ``plan``."""
    try:
        at_workload = _plan_for(plan, run)
    except ValidationError:
        raise PlannerError(
            f"{run.source}: {run.label} is beyond what gpuplanner plans (concurrency up to "
            f"{MAX_CONCURRENCY:,}, up to {MAX_TOKENS:,} tokens)",
            fix="leave this run out",
        ) from None
    report = evaluate(at_workload, catalog)
    if run.kind == "kv":
        if report.kv_cache is None:
            raise PlannerError(f"{run.source}: the plan has no KV cache to compare", fix="check the plan")
        return float(report.kv_cache.capacity_tokens)
    perf = report.performance
    if perf is None:
        raise PlannerError(
            f"{run.source}: the plan cannot be timed ({report.problems[0].message if report.problems else 'no speed'})",
            fix="fix the plan so that `gpuplanner evaluate` shows its speed, then calibrate",
        )
    if run.kind == "decode":
        return 1.0 / perf.tpot_s
    if run.kind == "prefill":
        return run.input_tokens / perf.ttft_s
    return perf.output_tokens_per_s


def rig_kind(plan: Plan, catalog: Catalog) -> tuple[str, str]:
    """(GPU id, engine id) of the plan; its GPUs must all be of one kind."""
    kinds = {g.gpu for _, g in plan.rig.iter_gpus()}
    if len(kinds) != 1:
        raise PlannerError(
            f"the plan mixes GPU kinds ({', '.join(sorted(kinds)) or 'none'}); a calibration is per GPU kind",
            fix="calibrate with a plan of the one machine the runs were measured on",
        )
    gpu = catalog.gpu(next(iter(kinds)))
    return gpu.id, catalog.engine(plan.engine.engine).id


def fit_runs(
    plan: Plan, runs: Sequence[BenchRun], catalog: Catalog | None = None, files: Sequence[str] = ()
) -> FitResult:
    """Fit the factors of the plan's GPU kind and engine to ``runs`` (nothing is saved)."""
    cat = catalog or default_catalog()
    if not runs:
        raise PlannerError("no runs to calibrate on", fix="give llama-bench or vllm bench serve output")
    if not any(r.kind != "kv" for r in runs):
        raise PlannerError(
            "only KV-cache lines: they check the memory model but inform no speed factor",
            fix="add llama-bench or vllm bench serve results measured on the same machine",
        )
    gpu_id, engine_id = rig_kind(plan, cat)
    saved = load_user_calibration()
    previous = saved.factor_for(gpu_id, engine_id)
    others = tuple(f for f in saved.factors if (f.gpu, f.engine) != (gpu_id, engine_id))
    memory = compute = 1.0
    try:
        use_user_calibration(UserCalibration(factors=others))
        before = [predict(plan, run, cat) for run in runs]
        decode = [i for i, r in enumerate(runs) if r.kind in ("decode", "serve")]
        prefill = [i for i, r in enumerate(runs) if r.kind == "prefill"]
        predicted = before
        for _ in range(ROUNDS):
            if decode:
                memory *= _geo([runs[i].value / predicted[i] for i in decode])
            if prefill:
                compute *= _geo([runs[i].value / predicted[i] for i in prefill])
            memory, compute = _clamp(memory), _clamp(compute)
            trial = UserFactor(gpu=gpu_id, engine=engine_id, memory_scale=memory, compute_scale=compute)
            use_user_calibration(UserCalibration(factors=(*others, trial)))
            predicted = [predict(plan, run, cat) for run in runs]
            if all(abs(runs[i].value / predicted[i] - 1) < 1e-4 for i in decode + prefill):
                break
    finally:
        use_user_calibration(None)
    results = tuple(RunResult(r, b, a) for r, b, a in zip(runs, before, predicted, strict=True))
    gpu = cat.gpu(gpu_id)
    engine = cat.engine(engine_id)
    label = f"{_short(gpu.name)}, {engine.name.split(' (')[0]}"
    points = tuple(sorted((r.concurrency, r.value) for r in runs if r.kind in ("decode", "serve")))
    factor = UserFactor(
        gpu=gpu_id,
        engine=engine_id,
        memory_scale=round(memory, 6) if decode else 1.0,
        compute_scale=round(compute, 6) if prefill else 1.0,
        runs=sum(1 for r in runs if r.kind != "kv"),
        label=label,
        error_before=round(_mean_abs([r.error_before for r in results if r.run.kind != "kv"]), 6),
        error_after=round(_mean_abs([r.error_after for r in results if r.run.kind != "kv"]), 6),
        points=points,
        files=tuple(files),
    )
    return FitResult(factor, previous, results)


def _short(name: str) -> str:
    name = name.split(" (")[0]
    for prefix in ("NVIDIA GeForce ", "NVIDIA ", "AMD Instinct ", "AMD ", "Intel "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _geo(ratios: Sequence[float]) -> float:
    return math.exp(sum(math.log(max(r, 1e-9)) for r in ratios) / len(ratios))


def _clamp(value: float) -> float:
    return min(SCALE_RANGE[1], max(SCALE_RANGE[0], value))


def save_fit(result: FitResult) -> None:
    """Keep the fitted factor in the user folder (replacing the same GPU kind and engine's)."""
    saved = load_user_calibration()
    key = (result.factor.gpu, result.factor.engine)
    factors = (*(f for f in saved.factors if (f.gpu, f.engine) != key), result.factor)
    path = paths.user_calibration_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        UserCalibration(factors=factors).model_dump_json(indent=2, by_alias=True), encoding="utf-8"
    )
    tmp.replace(path)
    use_user_calibration(None)


def reset_user_calibration(gpu: str | None = None, engine: str | None = None) -> int:
    """Remove the user's factors (all, or one GPU kind / engine); returns how many were removed."""
    saved = load_user_calibration()
    keep = tuple(
        f
        for f in saved.factors
        if not ((gpu is None or f.gpu == gpu) and (engine is None or f.engine == engine))
    )
    removed = len(saved.factors) - len(keep)
    path = paths.user_calibration_file()
    if keep:
        path.write_text(
            UserCalibration(factors=keep).model_dump_json(indent=2, by_alias=True), encoding="utf-8"
        )
    elif path.exists():
        path.unlink()
    use_user_calibration(None)
    return removed


def calibrated_line(factor: UserFactor) -> str:
    """'calibrated on your rig: 3 runs, RTX 4090, llama.cpp' (the panel, the JSON and the PDF)."""
    runs = f"{factor.runs} run{'s' if factor.runs != 1 else ''}"
    return f"calibrated on your rig: {runs}, {factor.label}"
