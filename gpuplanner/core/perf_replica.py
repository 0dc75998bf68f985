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
from dataclasses import dataclass, field
from itertools import pairwise

from gpuplanner.core.calibration import calibration, calibration_generation, user_scales
from gpuplanner.core.collectives import Band, custom_allreduce_applies, p2p_time_s
from gpuplanner.core.perf_model import (
    ACT_BYTES,
    StageShape,
    StepTime,
    layer_profile,
    prefill_stage_time,
    stage_step,
)
from gpuplanner.core.resolve import ResolvedGpu, ResolvedPlan
from gpuplanner.core.topology import Hop, path_between, ring_for_group


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

    def prefill_marginal_s(self, prompt: int, band: Band = "mid") -> float:
        """Extra seconds a prompt adds when its chunks ride along decode steps (continuous batching)."""
        hit = self.memo.get(("marginal", prompt, band))
        if isinstance(hit, float):
            return hit
        per_stage = [prefill_stage_time(s, prompt, self.chunk, band, compute_only=True) for s in self.stages]
        seconds = max(per_stage) if self.pp > 1 else per_stage[0]
        self.memo[("marginal", prompt, band)] = seconds
        return seconds


def _stage_shape(r: ResolvedPlan, gpus: list[ResolvedGpu], replica: int, stage: int) -> StageShape:
    rig, catalog = r.plan.rig, r.catalog
    ids = [g.id for g in gpus]
    tp_hops = tuple(ring_for_group(rig, catalog, ids))
    ep = r.ep
    ep_hops: tuple[Hop, ...] = ()
    if r.model.moe is not None and ep > 1:
        if ep <= len(ids):
            ep_hops = tuple(ring_for_group(rig, catalog, ids[:ep]))
        else:  # the EP group spans the same stage of neighbouring replicas
            group: list[str] = []
            first = replica - replica % max(1, ep // len(ids))
            for rep in range(first, min(r.dp, first + ep // len(ids))):
                group += [g.id for g in r.gpus if g.replica == rep and g.stage == stage]
            ep_hops = tuple(ring_for_group(rig, catalog, group))
    slowest = min((g.spec for g in gpus), key=lambda spec: spec.hbm_bandwidth_gbps)
    embed_bpe = r.weights.embedding_bytes_per_element
    overhead = calibration().overhead_for(r.engine.id, r.settings.version)
    memory_scale, compute_scale = user_scales(slowest.id, r.engine.id)
    layer_us = r.engine.layer_overhead_us or overhead.layer_us
    if r.settings.enforce_eager:  # every kernel launched from Python: no CUDA graph replays them
        layer_us += overhead.eager_layer_us
    return StageShape(
        model=r.model,
        gpu=slowest,
        layers=gpus[0].layers,
        tp=len(ids),
        ep=ep,
        weight_bpe=r.weights.bytes_per_element,
        embed_bpe=embed_bpe,
        kv_bpe=r.kv.bytes_per_element,
        compute_dtype=r.weights.compute_dtype,
        first=gpus[0].first_stage,
        last=gpus[0].last_stage,
        tp_hops=tp_hops,
        ep_hops=ep_hops,
        layer_overhead_s=layer_us * 1e-6,
        moe_layer_overhead_s=(calibration().moe.layer_us + overhead.moe_layer_us) * 1e-6,
        gemm_efficiency=overhead.gemm_efficiency * compute_scale,
        custom_allreduce=custom_allreduce_applies(r.engine.id, tp_hops, len(ids)),
        memory_scale=memory_scale,
    )


_SHAPES: dict[tuple[object, ...], StageShape] = {}
_SHAPES_KEPT = 128  # with at most 256 step times each (about 450 bytes apiece): 15 MB at worst


def _alike(shape: StageShape) -> StageShape:
    """An earlier shape that times exactly like ``shape``, with its cache of step times, else ``shape``.

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
    )
    hit = _SHAPES.get(key)
    if hit is not None and hit.model is shape.model and hit.gpu is shape.gpu:
        return hit
    if len(_SHAPES) >= _SHAPES_KEPT:
        _SHAPES.clear()
    _SHAPES[key] = shape
    return shape


def build_replicas(r: ResolvedPlan) -> list[Replica]:
    """Every replica of ``r``; replicas with identical figures share one timing cache."""
    overhead = calibration().overhead_for(r.engine.id, r.settings.version)
    step_s = (r.engine.step_overhead_us or overhead.step_us) * 1e-6
    chunk = r.settings.max_num_batched_tokens
    shared: dict[tuple[object, ...], dict[tuple[object, ...], object]] = {}
    replicas = []
    by_stage: dict[tuple[int, int], list[ResolvedGpu]] = {}
    for g in r.gpus:  # layout order: replica, stage, TP rank
        by_stage.setdefault((g.replica, g.stage), []).append(g)
    for rep in range(r.dp):
        stage_gpus = [by_stage[(rep, s)] for s in range(len(r.plan.layout.replicas[rep].stages))]
        stages = []
        for s, gpus in enumerate(stage_gpus):
            stages.append(_alike(_stage_shape(r, gpus, rep, s)))
        bounds = [
            path_between(r.plan.rig, r.catalog, a[0].id, b[0].id, streams=len(a))
            for a, b in pairwise(stage_gpus)
        ]
        key = (
            tuple((s.gpu.id, s.layers, s.tp, _hop_key(s.tp_hops), _hop_key(s.ep_hops)) for s in stages),
            _hop_key(tuple(bounds)),
        )
        memo = shared.setdefault(key, {})
        replicas.append(
            Replica(rep, stages, stage_gpus, bounds, step_s, chunk, key, memo, overhead.seq_us * 1e-6)
        )
    return replicas
