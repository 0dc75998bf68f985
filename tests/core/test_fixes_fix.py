"""Fixes that fix (issue 14): a problem offers its one-click action only when evaluating the plan with
that action applied no longer shows the problem; otherwise the fix says what would still be missing."""

from __future__ import annotations

import pytest
from export.conftest import sample_plan_paths

from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.fixcheck import _key, apply_fix
from gpuplanner.core.quick import quick_plan
from gpuplanner.document.planfile import load_plan


def test_fp8_weights_are_not_offered_for_70b_on_one_24_gb_card():
    """Llama 3.1 70B has 70.6 B parameters (model card): ~66 GiB at one byte each, more than an RTX 4090's
    24 GB (NVIDIA's specifications), so fp8 cannot be the fix."""
    plan = quick_plan(model="meta-llama/Llama-3.1-70B-Instruct", gpu="rtx-4090", tp=1)
    report = evaluate(plan)
    errors = [p for p in report.problems if p.severity == "error"]
    assert errors and all(p.action is None for p in errors)
    assert any("is not enough" in p.fix for p in errors)


@pytest.mark.parametrize("path", sample_plan_paths(), ids=lambda p: p.stem)
def test_every_offered_action_solves_its_problem(path):
    plan = load_plan(path)
    report = evaluate(plan)
    for problem in report.problems:
        if problem.action is None:
            continue
        after = evaluate(apply_fix(plan, problem.action))
        assert all(_key(p) != _key(problem) for p in after.problems), problem.message


def test_a_kv_warning_keeps_a_fix_that_works():
    plan = quick_plan(
        model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", tp=8, concurrency=4096,
        input_tokens=30_000, output_tokens=2_000,
    )  # fmt: skip
    report = evaluate(plan)
    warning = next(p for p in report.problems if p.severity == "warning")
    assert warning.action is not None
    after = evaluate(apply_fix(plan, warning.action))
    assert all(_key(p) != _key(warning) for p in after.problems)
