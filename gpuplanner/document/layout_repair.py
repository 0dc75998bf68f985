"""Pure functions that keep a plan's layout valid while its rig is edited.

A layout is valid for a rig when every GPU id it names exists in the rig and no GPU is named twice.
A GPU that is in the rig but not in the layout is simply unused. The one exception is an empty rig:
there is nothing a layout could name, so the last layout is kept as it was ("stale") and the window
says the rig is empty instead of evaluating it.
"""

from __future__ import annotations

from collections.abc import Iterable

from gpuplanner.core.plan import Layout, Replica, Rig, Stage


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
                return f"replica {r}: stage {s} ends at layer {a.layers[1]} but stage {s + 1} starts at {b.layers[0]}"
    return None
