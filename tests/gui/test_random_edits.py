"""A few hundred random edits with undo and redo mixed in: never raises, stays valid, undoes exactly."""

from __future__ import annotations

import contextlib
import random

import pytest
from conftest import make_rig_plan
from PySide6.QtGui import QUndoStack

from gpuplanner.core.errors import PlannerError
from gpuplanner.core.layout_ops import validate_layout
from gpuplanner.document.document import PlanDocument
from gpuplanner.gui import commands as cmd

GPUS = ["h100-sxm", "l40s", "rtx-4090", "mi300x"]
LINKS = ["nvlink4", "pcie5-x16-switch", "nvlink3-bridge"]


def random_command(doc: PlanDocument, rng: random.Random):
    plan = doc.plan
    nodes = [n.id for n in plan.rig.nodes]
    gpus = plan.rig.gpu_ids()
    links = [k.id for k in plan.rig.links]
    choice = rng.randrange(12)
    if choice == 0 or not nodes:
        return cmd.add_node_command(
            doc, rng.uniform(0, 2000), rng.uniform(0, 1000), slots=rng.choice([2, 4, 8])
        )
    if choice == 1:
        return cmd.add_gpu_command(doc, rng.choice(nodes), rng.choice(GPUS))
    if choice == 2:
        return cmd.add_gpu_in_new_node_command(doc, rng.choice(GPUS), rng.uniform(0, 2000), 1200)
    if choice == 3 and gpus:
        node = doc.node(rng.choice(nodes))
        return cmd.move_gpu_command(doc, rng.choice(gpus), node.id, rng.randrange(node.slots))
    if choice == 4 and len(gpus) > 1:
        a, b = rng.sample(gpus, 2)
        return cmd.add_link_command(doc, rng.choice(LINKS), a, b)
    if choice == 5 and links:
        return cmd.set_link_kind_command(doc, rng.choice(links), rng.choice(LINKS))
    if choice == 6:
        picks = {
            "nodes": rng.sample(nodes, min(len(nodes), rng.randrange(2))),
            "gpus": rng.sample(gpus, min(len(gpus), rng.randrange(3))),
            "links": rng.sample(links, min(len(links), rng.randrange(2))),
        }
        return cmd.delete_command(doc, **picks)
    if choice == 7:
        return cmd.move_node_command(doc, rng.choice(nodes), rng.uniform(0, 2000), rng.uniform(0, 1000))
    if choice == 8 and gpus:
        return cmd.set_gpu_model_command(doc, rng.choice(gpus), rng.choice(GPUS))
    if choice == 9:
        return cmd.set_node_props_command(
            doc, rng.choice(nodes), nics=rng.randrange(0, 9), name=f"S{rng.randrange(99)}"
        )
    if choice == 10:
        return cmd.set_workload_field_command(doc, "concurrency", rng.randrange(0, 300))
    return cmd.set_engine_field_command(doc, "gpu_memory_utilization", rng.choice([0.5, 0.9, 1.2, None]))


def assert_valid(doc: PlanDocument) -> None:
    plan = doc.plan
    ids = [n.id for n in plan.rig.nodes] + plan.rig.gpu_ids() + [k.id for k in plan.rig.links]
    assert len(ids) == len(set(ids))
    gpu_ids = set(plan.rig.gpu_ids())
    assert all(k.a in gpu_ids and k.b in gpu_ids for k in plan.rig.links)
    for node in plan.rig.nodes:
        slots = [g.slot for g in node.gpus]
        assert len(slots) == len(set(slots)) and all(0 <= s < node.slots for s in slots)
    assert validate_layout(plan.layout, plan.rig) is None
    assert type(plan).model_validate(doc.dump()) == plan


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_edits_undo_to_start(seed):
    rng = random.Random(seed)
    doc = PlanDocument(make_rig_plan())
    start = doc.plan
    stack = QUndoStack()
    refused = 0
    for _ in range(300):
        roll = rng.random()
        if roll < 0.15:
            stack.undo()
        elif roll < 0.25:
            stack.redo()
        else:
            try:
                stack.push(random_command(doc, rng))
            except PlannerError:
                refused += 1  # refused edits are fine; they must just never half-happen
        assert_valid(doc)
    assert refused < 150
    assert stack.count() > 50
    while stack.canUndo():
        stack.undo()
    assert doc.plan == start
    while stack.canRedo():
        stack.redo()
        assert_valid(doc)


def test_random_edits_keep_the_canvas_in_step_with_the_document(rig_window):
    """The same random edits on a live window: after each one (and each undo/redo) the scene shows
    exactly the document's servers, cards and links, each card inside its server."""
    rng = random.Random(7)
    doc, stack, scene = rig_window.document, rig_window.undo_stack, rig_window.scene
    for _ in range(150):
        roll = rng.random()
        if roll < 0.2:
            stack.undo()
        elif roll < 0.3:
            stack.redo()
        else:
            with contextlib.suppress(PlannerError):
                stack.push(random_command(doc, rng))
        plan = doc.plan
        assert set(scene.nodes) == {n.id for n in plan.rig.nodes}
        assert set(scene.gpus) == set(plan.rig.gpu_ids())
        assert set(scene.links) == {k.id for k in plan.rig.links}
        for node, gpu in plan.rig.iter_gpus():
            assert scene.gpus[gpu.id].parentItem() is scene.nodes[node.id]
    rig_window.evaluate_now()
    assert rig_window.verdict_label.text()
