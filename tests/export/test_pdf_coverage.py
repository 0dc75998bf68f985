"""The PDF's performance section says what the speeds rest on and where they extrapolate."""

from __future__ import annotations

import pytest

from export.conftest import pdf_text, squash
from gpuplanner.core.coverage import coverage_line
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.quick import quick_plan


@pytest.mark.usefixtures("poppler")
def test_pdf_states_the_calibration_line(export):
    plan = quick_plan(model="openai/gpt-oss-20b", gpu="rtx-4090", weights="gguf-q4_k_m", engine="llamacpp")
    report = evaluate(plan)
    line = coverage_line(report.performance)
    assert "extrapolated" in line
    flat = squash(pdf_text(export(plan, report=report)))
    assert squash(line) in flat
