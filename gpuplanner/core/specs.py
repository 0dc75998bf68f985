"""Catalog specs: the read-only facts gpuplanner plans with.

Every spec is a frozen pydantic model with ``extra="forbid"`` so that a typo in a catalog file
fails at load time with the file and field named. Units are in the field names:
``_gb`` decimal gigabytes (1e9 B), ``_gib`` binary (2**30 B), ``_gbps`` gigabytes per second,
``_tflops`` dense tera-operations per second (never the sparse figure), ``_us`` microseconds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gpuplanner.core.limits import (
    MAX_EXPERTS,
    MAX_HEADS,
    MAX_HIDDEN,
    MAX_INTERMEDIATE,
    MAX_LAYERS,
    MAX_TOKENS,
    MAX_VOCAB,
)

GIB = 2**30  # bytes in a GiB: what nvidia-smi calls a GB, and what every ledger is shown in


class Spec(BaseModel):
    # finite numbers only: a NaN or an infinity in a catalog or an imported model would reach every report
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class SourceRef(Spec):
    """A public source a figure comes from (datasheet, config file, measurement row)."""

    key: str = Field(description="short key used by specs, e.g. 'S11' or 'M218'")
    title: str
    url: str = ""


class GpuSpec(Spec):
    id: str = Field(description="short slug, e.g. 'h100-sxm'")
    name: str = Field(description="display name, e.g. 'NVIDIA H100 SXM5 80GB'")
    vendor: Literal["NVIDIA", "AMD", "Intel"]
    aliases: tuple[str, ...] = ()
    variant: str = ""
    gpu_class: Literal["datacenter", "workstation", "consumer"]
    architecture: str = Field(description="e.g. 'Hopper', 'Ampere', 'CDNA3'")
    memory_gb: float = Field(gt=0, description="marketed capacity, decimal GB")
    memory_gib_usable: float = Field(gt=0, description="what nvidia-smi / ROCm reports as total, GiB")
    memory_type: str
    hbm_bandwidth_gbps: float = Field(gt=0, description="peak memory bandwidth, GB/s")
    fp32_tflops: float | None = None
    tf32_tflops: float | None = None
    bf16_tflops: float | None = None
    fp16_tflops: float | None = None
    fp16_accumulate_tflops: float | None = Field(
        default=None,
        gt=0,
        description="FP16 tensor rate with FP16 accumulation where it beats fp16_tflops (GeForce cards: "
        "twice their FP32-accumulate rate); None: the same as fp16_tflops",
    )
    fp8_tflops: float | None = None
    int8_tops: float | None = None
    fp4_tflops: float | None = None
    native_link: str | None = Field(
        default=None, description="link catalog id of the GPU's own GPU-to-GPU link (NVLink, bridge, xGMI)"
    )
    native_link_gbps_bidir: float | None = Field(default=None, description="per GPU, both directions")
    pcie_gen: int = Field(ge=3, le=6)
    pcie_lanes: int = 16
    tdp_w: float
    form_factor: Literal["sxm", "oam", "pcie", "superchip"]
    slot_width: int = Field(default=2, ge=1, le=4, description="PCIe slots a card takes (1 for SXM/OAM)")
    release_year: int
    sources: tuple[str, ...] = Field(description="keys into catalogs/sources.toml")
    notes: str = ""

    @property
    def capacity_bytes(self) -> int:
        """Total device memory as the driver reports it, bytes."""
        return int(self.memory_gib_usable * GIB)

    def tflops_for(self, dtype: str) -> float | None:
        """Dense tensor throughput for a compute dtype ('bf16', 'fp16', 'fp8', 'int8', 'fp4', 'fp32')."""
        return {
            "fp32": self.fp32_tflops,
            "tf32": self.tf32_tflops,
            "bf16": self.bf16_tflops,
            "fp16": self.fp16_tflops,
            "fp8": self.fp8_tflops,
            "int8": self.int8_tops,
            "fp4": self.fp4_tflops,
        }.get(dtype)


LinkKind = Literal[
    "nvlink", "nvswitch", "nvlink-bridge", "pcie", "infiniband", "ethernet", "infinity-fabric", "host"
]


class LinkSpec(Spec):
    """An interconnect kind: how fast one GPU can send to another over it."""

    id: str = Field(description="short slug, e.g. 'nvlink4', 'pcie4-x16-switch', 'ib-ndr'")
    name: str
    aliases: tuple[str, ...] = ()
    kind: LinkKind
    scope: Literal["intra-node", "inter-node"]
    bandwidth_gbps_per_direction: float = Field(gt=0, description="per GPU (or per NIC), one direction")
    latency_us: float = Field(ge=0, description="one small message, end to end")
    peer_to_peer: bool = Field(
        default=True, description="False when traffic is staged through host memory (no GPUDirect P2P)"
    )
    bus_efficiency: float = Field(
        default=0.8, gt=0, le=1, description="achievable fraction of bandwidth for large collectives"
    )
    generation: str = ""
    lanes: int | None = None
    requires_native: tuple[str, ...] = Field(
        default=(), description="GPU native_link ids that can use this link (empty: any GPU)"
    )
    per_peer_gbps_per_direction: float | None = Field(
        default=None,
        gt=0,
        description="direct full-mesh links (xGMI, Gaudi RoCE): bandwidth between one pair of GPUs, "
        "one direction; None when a pair can use the whole bandwidth (switch, bridge, PCIe)",
    )
    sources: tuple[str, ...]
    notes: str = ""


class MoeSpec(Spec):
    num_experts: int = Field(gt=0, le=MAX_EXPERTS)
    experts_per_token: int = Field(gt=0, le=MAX_EXPERTS)
    expert_intermediate_size: int = Field(gt=0, le=MAX_INTERMEDIATE)
    shared_experts: int = Field(default=0, ge=0, le=MAX_EXPERTS)
    shared_intermediate_size: int = Field(default=0, ge=0, le=MAX_INTERMEDIATE)
    first_dense_layers: int = Field(
        default=0, ge=0, le=MAX_LAYERS, description="DeepSeek first_k_dense_replace"
    )
    moe_layer_step: int = Field(
        default=1, ge=1, le=MAX_LAYERS, description="every n-th layer is MoE (Llama 4 interleave)"
    )
    dense_intermediate_size: int = Field(
        default=0, ge=0, le=MAX_INTERMEDIATE, description="FFN width of the model's dense layers"
    )
    expert_bias: bool = False
    router_bias: bool = False
    shared_expert_gate: bool = Field(
        default=False, description="a sigmoid gate (hidden x 1) on the shared expert"
    )

    @model_validator(mode="after")
    def _check(self) -> MoeSpec:
        if self.experts_per_token > self.num_experts:
            raise ValueError(
                f"each token picks {self.experts_per_token} experts but there are {self.num_experts}"
            )
        return self

    def is_moe_layer(self, layer: int) -> bool:
        if layer < self.first_dense_layers:
            return False
        return (layer + 1) % self.moe_layer_step == 0


class MlaSpec(Spec):
    """Multi-head latent attention (DeepSeek V2/V3): the cache keeps a compressed latent per token."""

    kv_lora_rank: int = Field(ge=0, le=MAX_HIDDEN)
    q_lora_rank: int | None = Field(ge=0, le=MAX_HIDDEN)
    qk_rope_head_dim: int = Field(ge=0, le=MAX_HIDDEN)
    qk_nope_head_dim: int = Field(ge=0, le=MAX_HIDDEN)
    v_head_dim: int = Field(ge=0, le=MAX_HIDDEN)
    indexer_heads: int = Field(
        default=0, description="DeepSeek sparse attention (V3.2) indexer heads; 0: none"
    )
    indexer_head_dim: int = Field(
        default=0,
        description="indexer key width: cached per token per layer beside the latent (index_head_dim)",
    )


class LinearAttentionSpec(Spec):
    """Linear-attention layers of a hybrid model: a fixed recurrent state per sequence, no per-token KV.

    ``gated_deltanet`` (Qwen3-Next, Qwen3.5): state = value heads x key dim x value dim, plus a causal
    convolution window of ``conv_kernel - 1`` steps over q, k and v. ``lightning`` (MiniMax-Text-01 /
    M1): state = heads x head dim x head dim.
    """

    kind: Literal["gated_deltanet", "lightning"]
    full_attention_interval: int = Field(
        gt=0,
        description="layer i uses full (softmax) attention iff (i + 1) % interval == 0; the rest are linear",
    )
    num_key_heads: int = Field(gt=0)
    num_value_heads: int = Field(gt=0)
    key_head_dim: int = Field(gt=0)
    value_head_dim: int = Field(gt=0)
    conv_kernel: int = Field(default=0, ge=0, description="short causal convolution width (0: none)")


class ModelSpec(Spec):
    """A transformer architecture, as read from a Hugging Face config.json."""

    id: str = Field(description="Hugging Face repo id, e.g. 'meta-llama/Llama-3.1-70B-Instruct'")
    name: str
    aliases: tuple[str, ...] = ()
    model_type: str
    num_layers: int = Field(gt=0, le=MAX_LAYERS)
    hidden_size: int = Field(gt=0, le=MAX_HIDDEN)
    intermediate_size: int = Field(ge=0, le=MAX_INTERMEDIATE)
    num_attention_heads: int = Field(gt=0, le=MAX_HEADS)
    num_kv_heads: int = Field(gt=0, le=MAX_HEADS)
    head_dim: int = Field(gt=0, le=MAX_HIDDEN)
    vocab_size: int = Field(gt=0, le=MAX_VOCAB)
    max_position_embeddings: int = Field(gt=0, le=MAX_TOKENS)
    tie_word_embeddings: bool = False
    gated_mlp: bool = Field(default=True, description="SwiGLU/GeGLU (3 matrices) vs plain 2-matrix MLP")
    attention_bias: bool = Field(default=False, description="bias on q, k, v projections")
    attention_out_bias: bool = False
    mlp_bias: bool = False
    norm_bias: bool = Field(default=False, description="LayerNorm (weight+bias) vs RMSNorm (weight)")
    norms_per_layer: int = Field(default=2, ge=0, le=16)
    qk_norm: bool = False
    lm_head_bias: bool = False
    attention_sinks: bool = False
    sliding_window: int | None = Field(default=None, gt=0, le=MAX_TOKENS)
    full_attention_interval: int = Field(
        default=1,
        ge=0,
        le=MAX_LAYERS,
        description="1: every layer attends fully; 0: every layer uses the sliding window; "
        "n: layer i is full iff (i+1) % n == 0, the others slide",
    )
    moe: MoeSpec | None = None
    mla: MlaSpec | None = None
    linear_attention: LinearAttentionSpec | None = Field(
        default=None, description="hybrid models: which layers are linear attention and their state"
    )
    attention_output_gate: bool = Field(
        default=False, description="gated attention: q_proj also emits a per-head output gate (Qwen3-Next)"
    )
    position_encoding: Literal["rope", "alibi", "learned"] = Field(
        default="rope",
        description="ALiBi (BLOOM, MPT) adds no parameters and no rotary; learned adds a table",
    )
    embedding_norm: bool = Field(default=False, description="a LayerNorm right after the embedding (BLOOM)")
    default_dtype: str = "bf16"
    total_params_b: float = Field(description="published or computed total, billions (for reference)")
    active_params_b: float | None = None
    sources: tuple[str, ...]
    notes: str = ""

    @model_validator(mode="after")
    def _check(self) -> ModelSpec:
        if self.num_attention_heads % self.num_kv_heads:
            raise ValueError(
                f"num_attention_heads ({self.num_attention_heads}) must be a multiple of "
                f"num_key_value_heads ({self.num_kv_heads})"
            )
        return self

    def is_linear_layer(self, layer: int) -> bool:
        """Whether ``layer`` is a linear-attention layer of a hybrid model (no per-token KV)."""
        lin = self.linear_attention
        return lin is not None and (layer + 1) % lin.full_attention_interval != 0

    def is_sliding_layer(self, layer: int) -> bool:
        if self.is_linear_layer(layer):
            return False
        if self.sliding_window is None:
            return False
        if self.full_attention_interval == 0:
            return True
        return (layer + 1) % self.full_attention_interval != 0


class Precision(Spec):
    """A number format for weights or the KV cache, with its real storage cost."""

    id: str = Field(description="e.g. 'bf16', 'fp8', 'awq-int4', 'gguf-q4_k_m'")
    name: str
    aliases: tuple[str, ...] = ()
    bits_per_weight: float = Field(gt=0, description="effective bits per element, scales and zeros included")
    compute_dtype: Literal["fp32", "bf16", "fp16", "fp8", "int8", "fp4"] = Field(
        description="tensor-core dtype the matmuls run in"
    )
    for_weights: bool = True
    for_kv_cache: bool = False
    quantizes_embeddings: bool = Field(
        default=False, description="whether embeddings and lm_head use this format (else 16-bit)"
    )
    family: Literal["float", "int", "gguf", "fp4"] = "float"
    group_size: int | None = None
    sources: tuple[str, ...] = ()
    notes: str = ""

    @property
    def bytes_per_element(self) -> float:
        return self.bits_per_weight / 8

    @property
    def embedding_bytes_per_element(self) -> float:
        """Bytes per element of the embedding table and lm_head: 16-bit unless this format quantises them."""
        return self.bytes_per_element if self.quantizes_embeddings else 2.0


MemoryRule = Literal["vllm", "sglang", "trtllm", "llamacpp", "exllamav2", "tgi", "ollama"]
SplitMode = Literal["layer", "row", "none"]


class GpuDefaults(Spec):
    """Defaults an engine picks from the GPU it starts on: the first matching row of an engine applies.

    vLLM's ``EngineArgs`` and SGLang's ``ServerArgs._handle_gpu_memory_settings`` are such tables
    (memory as the driver reports it, a GPU name to exclude, the TP degree)."""

    min_memory_gib: float = Field(default=0.0, ge=0, description="the GPU reports at least this much")
    below_memory_gib: float | None = Field(default=None, gt=0, description="and less than this much")
    excluded_gpus: tuple[str, ...] = Field(
        default=(), description="lower-case words of a GPU's name or id that exclude it (vLLM: 'a100')"
    )
    min_tp: int = Field(default=1, ge=1, description="tensor-parallel degree at least this")
    max_num_batched_tokens: int | None = Field(default=None, gt=0)
    max_num_seqs: int | None = Field(default=None, gt=0)
    cuda_graph_max_batch: int | None = Field(default=None, gt=0)

    def matches(self, gpu: GpuSpec, tp: int) -> bool:
        mem = gpu.memory_gib_usable
        if mem < self.min_memory_gib or (self.below_memory_gib is not None and mem >= self.below_memory_gib):
            return False
        words = f"{gpu.id} {gpu.name}".lower()
        return tp >= self.min_tp and not any(w in words for w in self.excluded_gpus)


class StaticMemoryRule(Spec):
    """SGLang's mem_fraction_static when unset: (GPU memory - reserve) / GPU memory, in MiB, where
    reserve = base + max(chunk, min_chunk) x per_chunk_token + graph batch x per_graph_seq
    + TP x PP x per_parallel_gpu, raised to ``floor_mib`` on GPUs over ``floor_above_gib``."""

    base_mib: float = Field(ge=0)
    per_chunk_token_mib: float = Field(ge=0)
    min_chunk_tokens: int = Field(ge=0)
    per_graph_seq_mib: float = Field(ge=0)
    per_parallel_gpu_mib: float = Field(ge=0)
    floor_mib: float = Field(default=0.0, ge=0)
    floor_above_gib: float = Field(default=0.0, ge=0)


class EngineProfile(Spec):
    """An inference engine: its version and how it budgets GPU memory."""

    id: str
    name: str
    version: str
    aliases: tuple[str, ...] = ()
    memory_rule: MemoryRule
    gpu_memory_utilization: float | None = Field(
        default=None, gt=0, le=1, description="vLLM/SGLang: share of total memory the engine may use"
    )
    kv_cache_free_fraction: float | None = Field(
        default=None, gt=0, le=1, description="TensorRT-LLM: share of memory free after weights given to KV"
    )
    max_num_batched_tokens: int = Field(gt=0, description="tokens per forward step (prefill chunk)")
    max_num_seqs: int = Field(gt=0)
    kv_block_tokens: int = Field(default=16, gt=0)
    cuda_context_gib: float = Field(ge=0, description="CUDA/HIP context and library workspaces per GPU")
    cuda_graphs_gib: float = Field(ge=0, description="captured CUDA graphs per GPU (0 when eager)")
    allocator_reserve_gib: float = Field(default=0.0, ge=0)
    nccl_buffer_gib_per_peer: float = Field(default=0.0, ge=0, description="NCCL buffers per TP/PP peer")
    supports_tp: bool = True
    supports_pp: bool = True
    supports_ep: bool = False
    supports_mixed_gpus: bool = False
    uniform_kv_blocks: bool = Field(
        default=True, description="every rank gets the smallest rank's KV block count (vLLM)"
    )
    weight_precisions: tuple[str, ...] = Field(description="precision ids the engine loads")
    kv_precisions: tuple[str, ...]
    mixes_prompts: bool = Field(
        default=True,
        description="prompt chunks run in the same forward pass as the decode tokens (vLLM, TensorRT-LLM, "
        "llama.cpp); False: new prompts run as their own prefill batch while decoding waits (SGLang)",
    )
    step_overhead_us: float = Field(default=0.0, ge=0, description="scheduler + launch cost per decode step")
    layer_overhead_us: float = Field(default=0.0, ge=0, description="kernel-launch cost per layer per step")
    defaults_by_gpu: tuple[GpuDefaults, ...] = Field(
        default=(), description="batch defaults by GPU; the first matching row overrides the fields above"
    )
    defaults_gpu: Literal["first", "smallest"] = Field(
        default="first", description="the GPU those defaults read: rank 0's (vLLM) or the smallest (SGLang)"
    )
    static_memory_rule: StaticMemoryRule | None = Field(
        default=None, description="SGLang: mem_fraction_static from the GPU, chunk, graphs and TP x PP"
    )
    cuda_graph_max_batch: int | None = Field(
        default=None, gt=0, description="largest decode batch run as a CUDA graph (None: no graphs)"
    )
    cuda_graph_batch_per_seq: float | None = Field(
        default=None, gt=0, description="vLLM: graphs up to min(max_num_seqs x this, cuda_graph_max_batch)"
    )
    default_kv_precision: str = Field(
        default="model", description="KV cache when none is asked for: 'model' (the model's dtype) or an id"
    )
    split_modes: tuple[SplitMode, ...] = Field(
        default=(), description="llama.cpp --split-mode values; the first is the default"
    )
    prefill_dequantises_before: str | None = Field(
        default=None,
        description="llama.cpp builds older than this dequantise quantised weights to FP16 in memory "
        "before each prompt-size matmul (the cuBLAS path); newer ones multiply them as they are (MMQ)",
    )
    fp16_accumulate: bool = Field(
        default=False,
        description="FP16 matmuls (and weights dequantised to FP16) accumulate in FP16 (llama.cpp's cuBLAS "
        "calls): on GeForce cards they run at the FP16-accumulate rate, twice the FP32-accumulate one",
    )
    context_fit_min_tokens: int | None = Field(
        default=None, gt=0, description="llama.cpp --fit: the model's context shrinks to fit, not below this"
    )
    context_fit_margin_gib: float = Field(default=0.0, ge=0, description="llama.cpp --fit-target per GPU")
    rules_from: str = Field(
        default="", description="the release (and documents) its memory rules and defaults were read from"
    )
    sources: tuple[str, ...] = ()
    notes: str = ""

    @model_validator(mode="after")
    def _check_defaults(self) -> EngineProfile:
        kv = self.default_kv_precision
        if kv != "model" and kv not in self.kv_precisions:
            raise ValueError(
                f"default_kv_precision '{kv}' is not one of its kv_precisions {self.kv_precisions}"
            )
        return self


class NodeTemplate(Spec):
    """A server people recognise: how many slots, which GPU, how they are wired."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    gpu: str | None = Field(default=None, description="GPU catalog id it ships with; None: empty slots")
    slots: int = Field(gt=0, le=128)
    nvswitch: str | None = Field(default=None, description="link id of its NVSwitch domain, if any")
    pair_links: str | None = Field(default=None, description="link id joining slots (0,1), (2,3) ...")
    host_link: str = Field(description="link id of the PCIe path between its GPUs")
    nic: str | None = Field(default=None, description="link id of its network cards to other nodes")
    nics: int = Field(default=1, ge=1, description="how many network cards (DGX H100: 8, one per GPU)")
    sources: tuple[str, ...] = ()
    notes: str = ""
