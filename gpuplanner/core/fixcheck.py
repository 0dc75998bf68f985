"""Fixes that fix: a problem's one-click fix is kept only when the model says it solves the problem.

``evaluate`` applies each offered ``FixAction`` to a copy of the plan and evaluates that copy with the
same model. When the problem is still there (fp8 weights for a 70B model on one 24 GB card: still tens
of GiB over), the action is dropped and the fix says what would still be missing instead, so no Apply
button promises what it cannot do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpuplanner.core.errors import PlannerError
from gpuplanner.core.layout_ops import move_layers
from gpuplanner.core.plan import Plan
from gpuplanner.core.report import FixAction, Problem, Report


def _rebuilt(obj: Any, **update: Any) -> Any:
    return type(obj)(**{**dict(obj), **update})  # validated, as the document's edits are


def apply_fix(plan: Plan, action: FixAction) -> Plan:
    """``plan`` with ``action`` applied (the same change the window's Apply button makes)."""
    a = action
    if a.kind == "set_kv_cache":
        return _rebuilt(plan, kv_cache=a.value)
    if a.kind == "set_weights":
        return _rebuilt(plan, weights=a.value)
    if a.kind == "set_max_model_len":
        return _rebuilt(plan, engine=_rebuilt(plan.engine, max_model_len=a.amount))
    if a.kind == "set_concurrency":
        return _rebuilt(plan, workload=_rebuilt(plan.workload, concurrency=a.amount))
    if a.kind == "set_gpu_memory_utilization":
        return _rebuilt(plan, engine=_rebuilt(plan.engine, gpu_memory_utilization=a.number))
    if a.kind == "move_layers":
        layout = move_layers(plan.layout, a.replica, a.from_stage, a.to_stage, a.amount)
        return _rebuilt(plan, layout=layout)
    raise ValueError(f"unknown fix kind {a.kind!r}")


def _key(problem: Problem) -> tuple[str, str | None, str]:
    """What makes two problems the same one: severity, GPU and the words before the first colon
    ('won't start', 'runs out of memory', 'runs out of KV cache at …')."""
    head = problem.message.split(":", 1)[0]
    words = head.split()
    if words[:4] == ["runs", "out", "of", "KV"]:
        head = "runs out of KV"
    return problem.severity, problem.gpu, head


def _fallback(problem: Problem, report: Report) -> tuple[str, FixAction] | None:
    """A second fix to try when the first does not solve the problem: asking for no more concurrent
    requests than the KV cache holds always clears a KV-cache warning."""
    if _key(problem)[2] == "runs out of KV" and report.kv_cache.max_concurrency >= 1:
        n = report.kv_cache.max_concurrency
        return f"plan for {n:,} concurrent requests", FixAction(kind="set_concurrency", amount=n)
    return None


def check_fixes(plan: Plan, report: Report, evaluate_plan: Callable[[Plan], Report]) -> Report:
    """``report`` with every offered fix checked by evaluating the fixed plan; a fix that leaves its
    problem in place loses its action and says what would still be missing."""
    if not any(p.action is not None for p in report.problems):
        return report
    checked: list[Problem] = []
    changed = False
    for problem in report.problems:
        if problem.action is None or problem.severity == "info":
            checked.append(problem)
            continue
        try:
            after = evaluate_plan(apply_fix(plan, problem.action))
        except (PlannerError, ValueError):
            after = None
        key = _key(problem)
        still = None if after is None else next((p for p in after.problems if _key(p) == key), None)
        if after is not None and still is None:
            checked.append(problem)
            continue
        changed = True
        fallback = _fallback(problem, report)
        if fallback is not None and still is not None:
            try:
                solved = all(_key(p) != key for p in evaluate_plan(apply_fix(plan, fallback[1])).problems)
            except (PlannerError, ValueError):
                solved = False
            if solved:
                text = f"{fallback[0]} (“{problem.fix}” alone would leave it: {still.message})"
                checked.append(problem.model_copy(update={"action": fallback[1], "fix": text}))
                continue
        if still is not None:
            fix = f"“{problem.fix or 'the offered change'}” is not enough; after it, {still.message}"
        else:
            fix = problem.fix
        checked.append(problem.model_copy(update={"action": None, "fix": fix}))
    if not changed:
        return report
    return report.model_copy(update={"problems": tuple(checked)})
