"""The panel's charts alone, fed reports: what they draw for a plan that fits, one that does not, one
without a performance estimate; the layer map's geometry and gestures (the layout edits behind them: tests/core/test_layout_ops.py)."""

from __future__ import annotations

import itertools

import pytest
from panel_fakes import with_performance
from PySide6.QtCore import QPoint, Qt

from gpuplanner.core.evaluate import evaluate
from gpuplanner.gui.panel.layermap import LayerMap
from gpuplanner.gui.panel.layerstrip import cell_edges, layer_at, nearest_boundary, strip_data
from gpuplanner.gui.panel.memory import MemoryChart, memory_stacks
from gpuplanner.gui.panel.samples import hgx_plan, mixed_plan, over_budget_plan
from gpuplanner.gui.panel.steptime import StepTimeChart
from gpuplanner.gui.panel.throughput import ThroughputChart
from gpuplanner.gui.panel.verdict import VerdictBanner

GIB = 2**30


@pytest.fixture(scope="module")
def reports():
    return {
        "hgx": evaluate(hgx_plan()),
        "mixed": evaluate(mixed_plan()),
        "over": evaluate(over_budget_plan()),
    }


def test_memory_bars_stack_the_ledger_and_stop_at_capacity(qtbot, reports):
    chart = MemoryChart()
    qtbot.addWidget(chart)
    chart.set_report(reports["hgx"])
    g = reports["hgx"].gpus[0]
    assert chart.bar_gib("g0", "weights") == pytest.approx(g.memory_bytes.weights / GIB)
    assert chart.bar_gib("g0", "kv_cache") == pytest.approx(g.memory_bytes.kv_cache / GIB)
    assert chart.bars.top(0) == pytest.approx(g.capacity_bytes / GIB)  # used + free = capacity
    assert chart.bar_gib("g0", "overflow") == 0
    assert f"{g.memory_bytes.weights:,} B" in chart.tooltip_for("g0")
    assert g.formula["weights"] in chart.tooltip_for("g0")


def test_over_budget_gpu_is_red_beyond_its_capacity(qtbot, reports):
    chart = MemoryChart()
    qtbot.addWidget(chart)
    report = reports["over"]
    chart.set_report(report)
    g0 = report.gpus[0]
    used = sum(
        getattr(g0.memory_bytes, f)
        for f in ("weights", "kv_cache", "activations", "communication", "runtime")
    )
    assert chart.bar_gib("g0", "overflow") == pytest.approx((used - g0.capacity_bytes) / GIB)
    assert chart.segments[0]["weights"][1] == pytest.approx(g0.capacity_bytes / GIB)  # clipped at the line
    assert "Over capacity" in chart.legend.entries
    assert "over budget by" in chart.tooltip_for("g0")


def test_stranded_memory_is_marked_on_a_mixed_rig(qtbot, reports):
    chart = MemoryChart()
    qtbot.addWidget(chart)
    report = reports["mixed"]
    chart.set_report(report)
    big = next(g for g in report.gpus if g.stranded_bytes > GIB)
    assert chart.bar_gib(big.id, "stranded") == pytest.approx(big.stranded_bytes / GIB)
    assert "Stranded" in chart.legend.entries
    segments = chart.segments[chart.gpu_ids.index(big.id)]
    assert segments["stranded"][1] <= segments["free"][1] == pytest.approx(big.capacity_bytes / GIB)


def test_charts_say_why_there_is_no_speed_estimate(qtbot, reports):
    speed, steps = ThroughputChart(), StepTimeChart()
    qtbot.addWidget(speed)
    qtbot.addWidget(steps)
    for report, reason in ((reports["over"], "does not fit"), (None, "no plan")):
        speed.set_report(report)
        steps.set_report(report)
        assert reason in speed._message.toPlainText()
        assert reason in steps._message.toPlainText()
        assert speed._total.getData()[0] is None or len(speed._total.getData()[0]) == 0
    no_perf = reports["hgx"].model_copy(update={"performance": None})
    speed.set_report(no_perf)
    assert "not available" in speed._message.toPlainText()


def test_speed_chart_draws_the_curve_band_now_line_and_saturation(qtbot, reports):
    chart = ThroughputChart()
    qtbot.addWidget(chart)
    report = with_performance(reports["hgx"], concurrency=16, saturation=64)
    chart.set_report(report)
    xs, ys = chart._total.getData()
    assert list(ys) == [p.output_tokens_per_s for p in report.performance.curve]
    assert xs[0] == 0 and xs[-1] == 8  # log2 of 1 … 256 users
    assert list(chart._high.getData()[1]) == [p.high_output_tokens_per_s for p in report.performance.curve]
    assert chart._now.value() == 4  # log2(16)
    assert list(chart._saturation.getData()[0]) == [6]  # log2(64)
    assert "TTFT" in chart.readout.text() and "250.0 ms" in chart.readout.text()


def test_step_time_bars_stack_compute_memory_communication_waiting(qtbot, reports):
    chart = StepTimeChart()
    qtbot.addWidget(chart)
    report = with_performance(reports["hgx"])
    chart.set_report(report)
    split = report.performance.step_split[4]
    total_ms = (split.compute_s + split.memory_s + split.communication_s + split.waiting_s) * 1e3
    assert chart.total_ms(split.gpu) == pytest.approx(total_ms)


def test_verdict_lists_problems_with_apply_buttons_and_caps_the_rows(qtbot, reports):
    banner = VerdictBanner()
    qtbot.addWidget(banner)
    banner.set_report(reports["over"])
    assert banner.state == "fails"
    assert len(banner.fix_buttons()) == 1
    with qtbot.waitSignal(banner.fix_requested) as signal:
        qtbot.mouseClick(banner.fix_buttons()[0], Qt.MouseButton.LeftButton)
    assert signal.args[0] == reports["over"].problems[0].action
    many = reports["over"].model_copy(update={"problems": reports["over"].problems * 5})
    banner.set_report(many)
    assert len(banner.visible_rows) == len(many.problems) and "scroll" in banner.count.text()
    banner.set_report(reports["hgx"])
    assert banner.state == "fits" and not banner.visible_rows
    banner.set_error("tensor parallel 3 does not divide 64 heads", "use TP 2, 4 or 8")
    assert banner.state == "fails" and "does not divide" in banner.visible_rows[0].text.full


def test_verdict_keeps_its_height_and_shows_key_figures_when_nothing_is_wrong(qtbot, reports):
    # a banner that changed height would re-lay out every chart under it on each edit
    banner = VerdictBanner()
    qtbot.addWidget(banner)
    banner.resize(900, banner.sizeHint().height())
    banner.show()
    heights = set()
    for name in ("hgx", "over", "hgx", "mixed"):
        banner.set_report(reports[name])
        qtbot.wait(1)
        heights.add(banner.sizeHint().height())
    assert len(heights) == 1
    banner.set_report(reports["hgx"])
    hgx = reports["hgx"]
    notes = [row.note for row in banner._rows if row.note]
    tightest = min(hgx.gpus, key=lambda g: g.memory_bytes.free)
    assert notes[0].startswith(f"Tightest GPU: {tightest.id}")
    assert f"{hgx.kv_cache.max_concurrency:,} sequences" in notes[0]
    assert notes[1] == f"Decode bottleneck: {hgx.performance.bottleneck}"
    assert not banner.fix_buttons() and all(row.button.isHidden() for row in banner._rows)


def test_layer_cells_are_as_wide_as_the_layers_are_big():
    from gpuplanner.core.catalog import default_catalog

    data = strip_data(hgx_plan(), default_catalog())
    edges = cell_edges(data, 0.0, 1000.0, min_cell=0.0)
    widths = [b - a for a, b in itertools.pairwise(edges)]
    # Llama 3.1 70B: embeddings 128256 × 8192 = 1.05 B parameters, a layer 0.856 B
    assert widths[0] / widths[1] == pytest.approx(128256 * 8192 / 855_654_400)
    assert layer_at(edges, (edges[11] + edges[12]) / 2) == 10
    assert layer_at(edges, edges[0] + 1) is None  # the embeddings are no layer
    assert nearest_boundary(edges, edges[41] + 0.4 * widths[41]) == 40


def test_boundary_drag_emits_previews_then_one_move(qtbot):
    from gpuplanner.core.catalog import default_catalog

    lm = LayerMap()
    qtbot.addWidget(lm)
    lm.resize(900, 80)
    lm.set_data(strip_data(hgx_plan(), default_catalog()))
    lm.show()
    previews, moves = [], []
    lm.boundary_preview.connect(lambda *a: previews.append(a))
    lm.boundary_moved.connect(lambda *a: moves.append(a))
    y = round(lm.strip_y(0))
    qtbot.mousePress(lm, Qt.MouseButton.LeftButton, pos=QPoint(round(lm.boundary_x(0, 0)), y))
    for layer in (39, 37, 35):
        qtbot.mouseMove(lm, QPoint(round(lm.edges()[layer + 1]), y))
    qtbot.mouseRelease(lm, Qt.MouseButton.LeftButton, pos=QPoint(round(lm.edges()[36]), y))
    assert previews == [(0, 0, 39), (0, 0, 37), (0, 0, 35)]
    assert moves == [(0, 0, 35)]


def test_range_selection_by_dragging_across_layers(qtbot):
    from gpuplanner.core.catalog import default_catalog

    lm = LayerMap()
    qtbot.addWidget(lm)
    lm.resize(900, 80)
    lm.set_data(strip_data(hgx_plan(), default_catalog()))
    lm.show()
    y = round(lm.strip_y(0))
    qtbot.mousePress(lm, Qt.MouseButton.LeftButton, pos=QPoint(round(lm.layer_x(10)), y))
    qtbot.mouseMove(lm, QPoint(round(lm.layer_x(14)), y))
    qtbot.mouseRelease(lm, Qt.MouseButton.LeftButton, pos=QPoint(round(lm.layer_x(14)), y))
    assert lm.selection == (0, 10, 15)


def test_a_report_that_changes_one_kind_of_memory_redraws_only_that_kind(qtbot, reports):
    # an edit usually moves the KV cache and little else: the other segment kinds keep their pictures
    chart = MemoryChart()
    qtbot.addWidget(chart)
    report = reports["hgx"]
    chart.set_report(report)
    calls: list[str] = []
    for name, bar in chart.bars.bars.items():
        original = bar.setOpts
        bar.setOpts = lambda *a, _n=name, _o=original, **k: (calls.append(_n), _o(*a, **k))
    chart.set_report(report)
    assert calls == []  # the same report: nothing to redraw
    g = report.gpus[0]
    ledger = g.memory_bytes.model_copy(
        update={"kv_cache": g.memory_bytes.kv_cache - 2**30, "free": g.memory_bytes.free + 2**30}
    )
    changed = report.model_copy(
        update={"gpus": (g.model_copy(update={"memory_bytes": ledger}), *report.gpus[1:])}
    )
    chart.set_report(changed)
    # KV shrinks by 1 GiB; what is stacked above it (activations, communication, runtime) moves down
    # and free grows: weights, overflow and the hatched kinds stay as they were
    assert "weights" not in calls and "kv_cache" in calls and "free" in calls
    assert chart.bar_gib(g.id, "kv_cache") == pytest.approx(ledger.kv_cache / GIB)


def test_memory_stacks_put_each_ledger_line_on_the_last_up_to_the_capacity(reports):
    from gpuplanner.gui.panel.style import MEMORY_PARTS

    for report in reports.values():  # fits, stranded memory on a mixed rig, over capacity
        lo, hi = memory_stacks(report.gpus)
        for i, g in enumerate(report.gpus):
            cap, level = g.capacity_bytes / GIB, 0.0
            for field, _, _ in MEMORY_PARTS:
                size = getattr(g.memory_bytes, field) / GIB
                assert lo[field][i] == pytest.approx(min(level, cap))
                assert hi[field][i] == pytest.approx(min(level + size, cap))
                level += size
            assert hi["overflow"][i] - lo["overflow"][i] == pytest.approx(max(level - cap, 0.0))
            assert lo["free"][i] == pytest.approx(hi["stranded"][i]) and hi["free"][i] == pytest.approx(cap)


def test_an_axis_top_stays_while_the_data_moves_a_little():
    """A boundary dragged back and forth moved the slowest step across 15 ms (top 15 or 20 ms): the
    axis flipped, and was redrawn, on every other edit. It now stays while the data fill at least 60%
    of it, and moves when they outgrow it or shrink below that."""
    from gpuplanner.gui.panel.style import nice_top, steady_top

    assert nice_top(14.6) == 15 and nice_top(15.4) == 20
    assert steady_top(20, 14.6) == 20  # still holds the data, 73% filled: kept
    assert steady_top(20, 15.4) == 20
    assert steady_top(15, 15.4) == 20  # outgrown: the next round number
    assert steady_top(20, 9.0) == 10  # under 60% filled: shrinks to fit
    assert steady_top(1.0, 840.0) == 1000  # a fresh view's (0, 1) range
