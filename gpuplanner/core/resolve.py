"""A plan with every catalog id looked up and its layout checked.

``resolve_plan`` is where bad input is caught: unknown ids, a layout that names a GPU the rig
does not have, layer ranges with gaps, a tensor-parallel degree the model cannot be split by.
Each raises a :class:`PlanError` whose message names the problem and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import count, repeat
from operator import attrgetter
from typing import Any, cast

from gpuplanner.core.catalog import Catalog
from gpuplanner.core.engine_rules import batch_defaults
from gpuplanner.core.errors import PlanError, PlannerError
from gpuplanner.core.identity_cache import IdentityCache
from gpuplanner.core.plan import GpuPlacement, Layout, Node, Plan, Rig, Stage
from gpuplanner.core.specs import EngineProfile, GpuSpec, ModelSpec, Precision, SplitMode


@dataclass(frozen=True)
class EffectiveSettings:
    """Engine settings with the engine's own defaults filled in (per GPU where the engine has them)."""

    gpu_memory_utilization: float
    kv_cache_free_fraction: float
    max_num_batched_tokens: int  # tokens per forward step: the prefill chunk (llama.cpp: --ubatch-size)
    max_num_seqs: int  # sequences decoded at once (llama.cpp: --parallel slots)
    max_model_len: int
    enforce_eager: bool
    kv_block_tokens: int
    version: str
    cuda_graph_max_batch: int = 0  # largest decode batch replayed as a CUDA graph; 0: eager or no graphs
    split_mode: SplitMode | None = None  # llama.cpp --split-mode; None for engines without one
    kv_unified: bool = False  # llama.cpp: slots share one cache, each up to the whole context


@dataclass(frozen=True)
class ResolvedGpu:
    id: str
    spec: GpuSpec
    node: Node
    placement: GpuPlacement
    replica: int
    stage: int
    tp_rank: int
    stage_tp: int
    layers: tuple[int, int]
    first_stage: bool
    last_stage: bool


_new = object.__new__
# the instance dict's own descriptor: cheaper than object.__setattr__(gpu, "__dict__", fields)
_set_gpu_dict = ResolvedGpu.__dict__["__dict__"].__set__
_gpu_id, _gpu_kind, _gpu_spec = attrgetter("id"), attrgetter("gpu"), attrgetter("spec")
_spec_id, _node_id, _replica = attrgetter("spec.id"), attrgetter("node.id"), attrgetter("replica")


class GpuViews:
    """What an evaluation reads about the layout-ordered GPUs as a whole (stages, kinds, servers,
    each GPU's place), each worked out on first use. ``resolve_plan`` keeps one per (rig, layout,
    catalog) with the GPUs it resolved, so an edit that leaves the rig and the layout alone (the
    workload, the engine, the model) pays for none of it again; views of other GPUs (a plan changed
    with ``dataclasses.replace``) are made afresh. Nothing here depends on anything else."""

    def __init__(self, gpus: tuple[ResolvedGpu, ...], layout: Layout) -> None:
        self.gpus = gpus
        self.layout = layout
        # the report's entries of these GPUs, by everything else they hold (``evaluate._gpu_reports``)
        self.report_parts: dict[tuple[object, ...], list[Any]] = {}
        # what other modules work out from these GPUs alone, by their own names (``perf_replica``'s
        # replica frames, with the rig and catalog they were made with)
        self.memo: dict[str, object] = {}

    @cached_property
    def by_stage(self) -> dict[tuple[int, int], tuple[ResolvedGpu, ...]]:
        """Each stage's GPUs by (replica, stage), in layout order: slices of ``gpus`` (which is in
        layout order; checked per stage), so no per-GPU work."""
        by_stage: dict[tuple[int, int], tuple[ResolvedGpu, ...]] = {}
        start = 0
        for rep, replica in enumerate(self.layout.replicas):
            for s, stage in enumerate(replica.stages):
                gpus = self.gpus[start : start + len(stage.gpus)]
                start += len(stage.gpus)
                if not gpus or gpus[0].replica != rep or gpus[0].stage != s or gpus[-1].stage != s:
                    return self._grouped()  # not in layout order after all
                by_stage[(rep, s)] = gpus
        return by_stage if start == len(self.gpus) else self._grouped()

    def _grouped(self) -> dict[tuple[int, int], tuple[ResolvedGpu, ...]]:
        grouped: dict[tuple[int, int], list[ResolvedGpu]] = {}
        for g in self.gpus:
            grouped.setdefault((g.replica, g.stage), []).append(g)
        return {key: tuple(gpus) for key, gpus in grouped.items()}

    @cached_property
    def specs(self) -> list[GpuSpec]:
        """Each GPU's spec, in order."""
        return list(map(_gpu_spec, self.gpus))

    @cached_property
    def kinds(self) -> dict[str, GpuSpec]:
        """Each GPU kind once, by id, in order of first use."""
        return dict(zip(map(_spec_id, self.gpus), self.specs, strict=True))

    @cached_property
    def replica_servers(self) -> int:
        """How many (replica, server) pairs the GPUs span: more than the replicas when one spans servers."""
        return len(set(zip(map(_replica, self.gpus), map(_node_id, self.gpus), strict=True)))

    @cached_property
    def stage_ids(self) -> dict[tuple[int, int], list[str]]:
        """Each stage's GPU ids, by (replica, stage)."""
        return {key: list(map(_gpu_id, gpus)) for key, gpus in self.by_stage.items()}

    @cached_property
    def stage_spans_servers(self) -> dict[tuple[int, int], bool]:
        """Whether each stage's GPUs sit in more than one server, by (replica, stage)."""
        return {key: len(set(map(_node_id, gpus))) > 1 for key, gpus in self.by_stage.items()}

    @cached_property
    def places(self) -> tuple[list[object], ...]:
        """Each GPU's place in the layout, in order, a column per field: id, server id, replica,
        stage, tensor-parallel rank."""
        return tuple(
            list(map(attrgetter(name), self.gpus))
            for name in ("id", "node.id", "replica", "stage", "tp_rank")
        )


@dataclass(frozen=True)
class ResolvedPlan:
    plan: Plan
    catalog: Catalog
    model: ModelSpec
    weights: Precision
    kv: Precision
    engine: EngineProfile
    settings: EffectiveSettings
    gpus: tuple[ResolvedGpu, ...]  # layout order: replica, stage, tp rank
    idle_gpus: tuple[str, ...]
    gpu_specs: dict[str, GpuSpec]  # every GPU of the rig, used or idle
    placements: dict[str, tuple[Node, GpuPlacement]]
    experts_in_host_ram: bool = False  # llama.cpp --cpu-moe: routed experts live in system RAM (core.host)
    expert_host_layers: int = 0  # llama.cpp --n-cpu-moe N: the routed experts of layers [0, N) do
    # the views ``resolve_plan`` kept with ``gpus`` (see ``views``); not part of the plan's value
    known_views: GpuViews | None = field(default=None, compare=False, repr=False)

    @property
    def dp(self) -> int:
        return self.plan.layout.dp

    @property
    def pp(self) -> int:
        return self.plan.layout.pp

    @property
    def ep(self) -> int:
        return self.plan.layout.ep

    def stage_gpus(self, replica: int, stage: int) -> list[ResolvedGpu]:
        return [g for g in self.gpus if g.replica == replica and g.stage == stage]

    @cached_property
    def views(self) -> GpuViews:
        """Views of ``gpus`` (stages, kinds, places): the ones kept with these very GPUs and layout,
        else new."""
        known = self.known_views
        if known is not None and known.gpus is self.gpus and known.layout is self.plan.layout:
            return known
        return GpuViews(self.gpus, self.plan.layout)

    @property
    def by_stage(self) -> dict[tuple[int, int], tuple[ResolvedGpu, ...]]:
        """Each stage's GPUs by (replica, stage), in layout order (``GpuViews.by_stage``): worked out
        once per resolved GPUs (``dataclasses.replace`` with other GPUs makes new views)."""
        return self.views.by_stage


def _settings(
    plan: Plan, engine: EngineProfile, model: ModelSpec, gpus: list[GpuSpec], tp: int, pp: int
) -> EffectiveSettings:
    s = plan.engine
    max_len = s.max_model_len or model.max_position_embeddings
    if max_len > model.max_position_embeddings:
        raise PlanError(
            f"max_model_len {max_len} is longer than {model.name}'s limit of "
            f"{model.max_position_embeddings} tokens",
            fix=f"set max_model_len to {model.max_position_embeddings} or less",
        )
    own = batch_defaults(
        engine, gpus, tp, pp, max_num_seqs=s.max_num_seqs, max_num_batched_tokens=s.max_num_batched_tokens
    )
    split: SplitMode | None = None
    if engine.split_modes:
        split = s.split_mode or engine.split_modes[0]
    return EffectiveSettings(
        gpu_memory_utilization=s.gpu_memory_utilization
        or own.gpu_memory_utilization
        or engine.gpu_memory_utilization
        or 1.0,
        kv_cache_free_fraction=s.kv_cache_free_fraction or engine.kv_cache_free_fraction or 0.9,
        max_num_batched_tokens=own.max_num_batched_tokens,
        max_num_seqs=own.max_num_seqs,
        max_model_len=max_len,
        enforce_eager=s.enforce_eager,
        kv_block_tokens=engine.kv_block_tokens,
        version=s.version or engine.version,
        cuda_graph_max_batch=0 if s.enforce_eager else own.cuda_graph_max_batch or 0,
        split_mode=split,
        # llama-server: --parallel auto (not set) turns on the unified cache; an explicit -np does not
        kv_unified=split is not None and s.max_num_seqs is None,
    )


def _check_split_mode(
    r_gpus: Sequence[ResolvedGpu], settings: EffectiveSettings, engine: EngineProfile
) -> None:
    """llama.cpp's split modes: layer puts whole layers on each GPU, none uses one GPU."""
    mode = settings.split_mode
    if mode == "layer" and any(g.stage_tp > 1 for g in r_gpus):
        tp = max(g.stage_tp for g in r_gpus)
        raise PlanError(
            f"{engine.name} with --split-mode layer puts whole layers on each GPU, so a stage cannot span "
            f"{tp} GPUs",
            fix="give each stage one GPU (pipeline stages), or set split_mode to row to split every matrix "
            "of the stage across its GPUs",
        )
    if mode == "row" and any(g.stage > 0 for g in r_gpus):
        raise PlanError(
            f"{engine.name} with --split-mode row splits every matrix across all its GPUs, so the model is "
            "one stage, not a pipeline",
            fix="put all the replica's GPUs in one stage, or set split_mode to layer for a pipeline",
        )
    if mode == "none" and len(r_gpus) > 1:
        raise PlanError(
            f"{engine.name} with --split-mode none runs on its main GPU only, but the layout uses "
            f"{len(r_gpus)} GPUs",
            fix="use one GPU, or set split_mode to layer",
        )


def _check_stage_split(model: ModelSpec, stage: Stage, where: str) -> None:
    tp = stage.tp
    if model.num_attention_heads % tp:
        raise PlanError(
            f"{where}: tensor parallel {tp} does not divide {model.name}'s {model.num_attention_heads} "
            "attention heads",
            fix="use a TP degree that divides the head count (e.g. 1, 2, 4, 8)",
        )
    if tp > model.num_kv_heads and tp % model.num_kv_heads:
        raise PlanError(
            f"{where}: tensor parallel {tp} is above {model.num_kv_heads} KV heads but not a multiple of it",
            fix=f"use TP {model.num_kv_heads} or a multiple of it",
        )


def _place_gpus(plan: Plan, catalog: Catalog) -> _Placed:
    """Every GPU of the rig: its server and placement, and its kind's spec, by GPU id; and each kind's
    spec, by the kind as the rig names it.

    A server at a time, in C loops (this runs once per GPU of the rig on every edit); a rig with two
    GPUs of one id or an unknown kind is walked GPU by GPU, for the first one's message."""
    placements: dict[str, tuple[Node, GpuPlacement]] = {}
    gpu_specs: dict[str, GpuSpec] = {}
    spec_cache: dict[str, GpuSpec] = {}
    try:
        for node in plan.rig.nodes:
            gpus = node.gpus
            ids = list(map(_gpu_id, gpus))
            kinds = list(map(_gpu_kind, gpus))
            for kind in dict.fromkeys(kinds):
                if kind not in spec_cache:
                    spec_cache[kind] = catalog.gpu(kind)
            before = len(placements)
            placements.update(zip(ids, zip(repeat(node), gpus), strict=True))
            if len(placements) != before + len(ids):
                raise PlanError("two GPUs share an id")  # replaced by the walk's own message below
            gpu_specs.update(zip(ids, map(spec_cache.__getitem__, kinds), strict=True))
    except PlannerError:  # a taken id (PlanError) or an unknown kind (CatalogError)
        _walk_rig(plan, catalog)
        raise
    return placements, gpu_specs, spec_cache


def _walk_rig(plan: Plan, catalog: Catalog) -> None:
    """The first of the rig's GPUs whose id is taken or whose kind is unknown, as an error."""
    seen: set[str] = set()
    for node in plan.rig.nodes:
        for gpu in node.gpus:
            if gpu.id in seen:
                raise PlanError(f"two GPUs share the id '{gpu.id}'", fix="give every GPU its own id")
            catalog.gpu(gpu.gpu)
            seen.add(gpu.id)


def _check_stage_gpus(
    ids: Sequence[str], placements: dict[str, tuple[Node, GpuPlacement]], used: set[str], where: str
) -> None:
    """The first GPU of a stage that is not in the rig or is used twice, as an error."""
    seen = set(used)
    for gpu_id in ids:
        if gpu_id not in placements:
            raise PlanError(
                f"{where} uses GPU '{gpu_id}', which is not in the rig",
                fix="re-assign the stage to GPUs of the rig (Layout ▸ Auto-balance)",
            )
        if gpu_id in seen:
            raise PlanError(f"GPU '{gpu_id}' appears twice in the layout", fix="each GPU may serve one stage")
        seen.add(gpu_id)


def resolve_plan(plan: Plan, catalog: Catalog) -> ResolvedPlan:
    """Look up every id of ``plan`` in ``catalog`` and check the layout against the rig and model."""
    model = plan.model_spec or catalog.model(plan.model)
    weights = catalog.precision(plan.weights)
    kv = catalog.precision(plan.kv_cache)
    engine = catalog.engine(plan.engine.engine)
    if not weights.for_weights:
        raise PlanError(
            f"'{weights.id}' is a KV-cache format, not a weight format", fix="pick e.g. bf16 or fp8"
        )
    if not kv.for_kv_cache:
        raise PlanError(
            f"'{kv.id}' cannot store the KV cache", fix=f"pick one of: {', '.join(engine.kv_precisions)}"
        )
    layout = plan.layout
    known = _resolved_before(plan.rig, layout, catalog)
    if known is not None:  # this rig and layout passed their checks before: only the model's remain
        placements, gpu_specs, views, idle, _ = known
        _check_against_model(model, layout)
    else:
        known = _resolve_gpus(plan, catalog, model)
        _remember(plan.rig, layout, catalog, known)
        placements, gpu_specs, views, idle, _ = known
    resolved = views.gpus
    if model.moe is not None and layout.ep > 1 and model.moe.num_experts % layout.ep:
        raise PlanError(
            f"expert parallel {layout.ep} does not divide {model.moe.num_experts} experts",
            fix="use an EP degree that divides the expert count",
        )
    settings = _settings(plan, engine, model, views.specs, layout.tp, layout.pp)
    _check_split_mode(resolved, settings, engine)
    if model.moe is None and layout.ep > 1:
        raise PlanError(
            f"{model.name} has no experts, so expert parallel {layout.ep} means nothing", fix="set EP to 1"
        )
    return ResolvedPlan(
        plan=plan,
        catalog=catalog,
        model=model,
        weights=weights,
        kv=kv,
        engine=engine,
        settings=settings,
        gpus=resolved,
        idle_gpus=idle,
        gpu_specs=gpu_specs,
        placements=placements,
        known_views=views,
    )


_Resolved = tuple[
    dict[str, tuple[Node, GpuPlacement]], dict[str, GpuSpec], GpuViews, tuple[str, ...], dict[str, GpuSpec]
]
# (rig, layout, catalog) by identity -> what resolve_plan worked out from them alone. Plans are frozen,
# so an edited rig or layout is a new object; keeping them in the entry keeps their id()s from being
# reused while it lives (as topology's rig index does). A catalog's GPU can be replaced in place (the
# window's Custom GPU dialog): an entry is used only while the catalog still gives its kinds' specs.
_RESOLVED: IdentityCache[_Resolved] = IdentityCache(8)


def _resolved_before(rig: Rig, layout: Layout, catalog: Catalog) -> _Resolved | None:
    resolved = _RESOLVED.get(rig, layout, catalog)
    return resolved if resolved is not None and _specs_current(catalog, resolved[4]) else None


def _remember(rig: Rig, layout: Layout, catalog: Catalog, resolved: _Resolved) -> None:
    _RESOLVED.put(resolved, rig, layout, catalog)


def _specs_current(catalog: Catalog, kinds: dict[str, GpuSpec]) -> bool:
    """Whether ``catalog`` still gives each of ``kinds`` (a rig's GPU kinds, as it names them) that spec."""
    try:
        return all(catalog.gpu(kind) is spec for kind, spec in kinds.items())
    except PlannerError:
        return False


_Placed = tuple[dict[str, tuple[Node, GpuPlacement]], dict[str, GpuSpec], dict[str, GpuSpec]]
# (rig, catalog) by identity -> _place_gpus' result, for an edit of the layout alone (as _RESOLVED)
_PLACED: IdentityCache[_Placed] = IdentityCache(8)


def _placed_before(rig: Rig, catalog: Catalog) -> _Placed | None:
    placed = _PLACED.get(rig, catalog)
    return placed if placed is not None and _specs_current(catalog, placed[2]) else None


def _remember_placed(plan: Plan, catalog: Catalog) -> _Placed:
    return _PLACED.put(_place_gpus(plan, catalog), plan.rig, catalog)


def _check_against_model(model: ModelSpec, layout: Layout) -> None:
    """The layout's checks that depend on the model, in the order ``_resolve_gpus`` makes them: each
    stage's tensor-parallel split, then whether each replica covers every layer."""
    fine: set[int] = set()  # TP degrees the model splits by
    for r, replica in enumerate(layout.replicas):
        for s, stage in enumerate(replica.stages):
            if stage.tp not in fine:
                _check_stage_split(model, stage, f"replica {r + 1}, stage {s + 1}")
                fine.add(stage.tp)
        covered = replica.stages[-1].layers[1] if replica.stages else 0
        if covered != model.num_layers:
            raise PlanError(
                f"replica {r + 1} covers layers 0–{covered} but {model.name} has {model.num_layers}",
                fix=f"end the last stage at layer {model.num_layers}",
            )


def _resolve_gpus(plan: Plan, catalog: Catalog, model: ModelSpec) -> _Resolved:
    """Every GPU of the layout resolved, the layout checked against the rig and the model."""
    placements, gpu_specs, kinds = _placed_before(plan.rig, catalog) or _remember_placed(plan, catalog)
    if not placements:
        raise PlanError("the rig has no GPUs", fix="drag a GPU or a server from the palette onto the canvas")

    layout = plan.layout
    used: set[str] = set()
    resolved: list[ResolvedGpu] = []
    append = resolved.append
    for r, replica in enumerate(layout.replicas):
        expected_first = 0
        for s, stage in enumerate(replica.stages):
            where = f"replica {r + 1}, stage {s + 1}"
            first, last = stage.layers
            if first != expected_first:
                gap = "overlaps the previous stage" if first < expected_first else "leaves a gap"
                raise PlanError(
                    f"{where} starts at layer {first} but the previous stage ends at {expected_first}: it {gap}",
                    fix=f"start {where} at layer {expected_first}",
                )
            if last == first:
                raise PlanError(
                    f"{where} holds no layers", fix="give it at least one layer or remove the stage"
                )
            expected_first = last
            _check_stage_split(model, stage, where)
            # every GPU of the stage: a copy of these fields with its own id, kind, server and rank,
            # set straight into the frozen dataclass (its __init__'s one __setattr__ per field, once per
            # GPU, cost more than the rest of resolving a 512-GPU layout)
            shared: dict[str, object] = {
                "id": "",
                "spec": None,
                "node": None,
                "placement": None,
                "replica": r,
                "stage": s,
                "tp_rank": 0,
                "stage_tp": stage.tp,
                "layers": stage.layers,
                "first_stage": s == 0,
                "last_stage": s == len(replica.stages) - 1,
            }
            ids = stage.gpus
            where_gpus = list(map(placements.get, ids))
            # the stage's checks in C loops; a stage that fails one is walked GPU by GPU for the message
            if None in where_gpus or not used.isdisjoint(ids) or len(set(ids)) != len(ids):
                _check_stage_gpus(ids, placements, used, where)
            used.update(ids)
            placed = cast(list[tuple[Node, GpuPlacement]], where_gpus)  # all found: checked above
            own = zip(ids, map(gpu_specs.__getitem__, ids), placed, count())
            for gpu_id, spec, (node, placement), rank in own:
                fields = shared.copy()
                fields["id"] = gpu_id
                fields["spec"] = spec
                fields["node"] = node
                fields["placement"] = placement
                fields["tp_rank"] = rank
                made = _new(ResolvedGpu)
                _set_gpu_dict(made, fields)
                append(made)
        if expected_first != model.num_layers:
            raise PlanError(
                f"replica {r + 1} covers layers 0–{expected_first} but {model.name} has {model.num_layers}",
                fix=f"end the last stage at layer {model.num_layers}",
            )
    idle = tuple(g for g in placements if g not in used)
    return placements, gpu_specs, GpuViews(tuple(resolved), layout), idle, kinds
