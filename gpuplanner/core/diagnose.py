"""What does not fit, why, and what to change: problems with their fixes.

Each problem says which GPU, by how much and why ("won't start" vs "runs out of KV cache at N
concurrent requests"), and where a fix can be applied automatically it carries a FixAction.
"""

from __future__ import annotations

import math

from gpuplanner.core.engine_rules import format_problem
from gpuplanner.core.fit import FitResult, GpuFit
from gpuplanner.core.limits import MAX_PREFILL_STEPS
from gpuplanner.core.report import FixAction, Problem
from gpuplanner.core.resolve import ResolvedPlan
from gpuplanner.core.specs import GIB
from gpuplanner.core.units import gib

# Smaller weight formats to suggest, in order, when weights do not fit.
_SMALLER_WEIGHTS = ("fp8", "awq-int4", "gptq-int4", "gguf-q4_k_m")
_SMALLER_KV = ("fp8", "gguf-q8_0", "int8")


def _smaller(r: ResolvedPlan, options: tuple[str, ...], current_bits: float, for_kv: bool) -> str | None:
    allowed = r.engine.kv_precisions if for_kv else r.engine.weight_precisions
    for pid in options:
        if pid not in allowed or pid not in r.catalog.precisions:
            continue
        if r.catalog.precisions[pid].bits_per_weight < current_bits:
            return pid
    return None


def _layer_bytes(f: GpuFit) -> float:
    n = f.gpu.layers[1] - f.gpu.layers[0]
    return f.weights / max(n, 1)


def _move_layers_action(
    r: ResolvedPlan, fit: FitResult, f: GpuFit, over: int
) -> tuple[str, FixAction] | None:
    """Move enough layers from this GPU's stage to the neighbouring stage with the most room."""
    g = f.gpu
    if r.pp < 2:
        return None
    per_layer = _layer_bytes(f)
    need = max(1, math.ceil(over / per_layer))
    best: tuple[int, int] | None = None  # (room, stage)
    for neighbour in (g.stage - 1, g.stage + 1):
        if not 0 <= neighbour < r.pp:
            continue
        members = [x for x in fit.gpus if x.gpu.replica == g.replica and x.gpu.stage == neighbour]
        room = min(x.budget - x.fixed - x.kv_used // 2 for x in members)
        if best is None or room > best[0]:
            best = (room, neighbour)
    if best is None or best[0] <= need * per_layer:
        return None
    stage_layers = g.layers[1] - g.layers[0]
    if need >= stage_layers:
        return None
    text = f"move {need} layer{'s' if need > 1 else ''} from stage {g.stage + 1} to stage {best[1] + 1}"
    action = FixAction(
        kind="move_layers", replica=g.replica, from_stage=g.stage, to_stage=best[1], amount=need
    )
    return text, action


def _id_ranges(ids: list[str], shown: int = 3) -> str:
    """'g8, g9, g10, … g63' style: the first few ids, then the last."""
    if len(ids) <= shown + 1:
        return ", ".join(ids)
    return ", ".join(ids[:shown]) + f", … {ids[-1]}"


def _format_problems(r: ResolvedPlan) -> list[Problem]:
    """Weights or a KV cache in a format the engine cannot load: the plan cannot run as it stands."""
    out = []
    for p, for_kv in ((r.weights, False), (r.kv, True)):
        bad = format_problem(r.engine, p, r.catalog, for_kv)
        if bad is None:
            continue
        action = None
        if bad.nearest:
            action = FixAction(kind="set_kv_cache" if for_kv else "set_weights", value=bad.nearest)
        out.append(
            Problem(severity="error", message=f"won't start: {bad.message}", fix=bad.fix, action=action)
        )
    return out


def _workload_problems(r: ResolvedPlan) -> list[Problem]:
    """A request longer than the context limit, or a prompt the estimate would walk in too many chunks.

    Checked before anything is computed for the workload, so no work grows with the tokens typed."""
    w = r.plan.workload
    wanted = w.input_tokens + w.output_tokens
    limit = r.settings.max_model_len
    problems = []
    if wanted > limit:
        model_limit = r.model.max_position_embeddings
        whose = f"{r.model.name}'s limit" if limit == model_limit else "the engine's max_model_len"
        if limit < model_limit and wanted <= model_limit:
            fix = f"raise max_model_len to {wanted:,}, or shorten the prompt or the output"
            action = FixAction(kind="set_max_model_len", amount=wanted)
        else:
            fix = f"keep input + output tokens within {limit:,} (shorten the prompt or the output)"
            action = None
        problems.append(
            Problem(
                severity="error",
                message=f"a request of {w.input_tokens:,} input + {w.output_tokens:,} output tokens "
                f"({wanted:,}) is longer than {whose} of {limit:,} tokens",
                fix=fix,
                action=action,
            )
        )
    chunk = r.settings.max_num_batched_tokens
    chunks = -(-w.input_tokens // chunk)
    stages = max(len(replica.stages) for replica in r.plan.layout.replicas)
    if chunks * stages > MAX_PREFILL_STEPS:
        least = -(-w.input_tokens * stages // MAX_PREFILL_STEPS)
        on = f" on each of {stages} pipeline stages" if stages > 1 else ""
        problems.append(
            Problem(
                severity="error",
                message=f"a prompt of {w.input_tokens:,} tokens is prefilled in {chunks:,} chunks of "
                f"max_num_batched_tokens = {chunk:,}{on}; gpuplanner estimates up to "
                f"{MAX_PREFILL_STEPS:,} chunk steps per prompt",
                fix=f"raise max_num_batched_tokens to {least:,} or more, or shorten the prompt",
            )
        )
    return problems


def _over_capacity(r: ResolvedPlan, fit: FitResult) -> Problem | None:
    """The ledger adds up to more than a GPU holds (e.g. gpu_memory_utilization 1.0 leaves CUDA
    graphs no headroom): the engine would run out of memory however the rest is set."""
    worst, least, over = None, 0, 0
    for f, indices in _ledgers(fit):  # in order of first GPU: the first GPU with the least free wins
        free = f.free
        if worst is None or free < least:
            worst, least = f, free
        if free < 0:
            over += len(indices)
    if worst is None or least >= 0:
        return None
    g = worst.gpu
    short = -least
    who = f"{g.id} ({g.spec.name})" if over == 1 else f"{over} GPUs, worst {g.id} ({g.spec.name})"
    action = None
    fix = "spread the model over more GPUs, or use smaller weights or KV cache"
    if r.engine.memory_rule in ("vllm", "sglang"):
        # the share that leaves the shortfall free, rounded down to the inspector's 0.01 steps
        share = math.floor((r.settings.gpu_memory_utilization - short / worst.capacity) * 100) / 100
        if share > 0:
            fix = f"lower gpu_memory_utilization to {share:.2f}"
            action = FixAction(kind="set_gpu_memory_utilization", number=share)
    return Problem(
        severity="error",
        gpu=g.id,
        message=f"runs out of memory: {who} needs {gib(short)} more than its {gib(worst.capacity)} "
        "(weights, KV cache, activations, buffers and CUDA graphs together)",
        fix=fix,
        action=action,
    )


def _gpu_problem(r: ResolvedPlan, fit: FitResult, f: GpuFit, sglang: bool) -> Problem | None:
    """What is wrong with one GPU's ledger (None: nothing)."""
    static = f.weights if sglang else f.fixed
    g = f.gpu
    label = f"{g.id} ({g.spec.name})"
    if static > f.budget or f.kv_allocatable <= 0:
        over = static - f.budget if static > f.budget else f.weights // 20
        move = _move_layers_action(r, fit, f, over)
        smaller = _smaller(r, _SMALLER_WEIGHTS, r.weights.bits_per_weight, for_kv=False)
        if move:
            fix, action = move
        elif smaller:
            fix, action = f"use {smaller} weights", FixAction(kind="set_weights", value=smaller)
        else:
            fix, action = "spread the model over more GPUs (higher TP or PP)", None
        return Problem(
            severity="error",
            gpu=g.id,
            message=f"won't start: {label} needs {gib(static, 1)} for weights"
            f"{', activations and runtime' if static != f.weights else ''} but the engine may use "
            f"{gib(f.budget, 1)} ({gib(max(0, static - f.budget), 1)} over)",
            fix=fix,
            action=action,
        )
    if sglang:
        headroom = f.capacity - f.budget
        outside = f.activations + f.communication + f.runtime
        if outside > headroom:
            return Problem(
                severity="warning",
                gpu=g.id,
                message=f"{label}: activations, CUDA graphs and buffers need {gib(outside, 1)} but "
                f"mem_fraction_static leaves {gib(headroom, 1)}; it may run out of memory under load",
                fix="lower mem_fraction_static",
            )
    return None


def _ledgers(fit: FitResult) -> list[tuple[GpuFit, tuple[int, ...]]]:
    """The fit's distinct ledgers with the indices of the GPUs holding them (one per GPU if unknown)."""
    return fit.ledgers or [(f, (i,)) for i, f in enumerate(fit.gpus)]


def diagnose(r: ResolvedPlan, fit: FitResult) -> list[Problem]:
    problems: list[Problem] = _format_problems(r) + _workload_problems(r)
    ctx = fit.context_tokens
    sglang = r.engine.memory_rule == "sglang"
    # Copies of one ledger have the same problems: each distinct ledger is judged once, and only the
    # GPUs of a ledger with a problem are looked at one by one (each gets its own, in GPU order).
    found: list[tuple[int, Problem]] = []
    strands: list[tuple[int, str, str]] = []  # (GPU index, GPU name, amount) of GPUs stranding KV memory
    for f, indices in _ledgers(fit):
        static = f.weights if sglang else f.fixed
        troubled = static > f.budget or f.kv_allocatable <= 0
        if troubled or (sglang and f.activations + f.communication + f.runtime > f.capacity - f.budget):
            for i in indices:
                problem = _gpu_problem(r, fit, fit.gpus[i], sglang)
                if problem is not None:
                    found.append((i, problem))
        if f.stranded > 0.5 * GIB:
            amount = gib(f.stranded, 1)
            strands += [(i, f.gpu.spec.name, amount) for i in indices]
    problems += [problem for _, problem in sorted(found, key=lambda item: item[0])]
    stranded: dict[tuple[str, str], list[str]] = {}  # (GPU name, amount) -> GPU ids, in GPU order
    for i, name, amount in sorted(strands):
        stranded.setdefault((name, amount), []).append(fit.gpus[i].gpu.id)
    for (name, amount), ids in stranded.items():
        # one note per kind of GPU and amount, not one per GPU: a 64-GPU plan would list 56 of them
        who = f"{ids[0]} ({name})" if len(ids) == 1 else f"{len(ids)} {name} GPUs ({_id_ranges(ids)})"
        each = "" if len(ids) == 1 else " each"
        problems.append(
            Problem(
                severity="info",
                gpu=ids[0],
                message=f"{who}: {amount} of KV memory{each} strands: {r.engine.name} gives every rank "
                "the smallest rank's number of KV blocks",
                fix="put more layers on the bigger GPUs (Auto-balance ▸ fit)"
                if len({x.spec.id for x in r.gpus}) > 1
                else "give every stage the same number of layers (Auto-balance)",
            )
        )
    if not any(p.severity == "error" for p in problems):
        overflow = _over_capacity(r, fit)
        if overflow is not None:
            problems.append(overflow)
    if any(p.severity == "error" for p in problems):
        return problems

    kv_smaller = _smaller(r, _SMALLER_KV, r.kv.bits_per_weight, for_kv=True)
    engine_ctx = fit.engine_context_tokens
    if engine_ctx is not None and fit.capacity_tokens < engine_ctx:
        # llama.cpp allocates its whole context up front: it does not start (or moves layers to the CPU)
        fix_len = max(256, (fit.capacity_tokens // 256) * 256)
        problems.append(
            Problem(
                severity="error",
                message=f"won't start on the GPUs: {r.engine.name} allocates the KV cache for its whole context "
                f"of {engine_ctx:,} tokens, but they have room for {fit.capacity_tokens:,}",
                fix=f"set the context (max_model_len) to {fix_len}"
                if fit.capacity_tokens >= ctx
                else f"use {kv_smaller} KV cache"
                if kv_smaller
                else "spread the layers over more GPUs",
                action=FixAction(kind="set_max_model_len", amount=fix_len)
                if fit.capacity_tokens >= ctx
                else FixAction(kind="set_kv_cache", value=kv_smaller)
                if kv_smaller
                else None,
            )
        )
        return problems
    slot = fit.slot_context_tokens
    if slot is not None and slot < ctx <= (engine_ctx or 0):
        seqs = r.settings.max_num_seqs
        problems.append(
            Problem(
                severity="error",
                message=f"won't serve a request: {seqs} slots (--parallel {seqs}) split the {engine_ctx:,}-token "
                f"context into {slot:,} tokens each, less than one request of {ctx:,}",
                fix=f"plan for fewer slots (max_num_seqs {max(1, (engine_ctx or 0) // ctx)}) or a longer context",
            )
        )
        return problems
    if fit.capacity_tokens < ctx:
        fix_len = max(256, (fit.capacity_tokens // 256) * 256)
        problems.append(
            Problem(
                severity="error",
                message=f"won't start: the KV cache holds {fit.capacity_tokens:,} tokens, less than one sequence "
                f"of {ctx:,} tokens",
                fix=f"use {kv_smaller} KV cache" if kv_smaller else f"lower max_model_len to {fix_len}",
                action=FixAction(kind="set_kv_cache", value=kv_smaller)
                if kv_smaller
                else FixAction(kind="set_max_model_len", amount=fix_len),
            )
        )
        return problems
    w = r.plan.workload
    if w.concurrency != "max" and w.concurrency > fit.max_concurrency:
        limit_by_seqs = fit.max_concurrency >= r.settings.max_num_seqs * r.dp
        knob = "--parallel slots" if r.settings.split_mode else "max_num_seqs"
        why = (
            f"the engine's {knob} ({r.settings.max_num_seqs} per replica)"
            if limit_by_seqs
            else f"the KV cache ({fit.capacity_tokens:,} tokens per replica)"
        )
        problems.append(
            Problem(
                severity="warning",
                message=(
                    f"runs {fit.max_concurrency} requests at once"
                    if limit_by_seqs
                    else f"runs out of KV cache at {fit.max_concurrency + 1} concurrent requests"
                )
                + f" of {ctx:,} tokens (the plan asks {w.concurrency}): limited by {why}; the rest wait in the queue",
                fix=f"use {kv_smaller} KV cache"
                if kv_smaller and not limit_by_seqs
                else f"plan for {fit.max_concurrency} concurrent requests",
                action=FixAction(kind="set_kv_cache", value=kv_smaller)
                if kv_smaller and not limit_by_seqs
                else FixAction(kind="set_concurrency", amount=max(1, fit.max_concurrency)),
            )
        )
    for gid in r.idle_gpus:
        problems.append(
            Problem(
                severity="info",
                gpu=gid,
                message=f"{gid} is in the rig but not in the layout: it does no work",
                fix="add it to a stage or a replica",
            )
        )
    return problems


def verdict(r: ResolvedPlan, fit: FitResult, problems: list[Problem]) -> str:
    errors = [p for p in problems if p.severity == "error"]
    n = len(r.gpus)
    if errors:
        return f"Does not fit: {errors[0].message}."
    return (
        f"Fits on {n} GPU{'s' if n > 1 else ''}: KV cache for {fit.capacity_tokens:,} tokens per replica, "
        f"up to {fit.max_concurrency:,} concurrent request{'s' if fit.max_concurrency != 1 else ''} "
        f"of {fit.context_tokens:,} tokens."
    )
