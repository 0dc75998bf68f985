"""core.budget: one rule for how a GPU's memory fills its capacity (panel chart, PDF chart, card)."""

from __future__ import annotations

import pytest

from gpuplanner.core.budget import LEDGER_PARTS, budgets, used_bytes
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.specs import GIB
from gpuplanner.document.planfile import load_plan
from gpuplanner.paths import examples_dir


@pytest.mark.parametrize(
    "name",
    [
        "2x-l40s-llama-3.1-70b-bf16-does-not-fit",
        "mixed-3090-4090-qwen3-32b-uneven",
        "8x-h200-deepseek-r1-fp8",
    ],
)
def test_each_bar_fills_its_capacity_exactly_once(name):
    report = evaluate(load_plan(examples_dir() / f"{name}.gpuplan"))
    bars = budgets(report.gpus, LEDGER_PARTS, 1 / GIB)
    for i, g in enumerate(report.gpus):
        cap, used = g.capacity_bytes / GIB, used_bytes(g) / GIB
        parts, over, stranded, free = bars.lengths(i)
        assert sum(parts) + stranded + free == pytest.approx(cap)  # clipped at the capacity line
        assert over == pytest.approx(max(used - cap, 0.0))
        assert min(parts) >= 0 and stranded >= 0 and free >= 0
        if used > cap:
            assert stranded == free == 0
        else:
            assert parts == pytest.approx([getattr(g.memory_bytes, p) / GIB for p in LEDGER_PARTS])
            assert stranded == pytest.approx(min(g.stranded_bytes / GIB, cap - used))


def test_the_plan_that_does_not_fit_has_a_gpu_over_its_capacity():
    report = evaluate(load_plan(examples_dir() / "2x-l40s-llama-3.1-70b-bf16-does-not-fit.gpuplan"))
    assert any(used_bytes(g) > g.capacity_bytes for g in report.gpus)
