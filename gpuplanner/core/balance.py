"""Auto-balance: where each pipeline stage's layer boundaries go, for a chosen objective.

- ``fit``: layers in proportion to the memory each stage has for them (its smallest GPU's budget less
  what does not depend on the layers, times its TP degree), so the KV cache is as large as it can be
  and the least memory strands. Mixed GPUs are where this matters.
- ``speed``: starts from layers in proportion to each stage's HBM bandwidth, then scores every split
  with the report's own decode cycle (the performance model's stage times at the plan's workload),
  without a stage outgrowing its memory.
- ``even``: the engine's default equal split.

Proportional splits are the starting point; a short search then moves single layers across
boundaries while the exact fit model says the objective improves (layers differ in size on MoE
models, the first and last stages carry the embeddings and the lm_head). Pure: a plan in, a layout
out; the GPUs of every stage stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from gpuplanner.core.architecture import layer_params
from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.errors import PlanError
from gpuplanner.core.fit import FitResult, fit_memory
from gpuplanner.core.layout_ops import even_layer_split, weighted_layer_split
from gpuplanner.core.perf import decode_speed, queued, request_seconds
from gpuplanner.core.perf_replica import build_replicas
from gpuplanner.core.plan import Layout, Plan, Replica, Stage
from gpuplanner.core.resolve import ResolvedPlan, resolve_plan

Objective = Literal["fit", "speed", "even"]
OBJECTIVES: tuple[Objective, ...] = ("fit", "speed", "even")
OBJECTIVE_NAMES = {
    "fit": "Fit: layers in proportion to free memory",
    "speed": "Speed: the fastest decode the performance model finds, within memory",
    "even": "Even: the same number of layers per stage",
}
Score = Callable[[ResolvedPlan, FitResult], tuple[float, ...]]


def _with_splits(layout: Layout, splits: list[list[tuple[int, int]]]) -> Layout:
    replicas = tuple(
        Replica(
            stages=tuple(Stage(layers=rng, gpus=s.gpus) for s, rng in zip(rep.stages, split, strict=True))
        )
        for rep, split in zip(layout.replicas, splits, strict=True)
    )
    return Layout(replicas=replicas, ep=layout.ep)


def _over_budget(fit: FitResult) -> float:
    """Bytes by which GPUs' weights, activations and runtime exceed what the engine may use."""
    return float(sum(max(0, f.fixed - f.budget) for f in fit.gpus))


def _fit_score(r: ResolvedPlan, fit: FitResult) -> tuple[float, ...]:
    return (-_over_budget(fit), float(fit.capacity_tokens), -float(sum(f.stranded for f in fit.gpus)))


def _speed_score(r: ResolvedPlan, fit: FitResult) -> tuple[float, ...]:
    """Memory first, then the output tokens/s the report shows at the plan's workload (the same
    estimate as every speed in the window), then KV capacity."""
    w = r.plan.workload
    limit = max(1, fit.max_concurrency)
    wanted = limit if w.concurrency == "max" else w.concurrency
    request_s = request_seconds(r)
    _, rate = decode_speed(
        build_replicas(r),
        min(wanted, limit),
        w.input_tokens,
        w.output_tokens,
        "mid",
        w.batching == "static",
        None if queued(w.concurrency, limit) else request_s,
    )
    # speeds equal but for float rounding (one sequence walks every stage, whatever the split) are a
    # tie, which KV capacity then breaks
    return (-_over_budget(fit), float(f"{rate:.9g}"), float(fit.capacity_tokens))


def _stage_room(r: ResolvedPlan, fit: FitResult) -> dict[tuple[int, int], float]:
    """Per stage: bytes its smallest GPU has for layers (weights and KV), times the TP degree."""
    m = r.model
    per_layer = [layer_params(m, i).total * r.weights.bytes_per_element for i in range(m.num_layers)]
    room: dict[tuple[int, int], float] = {}
    for f in fit.gpus:
        g = f.gpu
        layer_bytes = sum(per_layer[g.layers[0] : g.layers[1]]) / g.stage_tp
        not_layers = max(f.fixed - layer_bytes, 0.0)  # embeddings, lm_head, activations, runtime
        key = (g.replica, g.stage)
        room[key] = min(room.get(key, float("inf")), (f.budget - not_layers) * g.stage_tp)
    return room


def _proportional(r: ResolvedPlan, fit: FitResult, objective: Objective) -> list[list[tuple[int, int]]]:
    n = r.model.num_layers
    room = _stage_room(r, fit)
    splits = []
    for rep_index, replica in enumerate(r.plan.layout.replicas):
        pp = len(replica.stages)
        if objective == "even":
            splits.append(even_layer_split(n, pp))
            continue
        if objective == "fit":
            weights = [max(room[(rep_index, s)], 1.0) for s in range(pp)]
        else:
            weights = []
            for s in range(pp):
                members = r.stage_gpus(rep_index, s)
                weights.append(min(g.spec.hbm_bandwidth_gbps for g in members) * len(members))
        splits.append(weighted_layer_split(n, weights))
    return splits


def _score_of(plan: Plan, layout: Layout, catalog: Catalog, score: Score) -> tuple[float, ...]:
    resolved = resolve_plan(plan.model_copy(update={"layout": layout}), catalog)
    return score(resolved, fit_memory(resolved))


def _improve(plan: Plan, splits: list[list[tuple[int, int]]], catalog: Catalog, score: Score) -> Layout:
    """Move one layer at a time across a boundary while the score improves (at most one pass per layer)."""
    layout = _with_splits(plan.layout, splits)
    best = _score_of(plan, layout, catalog, score)
    for _ in range(plan.layout.replicas[0].stages[-1].layers[1]):
        candidates = []
        for r, split in enumerate(splits):
            for b in range(len(split) - 1):
                for step in (-1, 1):
                    cut = split[b][1] + step
                    if split[b][0] < cut < split[b + 1][1]:
                        moved = [list(s) for s in splits]
                        moved[r][b] = (split[b][0], cut)
                        moved[r][b + 1] = (cut, split[b + 1][1])
                        candidates.append(moved)
        scored = [(_score_of(plan, _with_splits(plan.layout, c), catalog, score), c) for c in candidates]
        if not scored:
            break
        top, chosen = max(scored, key=lambda pair: pair[0])
        if top <= best:
            break
        best, splits = top, chosen
    return _with_splits(plan.layout, splits)


def balance_layout(plan: Plan, objective: Objective = "fit", catalog: Catalog | None = None) -> Layout:
    """The plan's layout with every replica's stage boundaries placed for ``objective``.

    Raises :class:`PlanError` for an unknown objective or a plan the fit model cannot resolve.
    """
    if objective not in OBJECTIVES:
        raise PlanError(
            f"unknown balance objective '{objective}'", fix=f"use one of: {', '.join(OBJECTIVES)}"
        )
    cat = catalog or default_catalog()
    resolved = resolve_plan(plan, cat)
    splits = _proportional(resolved, fit_memory(resolved), objective)
    if objective == "even":
        return _with_splits(plan.layout, splits)
    return _improve(plan, splits, cat, _fit_score if objective == "fit" else _speed_score)
