"""The panel's edits as undo commands: fix buttons, layer-map drags, TP groups, auto-balance.

Each builder computes its new plan on a draft of the document (through ``gpuplanner.gui.commands``),
so an edit that cannot be made raises ``PlannerError`` before anything is pushed. One gesture is
one command: a whole boundary drag, one fix, one balance.
"""

from __future__ import annotations

import contextlib

from gpuplanner.core import layout_ops as grouping
from gpuplanner.core.balance import OBJECTIVE_NAMES, Objective, balance_layout
from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.errors import CatalogError, PlanError
from gpuplanner.core.layout_ops import move_layers, set_stage_boundary
from gpuplanner.core.plan import Layout
from gpuplanner.core.report import FixAction
from gpuplanner.core.resolve import resolve_plan
from gpuplanner.core.verdict import plural
from gpuplanner.document.document import PlanDocument
from gpuplanner.gui import commands as cmd


def set_checked_layout(d: PlanDocument, layout: Layout, catalog: Catalog | None = None) -> None:
    """``d.set_layout(layout)`` after checking the model can be split that way (TP divides the heads,
    no empty stage): a layout the fit model would refuse is refused here, with its reason."""
    # an unknown GPU or model is the rig's problem, reported by the evaluation, not the layout's
    with contextlib.suppress(CatalogError):
        resolve_plan(d.plan.model_copy(update={"layout": layout}), catalog or default_catalog())
    d.set_layout(layout)


def fix_command(document: PlanDocument, action: FixAction, text: str = "") -> cmd.PlanCommand:
    """The one command that applies a report's ``FixAction``."""
    label = f"Fix: {text}" if text else "Apply fix"
    a = action
    if a.kind == "set_kv_cache":
        return cmd.edit_command(document, label, lambda d: d.set_precisions(kv_cache=a.value))
    if a.kind == "set_weights":
        return cmd.edit_command(document, label, lambda d: d.set_precisions(weights=a.value))
    if a.kind == "set_max_model_len":
        return cmd.edit_command(document, label, lambda d: d.set_engine_settings(max_model_len=a.amount))
    if a.kind == "set_concurrency":
        return cmd.edit_command(document, label, lambda d: d.set_workload(concurrency=a.amount))
    if a.kind == "set_gpu_memory_utilization":
        return cmd.edit_command(
            document, label, lambda d: d.set_engine_settings(gpu_memory_utilization=a.number)
        )
    if a.kind == "move_layers":
        return cmd.edit_command(
            document,
            label,
            lambda d: d.set_layout(move_layers(d.plan.layout, a.replica, a.from_stage, a.to_stage, a.amount)),
        )
    raise PlanError(f"the window cannot apply a '{a.kind}' fix yet", fix="make the change in the inspector")


def boundary_command(document: PlanDocument, replica: int, boundary: int, layer: int) -> cmd.PlanCommand:
    """Put the boundary after stage ``boundary`` (0-based) of ``replica`` at ``layer``."""
    before = document.plan.layout.replicas[replica].stages[boundary].layers[1]
    moved = abs(layer - before)
    text = f"Move {moved} layer{'s' if moved != 1 else ''} between stages {boundary + 1} and {boundary + 2}"
    return cmd.edit_command(
        document,
        text,
        lambda d: set_checked_layout(d, set_stage_boundary(d.plan.layout, replica, boundary, layer)),
    )


def assign_range_command(
    document: PlanDocument, replica: int, first: int, last: int, gpu_id: str
) -> cmd.PlanCommand:
    layout = document.plan.layout
    if not 0 <= replica < layout.dp:  # a drop from another program may name anything
        raise PlanError(f"the plan has no replica {replica + 1}", fix="drag layers of one of its replicas")
    total = layout.replicas[replica].stages[-1].layers[1]
    if not 0 <= first < last <= total:
        raise PlanError(
            f"layers {first}–{last - 1} are not a range of the model's {total} layers",
            fix=f"drag a range within layers 0–{total - 1}",
        )
    text = f"Put layers {first}–{last - 1} on {gpu_id}'s stage"
    return cmd.edit_command(
        document,
        text,
        lambda d: set_checked_layout(d, grouping.assign_range(d.plan.layout, replica, first, last, gpu_id)),
    )


def make_tp_group_command(document: PlanDocument, gpu_ids: list[str]) -> cmd.PlanCommand:
    order = {g: i for i, g in enumerate(document.plan.rig.gpu_ids())}
    ranked = sorted(dict.fromkeys(gpu_ids), key=lambda g: order.get(g, len(order)))
    text = f"Make TP group of {plural(len(ranked), 'GPU')}"
    return cmd.edit_command(
        document, text, lambda d: set_checked_layout(d, grouping.make_tp_group(d.plan.layout, ranked))
    )


def split_group_command(document: PlanDocument, gpu_id: str) -> cmd.PlanCommand:
    return cmd.edit_command(
        document,
        "Split TP group into pipeline stages",
        lambda d: set_checked_layout(d, grouping.split_into_stages(d.plan.layout, gpu_id)),
    )


def balance_command(
    document: PlanDocument, objective: Objective, catalog: Catalog | None = None
) -> cmd.PlanCommand:
    text = f"Auto-balance ({OBJECTIVE_NAMES[objective].split(':')[0].lower()})"
    return cmd.edit_command(
        document, text, lambda d: d.set_layout(balance_layout(d.plan, objective, catalog))
    )
