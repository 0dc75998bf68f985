"""One numbering for people: stages (and replicas, and a GPU's place in its TP group) count from 1 on the
canvas, in the panel, the command line's text and the PDF; the JSON keeps its 0-based indices."""

from __future__ import annotations

from gpuplanner.cli.tables import report_text
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.quick import quick_plan
from gpuplanner.drawing.scene import layout_roles
from gpuplanner.gui.panel.layerpaint import boundary_text


def pp2_plan():
    return quick_plan(model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", gpus_per_node=4, tp=2, pp=2)


def test_the_first_stage_is_stage_1_on_cards_and_in_the_cli_while_json_says_0():
    plan = pp2_plan()
    first = plan.layout.replicas[0].stages[0].gpus[0]
    second = plan.layout.replicas[0].stages[1].gpus[1]
    roles = layout_roles(plan)
    assert roles[first] == "stage 1 · TP 1/2"
    assert roles[second] == "stage 2 · TP 2/2"
    report = evaluate(plan)
    json_gpu = next(g for g in report.to_json_dict()["gpus"] if g["id"] == first)
    assert (json_gpu["replica"], json_gpu["stage"], json_gpu["tp_rank"]) == (0, 0, 0)
    text = report_text(report, plan)
    row = next(line for line in text.splitlines() if line.startswith(first + " "))
    assert " 1/1/1 " in row
    assert not any(" 0/0/" in line for line in text.splitlines())


def test_a_boundary_drag_names_the_stage_that_receives_the_layers():
    # the boundary between stages 1 and 2 (index 0) dragged left by 6 layers: they go to stage 2
    assert boundary_text(0, 34, -6).endswith("6 layers to stage 2")
    assert boundary_text(0, 46, 6).endswith("6 layers to stage 1")
