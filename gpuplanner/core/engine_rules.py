"""Engine rules that change memory and speed: defaults per GPU, the KV cache's default format, the
formats an engine loads, and llama.cpp's context rules.

The rules are data in ``catalogs/engines.toml`` (``defaults_by_gpu``, ``static_memory_rule``,
``default_kv_precision``, ``weight_precisions``/``kv_precisions``, ``context_fit_*``); this module
only reads them, so a new engine version is a catalog edit. Sources are named in each profile.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gpuplanner.core.catalog import Catalog
from gpuplanner.core.specs import EngineProfile, GpuDefaults, GpuSpec, ModelSpec, Precision


@dataclass(frozen=True)
class GpuBatchDefaults:
    """What an engine picks for itself from the GPU it starts on (None: the profile's own value)."""

    max_num_batched_tokens: int
    max_num_seqs: int
    cuda_graph_max_batch: int | None
    gpu_memory_utilization: float | None


def defaults_gpu(engine: EngineProfile, gpus: Sequence[GpuSpec]) -> GpuSpec:
    """The GPU an engine reads its defaults from: rank 0's (vLLM's API server) or the smallest (SGLang)."""
    if engine.defaults_gpu == "smallest":
        return min(gpus, key=lambda g: g.memory_gib_usable)
    return gpus[0]


def matching_row(engine: EngineProfile, gpu: GpuSpec, tp: int) -> GpuDefaults | None:
    """The first row of ``engine.defaults_by_gpu`` that holds for ``gpu`` at tensor parallel ``tp``."""
    return next((row for row in engine.defaults_by_gpu if row.matches(gpu, tp)), None)


def static_memory_fraction(
    engine: EngineProfile, gpu: GpuSpec, chunk_tokens: int, graph_batch: int, tp: int, pp: int
) -> float | None:
    """SGLang's mem_fraction_static when the launch leaves it unset (None: the engine has no such rule).

    reserve (MiB) = base + max(chunk, min_chunk) x per token + graph batch x per sequence
    + TP x PP x per GPU, at least ``floor_mib`` on GPUs over ``floor_above_gib``; the fraction is
    (memory - reserve) / memory, rounded to 3 decimals as SGLang does.
    """
    rule = engine.static_memory_rule
    if rule is None:
        return None
    memory_mib = gpu.memory_gib_usable * 1024
    reserve = (
        rule.base_mib
        + max(chunk_tokens, rule.min_chunk_tokens) * rule.per_chunk_token_mib
        + graph_batch * rule.per_graph_seq_mib
        + tp * pp * rule.per_parallel_gpu_mib
    )
    if gpu.memory_gib_usable > rule.floor_above_gib:
        reserve = max(reserve, rule.floor_mib)
    return round((memory_mib - reserve) / memory_mib, 3)


def batch_defaults(
    engine: EngineProfile,
    gpus: Sequence[GpuSpec],
    tp: int,
    pp: int,
    *,
    max_num_seqs: int | None = None,
    max_num_batched_tokens: int | None = None,
) -> GpuBatchDefaults:
    """The engine's own choices for this rig, with the plan's explicit values (if any) taken into account:
    vLLM's CUDA-graph sizes follow the max_num_seqs in force, SGLang's memory fraction the chunk."""
    gpu = defaults_gpu(engine, gpus)
    row = matching_row(engine, gpu, tp) or GpuDefaults()
    tokens = max_num_batched_tokens or row.max_num_batched_tokens or engine.max_num_batched_tokens
    seqs = max_num_seqs or row.max_num_seqs or engine.max_num_seqs
    if max_num_seqs is None:
        seqs = min(seqs, tokens)  # vLLM: max_num_seqs never exceeds max_num_batched_tokens
    graphs = row.cuda_graph_max_batch or engine.cuda_graph_max_batch
    if graphs is not None and engine.cuda_graph_batch_per_seq is not None:
        graphs = min(math.ceil(seqs * engine.cuda_graph_batch_per_seq), graphs, tokens)
    fraction = static_memory_fraction(engine, gpu, tokens, graphs or 0, tp, pp)
    return GpuBatchDefaults(tokens, seqs, graphs, fraction)


def default_kv_precision(engine: EngineProfile, model: ModelSpec, catalog: Catalog) -> str:
    """The KV-cache format an engine uses when the launch does not choose one.

    vLLM, SGLang and TensorRT-LLM ('auto') keep the model's dtype, whatever the weights are stored
    in; llama.cpp and ExLlamaV2 default to FP16. A model dtype the engine cannot cache in (fp32)
    falls back to a 16-bit format it can.
    """
    wanted = engine.default_kv_precision
    if wanted != "model":
        return wanted
    if model.default_dtype in engine.kv_precisions and model.default_dtype in catalog.precisions:
        return model.default_dtype
    return next(p for p in ("bf16", "fp16", *engine.kv_precisions) if p in engine.kv_precisions)


def _family(p: Precision) -> str:
    if p.family == "float":
        return "16/32-bit" if p.bits_per_weight >= 16 else "FP8"
    return {"gguf": "GGUF", "fp4": "FP4", "int": "integer (INT8, AWQ, GPTQ)"}[p.family]


def loadable_formats(engine: EngineProfile, for_kv: bool) -> tuple[str, ...]:
    return engine.kv_precisions if for_kv else engine.weight_precisions


def nearest_format(engine: EngineProfile, p: Precision, catalog: Catalog, for_kv: bool) -> str | None:
    """The format ``engine`` loads closest in bits to ``p``, not smaller if a larger one exists."""
    options = [catalog.precisions[i] for i in loadable_formats(engine, for_kv) if i in catalog.precisions]
    if not options:
        return None
    not_smaller = [o for o in options if o.bits_per_weight >= p.bits_per_weight]
    pool = not_smaller or options
    return min(pool, key=lambda o: abs(math.log2(o.bits_per_weight / p.bits_per_weight))).id


@dataclass(frozen=True)
class FormatProblem:
    message: str
    fix: str
    nearest: str | None


def format_problem(
    engine: EngineProfile, p: Precision, catalog: Catalog, for_kv: bool
) -> FormatProblem | None:
    """None when ``engine`` loads ``p`` (as weights, or as the KV cache); else what to say and do."""
    allowed = loadable_formats(engine, for_kv)
    if p.id in allowed:
        return None
    what = "KV cache" if for_kv else "weights"
    families = list(dict.fromkeys(_family(catalog.precisions[i]) for i in allowed if i in catalog.precisions))
    kinds = ", ".join(families[:-1]) + (" and " if len(families) > 1 else "") + families[-1]
    nearest = nearest_format(engine, p, catalog, for_kv)
    message = f"{engine.name} cannot load {p.id} {what}: it loads {kinds} formats ({', '.join(allowed)})"
    fix = f"use {nearest}" + (" KV cache" if for_kv else " weights") if nearest else "pick another engine"
    return FormatProblem(message, fix, nearest)
