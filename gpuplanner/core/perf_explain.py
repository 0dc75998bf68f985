"""Explanations of a performance estimate: the bottleneck (a value with its sentence), the per-GPU split of a decode
step, the traffic on every link, and the assumptions behind the numbers."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import chain, repeat
from operator import attrgetter, setitem

from gpuplanner.core.collectives import effective_bandwidth_bps
from gpuplanner.core.efficiency import assumption_notes, compute_dtype
from gpuplanner.core.perf_model import ACT_BYTES, StageShape, StepTime, stage_step
from gpuplanner.core.perf_replica import Cycle, Replica
from gpuplanner.core.report import Bottleneck, BottleneckKind, LinkTraffic, StepSplit
from gpuplanner.core.resolve import GpuViews, ResolvedPlan
from gpuplanner.core.topology import Hop


def slowest_hop(hops: tuple[Hop, ...]) -> Hop:
    """The hop with the least achievable bandwidth: the one that sets a ring's speed."""
    return min(hops, key=effective_bandwidth_bps)


def _largest_part(shape: StageShape, step: StepTime) -> tuple[BottleneckKind, str, float]:
    """(what dominates this stage's step, the hop it crosses when it is a collective, its seconds)."""
    weights_bound = step.weights_s >= step.gemm_s
    kv_bound = step.kv_s >= step.attention_s
    parts: list[tuple[BottleneckKind, str, float]] = [
        ("weights_bandwidth", "", step.weights_s if weights_bound else 0.0),
        ("tensor_compute", "", 0.0 if weights_bound else step.gemm_s),
        ("kv_bandwidth", "", step.kv_s if kv_bound else 0.0),
        ("attention_compute", "", 0.0 if kv_bound else step.attention_s),
        ("launch_overhead", "", step.overhead_s),
    ]
    if shape.tp_hops:
        parts.append(("tensor_parallel", slowest_hop(shape.tp_hops).name, step.tp_comm_s))
    if shape.ep_hops:
        parts.append(("expert_all_to_all", slowest_hop(shape.ep_hops).name, step.ep_comm_s))
    return max(parts, key=lambda part: part[2])  # the first of equals, as the parts are listed


def _bottleneck(
    shape: StageShape, step: StepTime, runs: int, of_s: float, words: str, notes: tuple[str, ...] = ()
) -> Bottleneck:
    """The largest part of ``step``, run ``runs`` times in ``of_s`` seconds."""
    kind, link, seconds = _largest_part(shape, step)
    return Bottleneck(
        kind=kind,
        gpu=shape.gpu.name,
        dtype=compute_dtype(shape.gpu, shape.compute_dtype)[0].upper(),
        link=link,
        share=runs * seconds / of_s,
        step=words,
        notes=notes,
    )


def bottleneck(
    r: ResolvedPlan, replicas: list[Replica], shares: list[int], isl: int, osl: int, wanted: int, limit: int
) -> Bottleneck:
    """The decode bottleneck, naming the GPU, link or stage."""
    busiest = max(range(len(replicas)), key=lambda i: shares[i])
    rep, n = replicas[busiest], max(1, shares[busiest])
    cycle = rep.cycle(n, isl + osl / 2)
    slow = max(range(rep.pp), key=lambda s: cycle.steps[s].total_s)
    notes = []
    if rep.pp > 1:
        if cycle.micro_batches < rep.pp:
            notes.append(
                f"pipeline bubbles: {cycle.micro_batches} micro-batch{'es' if cycle.micro_batches != 1 else ''} for {rep.pp} stages"
            )
        else:
            notes.append(f"pipeline stage {slow + 1} is the slowest")
    # the cap is the engine's sequence limit when every replica reaches it, the KV cache otherwise
    seqs = r.settings.max_num_seqs
    knob = f"--parallel {seqs}" if r.settings.split_mode else f"max_num_seqs {seqs}"
    seqs_bound = limit >= seqs * r.dp
    if wanted >= limit and r.plan.workload.concurrency == "max":
        notes.append(
            f"concurrency capped at {limit} by "
            + (
                f"the engine's {knob}" + (" per replica" if r.dp > 1 else "")
                if seqs_bound
                else "KV-cache capacity"
            )
        )
    elif wanted > limit and seqs_bound:
        notes.append(f"the engine's {knob} runs {limit} sequences at once, the other {wanted - limit} wait")
    elif wanted > limit:
        notes.append(f"only {limit} sequences fit in the KV cache, the other {wanted - limit} wait")
    # the slowest stage runs that part once per micro-batch in every cycle
    return _bottleneck(
        rep.stages[slow], cycle.steps[slow], cycle.micro_batches, cycle.seconds, "decode step", tuple(notes)
    )


def prefill_bottleneck(rep: Replica, isl: int) -> Bottleneck:
    """What limits one prompt's prefill."""
    shape = rep.stages[0]
    size = min(isl, rep.chunk)
    step = stage_step(shape, size, 1, 0, size)
    return _bottleneck(shape, step, 1, step.total_s, f"{size}-token prefill chunk")


_node_id, _id = attrgetter("node.id"), attrgetter("id")
_setitem = setitem  # a fast builtin (dict.__setitem__ is a slot wrapper: it packs its arguments)
_copy = dict.copy  # a method descriptor: called from C loops without packing its argument
# the entries' field names (a set of them is each entry's pydantic fields-set)
_SPLIT_FIELDS, _LINK_FIELDS = tuple(StepSplit.model_fields), tuple(LinkTraffic.model_fields)
_drain = deque[object](maxlen=0).extend  # runs an iterator to its end in C, keeping nothing


def _stage_figures(cycle: Cycle, s: int) -> tuple[float, float, float, float, float, float]:
    """(compute, memory, communication, waiting, group communication, hand-off) seconds of stage ``s``
    over ``cycle``."""
    m = cycle.micro_batches
    step = cycle.steps[s]
    # the hand-off to the next stage overlaps the next micro-batch's work: once per cycle
    hand_off = cycle.boundary_s[s] if s < len(cycle.boundary_s) else 0.0
    group_comm = m * (step.tp_comm_s + step.ep_comm_s)
    comm = group_comm + hand_off
    weights_bound, kv_bound = step.weights_s >= step.gemm_s, step.kv_s >= step.attention_s
    memory = m * ((step.weights_s if weights_bound else 0.0) + (step.kv_s if kv_bound else 0.0))
    # the engine's per-step work (scheduling, sampling) holds every GPU: overhead, not a bubble
    compute = m * (step.busy_s + step.overhead_s) - memory + cycle.step_overhead_s
    busy = compute + memory + comm
    waiting = max(0.0, cycle.seconds - busy)
    return compute, memory, comm, waiting, group_comm, hand_off


def _split_fields(
    figures: tuple[float, float, float, float, float, float], group_spans: bool, hop_crosses: bool
) -> dict[str, object]:
    """A stage's :class:`StepSplit` fields but the GPU's id; which of its communication crosses
    servers: a TP/EP group spread over servers, a hand-off to another server."""
    compute, memory, comm, waiting, group_comm, hand_off = figures
    between = (group_comm if group_spans else 0.0) + (hand_off if hop_crosses else 0.0)
    return {
        "gpu": "",
        "compute_s": compute,
        "memory_s": memory,
        "communication_s": comm,
        "waiting_s": waiting,
        "communication_between_s": between,
    }


@dataclass(frozen=True)
class _SplitFrame:
    """What :func:`step_split` reads of the layout: every GPU's id in layout order, how many GPUs
    each stage has (in the same order), the replicas' indices, and per replica a number for its
    stages' (GPUs, spans servers, hands off to another server), with one such tuple per number."""

    ids: list[str]
    sizes: list[int]
    indices: list[int]
    kinds: list[int]
    flags: list[tuple[tuple[int, bool, bool], ...]]


def _split_frame(views: GpuViews) -> _SplitFrame:
    kept = views.memo.get("step split frame")
    if isinstance(kept, _SplitFrame):
        return kept
    by_stage = views.by_stage
    per_replica: dict[int, list[tuple[int, bool, bool]]] = {}
    for (rep, s), gpus in by_stage.items():
        after = by_stage.get((rep, s + 1))
        crosses = after is not None and after[0].node.id != gpus[0].node.id
        per_replica.setdefault(rep, []).append((len(gpus), views.stage_spans_servers[(rep, s)], crosses))
    numbers: dict[tuple[tuple[int, bool, bool], ...], int] = {}
    kinds = [numbers.setdefault(tuple(flags), len(numbers)) for flags in per_replica.values()]
    frame = _SplitFrame(
        ids=list(chain.from_iterable(views.stage_ids.values())),
        sizes=[len(gpus) for gpus in by_stage.values()],
        indices=list(per_replica),
        kinds=kinds,
        flags=list(numbers),
    )
    views.memo["step split frame"] = frame
    return frame


def step_split(
    replicas: list[Replica], shares: list[int], isl: int, osl: int, views: GpuViews | None = None
) -> tuple[StepSplit, ...]:
    """Per GPU, over one decode cycle: compute-bound time (with launch overhead), memory-bound time,
    communication, waiting. A pipeline stage runs one step per micro-batch in every cycle, so its busy
    parts count ``micro_batches`` times; waiting is the rest of the cycle (bubbles, slower stages).

    Identical replicas with the same users share one cycle object: a stage's figures are worked out
    once per cycle, and a replica's entries once per (cycle, which of its traffic crosses servers).

    ``views``: those of the GPUs the replicas were built from (``build_replicas(r)``: ``r.views``),
    which know each stage's GPU ids and whether it spans servers, kept with them
    (:func:`_split_frame`): every GPU's entry is then a copy of its stage's, its id set, in C loops."""
    names = set(_SPLIT_FIELDS)
    frame = _split_frame(views) if views is not None else None
    if frame is not None and frame.indices == [rep.index for rep in replicas]:
        # each replica's stages' fields, by (its cycle, its kind of layout), in layout order
        made: dict[tuple[int, int], list[dict[str, object]]] = {}
        stage_fields: list[dict[str, object]] = []
        for rep, n, kind in zip(replicas, shares, frame.kinds, strict=True):
            cycle = rep.cycle(max(n, 1), isl + osl / 2)
            found = made.get((id(cycle), kind))
            if found is None:
                found = made[(id(cycle), kind)] = [
                    _split_fields(_stage_figures(cycle, s), spans, crosses)
                    for s, (_, spans, crosses) in enumerate(frame.flags[kind])
                ]
            stage_fields += found
        # one copy per GPU of its stage's fields, its id filled in (all GPUs at once, in C loops)
        dicts = list(map(_copy, chain.from_iterable(map(repeat, stage_fields, frame.sizes))))
        _drain(map(_setitem, dicts, repeat("gpu"), frame.ids))
        return tuple(StepSplit.assemble_many(dicts, names))
    dicts = []
    ids: list[str] = []
    stage_figures: dict[tuple[int, int], tuple[float, float, float, float, float, float]] = {}
    for rep, n in zip(replicas, shares, strict=True):
        cycle = rep.cycle(max(n, 1), isl + osl / 2)
        last = len(rep.stage_gpus) - 1
        for s, gpus in enumerate(rep.stage_gpus):
            figures = stage_figures.get((id(cycle), s))
            if figures is None:
                figures = stage_figures[(id(cycle), s)] = _stage_figures(cycle, s)
            node = gpus[0].node.id
            group_spans = len(set(map(_node_id, gpus))) > 1
            hop_crosses = s < last and rep.stage_gpus[s + 1][0].node.id != node
            # one copy per GPU of the stage, its id filled in below (all GPUs at once, in C loops)
            dicts.extend(map(dict, repeat(_split_fields(figures, group_spans, hop_crosses), len(gpus))))
            ids += map(_id, gpus)
    _drain(map(_setitem, dicts, repeat("gpu"), ids))
    return tuple(StepSplit.assemble_many(dicts, names))


def link_traffic(
    r: ResolvedPlan, replicas: list[Replica], shares: list[int], isl: int, osl: int
) -> tuple[LinkTraffic, ...]:
    """Bytes per output token each link carries per GPU, and its share of that link's bandwidth."""
    hidden = r.model.hidden_size
    # each entry's fields by (link name, purpose), in order of first use, assembled at the end
    found: dict[tuple[str, str], dict[str, object]] = {}
    # a hop's achievable bandwidth by everything it reads (a 512-GPU plan has a pipeline hop per
    # replica, of a few kinds at most)
    bandwidths: dict[tuple[object, ...], float] = {}

    def add(hop: Hop, gpus: tuple[str, ...], purpose: str, per_token: float, rate: float) -> None:
        if rate:
            figures = (hop.link, hop.kind, hop.bandwidth_bps, hop.peer_to_peer, hop.bus_efficiency)
            bandwidth = bandwidths.get(figures)
            if bandwidth is None:
                bandwidth = bandwidths[figures] = effective_bandwidth_bps(hop)
            share = min(1.0, per_token * rate / bandwidth)
        else:
            share = 0.0
        key = (hop.name, purpose)
        old = found.get(key)
        if old is None or share > old["share_of_bandwidth"]:  # type: ignore[operator]  # a float
            # the floats made floats, as validation would
            found[key] = {
                "name": hop.name,
                "link": hop.link,
                "gpus": gpus,
                "purpose": purpose,
                "bytes_per_token": float(per_token),
                "share_of_bandwidth": float(share),
            }

    # Identical replicas share their stage shapes, hops included: a shape's group traffic at one rate
    # adds the same entries again (an equal share never replaces an entry), so it is added once; so
    # are all the stages of a replica sharing the timing cache (the stages) of one already added at
    # its rate. The rate of replicas sharing a timing cache with the same users is worked out once.
    added: set[tuple[int, float]] = set()
    rates: dict[tuple[int, int], float] = {}
    seen: set[tuple[tuple[int, ...], float]] = set()  # (a replica's stage shapes, rate) all added
    for rep, n in zip(replicas, shares, strict=True):
        rate = rates.get((id(rep.memo), n))
        if rate is None:
            cycle = rep.cycle(max(n, 1), isl + osl / 2)
            rate = rates[(id(rep.memo), n)] = n / cycle.seconds if n else 0.0  # tokens/s through every stage
        stages = (tuple(map(id, rep.stages)), rate)
        if stages not in seen:
            seen.add(stages)
            for shape, gpus in zip(rep.stages, rep.stage_gpus, strict=True):
                if (id(shape), rate) in added:
                    continue
                added.add((id(shape), rate))
                ids = tuple(g.id for g in gpus)
                layers = shape.layers[1] - shape.layers[0]
                if shape.tp > 1:
                    per_token = 2 * layers * 2 * (shape.tp - 1) / shape.tp * hidden * ACT_BYTES
                    for hop in {h.name: h for h in shape.tp_hops}.values():
                        add(hop, ids, "tensor parallel", per_token, rate)
                if shape.ep_hops and r.model.moe is not None:
                    moe_layers = sum(1 for i in range(*shape.layers) if r.model.moe.is_moe_layer(i))
                    per_token = 2 * moe_layers * r.model.moe.experts_per_token * hidden * ACT_BYTES
                    per_token *= (shape.ep - 1) / shape.ep
                    for hop in {h.name: h for h in shape.ep_hops}.values():
                        add(hop, ids, "expert all-to-all", per_token, rate)
        stage_gpus = rep.stage_gpus
        for s, hop in enumerate(rep.boundaries):
            add(hop, (stage_gpus[s][0].id, stage_gpus[s + 1][0].id), "pipeline", hidden * ACT_BYTES, rate)
    # assembled, not validated (a 512-GPU plan lists a pipeline hop per replica)
    return tuple(LinkTraffic.assemble_many(list(found.values()), set(_LINK_FIELDS)))


def assumptions(
    r: ResolvedPlan, wanted: int, limit: int, budget: tuple[int, int, int] | None = None
) -> tuple[str, ...]:
    """The model's assumptions, in words a user can judge. ``budget``: (sequences a replica decodes at
    once, its users, its batched-token budget) when the budget keeps some of them waiting."""
    notes = [
        "Decode step = max(memory time, compute time) + launch overhead + collectives; "
        "memory and compute overlap fully, collectives do not overlap with either.",
        "Achievable rates, not peaks: HBM from BabelStream, tensor throughput from cuBLASLt by GEMM size, "
        "collectives from nccl-tests curves (catalogs/calibration.toml names the rows).",
        "Continuous batching: prompts are chunked by max_num_batched_tokens and ride along decode steps; "
        "KV cache read at the mean length (input + output/2) of every sequence.",
        "Concurrency is spread evenly over the data-parallel replicas; replicas do not share work.",
        "TTFT is the prompt's prefill plus, under load, one decode step per chunk; requests queue only when "
        "the step's batched-token budget is full.",
    ]
    if budget is not None:
        run, users, chunk = budget
        notes.append(
            f"Each step's budget of {chunk:,} batched tokens holds {run:,} of a replica's {users:,} sequences "
            "decoding together with the prompts that start beside them; the others wait for room, "
            "and their wait is part of TTFT."
        )
    if r.model.moe is not None:
        notes.append(
            "MoE: each step reads the experts some token of the batch picks, E·(1−(1−k/E)^B), "
            "assuming uniform routing."
        )
    if r.pp > 1:
        notes.append(
            "Pipeline: sequences are split into min(n, stages) micro-batches; fewer than that leaves bubbles."
        )
    if wanted > limit:
        notes.append(f"Only {limit} sequences fit in the KV cache: speeds are given at {limit}.")
    overhead = r.engine.step_overhead_us
    if not overhead:
        notes.append(f"{r.engine.name}: per-step and per-layer overheads from catalogs/calibration.toml.")
    # each GPU kind once, in order of first use (kept with the resolved GPUs)
    for spec in r.views.kinds.values():
        notes.extend(assumption_notes(spec))
    return tuple(notes)
