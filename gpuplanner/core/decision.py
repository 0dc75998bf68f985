"""The decision a plan leads to, in one place for the command line, the window and the PDF's first page:
what to buy, how to launch it, the speed at the target, the cost of a million tokens, power, risks and
headroom. Everything here comes from ``evaluate`` (the one estimate) and the modules that read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpuplanner.core.bom import BomItem, Power, bill_of_materials, plan_power
from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.cost import Cost, plan_cost
from gpuplanner.core.launch import Launch, launch_for
from gpuplanner.core.plan import Plan
from gpuplanner.core.prices import PriceList, load_prices
from gpuplanner.core.report import Report
from gpuplanner.core.slo import Slo, slo_search
from gpuplanner.core.units import GIB


@dataclass(frozen=True)
class Decision:
    bom: tuple[BomItem, ...]
    power: Power
    cost: Cost
    slo: Slo
    launch: Launch
    min_free_gib: float | None  # the least free memory on any used GPU
    risks: tuple[str, ...]

    def json_fields(self) -> dict[str, Any]:
        """The keys ``evaluate --json`` adds to the report (public: bill_of_materials, power_w, cost, slo)."""
        return {
            "bill_of_materials": [i.to_json() for i in self.bom],
            "power_w": self.power.to_json(),
            "cost": self.cost.to_json(),
            "slo": self.slo.to_json(),
        }

    def buy_lines(self) -> list[str]:
        out = []
        for i in self.bom:
            if i.kind in ("gpu", "server", "nic", "switch_port", "cable", "nvlink_bridge"):
                price = f" at ${i.unit_price_usd:,.0f}" if i.unit_price_usd is not None else ""
                out.append(f"{i.count} × {i.item}{price}")
            elif i.kind == "rack_units":
                out.append(f"{i.count} rack units")
        return out


def decide(plan: Plan, report: Report, *, prices: PriceList | None = None, ttft_ms: float | None = None,
           tpot_ms: float | None = None, catalog: Catalog | None = None) -> Decision:
    catalog = catalog or default_catalog()
    prices = prices if prices is not None else load_prices()
    bom = bill_of_materials(plan, prices, catalog)
    power = plan_power(plan, catalog)
    perf = report.performance
    speed = report.rig_speed()  # the host's figures when system RAM takes part
    cost = plan_cost(plan, bom, power, prices, speed.output_tokens_per_s if speed else None)
    slo = slo_search(plan, ttft_ms, tpot_ms, catalog, report)
    launch = launch_for(plan, None, catalog, report)
    free = [g.memory_bytes.free / GIB for g in report.gpus]
    risks = [p.message for p in report.problems if p.severity in ("error", "warning")]
    if not launch.runnable:
        risks.append(f"{launch.engine_name} cannot run this plan as drawn: {launch.reason}")
    if perf is not None and perf.extrapolated is not None and perf.extrapolated.value:
        risks.extend(perf.extrapolated.reasons)
    if slo.active and slo.met is False:
        risks.append(slo.sentence())
    return Decision(bom, power, cost, slo, launch, min(free) if free else None, tuple(risks))
