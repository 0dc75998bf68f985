"""``evaluate(plan) -> Report``: the one function the window, the command line and the PDF share."""

from __future__ import annotations

from collections import deque
from itertools import repeat
from operator import attrgetter, is_, setitem
from typing import cast

from gpuplanner.core.architecture import active_params, total_params
from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.coverage import with_coverage
from gpuplanner.core.diagnose import diagnose, verdict
from gpuplanner.core.errors import PlanError
from gpuplanner.core.fit import FitResult, GpuFit, fit_memory
from gpuplanner.core.fixcheck import check_fixes
from gpuplanner.core.host import HostOffload, evaluate_host, with_offload
from gpuplanner.core.perf import estimate_performance
from gpuplanner.core.plan import Plan
from gpuplanner.core.report import GpuReport, KvCacheReport, MemoryLedger, Problem, Report
from gpuplanner.core.resolve import GpuViews, ResolvedPlan, resolve_plan


def _gpu_reports(fit: FitResult, views: GpuViews) -> tuple[GpuReport, ...]:
    """One entry per GPU, built from values our own arithmetic produced (assembled, not validated:
    validating 1,000 of them per edit on a 512-GPU plan would cost more than the whole fit model).

    GPUs holding copies of one ledger (``fit.ledgers``) share everything but their place in the
    layout: those fields, the memory ledger object included, are worked out once per ledger; each
    GPU's entry is a copy with its own place filled in, all GPUs at once in C loops (the places from
    ``views``, the resolved GPUs' own, when ``fit`` placed those GPUs in their order).

    The entries of one ledger's GPUs are kept with ``views`` (so with the rig and layout they were
    resolved from), keyed on every field of the ledger and the GPUs' indices: an edit that leaves a
    ledger as it was (the workload, most engine settings) reuses its GPUs' entries, which are
    immutable, instead of building them again."""
    placed = fit.placed
    own_order = len(placed) == len(views.gpus) and all(map(is_, placed, views.gpus))
    kept = views.report_parts if own_order else None
    ledger_list = fit.ledgers or [(f, (i,)) for i, f in enumerate(fit.gpus)]
    keys = [_ledger_key(f, indices) for f, indices in ledger_list]
    if kept is not None:
        # the whole tuple of the last evaluation of these GPUs, when every ledger is as it was
        last = views.memo.get("report entries")
        if isinstance(last, tuple) and last[0] == keys:
            return cast(tuple[GpuReport, ...], last[1])
    parts: list[GpuReport] = []
    order: list[int] = []  # the index in ``placed`` of each of ``parts``
    ledgers: dict[tuple[int, ...], MemoryLedger] = {}  # equal ledgers are one object
    for (f, indices), key in zip(ledger_list, keys, strict=True):
        g = f.gpu
        figures = (f.weights, f.kv_used, f.activations, f.communication, f.runtime, f.free)
        group = kept.get(key) if kept is not None else None
        if group is None:
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
            dicts = list(map(dict, repeat(fields, len(indices))))
            if own_order:
                columns = [map(column.__getitem__, indices) for column in views.places]
            else:
                gpus = list(map(placed.__getitem__, indices))
                columns = [map(attrgetter(attr), gpus) for attr in _PLACE_ATTRS]
            for name, column in zip(_PLACE_FIELDS, columns, strict=True):
                _drain(map(_setitem, dicts, repeat(name), column))
            group = GpuReport.assemble_many(dicts, set(_REPORT_FIELDS))
            if kept is not None:
                if sum(map(len, kept.values())) + len(group) > _PARTS_KEPT * len(placed):
                    kept.clear()  # a few edits' worth of entries per GPU at most
                kept[key] = group
        parts += group
        order += indices
    if order != list(range(len(placed))):  # ledgers interleaved in the layout: put back in its order
        out: list[GpuReport] = [None] * len(placed)  # type: ignore[list-item]  # every slot is filled
        _drain(map(setitem, repeat(out), order, parts))
        parts = out
    result = tuple(parts)
    if kept is not None:
        views.memo["report entries"] = (keys, result)
    return result


def _ledger_key(f: GpuFit, indices: tuple[int, ...]) -> tuple[object, ...]:
    """Every field of a ledger's report entries but the GPUs' places, and the GPUs' indices."""
    g = f.gpu
    return (
        f.weights,
        f.kv_used,
        f.activations,
        f.communication,
        f.runtime,
        f.free,
        f.capacity,
        f.budget,
        f.stranded,
        f.kv_blocks,
        f.weight_params,
        g.spec.id,
        g.spec.name,
        g.layers,
        g.first_stage,
        g.last_stage,
        tuple(f.formula.items()),
        indices,
    )


_PARTS_KEPT = 4  # report entries kept per GPU of a resolved layout
_REPORT_FIELDS = tuple(GpuReport.model_fields)  # a set of them is each entry's pydantic fields-set


# a GPU's place in the layout: the fields of its report entry that its ledger does not decide, and
# the attributes of its ResolvedGpu they come from (the order of ``GpuViews.places``)
_PLACE_FIELDS = ("id", "node", "replica", "stage", "tp_rank")
_PLACE_ATTRS = ("id", "node.id", "replica", "stage", "tp_rank")
_setitem = setitem  # a fast builtin (dict.__setitem__ is a slot wrapper: it packs its arguments)
_drain = deque[object](maxlen=0).extend  # runs an iterator to its end in C, keeping nothing


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
        gpus=_gpu_reports(fit, resolved.views),
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
