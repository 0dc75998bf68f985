"""One verdict everywhere: the panel's banner, the status bar, the command line's text and the PDF give
the same level, icon and sentence for the same report (issue 14: an amber banner next to a "✔" status
bar and a green FITS box in the PDF)."""

from __future__ import annotations

import shutil

import pytest

from gpuplanner.cli.tables import report_text
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.verdict import ICONS, LABELS, verdict_of
from gpuplanner.document.planfile import save_plan


def kv_short_plan():
    """Llama 3.1 70B BF16 on one DGX H100 asked for 4,096 concurrent requests of 32k tokens: 8 × 80 GB
    less 141 GB of weights (70.6 B parameters × 2 bytes, the model card) holds far fewer sequences of
    320 KiB per token (80 layers × 8 KV heads × 128 × 2 × 2 bytes, config.json), so it fits with a
    KV-cache warning."""
    plan = quick_plan(
        model="meta-llama/Llama-3.1-70B-Instruct",
        gpu="h100-sxm",
        tp=8,
        concurrency=4096,
        input_tokens=30_000,
        output_tokens=2_000,
    )
    return plan


def test_a_warning_makes_one_amber_verdict_in_banner_status_bar_and_cli(open_window, tmp_path):
    plan = kv_short_plan()
    report = evaluate(plan)
    assert report.fits and any(p.severity == "warning" for p in report.problems)
    verdict = verdict_of(report)
    assert verdict.level == "warn" and verdict.icon == ICONS["warn"]
    path = tmp_path / "short.gpuplan"
    save_plan(plan, path)
    window = open_window(path)
    banner = window.panel.verdict
    assert banner.state == "warn"
    status = window.verdict_label.text()
    assert status.startswith(ICONS["warn"] + " ") and "✔" not in status
    assert verdict.headline in status
    assert verdict.headline in banner.headline.toolTip()
    assert ICONS["warn"] in banner.headline.text()
    text = report_text(report, plan)
    assert LABELS["warn"] + "  " + verdict.headline in text


def test_an_error_fails_the_same_way_everywhere(open_window, tmp_path):
    plan = quick_plan(model="meta-llama/Llama-3.1-70B-Instruct", gpu="rtx-4090", tp=1)  # 141 GB on 24 GB
    report = evaluate(plan)
    verdict = verdict_of(report)
    assert verdict.level == "fails"
    path = tmp_path / "fails.gpuplan"
    save_plan(plan, path)
    window = open_window(path)
    assert window.panel.verdict.state == "fails"
    assert window.verdict_label.text() == verdict.line
    assert window.verdict_label.text().startswith("✖")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_the_pdf_prints_the_same_verdict_and_the_concurrency_asked(qapp, tmp_path):
    import subprocess

    from gpuplanner.export.pdf import export_plan_pdf

    plan = kv_short_plan()
    report = evaluate(plan)
    out = export_plan_pdf(plan, tmp_path / "short.pdf", report=report)
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    assert "".join(LABELS["warn"].split()) in flat and "".join(verdict_of(report).headline.split()) in flat
    assert "4,096concurrentrequests" in flat  # what was asked, not what the KV cache holds
