"""One data-parallel replica as a pipeline of stages: decode cycle, prefill time, their parts.

Pipeline rule: with ``n`` sequences in flight the engine splits them into ``m = min(n, pp)``
micro-batches. One token of every sequence takes ``max(m * slowest stage, sum of stages + boundary
hops)``: a lone sequence walks the stages in turn (a slow GPU adds its whole share), and a full
pipeline is paced by its slowest stage; with fewer micro-batches than stages the rest are bubbles.
Identical replicas (same GPUs, layers and link figures) are timed once: a 512-GPU plan is usually
a few distinct replicas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from itertools import pairwise
from operator import attrgetter
from typing import cast

from gpuplanner.core.calibration import (
    Overhead,
    UserCalibration,
    calibration,
    calibration_generation,
    released_before,
    scales_for,
    user_calibration,
)
from gpuplanner.core.collectives import Band, custom_allreduce_applies, p2p_time_s
from gpuplanner.core.efficiency import fp16_accumulate_scale
from gpuplanner.core.perf_model import (
    ACT_BYTES,
    StageShape,
    StepTime,
    layer_profile,
    prefill_stage_time,
    stage_step,
)
from gpuplanner.core.resolve import ResolvedGpu, ResolvedPlan
from gpuplanner.core.topology import Hop, hop_figures, path_between, ring_with_key


def _hop_key(hops: tuple[Hop, ...]) -> tuple[tuple[object, ...], ...]:
    return tuple((h.link, h.bandwidth_bps, h.latency_s, h.peer_to_peer) for h in hops)


@dataclass
class Cycle:
    """One decode cycle of a replica: every in-flight sequence gains one token."""

    seconds: float
    micro_batches: int
    steps: list[StepTime]  # per stage, at the micro-batch size
    boundary_s: list[float]  # per stage boundary
    step_overhead_s: float


@dataclass
class Replica:
    """A replica's stages, boundary hops and its timing caches."""

    index: int
    stages: list[StageShape]
    stage_gpus: list[list[ResolvedGpu]]
    boundaries: list[Hop]
    step_overhead_s: float
    chunk: int
    key: tuple[object, ...]
    memo: dict[tuple[object, ...], object] = field(default_factory=dict)
    seq_overhead_s: float = 0.0  # per sequence in a decode step: scheduling, sampling, detokenising
    mixed: bool = True  # prompt chunks share decode steps; False: they run as their own prefill batches

    @property
    def pp(self) -> int:
        return len(self.stages)

    def cycle(self, n: int, context: float, band: Band = "mid") -> Cycle:
        """Decode cycle with ``n`` sequences in flight at mean cached length ``context`` (tokens)."""
        cache_key = ("cycle", n, round(context), band)
        hit = self.memo.get(cache_key)
        if isinstance(hit, Cycle):
            return hit
        m = max(1, min(n, self.pp))
        batch = math.ceil(n / m)
        steps = [stage_step(s, batch, batch, context, 1, band) for s in self.stages]
        bounds = self._hand_offs(batch, band)
        walk = sum(st.total_s for st in steps) + sum(bounds)
        paced = m * max(st.total_s for st in steps)
        fixed = self.step_overhead_s + self.seq_overhead_s * n
        result = Cycle(max(walk, paced) + fixed, m, steps, bounds, fixed)
        self.memo[cache_key] = result
        return result

    def _hand_offs(self, batch: int, band: Band) -> list[float]:
        """Seconds to send ``batch`` tokens' activations across each stage boundary."""
        hit = self.memo.get(("hand-off", batch, band))
        if isinstance(hit, list):
            return hit
        size = batch * self.stages[0].model.hidden_size * ACT_BYTES
        bounds = [p2p_time_s(size, h, band) for h in self.boundaries]
        self.memo[("hand-off", batch, band)] = bounds
        return bounds

    def prefill_s(self, prompt: int, band: Band = "mid") -> float:
        """Seconds to prefill one prompt on an idle replica (chunks pipelined across stages)."""
        hit = self.memo.get(("prefill", prompt, band))
        if isinstance(hit, float):
            return hit
        chunks = max(1, math.ceil(prompt / self.chunk))
        per_stage = [prefill_stage_time(s, prompt, self.chunk, band) for s in self.stages]
        hidden = self.stages[0].model.hidden_size
        chunk_tokens = min(prompt, self.chunk)
        bounds = sum(p2p_time_s(chunk_tokens * hidden * ACT_BYTES, h, band) for h in self.boundaries)
        first_chunk = sum(t / chunks for t in per_stage) + bounds
        seconds = first_chunk + (chunks - 1) * max(per_stage) / chunks + chunks * self.step_overhead_s
        self.memo[("prefill", prompt, band)] = seconds
        return seconds

    def batch_prefill_step_s(self, prompts: int, prompt: int, band: Band = "mid") -> float:
        """Seconds of one step prefilling ``prompts`` whole prompts of ``prompt`` tokens together
        (a static batch's context phase): every stage in turn, with the hand-offs between them."""
        key = ("batch-prefill", prompts, prompt, band)
        hit = self.memo.get(key)
        if isinstance(hit, float):
            return hit
        tokens = prompts * prompt
        seconds = sum(stage_step(s, tokens, prompts, 0, prompt, band).total_s for s in self.stages)
        hidden = self.stages[0].model.hidden_size
        seconds += sum(p2p_time_s(tokens * hidden * ACT_BYTES, h, band) for h in self.boundaries)
        seconds += self.step_overhead_s
        self.memo[key] = seconds
        return seconds

    def prefill_marginal_s(self, prompt: int, band: Band = "mid", per_step: float = 1.0) -> float:
        """Extra seconds a prompt adds when its chunks ride along decode steps (continuous batching).

        ``per_step``: how many new prompts a decode step takes on (``n / output_tokens`` with ``n``
        users: as many requests end each step as begin). Prompts that start in the same step share its
        batched-token budget (``chunk``), so their matmuls run as one batch of their tokens together,
        not one prompt at a time: what matters for mixture-of-experts models, whose experts each see
        ``k / E`` of those tokens (8 tokens an expert for a 256-token prompt of gpt-oss-120b, 64 when
        eight prompts share a step). An engine that does not mix (``mixed`` False: SGLang) runs the
        waiting prompts as a prefill batch of their own while decoding waits: each costs its share of
        that whole forward pass (weights read, launches), not only its matmuls."""
        together = 1
        if per_step > 1 and prompt < self.chunk:
            together = max(1, min(round(per_step), self.chunk // max(prompt, 1)))
        key = ("marginal", prompt, band, together)
        hit = self.memo.get(key)
        if isinstance(hit, float):
            return hit
        if not self.mixed:
            seconds = (
                self.batch_prefill_step_s(together, prompt, band) / together
                if together > 1
                else self.prefill_s(prompt, band)
            )
            self.memo[key] = seconds
            return seconds
        if together > 1:
            per_stage = [
                stage_step(s, prompt * together, together, 0, prompt, band).riding_s / together
                for s in self.stages
            ]
        else:
            per_stage = [
                prefill_stage_time(s, prompt, self.chunk, band, compute_only=True) for s in self.stages
            ]
        seconds = max(per_stage) if self.pp > 1 else per_stage[0]
        self.memo[key] = seconds
        return seconds


@dataclass(frozen=True)
class _PlanFigures:
    """What every stage shape of one evaluation shares: read once per ``build_replicas``, not per stage
    (the calibration's overheads, the user calibration file)."""

    layer_s: float
    moe_layer_s: float
    gemm_efficiency: float
    user: UserCalibration
    kv_read_factor: float = 1.0  # decode attention's KV traffic over the cache's size (see kv_reread)

    @staticmethod
    def of(r: ResolvedPlan) -> _PlanFigures:
        cal = calibration()
        overhead = cal.overhead_for(r.engine.id, r.settings.version)
        layer_us = r.engine.layer_overhead_us or overhead.layer_us
        if r.settings.enforce_eager:  # every kernel launched from Python: no CUDA graph replays them
            layer_us += overhead.eager_layer_us
        return _PlanFigures(
            layer_us * 1e-6,
            (cal.moe.layer_us + overhead.moe_layer_us) * 1e-6,
            overhead.gemm_efficiency,
            user_calibration(),
            kv_reread(r, overhead),
        )


def kv_reread(r: ResolvedPlan, overhead: Overhead) -> float:
    """How many times decode attention reads each KV head: once with a GQA-aware kernel, once per query
    head of its group on releases older than ``overhead.kv_per_query_head_before`` (TensorRT-LLM before
    its XQA kernel, v0.8: the masked multi-head attention kernel ran one query head per thread block)."""
    m = r.model
    if m.mla is not None or not released_before(r.settings.version, overhead.kv_per_query_head_before):
        return 1.0
    return max(1.0, m.num_attention_heads / m.num_kv_heads)


def _ep_group(
    r: ResolvedPlan,
    by_stage: dict[tuple[int, int], tuple[ResolvedGpu, ...]],
    replica: int,
    stage: int,
    tp: int,
) -> list[str]:
    """GPU ids of an EP group wider than a stage: the same stage of neighbouring replicas."""
    group: list[str] = []
    first = replica - replica % max(1, r.ep // tp)
    for rep in range(first, min(r.dp, first + r.ep // tp)):
        group += [g.id for g in by_stage.get((rep, stage), ())]
    return group


def _stage_shape(
    r: ResolvedPlan,
    gpus: list[ResolvedGpu],
    tp_hops: tuple[Hop, ...],
    ep_hops: tuple[Hop, ...],
    figures: _PlanFigures,
) -> StageShape:
    slowest = min((g.spec for g in gpus), key=lambda spec: spec.hbm_bandwidth_gbps)
    memory_scale, compute_scale = scales_for(figures.user, slowest.id, r.engine.id)
    return StageShape(
        model=r.model,
        gpu=slowest,
        layers=gpus[0].layers,
        tp=len(gpus),
        ep=r.ep,
        weight_bpe=r.weights.bytes_per_element,
        embed_bpe=r.weights.embedding_bytes_per_element,
        kv_bpe=r.kv.bytes_per_element,
        compute_dtype=r.weights.compute_dtype,
        first=gpus[0].first_stage,
        last=gpus[0].last_stage,
        tp_hops=tp_hops,
        ep_hops=ep_hops,
        layer_overhead_s=figures.layer_s,
        moe_layer_overhead_s=figures.moe_layer_s,
        gemm_efficiency=figures.gemm_efficiency * compute_scale,
        custom_allreduce=custom_allreduce_applies(r.engine.id, tp_hops, len(gpus)),
        memory_scale=memory_scale,
        kv_read_factor=figures.kv_read_factor,
        tensor_scale=fp16_accumulate_scale(slowest, r.weights.compute_dtype, r.engine.fp16_accumulate),
        dequant_bpe=dequantised_bytes(r),
    )


def dequantised_bytes(r: ResolvedPlan) -> float:
    """Bytes per weight a prompt-size matmul moves to dequantise it first: the quantised weight read
    and an FP16 copy written, on llama.cpp builds before MMQ became the default (0 otherwise)."""
    bpe = r.weights.bytes_per_element
    if bpe >= 2 or not released_before(r.settings.version, r.engine.prefill_dequantises_before):
        return 0.0
    return bpe + 2.0


_SHAPES: dict[tuple[object, ...], StageShape] = {}
_SHAPES_KEPT = 128  # with at most 256 step times each (about 450 bytes apiece): 15 MB at worst


def _alike(shape: StageShape, seen: dict[tuple[object, ...], StageShape]) -> StageShape:
    """An earlier shape that times exactly like ``shape``, with its cache of step times, else ``shape``.

    ``seen`` holds this evaluation's shapes: one that times alike is returned as it is (the first
    stage of its kind stands for the rest, as the report has always listed them). A shape from an
    earlier evaluation lends only its caches: the hops and layers stay this plan's own, so what an
    estimate says never depends on which plans were evaluated before it.

    Stages that differ only in which layers they hold, not in what those layers weigh, take the same
    time: the middle stages of a uniform model, and - across evaluations - every stage an edit left
    alone. Moving one pipeline boundary then times two new shapes; the rest are dictionary lookups.
    The key holds every field a step time reads and the calibration in use; the model and GPU by identity (a catalog's specs are
    immutable, and an imported model is a new object), checked again on a hit.
    """
    key = (
        calibration_generation(),  # efficiencies, collectives and overheads come from the calibration
        id(shape.model),
        id(shape.gpu),
        layer_profile(shape.model, *shape.layers),
        shape.tp,
        shape.ep,
        shape.first,
        shape.last,
        _hop_key(shape.tp_hops),
        _hop_key(shape.ep_hops),
        shape.weight_bpe,
        shape.embed_bpe,
        shape.kv_bpe,
        shape.compute_dtype,
        shape.layer_overhead_s,
        shape.moe_layer_overhead_s,
        shape.gemm_efficiency,
        shape.custom_allreduce,
        shape.memory_scale,
        shape.kv_read_factor,
        shape.tensor_scale,
        shape.dequant_bpe,
    )
    mine = seen.get(key)
    if mine is not None:
        return mine
    hit = _SHAPES.get(key)
    if hit is not None and hit.model is shape.model and hit.gpu is shape.gpu:
        shape = replace(shape, bands=hit.bands, steps=hit.steps)
    else:
        if len(_SHAPES) >= _SHAPES_KEPT:
            _SHAPES.clear()
        _SHAPES[key] = shape
    seen[key] = shape
    return shape


class Replicas(list[Replica]):
    """A plan's replicas, in order, knowing which of them are identical (share one timing cache)."""

    _classes: list[tuple[Replica, list[int]]] | None = None  # see replica_classes
    _counted = 0  # how many replicas there were when _classes was worked out


def replica_classes(replicas: list[Replica]) -> list[tuple[Replica, list[int]]]:
    """Replicas grouped by their shared timing cache: (first replica, indices), in order."""
    if isinstance(replicas, Replicas):  # worked out once, again only if the list was changed in length
        if replicas._classes is None or replicas._counted != len(replicas):
            replicas._classes, replicas._counted = _classes_of(replicas), len(replicas)
        return replicas._classes
    return _classes_of(replicas)


def _classes_of(replicas: list[Replica]) -> list[tuple[Replica, list[int]]]:
    found: dict[int, tuple[Replica, list[int]]] = {}
    for i, rep in enumerate(replicas):
        entry = found.get(id(rep.memo))
        if entry is None:
            found[id(rep.memo)] = (rep, [i])
        else:
            entry[1].append(i)
    return list(found.values())


_spec, _id = attrgetter("spec"), attrgetter("id")
_NO_RING: tuple[tuple[Hop, ...], int] = ((), -1)


@dataclass(frozen=True)
class _Frame:
    """What ``build_replicas`` reads of one replica that the rig, the layout and the catalog decide
    alone: its stages' GPUs and tensor-parallel rings, its boundary hops, and numbers for its stages'
    and its own likeness (equal for stages of equal GPU kinds, layers, position and ring figures,
    and for replicas of equal stages and boundary figures)."""

    stage_gpus: list[tuple[ResolvedGpu, ...]]
    stage_ids: list[tuple[str, ...]]
    rings: list[tuple[tuple[Hop, ...], int]]
    stage_classes: tuple[int, ...]
    bounds: list[Hop]
    bound_figures: tuple[tuple[object, ...], ...]
    likeness: int


def _frames(r: ResolvedPlan) -> list[_Frame]:
    """Every replica's :class:`_Frame`, kept with the resolved GPUs' views (which ``resolve_plan``
    keeps per rig, layout and catalog) for this rig and catalog: an edit that leaves them and the
    layout alone costs no ring, hop or key of them again."""
    views, rig, catalog = r.views, r.plan.rig, r.catalog
    kept = views.memo.get("replica frames")
    if isinstance(kept, tuple) and kept[0] is rig and kept[1] is catalog:
        return cast(list[_Frame], kept[2])
    by_stage = views.by_stage
    stage_classes: dict[tuple[object, ...], int] = {}
    replica_classes: dict[tuple[object, ...], int] = {}
    frames: list[_Frame] = []
    for rep, replica in enumerate(r.plan.layout.replicas):
        stage_gpus = [by_stage[(rep, s)] for s in range(len(replica.stages))]
        stage_ids = [tuple(map(_id, gpus)) for gpus in stage_gpus]
        rings = [ring_with_key(rig, catalog, ids) if len(ids) > 1 else _NO_RING for ids in stage_ids]
        classes = tuple(
            stage_classes.setdefault(
                # the GPU kinds (catalog objects, alive with the views), layers, position, ring figures
                (
                    tuple(map(id, map(_spec, gpus))),
                    gpus[0].layers,
                    gpus[0].first_stage,
                    gpus[0].last_stage,
                    ring[1],
                ),
                len(stage_classes),
            )
            for gpus, ring in zip(stage_gpus, rings, strict=True)
        )
        bounds = [
            path_between(rig, catalog, a[0].id, b[0].id, streams=len(a)) for a, b in pairwise(stage_gpus)
        ]
        figures = tuple(map(hop_figures, bounds))
        likeness = replica_classes.setdefault((classes, figures), len(replica_classes))
        frames.append(_Frame(stage_gpus, stage_ids, rings, classes, bounds, figures, likeness))
    views.memo["replica frames"] = (rig, catalog, frames)
    return frames


def build_replicas(r: ResolvedPlan) -> Replicas:
    """Every replica of ``r``; replicas with identical figures share one timing cache.

    The cost follows the distinct work, not the GPU count: a stage is costed once per distinct
    (GPU kinds, layers, position, link figures) within this call, and every replica with the same
    stages and boundary links shares those shapes and one timing cache. The rings, hops and keys of
    the rig and layout are kept with the resolved GPUs (:func:`_frames`). Nothing here outlives the
    call except :func:`_alike`'s cache, which is keyed on the calibration in use.
    """
    overhead = calibration().overhead_for(r.engine.id, r.settings.version)
    step_s = (r.engine.step_overhead_us or overhead.step_us) * 1e-6
    seq_s = overhead.seq_us * 1e-6
    chunk = r.settings.max_num_batched_tokens
    mixed = r.engine.mixes_prompts
    figures = _PlanFigures.of(r)
    rig, catalog = r.plan.rig, r.catalog
    moe_ep = r.model.moe is not None and r.ep > 1
    shared: dict[tuple[object, ...], dict[tuple[object, ...], object]] = {}
    # this call's distinct stages, cheaply keyed -> (shape, the stage's part of a replica's key)
    shapes: dict[tuple[object, ...], tuple[StageShape, tuple[object, ...]]] = {}
    alike: dict[tuple[object, ...], StageShape] = {}  # the same, by everything a step time reads
    # without expert parallelism a replica's stages follow from its frame's likeness alone
    built: dict[int, tuple[list[StageShape], tuple[object, ...], dict[tuple[object, ...], object]]] = {}
    replicas = Replicas()
    by_stage = r.by_stage

    for rep, frame in enumerate(_frames(r)):
        hit = None if moe_ep else built.get(frame.likeness)
        if hit is None:
            stages, stage_keys = [], []
            for s, gpus in enumerate(frame.stage_gpus):
                ids = frame.stage_ids[s]
                tp_hops, tp_key = frame.rings[s]
                ep_hops, ep_key = _NO_RING
                if moe_ep:
                    group = ids[: r.ep] if r.ep <= len(ids) else _ep_group(r, by_stage, rep, s, len(ids))
                    if len(group) > 1:
                        ep_hops, ep_key = ring_with_key(rig, catalog, tuple(group))
                local = (frame.stage_classes[s], ep_key)
                found = shapes.get(local)
                if found is None:
                    shape = _alike(_stage_shape(r, list(gpus), tp_hops, ep_hops, figures), alike)
                    # a shape found alike has hops of equal figures: the same keys
                    stage_key = (shape.gpu.id, shape.layers, shape.tp, tp_key, ep_key)
                    found = shapes[local] = (shape, stage_key)
                stages.append(found[0])
                stage_keys.append(found[1])
            key: tuple[object, ...] = (tuple(stage_keys), frame.bound_figures)
            hit = (stages, key, shared.setdefault(key, {}))
            if not moe_ep:
                built[frame.likeness] = hit
        stage_gpus = [list(gpus) for gpus in frame.stage_gpus]
        replicas.append(
            Replica(
                rep, list(hit[0]), stage_gpus, list(frame.bounds), step_s, chunk, hit[1], hit[2], seq_s, mixed
            )
        )
    return replicas
