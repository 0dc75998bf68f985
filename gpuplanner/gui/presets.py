"""One-click wiring of a server and the link kinds two GPUs can share (pure, no Qt).

Each preset returns an edit (a function of the document) that replaces the server's GPU-to-GPU
wiring; the window wraps it in one undo command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gpuplanner.core.errors import CatalogError, PlanError

if TYPE_CHECKING:  # the menus read PRESETS while the window's first frame is built: no catalog import
    from gpuplanner.core.catalog import Catalog
    from gpuplanner.core.plan import Node
    from gpuplanner.core.specs import GpuSpec, LinkSpec
    from gpuplanner.document.document import PlanDocument

PRESETS = {
    "nvswitch": "NVSwitch all-to-all",
    "nvlink-pairs": "NVLink pairs",
    "pcie-switch": "PCIe via switch",
    "pcie-cpu": "PCIe via CPU",
}
DIRECT_KINDS = ("nvlink", "nvlink-bridge", "infinity-fabric")


def _specs(catalog: Catalog, node: Node) -> list[GpuSpec]:
    try:
        return [catalog.gpu(g.gpu) for g in node.gpus]
    except CatalogError as exc:
        raise PlanError(exc.message, fix=exc.fix) from None


def can_use(link: LinkSpec, *gpus: GpuSpec) -> bool:
    """Whether every GPU has the port ``link`` needs (a PCIe-only card has no NVLink port)."""
    return not link.requires_native or all(g.native_link in link.requires_native for g in gpus)


def compatible_links(catalog: Catalog, a: GpuSpec, b: GpuSpec, same_node: bool) -> list[LinkSpec]:
    """Link kinds a wire between ``a`` and ``b`` may have: their shared direct link, then PCIe paths
    of the generation both support; between servers, the network kinds (fastest first)."""
    if not same_node:
        found = [k for k in catalog.links.values() if k.scope == "inter-node"]
        return sorted(found, key=lambda k: -k.bandwidth_gbps_per_direction)
    direct = [
        k for k in catalog.links.values() if k.kind in DIRECT_KINDS and k.requires_native and can_use(k, a, b)
    ]
    gen = min(a.pcie_gen, b.pcie_gen)
    pcie = [catalog.links[i] for i in (f"pcie{gen}-x16-switch", f"pcie{gen}-x16-cpu") if i in catalog.links]
    return [*sorted(direct, key=lambda k: -k.bandwidth_gbps_per_direction), *pcie]


def preset_edit(catalog: Catalog, node: Node, preset: str) -> Callable[[PlanDocument], None]:
    """The edit applying ``preset`` to ``node``; raises PlanError when its GPUs cannot be wired so."""
    if preset not in PRESETS:
        raise PlanError(f"unknown wiring preset '{preset}'", fix=f"use one of {', '.join(PRESETS)}")
    specs = _specs(catalog, node)
    if not specs:
        raise PlanError(f"{node.name} has no GPUs to wire", fix="drop GPUs into its slots first")
    host_link, nvswitch, pair_kind = node.host_link, None, None
    if preset == "nvswitch":
        switches = [
            k
            for k in catalog.links.values()
            if k.kind == "nvswitch" and k.requires_native and can_use(k, *specs)
        ]
        if not switches:
            raise PlanError(
                f"the GPUs in {node.name} cannot join an NVSwitch", fix="use NVLink pairs or PCIe"
            )
        nvswitch = min(
            switches, key=lambda k: k.bandwidth_gbps_per_direction if "nvl72" not in k.id else 1e9
        ).id
    elif preset == "nvlink-pairs":
        direct = [
            k
            for k in catalog.links.values()
            if k.kind in DIRECT_KINDS and k.requires_native and can_use(k, *specs)
        ]
        if not direct:
            raise PlanError(f"the GPUs in {node.name} have no NVLink port in common", fix="use PCIe")
        pair_kind = max(direct, key=lambda k: k.bandwidth_gbps_per_direction).id
    else:
        where = "switch" if preset == "pcie-switch" else "cpu"
        host_link = f"pcie{min(s.pcie_gen for s in specs)}-x16-{where}"
        if host_link not in catalog.links:
            raise PlanError(f"the catalog has no link '{host_link}'")
    placements = sorted(node.gpus, key=lambda g: g.slot)
    ids = {g.id for g in placements}

    def edit(document: PlanDocument) -> None:
        for link in list(document.plan.rig.links):
            if link.a in ids and link.b in ids:
                document.remove_link(link.id)
        document.set_node_props(node.id, nvswitch=nvswitch, host_link=host_link)
        if pair_kind:
            for first, second in zip(placements[::2], placements[1::2], strict=False):
                document.add_link(pair_kind, first.id, second.id)

    return edit
