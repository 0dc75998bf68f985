"""Predicted vs measured for every published measurement the model can express, in sample and
leave-one-source-out.

    .venv/bin/python benchmarks/accuracy.py            # tables and summaries (a few minutes)
    .venv/bin/python benchmarks/accuracy.py --fit      # also print the constants fitted on all rows
    .venv/bin/python benchmarks/accuracy.py --write    # ... and write them into catalogs/calibration.toml

Every speed row becomes the plan that was measured (``accuracy_rows.build_case``) and its figure is
read from ``evaluate(plan)``, the estimate the window, the command line and the PDF use.

Which constants come from which rows:
- Efficiencies of HBM GPUs (BabelStream, cuBLASLt) and the collective constants (nccl-tests) are set
  from microbenchmark rows, never from a speed row: for speed rows they are out of sample.
- A few constants can only be learnt from end-to-end speed rows: each engine's per-step, per-layer and
  per-request costs, the memory and GEMM efficiency of GDDR and AMD GPUs (no microbenchmark row), and
  the fused-MoE expert-read efficiency and per-layer cost. ``PARAMS`` lists them with the rows each is
  fitted on (by a 1-D search per constant minimising the median |log error| of its rows, two sweeps).
- In-sample: fitted on all rows, judged on the same rows (labelled so).
- Leave-one-source-out (LOSO): for each publication, the constants its rows inform are refitted
  without it (a constant with no other row falls back to its a-priori value) and its rows predicted.
  The README quotes only these figures.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.accuracy_rows import Case, build_case, read_rows
from benchmarks.collectives_fit import predict as predict_collective
from benchmarks.collectives_fit import rows as collective_rows
from gpuplanner import paths
from gpuplanner.core.calibration import Calibration, calibration, load_calibration, use_calibration
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.efficiency import gpu_family
from gpuplanner.core.evaluate import evaluate_resolved
from gpuplanner.core.fit import fit_memory
from gpuplanner.core.plan import EngineSettings
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.resolve import ResolvedPlan, resolve_plan

GIB = 2**30
FAMILIES = ("single-stream decode", "batched/served throughput", "TTFT")


@dataclass
class Param:
    path: tuple[str, ...]  # where in the calibration
    prior: float  # the a-priori value, used when no training row informs it
    low: float
    high: float
    selects: Callable[[Case, ResolvedPlan], bool]

    @property
    def name(self) -> str:
        return ".".join(self.path)


def entry_of(r: ResolvedPlan) -> str:
    """The name of the calibration's overhead entry this plan's engine release uses."""
    cal = calibration()
    chosen = cal.overhead_for(r.engine.id, r.settings.version)
    return next(name for name, entry in cal.overhead.items() if entry is chosen)


def _entry(
    name: str, families: tuple[str, ...], moe_only: bool = False, dense_only: bool = False
) -> Callable[[Case, ResolvedPlan], bool]:
    return lambda c, r: (
        entry_of(r) == name
        and c.family in families
        and (not moe_only or r.model.moe is not None)
        and (not dense_only or r.model.moe is None)
    )


def _gpu_family(fam: str, families: tuple[str, ...]) -> Callable[[Case, ResolvedPlan], bool]:
    return lambda c, r: gpu_family(r.gpus[0].spec) == fam and c.family in families


def _current(r: ResolvedPlan) -> bool:
    """Whether the row's engine release is the current one (not an older release's own entry)."""
    return entry_of(r) == r.engine.id


def _moe(amd: bool) -> Callable[[Case, ResolvedPlan], bool]:
    return lambda c, r: (
        r.model.moe is not None
        and c.family != "TTFT"
        and (r.gpus[0].spec.vendor == "AMD") == amd
        and _current(r)
    )


DECODE = ("single-stream decode", "batched/served throughput")
GDDR_MEMORY_MAX = 0.90  # upper bound of the GDDR memory efficiency fit (see its Param)
# A constant is fitted only on rows from at least two publications (one source can carry its own
# biases) or ten rows of one, and at least six rows; otherwise it keeps its a-priori value.
MIN_SOURCES = 2
MIN_ROWS = 6
MIN_ROWS_ONE_SOURCE = 10  # ... unless one publication gives at least ten rows for it
TTFT_ONLY = ("TTFT",)
PARAMS: list[Param] = []
for _e, _step, _layer, _request in (
    ("vllm", 400.0, 6.0, 2000.0),
    ("vllm-v0", 400.0, 6.0, 2000.0),
    ("sglang", 300.0, 6.0, 2000.0),
    ("sglang-0.4", 300.0, 6.0, 2000.0),
    ("trtllm", 150.0, 5.0, 3500.0),
    ("trtllm-0.x", 150.0, 5.0, 3500.0),
    ("trtllm-0.17", 150.0, 5.0, 3500.0),
    ("llamacpp", 300.0, 15.0, 2000.0),
):
    PARAMS += [
        # Bounds are physical: a scheduler step of at most 3 ms, a layer's launches at most 150 us, a
        # fused-MoE layer's routing and launches at most 500 us (a fit outside them is absorbing a
        # modelling gap, and LOSO shows it).
        Param(("overhead", _e, "layer_us"), _layer, 0.5, 150.0, _entry(_e, DECODE)),
        Param(("overhead", _e, "step_us"), _step, 20.0, 3000.0, _entry(_e, DECODE)),
        *(
            [
                Param(("overhead", _e, "moe_layer_us"), 0.0, 0.0, 1000.0, _entry(_e, DECODE, moe_only=True)),
                # releases with a Python scheduler (vLLM V0, SGLang 0.4, TensorRT-LLM 0.17's PyTorch
                # preview) prepared every sequence of a step on the CPU (block tables, sampling inputs,
                # detokenising): a cost that grows with the batch, the reason for the rewrites. At most
                # 200 us a sequence.
                *(
                    [Param(("overhead", _e, "seq_us"), 0.0, 0.0, 200.0, _entry(_e, DECODE))]
                    if _e != "trtllm-0.x"
                    else []
                ),
            ]
            if "-" in _e
            else []
        ),
        # the engine's dense GEMMs (cuBLAS, CUTLASS) from dense models' rows: a mixture-of-experts
        # model's prompt time is mostly its fused-MoE kernels, which moe.expert_gemm_efficiency covers
        Param(
            ("overhead", _e, "gemm_efficiency"),
            1.0,
            0.25,
            1.0,
            _entry(_e, ("TTFT", "batched/served throughput"), dense_only=True),
        ),
        # at most 60 ms: the largest per-request cost a published single-user run shows (vLLM 0.11 on one
        # H100, gpustack performance-lab: 59 ms TTFT for a 233-token prompt that takes ~15 ms); a fit
        # above it is absorbing the queue of a burst or a warm-up wave, which no request pays alone
        Param(("overhead", _e, "request_us"), _request, 100.0, 60000.0, _entry(_e, TTFT_ONLY)),
    ]


def _custom_allreduce(c: Case, r: ResolvedPlan) -> bool:
    return c.family in DECODE and r.plan.layout.tp > 1 and r.engine.id in ("vllm", "sglang", "trtllm")


PARAMS += [
    # the engines' one-shot all-reduce: no per-size microbenchmark is published, so its latency is
    # learnt from decode rows at TP > 1 (it is paid twice per layer at every step)
    Param(("collectives", "custom_allreduce", "one_shot_latency_us"), 6.0, 2.0, 60.0, _custom_allreduce),
    # GDDR memory efficiency is bounded by what stream microbenchmarks reach on any memory in the data
    # set: copy / triad at most 0.887 of the datasheet peak (BabelStream on H100, M090-M096), so 0.90
    # (a fit at 0.97 was absorbing decode-step costs the model misses, not a faster controller)
    Param(
        ("efficiency", "memory", "nvidia-gddr", "efficiency"),
        0.85,
        0.3,
        GDDR_MEMORY_MAX,
        _gpu_family("nvidia-gddr", DECODE),
    ),
    Param(
        ("efficiency", "gemm", "nvidia-gddr", "peak_fraction"),
        0.70,
        0.1,
        1.0,
        _gpu_family("nvidia-gddr", TTFT_ONLY),
    ),
    Param(("efficiency", "memory", "amd", "efficiency"), 0.75, 0.3, 1.0, _gpu_family("amd", DECODE)),
    Param(("efficiency", "gemm", "amd", "peak_fraction"), 0.55, 0.1, 1.0, _gpu_family("amd", TTFT_ONLY)),
    # fused-MoE costs of today's releases; older releases carry their own (overhead.<entry>.moe_layer_us)
    Param(
        ("moe", "layer_us"),
        0.0,
        0.0,
        500.0,
        lambda c, r: r.model.moe is not None and c.family in DECODE and _current(r),
    ),
    # fused-MoE grouped GEMMs (Triton fused_moe, DeepGEMM, CUTLASS grouped) against cuBLASLt's dense
    # ones: learnt from MoE prompt and batched rows of today's releases, every vendor
    Param(
        ("moe", "expert_gemm_efficiency"),
        1.0,
        0.1,
        1.0,
        lambda c, r: r.model.moe is not None and c.family != "single-stream decode" and _current(r),
    ),
    Param(("moe", "expert_read_efficiency"), 1.0, 0.3, 1.0, _moe(False)),
    Param(("moe", "expert_read_efficiency_amd"), 1.0, 0.3, 1.0, _moe(True)),
]


def get_value(cal: Calibration, path: tuple[str, ...]) -> float:
    node: Any = cal
    for key in path:
        node = node[key] if isinstance(node, dict) else getattr(node, key)
    return float(node)


def with_value(node: Any, path: tuple[str, ...], value: float) -> Any:
    """A copy of ``node`` (a frozen calibration part or a dict of them) with ``path`` set to ``value``."""
    key, rest = path[0], path[1:]
    if isinstance(node, dict):
        return {**node, key: with_value(node[key], rest, value) if rest else value}
    child = getattr(node, key)
    return node.model_copy(update={key: with_value(child, rest, value) if rest else value})


@dataclass
class Row:
    case: Case
    resolved: ResolvedPlan

    def predict(self) -> float | None:
        return self.case.predict(evaluate_resolved(self.resolved))


def log_errors(rows: list[Row], cal: Calibration) -> list[float]:
    use_calibration(cal)
    out = []
    for row in rows:
        predicted = row.predict()
        out.append(abs(math.log(predicted / row.case.measured)) if predicted else 5.0)
    return out


# The fit minimises median |log error| + MEAN_WEIGHT * mean |log error| of a constant's rows: the median
# is what the README quotes, the mean keeps the tail (the p90) from being ignored and breaks ties.
MEAN_WEIGHT = float(os.environ.get("GPUPLANNER_FIT_MEAN_WEIGHT", "1.0"))


# Rows the model misses by more than this factor (|log error| above log 2) count as missing by it in
# the fit: a constant cannot mend them, and letting them pull it spoils the rows it does describe.
ERROR_CAP = float(os.environ.get("GPUPLANNER_FIT_CAP", "0.6931"))


def _objective(rows: list[Row], cal: Calibration, param: Param, value: float) -> float:
    errors = [min(e, ERROR_CAP) for e in log_errors(rows, with_value(cal, param.path, value))]
    return statistics.median(errors) + MEAN_WEIGHT * statistics.fmean(errors)


def has_evidence(rows: list[Row], param: Param) -> bool:
    """Whether ``rows`` inform ``param`` enough to fit it (else it takes its pooled value)."""
    mine = [r for r in rows if param.selects(r.case, r.resolved)]
    sources = len({r.case.source for r in mine})
    return len(mine) >= MIN_ROWS and (sources >= MIN_SOURCES or len(mine) >= MIN_ROWS_ONE_SOURCE)


def _geomean(values: list[float]) -> float | None:
    values = [v for v in values if v > 0]
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else None


def release_engine(entry: str) -> str | None:
    """'vllm-v0' -> 'vllm': the engine an older release's overhead entry belongs to (None: a current one)."""
    return entry.split("-")[0] if "-" in entry else None


def pooled_value(cal: Calibration, param: Param, informed: set[str]) -> float:
    """Partial pooling: what a constant is predicted to be from the constants of its kind that rows did
    inform (``informed``: their names), used when its own rows are too few and as the value its fit is
    shrunk towards.

    - an older release's cost (``overhead.vllm-v0.step_us``): its engine's current value times the
      geometric mean of (older / current) over its peers in ``RELEASE_PEERS`` that rows informed
      ("releases before the rewrite ran this much slower"); for ``moe_layer_us`` the current value is
      ``moe.layer_us``; a release without peers keeps its a-priori value;
    - a current engine's cost (``overhead.sglang.request_us``): the geometric mean of the other
      current engines' informed values of the same kind;
    - anything else: its a-priori value.
    """
    if param.path[0] != "overhead" or len(param.path) != 3:
        return param.prior
    _, entry, kind = param.path
    engine = release_engine(entry)

    def current_of(name: str) -> tuple[str, ...]:
        return ("moe", "layer_us") if kind == "moe_layer_us" else ("overhead", name, kind)

    if engine is not None:
        peers_of = RELEASE_PEERS.get(entry)
        if peers_of is None:  # a different runtime than its engine's current one: its a-priori value
            return param.prior
        base_path = current_of(engine)
        if ".".join(base_path) not in informed:
            return param.prior
        ratios = []
        for peer in peers_of:
            peer_path = ("overhead", peer, kind)
            peer_engine = release_engine(peer) or peer
            if ".".join(peer_path) in informed and ".".join(current_of(peer_engine)) in informed:
                current = get_value(cal, current_of(peer_engine))
                if current > 0:
                    ratios.append(get_value(cal, peer_path) / current)
        return get_value(cal, base_path) * (_geomean(ratios) or 1.0)
    peers = [
        get_value(cal, other.path)
        for other in PARAMS
        if other.path[0] == "overhead"
        and other.path[2] == kind
        and other.path[1] != entry
        and release_engine(other.path[1]) is None
        and other.name in informed
    ]
    return _geomean(peers) or param.prior


# Older releases pooled with each other: vLLM V0 and SGLang 0.4 both ran a Python scheduler that
# prepared every step on the CPU before their rewrites (vLLM V1, SGLang 0.5's overlap scheduler), so
# "how much slower than today's release" is taken to be alike. TensorRT-LLM 0.x's static C++ runtime
# (gptSessionBenchmark) is a different mechanism and keeps its a-priori values when it has no rows.
RELEASE_PEERS: dict[str, tuple[str, ...]] = {
    "vllm-v0": ("sglang-0.4",),
    "sglang-0.4": ("vllm-v0",),
    # TensorRT-LLM 0.17's PyTorch backend, a preview run by a Python executor, is pooled with them
    "trtllm-0.17": ("vllm-v0", "sglang-0.4"),
}

# Weight of (log(value / pooled value))^2 in a fit's objective: shrinks a constant its rows do inform
# towards its pooled value (0: no shrinkage; a trial at 0.02 is reported in docs/estimates.md).
SHRINK = float(os.environ.get("GPUPLANNER_FIT_SHRINK", "0"))


GRID_POINTS = 12


def fit_param(
    rows: list[Row], cal: Calibration, param: Param, informed: set[str] | None = None
) -> Calibration:
    """``cal`` with ``param`` set to the value minimising its rows' error; with too few rows, its pooled
    value (:func:`pooled_value`) from the constants named in ``informed``."""
    informed = set() if informed is None else informed
    mine = [r for r in rows if param.selects(r.case, r.resolved)]
    pooled = pooled_value(cal, param, informed)
    if not has_evidence(rows, param):
        informed.discard(param.name)
        return with_value(cal, param.path, min(param.high, max(param.low, pooled)))
    informed.add(param.name)
    log_scale = param.low > 0
    lo, hi = (math.log(param.low), math.log(param.high)) if log_scale else (param.low, param.high)

    def f(x: float) -> float:
        value = math.exp(x) if log_scale else x
        penalty = 0.0
        if SHRINK and pooled > 0 and value > 0:
            penalty = SHRINK * math.log(value / pooled) ** 2
        return _objective(mine, cal, param, value) + penalty

    # The objective (a median plus a mean over rows) has several valleys: a coarse scan of the whole
    # range first, then golden-section search in the valley of the scan's best point, so that a small
    # change elsewhere in the model does not send a constant to another valley.
    grid = [lo + (hi - lo) * i / (GRID_POINTS - 1) for i in range(GRID_POINTS)]
    scores = [f(x) for x in grid]
    best = min(range(GRID_POINTS), key=scores.__getitem__)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = grid[max(0, best - 1)], grid[min(GRID_POINTS - 1, best + 1)]
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(10):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    x = (a + b) / 2
    if f(x) > scores[best]:
        x = grid[best]
    return with_value(cal, param.path, math.exp(x) if log_scale else x)


def fit(
    rows: list[Row],
    start: Calibration,
    params: list[Param],
    sweeps: int = 3,
    informed: set[str] | None = None,
) -> Calibration:
    """Fit ``params`` on ``rows`` (coordinate descent, ``sweeps`` passes). ``informed`` names the
    constants that rows informed (updated in place); the others take pooled values."""
    informed = set() if informed is None else informed
    cal = start
    for _ in range(sweeps):
        for param in params:
            cal = fit_param(rows, cal, param, informed)
    return cal


def with_priors(cal: Calibration) -> Calibration:
    for param in PARAMS:
        cal = with_value(cal, param.path, param.prior)
    return cal


# --- report ------------------------------------------------------------------------------------------


def slices(row: Row) -> list[str]:
    r = row.resolved
    out = ["TP 1" if r.plan.layout.tp == 1 else "TP > 1"]
    if r.pp > 1:
        out.append("PP > 1")
    out.append("MoE" if r.model.moe is not None else "dense")
    out.append(f"engine {r.engine.id}")
    out.append(f"GPU {gpu_family(r.gpus[0].spec)}")
    return out


def stats(errors: list[float]) -> tuple[int, float, float]:
    if not errors:
        return 0, float("nan"), float("nan")
    ordered = sorted(errors)
    p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
    return len(errors), statistics.median(errors), p90


def print_summary(title: str, rows: list[Row], errors: dict[str, float]) -> None:
    print(f"\n{title}")
    print(f"{'':34} {'rows':>5} {'median |err|':>13} {'p90 |err|':>10}")
    for family in FAMILIES:
        n, med, p90 = stats([errors[r.case.id] for r in rows if r.case.family == family])
        print(f"{family:34} {n:5} {med:13.1%} {p90:10.1%}")
    groups: dict[str, list[float]] = {}
    for r in rows:
        for key in slices(r):
            groups.setdefault(key, []).append(errors[r.case.id])
    for key in sorted(groups):
        n, med, p90 = stats(groups[key])
        print(f"  {key:32} {n:5} {med:13.1%} {p90:10.1%}")


def memory_rows(all_rows: list[dict[str, str]]) -> list[tuple[str, str, float, float]]:
    """vLLM start-up log lines (M218-M224): the fit model's ledger against what vLLM printed."""
    out = []
    cat = default_catalog()
    for row in all_rows:
        if not ("M218" <= row["id"] <= "M224"):
            continue
        max_len = int(row["isl"] or 20000)
        plan = quick_plan(
            model="meta-llama/Llama-3.1-8B-Instruct", gpu="rtx-3090", tp=1, engine="vllm", catalog=cat
        )
        plan = plan.model_copy(
            update={
                # vLLM V0 without chunked prefill profiles one batch of max_model_len tokens.
                "engine": EngineSettings(
                    engine="vllm",
                    gpu_memory_utilization=0.90,
                    max_model_len=max_len,
                    max_num_batched_tokens=max_len,
                )
            }
        )
        r = resolve_plan(plan, cat)
        g = fit_memory(r).gpus[0]
        block = r.settings.kv_block_tokens
        values = {
            "weights_memory_per_gpu": g.weights / GIB,
            "kv_cache_memory_per_gpu": g.kv_blocks * block * g.kv_rate / GIB,
            "kv_cache_capacity_blocks": g.kv_blocks,
            "kv_cache_capacity_tokens": g.kv_blocks * block,
            "peak_torch_memory_profile": (g.weights + g.activations) / GIB,
            "non_torch_memory": r.engine.cuda_context_gib,
        }
        out.append((row["id"], row["metric"], float(row["value"]), values[row["metric"]]))
    return out


def write_calibration(cal: Calibration, rows: list[Row]) -> None:
    """Write the fitted constants into catalogs/calibration.toml (values only; comments stay)."""
    file = paths.catalogs_dir() / "calibration.toml"
    text = file.read_text(encoding="utf-8")
    for param in PARAMS:
        *section, key = param.path
        bare = "[" + ".".join(section) + "]"
        quoted = "[" + ".".join(k if re.fullmatch(r"[A-Za-z0-9_]+", k) else f'"{k}"' for k in section) + "]"
        start = text.find(bare + "\n")
        start = start if start >= 0 else text.index(quoted + "\n")
        end = text.find("\n[", start + 1)
        end = len(text) if end < 0 else end
        block = text[start:end]
        value = get_value(cal, param.path)
        new, found = re.subn(rf"(?m)^{key}\s*=\s*[0-9.eE+-]+", f"{key} = {value:.4g}", block, count=1)
        if not found:
            new = block.rstrip("\n") + f"\n{key} = {value:.4g}\n"
        text = text[:start] + new + text[end:]
    sections: dict[tuple[str, ...], set[str]] = {}
    for param in PARAMS:
        used = {r.case.id for r in rows if param.selects(r.case, r.resolved)}
        sections.setdefault(param.path[:-1], set()).update(used)
    for section, ids in sections.items():
        bare = "[" + ".".join(section) + "]"
        quoted = "[" + ".".join(k if re.fullmatch(r"[A-Za-z0-9_]+", k) else f'"{k}"' for k in section) + "]"
        start = text.find(bare + "\n")
        start = start if start >= 0 else text.index(quoted + "\n")
        end = text.find("\n[", start + 1)
        end = len(text) if end < 0 else end
        listed = ", ".join(f'"{i}"' for i in sorted(ids, key=lambda x: int(x[1:])))
        block = re.sub(r"(?m)^rows = \[.*?\]$", f"rows = [{listed}]", text[start:end], count=1)
        text = text[:start] + block + text[end:]
    file.write_text(text, encoding="utf-8")
    print(f"wrote {len(PARAMS)} constants into {file}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fit", action="store_true", help="print the constants fitted on all rows")
    parser.add_argument("--write", action="store_true", help="write them into catalogs/calibration.toml")
    parser.add_argument("--quick", action="store_true", help="in-sample only (no leave-one-source-out)")
    parser.add_argument(
        "--sources",
        metavar="TEXT",
        help="leave out only the sources whose name contains TEXT (comma-separated; for iterating "
        "on a few publications: the summaries then cover only their rows)",
    )
    parser.add_argument(
        "--worst",
        type=int,
        default=0,
        metavar="N",
        help="also list the N worst rows with what dominates them",
    )
    args = parser.parse_args()

    cat = default_catalog()
    raw = read_rows()
    rows: list[Row] = []
    skipped: dict[str, int] = {}
    unfit: list[tuple[str, str]] = []
    for raw_row in raw:
        built = build_case(raw_row, cat)
        if isinstance(built, str):
            if built != "not a speed metric":
                skipped[built] = skipped.get(built, 0) + 1
            continue
        resolved = resolve_plan(built.plan, cat)
        report = evaluate_resolved(resolved)
        if report.performance is None:  # it ran for real, but the fit model says it does not fit
            unfit.append((built.id, report.verdict))
            continue
        rows.append(Row(built, resolved))
    base = load_calibration()
    priors = with_priors(base)
    informed: set[str] = set()
    fitted = fit(rows, priors, PARAMS, informed=informed)
    use_calibration(fitted)
    fitted_predictions = {r.case.id: r.predict() or 0.0 for r in rows}
    in_sample = {
        k: abs(v / r.case.measured - 1) for r in rows for k, v in [(r.case.id, fitted_predictions[r.case.id])]
    }
    shipped: dict[str, float] = {}
    use_calibration(base)
    for r in rows:
        shipped[r.case.id] = abs((r.predict() or 0.0) / r.case.measured - 1)

    loso: dict[str, float] = {}
    predictions: dict[str, float] = {} if not args.quick else dict(fitted_predictions)
    if not args.quick:
        sources = sorted({r.case.source for r in rows})
        if args.sources:
            wanted = [w.strip().lower() for w in args.sources.split(",") if w.strip()]
            sources = [s for s in sources if any(w in s.lower() for w in wanted)]
        for source in sources:
            held = [r for r in rows if r.case.source == source]
            train = [r for r in rows if r.case.source != source]
            touched = [p for p in PARAMS if any(p.selects(r.case, r.resolved) for r in held)]
            cal = fit(train, fitted, touched, sweeps=1, informed=set(informed)) if touched else fitted
            use_calibration(cal)
            for r in held:
                predicted = r.predict() or 0.0
                predictions[r.case.id] = predicted
                loso[r.case.id] = abs(predicted / r.case.measured - 1)
    use_calibration(None)

    label = "in-sample" if args.quick else "LOSO err"
    print(f"{'row':5} {'family':13} {'case':58} {'measured':>10} {'predicted':>10} {label:>9}")
    for r in rows:
        c = r.case
        w = c.plan.workload
        lay = c.plan.layout
        what = (
            f"{c.metric} {r.resolved.model.name[:18]} {r.resolved.gpus[0].spec.id} x{c.n_gpus} "
            f"TP{lay.tp} PP{lay.pp} EP{lay.ep} {r.resolved.engine.id} c{w.concurrency} {w.input_tokens}/{w.output_tokens}"
        )
        predicted = predictions.get(c.id, float("nan"))
        err = predicted / c.measured - 1 if c.id in predictions else float("nan")
        print(f"{c.id:5} {c.family[:13]:13} {what[:58]:58} {c.measured:10.4g} {predicted:10.4g} {err:+9.1%}")
    if args.worst:
        errors = loso or in_sample
        print(
            f"\nworst {args.worst} rows ({'LOSO' if loso else 'in-sample'}; the split is the all-rows fit's)"
        )
        use_calibration(fitted)
        for r in sorted(rows, key=lambda r: -errors.get(r.case.id, 0.0))[: args.worst]:
            perf = evaluate_resolved(r.resolved).performance
            what = (
                ""
                if perf is None
                else perf.prefill_bottleneck
                if r.case.family == "TTFT"
                else perf.bottleneck
            )
            print(
                f"  {r.case.id} {errors.get(r.case.id, 0.0):7.1%} {r.case.measured:10.4g} "
                f"{predictions.get(r.case.id, float('nan')):10.4g}  {r.case.source[:40]:40}  {what[:90]}"
            )
        use_calibration(None)
    print(f"\nrows the model cannot express ({sum(skipped.values())}):")
    for reason, count in sorted(skipped.items(), key=lambda kv: -kv[1]):
        print(f"  {count:4}  {reason}")
    print(f"\nrows that ran for real but the memory model says do not fit ({len(unfit)}; left out):")
    for rid, verdict in unfit:
        print(f"  {rid}  {verdict[:110]}")
    sources = {r.case.source for r in rows}
    print(
        f"\n{len(rows)} speed rows from {len(sources)} sources; "
        f"{sum(r.resolved.model.moe is not None for r in rows)} MoE, "
        f"{sum(len(r.resolved.gpus) > 1 for r in rows)} multi-GPU"
    )
    if loso:
        held_out = [r for r in rows if r.case.id in loso]
        title = "LEAVE-ONE-SOURCE-OUT (out of sample: the figures to quote)"
        if args.sources:
            title = f"LEAVE-ONE-SOURCE-OUT, only sources matching {args.sources!r} (not the full table)"
        print_summary(title, held_out, loso)
    print_summary("IN-SAMPLE (fitted on the same rows: optimistic, not for quoting)", rows, in_sample)
    print_summary(
        "SHIPPED calibration.toml on every row (in-sample where its constants came from them)", rows, shipped
    )

    print("\nmemory (vLLM log lines; out of sample)")
    mem = memory_rows(raw)
    for rid, metric, measured, predicted in mem:
        print(f"  {rid} {metric:28} {measured:10.4g} {predicted:10.4g} {predicted / measured - 1:+7.1%}")
    n, med, p90 = stats([abs(p / m - 1) for _, _, m, p in mem])
    print(f"  {n} rows: median {med:.1%}, p90 {p90:.1%}")
    cat = default_catalog()
    coll = [
        abs(predict_collective(case, nbytes, cat) / measured - 1)
        for _, case, nbytes, measured, _ in collective_rows()
    ]
    n, med, p90 = stats(coll)
    print(
        f"collectives (nccl-tests; in-sample: their constants were fitted on them): {n} rows, median {med:.1%}, p90 {p90:.1%}"
    )

    if args.fit or args.write:
        print("\nconstants fitted on all rows (prior -> fitted; rows):")
        for param in PARAMS:
            used = [r.case.id for r in rows if param.selects(r.case, r.resolved)]
            print(
                f"  {param.name:45} {param.prior:10.4g} -> {get_value(fitted, param.path):10.4g}  ({len(used)} rows)"
            )
        if args.write:
            write_calibration(fitted, rows)
    _ = calibration


if __name__ == "__main__":
    main()
