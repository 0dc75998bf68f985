"""Cluster-sized plans in the window: the overlap sweep agrees with comparing every pair, the layer
map of many replicas scrolls instead of stretching the window, a 1,024-GPU plan opens in one pass and
its charts draw identical GPUs as one bar."""

from __future__ import annotations

import random
import time

import pytest
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


def cluster_plan(gpus: int):
    """The benchmark's rig (benchmarks/large_rigs.py): Llama 3.1 405B FP8, TP 8 × PP 2, HGX H100 servers."""
    return quick_plan(
        model="meta-llama/Llama-3.1-405B-Instruct", gpu="h100-sxm", gpus_per_node=8, nodes=gpus // 8, tp=8, pp=2,
        dp=gpus // 16, weights="fp8", concurrency=gpus,
    )  # fmt: skip


def test_a_1024_gpu_plan_opens_in_one_pass_and_an_edit_repaints_quickly(qtbot, no_dialogs, tmp_path, monkeypatch):
    """Open to painted: the window is built on the file's plan (the sample plan is never made), the plan
    is evaluated once, and the canvas starts zoomed out (servers draw their cards). The time bounds are
    generous for slow, shared machines (a quiet one takes about 0.4 s and 0.1 s; the issue's target is
    2 s and 150 ms): they catch a return of the old three evaluations and per-card painting at 4x."""
    from gpuplanner.gui import commands as cmd
    from gpuplanner.gui import create_main_window, files

    path = save_plan(cluster_plan(1024), tmp_path / "rig-1024.gpuplan")

    def no_sample(catalog):
        raise AssertionError("the sample plan was built although a file was given")

    monkeypatch.setattr(files, "fallback_plan", no_sample)
    started = time.perf_counter()
    window = create_main_window(path)
    qtbot.addWidget(window)
    window.resize(1440, 900)
    window.show()
    qtbot.waitExposed(window)
    if window.evaluator.pending():
        window.evaluator.run_now()  # the window's own first evaluation, deferred until it is shown
    window.repaint()
    opened = time.perf_counter() - started
    assert window.evaluator.evaluations == 1
    assert window.latest_report is not None and len(window.latest_report.gpus) == 1024
    assert window.path == path and not window.is_dirty() and window.windowTitle().startswith("rig-1024")
    assert window.scene.zoomed_out and len(window.scene.zoomed_out_pixmaps) <= 4
    assert opened < 4.0, f"a 1,024-GPU plan took {opened:.2f} s from open to painted"

    qtbot.wait(60)  # a pause: the next edit is evaluated at once, inside the edit
    started = time.perf_counter()
    window.push(lambda: cmd.set_workload_field_command(window.document, "concurrency", 2048))
    if window.evaluator.pending():
        window.evaluator.run_now()
    window.repaint()
    edited = time.perf_counter() - started
    assert window.evaluator.evaluations == 2 and window.document.plan.workload.concurrency == 2048
    assert edited < 1.0, f"an edit of a 1,024-GPU plan took {edited:.2f} s to repaint"


def test_charts_of_a_cluster_draw_identical_gpus_as_one_bar(qtbot):
    """1,024 GPUs, TP 8 × PP 2 in 64 identical replicas: the GPUs of one pipeline stage hold the same
    layers and the same KV cache, so the memory chart shows one bar per stage (512 GPUs each), and the
    step chart no more bars than that; every GPU is in exactly one bar, and reads its bar's figures."""
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.core.specs import GIB
    from gpuplanner.gui.panel.memory import MemoryChart
    from gpuplanner.gui.panel.steptime import StepTimeChart

    report = evaluate(cluster_plan(1024))
    memory, step = MemoryChart(), StepTimeChart()
    qtbot.addWidget(memory)
    qtbot.addWidget(step)
    memory.set_report(report)
    step.set_report(report)

    by_stage: dict[int, set[str]] = {}
    for g in report.gpus:
        by_stage.setdefault(g.stage, set()).add(g.id)
    assert sorted(map(set, memory.members), key=min) == sorted(by_stage.values(), key=min)
    assert [len(m) for m in memory.members] == [512, 512]
    for group in memory.members:
        rep = next(g for g in report.gpus if g.id == group[0])
        last = group[-1]
        assert memory.bar_gib(last, "weights") == pytest.approx(rep.memory_bytes.weights / GIB)
        assert "512 identical GPUs" in memory.tooltip_for(last)
    assert [tick.split(" · ")[0] for tick in memory.bars.labels] == [f"{m[0]} ×512" for m in memory.members]

    chosen = memory.members[1][7]
    memory.set_selected({chosen})
    assert memory.selected_ids() == {chosen}
    assert list(memory._selection.opts["x"]) == [1.0]  # the outline is on that GPU's bar

    assert len(step.splits) <= 2 * 8 and sorted(m for g in step.members for m in g) == sorted(
        g.id for g in report.gpus
    )
    assert step.total_ms(report.gpus[-1].id) > 0


def test_a_small_rig_keeps_one_bar_per_gpu(qtbot):
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.gui.panel.memory import MemoryChart

    report = evaluate(quick_plan(model="llama-3.1-70b", gpu="h100-sxm", gpus_per_node=8, tp=8))
    memory = MemoryChart()
    qtbot.addWidget(memory)
    memory.set_report(report)
    assert memory.gpu_ids == [g.id for g in report.gpus] and all(len(m) == 1 for m in memory.members)
    assert not any("×" in tick for tick in memory.bars.labels)
