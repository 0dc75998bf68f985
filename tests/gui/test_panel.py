"""The live panel in the window, driven as a person would: drops on the canvas, a boundary dragged on the
layer map, a fix button pressed, undo. Assertions read what the charts draw.
"""

from __future__ import annotations

import pytest
from conftest import make_rig_plan
from PySide6.QtCore import QPoint, QPointF, Qt
from rackhelpers import drop_at, palette_mime, slot_centre

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.plan import Replica
from gpuplanner.gui import commands as cmd

GIB = 2**30

# Llama 3.1 70B, from its config.json: hidden_size 8192, intermediate_size 28672, 64 attention heads,
# 8 KV heads, head_dim 128, gated MLP (gate, up, down), two RMSNorms per layer.
HIDDEN, INTER, HEADS, KV_HEADS, HEAD_DIM = 8192, 28672, 64, 8, 128
ATTENTION = 2 * HIDDEN * HEADS * HEAD_DIM + 2 * HIDDEN * KV_HEADS * HEAD_DIM  # q, o + k, v
MLP = 3 * HIDDEN * INTER
NORMS = 2 * HIDDEN


def layer_bytes_per_rank(tp: int, bytes_per_weight: float = 2.0) -> float:
    """One layer's weights on one of ``tp`` ranks in BF16: matrices split by TP, norms replicated."""
    return (ATTENTION + MLP) / tp * bytes_per_weight + NORMS * 2


@pytest.fixture
def rig_window(open_window, tmp_path):
    """The window on the hand-made plan (two servers of four H100, TP 4 × PP 2, free slots) with an
    InfiniBand fabric between the servers, so that the plan evaluates."""
    from gpuplanner.document.planfile import save_plan

    plan = make_rig_plan()
    path = tmp_path / "panel.gpuplan"
    save_plan(plan.model_copy(update={"rig": plan.rig.model_copy(update={"fabric": "ib-ndr"})}), path)
    return open_window(path)


@pytest.fixture
def panel(rig_window):
    return rig_window.panel


def wait_report(qtbot, window):
    """Let the debounced evaluation run and the panel follow it."""
    window.evaluate_now()
    qtbot.wait(1)


def test_panel_is_docked_with_its_charts_named(rig_window, panel):
    for name in ("memoryChart", "throughputChart", "stepTimeChart", "layerMap", "verdictBanner"):
        assert rig_window.findChild(object, name) is not None, name
    assert panel.memory.gpu_ids == [f"g{i}" for i in range(8)]
    assert panel.verdict.state in ("fits", "warn")


def test_dropping_a_gpu_adds_a_bar_to_the_memory_chart(qtbot, rig_window, panel):
    before = list(panel.memory.gpu_ids)
    drop_at(rig_window, slot_centre(rig_window, "n0", 6), palette_mime(rig_window, "gpu", "h200-sxm"))
    wait_report(qtbot, rig_window)
    added = [g for g in panel.memory.gpu_ids if g not in before]
    assert len(added) == 1
    h200 = default_catalog().gpu("h200-sxm")
    assert panel.memory.bar_gib(added[0], "unused") == pytest.approx(h200.memory_gib_usable)
    assert "not in the layout" in panel.memory.tooltip_for(added[0])
    rig_window.undo_stack.undo()
    wait_report(qtbot, rig_window)
    assert panel.memory.gpu_ids == before


def drag_boundary(qtbot, layer_map, replica: int, boundary: int, to_layer: int, steps: int = 12) -> None:
    y = round(layer_map.strip_y(replica))
    start = layer_map.boundary_x(replica, boundary)
    end = layer_map.edges()[to_layer + 1]
    qtbot.mousePress(layer_map, Qt.MouseButton.LeftButton, pos=QPoint(round(start), y))
    for i in range(1, steps + 1):
        x = start + (end - start) * i / steps
        qtbot.mouseMove(layer_map, QPoint(round(x), y))
        qtbot.wait(2)
    qtbot.mouseRelease(layer_map, Qt.MouseButton.LeftButton, pos=QPoint(round(end), y))


def test_moving_a_stage_boundary_moves_the_layers_weights_between_the_bars(qtbot, rig_window, panel):
    rig_window.resize(1600, 1000)
    qtbot.wait(5)
    memory = panel.memory
    before = {g: memory.bar_gib(g, "weights") for g in ("g0", "g4")}
    commands = rig_window.undo_stack.count()
    drag_boundary(qtbot, panel.layer_map, 0, 0, 42)  # stage 1 (g0-g3, TP 4) takes layers 40 and 41
    assert rig_window.undo_stack.count() == commands + 1  # one drag, one undo step
    assert rig_window.document.plan.layout.replicas[0].stages[0].layers == (0, 42)
    wait_report(qtbot, rig_window)
    moved = 2 * layer_bytes_per_rank(tp=4) / GIB
    assert memory.bar_gib("g0", "weights") - before["g0"] == pytest.approx(moved, abs=1e-6)
    assert before["g4"] - memory.bar_gib("g4", "weights") == pytest.approx(moved, abs=1e-6)
    rig_window.undo_stack.undo()
    wait_report(qtbot, rig_window)
    assert memory.bar_gib("g0", "weights") == pytest.approx(before["g0"])


def test_a_drag_previews_at_most_once_per_frame(qtbot, rig_window, panel):
    controller = rig_window.panel_controller
    controller.frame.setInterval(10**7)  # the frame clock ticks when the test says, not on its own
    rig_window.resize(1600, 1000)
    qtbot.wait(5)
    evaluations = controller.preview_evaluations
    moves = []
    panel.layer_map.boundary_preview.connect(lambda *a: moves.append(a))
    y = round(panel.layer_map.strip_y(0))
    start = panel.layer_map.boundary_x(0, 0)
    qtbot.mousePress(panel.layer_map, Qt.MouseButton.LeftButton, pos=QPoint(round(start), y))
    for layer in range(41, 60):  # 19 moves within one frame
        qtbot.mouseMove(panel.layer_map, QPoint(round(panel.layer_map.edges()[layer + 1]), y))
    assert len(moves) == 19
    assert controller.preview_evaluations == evaluations and controller.frame.isActive()
    controller.preview_now()  # the frame's tick
    controller.frame.stop()
    assert controller.preview_evaluations - evaluations == 1
    assert panel.previewing and panel.memory.report.gpus[0].layers == (0, 59)
    qtbot.keyClick(panel.layer_map, Qt.Key.Key_Escape)
    qtbot.mouseRelease(panel.layer_map, Qt.MouseButton.LeftButton, pos=QPoint(round(start), y))
    assert not panel.previewing
    assert rig_window.document.plan.layout.replicas[0].stages[0].layers == (0, 40)


def test_fix_button_makes_an_over_budget_plan_fit_and_undo_restores_the_charts(qtbot, rig_window, panel):
    doc = rig_window.document
    stages = doc.plan.layout.replicas[0].stages
    # 60 of 80 layers (about 100 GiB in BF16) on g0 alone: an over-budget plan
    first = stages[0].model_copy(update={"layers": (0, 60), "gpus": ("g0",)})
    second = stages[1].model_copy(update={"layers": (60, 80)})
    uneven = doc.plan.layout.model_copy(update={"replicas": (Replica(stages=(first, second)),)})
    rig_window.push(lambda: cmd.set_layout_command(doc, uneven))
    wait_report(qtbot, rig_window)
    assert panel.verdict.state == "fails"
    assert panel.memory.bar_gib("g0", "overflow") > 0  # red beyond the capacity line
    buttons = panel.verdict.fix_buttons()
    assert buttons, "an over-budget plan offers a fix button"
    overflow_before = panel.memory.bar_gib("g0", "overflow")
    count = rig_window.undo_stack.count()
    qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
    assert rig_window.undo_stack.count() == count + 1
    wait_report(qtbot, rig_window)
    assert panel.report.fits and panel.verdict.state in ("fits", "warn")
    assert panel.memory.bar_gib("g0", "overflow") == 0
    rig_window.undo_stack.undo()
    wait_report(qtbot, rig_window)
    assert panel.verdict.state == "fails"
    assert panel.memory.bar_gib("g0", "overflow") == pytest.approx(overflow_before)


def test_click_on_a_bar_selects_the_gpu_and_canvas_selection_outlines_the_bar(qtbot, rig_window, panel):
    memory = panel.memory
    plot = memory.plot
    vb = plot.getPlotItem().getViewBox()
    top = memory.bars.top(2)
    scene_point = vb.mapViewToScene(QPointF(2, top / 2))
    view_point = plot.mapFromScene(scene_point)
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=view_point)
    assert rig_window.scene.selection().gpus == ("g2",)
    assert memory.selected_ids() == {"g2"}
    from gpuplanner.drawing.scene import Selection

    rig_window.select(Selection(gpus=("g5", "g6")))
    assert memory.selected_ids() == {"g5", "g6"}
    assert panel.make_tp_button.isEnabled()


def test_make_tp_group_and_split_from_the_canvas_selection_are_undoable(qtbot, rig_window, panel):
    from gpuplanner.drawing.scene import Selection

    before = rig_window.document.plan
    rig_window.select(Selection(gpus=("g4", "g5")))
    qtbot.mouseClick(panel.make_tp_button, Qt.MouseButton.LeftButton)
    stages = rig_window.document.plan.layout.replicas[0].stages
    assert stages[1].gpus == ("g4", "g5")
    wait_report(qtbot, rig_window)
    assert "g6" in panel.memory.gpu_ids and panel.memory.bar_gib("g6", "unused") > 0
    rig_window.select(Selection(gpus=("g4",)))
    qtbot.mouseClick(panel.split_button, Qt.MouseButton.LeftButton)
    stages = rig_window.document.plan.layout.replicas[0].stages
    assert [s.gpus for s in stages] == [("g0", "g1", "g2", "g3"), ("g4",), ("g5",)]
    rig_window.undo_stack.undo()
    rig_window.undo_stack.undo()
    assert rig_window.document.plan == before


def test_tp_group_the_model_cannot_use_is_refused_with_a_reason(qtbot, rig_window, panel):
    from gpuplanner.drawing.scene import Selection

    before = rig_window.document.plan
    rig_window.select(Selection(gpus=("g4", "g5", "g6")))  # TP 3 does not divide 64 heads
    qtbot.mouseClick(panel.make_tp_button, Qt.MouseButton.LeftButton)
    assert rig_window.document.plan == before
    assert "does not divide" in rig_window.statusBar().currentMessage()


def test_auto_balance_is_one_undo_step(qtbot, rig_window, panel):
    before = rig_window.document.plan
    panel.objective.setCurrentIndex(panel.objective.findData("even"))
    qtbot.mouseClick(panel.balance_button, Qt.MouseButton.LeftButton)
    assert rig_window.document.plan == before  # already even: nothing to push
    count = rig_window.undo_stack.count()
    drag_boundary(qtbot, panel.layer_map, 0, 0, 30)
    qtbot.mouseClick(panel.balance_button, Qt.MouseButton.LeftButton)
    assert rig_window.undo_stack.count() == count + 2
    assert rig_window.document.plan.layout == before.layout


def test_layer_range_dropped_on_a_gpu_goes_to_its_stage(qtbot, rig_window, panel):
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from gpuplanner.gui.mime import encode_layer_range

    view = rig_window.view
    target = rig_window.scene.gpus["g5"].sceneBoundingRect().center()
    point = view.mapFromScene(target)
    data = encode_layer_range(0, 36, 40)
    args = (Qt.DropAction.MoveAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    for event in (QDragEnterEvent(point, *args), QDragMoveEvent(point, *args)):
        QApplication.sendEvent(view.viewport(), event)
        assert event.isAccepted()
    QApplication.sendEvent(view.viewport(), QDropEvent(QPointF(point), *args))
    stages = rig_window.document.plan.layout.replicas[0].stages
    assert [s.layers for s in stages] == [(0, 36), (36, 80)]
    rig_window.undo_stack.undo()
    assert [s.layers for s in rig_window.document.plan.layout.replicas[0].stages] == [(0, 40), (40, 80)]


def test_links_on_the_canvas_glow_by_share_of_bandwidth_with_bytes_per_token(qtbot, rig_window, panel):
    from gpuplanner.gui.panel.traffic import traffic_colour, traffic_width

    perf = panel.report.performance
    assert perf is not None and perf.links
    glows = rig_window.panel_controller.traffic.visible()
    assert len(glows) == len(perf.links)
    for glow, traffic in zip(glows, perf.links, strict=True):
        assert f"{traffic.bytes_per_token:,.0f} B" in glow.toolTip()
        assert glow.pen().widthF() == pytest.approx(traffic_width(traffic.share_of_bandwidth))
        assert glow.pen().color() == traffic_colour(traffic.share_of_bandwidth)
    assert traffic_width(0.9) > traffic_width(0.1)
    assert traffic_colour(0.9) != traffic_colour(0.1)


def test_the_window_fits_a_1024_px_screen(main_window):
    """The live panel must not make the window wider than a small laptop screen (1024 x 700)."""
    assert main_window.minimumSizeHint().width() <= 1024


def test_make_tp_group_from_the_canvas_menu_and_split_with_its_shortcut(qtbot, rig_window, panel):
    from gpuplanner.drawing.scene import Selection

    before = rig_window.document.plan
    rig_window.select(Selection(gpus=("g4", "g5")))
    card = rig_window.scene.gpus["g5"]
    menu = rig_window.view.context_menu(rig_window.view.mapFromScene(card.sceneBoundingRect().center()))
    names = [a.objectName() for a in menu.actions()]
    assert {"actionMakeTpGroup", "actionSplitStages"} <= set(names)
    assert set(rig_window.scene.selection().gpus) == {"g4", "g5"}  # right-click on a selected card keeps both
    next(a for a in menu.actions() if a.objectName() == "actionMakeTpGroup").trigger()
    stages = rig_window.document.plan.layout.replicas[0].stages
    assert stages[1].gpus == ("g4", "g5")
    assert rig_window.undo_stack.text(rig_window.undo_stack.index() - 1) == "Make TP group of 2 GPUs"
    # Ctrl+Shift+G: the selected GPU's group becomes one pipeline stage per GPU
    rig_window.select(Selection(gpus=("g4",)))
    rig_window.view.setFocus()
    qtbot.keyClick(
        rig_window.view, "G", Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    stages = rig_window.document.plan.layout.replicas[0].stages
    assert [s.gpus for s in stages] == [("g0", "g1", "g2", "g3"), ("g4",), ("g5",)]
    rig_window.undo_stack.undo()
    rig_window.undo_stack.undo()
    assert rig_window.document.plan == before


def test_the_panel_stacks_its_charts_when_docked_at_the_side(qtbot, rig_window, panel):
    assert panel.charts.orientation() == Qt.Orientation.Horizontal  # under the canvas: side by side
    rig_window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, panel)
    qtbot.waitUntil(lambda: panel.charts.orientation() == Qt.Orientation.Vertical, timeout=2000)
    charts = [panel.memory, panel.throughput, panel.steptime]
    tops = [c.geometry().top() for c in charts]
    assert tops == sorted(tops) and len(set(tops)) == 3  # one above the other
    assert all(c.height() > 0 for c in charts)
    rig_window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, panel)
    qtbot.waitUntil(lambda: panel.charts.orientation() == Qt.Orientation.Horizontal, timeout=2000)
