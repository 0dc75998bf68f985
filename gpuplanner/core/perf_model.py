"""The physics of one forward step on one pipeline stage: bytes, FLOPs, collectives, overhead.

A stage is a tensor-parallel group holding a range of layers. For a step of ``tokens`` tokens (a decode
step of a batch, or a prefill chunk) each GPU of the stage reads its weights (for MoE only the experts
the batch touches: ``E * (1 - (1 - k/E) ** tokens)`` of them) and the KV cache of the sequences, and
does ``2 * active parameters * tokens`` FLOPs plus attention; the step takes the larger of the memory
and compute times (roofline) plus kernel-launch overhead, then two all-reduces per layer over the TP
ring and two all-to-alls per MoE layer under expert parallelism. Achievable rates come from
:mod:`efficiency` and :mod:`collectives`; nothing here looks at peak figures directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

from gpuplanner.core.architecture import (
    attended_tokens,
    embedding_params,
    final_norm_params,
    kv_bytes_for_sequence,
    layer_params,
    lm_head_params,
)
from gpuplanner.core.calibration import calibration
from gpuplanner.core.collectives import Band, RingFigures, alltoall_ring_s, ring_figures, tp_allreduce_s
from gpuplanner.core.efficiency import Rates, rates
from gpuplanner.core.specs import GpuSpec, ModelSpec
from gpuplanner.core.topology import Hop

ACT_BYTES = 2  # activations travel in 16-bit
NORM_BYTES = 2


@dataclass(frozen=True)
class LayerSums:
    """Parameters of a layer range, by how TP and EP split them."""

    sharded: int  # attention + dense MLP / shared experts: split by TP
    experts: int  # all routed experts: split by max(TP, EP)
    expert_each_total: int  # one expert of every MoE layer, summed
    replicated: int  # norms, routers
    moe_layers: int
    layers: int


@lru_cache(maxsize=4096)
def layer_sums(model: ModelSpec, first: int, last: int) -> LayerSums:
    """Parameter sums of layers ``[first, last)``: a pure function of its arguments, memoised because
    the window re-evaluates often."""
    sharded = experts = each = replicated = moe = 0
    for i in range(first, last):
        p = layer_params(model, i)
        sharded += p.attention + p.mlp
        experts += p.experts
        each += p.expert_each
        replicated += p.router + p.norms
        moe += p.is_moe
    return LayerSums(sharded, experts, each, replicated, moe, last - first)


@lru_cache(maxsize=4096)
def layer_profile(model: ModelSpec, first: int, last: int) -> tuple[LayerSums, int]:
    """What a step time depends on in layers ``[first, last)``: their parameter sums and how many
    keep only a sliding window of KV. Two ranges with the same profile take the same time."""
    sliding = sum(1 for i in range(first, last) if model.is_sliding_layer(i))
    return layer_sums(model, first, last), sliding


@lru_cache(maxsize=8192)
def kv_bytes(model: ModelSpec, kv_bpe: float, first: int, last: int, context: int, tp: int) -> float:
    """KV bytes of one sequence of ``context`` tokens on one TP rank holding layers [first, last)."""
    return kv_bytes_for_sequence(model, kv_bpe, range(first, last), max(context, 1), tp)


@lru_cache(maxsize=8192)
def _attended(model: ModelSpec, first: int, last: int, context: int) -> int:
    return attended_tokens(model, range(first, last), context)


def _attention_dims(model: ModelSpec) -> tuple[int, int]:
    """(query-key width, value width) per head that attention multiplies against the cache."""
    if model.mla is not None:  # weights absorbed: scores against the latent + rope part
        return model.mla.kv_lora_rank + model.mla.qk_rope_head_dim, model.mla.kv_lora_rank
    return model.head_dim, model.head_dim


# Above this many tokens a matmul leaves the vector kernels (llama.cpp's MMVQ/DMMV) for a GEMM.
DEQUANT_MIN_TOKENS = 8


@dataclass(frozen=True)
class StageShape:
    """What one stage holds and how it talks: everything a step time depends on."""

    model: ModelSpec
    gpu: GpuSpec  # the slowest GPU of the TP group (they wait for each other)
    layers: tuple[int, int]
    tp: int
    ep: int  # experts are split over max(tp, ep) GPUs
    weight_bpe: float
    embed_bpe: float
    kv_bpe: float
    compute_dtype: str
    first: bool
    last: bool
    tp_hops: tuple[Hop, ...]
    ep_hops: tuple[Hop, ...]
    layer_overhead_s: float
    moe_layer_overhead_s: float = 0.0
    gemm_efficiency: float = 1.0  # the engine release's kernels vs cuBLASLt's (calibration overhead entry)
    custom_allreduce: bool = False  # the engine's own one/two-shot all-reduce inside an NVLink domain
    memory_scale: float = 1.0  # the user's own calibration of this GPU kind with this engine (decode)
    kv_read_factor: float = 1.0  # KV traffic over the cache read: the GQA group on pre-XQA TensorRT-LLM
    tensor_scale: float = 1.0  # FP16-accumulate matmuls on a GeForce card (see fp16_accumulate_scale)
    dequant_bpe: float = 0.0  # bytes per weight a prompt-size matmul first dequantises (read + FP16 write)
    bands: dict[str, tuple[Rates, RingFigures, RingFigures]] = field(default_factory=dict, compare=False)
    steps: dict[tuple[object, ...], StepTime] = field(default_factory=dict, compare=False)

    def figures(self, band: Band) -> tuple[Rates, RingFigures, RingFigures]:
        """(GPU rates, TP ring, EP group) at ``band``, worked out on first use."""
        hit = self.bands.get(band)
        if hit is None:
            rate = rates(self.gpu, self.compute_dtype, band)
            if self.memory_scale != 1.0:
                rate = replace(
                    rate,
                    memory_bps=rate.memory_bps * self.memory_scale,
                    attention_bps=rate.attention_bps * self.memory_scale,
                )
            if self.tensor_scale != 1.0:
                rate = replace(rate, peak_flops=rate.peak_flops * self.tensor_scale)
            hit = (
                rate,
                ring_figures(self.tp_hops, band, self.tp),
                ring_figures(self.ep_hops, band, self.ep),
            )
            self.bands[band] = hit
        return hit


@dataclass(frozen=True)
class StepTime:
    """Seconds of one step on one stage, and what they were spent on."""

    gemm_s: float  # matmul FLOPs over achievable tensor throughput
    attention_s: float  # attention FLOPs (scores and values) over achievable tensor throughput
    weights_s: float
    kv_s: float
    tp_comm_s: float
    ep_comm_s: float
    overhead_s: float
    weight_bytes: float
    kv_bytes: float
    expert_gemm_s: float = 0.0  # the routed experts' share of gemm_s (their own kernels)
    expert_weights_s: float = 0.0  # the routed experts' share of weights_s

    @property
    def compute_s(self) -> float:
        return self.gemm_s + self.attention_s

    @property
    def memory_s(self) -> float:
        return self.weights_s + self.kv_s

    @property
    def riding_s(self) -> float:
        """A prefill step's marginal part when it rides along a decode step that reads the weights
        anyway (continuous batching): its FLOPs and collectives, no weight reads."""
        return self.compute_s + self.tp_comm_s + self.ep_comm_s

    busy_s: float = field(init=False)
    total_s: float = field(init=False)

    def __post_init__(self) -> None:
        # Kernels run one after another: matmuls are bound by FLOPs or weight reads, attention by
        # FLOPs or KV reads - a roofline per kernel kind, not one for the whole step. Worked out once:
        # a step time is read by every decode cycle and curve point that reuses it.
        dense = max(self.gemm_s - self.expert_gemm_s, self.weights_s - self.expert_weights_s)
        busy = dense + max(self.expert_gemm_s, self.expert_weights_s) + max(self.attention_s, self.kv_s)
        object.__setattr__(self, "busy_s", busy)
        object.__setattr__(self, "total_s", busy + self.overhead_s + self.tp_comm_s + self.ep_comm_s)


def stage_step(
    s: StageShape, tokens: int, seqs: int, context: float, new_tokens_per_seq: float, band: Band = "mid"
) -> StepTime:
    """One step of ``tokens`` tokens from ``seqs`` sequences whose cached context averages ``context``.

    Decode: ``tokens == seqs`` and ``new_tokens_per_seq == 1``. Prefill chunk: ``seqs`` sequences each
    adding ``new_tokens_per_seq`` tokens after ``context`` cached ones (attention is causal inside).
    """
    key = (tokens, seqs, context, new_tokens_per_seq, band)
    hit = s.steps.get(key)
    if hit is not None:
        return hit
    step = _stage_step(s, tokens, seqs, context, new_tokens_per_seq, band)
    if len(s.steps) >= 1024:  # shapes outlive an evaluation; workloads change what they are asked
        s.steps.clear()
    s.steps[key] = step
    return step


def _stage_step(
    s: StageShape, tokens: int, seqs: int, context: float, new_tokens_per_seq: float, band: Band
) -> StepTime:
    m = s.model
    sums = layer_sums(m, *s.layers)
    moe = m.moe
    split = max(s.tp, s.ep)
    table = calibration()
    rate, tp_ring, ep_ring = s.figures(band)
    flop_params = sums.sharded / s.tp
    weight_bytes = sums.sharded / s.tp * s.weight_bpe + sums.replicated * NORM_BYTES
    head_bytes = head_params = 0.0
    if s.last:
        head = lm_head_params(m) or embedding_params(m)
        head_bytes = head / s.tp * s.embed_bpe + final_norm_params(m) * NORM_BYTES
        head_params = head / s.tp
    inter = max(m.intermediate_size, m.hidden_size)
    kernels = s.gemm_efficiency
    # the LM head runs only where a token is sampled, the last position of each sequence (vLLM's
    # logits_indices, SGLang's, TensorRT-LLM without gather_context_logits, llama.cpp since PR #6122
    # of March 2024): once per sequence in a prompt chunk, not once per prompt token
    head_flops = head_params * min(tokens, seqs)
    rate_flops = rate.flops(tokens, m.hidden_size, inter / s.tp, kernels)
    gemm_s = 2 * (flop_params * tokens + head_flops) / rate_flops
    if s.dequant_bpe and tokens > DEQUANT_MIN_TOKENS:  # llama.cpp's cuBLAS path: a dequantise pass first
        gemm_s += (flop_params + head_params) * s.dequant_bpe / rate.memory_bps
    expert_gemm_s = expert_weights_s = expert_bytes = 0.0
    if moe is not None and sums.experts:
        e, k = moe.num_experts, moe.experts_per_token
        # Under expert parallelism across data-parallel replicas (DP attention) a GPU's experts serve
        # the tokens of every replica of its EP group, and the engines step those replicas together:
        # a decode step's experts see ``ep / tp`` replicas' tokens (taken to run batches like this
        # one). Prefill chunks are timed for one replica (a prompt on an idle server).
        group = s.ep // s.tp if s.ep > s.tp and bool(s.ep_hops) and new_tokens_per_seq == 1 else 1
        routed = max(tokens, 1) * group  # tokens whose experts live on this EP group
        touched = 1 - (1 - k / e) ** routed  # share of experts some token of the step picks
        per_expert = routed * k / (e * touched)  # tokens each touched expert multiplies
        expert_bytes = touched * sums.experts / split * s.weight_bpe
        # experts are whole on a GPU under EP, sliced by TP otherwise: thin slices make small GEMMs
        width = moe.expert_intermediate_size / max(1, s.tp // s.ep)
        expert_flops = 2 * k * sums.expert_each_total / split * tokens * group
        # one fused launch multiplies every touched expert of the GPU (its e / ep experts, sliced by TP)
        local = touched * e / max(1, s.ep)
        grouped = kernels * table.moe.expert_gemm_efficiency
        expert_gemm_s = expert_flops / rate.flops(per_expert, width, m.hidden_size, grouped, local)
        read = (
            table.moe.expert_read_efficiency_amd
            if s.gpu.vendor == "AMD"
            else table.moe.expert_read_efficiency
        )
        expert_weights_s = expert_bytes / (rate.memory_bps * read)
    qk, v = _attention_dims(m)
    heads = m.num_attention_heads / s.tp
    # keys each new token attends to, over the stage's layers: the cached context (at most the window on
    # sliding layers, nothing on linear-attention layers) plus, on average, half its own chunk
    keys = _attended(m, s.layers[0], s.layers[1], round(context)) + sums.layers * (new_tokens_per_seq + 1) / 2
    attn_flops = 2 * tokens * keys * heads * (qk + v)
    kv_read = seqs * kv_bytes(m, s.kv_bpe, s.layers[0], s.layers[1], round(context), s.tp)
    # Fused attention kernels (FlashAttention) run near the dense plateau when compute-bound (long
    # prefill); decode attention is bound by KV reads anyway. Assumption: no size penalty here.
    attention_s = attn_flops / (rate.peak_flops * rate.peak_fraction * kernels)
    weights_s = (weight_bytes + head_bytes) / rate.memory_bps
    # a decode step's attention re-reads each KV head per query head of its group on releases without a
    # GQA-aware kernel; a prefill chunk's attention is a fused (flash) kernel that reads it once
    reread = s.kv_read_factor if new_tokens_per_seq == 1 else 1.0
    kv_s = kv_read * reread / rate.attention_bps if kv_read else 0.0
    msg = tokens * m.hidden_size * ACT_BYTES
    ep_across = moe is not None and s.ep > s.tp and bool(s.ep_hops)  # EP spans replicas (DP attention)
    tp_comm = 0.0
    if s.tp > 1:
        # one all-reduce after attention, one after the MLP; under EP inside the TP group the experts'
        # partial sums are reduced the same way, under EP across replicas they travel by all-to-all
        reductions = 2 * sums.layers - (sums.moe_layers if ep_across else 0)
        tp_comm = reductions * tp_allreduce_s(msg, tp_ring, s.custom_allreduce)
    ep_comm = 0.0
    if ep_across and moe is not None:
        dispatch = tokens * moe.experts_per_token * m.hidden_size * ACT_BYTES
        ep_comm = 2 * sums.moe_layers * alltoall_ring_s(dispatch, ep_ring)
    return StepTime(
        gemm_s=gemm_s + expert_gemm_s,
        attention_s=attention_s,
        weights_s=weights_s + expert_weights_s,
        kv_s=kv_s,
        tp_comm_s=tp_comm,
        ep_comm_s=ep_comm,
        overhead_s=s.layer_overhead_s * sums.layers + s.moe_layer_overhead_s * sums.moe_layers,
        weight_bytes=weight_bytes + head_bytes + expert_bytes,
        kv_bytes=kv_read,
        expert_gemm_s=expert_gemm_s,
        expert_weights_s=expert_weights_s,
    )


def prefill_stage_time(
    s: StageShape, prompt: int, chunk: int, band: Band = "mid", compute_only: bool = False
) -> float:
    """Seconds stage ``s`` spends prefilling one prompt of ``prompt`` tokens in chunks of ``chunk``.

    ``compute_only``: the marginal cost when the chunks ride along decode steps that read the
    weights anyway (continuous batching): FLOPs and collectives, no weight reads.
    """
    total, done = 0.0, 0
    while done < prompt:
        size = min(chunk, prompt - done)
        step = stage_step(s, size, 1, done, size, band)
        if compute_only:
            total += step.riding_s
        else:
            total += step.total_s
        done += size
    return total
