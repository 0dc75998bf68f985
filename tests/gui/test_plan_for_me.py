"""The Plan for me dock: search on a worker thread with progress and Cancel, hover preview, apply as one
undo step; and the offer to use GPUs that join the rig unused."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QPushButton

from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.layout_ops import layout_gpu_ids
from gpuplanner.core.recommend import RigSearch, Search
from gpuplanner.gui import commands as cmd

TIMEOUT_MS = 60_000


def _search(qtbot, panel):
    with qtbot.waitSignal(panel.runner.done, timeout=TIMEOUT_MS) as blocker:
        panel.search_button.click()
    return blocker.args[0]


def test_the_dock_is_in_the_window_and_the_view_menu(main_window):
    dock = main_window.findChild(QDockWidget, "planForMeDock")
    assert dock is not None and dock.widget().widget() is main_window.plan_for_me
    assert dock.toggleViewAction() in main_window.actions.view_menu.actions()
    assert main_window.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea


def test_search_lists_candidates_and_apply_is_one_undo_step(main_window, qtbot):
    panel = main_window.plan_for_me
    panel.tpot.setValue(40)
    before = main_window.document.plan
    result = _search(qtbot, panel)
    assert isinstance(result, Search) and not result.cancelled
    assert panel.table.topLevelItemCount() == len(panel.candidates) > 1
    assert panel.search_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert panel.progress.value() == panel.progress.maximum()
    best = panel.candidates[0]
    assert best.meets and best.report.performance.tpot_s <= 0.040
    steps = main_window.undo_stack.count()
    panel.apply(0)
    assert main_window.undo_stack.count() == steps + 1
    plan = main_window.document.plan
    assert plan.layout == best.plan.layout and plan.workload == best.plan.workload
    assert evaluate(plan).to_json_dict()["performance"] == best.report.to_json_dict()["performance"]
    main_window.undo_stack.undo()
    assert main_window.document.plan == before


def test_cancel_stops_the_search_and_keeps_what_was_found(main_window, qtbot):
    panel = main_window.plan_for_me
    panel.runner.start(lambda progress, stop: _slow_until_stopped(progress, stop))
    panel.search_button.setEnabled(False)
    panel.cancel_button.setEnabled(True)
    with qtbot.waitSignal(panel.runner.done, timeout=TIMEOUT_MS) as blocker:
        panel.cancel_button.click()
    assert blocker.args[0] == "stopped"
    assert panel.search_button.isEnabled() and not panel.cancel_button.isEnabled()
    # a real search cancelled at once reports itself cancelled
    with qtbot.waitSignal(panel.runner.done, timeout=TIMEOUT_MS) as blocker:
        panel.start()
        panel.cancel()
    assert isinstance(blocker.args[0], Search)


def _slow_until_stopped(progress, stop):
    import time

    for i in range(10_000):
        if stop():
            return "stopped"
        progress(i, 10_000)
        time.sleep(0.001)
    return "finished"


def test_hover_previews_on_the_canvas_and_the_panel_and_leaving_restores(main_window, qtbot):
    panel = main_window.plan_for_me
    _search(qtbot, panel)
    plan = main_window.document.plan
    other = next(i for i, c in enumerate(panel.candidates) if c.plan.layout != plan.layout)
    cand = panel.candidates[other]
    panel.preview(other)
    assert main_window.panel.previewing
    first = cand.report.gpus[0]
    assert main_window.scene.gpus[first.id].report == first  # the card shows the candidate's memory
    assert main_window.document.plan is plan and main_window.undo_stack.count() == 0
    panel.end_preview()
    assert not main_window.panel.previewing
    assert main_window.scene.gpus[first.id].report == next(
        g for g in main_window.latest_report.gpus if g.id == first.id
    )


def test_rig_search_in_the_window(main_window, qtbot):
    panel = main_window.plan_for_me
    panel.mode.setCurrentIndex(panel.mode.findData("rigs"))
    panel.users.setValue(8)
    panel.max_gpus.setValue(1)
    result = _search(qtbot, panel)
    assert isinstance(result, RigSearch)
    assert panel.candidates and all(c.price.gpus == 1 for c in panel.candidates)
    steps = main_window.undo_stack.count()
    panel.apply(0)
    assert main_window.undo_stack.count() == steps + 1
    assert main_window.document.plan.rig == panel.candidates[0].plan.rig


def test_gpus_added_unused_are_offered_a_layout_in_one_click(main_window, qtbot):
    offer = main_window.unused_gpu_offer
    button = main_window.findChild(QPushButton, "useAllGpusOffer")
    doc = main_window.document
    assert not button.isVisible()
    with qtbot.waitSignal(offer.offered, timeout=TIMEOUT_MS):
        main_window.push(
            lambda: cmd.add_template_command(doc, main_window.catalog.node_template("dgx-h100"), 900, 0)
        )
    assert button.isVisible() and button.text().startswith("Use all 16 GPUs as TP")
    before = doc.plan
    steps = main_window.undo_stack.count()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert main_window.undo_stack.count() == steps + 1
    assert len(layout_gpu_ids(doc.plan.layout)) == 16 and not button.isVisible()
    main_window.undo_stack.undo()
    assert doc.plan == before


def test_points_of_the_plot_preview_and_select_their_candidates(main_window, qtbot):
    panel = main_window.plan_for_me
    _search(qtbot, panel)
    points = panel.scatter.points()
    assert len(points) == len(panel.candidates)
    second = next(p for p in points if p.data() == 1)
    panel._on_point_hovered(panel.scatter, [second], None)
    assert panel.previewing is panel.candidates[1] and main_window.panel.previewing
    panel._on_point_clicked(panel.scatter, [second], None)
    assert panel.table.currentItem() is panel.table.topLevelItem(1)
    panel._on_point_hovered(panel.scatter, [], None)
    assert panel.previewing is None and not main_window.panel.previewing
