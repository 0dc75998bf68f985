"""The cost of a token: capex and $/hour into $ per million output tokens, and energy per token.

At the plan's operating point (its concurrency, ``report.performance.output_tokens_per_s``):

- owned: $/hour = capex / (amortization years x 8,760 h) + loaded power (kW) x $/kWh
- cloud: $/hour = the sum of each GPU's cloud $/GPU-hour
- $ per million output tokens = $/hour / (output tokens/s x 3,600) x 1,000,000
- joules per output token = loaded power (W) / output tokens/s; kWh per million = J x 10^6 / 3.6 x 10^6

Anything whose price is unknown stays ``None``: no number is made up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from gpuplanner.core.bom import BomItem, Power
from gpuplanner.core.plan import Plan
from gpuplanner.core.prices import PriceList

HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True)
class Cost:
    capex_usd: float | None
    usd_per_hour: float | None
    usd_per_million_output_tokens: float | None
    joules_per_output_token: float | None
    basis: str  # "owned", "cloud" or "" when no $/hour is known
    unpriced: tuple[str, ...]  # items the capex leaves out

    @property
    def kwh_per_million_output_tokens(self) -> float | None:
        if self.joules_per_output_token is None:
            return None
        return self.joules_per_output_token * 1e6 / 3.6e6

    def to_json(self) -> dict[str, Any]:
        return {
            "capex_usd": self.capex_usd,
            "usd_per_hour": self.usd_per_hour,
            "usd_per_million_output_tokens": self.usd_per_million_output_tokens,
            "joules_per_output_token": self.joules_per_output_token,
        }


def capex(bom: tuple[BomItem, ...]) -> tuple[float | None, tuple[str, ...]]:
    """Sum of priced items; ``None`` while any GPU is unpriced (the GPUs are most of the bill)."""
    if any(i.kind == "gpu" and i.unit_price_usd is None for i in bom):
        return None, tuple(i.item for i in bom if i.kind == "gpu" and i.unit_price_usd is None)
    total = sum(i.count * i.unit_price_usd for i in bom if i.unit_price_usd is not None)
    unpriced = tuple(i.item for i in bom if i.unit_price_usd is None and i.kind not in ("rack_units", "psu"))
    return total, unpriced


def cloud_rate(plan: Plan, prices: PriceList) -> float | None:
    counts = Counter(g.gpu for _, g in plan.rig.iter_gpus())
    if not counts or any(gpu not in prices.cloud for gpu in counts):
        return None
    return sum(n * prices.cloud[gpu].usd_per_gpu_hour for gpu, n in counts.items())


def plan_cost(plan: Plan, bom: tuple[BomItem, ...], power: Power, prices: PriceList,
              output_tokens_per_s: float | None) -> Cost:
    spent, unpriced = capex(bom)
    owned: float | None = None
    if spent is not None and prices.usd_per_kwh is not None:
        owned = spent / (prices.amortization_years * HOURS_PER_YEAR) + power.total / 1000.0 * prices.usd_per_kwh
    cloud = cloud_rate(plan, prices)
    if prices.basis == "cloud":
        per_hour, basis = (cloud, "cloud") if cloud is not None else (owned, "owned" if owned is not None else "")
    else:
        per_hour, basis = (owned, "owned") if owned is not None else (cloud, "cloud" if cloud is not None else "")
    rate = output_tokens_per_s if output_tokens_per_s and output_tokens_per_s > 0 else None
    per_million = per_hour / (rate * 3600.0) * 1e6 if per_hour is not None and rate else None
    joules = power.total / rate if rate else None
    return Cost(spent, per_hour, per_million, joules, basis, unpriced)
