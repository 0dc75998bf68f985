"""Groups on the canvas fit their members (issue 14): an outline of GPUs sharing a server's fabric stays
inside the server's frame and never takes in a card of another group; each card carries its stage as a
badge in the layer map's colour."""

from __future__ import annotations

from gpuplanner.core.quick import quick_plan
from gpuplanner.document.planfile import save_plan
from gpuplanner.drawing.style import STAGE_COLOURS
from gpuplanner.gui.panel.style import stage_colour


def test_outlines_fit_their_groups_inside_the_server(open_window, tmp_path):
    plan = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="h100-sxm", gpus_per_node=8, tp=2, pp=4)
    path = tmp_path / "tp2pp4.gpuplan"
    save_plan(plan, path)
    window = open_window(path)
    overlay = window.panel_controller.traffic
    glows = overlay.visible()
    assert glows
    scene = window.scene
    node = next(iter(scene.nodes.values()))
    frame = node.sceneBoundingRect()
    for glow, traffic in zip(glows, [t for t in overlay.traffic if len(t.gpus) > 1], strict=False):
        outline = glow.path()
        assert frame.contains(outline.boundingRect()), traffic.name
        for gid, card in scene.gpus.items():
            inside = outline.contains(card.sceneBoundingRect().center())
            assert inside == (gid in traffic.gpus), (traffic.name, gid)


def test_cards_carry_their_stage_in_the_layer_maps_colour(open_window, tmp_path):
    plan = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="h100-sxm", gpus_per_node=4, tp=2, pp=2)
    path = tmp_path / "tp2pp2.gpuplan"
    save_plan(plan, path)
    window = open_window(path)
    second = plan.layout.replicas[0].stages[1].gpus[0]
    assert window.scene.gpus[second].stage == 1
    assert stage_colour(1).name().lower() == STAGE_COLOURS[1].lower()
