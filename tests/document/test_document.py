"""PlanDocument: change methods, events, ids and the layout kept valid (Qt-free)."""

from __future__ import annotations

import pytest
from conftest import make_rig_plan

from gpuplanner.core.errors import PlanError
from gpuplanner.core.layout_ops import (
    layout_gpu_ids,
    remove_gpus_from_layout,
    rescale_layout,
    validate_layout,
)
from gpuplanner.core.plan import Layout, Replica, Stage
from gpuplanner.core.specs import NodeTemplate
from gpuplanner.document.document import Change, PlanDocument


@pytest.fixture
def doc(rig_plan):
    return PlanDocument(rig_plan)


def test_add_gpu_takes_first_free_slot_and_new_unique_id(doc):
    events: list[Change] = []
    doc.subscribe(events.append)
    gpu_id = doc.add_gpu("n0", "l40s")
    assert gpu_id == "g8"
    node, placement = doc.gpu(gpu_id)
    assert node.id == "n0" and placement.slot == 4 and placement.gpu == "l40s"
    assert events == [Change("rig", frozenset({"n0", "g8"}))]
    assert "g8" not in layout_gpu_ids(doc.plan.layout)  # unused until the layout takes it


def test_ids_are_not_reused_after_a_removal(doc):
    first = doc.add_gpu("n0", "l40s")
    doc.remove_gpu(first)
    assert doc.add_gpu("n0", "l40s") != first


def test_add_gpu_refuses_a_taken_or_missing_slot(doc):
    with pytest.raises(PlanError, match="taken"):
        doc.add_gpu("n0", "l40s", 0)
    with pytest.raises(PlanError, match="no slot"):
        doc.add_gpu("n0", "l40s", 99)
    with pytest.raises(PlanError, match="no server"):
        doc.add_gpu("n9", "l40s")


def test_remove_gpu_takes_its_links_and_shrinks_its_stage(doc):
    doc.remove_gpu("g0")
    assert "g0" not in doc.plan.rig.gpu_ids()
    assert all("g0" not in (k.a, k.b) for k in doc.plan.rig.links)
    assert doc.plan.layout.replicas[0].stages[0].gpus == ("g1", "g2", "g3")
    assert validate_layout(doc.plan.layout, doc.plan.rig) is None


def test_removing_a_whole_stage_merges_its_layers_into_the_neighbour(doc):
    doc.remove_node("n0")
    stages = doc.plan.layout.replicas[0].stages
    assert len(stages) == 1 and stages[0].layers == (0, 80)
    assert stages[0].gpus == ("g4", "g5", "g6", "g7")


def test_last_stage_merges_backwards():
    layout = Layout(
        replicas=(Replica(stages=(Stage(layers=(0, 30), gpus=("a",)), Stage(layers=(30, 80), gpus=("b",)))),)
    )
    merged = remove_gpus_from_layout(layout, {"b"})
    assert merged.replicas[0].stages == (Stage(layers=(0, 80), gpus=("a",)),)
    assert remove_gpus_from_layout(layout, {"a", "b"}) is None


def test_emptied_rig_keeps_stale_layout_and_first_new_gpu_adopts_it(doc):
    doc.remove_node("n0")
    doc.remove_node("n1")
    assert doc.plan.rig.gpu_ids() == []
    node = doc.add_node(name="Fresh", slots=4)
    gpu = doc.add_gpu(node, "h100-sxm")
    assert doc.plan.layout.replicas[0].stages == (Stage(layers=(0, 80), gpus=(gpu,)),)


def test_move_gpu_to_free_slot_and_swap_with_occupied(doc):
    doc.move_gpu("g0", "n1", 3)
    assert doc.gpu("g0")[0].id == "n1" and doc.gpu("g0")[1].slot == 3
    assert doc.gpu("g7")[0].id == "n0" and doc.gpu("g7")[1].slot == 0  # swapped into g0's place
    doc.move_gpu("g1", "n0", 0)
    assert doc.gpu("g1")[1].slot == 0 and doc.gpu("g7")[1].slot == 1


def test_links_add_refuse_duplicates_change_kind_remove(doc):
    link = doc.add_link("nvlink4", "g2", "g3")
    with pytest.raises(PlanError, match="already"):
        doc.add_link("nvlink4", "g3", "g2")
    with pytest.raises(PlanError, match="two different"):
        doc.add_link("nvlink4", "g3", "g3")
    doc.set_link_kind(link, "pcie4-x16-switch")
    assert doc.link(link).kind == "pcie4-x16-switch"
    doc.remove_link(link)
    with pytest.raises(PlanError):
        doc.link(link)


def test_node_props_move_and_validation(doc):
    doc.set_node_props("n0", name="Left", nic="ib-ndr", nics=8)
    node = doc.node("n0")
    assert (node.name, node.nic, node.nics) == ("Left", "ib-ndr", 8)
    doc.move_node("n0", 10, 20)
    assert (doc.node("n0").x, doc.node("n0").y) == (10.0, 20.0)
    with pytest.raises(PlanError, match="nics"):
        doc.set_node_props("n0", nics=0)
    with pytest.raises(PlanError, match="beyond"):
        doc.set_node_props("n0", slots=2)
    with pytest.raises(PlanError, match="no property"):
        doc.set_node_props("n0", colour="red")


def test_template_node_gets_gpus_and_pair_links(doc):
    template = NodeTemplate(
        id="4x-bridge",
        name="4-GPU bridged",
        gpu="a100-pcie",
        slots=4,
        pair_links="nvlink3-bridge",
        host_link="pcie4-x16-cpu",
    )
    node_id = doc.add_node_from_template(template, 100, 200)
    node = doc.node(node_id)
    assert [g.slot for g in node.gpus] == [0, 1, 2, 3] and node.template == "4x-bridge"
    pairs = [(k.a, k.b) for k in doc.plan.rig.links if k.kind == "nvlink3-bridge"]
    assert pairs == [(node.gpus[0].id, node.gpus[1].id), (node.gpus[2].id, node.gpus[3].id)]


def test_plan_settings(doc):
    doc.set_precisions(weights="fp8")
    doc.set_precisions(kv_cache="fp8")
    doc.set_engine_settings(max_num_seqs=64)
    doc.set_workload(concurrency=32, input_tokens=2000)
    doc.set_plan_name("Renamed")
    plan = doc.plan
    assert (plan.weights, plan.kv_cache, plan.engine.max_num_seqs) == ("fp8", "fp8", 64)
    assert (plan.workload.concurrency, plan.workload.input_tokens, plan.name) == (32, 2000, "Renamed")
    with pytest.raises(PlanError):
        doc.set_workload(concurrency=0)
    with pytest.raises(PlanError):
        doc.set_engine_settings(gpu_memory_utilization=1.5)


def test_set_model_rescales_layers(doc):
    doc.set_model("meta-llama/Llama-3.1-8B-Instruct", num_layers=32)
    stages = doc.plan.layout.replicas[0].stages
    assert [s.layers for s in stages] == [(0, 16), (16, 32)]


def test_rescale_keeps_at_least_one_layer_per_stage():
    stages = tuple(Stage(layers=(i * 10, i * 10 + 10), gpus=(f"g{i}",)) for i in range(4))
    layout = rescale_layout(Layout(replicas=(Replica(stages=stages),)), 5)
    bounds = [s.layers for s in layout.replicas[0].stages]
    assert bounds[0][0] == 0 and bounds[-1][1] == 5
    assert all(b > a for a, b in bounds)


def test_set_layout_is_validated(doc):
    bad = Layout(replicas=(Replica(stages=(Stage(layers=(0, 80), gpus=("g0", "g99")),)),))
    with pytest.raises(PlanError, match="g99"):
        doc.set_layout(bad)
    good = Layout(replicas=(Replica(stages=(Stage(layers=(0, 80), gpus=("g0", "g1")),)),))
    doc.set_layout(good)
    assert doc.plan.layout == good


def test_replace_plan_and_unsubscribe(doc):
    seen = []
    unsubscribe = doc.subscribe(seen.append)
    before = doc.plan
    doc.add_node()
    assert doc.replace_plan(before) != before
    unsubscribe()
    doc.add_node()
    assert len(seen) == 2 and seen[1] == Change("plan")


def test_draft_shares_id_counters(doc):
    draft = doc.draft()
    first = draft.add_gpu("n0", "l40s")
    assert doc.add_gpu("n0", "l40s") != first
    assert doc.dump() != make_rig_plan().model_dump(mode="json")
    assert draft.plan.rig.gpu_ids() != doc.plan.rig.gpu_ids()  # the draft never touched the document
