"""The live panel says what the speed rests on and where it extrapolates (core/coverage.py)."""

from __future__ import annotations

from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.quick import quick_plan
from gpuplanner.gui.panel.samples import hgx_plan, over_budget_plan
from gpuplanner.gui.panel.throughput import ThroughputChart


def test_speed_area_shows_the_calibration_line_and_its_reasons(qtbot):
    chart = ThroughputChart()
    qtbot.addWidget(chart)
    chart.resize(700, 320)
    chart.show()
    # an MoE model in 4-bit GGUF on one RTX 4090 with llama.cpp: no published run is like it
    moe = evaluate(
        quick_plan(model="openai/gpt-oss-20b", gpu="rtx-4090", weights="gguf-q4_k_m", engine="llamacpp")
    )
    chart.set_report(moe)
    label = chart.findChild(type(chart.calibration), "speedCalibration")
    assert label is chart.calibration and label.isVisible()
    ext = moe.performance.extrapolated
    assert label.text().startswith("Extrapolated") and "calibrated on" in label.text()
    assert all(reason in label.toolTip() for reason in ext.reasons)
    assert "GeForce" in label.toolTip()
    height = label.height()
    # a plan the file does measure-ish, then one without an estimate: the line follows, same height
    chart.set_report(evaluate(hgx_plan()))
    assert label.text().startswith("Calibrated on") and "Hopper" in label.text()
    chart.set_report(evaluate(over_budget_plan()))
    assert label.text() == "" and label.height() == height
