"""Plan for me: the best layout for a rig, and the best rig for a goal.

``recommend_layouts(plan, objective, target)`` searches TP × PP × DP × EP over the plan's own rig (TP
groups inside one server, TP dividing the heads), the weight and KV formats asked for, and the engine's
``max_num_seqs`` where it caps the users; mixed GPUs get their stage boundaries from auto-balance
(``core/balance.py``). ``recommend_rigs(model, users, ...)`` builds rigs from the catalog (GPU kind ×
count, the GPU's server template and its default links) and keeps, per GPU kind, the smallest count whose
best layout serves the target.

Every reported candidate is a plan and ``evaluate(plan)`` of it: the search never uses a second, simpler
speed model. Memory comes first (a bound on the weights, then the fit model), so most shapes never reach
the speed model; the operating point (how many users the SLO allows) is found with the same
``speeds()`` that ``evaluate`` reports from, and the stage-time caches of ``core/perf_model.py`` are
shared by every candidate. The final figures are always the candidate's own report.

Costs: the price list of the launch/BOM work is not used here; ``rig_price`` is the one function to
swap for prices. Until then a rig costs its GPU count, then its GPUs' board power (TDP from the catalog),
and ``cost`` per token is energy: watts over tokens per second, joules per output token.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from gpuplanner.core.architecture import total_params
from gpuplanner.core.balance import balance_layout
from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.errors import PlanError, PlannerError
from gpuplanner.core.evaluate import evaluate_resolved
from gpuplanner.core.fit import FitResult, fit_memory
from gpuplanner.core.layout_ops import layout_from_order, layout_gpu_ids
from gpuplanner.core.limits import MAX_CONCURRENCY, MAX_GPUS, MAX_TOKENS
from gpuplanner.core.perf import request_seconds, speeds
from gpuplanner.core.perf_replica import build_replicas
from gpuplanner.core.plan import Plan, Workload
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.report import Report
from gpuplanner.core.resolve import ResolvedPlan, resolve_plan
from gpuplanner.core.specs import GpuSpec, ModelSpec
from gpuplanner.core.verdict import plural

SCHEMA = "gpuplanner.recommendation/1"

Objective = Literal["throughput", "latency", "users", "context", "cost"]
OBJECTIVES: tuple[Objective, ...] = ("throughput", "latency", "users", "context", "cost")
OBJECTIVE_NAMES: dict[Objective, str] = {
    "throughput": "Throughput: most output tokens/s within the service level",
    "latency": "Latency: the shortest answer at the plan's users",
    "users": "Users: most concurrent users within the service level",
    "context": "Context: the longest sequence at the plan's users",
    "cost": "Cost: the least energy per output token (GPU power over tokens/s)",
}
RigRank = Literal["capex", "cost"]
RIG_RANKS: tuple[RigRank, ...] = ("capex", "cost")
RIG_COUNTS = (1, 2, 4, 8, 16, 32, 64)

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class Target:
    """The service level and the demand a candidate has to meet (None: no limit)."""

    slo_ttft_ms: float | None = None
    slo_tpot_ms: float | None = None
    users: int | None = None
    context: int | None = None

    def slo_met(self, ttft_s: float, tpot_s: float) -> bool:
        return (self.slo_ttft_ms is None or ttft_s * 1000 <= self.slo_ttft_ms) and (
            self.slo_tpot_ms is None or tpot_s * 1000 <= self.slo_tpot_ms
        )

    def describe(self) -> str:
        parts = []
        if self.slo_ttft_ms is not None:
            parts.append(f"TTFT ≤ {self.slo_ttft_ms:g} ms")
        if self.slo_tpot_ms is not None:
            parts.append(f"TPOT ≤ {self.slo_tpot_ms:g} ms")
        if self.users is not None:
            parts.append(f"≥ {self.users:,} users")
        if self.context is not None:
            parts.append(f"≥ {self.context:,} tokens of context")
        return ", ".join(parts) or "no service level"


@dataclass(frozen=True)
class Space:
    """What the layout search may change besides the layout; an empty tuple keeps the plan's own."""

    weights: tuple[str, ...] = ()
    kv_cache: tuple[str, ...] = ()
    use_all: bool = False  # only layouts that use every GPU of the rig
    tune_max_num_seqs: bool = True
    include_own: bool = True  # the plan's own layout competes too
    pp_powers_of_two: bool = False  # PP 1, 2, 4, 8 ... only (the rig search)
    min_replica_gpus: int = 1  # only replicas of at least this many GPUs (the rig search's probes)
    only: frozenset[tuple[int, int, int]] = frozenset()  # only these (TP, PP, EP); empty: all
    memory_fractions: tuple[float, ...] = ()  # gpu_memory_utilization values to try on the best few
    batched_tokens: tuple[int, ...] = ()  # max_num_batched_tokens values to try on the best few


@dataclass(frozen=True)
class Price:
    """What a set of GPUs costs, as far as gpuplanner knows: their count and board power."""

    gpus: int
    watts: float

    @property
    def key(self) -> tuple[float, ...]:
        return (float(self.gpus), self.watts)

    def describe(self) -> str:
        return f"{self.gpus} GPU{'s' if self.gpus != 1 else ''}, {self.watts / 1000:.2f} kW"


def rig_price(gpus: Sequence[GpuSpec]) -> Price:
    """The one place a rig's cost is decided. Swap in a price list (capex, $/hour) here."""
    return Price(gpus=len(gpus), watts=float(sum(g.tdp_w for g in gpus)))


@dataclass(frozen=True)
class Candidate:
    plan: Plan
    report: Report
    score: float  # higher is better, in the objective's own unit (joules and seconds negated)
    value: float  # the objective's figure as a person reads it (tok/s, s, users, tokens, J/token)
    unit: str
    reason: str
    meets: bool  # fits, and meets the target
    shape: str  # 'TP 8 × PP 2 × DP 1', with EP and formats when they differ
    price: Price
    slo_met: bool = True  # TTFT and TPOT within the target at its users

    def to_json_dict(self, plan_json: Callable[[Plan], dict[str, Any]] | None = None) -> dict[str, Any]:
        return {
            "plan": plan_json(self.plan) if plan_json else self.plan.model_dump(mode="json"),
            "score": self.score,
            "value": self.value,
            "unit": self.unit,
            "reason": self.reason,
            "meets_target": self.meets,
            "shape": self.shape,
            "gpus": self.price.gpus,
            "watts": self.price.watts,
            "report": self.report.to_json_dict(),
        }


@dataclass(frozen=True)
class FrontPoint:
    """A point of the Pareto front of total tokens/s against tokens/s per user."""

    candidate: int  # index into the candidates
    concurrency: int
    output_tokens_per_s: float
    tokens_per_s_per_user: float


@dataclass
class Search:
    objective: Objective
    target: Target
    candidates: list[Candidate] = field(default_factory=list)
    pareto: list[FrontPoint] = field(default_factory=list)
    tried: int = 0  # shapes considered
    pruned: int = 0  # shapes set aside by memory before any speed was estimated
    evaluated: int = 0  # full evaluations
    cancelled: bool = False
    message: str = ""

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def to_json_dict(self, plan_json: Callable[[Plan], dict[str, Any]] | None = None) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "objective": self.objective,
            "target": self.target.__dict__,
            "candidates": [c.to_json_dict(plan_json) for c in self.candidates],
            "pareto": [p.__dict__ for p in self.pareto],
            "searched": {"shapes": self.tried, "pruned_by_memory": self.pruned, "evaluated": self.evaluated},
            "cancelled": self.cancelled,
            "message": self.message,
        }


# -- the layout search -------------------------------------------------------------------------------
def _ordered_gpus(plan: Plan, catalog: Catalog) -> list[tuple[str, str, GpuSpec]]:
    """(GPU id, node id, spec), server by server, within a server the larger GPUs first, then by slot."""
    out: list[tuple[str, str, GpuSpec]] = []
    for node in plan.rig.nodes:
        specs = [(g, catalog.gpu(g.gpu)) for g in node.gpus]
        specs.sort(key=lambda pair: (-pair[1].memory_gib_usable, pair[1].id, pair[0].slot))
        out.extend((g.id, node.id, spec) for g, spec in specs)
    return out


def _tp_degrees(model: ModelSpec, biggest_node: int, engine_tp: bool) -> list[int]:
    out = []
    for tp in range(1, biggest_node + 1):
        if model.num_attention_heads % tp:
            continue
        if tp > model.num_kv_heads and tp % model.num_kv_heads:
            continue
        if tp > 1 and not engine_tp:
            break
        out.append(tp)
    return out


def _tp_groups_in_nodes(order: list[tuple[str, str, GpuSpec]], tp: int, used: int) -> bool:
    """Every TP group (consecutive ``tp`` GPUs of the order) lies in one server: TP in a fast domain."""
    return all(len({order[i][1] for i in range(start, start + tp)}) <= 1 for start in range(0, used, tp))


def _ep_degrees(model: ModelSpec, tp: int, dp: int, engine_ep: bool) -> list[int]:
    if model.moe is None or not engine_ep:
        return [1]
    out = [1]
    for ep in (tp, tp * dp):
        if ep > 1 and ep not in out and model.moe.num_experts % ep == 0:
            out.append(ep)
    return out


def _weight_bytes(model: ModelSpec, bytes_per_element: float) -> float:
    return total_params(model) * bytes_per_element


def _concurrency_limit(fit: FitResult) -> int:
    return max(0, fit.max_concurrency)


def _operating_point(r: ResolvedPlan, fit: FitResult, objective: Objective, target: Target) -> int:
    """The concurrency a candidate runs at: the plan's users for latency and context, else the most
    users whose TTFT and TPOT (the report's own ``speeds``) meet the target."""
    limit = _concurrency_limit(fit)
    w = r.plan.workload
    if objective in ("latency", "context"):
        wanted = target.users or (w.concurrency if isinstance(w.concurrency, int) else 1)
        return max(1, min(wanted, limit)) if limit else wanted
    return max(1, _slo_users(r, fit, target))


def _slo_users(r: ResolvedPlan, fit: FitResult, target: Target) -> int:
    """The most users (up to what memory allows) whose TTFT and TPOT meet the target, by the report's
    own ``speeds``; 0 when not even one does."""
    limit = _concurrency_limit(fit)
    if limit < 1:
        return 0
    if target.slo_ttft_ms is None and target.slo_tpot_ms is None:
        return limit
    w = r.plan.workload
    replicas = build_replicas(r)
    isl, osl, request_s = w.input_tokens, w.output_tokens, request_seconds(r)
    static = w.batching == "static"

    def meets(n: int) -> bool:
        s = speeds(replicas, n, isl, osl, "mid", request_s, static)
        return target.slo_met(s.ttft_s, s.tpot_s)

    # TTFT and TPOT rise with the users, but not strictly (pipeline micro-batches, prefill chunks):
    # bisect a geometric ladder, look a few rungs past the edge and at the plan's own users, then
    # refine between the best passing rung and the next
    own = w.concurrency if isinstance(w.concurrency, int) else limit
    ladder = sorted({min(limit, max(1, round(1.25**k))) for k in range(64)} | {limit})
    if meets(limit):
        return limit
    first, last = 0, len(ladder) - 1  # ladder[last] fails
    if not meets(ladder[0]):
        last = 0
    else:
        while last - first > 1:
            mid = (first + last) // 2
            if meets(ladder[mid]):
                first = mid
            else:
                last = mid
    passing = [ladder[first]] if last > 0 else []
    passing += [n for n in ladder[last + 1 : last + 4] if meets(n)]
    if own <= limit and own not in passing and meets(own):
        passing.append(own)
    if not passing:
        return 0
    lo = max(passing)
    above = [n for n in ladder if n > lo]
    hi = above[0] if above else lo + 1  # not meets(hi), or beyond the limit
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if meets(mid):
            lo = mid
        else:
            hi = mid
    return lo


def _score(objective: Objective, report: Report, price: Price) -> tuple[float, float, str]:
    """(score, value, unit): higher score is better."""
    perf, rig = report.performance, report.rig_speed()  # rig: host included when it takes part
    assert perf is not None and rig is not None
    if objective == "throughput":
        return rig.output_tokens_per_s, rig.output_tokens_per_s, "tok/s"
    if objective == "latency":
        seconds = rig.ttft_s + max(perf.output_tokens - 1, 0) * rig.tpot_s
        return -seconds, seconds, "s per answer"
    if objective == "users":
        return float(perf.concurrency), float(perf.concurrency), "users"
    if objective == "context":
        ctx = float(report.kv_cache.max_context_at_concurrency)
        return ctx, ctx, "tokens"
    joules = price.watts / max(rig.output_tokens_per_s, 1e-9)
    return -joules, joules, "J/token"


def _slo_met(report: Report, target: Target) -> bool:
    rig = report.rig_speed()
    return rig is not None and target.slo_met(rig.ttft_s, rig.tpot_s)


def _meets(report: Report, target: Target) -> bool:
    perf, rig = report.performance, report.rig_speed()
    if not report.fits or perf is None or rig is None:
        return False
    if not target.slo_met(rig.ttft_s, rig.tpot_s):
        return False
    if target.users is not None and perf.concurrency < target.users:
        return False
    return target.context is None or report.kv_cache.max_context_at_concurrency >= target.context


def _shape(plan: Plan, base: Plan) -> str:
    lay = plan.layout
    text = f"TP {lay.tp} × PP {lay.pp} × DP {lay.dp}"
    if lay.ep > 1:
        text += f" × EP {lay.ep}"
    if plan.weights != base.weights:
        text += f", {plan.weights} weights"
    if plan.kv_cache != base.kv_cache:
        text += f", {plan.kv_cache} KV cache"
    e, b = plan.engine, base.engine
    if e.max_num_seqs != b.max_num_seqs and e.max_num_seqs:
        text += f", max_num_seqs {e.max_num_seqs}"
    if e.gpu_memory_utilization != b.gpu_memory_utilization and e.gpu_memory_utilization:
        text += f", memory fraction {e.gpu_memory_utilization:g}"
    if e.max_num_batched_tokens != b.max_num_batched_tokens and e.max_num_batched_tokens:
        text += f", max_num_batched_tokens {e.max_num_batched_tokens}"
    return text


def _reason(objective: Objective, c_report: Report, shape: str, price: Price, rig_gpus: int) -> str:
    perf, rig = c_report.performance, c_report.rig_speed()
    assert perf is not None and rig is not None
    speed = (
        f"{rig.output_tokens_per_s:,.0f} tok/s at {plural(perf.concurrency, 'user')}, "
        f"TTFT {rig.ttft_s * 1000:,.0f} ms, TPOT {rig.tpot_s * 1000:,.1f} ms"
        + (" (GPUs and system RAM together)" if rig.with_host else "")
    )
    used = "" if price.gpus == rig_gpus else f" on {price.gpus} of {rig_gpus} GPUs"
    if objective == "latency":
        seconds = rig.ttft_s + max(perf.output_tokens - 1, 0) * rig.tpot_s
        lead = f"a {perf.output_tokens:,}-token answer in {seconds:,.1f} s"
    elif objective == "context":
        lead = f"{c_report.kv_cache.max_context_at_concurrency:,} tokens per sequence"
    elif objective == "cost":
        lead = f"{price.watts / max(rig.output_tokens_per_s, 1e-9):.2f} J per token"
    elif objective == "users":
        lead = f"{perf.concurrency:,} users"
    else:
        lead = f"{rig.output_tokens_per_s:,.0f} tok/s"
    limit = c_report.performance.bottleneck_detail if c_report.performance else None
    why = f"; limited by {limit.what}" if limit is not None else ""
    return f"{shape}{used}: {lead} ({speed}){why}"


@dataclass(frozen=True)
class _Shape:
    tp: int
    pp: int
    dp: int
    ep: int
    weights: str
    kv: str


def _shapes(
    plan: Plan, catalog: Catalog, order: list[tuple[str, str, GpuSpec]], space: Space
) -> list[_Shape]:
    model = plan.model_spec or catalog.model(plan.model)
    engine = catalog.engine(plan.engine.engine)
    n = len(order)
    nodes: dict[str, int] = {}
    for _, node, _ in order:
        nodes[node] = nodes.get(node, 0) + 1
    out: list[_Shape] = []
    formats = [
        (w, k) for w in (space.weights or (plan.weights,)) for k in (space.kv_cache or (plan.kv_cache,))
    ]
    for tp in _tp_degrees(model, max(nodes.values()), engine.supports_tp):
        for pp in range(1, min(n // tp, model.num_layers) + 1):
            if pp > 1 and not engine.supports_pp:
                break
            if space.pp_powers_of_two and pp & (pp - 1):
                continue
            if tp * pp < space.min_replica_gpus:
                continue
            dp = n // (tp * pp)  # more replicas never lose users or tokens/s: DP takes what is left
            if space.use_all and tp * pp * dp != n:
                continue
            if not _tp_groups_in_nodes(order, tp, tp * pp * dp):
                continue
            for ep in _ep_degrees(model, tp, dp, engine.supports_ep):
                if space.only and (tp, pp, ep) not in space.only:
                    continue
                for w, k in formats:
                    out.append(_Shape(tp, pp, dp, ep, w, k))
    return out


def _memory_bound_ok(
    shape: _Shape, model: ModelSpec, catalog: Catalog, order: list[tuple[str, str, GpuSpec]]
) -> bool:
    """A replica's GPUs hold at least its weights (a bound: the fit model decides)."""
    per_replica = order[: shape.tp * shape.pp]
    room = sum(g.capacity_bytes for _, _, g in per_replica)
    return _weight_bytes(model, catalog.precision(shape.weights).bytes_per_element) < room


def _with_engine(plan: Plan, shape: _Shape, engine_split: bool) -> Plan:
    if not engine_split:
        return plan
    mode: Literal["layer", "row"] = "row" if shape.tp > 1 else "layer"  # llama.cpp: row splits matrices
    return plan.model_copy(update={"engine": plan.engine.model_copy(update={"split_mode": mode})})


def _build(plan: Plan, shape: _Shape, order: list[tuple[str, str, GpuSpec]], catalog: Catalog) -> Plan:
    model = plan.model_spec or catalog.model(plan.model)
    engine = catalog.engine(plan.engine.engine)
    ids = [gid for gid, _, _ in order]
    layout = layout_from_order(ids, model.num_layers, shape.tp, shape.pp, shape.dp, shape.ep)
    out = plan.model_copy(update={"layout": layout, "weights": shape.weights, "kv_cache": shape.kv})
    out = _with_engine(out, shape, bool(engine.split_modes))
    used = [g for _, _, g in order[: shape.tp * shape.pp * shape.dp]]
    if shape.pp > 1 and len({g.id for g in used}) > 1:
        # unequal GPUs: stage boundaries where each stage's memory is (auto-balance 'fit')
        out = out.model_copy(update={"layout": balance_layout(out, "fit", catalog)})
    return out


def _at(plan: Plan, concurrency: int) -> Plan:
    w = plan.workload
    return plan.model_copy(update={"workload": Workload(**{**w.model_dump(), "concurrency": concurrency})})


def pareto_front(candidates: Sequence[Candidate]) -> list[FrontPoint]:
    """Points of every candidate's throughput curve no other point beats on both total tokens/s and
    tokens/s per user, by rising tokens/s per user."""
    points: list[FrontPoint] = []
    for i, c in enumerate(candidates):
        perf = c.report.performance
        if perf is None or not c.report.fits:
            continue
        for cp in perf.curve:
            points.append(FrontPoint(i, cp.concurrency, cp.output_tokens_per_s, cp.tokens_per_s_per_user))
    points.sort(key=lambda p: (-p.tokens_per_s_per_user, -p.output_tokens_per_s))
    front: list[FrontPoint] = []
    best_total = -1.0
    for p in points:
        if p.output_tokens_per_s > best_total:
            front.append(p)
            best_total = p.output_tokens_per_s
    front.reverse()
    return front


def _candidate(
    plan: Plan, base: Plan, objective: Objective, target: Target, catalog: Catalog, rig_gpus: int
) -> tuple[Candidate | None, FitResult | None]:
    resolved = resolve_plan(plan, catalog)
    fit = fit_memory(resolved)
    if plan.engine.offloads:
        # layers or experts in system RAM: the plan as drawn, at its own users (the host's share is
        # evaluate's to work out; the search keeps the model where the plan puts it)
        final = plan
    else:
        if any(f.fixed > f.budget for f in fit.gpus) or _concurrency_limit(fit) < 1:
            return None, fit
        n = _operating_point(resolved, fit, objective, target)
        final = _at(plan, min(n, MAX_CONCURRENCY))
    report = evaluate_resolved(resolve_plan(final, catalog))
    if not report.fits or report.performance is None:
        return None, fit
    specs = resolved.gpu_specs
    price = rig_price([specs[g] for g in layout_gpu_ids(final.layout)])
    score, value, unit = _score(objective, report, price)
    shape = _shape(final, base)
    return (
        Candidate(
            plan=final,
            report=report,
            score=score,
            value=value,
            unit=unit,
            reason=_reason(objective, report, shape, price, rig_gpus),
            meets=_meets(report, target),
            shape=shape,
            price=price,
            slo_met=_slo_met(report, target),
        ),
        fit,
    )


def _rank_key(c: Candidate) -> tuple[float, ...]:
    perf = c.report.performance
    tie = perf.output_tokens_per_s if perf else 0.0
    return (1.0 if c.meets else 0.0, c.score, tie, -c.price.gpus, -c.price.watts)


def _more_seqs(plan: Plan, fit: FitResult, resolved_seqs: int) -> Plan | None:
    """The same plan with ``max_num_seqs`` raised to what the KV cache holds, when the engine's default
    caps the users below it."""
    dp = plan.layout.dp
    by_kv = min(fit.replica_capacity_tokens) // max(fit.context_tokens, 1)
    if fit.max_concurrency >= by_kv * dp or by_kv <= resolved_seqs:
        return None
    seqs = min(by_kv, MAX_CONCURRENCY)
    return plan.model_copy(update={"engine": plan.engine.model_copy(update={"max_num_seqs": seqs})})


def recommend_layouts(
    plan: Plan,
    objective: Objective = "throughput",
    target: Target | None = None,
    *,
    space: Space | None = None,
    top: int = 10,
    catalog: Catalog | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> Search:
    """The best layouts of ``plan``'s rig for ``objective``, best first.

    Raises :class:`PlanError` for an unknown objective or a rig without GPUs.
    """
    if objective not in OBJECTIVES:
        raise PlanError(f"unknown objective '{objective}'", fix=f"use one of: {', '.join(OBJECTIVES)}")
    cat = catalog or default_catalog()
    target = target or Target()
    space = space or Space()
    order = _ordered_gpus(plan, cat)
    if not order:
        raise PlanError("the rig has no GPUs", fix="add GPUs or a server to the rig first")
    model = plan.model_spec or cat.model(plan.model)
    for ref in (*space.weights, *space.kv_cache):
        cat.precision(ref)  # an unknown format is bad input, named here
    for fraction in space.memory_fractions:
        if not 0 < fraction <= 1:
            raise PlanError(f"a memory fraction of {fraction:g} is not in (0, 1]", fix="use e.g. 0.9 or 0.95")
    for tokens in space.batched_tokens:
        if not 0 < tokens <= MAX_TOKENS:
            raise PlanError(f"max_num_batched_tokens {tokens} is out of range", fix="use e.g. 2048 or 8192")
    search = Search(objective=objective, target=target)
    shapes = _shapes(plan, cat, order, space)
    search.tried = len(shapes)
    found: dict[str, Candidate] = {}
    fits: dict[str, FitResult] = {}

    def consider(p: Plan) -> None:
        try:
            c, fit = _candidate(p, plan, objective, target, cat, len(order))
        except PlannerError:
            search.pruned += 1
            return
        if c is None:
            search.pruned += 1
            return
        search.evaluated += 1
        key = p.layout.model_dump_json() + p.weights + p.kv_cache + p.engine.model_dump_json()
        if key not in found or _rank_key(c) > _rank_key(found[key]):
            found[key] = c
            assert fit is not None
            fits[key] = fit

    # the plan's own layout is where the search starts: a recommendation never loses to it
    if space.include_own and (not space.use_all or len(layout_gpu_ids(plan.layout)) == len(order)):
        consider(plan)
    for i, shape in enumerate(shapes):
        if cancelled is not None and cancelled():
            search.cancelled = True
            break
        if progress is not None:
            progress(i, len(shapes))
        if not _memory_bound_ok(shape, model, cat, order):
            search.pruned += 1
            continue
        try:
            built = _build(plan, shape, order, cat)
        except PlannerError:
            search.pruned += 1
            continue
        consider(built)
    # engine settings that matter, on the best few: max_num_seqs where it caps the users
    if space.tune_max_num_seqs and objective in ("throughput", "users", "cost") and not search.cancelled:
        ranked = sorted(found, key=lambda k: _rank_key(found[k]), reverse=True)[:4]
        for key in ranked:
            c = found[key]
            r = resolve_plan(c.plan, cat)
            more = _more_seqs(c.plan, fits[key], r.settings.max_num_seqs)
            if more is not None:
                consider(more)
    # the memory fraction and the prefill chunk asked for, on the best few
    if (space.memory_fractions or space.batched_tokens) and not search.cancelled:
        ranked = sorted(found, key=lambda k: _rank_key(found[k]), reverse=True)[:4]
        for key in ranked:
            base_plan = found[key].plan
            for share in (None, *space.memory_fractions):
                for chunk in (None, *space.batched_tokens):
                    if share is None and chunk is None:
                        continue
                    update: dict[str, Any] = {}
                    if share is not None:
                        update["gpu_memory_utilization"] = share
                    if chunk is not None:
                        update["max_num_batched_tokens"] = chunk
                    engine_settings = base_plan.engine.model_copy(update=update)
                    consider(base_plan.model_copy(update={"engine": engine_settings}))
    if progress is not None:
        progress(len(shapes), len(shapes))
    ranked_all = sorted(found.values(), key=_rank_key, reverse=True)
    search.candidates = ranked_all[: max(1, top)]
    search.pareto = pareto_front(search.candidates)
    if not ranked_all:
        search.message = (
            f"no layout of {len(order)} GPU{'s' if len(order) != 1 else ''} fits {model.name} with "
            f"{plan.weights} weights"
        )
    elif not ranked_all[0].meets:
        search.message = f"no layout meets the target ({target.describe()}); the closest are shown"
    return search


# -- the rig search ----------------------------------------------------------------------------------
def _per_node(gpu: GpuSpec, catalog: Catalog) -> int:
    """How many of ``gpu`` a server holds: its template's slots, else 8 (datacenter) or 4 (desks)."""
    for template in catalog.nodes.values():
        if template.gpu == gpu.id:
            return template.slots
    return 8 if gpu.gpu_class == "datacenter" else 4


def _probe_users(
    plan: Plan,
    space: Space,
    target: Target,
    catalog: Catalog,
    fitted: set[tuple[int, int]],
    most_replicas: Callable[[int], int],
) -> dict[tuple[int, int, int], int]:
    """Users per replica within the target, for each replica shape the space allows: the rig search's
    cheap first look (fit and ``speeds`` only; every rig it reports is searched and evaluated in full).

    ``fitted`` holds the (TP, EP) whose replica already fitted with fewer stages: a deeper pipeline of
    them is not probed (more replicas serve more users than more stages). ``most_replicas(k)``: how
    many replicas of ``k`` GPUs the largest rig holds; a replica whose KV cache cannot reach the target
    even then gets no speed estimate."""
    order = _ordered_gpus(plan, catalog)
    model = plan.model_spec or catalog.model(plan.model)
    out: dict[tuple[int, int, int], int] = {}
    added: set[tuple[int, int]] = set()
    for shape in _shapes(plan, catalog, order, space):
        if (shape.tp, shape.ep) in fitted or not _memory_bound_ok(shape, model, catalog, order):
            continue
        try:
            built = _build(plan, shape, order, catalog)
            r = resolve_plan(built, catalog)
        except PlannerError:
            continue
        fit = fit_memory(r)
        if any(f.fixed > f.budget for f in fit.gpus) or fit.max_concurrency < 1:
            continue
        added.add((shape.tp, shape.ep))
        per_replica = fit.max_concurrency // shape.dp
        wanted = target.users or 1
        users = 0 if per_replica * most_replicas(shape.tp * shape.pp) < wanted else _slo_users(r, fit, target)
        key = (shape.tp, shape.pp, shape.ep)
        out[key] = max(out.get(key, 0), users // shape.dp)
    fitted |= added
    return out


def _rig_plan(
    model: ModelSpec,
    gpu: GpuSpec,
    count: int,
    catalog: Catalog,
    engine: str,
    weights: str,
    kv_cache: str | None,
    users: int,
    input_tokens: int,
    output_tokens: int,
    link: str | None = None,
) -> Plan | None:
    """``count`` of ``gpu`` in servers of its template's size, with its default links or ``link``
    between its GPUs (None: the engine cannot run it)."""
    per_node = _per_node(gpu, catalog)
    nodes = math.ceil(count / per_node)
    per = min(count, per_node)
    try:
        plan = quick_plan(
            model=model.id,
            gpu=gpu.id,
            gpus_per_node=per,
            nodes=nodes,
            tp=1,
            dp=per * nodes,
            engine=engine,
            weights=weights,
            kv_cache=kv_cache,
            concurrency=min(users, MAX_CONCURRENCY),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            link=link,
            catalog=catalog,
        )
    except PlannerError:
        return None
    joined = f" with {catalog.link(link).name}" if link else ""
    return plan.model_copy(update={"name": f"{model.name} on {per * nodes}× {gpu.name}{joined}"})


def rig_links(gpu: GpuSpec, catalog: Catalog) -> list[str | None]:
    """The interconnects a rig of ``gpu`` is tried with: its default (None: NVSwitch on SXM boards, its
    own fabric on OAM, PCIe otherwise) and, for cards with a bridge or direct links of their own
    (NVLink bridges, xGMI, NVLink between PCIe cards), those too."""
    out: list[str | None] = [None]
    native = gpu.native_link
    direct = ("nvlink-bridge", "nvlink", "infinity-fabric")
    if (
        native
        and native in catalog.links
        and gpu.form_factor == "pcie"
        and catalog.links[native].kind in direct
    ):
        out.append(native)
    return out


@dataclass
class RigSearch:
    target: Target
    rank: RigRank
    rigs: list[Candidate] = field(default_factory=list)  # each a rig with its best layout, best first
    tried: int = 0  # rigs considered
    pruned: int = 0  # rigs set aside by memory alone
    cancelled: bool = False
    message: str = ""

    def to_json_dict(self, plan_json: Callable[[Plan], dict[str, Any]] | None = None) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "objective": f"rig:{self.rank}",
            "target": self.target.__dict__,
            "candidates": [c.to_json_dict(plan_json) for c in self.rigs],
            "searched": {"rigs": self.tried, "pruned_by_memory": self.pruned},
            "cancelled": self.cancelled,
            "message": self.message,
        }


def _rig_key(rank: RigRank) -> Callable[[Candidate], tuple[float, ...]]:
    def key(c: Candidate) -> tuple[float, ...]:
        perf = c.report.performance
        rate = perf.output_tokens_per_s if perf else 0.0
        joules = c.price.watts / max(rate, 1e-9)
        if rank == "cost":
            return (joules, *c.price.key)
        return (*c.price.key, joules)

    return key


def recommend_rigs(
    model: str,
    users: int,
    *,
    target: Target | None = None,
    gpus_from: Iterable[str] | None = None,
    max_gpus: int = 64,
    engine: str = "vllm",
    weights: str = "bf16",
    kv_cache: str | None = None,
    input_tokens: int = 1024,
    output_tokens: int = 256,
    rank: RigRank = "capex",
    top: int = 10,
    catalog: Catalog | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> RigSearch:
    """Rigs from the catalog that serve ``users`` at the target, cheapest first (``rank``)."""
    if rank not in RIG_RANKS:
        raise PlanError(f"unknown rig ranking '{rank}'", fix=f"use one of: {', '.join(RIG_RANKS)}")
    if not 1 <= max_gpus <= MAX_GPUS:
        raise PlanError(f"--max-gpus must be from 1 to {MAX_GPUS:,}, not {max_gpus}", fix="pass e.g. 64")
    cat = catalog or default_catalog()
    spec = cat.model(model)
    kinds = [cat.gpu(g) for g in gpus_from] if gpus_from else list(cat.gpus.values())
    goal = replace(target or Target(), users=users)
    search = RigSearch(target=goal, rank=rank)
    need = _weight_bytes(spec, cat.precision(weights).bytes_per_element)
    counts = [n for n in RIG_COUNTS if n <= max_gpus]
    if max_gpus not in counts and max_gpus < RIG_COUNTS[-1]:
        counts.append(max_gpus)
    jobs = [(g, link, n) for g in kinds for link in rig_links(g, cat) for n in counts]
    done_kinds: set[str] = set()  # GPU kind and link
    per_replica: dict[str, dict[tuple[int, int, int], int]] = {}  # kind -> (tp, pp, ep) -> users
    fitted_shapes: dict[str, set[tuple[int, int]]] = {}  # kind -> (tp, ep) that fitted
    for i, (gpu, link, count) in enumerate(jobs):
        if cancelled is not None and cancelled():
            search.cancelled = True
            break
        if progress is not None:
            progress(i, len(jobs))
        kind = f"{gpu.id}|{link or ''}"
        if kind in done_kinds or (link is not None and count < 2):
            continue
        search.tried += 1
        if count * gpu.capacity_bytes <= need:
            search.pruned += 1
            continue
        base = _rig_plan(
            spec, gpu, count, cat, engine, weights, kv_cache, users, input_tokens, output_tokens, link
        )
        if base is None:
            search.pruned += 1
            continue
        # Probe the replicas this count makes possible (dp = 1); a replica shape seen at a smaller count
        # serves count // its GPUs times its users. Only a count that can reach the target is searched.
        seen = per_replica.setdefault(kind, {})
        smaller = max((c for c in counts if c < count), default=0)
        probe = Space(include_own=False, pp_powers_of_two=True, min_replica_gpus=smaller + 1)
        fitted = fitted_shapes.setdefault(kind, set())
        for key, u in _probe_users(base, probe, goal, cat, fitted, lambda k: max(counts) // k).items():
            seen[key] = max(seen.get(key, 0), u)
        reaching = frozenset(k for k, u in seen.items() if count // (k[0] * k[1]) * u >= users)
        if not reaching:
            continue
        full = Space(include_own=False, pp_powers_of_two=True, only=reaching)
        best = recommend_layouts(base, "users", goal, space=full, top=1, catalog=cat).best
        if best is not None and best.meets:
            search.rigs.append(best)
            done_kinds.add(kind)
    if progress is not None:
        progress(len(jobs), len(jobs))
    search.rigs.sort(key=_rig_key(rank))
    search.rigs = search.rigs[: max(1, top)]
    if not search.rigs:
        search.message = f"no rig of up to {max_gpus} GPUs serves {users:,} users at {goal.describe()}"
    return search


def layout_using_all(
    plan: Plan, catalog: Catalog | None = None, cancelled: Cancelled | None = None
) -> Candidate | None:
    """The best throughput layout that uses every GPU of the rig (None when none fits, or cancelled):
    what the window offers when GPUs join a rig the layout leaves unused."""
    found = recommend_layouts(
        plan, "throughput", space=Space(use_all=True), top=1, catalog=catalog, cancelled=cancelled
    )
    return None if found.cancelled else found.best
