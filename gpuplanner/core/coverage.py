"""Which published speed measurements an estimate rests on, and where it extrapolates beyond them.

The speed rows of ``catalogs/measurements.csv`` (throughputs, TTFT, TPOT: not memory or collective
microbenchmarks) are classified along the dimensions that change the estimate: GPU family (the
calibration families of :func:`efficiency.gpu_family`), engine, dense or MoE model, how one replica is
split (one GPU, tensor parallel, pipeline parallel, across servers), regime (single stream or batched)
and weight width (16-, 8-, or under 8 bits, called '4-bit'). A plan is classified the same way once
(not per GPU); :func:`coverage` then says which rows it rests on and which dimensions no row covers,
and :func:`widen` makes the low-high band wider by the ``[coverage]`` amounts of
``catalogs/calibration.toml`` for each of those. A field the file leaves empty or unclear is
'unknown' and never counts as a match: a row is never credited with what it does not state.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from gpuplanner import paths
from gpuplanner.core.calibration import calibration
from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.efficiency import gpu_family
from gpuplanner.core.report import CalibratedOn, CurvePoint, Extrapolated, PerformanceReport, Speeds
from gpuplanner.core.resolve import ResolvedPlan

UNKNOWN = "unknown"
DIMENSIONS = ("family", "engine", "moe", "parallel", "regime", "precision")
_SPEED_METRIC = re.compile(r"throughput|tokens_per_s|tok_s|tpot|ttft|itl|e2e|latency")
_NOT_SPEED = re.compile(r"^(nccl|p2p|nvbandwidth|hbm|gemm)|memory|kv_cache|weights")
_ENGINES = {  # engine id -> pattern of the file's engine column; the earliest match in the text wins
    "trtllm": r"tensorrt|trt-?llm",
    "vllm": r"vllm",
    "sglang": r"sglang",
    "llamacpp": r"llama\.cpp|llama-server|llama-bench|llamacpp|ik_llama",
    "exllamav2": r"exllama|tabbyapi",
    "tgi": r"text-generation-inference|\btgi\b",
    "ollama": r"ollama",
}
ENGINE_WORDS = {"vllm": "vLLM", "sglang": "SGLang", "trtllm": "TensorRT-LLM", "llamacpp": "llama.cpp",
                "exllamav2": "ExLlamaV2", "tgi": "TGI", "ollama": "Ollama"}  # fmt: skip
FAMILY_WORDS = {"hopper": "Hopper", "ampere": "Ampere", "blackwell": "Blackwell", "nvidia-hbm":
                "other NVIDIA HBM GPUs", "nvidia-gddr": "GeForce/GDDR cards", "amd":
                "AMD Instinct", "intel": "Intel Gaudi", UNKNOWN: "unidentified GPUs"}  # fmt: skip
PARALLEL_WORDS = {"single": "a single GPU", "tp": "tensor parallel in one server", "pp":
                  "pipeline parallel in one server", "tp-nodes": "tensor parallel across servers",
                  "pp-nodes": "pipeline parallel across servers"}  # fmt: skip
# GPU names the file writes in ways no catalog alias starts: name (normalised) -> catalog id
_GPU_NAMES = {"h100 hbm3 80gb": "h100-sxm", "gb200 nvl72": "gb200"}
_PRECISIONS = (("16-bit", r"\b(b?f16|fp16|b?float16|half|16-?bit)\b"),
               ("8-bit", r"\b(fp8|int8|w8a8|w8a16|e4m3|q8(_0)?|8-?bit|mxfp8)\b"),
               ("4-bit", r"int4|awq|gptq|[nm]x?fp4|w4a16|\bi?q[2-6]|\b[2-6](\.\d+)?-?(bit|bpw)|exl2|bnb"))  # fmt: skip
_MOE_NAME = re.compile(
    r"mixtral|deepseek-?(v2|v3|r1)|moe|-a\d+(\.\d+)?b\b|\d+x\d+b|gpt-oss|llama-?4|scout|maverick|dbrx|kimi"
)
_ACROSS_NODES = re.compile(r"infiniband|\bib\b|roce|ethernet|multi-?node|inter-?node|across (nodes|servers)|"
                           r"\b\d+\s*(nodes|servers)\b")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Profile:
    """Where a run sits on each dimension. ``family`` is a set: a plan may mix GPU families."""

    family: frozenset[str]
    engine: str
    moe: str  # 'dense' / 'moe'
    parallel: str  # a key of PARALLEL_WORDS
    regime: str  # 'single-stream' / 'batched'
    precision: str  # '16-bit' / '8-bit' / '4-bit'


@dataclass(frozen=True, slots=True)
class SpeedRow:
    id: str
    source: str
    profile: Profile


@dataclass(frozen=True, slots=True)
class Coverage:
    calibrated_on: CalibratedOn
    missing: tuple[str, ...]  # names of DIMENSIONS no row covers
    reasons: tuple[str, ...]


def _int(text: str | None) -> int | None:
    match = re.match(r"\s*(\d+)", text or "")
    return int(match.group(1)) if match else None


def _first_match(text: str, patterns: dict[str, str] | tuple[tuple[str, str], ...]) -> str:
    items = patterns.items() if isinstance(patterns, dict) else patterns
    hits = [(m.start(), key) for key, pattern in items if (m := re.search(pattern, text))]
    return min(hits)[1] if hits else UNKNOWN


def _words(name: str) -> str:
    return " ".join(re.sub(r"\(.*?\)|[-_.,/]", " ", name.lower()).split())


def match_gpu(name: str, catalog: Catalog) -> str | None:
    """The catalog id of a GPU as the measurements name it ('H100 80GB HBM3 SXM (Azure ...)'), by the
    longest catalog name or alias its words start with; None when nothing matches."""
    words = re.sub(r"^(nvidia|amd|intel|geforce|instinct)\s+", "", _words(name))
    known = {
        _words(n): ident for ident, spec in catalog.gpus.items() for n in (ident, spec.name, *spec.aliases)
    }
    known |= {n: ident for n, ident in _GPU_NAMES.items() if ident in catalog.gpus}
    hits = [n for n in known if n and (words == n or words.startswith(n + " "))]
    return known[max(hits, key=len)] if hits else None


def _model_kind(name: str, catalog: Catalog) -> str:
    spec = catalog.find("models", re.sub(r"\(.*?\)", "", name).strip())
    if spec is not None:
        return "moe" if spec.moe is not None else "dense"
    lowered = name.lower()
    if not lowered or lowered.startswith("n/a"):
        return UNKNOWN
    return "moe" if _MOE_NAME.search(lowered) and "distill" not in lowered else "dense"


def _row_parallel(row: dict[str, str], gpu_id: str | None) -> str:
    tp, pp, n = _int(row.get("tp")), _int(row.get("pp")), _int(row.get("n_gpus"))
    # one degree stated and the other left empty: the other is 1 ('not applicable')
    per_replica = (tp or 1) * (pp or 1) if tp or pp else n if n == 1 else None
    if per_replica is None:  # a multi-GPU row that does not say how it was split
        return UNKNOWN
    if per_replica == 1:
        return "single"
    # more than 8 GPUs in one replica are more than one server, unless it is an NVL72 rack
    across = _ACROSS_NODES.search((row.get("interconnect") or "").lower()) or (
        per_replica > 8 and gpu_id != "gb200"
    )
    kind = "pp" if pp and pp > 1 else "tp"
    return f"{kind}-nodes" if across else kind


def _row_regime(row: dict[str, str]) -> str:
    batch = _int(row.get("batch"))
    served = re.search(r"concurrency\D{0,3}(\d+)", row.get("notes") or "")  # serving benchmarks
    if batch is None and served:
        batch = int(served.group(1))
    return UNKNOWN if batch is None else "single-stream" if batch == 1 else "batched"


def classify_row(row: dict[str, str], catalog: Catalog) -> SpeedRow | None:
    """A speed row of the measurements file, classified; None for a memory or microbenchmark row."""
    metric = (row.get("metric") or "").lower()
    if not _SPEED_METRIC.search(metric) or _NOT_SPEED.search(metric):
        return None
    gpu_id = match_gpu(row.get("gpu") or "", catalog)
    profile = Profile(
        family=frozenset({gpu_family(catalog.gpus[gpu_id]) if gpu_id else UNKNOWN}),
        engine=_first_match((row.get("engine") or "").lower(), _ENGINES),
        moe=_model_kind(row.get("model") or "", catalog),
        parallel=_row_parallel(row, gpu_id),
        regime=_row_regime(row),
        precision=_first_match((row.get("precision") or "").lower(), _PRECISIONS),
    )
    return SpeedRow(id=row.get("id") or "", source=(row.get("source") or "").strip(), profile=profile)


@cache
def speed_rows(path: Path) -> tuple[SpeedRow, ...]:
    """The classified speed rows of the measurements file ``path``; () when there is none."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError:
        return ()
    catalog = default_catalog()
    return tuple(r for row in rows if (r := classify_row(row, catalog)) is not None)


def plan_profile(resolved: ResolvedPlan, concurrency: int) -> Profile:
    """The plan on each dimension, at ``concurrency`` users spread over its replicas."""
    specs, nodes = {}, set()
    for g in resolved.gpus:  # one pass, no per-GPU lookups: a 512-GPU plan stays cheap
        specs[g.spec.id] = g.spec
        nodes.add((g.replica, g.node.id))
    per_replica = len(resolved.gpus) // max(1, resolved.dp)
    kind = "single" if per_replica == 1 else "pp" if resolved.pp > 1 else "tp"
    if kind != "single" and len(nodes) > resolved.dp:
        kind += "-nodes"
    bits = resolved.weights.bits_per_weight
    return Profile(
        family=frozenset(gpu_family(s) for s in specs.values()),
        engine=resolved.engine.id,
        moe="moe" if resolved.model.moe is not None else "dense",
        parallel=kind,
        regime="single-stream" if math.ceil(concurrency / max(1, resolved.dp)) <= 1 else "batched",
        precision="16-bit" if bits >= 12 else "8-bit" if bits >= 7 else "4-bit",
    )


def _matches(row: Profile, plan: Profile, dim: str) -> bool:
    if dim == "family":
        return bool(row.family & plan.family)
    value = getattr(row, dim)
    return value != UNKNOWN and value == getattr(plan, dim)


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _families(family: frozenset[str]) -> str:
    return _join(sorted(FAMILY_WORDS.get(f, f) for f in family))


def _engines(engines: set[str]) -> str:
    return _join(sorted(ENGINE_WORDS.get(e, e) for e in engines))


def _runs(n: int) -> str:
    return f"{n} published run{'s' if n != 1 else ''}"


def _reason(dim: str, plan: Profile, where: str, unmeasured: frozenset[str]) -> str:
    if dim == "family":
        return f"no published speed measurement on {_families(unmeasured)}"
    if dim == "regime":
        return f"no published {plan.regime} measurement{where}"
    what = {
        "engine": _engines({plan.engine}),
        "moe": f"{'MoE' if plan.moe == 'moe' else 'dense'} models",
        "parallel": PARALLEL_WORDS.get(plan.parallel, plan.parallel),
        "precision": f"{plan.precision} weights",
    }[dim]
    return f"no published measurement {'with' if dim == 'precision' else 'of'} {what}{where}"


@lru_cache(maxsize=512)
def coverage(plan: Profile, path: Path) -> Coverage:
    """The rows of the measurements file ``path`` that ``plan`` rests on, and the dimensions none covers. Cached on the plan's dimensions, so every edit that keeps them costs a dict lookup.

    ``calibrated_on`` holds the rows on the plan's GPU family with its engine; without any, the rows
    closest to it (most dimensions alike, family and engine counting double). A dimension is missing
    when no row on the plan's family (any row, if the family has none) matches it.
    """
    rows = speed_rows(path)
    on_family = [r for r in rows if _matches(r.profile, plan, "family")]
    # a mixed rig is covered only when each of its families is: its slowest GPU may be the new one
    unmeasured = plan.family - frozenset().union(*(r.profile.family for r in on_family))
    anchor, where = (on_family, f" on {_families(plan.family - unmeasured)}") if on_family else (rows, "")
    missing = ["family"] if unmeasured else []
    missing += [d for d in DIMENSIONS[1:] if not any(_matches(r.profile, plan, d) for r in anchor)]
    chosen = [r for r in on_family if _matches(r.profile, plan, "engine")]
    if chosen:
        families = frozenset().union(*(r.profile.family for r in chosen))
        summary = f"{_runs(len(chosen))} of {_engines({plan.engine})} on {_families(families)}"
        if plan.moe == "moe":
            summary += f", {sum(r.profile.moe == 'moe' for r in chosen) or 'none'} of them MoE"
    else:

        def score(r: SpeedRow) -> int:
            return sum(
                (2 if d in ("family", "engine") else 1) * _matches(r.profile, plan, d) for d in DIMENSIONS
            )

        best = max(map(score, rows), default=0)
        chosen = [r for r in rows if best and score(r) == best]
        summary = (
            f"{_runs(len(chosen))} of {_engines({r.profile.engine for r in chosen})} on "
            f"{_families(frozenset().union(*(r.profile.family for r in chosen)))}, the closest to this plan"
            if chosen
            else "no published run close to this plan"
        )
    return Coverage(
        calibrated_on=CalibratedOn(
            rows=tuple(r.id for r in chosen), sources=len({r.source for r in chosen}), summary=summary
        ),
        missing=tuple(missing),
        reasons=tuple(_reason(d, plan, where, unmeasured) for d in missing),
    )


def _scaled(s: Speeds, factor: float) -> Speeds:
    """``s`` with every rate times ``factor`` and every time divided by it."""
    return Speeds(
        ttft_s=s.ttft_s / factor,
        tpot_s=s.tpot_s / factor,
        tokens_per_s_per_user=s.tokens_per_s_per_user * factor,
        output_tokens_per_s=s.output_tokens_per_s * factor,
        prefill_tokens_per_s=s.prefill_tokens_per_s * factor,
    )


def widen(perf: PerformanceReport, low: float, high: float) -> PerformanceReport:
    """``perf`` with its band wider: the low (slow) speeds times ``1 - low``, the high ones times
    ``1 + high`` (times divided by the same), the curve's band too."""
    if low <= 0 and high <= 0:
        return perf
    lo, hi = 1 - low, 1 + high
    curve = tuple(
        CurvePoint(
            concurrency=p.concurrency,
            output_tokens_per_s=p.output_tokens_per_s,
            tokens_per_s_per_user=p.tokens_per_s_per_user,
            low_output_tokens_per_s=p.low_output_tokens_per_s * lo,
            high_output_tokens_per_s=p.high_output_tokens_per_s * hi,
        )
        for p in perf.curve
    )
    return perf.model_copy(
        update={"low": _scaled(perf.low, lo), "high": _scaled(perf.high, hi), "curve": curve}
    )


def with_coverage(resolved: ResolvedPlan, perf: PerformanceReport) -> PerformanceReport:
    """``perf`` carrying ``calibrated_on`` and ``extrapolated``, its band widened where it extrapolates
    (``evaluate`` calls it on what ``estimate_performance`` returns)."""
    found = coverage(plan_profile(resolved, perf.concurrency), paths.measurements_csv())
    low, high = calibration().coverage.widening(found.missing)
    out = widen(perf, low, high)
    return out.model_copy(
        update={
            "calibrated_on": found.calibrated_on,
            "extrapolated": Extrapolated(
                value=bool(found.missing), reasons=found.reasons, low_widening=low, high_widening=high
            ),
        }
    )


def coverage_line(perf: PerformanceReport, *, compact: bool = False) -> str:
    """One line for the window and the PDF: what the speeds rest on, and where they extrapolate.

    ``compact`` (the panel, where the line may be cut) puts the extrapolation first, in short words."""
    cal, ext = perf.calibrated_on, perf.extrapolated
    if cal is None or ext is None:
        return ""
    basis = (
        f"calibrated on {cal.summary}" if cal.rows else "no published speed measurement is close to this plan"
    )
    if not ext.value:
        return f"{basis[:1].upper()}{basis[1:]} · inside their range"
    if compact:
        gaps = [
            r.removeprefix("no published ").replace("speed measurement ", "").replace("measurement ", "")
            for r in ext.reasons
        ]
        return f"Extrapolated, wider band: no run {', '.join(gaps)} · {basis}"
    return (
        f"{basis[:1].upper()}{basis[1:]} · extrapolated, band wider (low {ext.low_widening:.0%} slower, high"
        f" {ext.high_widening:.0%} faster): {'; '.join(ext.reasons)}"
    )
