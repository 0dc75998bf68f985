"""``estimate_performance(resolved, fit) -> PerformanceReport``: TTFT, TPOT, throughput, curve, why.

Concurrency ``N`` (or 'max': what the KV cache and ``max_num_seqs`` allow) is spread evenly over the
data-parallel replicas; replicas add throughput, not speed per user. Continuous batching: each
sequence's prompt rides along decode steps, so a replica with ``n`` sequences spends per output
token one decode cycle plus ``n / output_tokens`` prompts' worth of prefill compute. Time per output
token, as a user sees it, counts the other users' prompts; TTFT is the prompt on an otherwise idle
replica plus, under load, one decode cycle per chunk it waits for. ``n`` users each send their next
request when the last one has finished (a closed loop, as serving benchmarks run with a maximum
concurrency), so each request holds its place for its TTFT and ``output_tokens - 1`` TPOTs: output
tokens/s is ``n * output_tokens`` over that. With more requests than the engine takes at once
(concurrency ``max`` or past the KV cache's limit) a waiting request takes a finished one's place
at once, and only the prompt's compute is added. The low and high figures rerun everything with the
calibrated efficiencies at the bottom and top of their bands.
"""

from __future__ import annotations

import math
from bisect import bisect_left

from gpuplanner.core.calibration import calibration
from gpuplanner.core.collectives import Band
from gpuplanner.core.fit import FitResult
from gpuplanner.core.perf_explain import assumptions, bottleneck, link_traffic, prefill_bottleneck, step_split
from gpuplanner.core.perf_replica import Replica, build_replicas, replica_classes
from gpuplanner.core.report import CurvePoint, PerformanceReport, Speeds
from gpuplanner.core.resolve import ResolvedPlan

_CURVE_POINTS = 14


def spread_over(total: int, parts: int) -> list[int]:
    """``total`` sequences spread as evenly as possible over ``parts`` replicas."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _replica_speed(
    rep: Replica, n: int, isl: int, osl: int, band: Band, request_s: float | None
) -> tuple[float, float]:
    """(time per output token as a user sees it, output tokens/s) of one replica with ``n`` users.

    ``request_s``: the per-request serving cost of a closed loop of ``n`` users (each request holds
    its place for its TTFT); None when a queue refills every place at once (see the module note)."""
    if n <= 0:
        return 0.0, 0.0
    run = running(rep, n, isl, osl)
    cycle = rep.cycle(run, isl + osl / 2, band).seconds
    prompt = rep.prefill_marginal_s(isl, band, run / osl)
    tpot = cycle + (run - 1) * prompt / osl
    if request_s is None:
        throughput = run / (cycle + run * prompt / osl)
    else:  # the places that decode are a closed loop of ``run`` (the rest of the users queue for them)
        throughput = run * osl / (_ttft(rep, run, isl, osl, band, request_s) + (osl - 1) * tpot)
    return tpot, throughput


def running(rep: Replica, n: int, isl: int, osl: int) -> int:
    """How many of ``n`` users' requests a replica decodes at once: every step's batched-token budget
    (``chunk`` tokens a micro-batch) holds one token of each decoding sequence plus the prompts that
    start in it (``run / osl`` of ``isl`` tokens), and the engines schedule decodes first and fill the
    rest with prompts. Past ``chunk * osl / (isl + osl)`` a new prompt waits for room: the others queue
    (their wait is TTFT, not time per output token). 248 sequences for 128-token prompts and 4-token
    outputs under vLLM's 8,192-token budget; 4,096 for 1,000 in and 1,000 out."""
    cap = rep.chunk * rep.pp * osl // max(isl + osl, 1)
    return max(1, min(n, cap))


def _ttft(rep: Replica, n: int, isl: int, osl: int, band: Band, request_s: float) -> float:
    ttft = rep.prefill_s(isl, band) + request_s
    if n > 1:
        # mixed: each chunk rides a decode step of the others; not mixed (SGLang): the prompt waits for
        # the decode step in progress (half of one on average), then its chunks run first, back to back
        chunks = math.ceil(isl / rep.chunk) if rep.mixed else 0.5
        ttft += chunks * rep.cycle(n - 1, isl + osl / 2, band).seconds
    return ttft


def burst_ttft_s(busiest: Replica, n: int, isl: int, band: Band, request_s: float) -> float:
    """Mean TTFT when all users send a prompt at the same moment to idle replicas (a serving
    benchmark's first wave, or everyone pressing enter together), on the replica with the most of them
    (``n``). The engine fills each step's batched-token budget with whole prompts (``chunk // isl`` a
    step) and answers them step by step: the k-th prompt waits for the steps before its own. Longer
    prompts than the budget run chunk after chunk, one after another."""
    n = max(n, 1)
    if isl > busiest.chunk:
        return request_s + busiest.prefill_s(isl, band) * (n + 1) / 2
    per_step = max(1, min(n, busiest.chunk // max(isl, 1)))
    full, rest = divmod(n, per_step)
    step = busiest.batch_prefill_step_s(per_step, isl, band)
    waited = per_step * step * full * (full + 1) / 2  # the j-th full step's prompts wait j steps
    if rest:
        waited += rest * (full * step + busiest.batch_prefill_step_s(rest, isl, band))
    return request_s + waited / n


def _busiest(groups: list[tuple[Replica, int, int]]) -> tuple[Replica, int]:
    """The replica of :func:`_groups` with the most users, and how many."""
    rep, n, _ = max(groups, key=lambda g: g[1])
    return rep, n


def _groups(replicas: list[Replica], n_total: int) -> list[tuple[Replica, int, int]]:
    """(replica, its users, how many identical replicas): identical replicas are timed once.

    The same groups, in the same order (first appearance), as walking every replica with its share
    of :func:`spread_over`: the first ``extra`` replicas get one user more, so a class of identical
    replicas splits at ``extra`` into at most two groups. The cost follows the distinct replicas."""
    base, extra = divmod(max(n_total, 1), len(replicas))
    found: list[tuple[int, Replica, int, int]] = []
    for _, indices in replica_classes(replicas):
        more = bisect_left(indices, extra)  # how many of them are among the first ``extra``
        if more:
            found.append((indices[0], replicas[indices[0]], base + 1, more))
        if more < len(indices):
            found.append((indices[more], replicas[indices[more]], base, len(indices) - more))
    found.sort(key=lambda g: g[0])
    return [(rep, n, count) for _, rep, n, count in found]


def static_prefill_s(rep: Replica, n: int, isl: int, band: Band) -> float:
    """Seconds to prefill a whole static batch of ``n`` prompts: steps of at most
    ``max_num_batched_tokens`` tokens (whole prompts, at least one per step)."""
    per_step = max(1, min(n, rep.chunk // max(isl, 1)))
    steps, rest = divmod(n, per_step)
    seconds = steps * rep.batch_prefill_step_s(per_step, isl, band)
    if rest:
        seconds += rep.batch_prefill_step_s(rest, isl, band)
    return seconds


def _static_speed(rep: Replica, n: int, isl: int, osl: int, band: Band) -> tuple[float, float, float]:
    """(TTFT without request costs, TPOT, output tokens/s) of a static batch of ``n`` on one replica:
    the prompts are prefilled together, then ``osl - 1`` decode cycles run the whole batch."""
    if n <= 0:
        return 0.0, 0.0, 0.0
    prefill = static_prefill_s(rep, n, isl, band)
    cycle = rep.cycle(n, isl + osl / 2, band).seconds
    return prefill, cycle, n * osl / (prefill + (osl - 1) * cycle)


def request_seconds(resolved: ResolvedPlan) -> float:
    """The engine release's per-request serving cost (HTTP, tokenising, scheduling) on the first token."""
    return calibration().overhead_for(resolved.engine.id, resolved.settings.version).request_us * 1e-6


def queued(concurrency: int | str, limit: int) -> bool:
    """Whether more requests wait than the engine runs at once (concurrency 'max', or past ``limit``):
    then a finished request's place is taken at once, not after the next request's TTFT."""
    return concurrency == "max" or int(concurrency) > limit


def decode_speed(
    replicas: list[Replica],
    n_total: int,
    isl: int,
    osl: int,
    band: Band,
    static: bool = False,
    request_s: float | None = None,
) -> tuple[float, float]:
    """(time per output token of the slowest replica's users, s; output tokens/s of the plan).

    ``request_s``: the closed loop's per-request cost (see :func:`_replica_speed`); None: queued."""
    tpot, total = 0.0, 0.0
    for rep, n, count in _groups(replicas, n_total):
        if static:
            _, rep_tpot, rate = _static_speed(rep, n, isl, osl, band)
        else:
            rep_tpot, rate = _replica_speed(rep, n, isl, osl, band, request_s)
        tpot = max(tpot, rep_tpot)
        total += rate * count
    return tpot, total


def speeds(
    replicas: list[Replica],
    n_total: int,
    isl: int,
    osl: int,
    band: Band,
    request_s: float,
    static: bool = False,
    waiting: bool = False,
) -> Speeds:
    """Plan-wide speeds at ``n_total`` concurrent sequences; ``waiting``: more requests queue behind
    them (see :func:`queued`)."""
    tpot, total = decode_speed(replicas, n_total, isl, osl, band, static, None if waiting else request_s)
    groups = _groups(replicas, n_total)
    busiest, n_busy = _busiest(groups)
    if static:
        ttft = static_prefill_s(busiest, n_busy, isl, band) + request_s
    else:
        run = running(busiest, n_busy, isl, osl)
        ttft = _ttft(busiest, run, isl, osl, band, request_s)
        if run < n_busy and not waiting:
            # a closed loop past the budget: each request waits its turn; by Little's law every user's
            # round trip is n_busy * osl over the replica's rate, of which osl - 1 tokens are decode steps
            busy_tpot, rate = _replica_speed(busiest, n_busy, isl, osl, band, request_s)
            ttft = max(ttft, n_busy * osl / rate - (osl - 1) * busy_tpot)
    return Speeds(
        ttft_s=ttft,
        tpot_s=tpot,
        tokens_per_s_per_user=1 / tpot,
        output_tokens_per_s=total,
        prefill_tokens_per_s=sum(count * isl / rep.prefill_s(isl, band) for rep, _, count in groups),
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


def _curve(
    replicas: list[Replica], limit: int, isl: int, osl: int, static: bool, request_s: float, waiting: bool
) -> list[CurvePoint]:
    """Speeds at 1, 2, 4 ... ``limit`` users; ``waiting``: at ``limit`` more requests queue (the plan
    asks for more than fit, or for 'max')."""
    points = []
    for n in _curve_levels(max(1, limit)):
        full = waiting and n == limit
        mid = speeds(replicas, n, isl, osl, "mid", request_s, static, full)  # the report's own speeds at n
        per_request = None if full else request_s
        _, low = decode_speed(replicas, n, isl, osl, "low", static, per_request)
        _, high = decode_speed(replicas, n, isl, osl, "high", static, per_request)
        points.append(
            CurvePoint(
                concurrency=n,
                output_tokens_per_s=mid.output_tokens_per_s,
                tokens_per_s_per_user=mid.tokens_per_s_per_user,
                low_output_tokens_per_s=low,
                high_output_tokens_per_s=high,
                ttft_s=mid.ttft_s,
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
    request_s = request_seconds(resolved)
    static = work.batching == "static"
    waiting = queued(work.concurrency, limit)
    mid = speeds(replicas, n_total, isl, osl, "mid", request_s, static, waiting)
    low = speeds(replicas, n_total, isl, osl, "low", request_s, static, waiting)
    high = speeds(replicas, n_total, isl, osl, "high", request_s, static, waiting)
    curve = _curve(replicas, limit, isl, osl, static, request_s, waiting)
    shares = spread_over(n_total, len(replicas))
    busiest, n_busy = _busiest(_groups(replicas, n_total))
    run = running(busiest, n_busy, isl, osl)
    budget = (run, n_busy, busiest.chunk) if run < n_busy and not static else None
    decode_limit = bottleneck(resolved, replicas, shares, isl, osl, wanted, limit)
    prefill_limit = prefill_bottleneck(replicas[0], isl)
    return PerformanceReport(
        concurrency=n_total,
        input_tokens=isl,
        output_tokens=osl,
        ttft_s=mid.ttft_s,
        tpot_s=mid.tpot_s,
        tokens_per_s_per_user=mid.tokens_per_s_per_user,
        output_tokens_per_s=mid.output_tokens_per_s,
        prefill_tokens_per_s=mid.prefill_tokens_per_s,
        bottleneck=decode_limit.sentence,
        prefill_bottleneck=prefill_limit.sentence,
        bottleneck_detail=decode_limit,
        prefill_bottleneck_detail=prefill_limit,
        low=low,
        high=high,
        step_split=step_split(replicas, shares, isl, osl, resolved.views),
        links=link_traffic(resolved, replicas, shares, isl, osl),
        curve=tuple(curve),
        # a static batch's TTFT already is everyone's prompts at once
        ttft_burst_s=None if static else burst_ttft_s(busiest, n_busy, isl, "mid", request_s),
        saturation_concurrency=saturation(curve),
        assumptions=assumptions(resolved, wanted, limit, budget),
    )
