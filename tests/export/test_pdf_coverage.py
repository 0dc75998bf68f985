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


@pytest.mark.usefixtures("poppler")
def test_pdf_says_when_your_own_calibration_applies(export, tmp_path, monkeypatch):
    from pathlib import Path

    from gpuplanner.core.bench_import import parse_bench
    from gpuplanner.core.user_fit import fit_runs, reset_user_calibration, save_fit

    monkeypatch.setenv("GPUPLANNER_USER_DIR", str(tmp_path / "user"))
    bench = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "llama_bench_rtx4080_qwen25_7b.json"
    plan = quick_plan(
        model="Qwen/Qwen2.5-7B-Instruct", gpu="rtx-4080", engine="llamacpp", weights="gguf-q4_k_m"
    )
    runs, _ = parse_bench(bench.read_text(), bench.name)
    save_fit(fit_runs(plan, runs))
    try:
        report = evaluate(plan)
        flat = squash(pdf_text(export(plan, report=report)))
        assert squash("calibrated on your rig: 2 runs, rtx 4080, llama.cpp") in flat.lower()
        assert squash("Your measured runs") in flat  # the throughput chart's legend marks the points
    finally:
        reset_user_calibration()
