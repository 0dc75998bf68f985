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

    def is_sliding_layer(self, layer: int) -> bool:
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


MemoryRule = Literal["vllm", "sglang", "trtllm", "llamacpp", "exllamav2"]


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
    step_overhead_us: float = Field(default=0.0, ge=0, description="scheduler + launch cost per decode step")
    layer_overhead_us: float = Field(default=0.0, ge=0, description="kernel-launch cost per layer per step")
    sources: tuple[str, ...] = ()
    notes: str = ""


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
