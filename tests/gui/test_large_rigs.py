"""Cluster-sized plans in the window: the overlap sweep agrees with comparing every pair, and the layer
map of many replicas scrolls instead of stretching the window."""

from __future__ import annotations

import random

from PySide6.QtWidgets import QScrollArea, QWidget

from gpuplanner.core.quick import quick_plan
from gpuplanner.document.planfile import save_plan
from gpuplanner.drawing import geometry as geo


def every_pair(nodes: list[tuple[float, float, int]]) -> bool:
    rects = [geo.node_rect(slots).translated(x, y).adjusted(-8, -8, 8, 8) for x, y, slots in nodes]
    return any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])


def test_the_overlap_sweep_agrees_with_comparing_every_pair():
    rng = random.Random(5)
    for _ in range(2000):
        nodes = [
            (rng.uniform(0, 3000), rng.uniform(0, 2000), rng.choice([1, 2, 4, 8, 72]))
            for _ in range(rng.randint(0, 8))
        ]
        assert geo.overlapping(nodes) == every_pair(nodes), nodes
    tidy = [(x, y, 8) for x, y in geo.arranged([8] * 300)]
    assert not geo.overlapping(tidy)
    assert geo.overlapping([*tidy, (tidy[-1][0] + 10, tidy[-1][1] + 10, 8)])


def test_many_replicas_scroll_in_the_layer_map_and_the_window_keeps_its_height(qtbot, no_dialogs, tmp_path):
    from gpuplanner.gui import create_main_window

    plan = quick_plan(model="llama-3.1-70b", gpu="h100-sxm", gpus_per_node=8, nodes=64, tp=8, dp=64)
    path = save_plan(plan, tmp_path / "64-replicas.gpuplan")
    window = create_main_window(path)
    qtbot.addWidget(window)
    window.resize(1440, 900)
    window.show()
    qtbot.waitExposed(window)
    window.evaluate_now()
    layer_map = window.findChild(QWidget, "layerMap")
    scroll = window.findChild(QScrollArea, "layerMapScroll")
    assert layer_map.data is not None and len(layer_map.data.replicas) == 64
    assert scroll.height() < 300 < layer_map.height()
    assert window.height() <= 900
