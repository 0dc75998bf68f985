"""Which published speed measurements an estimate rests on, and where it extrapolates beyond them.

A plan is placed on the dimensions of :mod:`gpuplanner.core.measurements` once (not per GPU);
:func:`coverage` says which speed rows it rests on and which dimensions no row covers, and
:func:`with_coverage` (called by ``evaluate``) puts that in the report and makes the low-high band
wider by the ``[coverage]`` amounts of ``catalogs/calibration.toml`` for each missing dimension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gpuplanner import paths
from gpuplanner.core.calibration import UserFactor, calibration, user_calibration
from gpuplanner.core.efficiency import gpu_family
from gpuplanner.core.measurements import DIMENSIONS, UNKNOWN, Profile, SpeedRow, speed_rows
from gpuplanner.core.report import CalibratedOn, CurvePoint, Extrapolated, PerformanceReport, Speeds
from gpuplanner.core.resolve import ResolvedPlan

ENGINE_WORDS = {"vllm": "vLLM", "sglang": "SGLang", "trtllm": "TensorRT-LLM", "llamacpp": "llama.cpp",
                "exllamav2": "ExLlamaV2", "tgi": "TGI", "ollama": "Ollama"}  # fmt: skip
FAMILY_WORDS = {"hopper": "Hopper", "ampere": "Ampere", "blackwell": "Blackwell", "nvidia-hbm":
                "other NVIDIA HBM GPUs", "nvidia-gddr": "GeForce/GDDR cards", "amd":
                "AMD Instinct", "intel": "Intel Gaudi", UNKNOWN: "unidentified GPUs"}  # fmt: skip
PARALLEL_WORDS = {"single": "a single GPU", "tp": "tensor parallel in one server", "pp":
                  "pipeline parallel in one server", "tp-nodes": "tensor parallel across servers",
                  "pp-nodes": "pipeline parallel across servers"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Coverage:
    calibrated_on: CalibratedOn
    missing: tuple[str, ...]  # names of DIMENSIONS no row covers
    reasons: tuple[str, ...]


def plan_profile(resolved: ResolvedPlan, concurrency: int) -> Profile:
    """The plan on each dimension, at ``concurrency`` users spread over its replicas."""
    views = resolved.views  # the GPU kinds and servers, kept with the resolved GPUs
    specs = views.kinds
    per_replica = len(resolved.gpus) // max(1, resolved.dp)
    kind = "single" if per_replica == 1 else "pp" if resolved.pp > 1 else "tp"
    if kind != "single" and views.replica_servers > resolved.dp:
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
    """The rows of the measurements file ``path`` that ``plan`` rests on, and the dimensions none
    covers. Cached on the plan's dimensions: an edit that keeps them costs one dict lookup.

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
    """``s`` with every rate times ``factor`` and every time divided by it (assembled, not validated:
    floats of our own arithmetic)."""
    return Speeds.assemble(
        ttft_s=s.ttft_s / factor,
        tpot_s=s.tpot_s / factor,
        tokens_per_s_per_user=s.tokens_per_s_per_user * factor,
        output_tokens_per_s=s.output_tokens_per_s * factor,
        prefill_tokens_per_s=s.prefill_tokens_per_s * factor,
    )


# the fields ``widen`` gives a curve point (pydantic's fields-set of such a point)
_WIDENED_FIELDS = {
    "concurrency",
    "output_tokens_per_s",
    "tokens_per_s_per_user",
    "low_output_tokens_per_s",
    "high_output_tokens_per_s",
    "ttft_s",
}


def widen(perf: PerformanceReport, low: float, high: float) -> PerformanceReport:
    """``perf`` with its band wider: the low (slow) speeds times ``1 - low``, the high ones times
    ``1 + high`` (times divided by the same), the curve's band too."""
    if low <= 0 and high <= 0:
        return perf
    lo, hi = 1 - low, 1 + high
    # assembled, not validated (a few dozen points on every edit of an extrapolated plan), as
    # ``CurvePoint(...)`` of these six fields would make them; each point keeps its TTFT
    curve = tuple(
        CurvePoint.assemble_shared(
            {
                "concurrency": p.concurrency,
                "output_tokens_per_s": p.output_tokens_per_s,
                "tokens_per_s_per_user": p.tokens_per_s_per_user,
                "low_output_tokens_per_s": p.low_output_tokens_per_s * lo,
                "high_output_tokens_per_s": p.high_output_tokens_per_s * hi,
                "ttft_s": p.ttft_s,
            },
            _WIDENED_FIELDS,
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
    calibrated_on = found.calibrated_on
    factor = _user_factor(resolved)
    if factor is not None and calibrated_on is not None:
        runs = f"{factor.runs} run{'s' if factor.runs != 1 else ''}"
        calibrated_on = calibrated_on.model_copy(
            update={"user": f"calibrated on your rig: {runs}, {factor.label}", "user_points": factor.points}
        )
    return out.model_copy(
        update={
            "calibrated_on": calibrated_on,
            "extrapolated": Extrapolated(
                value=bool(found.missing), reasons=found.reasons, low_widening=low, high_widening=high
            ),
        }
    )


def _user_factor(resolved: ResolvedPlan) -> UserFactor | None:
    """The user's own calibration that applies to the plan (its GPU kinds with its engine), if any."""
    table = user_calibration()
    if not table.factors:
        return None
    kinds = resolved.views.kinds
    for kind in sorted(kinds):
        factor = table.factor_for(kind, resolved.engine.id)
        if factor is not None:
            return factor
    return None


def coverage_line(perf: PerformanceReport, *, compact: bool = False) -> str:
    """One line for the window and the PDF: what the speeds rest on, and where they extrapolate.

    ``compact`` (the panel, where the line may be cut) puts the extrapolation first, in short words."""
    cal, ext = perf.calibrated_on, perf.extrapolated
    if cal is None or ext is None:
        return ""
    basis = (
        f"calibrated on {cal.summary}" if cal.rows else "no published speed measurement is close to this plan"
    )
    if cal.user:
        basis = f"{cal.user} · {cal.summary if cal.rows else 'no published run is close'}"
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
