"""A rig from `nvidia-smi topo -m`: real outputs from public issues (tests/data/topology/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.layout_ops import default_layout
from gpuplanner.core.plan import GpuPlacement, Link, Node, Rig
from gpuplanner.core.topo_import import (
    TopologyError,
    match_gpu,
    parse_gpu_csv,
    parse_topology,
    plan_from_topology,
)
from gpuplanner.core.topology import path_between

DATA = Path(__file__).resolve().parents[1] / "data" / "topology"


def text(name: str) -> str:
    return (DATA / name).read_text()


def _node(gpu: str, count: int, **fields) -> Node:
    gpus = tuple(GpuPlacement(id=f"g0_{i}", gpu=gpu, slot=i) for i in range(count))
    return Node(id="n0", name="Server 1", slots=count, gpus=gpus, **fields)


def test_dgx_h100_is_one_nvswitch_board_on_two_numa_nodes():
    topo = parse_topology(text("dgx_h100.txt"))
    assert topo.gpus == tuple(f"GPU{i}" for i in range(8))
    assert set(topo.pairs.values()) == {"NV18"} and len(topo.pairs) == 28
    assert topo.numa == ("0",) * 4 + ("1",) * 4
    assert topo.cpu_affinity[0] == "0-47,96-143" and topo.cpu_affinity[7] == "48-95,144-191"
    plan, notes = plan_from_topology(text("dgx_h100.txt"), gpu="h100-sxm")
    node = plan.rig.nodes[0]
    assert node.nvswitch == "nvswitch-nvlink4" and plan.rig.links == ()
    assert any("NUMA 1 (CPUs 48-95,144-191)" in n for n in notes)


def test_a_plan_from_the_topology_evaluates_exactly_as_the_same_rig_built_by_hand():
    cases = [
        # DGX H100: NVSwitch, PCIe switch behind it (what the window's DGX preset draws)
        (
            "dgx_h100.txt",
            "h100-sxm",
            Rig(nodes=(_node("h100-sxm", 8, host_link="pcie5-x16-switch", nvswitch="nvswitch-nvlink4"),)),
        ),
        # 8x RTX 4090 over two sockets: every pair SYS -> PCIe 4.0 across sockets; two NICs
        (
            "pcie_4090_x8_two_sockets.txt",
            "rtx-4090",
            Rig(nodes=(_node("rtx-4090", 8, host_link="pcie4-x16-sys", nics=2),)),
        ),
        # 2x RTX 5090 under one CPU root complex (PHB)
        (
            "consumer_2x5090_no_p2p.txt",
            "rtx-5090",
            Rig(nodes=(_node("rtx-5090", 2, host_link="pcie5-x16-cpu"),)),
        ),
        # 2x RTX 3090 with their NVLink bridge
        (
            "workstation_2x3090_nvlink.txt",
            "rtx-3090",
            Rig(
                nodes=(_node("rtx-3090", 2, host_link="pcie4-x16-cpu"),),
                links=(Link(id="bridge", kind="nvlink-bridge-3090", a="g0_0", b="g0_1"),),
            ),
        ),
    ]
    catalog = default_catalog()
    model = catalog.model("meta-llama/Llama-3.1-8B-Instruct")
    for name, gpu, hand_rig in cases:
        imported, _ = plan_from_topology(text(name), gpu=gpu)
        by_hand = imported.model_copy(
            update={
                "rig": hand_rig,
                "layout": default_layout(hand_rig, model.num_layers, imported.layout.tp, imported.layout.pp),
            }
        )
        assert imported.layout == by_hand.layout, name
        assert evaluate(imported).to_json_dict() == evaluate(by_hand).to_json_dict(), name


def test_two_socket_pcie_server_keeps_its_nics_and_numa_split():
    topo = parse_topology(text("pcie_4090_x8_two_sockets.txt"))
    assert topo.nics == ("NIC0", "NIC1")
    assert set(topo.pairs.values()) == {"SYS"}
    assert topo.numa == ("0",) * 4 + ("1",) * 4
    plan, _ = plan_from_topology(text("pcie_4090_x8_two_sockets.txt"), gpu="rtx-4090")
    hop = path_between(plan.rig, default_catalog(), "g0_0", "g0_7")
    assert hop.link == "pcie4-x16-sys" and not hop.peer_to_peer


def test_nvlink_bridge_workstation_with_its_gpu_list():
    rows = parse_gpu_csv(text("workstation_2x3090_nvlink_gpus.csv"))
    assert [(r.index, r.name, r.memory_mib, r.bus_id) for r in rows] == [
        (0, "NVIDIA GeForce RTX 3090", 24576, "00000000:17:00.0"),
        (1, "NVIDIA GeForce RTX 3090", 24576, "00000000:65:00.0"),
    ]
    plan, notes = plan_from_topology(
        text("workstation_2x3090_nvlink.txt"), text("workstation_2x3090_nvlink_gpus.csv")
    )
    assert [g.gpu for _, g in plan.rig.iter_gpus()] == ["rtx-3090", "rtx-3090"]
    assert [(link.kind, link.a, link.b) for link in plan.rig.links] == [
        ("nvlink-bridge-3090", "g0_0", "g0_1")
    ]
    hop = path_between(plan.rig, default_catalog(), "g0_0", "g0_1")
    assert hop.kind == "nvlink-bridge"
    assert "NV4" in "\n".join(notes)


def test_consumer_board_without_p2p_stages_through_the_host():
    plan, notes = plan_from_topology(text("consumer_2x5090_no_p2p.txt"), gpu="rtx-5090")
    hop = path_between(plan.rig, default_catalog(), "g0_0", "g0_1")
    assert hop.link == "pcie5-x16-cpu" and hop.peer_to_peer is False
    assert any("peer-to-peer" in n for n in notes)


def test_four_h100_joined_directly_get_pair_links_and_a_nic_each():
    topo = parse_topology(text("hgx_4x_h100_nv6_nics.txt"))
    assert topo.nic_near == {"NIC0": (0,), "NIC1": (1,), "NIC2": (2,), "NIC3": (3,)}
    assert topo.numa == ("3", "1", "7", "5")
    plan, _ = plan_from_topology(text("hgx_4x_h100_nv6_nics.txt"), gpu="h100-sxm")
    node = plan.rig.nodes[0]
    assert node.nvswitch is None and node.nics == 4
    assert sorted((link.a, link.b) for link in plan.rig.links) == [
        (f"g0_{i}", f"g0_{k}") for i in range(4) for k in range(i + 1, 4)
    ]
    assert {link.kind for link in plan.rig.links} == {"nvlink4"}


def test_gpu_names_from_the_driver_match_the_catalog():
    catalog = default_catalog()
    assert match_gpu("NVIDIA GeForce RTX 3090", 24576, catalog).id == "rtx-3090"
    assert match_gpu("NVIDIA H100 80GB HBM3", 81559, catalog).id == "h100-sxm"
    assert match_gpu("NVIDIA A100-SXM4-40GB", 40960, catalog).id == "a100-40gb-sxm"
    assert match_gpu("NVIDIA GeForce RTX 9999", 24576, catalog) is None


def test_truncated_output_names_the_line():
    cut = "\n".join(text("dgx_h100.txt").splitlines()[:6])  # header + GPU0..GPU4
    with pytest.raises(TopologyError, match=r"line 7: the row of GPU5 is missing"):
        parse_topology(cut, "topo.txt")
    half = text("dgx_h100.txt")[:700]
    with pytest.raises(TopologyError, match=r"line \d+: the row of GPU\d has \d columns"):
        parse_topology(half)


def test_another_tools_output_is_refused_with_its_first_line():
    bench = "| model | size | params | backend | ngl | test | t/s |\n|---|---|---|---|---|---|---|\n"
    with pytest.raises(TopologyError, match=r"line 1: '\| model \| size.*' is not the output of `nvidia-smi"):
        parse_topology(bench)
    with pytest.raises(TopologyError, match="rocm-smi output"):
        parse_topology("============================ ROCm System Management Interface ====\n")
    with pytest.raises(TopologyError, match="line 1: an empty text"):
        parse_topology("")


def test_unreadable_cell_and_unknown_gpu_name_name_their_line():
    broken = text("consumer_2x5090_no_p2p.txt").replace("GPU1\tPHB", "GPU1\tFOO")
    with pytest.raises(TopologyError, match=r"line 3: cannot read 'FOO' between GPU1 and GPU0"):
        parse_topology(broken)
    csv = text("workstation_2x3090_nvlink_gpus.csv").replace(
        "RTX 3090, 24576 MiB, 00000000:65", "RTX 9999, 24576 MiB, 00000000:65"
    )
    with pytest.raises(
        TopologyError,
        match=r"gpus.csv: line 3: GPU 'NVIDIA GeForce RTX 9999', 24576 MiB is not in the catalog",
    ) as err:
        plan_from_topology(text("workstation_2x3090_nvlink.txt"), csv, sources=("topo.txt", "gpus.csv"))
    assert "add-gpu" in err.value.fix
    with pytest.raises(TopologyError, match=r"line 2: expected 4 comma-separated values"):
        parse_gpu_csv("index, name, memory.total [MiB], pci.bus_id\n0, NVIDIA GeForce RTX 3090\n")
    with pytest.raises(TopologyError, match="no line for GPU1"):
        plan_from_topology(
            text("workstation_2x3090_nvlink.txt"), "0, NVIDIA GeForce RTX 3090, 24576 MiB, 0:17:00.0\n"
        )
    with pytest.raises(TopologyError, match="names no GPU models"):
        plan_from_topology(text("workstation_2x3090_nvlink.txt"))


def test_a_known_name_with_other_memory_is_offered_as_a_custom_gpu():
    # same card name, twice the memory the driver reports for a stock RTX 3090 (24576 MiB)
    csv = text("workstation_2x3090_nvlink_gpus.csv").replace(
        "24576 MiB, 00000000:65", "49152 MiB, 00000000:65"
    )
    with pytest.raises(
        TopologyError, match=r"line 3: GPU 'NVIDIA GeForce RTX 3090', 49152 MiB is not in the catalog"
    ):
        plan_from_topology(text("workstation_2x3090_nvlink.txt"), csv)


def test_a_custom_gpu_with_the_drivers_name_wins_only_for_its_own_memory(tmp_path, monkeypatch):
    from gpuplanner.core.catalog import load_catalog
    from gpuplanner.core.user_gpus import gpu_from_entry, save_user_gpu

    monkeypatch.setenv("GPUPLANNER_USER_DIR", str(tmp_path / "user"))
    base = load_catalog(include_user_models=False)
    entry = {"id": "rtx-3090-48g", "name": "RTX 3090 48GB mod", "aliases": ["NVIDIA GeForce RTX 3090"],
             "memory_gib_usable": 48.0, "hbm_bandwidth_gbps": 936, "bf16_tflops": 71}  # fmt: skip
    save_user_gpu(gpu_from_entry(entry, base.links, base.gpus, "test"))
    catalog = load_catalog()
    assert match_gpu("NVIDIA GeForce RTX 3090", 49152, catalog).id == "rtx-3090-48g"
    assert match_gpu("NVIDIA GeForce RTX 3090", 24576, catalog).id == "rtx-3090"


def test_the_nics_speed_comes_from_the_user():
    plan, _ = plan_from_topology(text("hgx_4x_h100_nv6_nics.txt"), gpu="h100-sxm", nic="ib-ndr")
    assert plan.rig.nodes[0].nic == "ib-ndr" and plan.rig.nodes[0].nics == 4
    with pytest.raises(TopologyError, match="not a network link"):
        plan_from_topology(text("hgx_4x_h100_nv6_nics.txt"), gpu="h100-sxm", nic="nvlink4")
