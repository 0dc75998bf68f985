"""The published measurements (``catalogs/measurements.csv``), their speed rows classified.

Each speed row (throughputs, TTFT, TPOT, decode or prefill tokens/s: not memory lines or collective
microbenchmarks) is placed on the dimensions that change an estimate: GPU family (the calibration
families of :func:`efficiency.gpu_family`), engine, dense or MoE model, how one replica is split (one
GPU, tensor parallel, pipeline parallel, across servers), regime (single stream or batched) and weight
width (16-bit, 8-bit, or under 8 bits, called '4-bit'). A field the file leaves empty or unclear is
'unknown', and :mod:`gpuplanner.core.coverage` never counts 'unknown' as a match: a row is never
credited with what it does not state.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.efficiency import gpu_family

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
    parallel: str  # "single", "tp", "pp", "tp-nodes", "pp-nodes"
    regime: str  # 'single-stream' / 'batched'
    precision: str  # '16-bit' / '8-bit' / '4-bit'


@dataclass(frozen=True, slots=True)
class SpeedRow:
    id: str
    source: str
    profile: Profile


def _int(text: str | None) -> int | None:
    match = re.match(r"\s*(\d+)", text or "")
    return int(match.group(1)) if match else None


def _first_match(text: str, patterns: dict[str, str] | tuple[tuple[str, str], ...]) -> str:
    items = patterns.items() if isinstance(patterns, dict) else patterns
    hits = [(m.start(), key) for key, pattern in items if (m := re.search(pattern, text))]
    return min(hits)[1] if hits else UNKNOWN


def _words(name: str) -> str:
    return " ".join(re.sub(r"\(.*?\)|[-_.,/]", " ", name.lower()).split())


def _known_gpus(catalog: Catalog) -> dict[str, str]:
    known = {
        _words(n): ident for ident, spec in catalog.gpus.items() for n in (ident, spec.name, *spec.aliases)
    }
    known |= {n: ident for n, ident in _GPU_NAMES.items() if ident in catalog.gpus}
    return known


def match_gpu(name: str, catalog: Catalog, known: dict[str, str] | None = None) -> str | None:
    """The catalog id of a GPU as the measurements name it ('H100 80GB HBM3 SXM (Azure ...)'), by the
    longest catalog name or alias its words start with; None when nothing matches. ``known`` is
    ``_known_gpus(catalog)`` when the caller matches many rows (built once, not once a row)."""
    words = re.sub(r"^(nvidia|amd|intel|geforce|instinct)\s+", "", _words(name)).split(" ")
    known = known if known is not None else _known_gpus(catalog)
    # the names it starts with end at a word boundary: look its word prefixes up, the longest first
    # (a dictionary look-up per word, not a scan of every name: the window's first evaluation
    # classifies every published row)
    for end in range(len(words), 0, -1):
        prefix = " ".join(words[:end])
        if prefix and prefix in known:
            return known[prefix]
    return None


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


def classify_row(
    row: dict[str, str], catalog: Catalog, known: dict[str, str] | None = None
) -> SpeedRow | None:
    """A speed row of the measurements file, classified; None for a memory or microbenchmark row."""
    metric = (row.get("metric") or "").lower()
    if not _SPEED_METRIC.search(metric) or _NOT_SPEED.search(metric):
        return None
    gpu_id = match_gpu(row.get("gpu") or "", catalog, known)
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
    known = _known_gpus(catalog)
    return tuple(r for row in rows if (r := classify_row(row, catalog, known)) is not None)
