"""The PDF's performance section says what the speeds rest on and where they extrapolate."""

from __future__ import annotations

import pytest

from export.conftest import pdf_text, squash
from gpuplanner.core.coverage import coverage_line
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.quick import quick_plan


@pytest.mark.usefixtures("poppler")
def test_pdf_states_the_calibration_line(export):
    # Mixtral 8x7B on one Intel Gaudi 3 with vLLM: no published speed run on Gaudi
    plan = quick_plan(model="mistralai/Mixtral-8x7B-Instruct-v0.1", gpu="gaudi3", tp=1, engine="vllm")
    report = evaluate(plan)
    line = coverage_line(report.performance)
    assert "extrapolated" in line and "Intel Gaudi" in line
    flat = squash(pdf_text(export(plan, report=report)))
    assert squash(line) in flat
