"""The window under random actions (tests/gui/monkey.py) and the cases that once crashed it."""

from __future__ import annotations

import json

import pytest
from monkey import run_monkey
from PySide6.QtWidgets import QMessageBox, QSpinBox, QWidget

from gpuplanner.core.errors import PlanError
from gpuplanner.core.limits import MAX_TOKENS
from gpuplanner.document.planfile import load_plan, plan_to_json, save_plan
from gpuplanner.gui import commands as cmd


@pytest.mark.parametrize("seed", [11, 12])
def test_random_window_actions_raise_nothing_and_undo_all_restores_the_plan(rig_window, seed):
    run = run_monkey(rig_window, seed, actions=80)
    assert run.errors == [], run.tracebacks[0] if run.tracebacks else run.errors
    assert run.actions == 80 and len(run.counts) >= 6  # most kinds of action were taken


def test_a_stage_past_the_last_layer_shows_a_message_in_the_layer_map(rig_window, tmp_path):
    data = json.loads(plan_to_json(rig_window.document.plan))
    data["plan"]["layout"]["replicas"][0]["stages"][-1]["layers"][1] = 130
    path = tmp_path / "past-the-end.gpuplan"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert rig_window.open_plan(path)
    rig_window.evaluate_now()
    layer_map = rig_window.findChild(QWidget, "layerMap")  # public object name
    assert layer_map.data is None and "do not cover layers 0–80" in layer_map.message
    layer_map.grab()  # paints the message, no IndexError
    assert "covers layers 0–130" in rig_window.verdict_label.text()


def test_the_inspector_takes_the_largest_context_the_plan_allows(rig_window):
    rig_window.push(lambda: cmd.set_engine_field_command(rig_window.document, "max_model_len", MAX_TOKENS))
    rig_window.inspector.refresh()
    spin = rig_window.inspector.findChild(QSpinBox, "maxModelLenSpin")
    assert spin.value() == MAX_TOKENS


def test_opening_a_plan_whose_servers_overlap_arranges_them_and_marks_it_modified(rig_window, tmp_path):
    plan = rig_window.document.plan
    stacked = plan.model_copy(
        update={
            "rig": plan.rig.model_copy(
                update={"nodes": tuple(n.model_copy(update={"x": 0.0, "y": 0.0}) for n in plan.rig.nodes)}
            )
        }
    )
    path = save_plan(stacked, tmp_path / "stacked.gpuplan")
    assert rig_window.open_plan(path)
    nodes = rig_window.document.plan.rig.nodes
    assert len({(n.x, n.y) for n in nodes}) == len(nodes)
    assert rig_window.is_dirty()


def test_servers_the_user_overlapped_reopen_where_they_were_saved(rig_window, tmp_path):
    plan = rig_window.document.plan
    first, *rest = plan.rig.nodes
    assert rest, "the rig fixture has two servers or more"
    # the second server dragged half over the first: the user's choice, kept on reopening
    moved = (first, rest[0].model_copy(update={"x": first.x + 30.0, "y": first.y + 10.0}), *rest[1:])
    overlapped = plan.model_copy(update={"rig": plan.rig.model_copy(update={"nodes": moved})})
    path = save_plan(overlapped, tmp_path / "overlapped.gpuplan")
    assert rig_window.open_plan(path)
    assert [(n.x, n.y) for n in rig_window.document.plan.rig.nodes] == [(n.x, n.y) for n in moved]
    assert not rig_window.is_dirty()


def test_a_saved_plan_reopens_exactly_and_unmodified(rig_window, tmp_path):
    path = tmp_path / "again.gpuplan"
    assert rig_window.save_plan(path)
    saved = path.read_text(encoding="utf-8")
    assert rig_window.open_plan(path)
    assert not rig_window.is_dirty()
    assert plan_to_json(rig_window.document.plan) == saved == plan_to_json(load_plan(path))


def test_an_unexpected_error_shows_the_crash_reports_path_and_keeps_the_plan(
    rig_window, monkeypatch, isolated_user_dir
):
    from gpuplanner.gui import app

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    before = rig_window.document.plan
    try:
        raise RuntimeError("a bug in a slot")
    except RuntimeError as exc:
        app._show_unexpected(type(exc), exc, exc.__traceback__)
    reports = list((isolated_user_dir / "crash-reports").glob("crash-*.txt"))
    assert len(reports) == 1 and str(reports[0]) in shown[0] and "a bug in a slot" in shown[0]
    assert "RuntimeError: a bug in a slot" in reports[0].read_text(encoding="utf-8")
    assert rig_window.document.plan is before
    app._show_unexpected(PlanError, PlanError("there is no server 'n9' in the rig"), None)
    assert shown[-1] == "there is no server 'n9' in the rig"
    assert len(list((isolated_user_dir / "crash-reports").glob("crash-*.txt"))) == 1  # no report for that


@pytest.mark.parametrize(
    ("note", "offered"),
    [("[" * 5000 + "]" * 5000, False), ("[1, 2]", True), ('{"source": NaN}', False), ("\x00", False)],
)
def test_a_damaged_autosave_note_is_no_crash(rig_window, note, offered):
    from gpuplanner.gui.autosave import autosave_dir, pending_autosave

    rig_window.autosave.write_now()
    (autosave_dir() / "autosave.json").write_text(note, encoding="utf-8")
    pending = pending_autosave()  # the window asks this at start-up: it must answer, not raise
    assert (pending is not None) == offered
    if offered:
        assert pending[0] == rig_window.document.plan and "hand-made" not in pending[2]


def test_moving_a_server_keeps_the_report_and_evaluates_nothing(rig_window, qtbot):
    """Where a server is drawn is in no estimate: moving one (and undoing the move) is an undo step
    that leaves the report as it is, without evaluating the plan again (a 1,024-GPU rig moves fast)."""
    node = rig_window.document.plan.rig.nodes[0]
    layout = rig_window.document.plan.layout
    before, report = rig_window.evaluator.evaluations, rig_window.latest_report
    assert report is not None
    rig_window.push(lambda: cmd.move_node_command(rig_window.document, node.id, node.x + 40, node.y + 5))
    assert rig_window.document.node(node.id).x == node.x + 40
    assert rig_window.document.last_change.kind == "position"
    assert rig_window.document.plan.layout == layout
    rig_window.undo_stack.undo()
    qtbot.wait(60)  # past the debounce: nothing was scheduled
    assert rig_window.document.node(node.id).x == node.x
    assert rig_window.evaluator.evaluations == before and rig_window.latest_report is report
    # any other edit is evaluated as before
    rig_window.push(lambda: cmd.set_workload_field_command(rig_window.document, "concurrency", 3))
    qtbot.waitUntil(lambda: rig_window.evaluator.evaluations > before, timeout=2000)
