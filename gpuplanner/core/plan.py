"""The plan: a rig, a model, precisions, an engine, a layout and a workload.

Plans are frozen pydantic models; they refer to catalog entries by id (``gpu="h100-sxm"``).
Editing a plan means building a new one (``plan.model_copy(update=...)``), which is what the
document does for every change, so undo is a matter of keeping the old value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gpuplanner.core.limits import (
    MAX_CONCURRENCY,
    MAX_COORDINATE,
    MAX_GPUS,
    MAX_HOST_RAM_GIB,
    MAX_ID_CHARS,
    MAX_LAYERS,
    MAX_LINKS,
    MAX_NAME_CHARS,
    MAX_NODES,
    MAX_SLOTS,
    MAX_TEXT_CHARS,
    MAX_TOKENS,
)
from gpuplanner.core.specs import ModelSpec

Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
CatalogId = Annotated[str, Field(max_length=MAX_ID_CHARS)]


class PlanPart(BaseModel):
    # no NaN or infinity anywhere in a plan: every consumer (the fit model, Qt widgets) needs finite numbers
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class GpuPlacement(PlanPart):
    id: Id = Field(description="unique in the rig, e.g. 'g0'")
    gpu: CatalogId = Field(description="GPU catalog id")
    slot: int = Field(ge=0, lt=MAX_SLOTS)


class Node(PlanPart):
    id: Id = Field(description="unique in the rig, e.g. 'n0'")
    name: str = Field(default="Server", max_length=MAX_NAME_CHARS)
    template: CatalogId | None = None
    slots: int = Field(default=8, gt=0, le=MAX_SLOTS)
    gpus: tuple[GpuPlacement, ...] = Field(default=(), max_length=MAX_SLOTS)
    host_link: CatalogId = Field(default="pcie5-x16-switch", description="PCIe path between this node's GPUs")
    nvswitch: CatalogId | None = Field(
        default=None, description="link id of an NVSwitch joining all its GPUs"
    )
    nic: CatalogId | None = Field(default=None, description="link id of its NICs; None uses the rig's fabric")
    nics: int = Field(
        default=1,
        ge=1,
        le=MAX_SLOTS,
        description="network cards to other nodes (DGX H100: 8, GB200 NVL72: 72)",
    )
    x: float = Field(default=0.0, ge=-MAX_COORDINATE, le=MAX_COORDINATE)
    y: float = Field(default=0.0, ge=-MAX_COORDINATE, le=MAX_COORDINATE)
    host: CatalogId | None = Field(
        default=None, description="host platform id (catalogs/hosts.toml); None: a desktop AM5 board"
    )
    host_ram_gib: float | None = Field(
        default=None,
        gt=0,
        le=MAX_HOST_RAM_GIB,
        description="installed system RAM, GiB; None: the platform's most",
    )

    @model_validator(mode="after")
    def _slots_in_range(self) -> Node:
        seen: dict[int, str] = {}
        for gpu in self.gpus:
            if gpu.slot >= self.slots:
                raise ValueError(
                    f"GPU '{gpu.id}' sits in slot {gpu.slot}, but the server has slots 0–{self.slots - 1}"
                )
            if gpu.slot in seen:
                raise ValueError(f"GPUs '{seen[gpu.slot]}' and '{gpu.id}' share slot {gpu.slot}")
            seen[gpu.slot] = gpu.id
        return self


class Link(PlanPart):
    """An explicit point-to-point link between two GPUs (NVLink, bridge, xGMI, or a named PCIe path)."""

    id: Id
    kind: CatalogId = Field(description="link catalog id")
    a: CatalogId = Field(description="GPU id")
    b: CatalogId = Field(description="GPU id")


class Rig(PlanPart):
    nodes: tuple[Node, ...] = Field(default=(), max_length=MAX_NODES)
    links: tuple[Link, ...] = Field(default=(), max_length=MAX_LINKS)
    fabric: CatalogId | None = Field(default=None, description="link id between nodes (InfiniBand, Ethernet)")

    @model_validator(mode="after")
    def _gpus_once(self) -> Rig:
        count = sum(len(n.gpus) for n in self.nodes)
        if count > MAX_GPUS:
            raise ValueError(f"the rig has {count:,} GPUs; gpuplanner plans up to {MAX_GPUS:,}")
        return self

    def iter_gpus(self) -> Iterator[tuple[Node, GpuPlacement]]:
        for node in self.nodes:
            for gpu in node.gpus:
                yield node, gpu

    def gpu_ids(self) -> list[str]:
        return [g.id for _, g in self.iter_gpus()]

    def find_gpu(self, gpu_id: str) -> tuple[Node, GpuPlacement] | None:
        for node, gpu in self.iter_gpus():
            if gpu.id == gpu_id:
                return node, gpu
        return None


class Stage(PlanPart):
    """A pipeline stage: a contiguous range of transformer layers on one tensor-parallel group."""

    layers: tuple[Annotated[int, Field(ge=0, le=MAX_LAYERS)], Annotated[int, Field(ge=0, le=MAX_LAYERS)]] = (
        Field(description="[first, last_exclusive) transformer layer indices")
    )
    gpus: tuple[CatalogId, ...] = Field(
        min_length=1, max_length=MAX_GPUS, description="GPU ids; their order is the TP rank"
    )

    @field_validator("layers")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        first, last = value
        if first < 0 or last < first:
            raise ValueError(f"layer range [{first}, {last}) is not a valid range")
        return value

    @property
    def tp(self) -> int:
        return len(self.gpus)

    @property
    def num_layers(self) -> int:
        return self.layers[1] - self.layers[0]


class Replica(PlanPart):
    """One full copy of the model: its pipeline stages in order."""

    stages: tuple[Stage, ...] = Field(min_length=1, max_length=MAX_LAYERS)


class Layout(PlanPart):
    replicas: tuple[Replica, ...] = Field(min_length=1, max_length=MAX_GPUS)
    ep: int = Field(
        default=1, ge=1, le=MAX_GPUS, description="expert-parallel degree (MoE experts spread over ep GPUs)"
    )

    @property
    def dp(self) -> int:
        return len(self.replicas)

    @property
    def pp(self) -> int:
        return len(self.replicas[0].stages)

    @property
    def tp(self) -> int:
        return self.replicas[0].stages[0].tp


class EngineSettings(PlanPart):
    """The engine and its knobs; ``None`` means the engine profile's default."""

    engine: CatalogId = "vllm"
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)
    kv_cache_free_fraction: float | None = Field(default=None, gt=0, le=1)
    max_num_batched_tokens: int | None = Field(default=None, gt=0, le=MAX_TOKENS)
    max_num_seqs: int | None = Field(default=None, gt=0, le=MAX_CONCURRENCY)
    split_mode: Literal["layer", "row", "none"] | None = Field(
        default=None,
        description="llama.cpp --split-mode: layer (default), row or none; other engines: unused",
    )
    max_model_len: int | None = Field(
        default=None, gt=0, le=MAX_TOKENS, description="context limit; None: model's own"
    )
    enforce_eager: bool = False
    version: str | None = Field(
        default=None,
        max_length=MAX_ID_CHARS,
        description="the engine release that runs the plan; None: the catalog's version",
    )
    offload_layers: int = Field(
        default=0,
        ge=0,
        le=MAX_LAYERS,
        description="llama.cpp/Ollama: the first N layers kept in system RAM (-ngl num_layers - N)",
    )
    offload_experts: bool = Field(
        default=False, description="llama.cpp/Ollama: every routed MoE expert kept in system RAM (--cpu-moe)"
    )
    offload_expert_layers: int = Field(
        default=0,
        ge=0,
        le=MAX_LAYERS,
        description="llama.cpp --n-cpu-moe N: the routed experts of the first N layers kept in system RAM",
    )

    @property
    def offloads(self) -> bool:
        """Whether the plan keeps layers or experts in the host's RAM (see core.host)."""
        return bool(self.offload_layers or self.offload_experts or self.offload_expert_layers)


class Workload(PlanPart):
    concurrency: int | Literal["max"] = Field(default=1, description="sequences decoded at once")
    input_tokens: int = Field(default=1024, gt=0, le=MAX_TOKENS)
    output_tokens: int = Field(default=256, gt=0, le=MAX_TOKENS)
    batching: Literal["continuous", "static"] = Field(
        default="continuous",
        description="continuous: a server admitting requests as others finish (vLLM, SGLang, "
        "TensorRT-LLM serving); static: an offline batch that starts and ends together",
    )

    @field_validator("concurrency")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be from 1 to {MAX_CONCURRENCY:,} or 'max', not {value}")
        return value


class Plan(PlanPart):
    name: str = Field(default="Untitled plan", max_length=MAX_NAME_CHARS)
    description: str = Field(default="", max_length=MAX_TEXT_CHARS)
    rig: Rig
    model: CatalogId = Field(description="model catalog id (Hugging Face repo id)")
    model_spec: ModelSpec | None = Field(
        default=None, description="embedded architecture for a model that is not in the catalog"
    )
    weights: CatalogId = Field(default="bf16", description="precision id of the weights")
    kv_cache: CatalogId = Field(default="bf16", description="precision id of the KV cache")
    engine: EngineSettings = EngineSettings()
    layout: Layout
    workload: Workload = Workload()
