"""Exact parameter counts and KV-cache sizes from a model's architecture.

Counts follow the tensors a Hugging Face checkpoint stores for each architecture (q/k/v/o
projections, gated or plain MLP, routed and shared experts, router, norms, embeddings). They are
checked against published totals in tests (e.g. Llama 3.1 70B: 70,553,706,496 parameters).

What each layer caches, per sequence:
- full attention: K and V of every token (MLA: one latent of kv_lora_rank + qk_rope_head_dim,
  plus the sparse-attention indexer's key when the model has one);
- sliding-window attention (Gemma 2/3, gpt-oss, Mistral 7B v0.1): K and V of the last ``window`` tokens;
- linear attention of a hybrid model (Qwen3-Next, Qwen3.5, MiniMax): a fixed recurrent state, the same
  size whatever the context.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from gpuplanner.core.specs import ModelSpec


@dataclass(frozen=True)
class LayerParams:
    """Parameters of one transformer layer, by how tensor and expert parallelism split them."""

    attention: int  # sharded by TP (heads)
    mlp: int  # dense FFN or shared experts: sharded by TP
    experts: int  # all routed experts: sharded by max(TP, EP)
    expert_each: int  # one routed expert
    router: int  # replicated
    norms: int  # replicated on every TP rank
    is_moe: bool

    @property
    def total(self) -> int:
        return self.attention + self.mlp + self.experts + self.router + self.norms


def _mlp_params(hidden: int, inter: int, gated: bool, bias: bool) -> int:
    matrices = 3 if gated else 2
    params = matrices * hidden * inter
    if bias:
        params += (2 * inter if gated else inter) + hidden
    return params


def _linear_attention_params(m: ModelSpec) -> int:
    """One linear-attention layer of a hybrid model (projections, convolution, gates, norm)."""
    lin = m.linear_attention
    assert lin is not None
    h = m.hidden_size
    key_dim = lin.num_key_heads * lin.key_head_dim
    value_dim = lin.num_value_heads * lin.value_head_dim
    if lin.kind == "gated_deltanet":
        # in_proj_qkvz (q, k, v and the output gate z), in_proj_ba (beta, alpha per value head),
        # depthwise conv over q|k|v, dt_bias and A_log per value head, gated RMSNorm, out_proj
        conv_dim = 2 * key_dim + value_dim
        return (
            h * (2 * key_dim + 2 * value_dim)
            + h * 2 * lin.num_value_heads
            + conv_dim * lin.conv_kernel
            + 2 * lin.num_value_heads
            + lin.value_head_dim
            + value_dim * h
        )
    # lightning attention (MiniMax): fused qkv, output gate, out_proj, RMSNorm over the heads
    return h * (2 * key_dim + value_dim) + h * value_dim + value_dim * h + value_dim


def _attention_params(m: ModelSpec, layer: int = -1) -> int:
    h = m.hidden_size
    if layer >= 0 and m.is_linear_layer(layer):
        return _linear_attention_params(m)
    if m.mla is not None:
        a = m.mla
        qk_head = a.qk_nope_head_dim + a.qk_rope_head_dim
        if a.q_lora_rank:
            q = h * a.q_lora_rank + a.q_lora_rank + a.q_lora_rank * m.num_attention_heads * qk_head
        else:
            q = h * m.num_attention_heads * qk_head
        kv_a = h * (a.kv_lora_rank + a.qk_rope_head_dim) + a.kv_lora_rank
        kv_b = a.kv_lora_rank * m.num_attention_heads * (a.qk_nope_head_dim + a.v_head_dim)
        o = m.num_attention_heads * a.v_head_dim * h
        indexer = 0
        if a.indexer_heads:
            # DeepSeek sparse attention indexer: wq_b from the q latent, wk + LayerNorm, per-head weights
            q_in = a.q_lora_rank or h
            indexer = (
                q_in * a.indexer_heads * a.indexer_head_dim
                + h * a.indexer_head_dim
                + 2 * a.indexer_head_dim
                + h * a.indexer_heads
            )
        return q + kv_a + kv_b + o + indexer
    q_dim = m.num_attention_heads * m.head_dim
    kv_dim = m.num_kv_heads * m.head_dim
    gate = q_dim if m.attention_output_gate else 0
    params = h * (q_dim + gate) + 2 * h * kv_dim + q_dim * h
    if m.attention_bias:
        params += q_dim + 2 * kv_dim
    if m.attention_out_bias:
        params += h
    if m.qk_norm:
        params += 2 * m.head_dim
    if m.attention_sinks:
        params += m.num_attention_heads
    return params


@cache
def layer_params(m: ModelSpec, layer: int) -> LayerParams:
    """Parameters of transformer layer ``layer`` (0-based)."""
    h = m.hidden_size
    norms = m.norms_per_layer * h * (2 if m.norm_bias else 1)
    attention = _attention_params(m, layer)
    moe = m.moe
    if moe is not None and moe.is_moe_layer(layer):
        expert_each = _mlp_params(h, moe.expert_intermediate_size, m.gated_mlp, moe.expert_bias)
        shared = moe.shared_experts * _mlp_params(h, moe.shared_intermediate_size, m.gated_mlp, False)
        router = h * moe.num_experts + (moe.num_experts if moe.router_bias else 0)
        if moe.shared_expert_gate:
            router += h
        return LayerParams(attention, shared, moe.num_experts * expert_each, expert_each, router, norms, True)
    inter = m.intermediate_size
    if moe is not None and moe.dense_intermediate_size:
        inter = moe.dense_intermediate_size
    mlp = _mlp_params(h, inter, m.gated_mlp, m.mlp_bias)
    return LayerParams(attention, mlp, 0, 0, 0, norms, False)


def embedding_params(m: ModelSpec) -> int:
    """Token embedding table, plus the LayerNorm that follows it in BLOOM-style models."""
    norm = m.hidden_size * (2 if m.norm_bias else 1) if m.embedding_norm else 0
    return m.vocab_size * m.hidden_size + norm


def lm_head_params(m: ModelSpec) -> int:
    """Output projection parameters, 0 when tied to the embedding (and the model has one stage)."""
    if m.tie_word_embeddings:
        return 0
    return m.vocab_size * m.hidden_size + (m.vocab_size if m.lm_head_bias else 0)


def _vocab_matrix(m: ModelSpec) -> int:
    return m.vocab_size * m.hidden_size


def final_norm_params(m: ModelSpec) -> int:
    return m.hidden_size * (2 if m.norm_bias else 1)


@cache
def total_params(m: ModelSpec) -> int:
    """All stored parameters of the main model (no multi-token-prediction heads)."""
    layers = sum(layer_params(m, i).total for i in range(m.num_layers))
    return layers + embedding_params(m) + lm_head_params(m) + final_norm_params(m)


@cache
def active_params(m: ModelSpec) -> int:
    """Parameters one token passes through (top-k routed experts only), embedding excluded."""
    active = 0
    for i in range(m.num_layers):
        p = layer_params(m, i)
        active += p.attention + p.mlp + p.router + p.norms
        if p.is_moe and m.moe is not None:
            active += m.moe.experts_per_token * p.expert_each
    head = lm_head_params(m) or _vocab_matrix(m)
    return active + head + final_norm_params(m)


def kv_heads_per_rank(m: ModelSpec, tp: int) -> int:
    """KV heads each TP rank stores: heads split across ranks, replicated when TP > KV heads."""
    return max(1, m.num_kv_heads // tp)


def kv_elements_per_token_layer(m: ModelSpec, tp: int = 1) -> int:
    """Cached elements per token per attention layer on one TP rank (linear layers cache none).

    MLA (DeepSeek V2/V3) caches one compressed latent (kv_lora_rank + qk_rope_head_dim = 576
    elements for DeepSeek-V3), replicated on every TP rank, plus the indexer key of DeepSeek sparse
    attention (V3.2: 128 more); other attention caches K and V.
    """
    if m.mla is not None:
        return m.mla.kv_lora_rank + m.mla.qk_rope_head_dim + m.mla.indexer_head_dim
    return 2 * kv_heads_per_rank(m, tp) * m.head_dim


def linear_state_elements(m: ModelSpec, tp: int = 1) -> int:
    """Recurrent-state elements one linear-attention layer keeps per sequence on one TP rank.

    Gated DeltaNet: value heads x key dim x value dim, plus ``conv_kernel - 1`` steps of the q|k|v
    convolution input; lightning attention: heads x head dim x head dim. Heads split across TP ranks.
    """
    lin = m.linear_attention
    if lin is None:
        return 0
    value_heads = max(1, lin.num_value_heads // tp)
    key_heads = max(1, lin.num_key_heads // tp)
    state = value_heads * lin.key_head_dim * lin.value_head_dim
    if lin.conv_kernel > 1:
        conv_dim = 2 * key_heads * lin.key_head_dim + value_heads * lin.value_head_dim
        state += (lin.conv_kernel - 1) * conv_dim
    return state


def kv_tokens_for_layer(m: ModelSpec, layer: int, context_tokens: int) -> int:
    """Tokens a layer keeps for a sequence of ``context_tokens``: sliding layers keep the window,
    linear-attention layers none (their state is counted apart, see ``linear_state_elements``)."""
    if m.is_linear_layer(layer):
        return 0
    if m.is_sliding_layer(layer) and m.sliding_window is not None:
        return min(context_tokens, m.sliding_window)
    return context_tokens


_KINDS: dict[tuple[int, int, int], tuple[ModelSpec, int, int, int]] = {}


def layer_kinds(m: ModelSpec, layers: range) -> tuple[int, int, int]:
    """(full-attention, sliding-window, linear-attention) layers among ``layers``: what per-token KV and
    attention work depend on, so sums over layers become closed forms (a pure function, memoised by
    the model's identity and checked on every hit)."""
    key = (id(m), layers.start, layers.stop)
    hit = _KINDS.get(key)
    if hit is not None and hit[0] is m:
        return hit[1], hit[2], hit[3]
    full = sliding = linear = 0
    for i in layers:
        if m.is_linear_layer(i):
            linear += 1
        elif m.is_sliding_layer(i) and m.sliding_window is not None:
            sliding += 1
        else:
            full += 1
    if len(_KINDS) > 4096:
        _KINDS.clear()
    _KINDS[key] = (m, full, sliding, linear)
    return full, sliding, linear


def attended_tokens(m: ModelSpec, layers: range, context_tokens: int) -> int:
    """Keys one new token attends to, summed over ``layers``: the context on full-attention layers,
    at most the window on sliding layers, none on linear-attention layers (they update a fixed state).

    What attention FLOPs scale with; ``len(layers) x context`` overcounts sliding and hybrid models.
    """
    full, sliding, _ = layer_kinds(m, layers)
    window = min(context_tokens, m.sliding_window) if sliding and m.sliding_window is not None else 0
    return full * context_tokens + sliding * window


def kv_bytes_for_sequence(
    m: ModelSpec, kv_bytes_per_element: float, layers: range, context_tokens: int, tp: int = 1
) -> float:
    """KV bytes of one sequence of ``context_tokens`` on one rank holding ``layers``.

    Includes the fixed state of linear-attention layers, stored at the same precision as the KV
    cache (vLLM and SGLang keep it in the model dtype by default).
    """
    per_layer = kv_elements_per_token_layer(m, tp) * kv_bytes_per_element
    total = per_layer * attended_tokens(m, layers, context_tokens)
    if m.linear_attention is not None:
        linear = layer_kinds(m, layers)[2]
        total += linear * linear_state_elements(m, tp) * kv_bytes_per_element
    return total
