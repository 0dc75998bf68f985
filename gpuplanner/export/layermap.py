"""The layer-map and problems pages' tables: which GPU holds which layers, the pipeline stages with
their tensor-parallel groups, and what to change. Qt-free."""

from __future__ import annotations

from gpuplanner.export import formats as fmt
from gpuplanner.export.content import Cell, Column, PlanFacts, TableData, short_gpu_name
from gpuplanner.export.sections import gpu_list


def layer_table(facts: PlanFacts) -> TableData:
    """Which layers each GPU holds, and where it sits."""
    columns = [
        Column("GPU", 1),
        Column("Server", 1.2),
        Column("Model", 1.8),
        Column("Replica", 0.8, "right"),
        Column("Stage", 0.7, "right"),
        Column("TP #", 0.8, "right"),
        Column("Layers", 1, "right"),
        Column("Also holds", 1.6),
        Column("Parameters", 1.1, "right"),
    ]
    nodes = {n.id: n.name for n in facts.plan.rig.nodes}
    rows: list[list[Cell | str]] = []
    for g in facts.report.gpus:
        extra = [label for label, on in (("embeddings", g.has_embeddings), ("LM head", g.has_lm_head)) if on]
        rows.append(
            [
                Cell(g.id, "strong"),
                nodes.get(g.node, g.node),
                short_gpu_name(g.gpu_name),
                str(g.replica + 1),  # people count from 1; the JSON keeps 0-based indices
                str(g.stage + 1),
                str(g.tp_rank + 1),
                fmt.layer_range(g.layers),
                ", ".join(extra) or fmt.DASH,
                fmt.params_b(g.weight_params) if g.weight_params else fmt.DASH,
            ]
        )
    for gid in facts.idle_gpus:
        rows.append(
            [Cell(gid, "muted"), "", Cell("idle: not in the layout", "muted"), "", "", "", "", "", ""]
        )
    return TableData.build(columns, rows)


def stage_table(facts: PlanFacts) -> TableData:
    """One row per pipeline stage: its layers and its tensor-parallel group."""
    columns = [
        Column("Replica", 0.8, "right"),
        Column("Stage", 0.7, "right"),
        Column("Layers", 1, "right"),
        Column("Count", 0.7, "right"),
        Column("TP", 0.5, "right"),
        Column("Tensor-parallel group", 4.2),
        Column("Servers", 1.4),
    ]
    where = {gid: node for gid, _, node in facts.rig_gpus}
    rows: list[list[Cell | str]] = []
    for r, replica in enumerate(facts.plan.layout.replicas):
        for s, stage in enumerate(replica.stages):
            servers = sorted({where.get(g, "?") for g in stage.gpus})
            rows.append(
                [
                    str(r + 1),
                    str(s + 1),
                    fmt.layer_range(stage.layers),
                    str(stage.num_layers),
                    str(stage.tp),
                    gpu_list(stage.gpus),
                    ", ".join(servers),
                ]
            )
    return TableData.build(columns, rows)


def grouped_errors(facts: PlanFacts) -> list[str]:
    """The errors as sentences with their fix, one per fix: the same problem on eight GPUs is one line."""
    groups: dict[str, list] = {}
    for p in facts.report.problems:
        if p.severity == "error":
            groups.setdefault(p.fix or p.message, []).append(p)
    lines = []
    for problems in groups.values():
        first = problems[0]
        text = first.message[:1].upper() + first.message[1:].rstrip(".") + "."
        others = [p.gpu for p in problems[1:] if p.gpu]
        if others:
            text += f" The same on {gpu_list(others)}."
        if first.fix:
            text += f" Fix: {first.fix}."
        lines.append(text)
    return lines


def problem_table(facts: PlanFacts) -> TableData:
    columns = [
        Column("Severity", 0.9),
        Column("GPU", 0.7),
        Column("Problem", 4),
        Column("What to change", 2.6),
    ]
    tones = {"error": "bad", "warning": "warn", "info": "muted"}
    rows: list[list[Cell | str]] = []
    for p in facts.report.problems:
        rows.append(
            [Cell(p.severity, tones.get(p.severity, "")), p.gpu or "all", p.message, p.fix or fmt.DASH]
        )
    return TableData.build(columns, rows)
