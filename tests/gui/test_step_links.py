"""The step chart splits communication into inside-server and between-server parts, the panel names each
link's utilisation (issue 14), and the step chart says why TPOT is longer than its bars."""

from __future__ import annotations

from gpuplanner.core.evaluate import evaluate
from gpuplanner.document.planfile import load_plan
from gpuplanner.gui.panel.steptime import StepTimeChart, link_lines
from gpuplanner.gui.panel.style import STEP_PARTS
from gpuplanner.paths import examples_dir


def two_servers():
    return load_plan(examples_dir() / "2x-dgx-h100-llama-3.1-405b-tp8-pp2.gpuplan")


def test_communication_between_servers_is_the_hand_off_across_the_fabric():
    """TP 8 inside each DGX (NVSwitch) and PP 2 across them: the TP all-reduces stay inside a server,
    only stage 1's hand-off to stage 2 crosses InfiniBand; the last stage hands nothing on."""
    report = evaluate(two_servers())
    splits = {s.gpu: s for s in report.performance.step_split}
    first, last = splits["g0_0"], splits["g1_0"]
    assert 0 < first.communication_between_s < first.communication_s
    assert last.communication_between_s == 0
    for s in splits.values():
        assert abs(s.communication_inside_s + s.communication_between_s - s.communication_s) < 1e-12


def test_panel_names_link_utilisation_busiest_first(qtbot):
    report = evaluate(two_servers())
    links = report.performance.links
    line, table = link_lines(links)
    busiest = max(links, key=lambda t: t.share_of_bandwidth)
    assert line.startswith("Links: ") and busiest.name in line
    for t in links:
        assert t.name in table
    chart = StepTimeChart()
    qtbot.addWidget(chart)
    chart.set_report(report)
    assert chart.links.text() == line
    names = [t for _, t, _ in STEP_PARTS]
    assert "Comm. inside servers" in names and "Comm. between servers" in names
