"""Collective times against nccl-tests measurements (catalogs/measurements.csv rows)."""

from __future__ import annotations

import pytest

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.collectives import allreduce_time_s, busbw_gbps, p2p_time_s
from gpuplanner.core.plan import GpuPlacement, Node, Rig
from gpuplanner.core.topology import path_between, ring_for_group


@pytest.fixture(scope="module")
def cat():
    return default_catalog()


def ring(cat, gpu: str, n: int, **node_fields):
    gpus = tuple(GpuPlacement(id=f"g{i}", gpu=gpu, slot=i) for i in range(n))
    rig = Rig(nodes=(Node(id="n0", slots=8, gpus=gpus, **node_fields),))
    return rig, ring_for_group(rig, cat, [g.id for g in gpus])


def test_h100_nvswitch_busbw_at_8_gb(cat):
    # M117: nccl-tests all_reduce_perf, 8 x H100 SXM (Azure ND H100 v5), 8 GB: busbw 478.87 GB/s.
    _, hops = ring(cat, "h100-sxm", 8, nvswitch="nvswitch-nvlink4")
    nbytes = 8589934592
    assert busbw_gbps(allreduce_time_s(nbytes, hops), nbytes, 8) == pytest.approx(478.87, rel=0.15)


def test_a100_nvswitch_busbw_at_8_gb(cat):
    # M126: 8 x A100 SXM4 80GB, 8 GB: busbw 231.58 GB/s.
    _, hops = ring(cat, "a100-80gb-sxm", 8, nvswitch="nvswitch-nvlink3")
    nbytes = 8589934592
    assert busbw_gbps(allreduce_time_s(nbytes, hops), nbytes, 8) == pytest.approx(231.58, rel=0.15)


def test_small_messages_are_latency_bound(cat):
    # M112 vs M117: 8 KB reaches 0.53 GB/s busbw, 8 GB reaches 478.87: a small all-reduce costs its
    # latency, not its bytes.
    _, hops = ring(cat, "h100-sxm", 8, nvswitch="nvswitch-nvlink4")
    small, double = allreduce_time_s(8192, hops), allreduce_time_s(16384, hops)
    assert double < small * 1.05
    assert busbw_gbps(small, 8192, 8) == pytest.approx(0.53, rel=0.3)
    big, bigger = allreduce_time_s(2**32, hops), allreduce_time_s(2**33, hops)
    assert bigger == pytest.approx(2 * big, rel=0.05)


def test_no_peer_to_peer_is_slower_than_a_pcie_switch(cat):
    _, switch = ring(cat, "a100-80gb-pcie", 2, host_link="pcie4-x16-switch")
    _, sockets = ring(cat, "a100-80gb-pcie", 2, host_link="pcie4-x16-sys")
    assert allreduce_time_s(2**30, sockets) > 1.3 * allreduce_time_s(2**30, switch)


def test_h100_pair_copy_bandwidth(cat):
    # M216: p2pBandwidthLatencyTest on HGX H100, one direction: 380 GB/s of 450.
    rig, _ = ring(cat, "h100-sxm", 2, nvswitch="nvswitch-nvlink4")
    seconds = p2p_time_s(2**30, path_between(rig, cat, "g0", "g1"))
    assert 2**30 / seconds / 1e9 == pytest.approx(380, rel=0.15)


def test_a_group_of_one_costs_nothing(cat):
    _, hops = ring(cat, "h100-sxm", 1, nvswitch="nvswitch-nvlink4")
    assert hops == []
    assert allreduce_time_s(2**20, hops) == 0.0
