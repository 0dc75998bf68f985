"""The layout edits behind the panel's gestures (core.layout_ops): give layers to a stage, form a TP
group, split a group into stages."""

from __future__ import annotations

import pytest

from gpuplanner.core import layout_ops
from gpuplanner.core.errors import PlanError
from gpuplanner.core.plan import Layout, Replica, Stage


def layout_of(*stages: tuple[tuple[int, int], tuple[str, ...]]) -> Layout:
    return Layout(replicas=(Replica(stages=tuple(Stage(layers=r, gpus=g) for r, g in stages)),))


def test_assign_range_to_a_neighbouring_stage_moves_the_boundary():
    layout = layout_of(((0, 40), ("a",)), ((40, 80), ("b",)))
    moved = layout_ops.assign_range(layout, 0, 30, 40, "b")
    assert [s.layers for s in moved.replicas[0].stages] == [(0, 30), (30, 80)]


def test_assign_range_to_an_unused_gpu_cuts_a_new_stage_from_the_end():
    layout = layout_of(((0, 40), ("a",)), ((40, 80), ("b",)))
    moved = layout_ops.assign_range(layout, 0, 30, 40, "c")
    assert [(s.layers, s.gpus) for s in moved.replicas[0].stages] == [
        ((0, 30), ("a",)), ((30, 40), ("c",)), ((40, 80), ("b",))
    ]  # fmt: skip
    with pytest.raises(PlanError, match="start or the end"):
        layout_ops.assign_range(layout, 0, 10, 20, "c")
    with pytest.raises(PlanError, match="without layers"):
        layout_ops.assign_range(layout, 0, 0, 80, "b")


def test_make_tp_group_merges_stages_and_a_new_group_of_unused_gpus_is_a_replica():
    layout = layout_of(((0, 40), ("a",)), ((40, 80), ("b",)))
    merged = layout_ops.make_tp_group(layout, ["a", "b"])
    assert [(s.layers, s.gpus) for s in merged.replicas[0].stages] == [((0, 80), ("a", "b"))]
    replica = layout_ops.make_tp_group(layout, ["c", "d"])
    assert replica.dp == 2 and replica.replicas[1].stages[0].gpus == ("c", "d")
    with pytest.raises(PlanError, match="two or more"):
        layout_ops.make_tp_group(layout, ["a"])


def test_split_into_stages_gives_each_gpu_an_even_share():
    layout = layout_of(((0, 80), ("a", "b", "c", "d")))
    split = layout_ops.split_into_stages(layout, "b")
    assert [(s.layers, s.gpus) for s in split.replicas[0].stages] == [
        ((0, 20), ("a",)), ((20, 40), ("b",)), ((40, 60), ("c",)), ((60, 80), ("d",))
    ]  # fmt: skip
    with pytest.raises(PlanError, match="of its own"):
        layout_ops.split_into_stages(split, "a")
