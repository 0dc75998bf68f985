"""Pure functions that build and repair layouts (which layers run on which GPUs)."""

from __future__ import annotations

from gpuplanner.core.errors import PlanError
from gpuplanner.core.plan import Layout, Replica, Rig, Stage


def even_layer_split(num_layers: int, pp: int) -> list[tuple[int, int]]:
    """Split ``num_layers`` into ``pp`` contiguous ranges the way vLLM does by default.

    Every stage gets ``num_layers // pp``; the remainder goes one layer each to the stages just
    before the last (the last stage already carries the lm_head).
    """
    if pp < 1 or pp > num_layers:
        raise PlanError(
            f"cannot split {num_layers} layers into {pp} pipeline stages",
            fix=f"use between 1 and {num_layers} stages",
        )
    sizes = [num_layers // pp] * pp
    for i in range(num_layers % pp):
        sizes[-2 - i if pp > 1 else 0] += 1
    ranges, start = [], 0
    for size in sizes:
        ranges.append((start, start + size))
        start += size
    return ranges


def weighted_layer_split(num_layers: int, weights: list[float]) -> list[tuple[int, int]]:
    """Split layers in proportion to ``weights`` (e.g. free memory per stage), each stage ≥ 1 layer."""
    pp = len(weights)
    if pp > num_layers:
        raise PlanError(
            f"cannot give {pp} stages a layer each from {num_layers} layers", fix="use fewer stages"
        )
    total = sum(max(w, 0.0) for w in weights) or float(pp)
    ideal = [max(w, 0.0) / total * num_layers for w in weights]
    sizes = [max(1, int(x)) for x in ideal]
    # hand out the remainder by largest fractional part, then take back any excess from the largest
    while sum(sizes) < num_layers:
        i = max(range(pp), key=lambda k: ideal[k] - sizes[k])
        sizes[i] += 1
    while sum(sizes) > num_layers:
        i = max((k for k in range(pp) if sizes[k] > 1), key=lambda k: sizes[k] - ideal[k])
        sizes[i] -= 1
    ranges, start = [], 0
    for size in sizes:
        ranges.append((start, start + size))
        start += size
    return ranges


def default_layout(rig: Rig, num_layers: int, tp: int, pp: int = 1, dp: int = 1, ep: int = 1) -> Layout:
    """TP groups of consecutive GPUs (in rig order), then PP stages, then DP replicas."""
    gpus = rig.gpu_ids()
    need = tp * pp * dp
    if need > len(gpus):
        raise PlanError(
            f"TP {tp} × PP {pp} × DP {dp} needs {need} GPUs but the rig has {len(gpus)}",
            fix="add GPUs or lower the parallel degrees",
        )
    ranges = even_layer_split(num_layers, pp)
    replicas = []
    for r in range(dp):
        stages = []
        for s in range(pp):
            start = (r * pp + s) * tp
            stages.append(Stage(layers=ranges[s], gpus=tuple(gpus[start : start + tp])))
        replicas.append(Replica(stages=tuple(stages)))
    return Layout(replicas=tuple(replicas), ep=ep)


def move_layers(layout: Layout, replica: int, from_stage: int, to_stage: int, amount: int) -> Layout:
    """Move ``amount`` layers across the boundary between two neighbouring stages."""
    if abs(from_stage - to_stage) != 1:
        raise PlanError("layers move only between neighbouring stages", fix="pick the stage next to it")
    stages = layout.replicas[replica].stages
    lo, hi = sorted((from_stage, to_stage))
    a, b = stages[lo], stages[hi]
    boundary = a.layers[1] + (-amount if from_stage == lo else amount)
    if not a.layers[0] < boundary < b.layers[1]:
        raise PlanError(
            f"moving {amount} layers would leave a stage empty", fix="move fewer layers or remove the stage"
        )
    return set_stage_boundary(layout, replica, lo, boundary)


def set_stage_boundary(layout: Layout, replica: int, boundary_index: int, layer: int) -> Layout:
    """Put the boundary between stage ``boundary_index`` and the next at ``layer``."""
    stages = list(layout.replicas[replica].stages)
    a, b = stages[boundary_index], stages[boundary_index + 1]
    if not a.layers[0] < layer < b.layers[1]:
        raise PlanError(
            f"a boundary at layer {layer} would leave a stage empty", fix="keep a layer in each stage"
        )
    stages[boundary_index] = a.model_copy(update={"layers": (a.layers[0], layer)})
    stages[boundary_index + 1] = b.model_copy(update={"layers": (layer, b.layers[1])})
    replicas = list(layout.replicas)
    replicas[replica] = Replica(stages=tuple(stages))
    return layout.model_copy(update={"replicas": tuple(replicas)})
