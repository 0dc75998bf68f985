"""Every layout edit: pure functions that build, edit and repair layouts (which layers run on which
GPUs), on frozen ``Layout``s.

- building: ``even_layer_split``, ``weighted_layer_split``, ``default_layout``, ``layout_from_order``,
  ``single_gpu_layout``;
- the panel's gestures: ``move_layers``, ``set_stage_boundary``, ``assign_range`` (give a range of
  layers to a GPU's stage), ``make_tp_group``, ``split_into_stages``;
- keeping a layout valid while the rig is edited: ``remove_gpus_from_layout``, ``repair_layout``,
  ``rescale_layout``, ``validate_layout``.

A layout is valid for a rig when every GPU id it names exists in the rig and no GPU is named twice. A GPU
that is in the rig but not in the layout is simply unused. The one exception is an empty rig: there is
nothing a layout could name, so the last layout is kept as it was ("stale") and the window says the rig
is empty instead of evaluating it. An edit that cannot give a valid layout raises ``PlanError`` with
the reason in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
    return layout_from_order(gpus, num_layers, tp, pp, dp, ep)


def layout_from_order(
    gpus: Sequence[str], num_layers: int, tp: int, pp: int = 1, dp: int = 1, ep: int = 1
) -> Layout:
    """Like ``default_layout``, over ``gpus`` in the order given (a search's own GPU order): TP groups
    of consecutive GPUs, then PP stages, then DP replicas; GPUs beyond ``tp·pp·dp`` stay unused."""
    need = tp * pp * dp
    if need > len(gpus):
        raise PlanError(
            f"TP {tp} × PP {pp} × DP {dp} needs {need} GPUs but {len(gpus)} were given",
            fix="add GPUs or lower the parallel degrees",
        )
    ranges = even_layer_split(num_layers, pp)
    replicas = tuple(
        Replica(
            stages=tuple(
                Stage(layers=ranges[s], gpus=tuple(gpus[(r * pp + s) * tp : (r * pp + s + 1) * tp]))
                for s in range(pp)
            )
        )
        for r in range(dp)
    )
    return Layout(replicas=replicas, ep=ep)


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


def layout_gpu_ids(layout: Layout) -> list[str]:
    """Every GPU id the layout names, in replica, stage and TP-rank order."""
    return [gpu for replica in layout.replicas for stage in replica.stages for gpu in stage.gpus]


def layout_layer_range(layout: Layout) -> tuple[int, int]:
    """[first, last) transformer layers the first replica covers."""
    stages = layout.replicas[0].stages
    return stages[0].layers[0], stages[-1].layers[1]


def _without(stages: tuple[Stage, ...], gone: set[str]) -> tuple[Stage, ...]:
    """Drop ``gone`` from each stage; an emptied stage hands its layers to its neighbour."""
    kept: list[Stage] = []
    orphan: tuple[int, int] | None = None  # layers of emptied stages waiting for a next stage
    for stage in stages:
        gpus = tuple(g for g in stage.gpus if g not in gone)
        if not gpus:
            if kept:
                last = kept[-1]
                kept[-1] = Stage(layers=(last.layers[0], stage.layers[1]), gpus=last.gpus)
            else:
                first = orphan[0] if orphan else stage.layers[0]
                orphan = (first, stage.layers[1])
            continue
        first = orphan[0] if orphan else stage.layers[0]
        orphan = None
        kept.append(Stage(layers=(first, stage.layers[1]), gpus=gpus))
    return tuple(kept)


def remove_gpus_from_layout(layout: Layout, gpu_ids: Iterable[str]) -> Layout | None:
    """The layout without ``gpu_ids``; None when no GPU of it would be left.

    An emptied stage's layers merge into the previous stage (the next one for the first stage); an
    emptied replica goes. The expert-parallel degree is kept unless it no longer divides anything.
    """
    gone = set(gpu_ids)
    if not gone.intersection(layout_gpu_ids(layout)):
        return layout
    replicas = []
    for replica in layout.replicas:
        stages = _without(replica.stages, gone)
        if stages:
            replicas.append(Replica(stages=stages))
    if not replicas:
        return None
    return Layout(replicas=tuple(replicas), ep=layout.ep)


def single_gpu_layout(gpu_id: str, layers: tuple[int, int]) -> Layout:
    """Every layer on one GPU: the layout a rig starts from when it gets its first GPU."""
    return Layout(replicas=(Replica(stages=(Stage(layers=layers, gpus=(gpu_id,)),)),))


def is_layout_stale(layout: Layout, rig: Rig) -> bool:
    """True when the layout names no GPU of the rig (it outlived an emptied rig)."""
    present = set(rig.gpu_ids())
    return not any(g in present for g in layout_gpu_ids(layout))


def repair_layout(layout: Layout, rig: Rig) -> Layout:
    """Make ``layout`` valid for ``rig``: drop GPUs the rig lost, adopt the rig's first GPU when the
    layout names none of them, keep the stale layout of an empty rig."""
    present = rig.gpu_ids()
    if not present:
        return layout
    if is_layout_stale(layout, rig):
        return single_gpu_layout(present[0], layout_layer_range(layout))
    missing = set(layout_gpu_ids(layout)) - set(present)
    repaired = remove_gpus_from_layout(layout, missing) if missing else layout
    assert repaired is not None  # not stale, so at least one GPU stays
    return repaired


def _cut_points(stages: tuple[Stage, ...], first: int, old_total: int, num_layers: int) -> list[int]:
    """Stage boundaries for ``num_layers`` layers, each stage keeping its share (at least one layer
    per stage when there are enough layers)."""
    cuts = [round((stage.layers[1] - first) * num_layers / old_total) for stage in stages[:-1]]
    gap = 1 if num_layers >= len(stages) else 0
    for i in range(len(cuts)):
        cuts[i] = max(cuts[i], (cuts[i - 1] if i else 0) + gap)
    for i in reversed(range(len(cuts))):
        cuts[i] = min(cuts[i], (cuts[i + 1] if i + 1 < len(cuts) else num_layers) - gap)
    return [0, *cuts, num_layers]


def rescale_layout(layout: Layout, num_layers: int) -> Layout:
    """The same stages with their layer ranges stretched to a model of ``num_layers`` layers, so that
    switching models keeps the pipeline's shape."""
    first, last = layout_layer_range(layout)
    old_total = max(last - first, 1)
    replicas = []
    for replica in layout.replicas:
        bounds = _cut_points(replica.stages, first, old_total, num_layers)
        stages = tuple(
            Stage(layers=(bounds[i], bounds[i + 1]), gpus=stage.gpus)
            for i, stage in enumerate(replica.stages)
        )
        replicas.append(Replica(stages=stages))
    return Layout(replicas=tuple(replicas), ep=layout.ep)


def validate_layout(layout: Layout, rig: Rig) -> str | None:
    """Why ``layout`` does not suit ``rig`` (in words), or None when it does."""
    present = set(rig.gpu_ids())
    named = layout_gpu_ids(layout)
    if not present:
        return None
    unknown = [g for g in named if g not in present]
    if unknown:
        return f"the layout names GPUs that are not in the rig: {', '.join(unknown)}"
    twice = sorted({g for g in named if named.count(g) > 1})
    if twice:
        return f"the layout uses GPUs more than once: {', '.join(twice)}"
    for r, replica in enumerate(layout.replicas):
        for s, (a, b) in enumerate(zip(replica.stages, replica.stages[1:], strict=False)):
            if a.layers[1] != b.layers[0]:
                return f"replica {r + 1}: stage {s + 1} ends at layer {a.layers[1]} but stage {s + 2} starts at {b.layers[0]}"
    return None


# -- the panel's gestures on groups and ranges --------------------------------------------------------
_PLACEHOLDER = "\x00new-group"


def stage_of(layout: Layout, gpu_id: str) -> tuple[int, int] | None:
    """(replica, stage) of a GPU in the layout, None when it is unused."""
    for r, replica in enumerate(layout.replicas):
        for s, stage in enumerate(replica.stages):
            if gpu_id in stage.gpus:
                return r, s
    return None


def _replace_replica(layout: Layout, index: int, stages: list[Stage]) -> Layout:
    replicas = list(layout.replicas)
    replicas[index] = Replica(stages=tuple(stages))
    return Layout(replicas=tuple(replicas), ep=layout.ep)


def assign_range(layout: Layout, replica: int, first: int, last: int, gpu_id: str) -> Layout:
    """Layers [first, last) go to the stage ``gpu_id`` serves (its TP group), its neighbours giving them
    up; an unused GPU gets them as a new stage cut from the start or the end of the stage holding them."""
    if not first < last:
        raise PlanError("pick at least one layer to move")
    where = stage_of(layout, gpu_id)
    if where is None:
        return _new_stage(layout, replica, first, last, gpu_id)
    r, t = where
    stages = list(layout.replicas[r].stages)
    target = stages[t]
    lo, hi = min(first, target.layers[0]), max(last, target.layers[1])
    out: list[Stage] = []
    for s, stage in enumerate(stages):
        a, b = stage.layers
        if s < t:
            a, b = min(a, lo), min(b, lo)
        elif s > t:
            a, b = max(a, hi), max(b, hi)
        else:
            a, b = lo, hi
        if a >= b:
            raise PlanError(
                f"stage {s + 1} would be left without layers",
                fix=f"leave at least one layer on stage {s + 1}, or drop the layers on a neighbouring stage",
            )
        out.append(Stage(layers=(a, b), gpus=stage.gpus))
    return _replace_replica(layout, r, out)


def _new_stage(layout: Layout, replica: int, first: int, last: int, gpu_id: str) -> Layout:
    stages = list(layout.replicas[replica].stages)
    holder = next((s for s, st in enumerate(stages) if st.layers[0] <= first and last <= st.layers[1]), None)
    if holder is None:
        raise PlanError(
            f"layers {first}–{last - 1} span several stages",
            fix="drag a range within one stage onto the unused GPU",
        )
    a, b = stages[holder].layers
    new = Stage(layers=(first, last), gpus=(gpu_id,))
    if (first, last) == (a, b):
        raise PlanError(f"stage {holder + 1} would be left without layers", fix="leave it at least one layer")
    if first == a:
        stages[holder : holder + 1] = [new, Stage(layers=(last, b), gpus=stages[holder].gpus)]
    elif last == b:
        stages[holder : holder + 1] = [Stage(layers=(a, first), gpus=stages[holder].gpus), new]
    else:
        raise PlanError(
            "a new stage takes its layers from the start or the end of a stage",
            fix=f"drag layers {a}–{first - 1} or {last}–{b - 1} of stage {holder + 1} instead",
        )
    return _replace_replica(layout, replica, stages)


def make_tp_group(layout: Layout, gpu_ids: list[str]) -> Layout:
    """The selected GPUs (in the given order = TP rank) become one tensor-parallel group.

    The group takes the place of the first stage that holds any of them; the others leave their stages
    (an emptied stage hands its layers to a neighbour); GPUs of that stage left out of the selection
    become unused. GPUs that are all unused form a new data-parallel replica of the whole model.
    """
    chosen = list(dict.fromkeys(gpu_ids))
    if len(chosen) < 2:
        raise PlanError(
            "a tensor-parallel group needs two or more GPUs", fix="select several GPUs on the canvas"
        )
    places = sorted(p for g in chosen if (p := stage_of(layout, g)) is not None)
    if not places:
        replica = Replica(stages=(Stage(layers=layout_layer_range(layout), gpus=tuple(chosen)),))
        return Layout(replicas=(*layout.replicas, replica), ep=layout.ep)
    r, s = places[0]
    stages = list(layout.replicas[r].stages)
    stages[s] = Stage(layers=stages[s].layers, gpus=(_PLACEHOLDER,))
    marked = _replace_replica(layout, r, stages)
    trimmed = remove_gpus_from_layout(marked, chosen)
    assert trimmed is not None  # the placeholder stays
    replicas = [
        Replica(
            stages=tuple(
                Stage(layers=st.layers, gpus=tuple(chosen) if st.gpus == (_PLACEHOLDER,) else st.gpus)
                for st in rep.stages
            )
        )
        for rep in trimmed.replicas
    ]
    return Layout(replicas=tuple(replicas), ep=layout.ep)


def split_into_stages(layout: Layout, gpu_id: str) -> Layout:
    """Break the TP group serving ``gpu_id``: each of its GPUs becomes a pipeline stage of its own,
    the group's layers split evenly between them."""
    where = stage_of(layout, gpu_id)
    if where is None:
        raise PlanError(f"{gpu_id} is not in the layout", fix="select a GPU that serves a stage")
    r, s = where
    stages = list(layout.replicas[r].stages)
    stage = stages[s]
    if stage.tp < 2:
        raise PlanError(f"{gpu_id} already is a stage of its own", fix="select a GPU of a TP group")
    if stage.num_layers < stage.tp:
        raise PlanError(
            f"stage {s + 1} has {stage.num_layers} layers, fewer than its {stage.tp} GPUs",
            fix="give the stage more layers first",
        )
    start = stage.layers[0]
    parts = even_layer_split(stage.num_layers, stage.tp)
    stages[s : s + 1] = [
        Stage(layers=(start + a, start + b), gpus=(g,)) for (a, b), g in zip(parts, stage.gpus, strict=True)
    ]
    return _replace_replica(layout, r, stages)
