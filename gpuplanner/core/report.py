"""The report: what ``evaluate(plan)`` returns to the window, the command line and the PDF.

Its JSON form (``report.to_json_dict()``) is public: schema ``gpuplanner.report/1``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat, starmap
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

REPORT_SCHEMA = "gpuplanner.report/1"

_new = object.__new__
# BaseModel's own slot descriptors, called directly: cheaper than object.__setattr__ (which looks the
# name up on the type and unpacks its arguments on every call), and callable from C loops (map)
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_drain = deque[object](maxlen=0).extend  # runs an iterator to its end in C, keeping nothing
_FEW = 8  # fewer parts than this are assembled one by one: the C loops' set-up costs more


class ReportPart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def assemble(cls, **fields: Any) -> Any:
        """Build from values our own arithmetic produced, every field given, without validation:
        ``model_construct`` minus its per-field default and alias handling, which cost more than the
        fit model itself for the 64 to 1,000 GPU reports of each edit. Tests check that the result
        equals a validated instance."""
        return cls.assemble_shared(fields, set(fields))

    @classmethod
    def assemble_shared(cls, fields: dict[str, Any], names: set[str]) -> Any:
        """:meth:`assemble` from a dict of every field, for many parts of one kind: ``names`` (the
        keys of ``fields``, as pydantic's fields-set) is shared between them (pydantic copies it
        before changing it, in ``model_copy``)."""
        obj = _new(cls)
        _set_dict(obj, fields)
        _set_fields_set(obj, names)
        _set_extra(obj, None)
        _set_private(obj, None)
        return obj

    @classmethod
    def assemble_many(cls, dicts: Sequence[dict[str, Any]], names: set[str]) -> list[Any]:
        """:meth:`assemble_shared` of each of ``dicts`` (one part each, in order), in C loops: the
        per-GPU entries of a large rig's report cost a few slot writes apiece, no Python frame."""
        count = len(dicts)
        if count < _FEW:
            return [cls.assemble_shared(fields, names) for fields in dicts]
        # ``starmap`` over ``zip`` hands each call the argument tuple ``zip`` reuses: ``map`` would
        # pack a new one per call for these slot wrappers, which take no vectorcall (a strict ``zip``
        # costs more: every ``repeat`` below is as long as ``dicts``)
        parts = list(starmap(_new, repeat((cls,), count)))
        _drain(starmap(_set_dict, zip(parts, dicts)))  # noqa: B905, RUF058
        _drain(starmap(_set_fields_set, zip(parts, repeat(names, count))))  # noqa: B905, RUF058
        _drain(starmap(_set_extra, zip(parts, repeat(None, count))))  # noqa: B905, RUF058
        _drain(starmap(_set_private, zip(parts, repeat(None, count))))  # noqa: B905, RUF058
        return parts


class FixAction(ReportPart):
    """A fix the window can apply as one undoable command.

    kinds and their fields:
      - ``set_kv_cache``: value = precision id
      - ``set_weights``: value = precision id
      - ``set_max_model_len``: amount = tokens
      - ``set_concurrency``: amount = sequences
      - ``move_layers``: replica, from_stage, to_stage, amount = number of layers
      - ``set_gpu_memory_utilization``: number = fraction
    """

    kind: Literal[
        "set_kv_cache",
        "set_weights",
        "set_max_model_len",
        "set_concurrency",
        "move_layers",
        "set_gpu_memory_utilization",
    ]
    value: str = ""
    amount: int = 0
    number: float = 0.0
    replica: int = 0
    from_stage: int = 0
    to_stage: int = 0


class Problem(ReportPart):
    severity: Literal["error", "warning", "info"]
    gpu: str | None = None
    message: str
    fix: str = ""
    action: FixAction | None = None


class MemoryLedger(ReportPart):
    """Bytes on one GPU. ``free`` is negative when the GPU is over budget."""

    weights: int
    kv_cache: int
    activations: int
    communication: int
    runtime: int
    free: int


class GpuReport(ReportPart):
    id: str
    gpu: str = Field(description="GPU catalog id")
    gpu_name: str
    node: str
    replica: int
    stage: int
    tp_rank: int
    layers: tuple[int, int]
    has_embeddings: bool
    has_lm_head: bool
    capacity_bytes: int
    budget_bytes: int = Field(description="what the engine lets itself use (e.g. total x utilization)")
    memory_bytes: MemoryLedger
    stranded_bytes: int = Field(default=0, description="KV memory left unused by the smallest-rank rule")
    kv_blocks: int = 0
    weight_params: int = Field(default=0, description="parameters stored on this GPU")
    formula: dict[str, str] = Field(
        default_factory=dict, description="inputs of each ledger line, for tooltips"
    )


class KvCacheReport(ReportPart):
    bytes_per_token: int = Field(description="KV bytes per token for the whole model, one replica")
    capacity_tokens: int = Field(description="tokens one replica can hold")
    max_concurrency: int = Field(description="sequences at the plan's context, all replicas")
    context_tokens: int = Field(description="input + output tokens of one sequence")
    max_context_at_concurrency: int = Field(description="longest sequence at the plan's concurrency")


class Speeds(ReportPart):
    ttft_s: float
    tpot_s: float
    tokens_per_s_per_user: float
    output_tokens_per_s: float
    prefill_tokens_per_s: float


class StepSplit(ReportPart):
    """One decode step on one GPU, seconds."""

    gpu: str
    compute_s: float
    memory_s: float
    communication_s: float
    waiting_s: float
    communication_between_s: float = Field(
        default=0.0,
        description="of communication_s, the part over links between servers (the rest is inside one)",
    )

    @property
    def communication_inside_s(self) -> float:
        """Communication over links inside one server (NVLink, NVSwitch, PCIe)."""
        return max(self.communication_s - self.communication_between_s, 0.0)


class LinkTraffic(ReportPart):
    name: str = Field(description="e.g. 'NVSwitch (n0)', 'PCIe g0-g1', 'InfiniBand n0-n1'")
    link: str = Field(description="link catalog id")
    gpus: tuple[str, ...]
    purpose: str = Field(description="'tensor parallel', 'pipeline', 'expert all-to-all'")
    bytes_per_token: float
    share_of_bandwidth: float = Field(description="0..1 at the plan's throughput")


BottleneckKind = Literal[
    "weights_bandwidth",
    "tensor_compute",
    "kv_bandwidth",
    "attention_compute",
    "launch_overhead",
    "tensor_parallel",
    "expert_all_to_all",
]


class Bottleneck(ReportPart):
    """What limits a step, as a value; ``sentence`` is how the report says it."""

    kind: BottleneckKind
    gpu: str = Field(default="", description="name of the GPU whose part it is")
    dtype: str = Field(default="", description="the matmuls' data type, for tensor_compute")
    link: str = Field(default="", description="the slowest hop, for tensor_parallel and expert_all_to_all")
    share: float = Field(description="0..1 of the step")
    step: str = Field(description="'decode step' or 'N-token prefill chunk'")
    notes: tuple[str, ...] = Field(default=(), description="pipeline and KV-capacity remarks, in words")

    @property
    def what(self) -> str:
        """The limiting part in words: 'memory bandwidth of H100 SXM5 80GB reading weights'."""
        return {
            "weights_bandwidth": f"memory bandwidth of {self.gpu} reading weights",
            "tensor_compute": f"tensor throughput of {self.gpu} ({self.dtype}) in matmuls",
            "kv_bandwidth": f"memory bandwidth of {self.gpu} reading the KV cache",
            "attention_compute": f"attention compute on {self.gpu}",
            "launch_overhead": "kernel-launch overhead",
            "tensor_parallel": f"{self.link} (tensor-parallel all-reduce)",
            "expert_all_to_all": f"{self.link} (expert all-to-all)",
        }[self.kind]

    @property
    def sentence(self) -> str:
        return f"{self.what}: {self.share:.0%} of a {self.step}" + "".join(f"; {n}" for n in self.notes)


class CurvePoint(ReportPart):
    concurrency: int
    output_tokens_per_s: float
    tokens_per_s_per_user: float
    low_output_tokens_per_s: float
    high_output_tokens_per_s: float
    ttft_s: float | None = Field(default=None, description="time to first token at this concurrency")


class CalibratedOn(ReportPart):
    """The published speed measurements an estimate rests on (rows of ``catalogs/measurements.csv``)."""

    rows: tuple[str, ...] = Field(
        description="row ids on the plan's GPU family with its engine, else the closest"
    )
    sources: int = Field(description="distinct publications among those rows")
    summary: str = Field(description="one sentence, e.g. '6 published runs of vLLM on Hopper, 2 of them MoE'")
    user: str | None = Field(
        default=None,
        description="the user's own calibration in use, e.g. 'calibrated on your rig: 3 runs, RTX 4090, llama.cpp'",
    )
    user_points: tuple[tuple[int, float], ...] = Field(
        default=(),
        description="the user's measured (concurrency, output tokens/s) on this GPU kind and engine",
    )


class Extrapolated(ReportPart):
    """Whether the plan lies outside the published measurements, why, and how much wider the band is."""

    value: bool
    reasons: tuple[str, ...] = Field(description="one sentence per dimension no measurement covers")
    low_widening: float = Field(default=0.0, description="low speeds were multiplied by 1 - this")
    high_widening: float = Field(default=0.0, description="high speeds were multiplied by 1 + this")


class PerformanceReport(ReportPart):
    concurrency: int
    input_tokens: int
    output_tokens: int
    ttft_s: float
    tpot_s: float
    tokens_per_s_per_user: float
    output_tokens_per_s: float
    prefill_tokens_per_s: float
    bottleneck: str = Field(description="decode bottleneck in words")
    prefill_bottleneck: str = ""
    bottleneck_detail: Bottleneck | None = Field(default=None, description="the decode bottleneck as a value")
    prefill_bottleneck_detail: Bottleneck | None = None
    low: Speeds
    high: Speeds
    step_split: tuple[StepSplit, ...] = ()
    links: tuple[LinkTraffic, ...] = ()
    curve: tuple[CurvePoint, ...] = ()
    ttft_burst_s: float | None = Field(
        default=None,
        description="mean TTFT when all the users send at once to idle replicas (a benchmark's first wave)",
    )
    saturation_concurrency: int | None = Field(
        default=None, description="where adding users stops adding throughput"
    )
    assumptions: tuple[str, ...] = ()
    calibrated_on: CalibratedOn | None = Field(default=None, description="set by evaluate()")
    extrapolated: Extrapolated | None = Field(default=None, description="set by evaluate()")


class HostReport(ReportPart):
    """Layers or experts kept in system RAM (llama.cpp ``-ngl`` / ``--n-cpu-moe``, Ollama partial offload)."""

    host: str = Field(description="host platform id (catalogs/hosts.toml)")
    host_name: str
    bandwidth_gbps: float = Field(description="theoretical DRAM bandwidth, GB/s")
    ram_bytes: int = Field(description="installed (or the platform's largest) RAM; 0: unknown")
    memory_bytes: int = Field(description="what the offloaded weights and their KV cache take in RAM")
    weights_bytes: int
    kv_cache_bytes: int
    offloaded_layers: tuple[int, ...] = Field(description="layers kept whole in RAM")
    offloaded_experts: bool = Field(description="routed experts of the GPU layers kept in RAM")
    offloaded_expert_layers: int = Field(
        default=0,
        description="--n-cpu-moe N: the routed experts of layers [0, N) kept in RAM (0: none or all)",
    )
    bytes_per_token: float = Field(description="bytes the host reads per decode step")
    host_s_per_token: float
    host_s_per_token_low: float
    host_s_per_token_high: float
    prefill_copy_s: float = Field(description="PCIe copies of host weights for the prompt, seconds")
    tpot_s: float | None = Field(default=None, description="whole decode step, GPUs + host")
    ttft_s: float | None = None
    tokens_per_s_per_user: float | None = None
    output_tokens_per_s: float | None = None
    assumptions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RigSpeed:
    """What a user of the plan sees: TTFT, TPOT and tokens/s at its concurrency, host included."""

    concurrency: int
    ttft_s: float
    tpot_s: float
    tokens_per_s_per_user: float
    output_tokens_per_s: float
    with_host: bool  # whether system RAM takes part (the figures are then the host block's)


class Report(ReportPart):
    schema_: str = Field(default=REPORT_SCHEMA, alias="schema")
    plan_name: str
    model: str
    model_name: str
    weights: str
    kv_cache_precision: str
    engine: str
    engine_name: str
    fits: bool
    verdict: str = Field(description="one sentence")
    problems: tuple[Problem, ...]
    gpus: tuple[GpuReport, ...]
    kv_cache: KvCacheReport
    performance: PerformanceReport | None = None
    total_params: int = 0
    active_params: int = 0
    host: HostReport | None = Field(default=None, description="system RAM holding layers or experts, if any")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def rig_speed(self) -> RigSpeed | None:
        """The speed of the whole rig at the plan's concurrency: the host's figures when layers or
        experts run from system RAM (they include the GPUs), else the GPUs'. None without a speed."""
        perf = self.performance
        if perf is None:
            return None
        host = self.host
        if host is not None and host.tpot_s is not None:
            return RigSpeed(
                concurrency=perf.concurrency,
                ttft_s=host.ttft_s if host.ttft_s is not None else perf.ttft_s,
                tpot_s=host.tpot_s,
                tokens_per_s_per_user=host.tokens_per_s_per_user or 0.0,
                output_tokens_per_s=host.output_tokens_per_s or 0.0,
                with_host=True,
            )
        return RigSpeed(
            concurrency=perf.concurrency,
            ttft_s=perf.ttft_s,
            tpot_s=perf.tpot_s,
            tokens_per_s_per_user=perf.tokens_per_s_per_user,
            output_tokens_per_s=perf.output_tokens_per_s,
            with_host=False,
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The public JSON form (``gpuplanner evaluate --json``)."""
        return self.model_dump(mode="json", by_alias=True)
