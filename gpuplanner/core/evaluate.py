"""``evaluate(plan) -> Report``: the one function the window, the command line and the PDF share."""

from __future__ import annotations

from gpuplanner.core.architecture import active_params, total_params
from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.coverage import with_coverage
from gpuplanner.core.diagnose import diagnose, verdict
from gpuplanner.core.errors import PlanError
from gpuplanner.core.fit import FitResult, fit_memory
from gpuplanner.core.fixcheck import check_fixes
from gpuplanner.core.host import HostOffload, evaluate_host, with_offload
from gpuplanner.core.perf import estimate_performance
from gpuplanner.core.plan import Plan
from gpuplanner.core.report import GpuReport, KvCacheReport, MemoryLedger, Problem, Report
from gpuplanner.core.resolve import ResolvedPlan, resolve_plan


def _gpu_reports(fit: FitResult) -> tuple[GpuReport, ...]:
    """One entry per GPU, built from values our own arithmetic produced (assembled, not validated:
    validating 1,000 of them per edit on a 512-GPU plan would cost more than the whole fit model).

    GPUs holding copies of one ledger (``fit.ledgers``) share everything but their place in the
    layout: those fields, the memory ledger object included, are worked out once per ledger and each
    GPU's entry is a copy with its own place filled in."""
    names = set(GpuReport.model_fields)
    placed = fit.placed
    out: list[GpuReport] = [None] * len(placed)  # type: ignore[list-item]  # every slot is filled below
    ledgers: dict[tuple[int, ...], MemoryLedger] = {}  # equal ledgers are one object
    for f, indices in fit.ledgers or [(f, (i,)) for i, f in enumerate(fit.gpus)]:
        g = f.gpu
        figures = (f.weights, f.kv_used, f.activations, f.communication, f.runtime, f.free)
        ledger = ledgers.get(figures)
        if ledger is None:
            ledger = ledgers[figures] = MemoryLedger.assemble(
                weights=f.weights,
                kv_cache=f.kv_used,
                activations=f.activations,
                communication=f.communication,
                runtime=f.runtime,
                free=f.free,
            )
        fields = {
            "id": None,
            "gpu": g.spec.id,
            "gpu_name": g.spec.name,
            "node": None,
            "replica": None,
            "stage": None,
            "tp_rank": None,
            "layers": g.layers,
            "has_embeddings": g.first_stage,
            "has_lm_head": g.last_stage,
            "capacity_bytes": f.capacity,
            "budget_bytes": f.budget,
            "memory_bytes": ledger,
            "stranded_bytes": f.stranded,
            "kv_blocks": f.kv_blocks,
            "weight_params": f.weight_params,
            "formula": f.formula,
        }
        for i in indices:
            g = placed[i]
            mine = fields.copy()
            mine["id"] = g.id
            mine["node"] = g.node.id
            mine["replica"] = g.replica
            mine["stage"] = g.stage
            mine["tp_rank"] = g.tp_rank
            out[i] = GpuReport.assemble_shared(mine, names)
    return tuple(out)


def evaluate_resolved(resolved: ResolvedPlan) -> Report:
    if resolved.plan.engine.offloads and not resolved.experts_in_host_ram:
        # layers or experts in system RAM: the GPU part through this same model, plus the host
        return evaluate_host(resolved, _evaluate_gpus)
    return _evaluate_gpus(resolved)


def _evaluate_gpus(resolved: ResolvedPlan) -> Report:
    fit = fit_memory(resolved)
    problems = diagnose(resolved, fit)
    fits = not any(p.severity == "error" for p in problems)
    performance = None
    summary = verdict(resolved, fit, problems)
    if fits:
        try:
            # what the speeds rest on, and a wider band where they extrapolate (core/coverage.py)
            performance = with_coverage(resolved, estimate_performance(resolved, fit))
        except PlanError as exc:
            # The memory ledgers stand; the speed needs what is missing (e.g. a network between servers).
            problems.append(
                Problem(severity="error", message=f"no speed estimate: {exc.message}", fix=exc.fix)
            )
            fits = False
            summary = f"Incomplete: the memory fits, but {exc.message}."
    plan = resolved.plan
    return Report(
        plan_name=plan.name,
        model=resolved.model.id,
        model_name=resolved.model.name,
        weights=resolved.weights.id,
        kv_cache_precision=resolved.kv.id,
        engine=resolved.engine.id,
        engine_name=f"{resolved.engine.name} {resolved.engine.version}",
        fits=fits,
        verdict=summary,
        problems=tuple(problems),
        gpus=_gpu_reports(fit),
        kv_cache=KvCacheReport(
            bytes_per_token=fit.kv_bytes_per_token,
            capacity_tokens=fit.capacity_tokens,
            max_concurrency=fit.max_concurrency,
            context_tokens=fit.context_tokens,
            max_context_at_concurrency=fit.max_context_at_concurrency,
        ),
        performance=performance,
        total_params=total_params(resolved.model),
        active_params=active_params(resolved.model),
    )


def evaluate(plan: Plan, catalog: Catalog | None = None) -> Report:
    """Fit and performance of ``plan``.

    Raises :class:`gpuplanner.core.errors.PlannerError` (with a message and a fix) when the plan
    cannot be evaluated at all: an unknown id, a layout naming a GPU the rig lacks, layer ranges
    with gaps, a TP degree the model cannot be split by.
    """
    cat = catalog or default_catalog()
    report = evaluate_resolved(resolve_plan(plan, cat))
    # a one-click fix is offered only when the same model says the fixed plan no longer has the problem
    return check_fixes(plan, report, lambda fixed: evaluate_resolved(resolve_plan(fixed, cat)))


def evaluate_with_host(plan: Plan, offload: HostOffload, catalog: Catalog | None = None) -> Report:
    """``evaluate`` of ``plan`` with ``offload`` (the command line's --offload-* flags) written into it."""
    return evaluate(with_offload(plan, offload), catalog)
