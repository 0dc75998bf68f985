"""Drops from the palette onto the canvas (synthesized drag events on the view's viewport), and undo."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from rackhelpers import drop_at, empty_canvas_point, palette_mime, slot_centre

from gpuplanner.core.plan import Plan


def snapshot(window) -> Plan:
    return window.document.plan


def test_gpu_dropped_on_a_free_slot_lands_in_that_slot_and_undoes(rig_window):
    before = snapshot(rig_window)
    drop_at(rig_window, slot_centre(rig_window, "n0", 6), palette_mime(rig_window, "gpu", "h200-sxm"))
    node = rig_window.document.node("n0")
    added = [g for g in node.gpus if g.slot == 6]
    assert len(added) == 1 and added[0].gpu == "h200-sxm"
    assert added[0].id in rig_window.scene.gpus  # the canvas follows the document
    assert rig_window.undo_stack.count() == 1
    rig_window.undo_stack.undo()
    assert snapshot(rig_window) == before
    assert added[0].id not in rig_window.scene.gpus
    rig_window.undo_stack.redo()
    assert rig_window.document.gpu(added[0].id)[1].slot == 6


def test_gpu_dropped_on_a_taken_slot_goes_to_the_first_free_one(rig_window):
    drop_at(rig_window, slot_centre(rig_window, "n1", 0), palette_mime(rig_window, "gpu", "l40s"))
    assert [g.slot for g in rig_window.document.node("n1").gpus] == [0, 1, 2, 3, 4]


def test_gpu_dropped_on_empty_canvas_makes_a_new_server_under_the_cursor(rig_window):
    point = empty_canvas_point(rig_window)
    drop_at(rig_window, point, palette_mime(rig_window, "gpu", "rtx-4090"))
    nodes = rig_window.document.plan.rig.nodes
    assert len(nodes) == 3
    new = nodes[-1]
    assert [g.gpu for g in new.gpus] == ["rtx-4090"]
    assert rig_window.scene.slot_at(point) == (new.id, 0)
    rig_window.undo_stack.undo()
    assert len(rig_window.document.plan.rig.nodes) == 2


def test_server_template_drop_adds_a_whole_server(rig_window):
    drop_at(rig_window, empty_canvas_point(rig_window), palette_mime(rig_window, "node", "dgx-h100"))
    node = rig_window.document.plan.rig.nodes[-1]
    assert node.template == "dgx-h100" and len(node.gpus) == 8 and node.nvswitch == "nvswitch-nvlink4"
    assert len(rig_window.scene.gpus) == 16
    rig_window.undo_stack.undo()
    assert len(rig_window.scene.gpus) == 8


def test_nvswitch_link_dropped_on_a_server_joins_its_gpus(rig_window):
    drop_at(
        rig_window, slot_centre(rig_window, "n0", 7), palette_mime(rig_window, "link", "nvswitch-nvlink4")
    )
    assert rig_window.document.node("n0").nvswitch == "nvswitch-nvlink4"


def test_network_link_dropped_on_a_server_sets_its_nics_and_on_canvas_the_fabric(rig_window):
    drop_at(rig_window, slot_centre(rig_window, "n1", 7), palette_mime(rig_window, "link", "ib-ndr"))
    assert rig_window.document.node("n1").nic == "ib-ndr"
    drop_at(rig_window, empty_canvas_point(rig_window), palette_mime(rig_window, "link", "eth-400g"))
    assert rig_window.document.plan.rig.fabric == "eth-400g"
    assert rig_window.undo_stack.count() == 2


def test_nvlink_dropped_on_a_gpu_joins_it_with_the_selected_gpus(rig_window):
    scene = rig_window.scene
    scene.gpus["g2"].setSelected(True)
    scene.gpus["g3"].setSelected(True)
    drop_at(rig_window, slot_centre(rig_window, "n0", 1), palette_mime(rig_window, "link", "nvlink4"))
    pairs = {frozenset((k.a, k.b)) for k in rig_window.document.plan.rig.links if k.kind == "nvlink4"}
    assert {frozenset(("g1", "g2")), frozenset(("g1", "g3"))} <= pairs
    assert rig_window.undo_stack.count() == 1  # one drop, one undo step


def test_link_a_card_has_no_port_for_is_refused_with_a_reason(rig_window):
    drop_at(rig_window, slot_centre(rig_window, "n0", 6), palette_mime(rig_window, "gpu", "l40s"))
    gpu = rig_window.document.node("n0").gpus[-1].id
    rig_window.scene.clearSelection()
    rig_window.scene.gpus["g0"].setSelected(True)
    before = snapshot(rig_window)
    drop_at(rig_window, slot_centre(rig_window, "n0", 6), palette_mime(rig_window, "link", "nvlink4"))
    assert snapshot(rig_window) == before
    assert f"{gpu} has no port" in rig_window.statusBar().currentMessage()


def test_foreign_mime_data_is_ignored(rig_window):
    from PySide6.QtCore import QMimeData, Qt
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication

    from gpuplanner.gui.mime import CATALOG_ITEM_MIME

    data = QMimeData()
    data.setData(CATALOG_ITEM_MIME, b'{"kind": "spaceship", "id": "x"}')
    view = rig_window.view
    event = QDragEnterEvent(
        view.mapFromScene(QPointF(0, 0)),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view.viewport(), event)
    assert not event.isAccepted()


def test_unknown_catalog_id_is_reported(rig_window):
    before = snapshot(rig_window)
    drop_at(rig_window, slot_centre(rig_window, "n0", 6), kind="gpu", ident="h999")
    assert snapshot(rig_window) == before
    assert "unknown GPU" in rig_window.statusBar().currentMessage()
