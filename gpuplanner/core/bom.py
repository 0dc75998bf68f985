"""Bill of materials and power of a plan's rig: GPUs, servers, NICs, switch ports, cables, NVLink bridges,
rack units; GPU TDP + platform overhead per server (idle and loaded) and the power supply it implies.

Public figures used here (and nowhere else): NVIDIA DGX datasheets give the whole system's maximum power
and height, so a DGX's platform overhead is that maximum minus its eight GPUs' TDP:
DGX H100 / H200 10.2 kW, 8U; DGX A100 6.5 kW, 6U; DGX B200 14.3 kW, 10U. Other servers use the estimates
in ``PLATFORM_ESTIMATES`` (said so wherever they are shown).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.plan import Node, Plan
from gpuplanner.core.prices import PriceList
from gpuplanner.core.specs import NodeTemplate

# template id: (system maximum W, GPU TDP sum W it includes, rack units, source)
DGX_SYSTEMS: dict[str, tuple[float, float, int, str]] = {
    "dgx-h100": (10200, 8 * 700, 8, "NVIDIA DGX H100 datasheet: ~10.2 kW max, 8U"),
    "hgx-h200": (10200, 8 * 700, 8, "NVIDIA DGX H200 datasheet: ~10.2 kW max, 8U"),
    "dgx-a100": (6500, 8 * 400, 6, "NVIDIA DGX A100 datasheet: 6.5 kW max, 6U"),
    "dgx-b200": (14300, 8 * 1000, 10, "NVIDIA DGX B200 datasheet: ~14.3 kW max, 10U"),
}
# estimates for servers without a datasheet figure: (platform W loaded, rack units)
PLATFORM_ESTIMATES = {
    "server": (1200.0, 4),  # two CPUs, memory, fans, drives, NICs of a 4-8 GPU rack server
    "workstation": (250.0, 0),  # one desktop CPU, memory, fans, drives; a tower, not rack-mounted
}
GPU_IDLE_FRACTION = 0.15  # estimate: an idle, clocked-down GPU with a model loaded draws ~15% of TDP
PLATFORM_IDLE_FRACTION = 0.5  # estimate
PSU_HEADROOM = 1.2  # size supplies 20% above the loaded draw, rounded up to 100 W


@dataclass(frozen=True)
class BomItem:
    item: str
    kind: str  # gpu, server, nic, switch_port, cable, nvlink_bridge, rack_units, psu
    count: int
    unit_price_usd: float | None
    source: str
    id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "kind": self.kind, "count": self.count, "unit_price_usd": self.unit_price_usd,
                "source": self.source}


@dataclass(frozen=True)
class ServerPower:
    node: str
    name: str
    gpus_w: float
    platform_w: float
    idle_w: float
    psu_w: int
    rack_units: int
    basis: str  # where the platform figure comes from

    @property
    def loaded_w(self) -> float:
        return self.gpus_w + self.platform_w


@dataclass(frozen=True)
class Power:
    servers: tuple[ServerPower, ...]

    @property
    def gpus(self) -> float:
        return sum(s.gpus_w for s in self.servers)

    @property
    def platform(self) -> float:
        return sum(s.platform_w for s in self.servers)

    @property
    def total(self) -> float:
        return self.gpus + self.platform

    @property
    def idle(self) -> float:
        return sum(s.idle_w for s in self.servers)

    def to_json(self) -> dict[str, float]:
        return {"gpus": self.gpus, "platform": self.platform, "total": self.total}


def matching_template(node: Node, catalog: Catalog) -> NodeTemplate | None:
    """The node's template, or the catalog template it is built like (same GPU, slots and NVSwitch)."""
    if node.template and node.template in catalog.nodes:
        return catalog.nodes[node.template]
    gpus = {g.gpu for g in node.gpus}
    if len(gpus) != 1:
        return None
    gpu = next(iter(gpus))
    for t in catalog.nodes.values():
        if t.gpu == gpu and t.slots == node.slots and t.nvswitch == node.nvswitch and t.nvswitch:
            return t
    return None


def _server_class(node: Node, catalog: Catalog) -> str:
    classes = {catalog.gpu(g.gpu).gpu_class for g in node.gpus}
    return "server" if "datacenter" in classes or node.slots > 4 or node.nvswitch else "workstation"


def server_power(node: Node, catalog: Catalog) -> ServerPower:
    gpus_w = sum(catalog.gpu(g.gpu).tdp_w for g in node.gpus)
    template = matching_template(node, catalog)
    if template is not None and template.id in DGX_SYSTEMS:
        system_w, included, units, source = DGX_SYSTEMS[template.id]
        platform_w, basis, name = float(system_w - included), source, template.name
    else:
        cls = _server_class(node, catalog)
        platform_w, units = PLATFORM_ESTIMATES[cls]
        basis = f"estimate for a {cls}"
        name = template.name if template else node.name
    idle = sum(catalog.gpu(g.gpu).tdp_w * GPU_IDLE_FRACTION for g in node.gpus) + platform_w * PLATFORM_IDLE_FRACTION
    psu = int(math.ceil((gpus_w + platform_w) * PSU_HEADROOM / 100.0) * 100)
    return ServerPower(node.id, name, gpus_w, platform_w, idle, psu, units, basis)


def plan_power(plan: Plan, catalog: Catalog | None = None) -> Power:
    catalog = catalog or default_catalog()
    return Power(tuple(server_power(n, catalog) for n in plan.rig.nodes if n.gpus))


def _priced(prices: PriceList | None, item_id: str) -> tuple[float | None, str]:
    p = prices.price(item_id) if prices else None
    if p is None or p.unit_price_usd is None:
        return None, ""
    return p.unit_price_usd, p.source


def bill_of_materials(plan: Plan, prices: PriceList | None = None,
                      catalog: Catalog | None = None) -> tuple[BomItem, ...]:
    """What to buy for the plan's rig, with unit prices from ``prices`` where known (else ``None``)."""
    catalog = catalog or default_catalog()
    items: list[BomItem] = []
    nodes = [n for n in plan.rig.nodes if n.gpus]
    gpu_counts = Counter(g.gpu for n in nodes for g in n.gpus)
    for gpu_id, count in sorted(gpu_counts.items()):
        spec = catalog.gpu(gpu_id)
        price, source = _priced(prices, gpu_id)
        items.append(BomItem(spec.name, "gpu", count, price, source or "no public list price", gpu_id))
    servers: Counter[tuple[str, str]] = Counter()
    for n in nodes:
        t = matching_template(n, catalog)
        key = (t.id, f"{t.name}: the system less its GPUs" if t.gpu else t.name) if t else (f"{_server_class(n, catalog)}-{n.slots}", f"{n.slots}-slot GPU "
                                         f"{_server_class(n, catalog)} (chassis, CPUs, memory)")
        servers[key] += 1
    for (sid, name), count in sorted(servers.items()):
        price, source = _priced(prices, sid)
        items.append(BomItem(name, "server", count, price, source or "no public list price", sid))
    if len(nodes) > 1:
        fabric_ids: Counter[str] = Counter()
        for n in nodes:
            link = n.nic or plan.rig.fabric
            if link:
                fabric_ids[link] += n.nics
        for link_id, nics in sorted(fabric_ids.items()):
            name = catalog.link(link_id).name if link_id in catalog.links else link_id
            for kind, label in (("nic", f"{name} network card"), ("switch_port", f"{name} switch port"),
                                ("cable", f"{name} cable, card to switch")):
                price, source = _priced(prices, f"{link_id}:{kind}")
                items.append(BomItem(label, kind, nics, price, source or "one per network card", f"{link_id}:{kind}"))
    bridges = Counter(link.kind for link in plan.rig.links
                      if link.kind in catalog.links and catalog.link(link.kind).kind == "nvlink-bridge")
    for link_id, count in sorted(bridges.items()):
        price, source = _priced(prices, link_id)
        items.append(BomItem(catalog.link(link_id).name, "nvlink_bridge", count, price,
                             source or "no public list price", link_id))
    power = plan_power(plan, catalog)
    units = sum(s.rack_units for s in power.servers)
    if units:
        items.append(BomItem("Rack units (U)", "rack_units", units, None,
                             "; ".join(sorted({s.basis for s in power.servers})), "rack-units"))
    for s in power.servers:
        items.append(BomItem(f"Power supply capacity for {s.node} ({s.psu_w:,} W)", "psu", 1, None,
                             f"{s.loaded_w:,.0f} W loaded x {PSU_HEADROOM:g} headroom", f"psu:{s.node}"))
    return tuple(items)
