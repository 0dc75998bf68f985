"""``estimate_performance(resolved, fit) -> PerformanceReport``: TTFT, TPOT, throughput, curve, why.

Concurrency ``N`` (or 'max': what the KV cache and ``max_num_seqs`` allow) is spread evenly over the
data-parallel replicas; replicas add throughput, not speed per user. Continuous batching: each
sequence's prompt rides along decode steps, so a replica with ``n`` sequences spends per output
token one decode cycle plus ``n / output_tokens`` prompts' worth of prefill compute. Time per output
token, as a user sees it, counts the other users' prompts; TTFT is the prompt on an otherwise idle
replica plus, under load, one decode cycle per chunk it waits for. The low and high figures rerun
everything with the calibrated efficiencies at the bottom and top of their bands.
"""

from __future__ import annotations

import math

from gpuplanner.core.calibration import calibration
from gpuplanner.core.collectives import Band
from gpuplanner.core.fit import FitResult
from gpuplanner.core.perf_explain import assumptions, bottleneck, link_traffic, prefill_bottleneck, step_split
from gpuplanner.core.perf_replica import Replica, build_replicas
from gpuplanner.core.report import CurvePoint, PerformanceReport, Speeds
from gpuplanner.core.resolve import ResolvedPlan

_CURVE_POINTS = 14


def spread_over(total: int, parts: int) -> list[int]:
    """``total`` sequences spread as evenly as possible over ``parts`` replicas."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _replica_speed(rep: Replica, n: int, isl: int, osl: int, band: Band) -> tuple[float, float]:
    """(time per output token as a user sees it, output tokens/s) of one replica with ``n`` users."""
    if n <= 0:
        return 0.0, 0.0
    cycle = rep.cycle(n, isl + osl / 2, band).seconds
    prompt = rep.prefill_marginal_s(isl, band)
    tpot = cycle + (n - 1) * prompt / osl
    throughput = n / (cycle + n * prompt / osl)
    return tpot, throughput


def _ttft(rep: Replica, n: int, isl: int, osl: int, band: Band, request_s: float) -> float:
    ttft = rep.prefill_s(isl, band) + request_s
    if n > 1:
        chunks = math.ceil(isl / rep.chunk)
        ttft += chunks * rep.cycle(n - 1, isl + osl / 2, band).seconds
    return ttft


def speeds(replicas: list[Replica], n_total: int, isl: int, osl: int, band: Band, request_s: float) -> Speeds:
    """Plan-wide speeds at ``n_total`` concurrent sequences."""
    shares = spread_over(max(n_total, 1), len(replicas))
    tpots, total = [], 0.0
    for rep, n in zip(replicas, shares, strict=True):
        tpot, rate = _replica_speed(rep, n, isl, osl, band)
        if n:
            tpots.append(tpot)
        total += rate
    busiest = max(range(len(replicas)), key=lambda i: shares[i])
    tpot = max(tpots)
    ttft = _ttft(replicas[busiest], shares[busiest], isl, osl, band, request_s)
    prefill_rate = sum(isl / rep.prefill_s(isl, band) for rep in replicas)
    return Speeds(
        ttft_s=ttft,
        tpot_s=tpot,
        tokens_per_s_per_user=1 / tpot,
        output_tokens_per_s=total,
        prefill_tokens_per_s=prefill_rate,
    )


def _curve_levels(limit: int) -> list[int]:
    levels, n = [], 1
    while n < limit:
        levels.append(n)
        n *= 2
    levels.append(limit)
    if len(levels) > _CURVE_POINTS:  # keep the ends, thin the middle
        step = (len(levels) - 1) / (_CURVE_POINTS - 1)
        levels = sorted({levels[round(i * step)] for i in range(_CURVE_POINTS)})
    return levels


def _curve(replicas: list[Replica], limit: int, isl: int, osl: int, request_s: float) -> list[CurvePoint]:
    points = []
    for n in _curve_levels(max(1, limit)):
        mid = speeds(replicas, n, isl, osl, "mid", request_s)
        low = speeds(replicas, n, isl, osl, "low", request_s)
        high = speeds(replicas, n, isl, osl, "high", request_s)
        points.append(
            CurvePoint(
                concurrency=n,
                output_tokens_per_s=mid.output_tokens_per_s,
                tokens_per_s_per_user=mid.tokens_per_s_per_user,
                low_output_tokens_per_s=low.output_tokens_per_s,
                high_output_tokens_per_s=high.output_tokens_per_s,
            )
        )
    return points


def saturation(curve: list[CurvePoint]) -> int | None:
    """The smallest concurrency reaching 90% of the curve's best throughput (None: still climbing)."""
    if len(curve) < 2:
        return None
    best = max(p.output_tokens_per_s for p in curve)
    if curve[-1].output_tokens_per_s >= best and curve[-2].output_tokens_per_s < 0.9 * best:
        return None
    return next(p.concurrency for p in curve if p.output_tokens_per_s >= 0.9 * best)


def estimate_performance(resolved: ResolvedPlan, fit: FitResult) -> PerformanceReport:
    """Speeds, curve, bottleneck, per-GPU step split and link traffic of a plan that fits."""
    work = resolved.plan.workload
    isl, osl = work.input_tokens, work.output_tokens
    limit = max(1, fit.max_concurrency)
    wanted = limit if work.concurrency == "max" else work.concurrency
    n_total = min(wanted, limit)
    replicas = build_replicas(resolved)
    overhead = calibration().overhead_for(resolved.engine.id)
    request_s = overhead.request_us * 1e-6
    mid = speeds(replicas, n_total, isl, osl, "mid", request_s)
    low = speeds(replicas, n_total, isl, osl, "low", request_s)
    high = speeds(replicas, n_total, isl, osl, "high", request_s)
    curve = _curve(replicas, limit, isl, osl, request_s)
    shares = spread_over(n_total, len(replicas))
    return PerformanceReport(
        concurrency=n_total,
        input_tokens=isl,
        output_tokens=osl,
        ttft_s=mid.ttft_s,
        tpot_s=mid.tpot_s,
        tokens_per_s_per_user=mid.tokens_per_s_per_user,
        output_tokens_per_s=mid.output_tokens_per_s,
        prefill_tokens_per_s=mid.prefill_tokens_per_s,
        bottleneck=bottleneck(resolved, replicas, shares, isl, osl, wanted, limit),
        prefill_bottleneck=prefill_bottleneck(replicas[0], isl),
        low=low,
        high=high,
        step_split=step_split(replicas, shares, isl, osl),
        links=link_traffic(resolved, replicas, shares, isl, osl),
        curve=tuple(curve),
        saturation_concurrency=saturation(curve),
        assumptions=assumptions(resolved, wanted, limit),
    )
