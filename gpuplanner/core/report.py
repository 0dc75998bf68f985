"""The report: what ``evaluate(plan)`` returns to the window, the command line and the PDF.

Its JSON form (``report.to_json_dict()``) is public: schema ``gpuplanner.report/1``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

REPORT_SCHEMA = "gpuplanner.report/1"


class ReportPart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def assemble(cls, **fields: Any) -> Any:
        """Build from values our own arithmetic produced, every field given, without validation:
        ``model_construct`` minus its per-field default and alias handling, which cost more than the
        fit model itself for the 64 to 1,000 GPU reports of each edit. Tests check that the result
        equals a validated instance."""
        obj = cls.__new__(cls)
        object.__setattr__(obj, "__dict__", fields)
        object.__setattr__(obj, "__pydantic_fields_set__", set(fields))
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        return obj


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


class LinkTraffic(ReportPart):
    name: str = Field(description="e.g. 'NVSwitch (n0)', 'PCIe g0-g1', 'InfiniBand n0-n1'")
    link: str = Field(description="link catalog id")
    gpus: tuple[str, ...]
    purpose: str = Field(description="'tensor parallel', 'pipeline', 'expert all-to-all'")
    bytes_per_token: float
    share_of_bandwidth: float = Field(description="0..1 at the plan's throughput")


class CurvePoint(ReportPart):
    concurrency: int
    output_tokens_per_s: float
    tokens_per_s_per_user: float
    low_output_tokens_per_s: float
    high_output_tokens_per_s: float


class CalibratedOn(ReportPart):
    """The published speed measurements an estimate rests on (rows of ``catalogs/measurements.csv``)."""

    rows: tuple[str, ...] = Field(
        description="row ids on the plan's GPU family with its engine, else the closest"
    )
    sources: int = Field(description="distinct publications among those rows")
    summary: str = Field(description="one sentence, e.g. '6 published runs of vLLM on Hopper, 2 of them MoE'")


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
    low: Speeds
    high: Speeds
    step_split: tuple[StepSplit, ...] = ()
    links: tuple[LinkTraffic, ...] = ()
    curve: tuple[CurvePoint, ...] = ()
    saturation_concurrency: int | None = Field(
        default=None, description="where adding users stops adding throughput"
    )
    assumptions: tuple[str, ...] = ()
    calibrated_on: CalibratedOn | None = Field(default=None, description="set by evaluate()")
    extrapolated: Extrapolated | None = Field(default=None, description="set by evaluate()")


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

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def to_json_dict(self) -> dict[str, Any]:
        """The public JSON form (``gpuplanner evaluate --json``)."""
        return self.model_dump(mode="json", by_alias=True)
