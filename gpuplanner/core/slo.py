"""Service levels: targets for time to first token and time per output token, and the most concurrent
users the plan serves within them.

``slo_search`` evaluates the plan (the one ``evaluate``) at growing concurrency and bisects for the
largest concurrency whose TTFT and TPOT both meet the targets; the throughput there is the goodput.
TPOT grows with concurrency (bigger decode batches) and TTFT with the prefill queue, so the set of
concurrencies that meet the targets is a prefix: the search checks its bounds with ``evaluate`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpuplanner.core.catalog import Catalog
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.limits import MAX_CONCURRENCY
from gpuplanner.core.plan import Plan
from gpuplanner.core.report import Report

SEARCH_CAP = 4096  # the most users the search tries (beyond any KV capacity a plan here reaches)


@dataclass(frozen=True)
class Slo:
    ttft_ms: float | None
    tpot_ms: float | None
    max_concurrency: int | None
    goodput_tokens_per_s: float | None
    met: bool | None  # at the plan's own concurrency

    def to_json(self) -> dict[str, Any]:
        return {"ttft_ms": self.ttft_ms, "tpot_ms": self.tpot_ms, "max_concurrency": self.max_concurrency,
                "goodput_tokens_per_s": self.goodput_tokens_per_s, "met": self.met}

    @property
    def active(self) -> bool:
        return self.ttft_ms is not None or self.tpot_ms is not None

    def sentence(self) -> str:
        if not self.active:
            return "No service-level target set."
        parts = []
        if self.ttft_ms is not None:
            parts.append(f"TTFT ≤ {self.ttft_ms:g} ms")
        if self.tpot_ms is not None:
            parts.append(f"TPOT ≤ {self.tpot_ms:g} ms")
        target = " and ".join(parts)
        if not self.max_concurrency:
            return f"Target {target}: not met even by one user."
        head = "met" if self.met else "NOT met"
        return (f"Target {target} {head} at the plan's concurrency; up to {self.max_concurrency:,} users "
                f"within it, {self.goodput_tokens_per_s or 0:,.0f} output tokens/s (goodput).")


def meets(report: Report, ttft_ms: float | None, tpot_ms: float | None) -> bool:
    perf = report.rig_speed()  # host included when layers or experts run from system RAM
    if perf is None or not report.fits:
        return False
    if ttft_ms is not None and perf.ttft_s * 1000.0 > ttft_ms:
        return False
    return not (tpot_ms is not None and perf.tpot_s * 1000.0 > tpot_ms)


def at_concurrency(plan: Plan, concurrency: int) -> Plan:
    return plan.model_copy(update={"workload": plan.workload.model_copy(update={"concurrency": concurrency})})


def slo_search(plan: Plan, ttft_ms: float | None, tpot_ms: float | None, catalog: Catalog | None = None,
               report: Report | None = None) -> Slo:
    """The most concurrent users within the targets, the goodput there, and whether the plan's own
    concurrency meets them. No targets: every field but the targets is ``None``."""
    if ttft_ms is None and tpot_ms is None:
        return Slo(None, None, None, None, None)
    report = report or evaluate(plan, catalog)
    met = meets(report, ttft_ms, tpot_ms)
    cache: dict[int, Report] = {}

    def run(c: int) -> Report:
        if c not in cache:
            cache[c] = evaluate(at_concurrency(plan, c), catalog)
        return cache[c]

    if not meets(run(1), ttft_ms, tpot_ms):
        return Slo(ttft_ms, tpot_ms, 0, 0.0, met)
    cap = min(SEARCH_CAP, MAX_CONCURRENCY, max(1, report.kv_cache.max_concurrency or SEARCH_CAP))
    lo, hi = 1, 2
    while hi <= cap and meets(run(hi), ttft_ms, tpot_ms):
        lo, hi = hi, hi * 2
    hi = min(hi, cap + 1)
    while hi - lo > 1:  # lo meets, hi does not (or is past the cap)
        mid = (lo + hi) // 2
        if meets(run(mid), ttft_ms, tpot_ms):
            lo = mid
        else:
            hi = mid
    perf = run(lo).rig_speed()
    return Slo(ttft_ms, tpot_ms, lo, perf.output_tokens_per_s if perf else None, met)
