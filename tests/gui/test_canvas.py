"""Mouse gestures on the canvas: moving cards and servers, wiring, rubber band, delete, copy and paste."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QMenu
from rackhelpers import click, drag, drop_at, palette_mime, port_of, slot_centre


def test_dragging_a_card_to_a_free_slot_moves_it_with_one_undo_step(rig_window, qtbot):
    drag(qtbot, rig_window, slot_centre(rig_window, "n0", 0), slot_centre(rig_window, "n0", 5))
    assert rig_window.document.gpu("g0")[1].slot == 5
    assert rig_window.undo_stack.count() == 1 and rig_window.undo_stack.text(0) == "Move GPU"
    card = rig_window.scene.gpus["g0"]
    assert rig_window.scene.slot_at(card.sceneBoundingRect().center()) == ("n0", 5)  # snapped
    rig_window.undo_stack.undo()
    assert rig_window.document.gpu("g0")[1].slot == 0


def test_dragging_a_card_to_another_server(rig_window, qtbot):
    drag(qtbot, rig_window, slot_centre(rig_window, "n0", 1), slot_centre(rig_window, "n1", 6))
    node, placement = rig_window.document.gpu("g1")
    assert (node.id, placement.slot) == ("n1", 6)
    assert rig_window.scene.gpus["g1"].parentItem() is rig_window.scene.nodes["n1"]


def test_dragging_a_card_onto_an_occupied_slot_swaps_them(rig_window, qtbot):
    drag(qtbot, rig_window, slot_centre(rig_window, "n0", 0), slot_centre(rig_window, "n0", 2))
    assert rig_window.document.gpu("g0")[1].slot == 2
    assert rig_window.document.gpu("g2")[1].slot == 0


def test_a_card_dropped_back_in_place_changes_nothing(rig_window, qtbot):
    start = slot_centre(rig_window, "n0", 3)
    drag(qtbot, rig_window, start, start + QPointF(12, 8))
    assert rig_window.undo_stack.count() == 0
    assert rig_window.scene.slot_at(rig_window.scene.gpus["g3"].sceneBoundingRect().center()) == ("n0", 3)


def test_dragging_a_server_moves_it_and_its_links_follow(rig_window, qtbot):
    node = rig_window.scene.nodes["n0"]
    header = node.mapToScene(QPointF(200, 12))
    link = rig_window.scene.links["l0"]
    before_link = link.mapToScene(link.path().pointAtPercent(0))
    before = rig_window.document.node("n0")
    drag(qtbot, rig_window, header, header + QPointF(0, 300))
    after = rig_window.document.node("n0")
    assert abs(after.y - before.y - 300) < 2 and abs(after.x - before.x) < 2
    assert rig_window.undo_stack.count() == 1 and rig_window.undo_stack.text(0) == "Move server"
    assert abs(link.mapToScene(link.path().pointAtPercent(0)).y() - before_link.y() - 300) < 2
    rig_window.undo_stack.undo()
    assert rig_window.document.node("n0") == before
    assert rig_window.scene.nodes["n0"].pos() == QPointF(before.x, before.y)


def test_wiring_offers_only_compatible_kinds_and_adds_the_chosen_link(rig_window, qtbot):
    drag(qtbot, rig_window, port_of(rig_window, "g2"), port_of(rig_window, "g3"))
    menu = rig_window.view.findChild(QMenu, "linkKindMenu")
    assert menu is not None and menu.isVisible()
    kinds = [a.data() for a in menu.actions() if a.data()]
    assert kinds[0] == "nvlink4" and "pcie5-x16-switch" in kinds
    assert not any(k.startswith("nvlink3") or k.startswith("xgmi") for k in kinds)
    next(a for a in menu.actions() if a.data() == "nvlink4").trigger()
    menu.close()
    links = [k for k in rig_window.document.plan.rig.links if {k.a, k.b} == {"g2", "g3"}]
    assert len(links) == 1 and links[0].kind == "nvlink4"
    assert links[0].id in rig_window.scene.links
    rig_window.undo_stack.undo()
    assert not [k for k in rig_window.document.plan.rig.links if {k.a, k.b} == {"g2", "g3"}]


def test_pcie_only_card_has_no_nvlink_port(rig_window, qtbot):
    drop_at(rig_window, slot_centre(rig_window, "n0", 4), palette_mime(rig_window, "gpu", "l40s"))
    new = next(g.id for g in rig_window.document.node("n0").gpus if g.slot == 4)
    kinds = [k.id for k in rig_window.controller.link_choices("g0", new)]
    assert kinds and all(k.startswith("pcie") for k in kinds)


def test_wiring_across_servers_offers_the_network(rig_window, qtbot):
    rig_window.view.scale(0.6, 0.6)
    rig_window.view.centerOn(rig_window.scene.content_rect().center())
    drag(qtbot, rig_window, port_of(rig_window, "g0"), port_of(rig_window, "g5"))
    menu = rig_window.view.findChild(QMenu, "linkKindMenu")
    kinds = [a.data() for a in menu.actions() if a.data()]
    assert "ib-ndr" in kinds and "nvlink4" not in kinds
    next(a for a in menu.actions() if a.data() == "ib-ndr").trigger()
    menu.close()
    assert rig_window.document.node("n0").nic == rig_window.document.node("n1").nic == "ib-ndr"


def test_wire_released_on_empty_canvas_does_nothing(rig_window, qtbot):
    drag(qtbot, rig_window, port_of(rig_window, "g2"), port_of(rig_window, "g2") + QPointF(0, -200))
    assert rig_window.view.findChild(QMenu, "linkKindMenu") is None
    assert rig_window.undo_stack.count() == 0
    assert all(item.scene() is rig_window.scene for item in rig_window.scene.links.values())


def test_rubber_band_selects_cards(rig_window, qtbot):
    node = rig_window.scene.nodes["n0"].sceneBoundingRect()
    a = QPointF(node.left() - 30, slot_centre(rig_window, "n0", 0).y() - 60)  # empty canvas left of it
    b = slot_centre(rig_window, "n0", 1) + QPointF(90, 50)
    drag(qtbot, rig_window, a, b)
    assert set(rig_window.scene.selection().gpus) == {"g0", "g1"}


def test_delete_key_removes_selection_with_its_links(rig_window, qtbot):
    click(qtbot, rig_window, slot_centre(rig_window, "n0", 0))
    assert rig_window.scene.selection().gpus == ("g0",)
    rig_window.actions.by_name["actionDelete"].trigger()
    plan = rig_window.document.plan
    assert "g0" not in plan.rig.gpu_ids() and "l0" not in [k.id for k in plan.rig.links]
    assert rig_window.undo_stack.text(0) == "Delete 1 item"
    rig_window.undo_stack.undo()
    assert "g0" in rig_window.document.plan.rig.gpu_ids() and "l0" in rig_window.scene.links


def test_copy_and_paste_a_server(rig_window, qtbot):
    rig_window.scene.nodes["n1"].setSelected(True)
    assert rig_window.copy_selection()
    rig_window.paste()
    nodes = rig_window.document.plan.rig.nodes
    assert len(nodes) == 3 and nodes[-1].name == "Server 1 (copy)" and len(nodes[-1].gpus) == 4
    copied_links = [k for k in rig_window.document.plan.rig.links if k.a in {g.id for g in nodes[-1].gpus}]
    assert len(copied_links) == 1
    assert rig_window.scene.selection().nodes == (nodes[-1].id,)
    assert not rig_window.scene.nodes[nodes[-1].id].collidesWithItem(rig_window.scene.nodes["n1"])
    rig_window.undo_stack.undo()
    assert len(rig_window.document.plan.rig.nodes) == 2


def test_copy_and_paste_gpus_into_the_selected_server(rig_window):
    rig_window.scene.gpus["g0"].setSelected(True)
    rig_window.copy_selection()
    rig_window.scene.clearSelection()
    rig_window.scene.gpus["g5"].setSelected(True)
    rig_window.paste()
    assert len(rig_window.document.node("n1").gpus) == 5


def test_presets_rewire_a_server(rig_window):
    rig_window.scene.nodes["n0"].setSelected(True)
    rig_window.actions.by_name["actionPreset_nvlink_pairs"].trigger()
    pairs = [(k.a, k.b) for k in rig_window.document.plan.rig.links if k.a in {"g0", "g1", "g2", "g3"}]
    assert pairs == [("g0", "g1"), ("g2", "g3")]
    rig_window.actions.by_name["actionPreset_nvswitch"].trigger()
    assert rig_window.document.node("n0").nvswitch == "nvswitch-nvlink4"
    assert not [k for k in rig_window.document.plan.rig.links if k.a in {"g0", "g1", "g2", "g3"}]
    rig_window.actions.by_name["actionPreset_pcie_cpu"].trigger()
    node = rig_window.document.node("n0")
    assert node.nvswitch is None and node.host_link == "pcie5-x16-cpu"
    assert rig_window.undo_stack.count() == 3


def test_nvswitch_preset_refused_for_pcie_cards(rig_window):
    rig_window.undo_stack.clear()
    for slot in (4, 5):
        drop_at(rig_window, slot_centre(rig_window, "n0", slot), palette_mime(rig_window, "gpu", "l40s"))
    rig_window.scene.nodes["n0"].setSelected(True)
    count = rig_window.undo_stack.count()
    rig_window.actions.by_name["actionPreset_nvswitch"].trigger()
    assert rig_window.undo_stack.count() == count
    assert "cannot join an NVSwitch" in rig_window.statusBar().currentMessage()


def test_escape_cancels_a_drag_and_puts_the_card_back(rig_window, qtbot):
    from PySide6.QtCore import QPoint, Qt
    from rackhelpers import view_point

    viewport = rig_window.view.viewport()
    start = view_point(rig_window, slot_centre(rig_window, "n0", 0))
    end = view_point(rig_window, slot_centre(rig_window, "n0", 6))
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    qtbot.mouseMove(viewport, start + QPoint(20, 0))
    qtbot.mouseMove(viewport, end)
    qtbot.keyClick(rig_window.view, Qt.Key.Key_Escape)
    qtbot.mouseMove(viewport, end + QPoint(5, 5))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert rig_window.undo_stack.count() == 0
    card = rig_window.scene.gpus["g0"]
    assert rig_window.scene.slot_at(card.sceneBoundingRect().center()) == ("n0", 0)


def test_middle_button_pans(rig_window, qtbot):
    from PySide6.QtCore import QPoint, Qt

    rig_window.view.reset_zoom()  # the window opens fitted to the rig: at 100% there is room to pan
    bar = rig_window.view.horizontalScrollBar()
    before = bar.value()
    viewport = rig_window.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 300))
    qtbot.mouseMove(viewport, QPoint(200, 300))
    qtbot.mouseRelease(
        viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 300)
    )
    assert bar.value() == before + 100


def test_a_full_mesh_is_drawn_as_one_bar(rig_window):
    ids = ["g4", "g5", "g6", "g7"]
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :] if (a, b) != ("g4", "g5")]  # g4-g5: l1
    edit = lambda d: [d.add_link("nvlink4", a, b) for a, b in pairs]  # noqa: E731
    from gpuplanner.gui import commands as cmd

    rig_window.push(lambda: cmd.edit_command(rig_window.document, "Mesh", edit))
    node = rig_window.scene.nodes["n1"]
    assert node.mesh == "nvlink4"
    mesh_links = [i for i in rig_window.scene.links.values() if i.link.a in ids and i.link.b in ids]
    assert len(mesh_links) == 6 and not any(i.isVisible() for i in mesh_links)
    assert all(i.parentItem() is node for i in mesh_links)
    rig_window.undo_stack.undo()
    assert node.mesh is None


def test_a_card_is_dragged_by_its_fill_bar_and_only_the_bar_redraws_when_memory_moves(rig_window, qtbot):
    card = rig_window.scene.gpus["g0"]
    bar_centre = card.fill_bar.mapToScene(card.fill_bar.RECT.center())
    assert rig_window.scene.gpu_at(bar_centre) is card
    drag(qtbot, rig_window, bar_centre, slot_centre(rig_window, "n0", 5))  # the bar takes no mouse
    assert rig_window.document.gpu("g0")[1].slot == 5
    rig_window.undo_stack.undo()

    calls = {"card": 0, "bar": 0}
    card.update = lambda *a: calls.__setitem__("card", calls["card"] + 1)
    card.fill_bar.update = lambda *a: calls.__setitem__("bar", calls["bar"] + 1)
    report = card.report
    ledger = report.memory_bytes
    # a few KiB more KV cache: nothing drawn changes (the bar is drawn to a quarter pixel, the text in 0.1 GiB)
    card.set_report(report.model_copy(update={"memory_bytes": ledger.model_copy(
        update={"kv_cache": ledger.kv_cache + 4096, "free": ledger.free - 4096})}))  # fmt: skip
    assert calls == {"card": 0, "bar": 0}
    # 2 GiB more: the bar redraws, the card keeps its cached picture
    card.set_report(report.model_copy(update={"memory_bytes": ledger.model_copy(
        update={"kv_cache": ledger.kv_cache + 2**31, "free": ledger.free - 2**31})}))  # fmt: skip
    assert calls == {"card": 0, "bar": 1}
    # over budget: the card's border turns red, so the card redraws too
    over = ledger.free + 2**30
    card.set_report(report.model_copy(update={"memory_bytes": ledger.model_copy(
        update={"kv_cache": ledger.kv_cache + over, "free": ledger.free - over})}))  # fmt: skip
    assert calls == {"card": 1, "bar": 2}


def test_a_card_writes_its_tooltip_when_it_is_hovered(rig_window, qtbot):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication
    from rackhelpers import view_point

    card = rig_window.scene.gpus["g0"]
    assert card._tip_stale  # not written by the evaluation: only on demand
    pos = view_point(rig_window, card.sceneBoundingRect().center())
    viewport = rig_window.view.viewport()
    event = QHelpEvent(QEvent.Type.ToolTip, pos, viewport.mapToGlobal(pos))
    QApplication.sendEvent(viewport, event)
    kv = card.report.memory_bytes.kv_cache / 2**30
    assert f"KV cache {kv:.1f} GiB" in card.toolTip() and "g0 in slot 0" in card.toolTip()


def test_a_card_inside_a_traffic_glow_shows_its_own_tooltip(main_window, qtbot):
    # the sample plan's TP group talks over NVSwitch: a glow outlines its GPUs, cards included
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    main_window.evaluate_now()
    glows = main_window.panel_controller.traffic.visible()
    assert glows
    gpu_id = next(iter(main_window.scene.gpus))
    card = main_window.scene.gpus[gpu_id]
    centre = card.sceneBoundingRect().center()
    assert any(g.path().contains(centre) for g in glows)  # inside the outline
    main_window.view.centerOn(centre)
    pos = main_window.view.mapFromScene(centre)
    viewport = main_window.view.viewport()
    QApplication.sendEvent(viewport, QHelpEvent(QEvent.Type.ToolTip, pos, viewport.mapToGlobal(pos)))
    assert f"{gpu_id} in slot" in QToolTip.text()
    QToolTip.hideText()
