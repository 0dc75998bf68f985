"""The live panel says what the speed rests on and where it extrapolates (core/coverage.py)."""

from __future__ import annotations

from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.quick import quick_plan
from gpuplanner.gui.panel.samples import over_budget_plan
from gpuplanner.gui.panel.throughput import ThroughputChart


def test_speed_area_shows_the_calibration_line_and_its_reasons(qtbot):
    chart = ThroughputChart()
    qtbot.addWidget(chart)
    chart.resize(700, 320)
    chart.show()
    # Mixtral 8x7B on one Intel Gaudi 3 with vLLM: no published speed run on Gaudi (nor is one planned)
    moe = evaluate(
        quick_plan(model="mistralai/Mixtral-8x7B-Instruct-v0.1", gpu="gaudi3", tp=1, engine="vllm")
    )
    chart.set_report(moe)
    label = chart.findChild(type(chart.calibration), "speedCalibration")
    assert label is chart.calibration and label.isVisible()
    ext = moe.performance.extrapolated
    assert label.text().startswith("Extrapolated") and "calibrated on" in label.text()
    assert all(reason in label.toolTip() for reason in ext.reasons)
    assert "Intel Gaudi" in label.text()
    height = label.height()
    # Llama 2 70B in FP8 on four H100 with TensorRT-LLM (the rows M009-M016), then a plan without an
    # estimate: the line follows, same height
    inside = quick_plan(
        model="meta-llama/Llama-2-70b-hf", gpu="h100-sxm", tp=4, weights="fp8", engine="trtllm"
    )
    chart.set_report(evaluate(inside))
    assert label.text().startswith("Calibrated on") and label.text().endswith("inside their range")
    assert "TensorRT-LLM on Hopper" in label.text()
    chart.set_report(evaluate(over_budget_plan()))
    assert label.text() == "" and label.height() == height
