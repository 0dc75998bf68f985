"""The plan: a rig, a model, precisions, an engine, a layout and a workload.

Plans are frozen pydantic models; they refer to catalog entries by id (``gpu="h100-sxm"``).
Editing a plan means building a new one (``plan.model_copy(update=...)``), which is what the
document does for every change, so undo is a matter of keeping the old value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gpuplanner.core.specs import ModelSpec


class PlanPart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GpuPlacement(PlanPart):
    id: str = Field(description="unique in the rig, e.g. 'g0'")
    gpu: str = Field(description="GPU catalog id")
    slot: int = Field(ge=0)


class Node(PlanPart):
    id: str = Field(description="unique in the rig, e.g. 'n0'")
    name: str = "Server"
    template: str | None = None
    slots: int = Field(default=8, gt=0, le=128)
    gpus: tuple[GpuPlacement, ...] = ()
    host_link: str = Field(default="pcie5-x16-switch", description="PCIe path between this node's GPUs")
    nvswitch: str | None = Field(default=None, description="link id of an NVSwitch joining all its GPUs")
    nic: str | None = Field(default=None, description="link id of its NICs; None uses the rig's fabric")
    nics: int = Field(default=1, ge=1, le=64, description="network cards to other nodes (DGX H100: 8)")
    x: float = 0.0
    y: float = 0.0


class Link(PlanPart):
    """An explicit point-to-point link between two GPUs (NVLink, bridge, xGMI, or a named PCIe path)."""

    id: str
    kind: str = Field(description="link catalog id")
    a: str = Field(description="GPU id")
    b: str = Field(description="GPU id")


class Rig(PlanPart):
    nodes: tuple[Node, ...] = ()
    links: tuple[Link, ...] = ()
    fabric: str | None = Field(default=None, description="link id between nodes (InfiniBand, Ethernet)")

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

    layers: tuple[int, int] = Field(description="[first, last_exclusive) transformer layer indices")
    gpus: tuple[str, ...] = Field(min_length=1, description="GPU ids; their order is the TP rank")

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

    stages: tuple[Stage, ...] = Field(min_length=1)


class Layout(PlanPart):
    replicas: tuple[Replica, ...] = Field(min_length=1)
    ep: int = Field(default=1, ge=1, description="expert-parallel degree (MoE experts spread over ep GPUs)")

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

    engine: str = "vllm"
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)
    kv_cache_free_fraction: float | None = Field(default=None, gt=0, le=1)
    max_num_batched_tokens: int | None = Field(default=None, gt=0)
    max_num_seqs: int | None = Field(default=None, gt=0)
    split_mode: Literal["layer", "row", "none"] | None = Field(
        default=None,
        description="llama.cpp --split-mode: layer (default), row or none; other engines: unused",
    )
    max_model_len: int | None = Field(default=None, gt=0, description="context limit; None: model's own")
    enforce_eager: bool = False
    version: str | None = Field(
        default=None, description="the engine release that runs the plan; None: the catalog's version"
    )


class Workload(PlanPart):
    concurrency: int | Literal["max"] = Field(default=1, description="sequences decoded at once")
    input_tokens: int = Field(default=1024, gt=0)
    output_tokens: int = Field(default=256, gt=0)
    batching: Literal["continuous", "static"] = Field(
        default="continuous",
        description="continuous: a server admitting requests as others finish (vLLM, SGLang, "
        "TensorRT-LLM serving); static: an offline batch that starts and ends together",
    )

    @field_validator("concurrency")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError(f"concurrency must be at least 1 or 'max', not {value}")
        return value


class Plan(PlanPart):
    name: str = "Untitled plan"
    description: str = ""
    rig: Rig
    model: str = Field(description="model catalog id (Hugging Face repo id)")
    model_spec: ModelSpec | None = Field(
        default=None, description="embedded architecture for a model that is not in the catalog"
    )
    weights: str = Field(default="bf16", description="precision id of the weights")
    kv_cache: str = Field(default="bf16", description="precision id of the KV cache")
    engine: EngineSettings = EngineSettings()
    layout: Layout
    workload: Workload = Workload()
