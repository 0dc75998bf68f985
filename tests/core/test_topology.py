"""Which link a pair of GPUs uses. Figures are public facts, cited per test."""

from __future__ import annotations

import pytest

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.plan import GpuPlacement, Link, Node, Rig
from gpuplanner.core.topology import path_between, ring_bandwidth_bps, ring_for_group


@pytest.fixture(scope="module")
def cat():
    return default_catalog()


def node(nid: str, gpu: str, count: int, **fields) -> Node:
    gpus = tuple(GpuPlacement(id=f"{nid}g{i}", gpu=gpu, slot=i) for i in range(count))
    return Node(id=nid, slots=max(8, count), gpus=gpus, **fields)


def test_nvswitch_joins_gpus_of_a_node(cat):
    # NVLink 4 on H100 SXM: 18 links x 25 GB/s = 450 GB/s per direction (NVIDIA H100 datasheet; S1).
    rig = Rig(nodes=(node("n0", "h100-sxm", 8, nvswitch="nvswitch-nvlink4"),))
    hop = path_between(rig, cat, "n0g0", "n0g5")
    assert hop.name == "NVSwitch (n0)"
    assert hop.bandwidth_bps == pytest.approx(450e9)
    assert hop.peer_to_peer


def test_explicit_link_wins_over_the_switch_and_pcie(cat):
    # An NVLink bridge pair on A100 PCIe: 600 GB/s both ways = 300 per direction (A100 datasheet).
    rig = Rig(
        nodes=(node("n0", "a100-80gb-pcie", 4, host_link="pcie4-x16-switch"),),
        links=(Link(id="l0", kind="nvlink-bridge-a100-pcie", a="n0g0", b="n0g1"),),
    )
    assert path_between(rig, cat, "n0g1", "n0g0").bandwidth_bps == pytest.approx(300e9)
    pcie = path_between(rig, cat, "n0g1", "n0g2")
    assert pcie.link == "pcie4-x16-switch"
    assert pcie.name == "PCIe n0g1↔n0g2 via PCIe switch"


def test_a_gen4_card_in_a_gen5_server_runs_gen4(cat):
    # RTX 4090 is PCIe 4.0 x16: 31.5 GB/s per direction (PCIe 4.0 x16, 16 GT/s 128b/130b; S35);
    # GeForce cards have no PCIe peer-to-peer, so their traffic is staged through host memory.
    rig = Rig(nodes=(node("n0", "rtx-4090", 2, host_link="pcie5-x16-cpu"),))
    hop = path_between(rig, cat, "n0g0", "n0g1")
    assert hop.bandwidth_bps == pytest.approx(31.5e9)
    assert not hop.peer_to_peer
    assert hop.name == "PCIe n0g0↔n0g1 via CPU"


def test_across_sockets_has_no_peer_to_peer(cat):
    rig = Rig(nodes=(node("n0", "a100-80gb-pcie", 2, host_link="pcie4-x16-sys"),))
    assert not path_between(rig, cat, "n0g0", "n0g1").peer_to_peer


def test_nic_share_per_gpu(cat):
    # InfiniBand NDR: 400 Gb/s = 50 GB/s per port per direction; DGX H100 has 8 (one per GPU) (S1).
    one_nic = Rig(nodes=(node("n0", "h100-sxm", 8), node("n1", "h100-sxm", 8)), fabric="ib-ndr")
    hop = path_between(one_nic, cat, "n0g0", "n1g0", streams=8)
    assert hop.bandwidth_bps == pytest.approx(50e9 / 8)
    assert hop.name == "InfiniBand NDR n0↔n1"
    dgx = Rig(nodes=(node("n0", "h100-sxm", 8, nics=8), node("n1", "h100-sxm", 8, nics=8)), fabric="ib-ndr")
    assert path_between(dgx, cat, "n0g0", "n1g0", streams=8).bandwidth_bps == pytest.approx(50e9)


def test_ring_crosses_each_node_boundary_once(cat):
    rig = Rig(
        nodes=tuple(node(f"n{i}", "h100-sxm", 8, nvswitch="nvswitch-nvlink4", nics=8) for i in range(2)),
        fabric="ib-ndr",
    )
    mixed_order = [f"n{i % 2}g{i // 2}" for i in range(16)]
    hops = ring_for_group(rig, cat, mixed_order)
    assert len(hops) == 16
    assert sum(h.scope == "inter-node" for h in hops) == 2
    # Channels spread over the 8 NICs: 8 x 50 GB/s, below NVLink's 450 per GPU.
    assert ring_bandwidth_bps(hops) == pytest.approx(400e9)


def test_ring_over_64_nodes_has_one_inter_node_hop_per_node(cat):
    rig = Rig(
        nodes=tuple(node(f"n{i}", "h100-sxm", 8, nvswitch="nvswitch-nvlink4", nics=8) for i in range(64)),
        fabric="ib-ndr",
    )
    ids = [g.id for _, g in rig.iter_gpus()]
    hops = ring_for_group(rig, cat, ids)
    assert len(hops) == 512
    assert sum(h.scope == "inter-node" for h in hops) == 64
    assert ring_for_group(rig, cat, ids[:1]) == []


def test_xgmi_mesh_pair_gets_one_link_and_a_group_of_eight_all_seven():
    """MI300X: 7 xGMI links x 64 GB/s per direction, one per peer, 448 GB/s to all peers together
    (AMD ROCm MI300 docs, catalog-facts S7/S1): a pair gets 64, an 8-GPU ring the full 448."""
    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.core.quick import quick_plan
    from gpuplanner.core.topology import path_between, ring_for_group

    cat = default_catalog()
    plan = quick_plan(model="meta-llama/Llama-3.1-70B-Instruct", gpu="mi300x", gpus_per_node=8, tp=8)
    ids = plan.rig.gpu_ids()
    assert path_between(plan.rig, cat, ids[0], ids[1]).bandwidth_bps == 64e9
    assert min(h.bandwidth_bps for h in ring_for_group(plan.rig, cat, ids)) == 448e9
    assert min(h.bandwidth_bps for h in ring_for_group(plan.rig, cat, ids[:2])) == 64e9
