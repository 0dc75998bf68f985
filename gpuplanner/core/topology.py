"""Which link a pair of GPUs uses, and the hops of a collective's ring.

The rules, in order (``path_between``):
1. an explicit :class:`~gpuplanner.core.plan.Link` between the two GPUs (NVLink, bridge, xGMI);
2. the node's NVSwitch when both GPUs sit in that node;
3. the node's ``host_link`` (PCIe through a switch, the CPU root complex, or across sockets);
4. across nodes, the NIC (``node.nic`` or the rig's ``fabric``).

A PCIe hop is capped by both GPUs' own PCIe generation and lanes (a Gen4 card in a Gen5 server runs
Gen4); a NIC hop is capped by the GPU's PCIe too, because GPUDirect RDMA crosses it.

Speed matters: the window re-evaluates on every edit and a 512-GPU plan must take a few milliseconds,
so a rig is indexed once (gpu id -> node) and hop figures are cached per (node, link, GPU model);
nothing here looks at all pairs of GPUs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from gpuplanner.core.errors import PlanError
from gpuplanner.core.identity_cache import IdentityCache
from gpuplanner.core.plan import GpuPlacement, Node, Rig
from gpuplanner.core.specs import GpuSpec, LinkSpec

# PCIe bandwidth per direction of an x16 slot, GB/s, by generation (catalog-facts S35: 128b/130b
# encoding for Gen3-5, FLIT for Gen6). Used to cap a hop by the GPU's own PCIe interface.
PCIE_X16_GBPS = {3: 15.75, 4: 31.5, 5: 63.0, 6: 121.0}

_RATE = re.compile(r"\s+\d+(\.\d+)?\s*[GT]b/s$")
_VIA = {"switch": "via PCIe switch", "cpu": "via CPU", "sys": "across CPU sockets"}


class SpecSource(Protocol):
    """What topology needs from a catalog: GPU and link specs by id."""

    def gpu(self, ref: str) -> GpuSpec: ...

    def link(self, ref: str) -> LinkSpec: ...


@dataclass(frozen=True, slots=True)
class Hop:
    """The path one GPU uses to send to another.

    ``bandwidth_bps`` is the effective bandwidth per direction in bytes/s after the GPU's PCIe cap and
    NIC sharing, before any protocol efficiency (that is :mod:`collectives`' business).
    """

    name: str
    link: str
    kind: str
    bandwidth_bps: float
    latency_s: float
    peer_to_peer: bool
    bus_efficiency: float
    scope: str = "intra-node"


def _hop(spec: LinkSpec, name: str, gbps: float, p2p: bool, scope: str | None = None) -> Hop:
    return Hop(
        name,
        spec.id,
        spec.kind,
        gbps * 1e9,
        spec.latency_us * 1e-6,
        p2p,
        spec.bus_efficiency,
        scope or spec.scope,
    )


def gpu_pcie_gbps(gpu: GpuSpec) -> float:
    """The GPU's own PCIe bandwidth per direction, GB/s (generation and lanes of the card)."""
    return PCIE_X16_GBPS.get(gpu.pcie_gen, PCIE_X16_GBPS[5]) * gpu.pcie_lanes / 16


def _pcie_link_gbps(spec: LinkSpec, gpus: Sequence[GpuSpec]) -> float:
    """A PCIe path's bandwidth per direction, capped by the slower card's generation and lanes."""
    return min([spec.bandwidth_gbps_per_direction, *(gpu_pcie_gbps(g) for g in gpus)])


def _pcie_p2p(spec: LinkSpec, gpus: Sequence[GpuSpec]) -> bool:
    """GeForce cards have no PCIe peer-to-peer in NVIDIA's driver: their traffic is staged via host."""
    return spec.peer_to_peer and not any(g.gpu_class == "consumer" for g in gpus)


def _via(spec: LinkSpec) -> str:
    suffix = spec.id.rsplit("-", 1)[-1]
    if suffix in _VIA:
        return _VIA[suffix]
    return "via host" if not spec.peer_to_peer else "via PCIe"


def _short_name(spec: LinkSpec) -> str:
    """'InfiniBand NDR 400 Gb/s' -> 'InfiniBand NDR'; 'NVLink bridge (A100 PCIe, ...)' -> 'NVLink bridge'."""
    name = _RATE.sub("", spec.name.split("(")[0].split(",")[0]).strip()
    return name or spec.id


class _RigIndex:
    """A rig indexed once: where each GPU is, which explicit links exist, and a hop cache."""

    __slots__ = ("explicit", "hops", "node_count", "node_of", "nodes", "placement", "ring_keys", "rings")

    def __init__(self, rig: Rig) -> None:
        self.nodes: tuple[Node, ...] = rig.nodes
        self.node_of: dict[str, int] = {}
        self.placement: dict[str, GpuPlacement] = {}
        self.node_count: list[int] = []
        for index, node in enumerate(rig.nodes):
            self.node_count.append(len(node.gpus))
            for gpu in node.gpus:
                self.node_of[gpu.id] = index
                self.placement[gpu.id] = gpu
        self.explicit: dict[tuple[str, str], str] = {}
        for link in rig.links:
            self.explicit[(link.a, link.b)] = link.kind
            self.explicit[(link.b, link.a)] = link.kind
        self.hops: dict[tuple[object, ...], Hop] = {}
        self.rings: dict[tuple[str, ...], list[Hop]] = {}
        self.ring_keys: dict[tuple[str, ...], tuple[tuple[Hop, ...], int]] = {}


_INDEX_CACHE: IdentityCache[_RigIndex] = IdentityCache(8)


def _index(rig: Rig, catalog: SpecSource) -> _RigIndex:
    index = _INDEX_CACHE.get(rig, catalog)
    return index if index is not None else _INDEX_CACHE.put(_RigIndex(rig), rig, catalog)


def _locate(index: _RigIndex, gpu_id: str) -> tuple[int, GpuPlacement]:
    node = index.node_of.get(gpu_id)
    if node is None:
        raise PlanError(
            f"GPU '{gpu_id}' is not in the rig", fix="add it to a server or remove it from the layout"
        )
    return node, index.placement[gpu_id]


def _explicit_hop(catalog: SpecSource, link_id: str, a: GpuPlacement, b: GpuPlacement) -> Hop:
    spec = catalog.link(link_id)
    p2p = spec.peer_to_peer
    if spec.kind == "pcie":
        gpus = (catalog.gpu(a.gpu), catalog.gpu(b.gpu))
        gbps, p2p = _pcie_link_gbps(spec, gpus), _pcie_p2p(spec, gpus)
        name = f"PCIe {a.id}↔{b.id} {_via(spec)}"
    else:
        # a direct mesh (xGMI, Gaudi) gives one pair only its own link, not the GPU's total
        gbps = spec.per_peer_gbps_per_direction or spec.bandwidth_gbps_per_direction
        name = f"{_short_name(spec)} {a.id}↔{b.id}"
    return _hop(spec, name, gbps, p2p)


def _mesh_hop(catalog: SpecSource, hop: Hop, peers: int) -> Hop:
    """A collective over ``peers + 1`` GPUs of a direct full mesh drives all their pairwise links at once."""
    spec = catalog.link(hop.link)
    if not spec.per_peer_gbps_per_direction or peers < 2:
        return hop
    gbps = min(spec.bandwidth_gbps_per_direction, spec.per_peer_gbps_per_direction * peers)
    return replace(hop, bandwidth_bps=gbps * 1e9)


def _node_hop(index: _RigIndex, catalog: SpecSource, node_i: int, a: GpuPlacement, b: GpuPlacement) -> Hop:
    node = index.nodes[node_i]
    if node.nvswitch:
        key: tuple[object, ...] = ("nvswitch", node_i)
        hop = index.hops.get(key)
        if hop is None:
            spec = catalog.link(node.nvswitch)
            hop = _hop(spec, f"NVSwitch ({node.id})", spec.bandwidth_gbps_per_direction, spec.peer_to_peer)
            index.hops[key] = hop
        return hop
    key = ("host", node_i, *sorted((a.gpu, b.gpu)))
    base = index.hops.get(key)
    if base is None:
        spec = catalog.link(node.host_link)
        gpus = (catalog.gpu(a.gpu), catalog.gpu(b.gpu))
        base = _hop(spec, _via(spec), _pcie_link_gbps(spec, gpus), _pcie_p2p(spec, gpus))
        index.hops[key] = base
    return replace(base, name=f"PCIe {a.id}↔{b.id} {base.name}")


def _nic_spec(rig: Rig, node: Node, catalog: SpecSource) -> LinkSpec:
    link_id = node.nic or rig.fabric
    if link_id is None:
        raise PlanError(
            f"server '{node.id}' has no network link to the other servers",
            fix="set the rig's fabric (e.g. 'ib-ndr') or the server's NIC",
        )
    return catalog.link(link_id)


def _nic_hop(
    rig: Rig,
    index: _RigIndex,
    catalog: SpecSource,
    na: int,
    nb: int,
    a: GpuPlacement,
    b: GpuPlacement,
    streams: int,
    aggregate: bool,
) -> Hop:
    """Across nodes. ``streams``: GPUs of a node sending at once. ``aggregate``: the bandwidth of all
    the NICs the streams use together (a ring's channels) rather than one GPU's share."""
    key = ("nic", na, nb, a.gpu, b.gpu, streams, aggregate)
    hop = index.hops.get(key)
    if hop is None:
        node_a, node_b = index.nodes[na], index.nodes[nb]
        spec_a, spec_b = _nic_spec(rig, node_a, catalog), _nic_spec(rig, node_b, catalog)
        slow = (
            spec_a if spec_a.bandwidth_gbps_per_direction <= spec_b.bandwidth_gbps_per_direction else spec_b
        )
        per_nic = min(
            slow.bandwidth_gbps_per_direction,
            gpu_pcie_gbps(catalog.gpu(a.gpu)),
            gpu_pcie_gbps(catalog.gpu(b.gpu)),
        )
        nics = min(node_a.nics, node_b.nics)
        share = min(float(nics), float(streams)) if aggregate else min(1.0, nics / max(streams, 1))
        hop = _hop(slow, f"{_short_name(slow)} {node_a.id}↔{node_b.id}", per_nic * share, True, "inter-node")
        hop = replace(hop, latency_s=max(spec_a.latency_us, spec_b.latency_us) * 1e-6)
        index.hops[key] = hop
    return hop


def path_between(rig: Rig, catalog: SpecSource, gpu_a: str, gpu_b: str, streams: int = 1) -> Hop:
    """The hop GPU ``gpu_a`` uses to send to ``gpu_b``.

    ``streams`` is how many GPUs of the sending node use its NICs at the same moment (a pipeline
    boundary under TP 8 sends from 8 GPUs at once); each gets ``nics / streams`` of a NIC, at most one.
    """
    index = _index(rig, catalog)
    na, a = _locate(index, gpu_a)
    nb, b = _locate(index, gpu_b)
    link_id = index.explicit.get((gpu_a, gpu_b))
    if link_id is not None:
        key = ("explicit", gpu_a, gpu_b)
        hop = index.hops.get(key)
        if hop is None:
            hop = index.hops[key] = _explicit_hop(catalog, link_id, a, b)
        return hop
    if na == nb:
        return _node_hop(index, catalog, na, a, b)
    return _nic_hop(rig, index, catalog, na, nb, a, b, streams, aggregate=False)


def ring_for_group(rig: Rig, catalog: SpecSource, gpus: Sequence[str]) -> list[Hop]:
    """The hops of a ring collective over ``gpus`` (empty for a group of one).

    Like NCCL, the ring visits each node's GPUs together, so it leaves and enters every node once; the
    order of ``gpus`` is kept inside a node. A ring's channels spread over all NICs of a node, so an
    inter-node hop gets ``min(nics, GPUs of the group on that node)`` NICs. The slowest hop sets the
    ring's bandwidth (see :func:`ring_bandwidth_bps`).
    """
    if len(gpus) < 2:
        return []
    index = _index(rig, catalog)
    cached = index.rings.get(tuple(gpus))
    if cached is not None:
        return list(cached)
    located = [(*_locate(index, g), g) for g in gpus]
    located.sort(key=lambda item: item[0])  # stable: keeps the given order within a node
    per_node: dict[int, int] = {}
    for node_i, _, _ in located:
        per_node[node_i] = per_node.get(node_i, 0) + 1
    hops: list[Hop] = []
    count = len(located)
    for i in range(count):
        na, a, a_id = located[i]
        nb, b, b_id = located[(i + 1) % count]
        if na == nb:
            link_id = index.explicit.get((a_id, b_id))
            if link_id:
                hops.append(_mesh_hop(catalog, path_between(rig, catalog, a_id, b_id), per_node[na] - 1))
            else:
                hops.append(_node_hop(index, catalog, na, a, b))
        else:
            streams = min(per_node[na], per_node[nb])
            hops.append(_nic_hop(rig, index, catalog, na, nb, a, b, streams, aggregate=True))
    index.rings[tuple(gpus)] = hops
    return list(hops)


def hop_figures(hop: Hop) -> tuple[object, ...]:
    """What timing a hop reads, its name aside: hops with equal figures time alike."""
    return (hop.link, hop.bandwidth_bps, hop.latency_s, hop.peer_to_peer)


# each distinct tuple of hop figures -> a number (process-wide; a handful of link kinds make few)
_FIGURE_NUMBERS: dict[tuple[tuple[object, ...], ...], int] = {}


def ring_with_key(rig: Rig, catalog: SpecSource, gpus: tuple[str, ...]) -> tuple[tuple[Hop, ...], int]:
    """:func:`ring_for_group`'s hops and a number equal for rings whose hops have equal figures
    (:func:`hop_figures`, in ring order), both kept with the rig's index: a 512-GPU plan's 64 rings
    cost a dictionary lookup each once the rig has been seen."""
    index = _index(rig, catalog)
    hit = index.ring_keys.get(gpus)
    if hit is None:
        hops = tuple(ring_for_group(rig, catalog, gpus))
        figures = tuple(map(hop_figures, hops))
        hit = index.ring_keys[gpus] = (hops, _FIGURE_NUMBERS.setdefault(figures, len(_FIGURE_NUMBERS)))
    return hit


def slowest_hop(hops: Sequence[Hop]) -> Hop:
    """The hop with the least effective bandwidth (after its bus efficiency): it sets a ring's speed."""
    return min(hops, key=lambda h: h.bandwidth_bps * h.bus_efficiency)


def ring_bandwidth_bps(hops: Sequence[Hop]) -> float:
    """Raw bandwidth per direction of a ring, bytes/s: its slowest hop's."""
    return min(h.bandwidth_bps for h in hops)
