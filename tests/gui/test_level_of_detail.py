"""The canvas's level of detail: zoomed in, every card draws itself with its words; zoomed out below
FLAT_SCALE each server draws its cards from one picture shared by servers that look the same, and
selecting, dragging, hit-testing and tooltips work as before. Paper (the PDF) always gets full detail."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.quick import quick_plan
from gpuplanner.drawing.gpu_item import FLAT_SCALE, READABLE_SCALE, GpuItem
from gpuplanner.drawing.labels import Labels
from gpuplanner.drawing.scene import RackScene, Selection
from tests.gui.rackhelpers import click, slot_centre, view_point

NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents


def zoom_to(window, zoom: float) -> None:
    view = window.view
    view.zoom_by(zoom / view.zoom())  # as Ctrl+wheel does: the view tells the scene its new zoom
    assert abs(view.zoom() - zoom) < 1e-6


def count_text_paints(monkeypatch) -> list[str]:
    """Every card text drawn (GpuItem._paint_text is where a card lays out its words)."""
    drawn: list[str] = []
    original = GpuItem._paint_text

    def spy(self, painter, spec):
        drawn.append(self.gpu_id)
        original(self, painter, spec)

    monkeypatch.setattr(GpuItem, "_paint_text", spy)
    return drawn


def render(window) -> QImage:
    return window.view.viewport().grab().toImage()


def in_view(window) -> set[str]:
    seen = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    return {g for g, card in window.scene.gpus.items() if seen.intersects(card.sceneBoundingRect())}


def test_zoomed_in_cards_draw_their_words_zoomed_out_servers_draw_the_cards(rig_window, monkeypatch):
    assert FLAT_SCALE <= READABLE_SCALE  # a flat card never hides words a person could read
    scene, cards = rig_window.scene, list(rig_window.scene.gpus.values())
    drawn = count_text_paints(monkeypatch)
    rig_window.view.reset_zoom()  # 100 %
    rig_window.view.centerOn(scene.gpus["g1"])
    rig_window.view.viewport().repaint()
    assert not scene.zoomed_out and not any(c.flat or c.flags() & NO_CONTENTS for c in cards)
    assert "g1" in drawn and set(drawn) == in_view(rig_window)  # each card in view wrote its words

    rig_window.view.fit_all()  # both servers in a small canvas: well below FLAT_SCALE
    assert rig_window.view.zoom() < FLAT_SCALE
    drawn.clear()
    for card in cards:
        card.update()  # even asked to, a flat card draws nothing of its own
    rig_window.view.viewport().repaint()
    assert in_view(rig_window) == set(scene.gpus)
    assert scene.zoomed_out and all(c.flat and c.flags() & NO_CONTENTS for c in cards)
    assert all(c.fill_bar.flags() & NO_CONTENTS for c in cards)
    assert drawn == []
    # one picture per look: the two servers differ (their stages' memory), no more than two are drawn
    assert 1 <= len(scene.zoomed_out_pixmaps) <= len(scene.nodes)

    rig_window.view.resetTransform()  # however the zoom is set, the next paint follows it
    rig_window.view.centerOn(scene.gpus["g1"])
    drawn.clear()
    rig_window.view.viewport().repaint()
    assert not scene.zoomed_out and not any(c.flat for c in cards)
    assert "g1" in drawn and set(drawn) == in_view(rig_window)


def test_equal_servers_share_one_zoomed_out_picture(qtbot, open_window, tmp_path):
    from gpuplanner.document.planfile import save_plan

    plan = quick_plan(model="llama-3.1-70b", gpu="h100-sxm", gpus_per_node=8, nodes=16, tp=8, dp=16)
    window = open_window(save_plan(plan, tmp_path / "sixteen.gpuplan"))
    window.resize(1440, 900)
    qtbot.wait(20)
    window.view.fit_all()
    assert window.view.zoom() < FLAT_SCALE and window.scene.zoomed_out
    window.view.viewport().repaint()
    # sixteen replicas of one stage each: every server shows the same cards, drawn once
    assert len(window.scene.zoomed_out_pixmaps) == 1


def test_selecting_and_dragging_a_card_while_zoomed_out(rig_window, qtbot):
    scene = rig_window.scene
    zoom_to(rig_window, 0.3)
    card, node = scene.gpus["g1"], scene.nodes["n0"]
    rig_window.view.centerOn(card)
    before = node.zoomed_out_key(node._flat_cards())
    centre = card.sceneBoundingRect().center()
    assert scene.gpu_at(centre) is card  # a flat card is still hit where it is drawn

    click(qtbot, rig_window, centre)
    assert scene.selection().gpus == ("g1",)
    assert node.zoomed_out_key(node._flat_cards()) != before  # its server draws it selected

    area = rig_window.view.mapFromScene(card.sceneBoundingRect()).boundingRect()
    selected = render(rig_window).copy(area)
    click(qtbot, rig_window, QPointF(scene.content_rect().right() + 300, scene.content_rect().top()))
    assert not scene.selection()
    unselected = render(rig_window).copy(area)
    assert unselected != selected  # its server drew it again, unselected
    rig_window.select(Selection(gpus=("g1",)))  # as a click on its bar in the memory chart does
    assert render(rig_window).copy(area) == selected
    rig_window.select(Selection())
    assert render(rig_window).copy(area) == unselected

    # dragging it: it draws itself while it moves (its server would keep it in its old slot), and its
    # pair link (l0, g0-g1) follows it during the drag
    link = scene.links["l0"]
    viewport = rig_window.view.viewport()
    start, end = view_point(rig_window, centre), view_point(rig_window, slot_centre(rig_window, "n0", 6))
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, 7):
        qtbot.mouseMove(viewport, start + (end - start) * (i / 6))
    assert not card.flat and not card.flags() & NO_CONTENTS
    port = link.mapToScene(link.path().currentPosition())
    assert (port - card.port_scene_pos()).manhattanLength() < 1.0
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert rig_window.document.gpu("g1")[1].slot == 6
    assert card.flat and card.parentItem() is node


def test_a_dragged_server_takes_the_fabric_line_along(rig_window, qtbot):
    scene = rig_window.scene
    zoom_to(rig_window, 0.3)
    node = scene.nodes["n1"]
    fabric_before = scene.fabric.boundingRect()
    viewport = rig_window.view.viewport()
    grip = node.mapToScene(QPointF(node.boundingRect().width() / 2, 12))  # its header
    start = view_point(rig_window, grip)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, 5):
        qtbot.mouseMove(viewport, start + (view_point(rig_window, grip + QPointF(0, 600)) - start) * (i / 4))
    assert node.pos().y() > 300  # Qt moved it
    assert scene.fabric.boundingRect().bottom() > fabric_before.bottom() + 300  # the line followed it
    end = start + (view_point(rig_window, grip + QPointF(0, 600)) - start)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert rig_window.document.node("n1").y > 300  # one move, through the undo stack
    rig_window.undo_stack.undo()
    assert rig_window.document.node("n1").y < 300


def test_paper_is_never_zoomed_out(monkeypatch):
    class Paper(RackScene):
        interactive_hints = False

    plan = quick_plan(model="llama-3.1-70b", gpu="h100-sxm", gpus_per_node=8, nodes=2, tp=8, dp=2)
    scene = Paper(Labels(default_catalog()))
    scene.sync(plan)
    scene.set_view_scale(0.01)
    assert not scene.zoomed_out and not any(c.flat for c in scene.gpus.values())
    drawn = count_text_paints(monkeypatch)
    image = QImage(400, 300, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        scene.render(painter)  # the whole rig on 400 px: far below FLAT_SCALE
    finally:
        painter.end()
    assert set(drawn) == set(scene.gpus)  # vector output keeps every word, however small


def test_a_cluster_is_built_flat_before_a_view_shows_it(qtbot):
    """128 servers would be drawn below FLAT_SCALE even on a 2560×1440 canvas: the scene builds their
    cards flat at once (no fill-bar items, no second pass when the window first fits the rig); the
    first zoom a view reports corrects the guess either way. Two servers start in full detail."""
    labels = Labels(default_catalog())
    cluster = quick_plan(model="llama-3.1-70b", gpu="h100-sxm", gpus_per_node=8, nodes=128, tp=8, dp=128)
    scene = RackScene(labels)
    scene.sync(cluster)
    cards = list(scene.gpus.values())
    assert scene.zoomed_out and all(c.flat and c._bar is None and c.flags() & NO_CONTENTS for c in cards)
    scene.set_view_scale(1.0)  # a view close in: every card draws itself, with its fill bar
    assert not scene.zoomed_out and not any(c.flat or c.flags() & NO_CONTENTS for c in cards)
    assert all(c._bar is not None and not c.fill_bar.flags() & NO_CONTENTS for c in cards)

    small = RackScene(labels)
    small.sync(quick_plan(model="llama-3.1-70b", gpu="h100-sxm", gpus_per_node=8, nodes=2, tp=8, dp=2))
    assert not small.zoomed_out and not any(c.flat for c in small.gpus.values())

    class Paper(RackScene):
        interactive_hints = False

    paper = Paper(labels)
    paper.sync(cluster)
    assert not paper.zoomed_out and not any(c.flat for c in paper.gpus.values())


def test_a_workload_edit_leaves_the_canvas_items_alone(rig_window, monkeypatch):
    """The rig and layout are the same objects after a workload edit: the scene compares nothing (a
    4,096-GPU rig spent 50 ms of every such edit comparing cards); an edit of the rig still syncs."""
    from gpuplanner.gui import commands as cmd

    calls: list[str] = []
    original = GpuItem.update_from
    monkeypatch.setattr(
        GpuItem, "update_from", lambda self, *a: (calls.append(self.gpu_id), original(self, *a))
    )
    rig_window.push(lambda: cmd.set_workload_field_command(rig_window.document, "concurrency", 3))
    assert calls == []
    rig_window.push(lambda: cmd.move_node_command(rig_window.document, "n1", 900.0, 40.0))
    assert set(calls) == set(rig_window.scene.gpus)
    assert rig_window.scene.nodes["n1"].pos().x() == 900.0
    calls.clear()
    rig_window.undo_stack.undo()  # back to the plan before: a different rig object, synced
    assert set(calls) == set(rig_window.scene.gpus) and rig_window.scene.nodes["n1"].pos().x() != 900.0


def test_link_glows_follow_a_moved_server_and_are_placed_once_per_edit(open_window, tmp_path, monkeypatch):
    from gpuplanner.document.planfile import save_plan
    from gpuplanner.gui import commands as cmd

    plan = quick_plan(model="llama-3.1-70b", gpu="h100-sxm", gpus_per_node=8, nodes=2, tp=8, pp=2)
    window = open_window(save_plan(plan, tmp_path / "two-stages.gpuplan"))
    overlay = window.panel_controller.traffic
    assert len(overlay.visible()) == 3  # each server's NVSwitch and the InfiniBand between them
    placed: list[str] = []
    original = overlay._path
    monkeypatch.setattr(overlay, "_path", lambda t, seen: (placed.append(t.name), original(t, seen))[1])
    window.push(lambda: cmd.set_workload_field_command(window.document, "concurrency", 5))
    # the edit's own evaluation, whether it ran at once (after a pause) or waits for the debounce;
    # evaluate_now would evaluate the same plan a second time when it already ran (a busy machine)
    if window.evaluator.pending():
        window.evaluator.run_now()
    # the plan's change moved nothing: only the new report's traffic is placed, once per link
    assert sorted(placed) == sorted(t.name for t in overlay.traffic)

    spots = [g.path().boundingRect() for g in overlay.visible()]
    node = window.document.plan.rig.nodes[1]
    window.push(lambda: cmd.move_node_command(window.document, node.id, node.x + 900.0, node.y + 600.0))
    assert [g.path().boundingRect() for g in overlay.visible()] != spots  # they followed the server
