"""The PDF opens with the decision: what to buy, how to launch it, speed at the target, cost per million
tokens, power, headroom and risks, on page 1, before the details."""

from __future__ import annotations

import pytest

from export.conftest import pdf_text, squash
from gpuplanner.core.decision import decide
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.launch import launch_for
from gpuplanner.core.slo import slo_search
from gpuplanner.document.planfile import load_plan
from gpuplanner.export.cli import main as export_main


@pytest.mark.usefixtures("poppler")
def test_first_page_is_the_decision(sample, export):
    plan, report = sample
    first = pdf_text(export(plan, report=report)).split("\f")[0]
    for label in ("The decision", "Buy", "Launch", "Speed at target", "Cost", "Power", "Headroom", "Risks"):
        assert label in first, label
    flat = squash(first)
    launch = launch_for(plan)
    if launch.runnable:  # the server's program and its first flag are printed on page 1
        server = launch.steps[-1].argv
        assert squash(" ".join(server[:2])) in flat
    decision = decide(plan, report)
    assert squash(f"{decision.power.total:,.0f} W loaded") in flat
    gpu = next(i for i in decision.bom if i.kind == "gpu")
    assert squash(f"{gpu.count} × {gpu.item}") in flat


@pytest.mark.usefixtures("poppler")
def test_service_level_targets_reach_the_first_page(tmp_path, qapp):
    from export.conftest import sample_plan_paths

    path = next(p for p in sample_plan_paths() if "dgx-h100-llama-3.1-70b" in p.name)
    out = tmp_path / "slo.pdf"
    assert export_main([str(path), "-o", str(out), "--slo-ttft-ms", "500", "--slo-tpot-ms", "30"]) == 0
    first = squash(pdf_text(out).split("\f")[0])
    expected = slo_search(load_plan(path), 500.0, 30.0, report=evaluate(load_plan(path)))
    assert squash(f"up to {expected.max_concurrency:,} users within it") in first
    assert export_main([str(path), "-o", str(out), "--slo-tpot-ms", "-1"]) == 2
