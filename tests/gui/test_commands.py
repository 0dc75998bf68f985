"""Every undo command without a view: redo, undo (dump equals the one before), redo again."""

from __future__ import annotations

import pytest
from conftest import make_rig_plan
from PySide6.QtGui import QUndoStack

from gpuplanner.core.errors import PlanError
from gpuplanner.core.plan import Layout, Replica, Stage
from gpuplanner.core.specs import NodeTemplate
from gpuplanner.document.document import PlanDocument
from gpuplanner.gui import commands as cmd

TEMPLATE = NodeTemplate(
    id="hgx-4",
    name="4-GPU board",
    gpu="a100-sxm",
    slots=4,
    pair_links="nvlink3",
    host_link="pcie4-x16-switch",
)

CASES = {
    "add_node": lambda d: cmd.add_node_command(d, 50, 60, name="Box", slots=4),
    "add_template": lambda d: cmd.add_template_command(d, TEMPLATE, 0, 500),
    "add_gpu_in_new_node": lambda d: cmd.add_gpu_in_new_node_command(d, "l40s", 10, 900),
    "move_node": lambda d: cmd.move_node_command(d, "n1", 700, 40),
    "set_node_props": lambda d: cmd.set_node_props_command(d, "n0", nic="ib-ndr", nics=4, name="Left"),
    "set_fabric": lambda d: cmd.set_fabric_command(d, "roce-400"),
    "add_gpu": lambda d: cmd.add_gpu_command(d, "n0", "h100-sxm", 6),
    "move_gpu": lambda d: cmd.move_gpu_command(d, "g0", "n1", 5),
    "swap_gpu": lambda d: cmd.move_gpu_command(d, "g0", "n0", 3),
    "set_gpu_model": lambda d: cmd.set_gpu_model_command(d, "g2", "h200-sxm"),
    "add_link": lambda d: cmd.add_link_command(d, "nvlink4", "g2", "g3"),
    "set_link_kind": lambda d: cmd.set_link_kind_command(d, "l0", "pcie5-x16-switch"),
    "delete_link": lambda d: cmd.delete_command(d, links=["l1"]),
    "delete_gpu": lambda d: cmd.delete_command(d, gpus=["g0"]),
    "delete_node": lambda d: cmd.delete_command(d, nodes=["n0"]),
    "delete_mixed": lambda d: cmd.delete_command(d, nodes=["n1"], gpus=["g1", "g5"], links=["l0"]),
    "rename": lambda d: cmd.set_plan_name_command(d, "New name"),
    "set_model": lambda d: cmd.set_model_command(d, "meta-llama/Llama-3.1-8B-Instruct", 32),
    "weights": lambda d: cmd.set_precisions_command(d, weights="fp8"),
    "kv_cache": lambda d: cmd.set_precisions_command(d, kv_cache="fp8"),
    "engine_field": lambda d: cmd.set_engine_field_command(d, "max_num_seqs", 128),
    "workload_field": lambda d: cmd.set_workload_field_command(d, "concurrency", 16),
    "layout": lambda d: cmd.set_layout_command(
        d, Layout(replicas=(Replica(stages=(Stage(layers=(0, 80), gpus=("g0", "g1", "g2", "g3")),)),))
    ),
    "edit": lambda d: cmd.edit_command(d, "Two things", lambda x: (x.add_node(), x.set_plan_name("Both"))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_command_redo_undo_redo(name):
    doc = PlanDocument(make_rig_plan())
    before = doc.dump()
    stack = QUndoStack()
    command = CASES[name](doc)
    assert doc.dump() == before  # building a command changes nothing
    stack.push(command)
    after = doc.dump()
    assert after != before
    stack.undo()
    assert doc.dump() == before
    stack.redo()
    assert doc.dump() == after
    assert doc.plan == doc.plan.model_validate(after)


def test_delete_gpu_cascades_links_as_children():
    doc = PlanDocument(make_rig_plan())
    command = cmd.delete_command(doc, gpus=["g0"])
    assert [c.text() for c in command.children] == ["Remove link", "Remove GPU"]


def test_bad_edit_raises_before_push_and_changes_nothing():
    doc = PlanDocument(make_rig_plan())
    before = doc.dump()
    with pytest.raises(PlanError):
        cmd.add_gpu_command(doc, "n0", "h100-sxm", 0)
    assert doc.dump() == before


def test_spin_box_edits_merge_into_one_step():
    doc = PlanDocument(make_rig_plan())
    stack = QUndoStack()
    for value in (2, 3, 4, 5):
        stack.push(cmd.set_workload_field_command(doc, "concurrency", value))
    stack.push(cmd.set_workload_field_command(doc, "input_tokens", 99))
    assert stack.count() == 2
    assert doc.plan.workload.concurrency == 5
    stack.undo()
    stack.undo()
    assert doc.plan.workload.concurrency == 1


def test_merge_back_to_start_leaves_no_step():
    doc = PlanDocument(make_rig_plan())
    stack = QUndoStack()
    stack.push(cmd.set_engine_field_command(doc, "max_num_seqs", 7))
    stack.push(cmd.set_engine_field_command(doc, "max_num_seqs", None))
    assert stack.count() == 0


def test_command_result_is_the_new_id():
    doc = PlanDocument(make_rig_plan())
    stack = QUndoStack()
    command = cmd.add_gpu_command(doc, "n0", "h100-sxm")
    stack.push(command)
    assert command.result in doc.plan.rig.gpu_ids()


def test_edits_of_one_field_far_apart_in_time_stay_separate(monkeypatch):
    doc = PlanDocument(make_rig_plan())
    stack = QUndoStack()
    clock = iter([100.0, 101.0, 110.0])
    monkeypatch.setattr(cmd.time, "monotonic", lambda: next(clock))
    for value in (2, 3, 4):
        stack.push(cmd.set_workload_field_command(doc, "concurrency", value))
    assert stack.count() == 2  # 2 and 3 merged; 4 came later
