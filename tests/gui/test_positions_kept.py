"""Server positions are the user's: a sample plan, or a quick plan saved and reopened, opens unmodified
with its servers where the file puts them (issue 14: the 2× DGX sample opened modified, its servers moved)."""

from __future__ import annotations

import pytest
from export.conftest import sample_plan_paths

from gpuplanner.core.quick import quick_plan
from gpuplanner.document.planfile import load_plan, save_plan
from gpuplanner.drawing import geometry as geo


@pytest.mark.parametrize("path", sample_plan_paths(), ids=lambda p: p.stem)
def test_samples_open_unmodified_with_their_positions(open_window, path):
    window = open_window(path)
    assert not window.is_dirty(), path.name
    saved = [(n.x, n.y) for n in load_plan(path).rig.nodes]
    assert [(n.x, n.y) for n in window.document.plan.rig.nodes] == saved


def test_quick_servers_sit_side_by_side_without_overlap(open_window, tmp_path):
    for slots in (2, 4, 8):
        plan = quick_plan(
            model="meta-llama/Llama-3.1-8B-Instruct", gpu="h100-sxm", gpus_per_node=slots, nodes=3
        )
        assert not geo.overlapping([(n.x, n.y, n.slots) for n in plan.rig.nodes]), slots
    path = tmp_path / "quick.gpuplan"
    save_plan(plan, path)
    window = open_window(path)
    assert not window.is_dirty()
