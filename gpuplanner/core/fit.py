"""The fit model: a memory ledger for every GPU under the engine's own budgeting rules.

Per GPU, in bytes: weights (exact per-layer counts, split by TP and EP, embeddings on the first
stage and lm_head on the last), KV cache (what the engine gives it), activations (the engine's
profiling peak), communication buffers, runtime (CUDA context, CUDA graphs) and free.

Engine rules (see docs/estimates.md for the sources):
- vLLM: KV = total x gpu_memory_utilization - (weights + activation peak + non-torch memory);
  every rank then gets the smallest rank's number of KV blocks (memory above it strands).
- SGLang: the static pool (weights + KV) is total x mem_fraction_static; activations, CUDA
  graphs and the context live in the rest.
- TensorRT-LLM: KV = kv_cache_free_gpu_mem_fraction x the memory free after weights,
  activations and runtime.
- llama.cpp: the KV cache holds its context (--ctx-size, or the model's training context shrunk by
  --fit until every GPU keeps its margin free, not below 4096 tokens), whatever the workload; with
  --split-mode layer each GPU holds its layers' KV, with row every matrix is split over the stage's
  GPUs and the KV cache, norms and compute buffers stay on the main GPU.
- TGI: like vLLM, KV = total x cuda_memory_fraction x TGI_WIGGLE_ROOM (0.90) − what the prefill warmup
  left in use; shards share one block count; CUDA graphs are captured afterwards, in the headroom.
- ExLlamaV2 / Ollama: whole layers per GPU with their own KV for the configured context
  (Ollama: num_ctx x OLLAMA_NUM_PARALLEL).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from itertools import chain
from operator import attrgetter

import numpy as np

from gpuplanner.core.architecture import (
    embedding_params,
    final_norm_params,
    kv_bytes_for_sequence,
    layer_params,
    lm_head_params,
)
from gpuplanner.core.resolve import ResolvedGpu, ResolvedPlan
from gpuplanner.core.specs import GIB, ModelSpec

NORM_BYTES = 2  # norms and routers stay in 16-bit in every format we model


@dataclass
class GpuFit:
    gpu: ResolvedGpu
    capacity: int
    budget: int
    weights: int
    weight_params: int
    activations: int
    communication: int
    runtime: int
    kv_allocatable: int  # what the engine's rule leaves for KV on this GPU
    kv_rate: float  # KV bytes per token of context on this GPU, at the plan's context
    kv_used: int = 0
    kv_blocks: int = 0
    stranded: int = 0
    formula: dict[str, str] = field(default_factory=dict)

    @property
    def free(self) -> int:
        return (
            self.capacity - self.weights - self.kv_used - self.activations - self.communication - self.runtime
        )

    @property
    def fixed(self) -> int:
        return self.weights + self.activations + self.communication + self.runtime


@dataclass
class FitResult:
    """A plan's memory fit. ``gpus`` (one ledger per GPU, layout order) is made on first access from
    ``ledgers`` and ``placed``: a 512-GPU evaluation reads each distinct ledger once and never needs
    512 copies (the balancer and the recommender, which read every GPU, get them as before)."""

    placed: list[ResolvedGpu]  # the GPUs, in the order of ``gpus``
    context_tokens: int
    capacity_tokens: int  # smallest replica's KV capacity, tokens
    replica_capacity_tokens: list[int]
    max_concurrency: int
    max_context_at_concurrency: int
    kv_bytes_per_token: int  # one replica, all its GPUs
    engine_context_tokens: int | None = None  # llama.cpp: the context it allocates (n_ctx), None elsewhere
    slot_context_tokens: int | None = None  # llama.cpp: the longest sequence one slot may hold
    # the distinct ledgers: (the first GPU's, indices in ``gpus`` of every GPU with an equal copy),
    # in order of first GPU; consumers that decide per ledger look at each once
    ledgers: list[tuple[GpuFit, tuple[int, ...]]] = field(default_factory=list)
    _gpus: list[GpuFit] | None = field(default=None, repr=False, compare=False)

    @property
    def gpus(self) -> list[GpuFit]:
        """Every GPU's ledger, in layout order: each ledger's first GPU holds the object listed in
        ``ledgers``, the others equal copies with their own GPU (made once, on first access)."""
        if self._gpus is None:
            fits: list[GpuFit] = [None] * len(self.placed)  # type: ignore[list-item]  # all filled below
            for first, indices in self.ledgers:
                fits[indices[0]] = first
                for i in indices[1:]:
                    fits[i] = _clone(first, self.placed[i])
            self._gpus = fits
        return self._gpus


_spec = attrgetter("spec")


@cache
def _layer_prefix(model: ModelSpec) -> np.ndarray:
    """Cumulative [tp-sharded, expert, replicated, expert-active] params by layer, for fast ranges."""
    rows = np.zeros((model.num_layers + 1, 3), dtype=np.float64)
    for i in range(model.num_layers):
        p = layer_params(model, i)
        rows[i + 1] = rows[i] + (p.attention + p.mlp, p.experts, p.router + p.norms)
    return rows


def row_split(r: ResolvedPlan, g: ResolvedGpu) -> bool:
    """llama.cpp --split-mode row on a stage of several GPUs: matrices split, the rest on the main GPU."""
    return r.settings.split_mode == "row" and g.stage_tp > 1


def _weights(r: ResolvedPlan, g: ResolvedGpu) -> tuple[int, int, str]:
    m = r.model
    tp = g.stage_tp
    ep = max(tp, r.ep)
    wb = r.weights.bytes_per_element
    eb = r.weights.embedding_bytes_per_element
    first, last = g.layers
    pre = _layer_prefix(m)
    sharded, experts, replicated = pre[last] - pre[first]
    if row_split(r, g) and g.tp_rank > 0:
        replicated = 0.0  # norms and other 1-D tensors live on the main GPU only
    if r.experts_in_host_ram:  # routed experts kept in system RAM (llama.cpp --cpu-moe): see core.host
        experts = 0.0
    elif r.expert_host_layers > first:  # --n-cpu-moe N: those of layers [0, N) only
        experts -= pre[min(last, r.expert_host_layers)][1] - pre[first][1]
    params = sharded / tp + experts / ep + replicated
    nbytes = (sharded / tp + experts / ep) * wb + replicated * NORM_BYTES
    parts = [f"layers {first}–{last - 1}: {sharded / 1e9:.2f} B params / TP {tp}"]
    if experts:
        parts.append(f"experts {experts / 1e9:.2f} B / {ep}")
    if g.first_stage:
        emb = embedding_params(m) / tp
        params += emb
        nbytes += emb * eb
        parts.append("embeddings")
    if g.last_stage:
        head = lm_head_params(m) or (embedding_params(m) if not g.first_stage else 0)
        params += head / tp + final_norm_params(m)
        nbytes += head / tp * eb + final_norm_params(m) * NORM_BYTES
        if head:
            parts.append("lm_head")
    text = ", ".join(parts) + f" at {r.weights.bits_per_weight:g} bits"
    return int(nbytes), int(params), text


def _activations(r: ResolvedPlan, g: ResolvedGpu) -> tuple[int, str]:
    """Peak activation bytes of the engine's profiling forward pass.

    Live tensors in a decoder MLP for each batched token: the gate/up output (2I), the activation
    (I) and three hidden-sized buffers (residual, normed input, output), in 16-bit, I split by TP.
    Checked on vLLM's log for Llama 3.1 8B on an RTX 3090 (M221, M222: 2.07 GiB for 20,000 tokens,
    2.99 GiB for 29,000 tokens).
    """
    m = r.model
    inter = m.intermediate_size
    if m.moe is not None:
        moe = m.moe
        routed = moe.experts_per_token * moe.expert_intermediate_size
        shared = moe.shared_experts * moe.shared_intermediate_size
        inter = max(moe.dense_intermediate_size or 0, routed + shared)
    tokens = r.settings.max_num_batched_tokens
    # row split: the main GPU gathers every result, so its compute buffer is a whole layer's
    split = 1 if row_split(r, g) and g.tp_rank == 0 else g.stage_tp
    per_token = 2 * (3 * inter / split + 3 * m.hidden_size)
    return int(tokens * per_token), f"{tokens} batched tokens x {per_token / 1024:.1f} KiB"


def _communication(r: ResolvedPlan, g: ResolvedGpu) -> int:
    peers = (g.stage_tp - 1) + (0 if g.first_stage else 1) + (0 if g.last_stage else 1)
    if r.ep > g.stage_tp:
        peers += r.ep - g.stage_tp
    return int(r.engine.nccl_buffer_gib_per_peer * peers * GIB)


def _runtime(r: ResolvedPlan) -> int:
    graphs = 0.0 if r.settings.enforce_eager else r.engine.cuda_graphs_gib
    return int((r.engine.cuda_context_gib + graphs + r.engine.allocator_reserve_gib) * GIB)


def context_tokens(r: ResolvedPlan) -> int:
    w = r.plan.workload
    return min(w.input_tokens + w.output_tokens, r.settings.max_model_len)


def _gpu_fit(r: ResolvedPlan, g: ResolvedGpu, ctx: int) -> GpuFit:
    capacity = g.spec.capacity_bytes
    weights, params, wtext = _weights(r, g)
    acts, atext = _activations(r, g)
    comm = _communication(r, g)
    runtime = _runtime(r)
    rule = r.engine.memory_rule
    s = r.settings
    graphs = 0 if s.enforce_eager else int(r.engine.cuda_graphs_gib * GIB)
    if rule in ("vllm", "tgi"):
        budget = int(capacity * s.gpu_memory_utilization)
        # CUDA graphs are captured after the KV cache is allocated: they live in the headroom.
        kv = budget - (weights + acts + comm + runtime - graphs)
        share = "" if rule == "vllm" else " (cuda_memory_fraction x TGI_WIGGLE_ROOM)"
        ktext = f"{capacity / GIB:.2f} GiB x {s.gpu_memory_utilization:g}{share} − weights − activations − non-torch"
    elif rule == "sglang":
        budget = int(capacity * s.gpu_memory_utilization)
        kv = budget - weights
        ktext = f"{capacity / GIB:.2f} GiB x mem_fraction_static {s.gpu_memory_utilization:g} − weights"
    elif rule == "trtllm":
        budget = capacity
        kv = int((capacity - weights - acts - comm - runtime) * s.kv_cache_free_fraction)
        ktext = f"{s.kv_cache_free_fraction:g} x memory free after weights, activations, runtime"
    else:  # llamacpp, exllamav2, ollama: KV sized by the configured context, placed with its layers
        budget = capacity
        kv = capacity - weights - acts - comm - runtime
        ktext = "context window x KV per token for this GPU's layers"
    if row_split(r, g):  # the KV cache of every layer on the main GPU, none on the others
        rate = (
            0.0
            if g.tp_rank
            else kv_bytes_for_sequence(r.model, r.kv.bytes_per_element, range(*g.layers), ctx) / ctx
        )
        ktext = "row split: the whole KV cache on the main GPU"
    else:
        rate = kv_bytes_for_sequence(r.model, r.kv.bytes_per_element, range(*g.layers), ctx, g.stage_tp) / ctx
    formula = {
        "weights": wtext,
        "kv_cache": ktext + f"; {rate / 1024:.1f} KiB per token here",
        "activations": atext,
        "communication": f"NCCL buffers {r.engine.nccl_buffer_gib_per_peer:g} GiB per peer",
        "runtime": f"CUDA context {r.engine.cuda_context_gib:g} GiB"
        + ("" if s.enforce_eager else f" + CUDA graphs {r.engine.cuda_graphs_gib:g} GiB"),
    }
    return GpuFit(
        g, capacity, budget, weights, params, acts, comm, runtime, max(0, kv), rate, formula=formula
    )


def _llamacpp_context(r: ResolvedPlan, fits: list[GpuFit], block: int) -> int:
    """The context llama-server allocates: --ctx-size when the plan sets it, else the model's training
    context, which --fit shrinks (in whole blocks) until every GPU keeps its margin free, but not below
    ``context_fit_min_tokens``. The workload does not enter: slots share this context."""
    wanted = r.plan.engine.max_model_len
    if wanted is not None:
        return math.ceil(wanted / block) * block
    trained = r.model.max_position_embeddings
    floor = r.engine.context_fit_min_tokens
    if floor is None:
        return trained
    margin = r.engine.context_fit_margin_gib * GIB
    room = min(
        (int((f.kv_allocatable - margin) // (f.kv_rate * block)) * block for f in fits if f.kv_rate > 0),
        default=trained,
    )
    return max(min(trained, room), min(floor, trained))


def _clone(template: GpuFit, gpu: ResolvedGpu) -> GpuFit:
    """``template``'s figures for ``gpu``: shallow (the formula dict is shared and never mutated),
    without ``copy.copy``'s generic protocol, which cost more than the ledger on a 512-GPU plan."""
    clone = object.__new__(GpuFit)
    fields = template.__dict__.copy()
    fields["gpu"] = gpu
    clone.__dict__ = fields
    return clone


_Key = tuple[object, ...]  # everything a GPU's ledger depends on but the plan-wide settings


@dataclass(frozen=True)
class _FitFrame:
    """What ``fit_memory`` reads of the layout-ordered GPUs that the GPUs alone decide (and whether
    llama.cpp splits rows): each GPU's ledger key, replicas by their distinct keys, and the GPUs of
    each (key, kind of replica), worked out once and kept with the resolved GPUs' views."""

    placed: list[ResolvedGpu]  # the GPUs, in layout order (``by_stage``'s)
    first_gpus: dict[_Key, ResolvedGpu]  # each distinct key's first GPU, in order of first use
    replica_kinds: list[int]  # per replica, a number for its distinct keys in order
    kind_keys: list[list[_Key]]  # per kind of replica, its distinct keys in order
    groups: dict[tuple[_Key, int], list[int]]  # (key, kind of replica) -> indices in ``placed``
    first_replica_keys: list[_Key]  # each GPU's key in the first replica, in order


def _fit_frame(r: ResolvedPlan, row: bool) -> _FitFrame:
    views = r.views
    kept = views.memo.get(f"fit frame, row split {row}")
    if isinstance(kept, _FitFrame):
        return kept
    placed: list[ResolvedGpu] = []
    first_gpus: dict[_Key, ResolvedGpu] = {}
    replica_keys: dict[int, dict[_Key, None]] = {}  # per replica, its distinct keys in order
    stages: list[tuple[int, int, int, list[_Key]]] = []  # replica, first index, GPUs, keys
    first_replica_keys: list[_Key] = []
    for (rep, _), gpus in views.by_stage.items():
        first = gpus[0]
        # the GPUs of a stage share all but their kind (and, with llama.cpp's row split, whether
        # they are the main GPU)
        place = (first.layers, first.stage_tp, first.first_stage, first.last_stage)
        kinds = set(map(id, map(_spec, gpus)))
        keys: list[_Key]
        if len(kinds) == 1 and not (row and first.stage_tp > 1):
            keys = [(first.spec.id, *place, False)] * len(gpus)
        else:
            keys = [(g.spec.id, *place, row and g.stage_tp > 1 and g.tp_rank == 0) for g in gpus]
        seen = replica_keys.setdefault(rep, {})
        for g, key in zip(gpus, keys, strict=True) if len(kinds) > 1 or row else ((first, keys[0]),):
            first_gpus.setdefault(key, g)
            seen[key] = None
        if rep == 0:
            first_replica_keys += keys
        stages.append((rep, len(placed), len(gpus), keys))
        placed += gpus
    kinds_of: dict[tuple[_Key, ...], int] = {}
    replica_kinds = [kinds_of.setdefault(tuple(replica_keys[rep]), len(kinds_of)) for rep in range(r.dp)]
    groups: dict[tuple[_Key, int], list[int]] = {}
    for rep, start, count, keys in stages:
        kind = replica_kinds[rep]
        if keys[0] is keys[-1] or len(set(keys)) == 1:  # the usual stage: one key
            groups.setdefault((keys[0], kind), []).extend(range(start, start + count))
        else:
            for i, key in enumerate(keys, start):
                groups.setdefault((key, kind), []).append(i)
    frame = _FitFrame(
        placed, first_gpus, replica_kinds, [list(k) for k in kinds_of], groups, first_replica_keys
    )
    views.memo[f"fit frame, row split {row}"] = frame
    return frame


def fit_memory(r: ResolvedPlan) -> FitResult:
    """Per-GPU ledgers and KV capacity for a resolved plan.

    Large rigs repeat the same (GPU, layers, TP) many times: each distinct ledger is computed once,
    each kind of replica's KV capacity from its distinct ledgers, and every GPU gets a copy of its
    final one. Which GPUs share a ledger is worked out once per resolved layout (:func:`_fit_frame`).
    """
    ctx = context_tokens(r)
    row = r.settings.split_mode == "row"
    frame = _fit_frame(r, row)
    templates = {key: _gpu_fit(r, g, ctx) for key, g in frame.first_gpus.items()}
    block = r.settings.kv_block_tokens
    w = r.plan.workload
    wanted_tokens: int | None = None
    engine_ctx: int | None = None
    if r.engine.memory_rule == "llamacpp":
        wanted_tokens = engine_ctx = _llamacpp_context(r, list(templates.values()), block)
    elif r.engine.memory_rule in ("exllamav2", "ollama"):
        # These engines allocate the KV cache for the configured context, not all free memory.
        if r.plan.engine.max_model_len is not None:
            wanted_tokens = r.plan.engine.max_model_len
        elif w.concurrency != "max":
            wanted_tokens = ctx * max(1, math.ceil(w.concurrency / r.dp))
    for t in templates.values():
        t.kv_blocks = int(t.kv_allocatable // (t.kv_rate * block)) if t.kv_rate > 0 else 0
    finals: dict[tuple[_Key, int], GpuFit] = {}  # (ledger, replica's blocks) -> final figures
    kind_blocks: list[int] = []
    for keys in frame.kind_keys:
        members = [templates[k] for k in keys]
        # GPUs that hold no KV (row split: all but the main GPU) do not limit it
        cap_blocks = min((f.kv_blocks for f in members if f.kv_rate > 0), default=0)
        if wanted_tokens is not None:
            cap_blocks = min(cap_blocks, math.ceil(wanted_tokens / block))
        for k in keys:
            if (k, cap_blocks) not in finals:
                final = _clone(templates[k], templates[k].gpu)
                final.kv_used = int(cap_blocks * block * final.kv_rate)
                if r.engine.uniform_kv_blocks:
                    # vLLM sizes every rank to the smallest rank's block count: the rest is stranded.
                    final.stranded = max(0, final.kv_allocatable - final.kv_used)
                    final.kv_blocks = cap_blocks
                finals[(k, cap_blocks)] = final
        kind_blocks.append(cap_blocks)
    replica_blocks = [kind_blocks[kind] for kind in frame.replica_kinds]
    replica_caps = [blocks * block for blocks in replica_blocks]
    placed = list(frame.placed)
    # id of a final ledger -> (indices of every GPU holding it, in lists by kind of replica);
    # in order of their first GPU, who gets the listed copy (the others' only if someone reads
    # ``FitResult.gpus``)
    holders: dict[int, tuple[GpuFit, list[list[int]]]] = {}
    for (key, kind), indices in frame.groups.items():
        final = finals[(key, kind_blocks[kind])]
        entry = holders.get(id(final))
        if entry is None:
            holders[id(final)] = (final, [indices])
        else:
            entry[1].append(indices)
    ledgers = [
        (
            _clone(final, placed[lists[0][0]]),
            tuple(lists[0]) if len(lists) == 1 else tuple(sorted(chain.from_iterable(lists))),
        )
        for final, lists in holders.values()
    ]
    ledgers.sort(key=lambda ledger: ledger[1][0])  # in order of first GPU, as the layout lists them
    cap = min(replica_caps)
    seqs = r.settings.max_num_seqs
    slot_ctx: int | None = None
    if engine_ctx is not None and not r.settings.kv_unified:
        # llama-server with an explicit --parallel N: each slot owns context / N cells
        slot_ctx = engine_ctx // seqs
        max_conc = sum(seqs if min(c, engine_ctx) // seqs >= ctx else 0 for c in replica_caps)
    else:
        slot_ctx = engine_ctx
        max_conc = sum(min(seqs, c // ctx) for c in replica_caps)
    want = max_conc if w.concurrency == "max" else w.concurrency
    per_replica = max(1, math.ceil(max(want, 1) / r.dp))
    max_ctx = min(r.settings.max_model_len, cap // per_replica)
    if slot_ctx is not None:
        max_ctx = min(max_ctx, slot_ctx)
    return FitResult(
        placed=placed,
        context_tokens=ctx,
        capacity_tokens=cap,
        replica_capacity_tokens=replica_caps,
        max_concurrency=max_conc,
        max_context_at_concurrency=max_ctx,
        kv_bytes_per_token=round(sum([templates[k].kv_rate for k in frame.first_replica_keys])),
        engine_context_tokens=engine_ctx,
        slot_context_tokens=slot_ctx,
        ledgers=ledgers,
    )
