"""evaluate shares the work of identical replicas, stages and GPUs: the reports must not change.

``tests/data/evaluate_regression/`` holds the JSON reports of commit 7028cb4, before the sharing,
written by ``benchmarks/evaluate_regression.py`` (see its docstring). They are a regression guard,
not golden values: they pin "the same output as before", not what is right; a deliberate change to
the model's figures rewrites them with that script (and says so in its commit).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.evaluate_regression import plans, reports

SAVED = Path(__file__).resolve().parent.parent / "data" / "evaluate_regression"


def test_every_saved_plan_is_still_built() -> None:
    assert {p.stem for p in SAVED.glob("*.json")} == set(plans())


@pytest.fixture(scope="module")
def now() -> dict[str, str]:
    return reports()


@pytest.mark.parametrize("name", sorted(p.stem for p in SAVED.glob("*.json")))
def test_report_unchanged(name: str, now: dict[str, str]) -> None:
    assert now[name] == (SAVED / f"{name}.json").read_text()


def test_report_does_not_depend_on_earlier_evaluations() -> None:
    """Step times are shared across evaluations; the links a report names stay the plan's own."""
    from gpuplanner.core.catalog import default_catalog
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.core.quick import quick_plan

    cat = default_catalog()
    plan = quick_plan(model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", tp=8, catalog=cat)
    node = plan.rig.nodes[0]
    renamed = plan.model_copy(
        update={"rig": plan.rig.model_copy(update={"nodes": (node.model_copy(update={"id": "rack7"}),)})}
    )
    evaluate(plan, cat)  # times the same stage first, on a node with another name
    perf = evaluate(renamed, cat).performance
    assert perf is not None
    names = [link.name for link in perf.links if link.purpose == "tensor parallel"]
    assert names == ["NVSwitch (rack7)"]
