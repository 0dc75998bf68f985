"""The live panel's readouts as a person uses them: tooltips that stay while the pointer rests, a
crosshair on the throughput curve, the requested concurrency on the axis, words with their plurals."""

from __future__ import annotations

import math
from itertools import pairwise

from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.quick import quick_plan
from gpuplanner.gui.panel.throughput import ThroughputChart, rates_text


def asked_too_many():
    """Llama 3.1 70B BF16 on a DGX H100 asked for 4,096 requests of 32k tokens: the KV cache holds far
    fewer (see test_one_verdict), so the curve stops well before 4,096."""
    return quick_plan(
        model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", tp=8, concurrency=4096,
        input_tokens=30_000, output_tokens=2_000,
    )  # fmt: skip


def test_the_axis_reaches_the_concurrency_asked_and_marks_it(qtbot):
    chart = ThroughputChart()
    qtbot.addWidget(chart)
    report = evaluate(asked_too_many())
    assert report.performance.concurrency < 4096
    chart.set_report(report, asked=4096)
    x_range = chart.plot.getPlotItem().getViewBox().viewRange()[0]
    assert x_range[1] >= math.log2(4096)
    assert chart._asked.isVisible() and "4,096" in chart._asked_label.toPlainText()
    assert chart._now_label.toPlainText().strip() == f"now: {report.performance.concurrency:,}"
    chart.set_report(report, asked=report.performance.concurrency)  # what runs is what was asked
    assert not chart._asked.isVisible()


def test_crosshair_reads_the_curve_at_the_pointer(qtbot):
    chart = ThroughputChart()
    qtbot.addWidget(chart)
    report = evaluate(asked_too_many())
    chart.set_report(report, asked=4096)
    point = report.performance.curve[len(report.performance.curve) // 2]
    text = chart.show_crosshair(point.concurrency)
    assert f"{point.output_tokens_per_s:,.0f} tok/s total" in text
    assert f"{point.tokens_per_s_per_user:,.1f} tok/s per user" in text
    assert "TPOT" in text and chart._cross.isVisible()
    assert point.ttft_s is not None and "TTFT" in text  # every point of the curve has its own TTFT


def test_curve_points_carry_the_reports_own_speeds():
    """The curve's point at the plan's concurrency is the report's own TTFT, TPOT and throughput
    ('max': the last point is the concurrency the report is at)."""
    from gpuplanner.core.quick import quick_plan

    perf = evaluate(quick_plan(model="llama-3.1-70b", gpu="h100-sxm", tp=8, concurrency="max")).performance
    last = perf.curve[-1]
    assert last.concurrency == perf.concurrency
    assert last.ttft_s == perf.ttft_s and last.output_tokens_per_s == perf.output_tokens_per_s
    # more users wait longer, but for the step where the engines' all-reduce switches from one shot to
    # two (vLLM: at 256 KiB for 8 GPUs, 16 tokens of Llama 70B's 8,192-wide activations): a dip of <1%
    ttfts = [p.ttft_s for p in perf.curve]
    assert all(later > 0.99 * earlier for earlier, later in pairwise(ttfts))
    assert ttfts[-1] > ttfts[0]


def test_a_chart_tooltip_survives_the_views_own_tooltip_event(main_window, qtbot):
    """Qt sends the chart's view a tool-tip event once the pointer rests; the scene has no item tooltip
    and used to hide the text about a second after it appeared."""
    chart = main_window.panel.memory
    chart.tip.show("<b>g0_0</b> held")
    viewport = chart.plot.viewport()
    event = QHelpEvent(QEvent.Type.ToolTip, QPoint(5, 5), viewport.mapToGlobal(QPoint(5, 5)))
    QApplication.sendEvent(viewport, event)
    assert QToolTip.isVisible() and "held" in QToolTip.text()
    QApplication.sendEvent(viewport, QEvent(QEvent.Type.Leave))
    qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=2000)


def test_rates_read_right_for_one_user_and_many():
    one = rates_text(50, 43, 1)
    assert "1 user" in one and "1 users" not in one and "per user" not in one
    many = rates_text(20, 640, 32)
    assert "per user" in many and "32 users" in many


def test_two_apply_buttons_do_not_cover_each_other(open_window, qtbot):
    from gpuplanner.paths import examples_dir

    window = open_window(examples_dir() / "2x-l40s-llama-3.1-70b-bf16-does-not-fit.gpuplan")
    buttons = window.panel.verdict.fix_buttons()
    assert len(buttons) == 2
    qtbot.wait(10)
    first, second = (b.mapTo(window, b.rect().topLeft()) for b in buttons)
    assert second.y() >= first.y() + buttons[0].height()  # the second starts below the first's bottom
