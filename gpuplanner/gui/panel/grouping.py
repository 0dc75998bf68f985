"""Pure layout edits behind the panel's gestures: give a range of layers to a GPU's stage, form a
tensor-parallel group from selected GPUs, split a group into pipeline stages.

Qt-free (they take and return frozen ``Layout``s). Each raises ``PlanError`` with a reason in words
when the gesture cannot give a valid layout, so the window can say why instead of doing it.
"""

from __future__ import annotations

from gpuplanner.core.errors import PlanError
from gpuplanner.core.layout_ops import even_layer_split
from gpuplanner.core.plan import Layout, Replica, Stage
from gpuplanner.document.layout_repair import layout_layer_range, remove_gpus_from_layout

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
