"""``gpuplanner recommend``: the best layout for a rig, or the best rig for a goal.

    gpuplanner recommend PLAN | --model M --gpu G --gpus N [--nodes K] [--objective ...] [--top N] [--json]
    gpuplanner recommend --model M --users U [--slo-tpot-ms Y] [--gpus-from a,b,c] [--max-gpus N] [--json]

Exit codes as everywhere: 0 the best candidate meets the target, 1 nothing fits or meets it, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from gpuplanner.cli.args import count, milliseconds
from gpuplanner.cli.tables import table
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.limits import MAX_CONCURRENCY, MAX_GPUS, MAX_NODES, MAX_SLOTS, MAX_TOKENS
from gpuplanner.core.plan import Plan
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.recommend import (
    OBJECTIVES,
    RIG_RANKS,
    Candidate,
    RigSearch,
    Search,
    Space,
    Target,
    recommend_layouts,
    recommend_rigs,
)
from gpuplanner.document.planfile import load_plan, plan_to_json


def _names(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("give one or more ids separated by commas")
    return names


def _fractions(text: str) -> tuple[float, ...]:
    out = []
    for part in _names(text):
        try:
            value = float(part)
        except ValueError:
            value = math.nan
        if not 0 < value <= 1:
            raise argparse.ArgumentTypeError(f"'{part[:40]}' is not a fraction above 0 and at most 1")
        out.append(value)
    return tuple(out)


def _counts(text: str) -> tuple[int, ...]:
    return tuple(count(MAX_TOKENS)(part) for part in _names(text))


def add_parser(sub: Any) -> None:
    """The ``recommend`` subcommand on the main parser's subparsers."""
    rec = sub.add_parser(
        "recommend",
        help="the best layout for a rig, or the best rig for a number of users",
        description="Layouts: give a plan file, or --model --gpu --gpus. Rigs: give --model and --users "
        "(without --gpu).",
    )
    rec.add_argument("plan", nargs="?", help="a .gpuplan file whose rig is searched")
    rec.add_argument("--model", help="model id, e.g. meta-llama/Llama-3.1-70B-Instruct")
    rec.add_argument("--gpu", help="GPU id of the rig, e.g. h100-sxm")
    rec.add_argument("--gpus", type=count(MAX_SLOTS), help="GPUs per node of the rig")
    rec.add_argument("--nodes", type=count(MAX_NODES), default=1, help="nodes of the rig")
    rec.add_argument("--objective", choices=OBJECTIVES, default="throughput", help="what 'best' means")
    rec.add_argument("--slo-ttft-ms", type=milliseconds, help="time to first token at most this")
    rec.add_argument("--slo-tpot-ms", type=milliseconds, help="time per output token at most this")
    rec.add_argument("--users", type=count(MAX_CONCURRENCY), help="concurrent users to serve")
    rec.add_argument("--context", type=count(MAX_TOKENS), help="tokens each sequence needs at least")
    rec.add_argument("--weights", type=_names, help="weight formats to try, e.g. bf16,fp8")
    rec.add_argument("--kv-cache", type=_names, help="KV-cache formats to try, e.g. bf16,fp8")
    rec.add_argument("--engine", default=None, help="vllm, sglang, trtllm, llamacpp, exllamav2")
    rec.add_argument("--input-tokens", type=count(MAX_TOKENS), help="prompt tokens")
    rec.add_argument("--output-tokens", type=count(MAX_TOKENS), help="generated tokens")
    rec.add_argument("--use-all", action="store_true", help="only layouts that use every GPU")
    rec.add_argument(
        "--memory-fraction", type=_fractions, help="gpu_memory_utilization values to try, e.g. 0.9,0.95"
    )
    rec.add_argument("--batched-tokens", type=_counts, help="max_num_batched_tokens to try, e.g. 2048,8192")
    rec.add_argument("--gpus-from", type=_names, help="rig search: GPU ids to build rigs from")
    rec.add_argument("--max-gpus", type=count(MAX_GPUS), default=64, help="rig search: GPUs at most")
    rec.add_argument("--rank", choices=RIG_RANKS, default="capex", help="rig search: capex or cost per token")
    rec.add_argument("--top", type=count(100), default=5, help="candidates to show")
    rec.add_argument("--json", action="store_true", help=f"print {'gpuplanner.recommendation/1'} JSON")


def _plan_json(plan: Plan) -> dict[str, Any]:
    return json.loads(plan_to_json(plan))  # type: ignore[no-any-return]


def _target(args: argparse.Namespace) -> Target:
    return Target(
        slo_ttft_ms=args.slo_ttft_ms, slo_tpot_ms=args.slo_tpot_ms, users=args.users, context=args.context
    )


def _base_plan(args: argparse.Namespace) -> Plan:
    if args.plan:
        if args.model or args.gpu:
            raise PlannerError("give either a plan file or --model/--gpu, not both", fix="drop one of them")
        plan = load_plan(args.plan)
        work = plan.workload.model_copy(
            update={
                k: v
                for k, v in (("input_tokens", args.input_tokens), ("output_tokens", args.output_tokens))
                if v is not None
            }
        )
        if args.engine:
            engine = default_catalog().engine(args.engine).id
            plan = plan.model_copy(update={"engine": plan.engine.model_copy(update={"engine": engine})})
        return plan.model_copy(update={"workload": work})
    if not args.model or not args.gpu or not args.gpus:
        missing = (
            " and ".join(f for f, v in (("--model", args.model), ("--gpu", args.gpu)) if not v) or "--gpus"
        )
        raise PlannerError(
            f"nothing to search: {missing} missing",
            fix="give a .gpuplan file, or --model M --gpu G --gpus N for layouts, or --model M --users U for rigs",
        )
    if args.gpus * args.nodes > MAX_GPUS:
        raise PlannerError(
            f"{args.nodes} nodes × {args.gpus} GPUs is beyond gpuplanner's {MAX_GPUS:,}",
            fix="plan fewer GPUs",
        )
    weights = args.weights[0] if args.weights else "bf16"
    return quick_plan(
        model=args.model,
        gpu=args.gpu,
        gpus_per_node=args.gpus,
        nodes=args.nodes,
        tp=1,
        dp=args.gpus * args.nodes,
        weights=weights,
        kv_cache=args.kv_cache[0] if args.kv_cache else None,
        engine=args.engine or "vllm",
        concurrency=args.users or 1,
        input_tokens=args.input_tokens or 1024,
        output_tokens=args.output_tokens or 256,
    )


def _rows(cands: list[Candidate]) -> list[list[object]]:
    rows: list[list[object]] = []
    for i, c in enumerate(cands, 1):
        perf = c.report.performance
        assert perf is not None
        rows.append(
            [
                i,
                c.shape,
                f"{c.value:,.2f}" if c.unit in ("J/token", "s per answer") else f"{c.value:,.0f}",
                c.unit,
                f"{perf.output_tokens_per_s:,.0f}",
                f"{perf.tokens_per_s_per_user:,.1f}",
                perf.concurrency,
                f"{perf.ttft_s * 1000:,.0f}",
                f"{perf.tpot_s * 1000:,.1f}",
                c.price.gpus,
                "yes" if c.meets else "no",
            ]
        )
    return rows


HEADERS = [
    "#",
    "layout",
    "value",
    "unit",
    "tok/s",
    "tok/s/user",
    "users",
    "TTFT ms",
    "TPOT ms",
    "GPUs",
    "meets",
]


def _layout_text(search: Search) -> str:
    out = [f"Objective: {search.objective}; target: {search.target.describe()}"]
    if search.candidates:
        out.append(table(HEADERS, _rows(search.candidates), right={0, 2, 4, 5, 6, 7, 8, 9}))
        out.append("")
        out += [f"{i}. {c.reason}" for i, c in enumerate(search.candidates, 1)]
        if search.pareto:
            out.append("")
            out.append("Pareto front (total tok/s against tok/s per user):")
            out += [
                f"  #{p.candidate + 1} at {p.concurrency:,} users: {p.output_tokens_per_s:,.0f} tok/s, "
                f"{p.tokens_per_s_per_user:,.1f} tok/s per user"
                for p in search.pareto
            ]
    if search.message:
        out.append(search.message)
    out.append(
        f"Searched {search.tried} layouts: {search.pruned} set aside by memory, {search.evaluated} evaluated."
    )
    return "\n".join(out)


def _rig_text(search: RigSearch) -> str:
    out = [f"Rigs ranked by {search.rank}; target: {search.target.describe()}"]
    rows = []
    for i, c in enumerate(search.rigs, 1):
        perf = c.report.performance
        assert perf is not None
        joules = c.price.watts / max(perf.output_tokens_per_s, 1e-9)
        rows.append(
            [
                i,
                c.plan.name,
                c.shape,
                c.price.gpus,
                f"{c.price.watts / 1000:.2f}",
                perf.concurrency,
                f"{perf.output_tokens_per_s:,.0f}",
                f"{joules:.2f}",
            ]
        )
    if rows:
        out.append(
            table(["#", "rig", "layout", "GPUs", "kW", "users", "tok/s", "J/token"], rows, {0, 3, 4, 5, 6, 7})
        )
    if search.message:
        out.append(search.message)
    out.append(f"Searched {search.tried} rigs: {search.pruned} set aside by memory alone.")
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    """The command; 0 when the best candidate meets the target, 1 when none does."""
    target = _target(args)
    if args.users and args.model and not args.gpu and not args.plan:
        found = recommend_rigs(
            args.model,
            args.users,
            target=target,
            gpus_from=args.gpus_from,
            max_gpus=args.max_gpus,
            engine=args.engine or "vllm",
            weights=args.weights[0] if args.weights else "bf16",
            kv_cache=args.kv_cache[0] if args.kv_cache else None,
            input_tokens=args.input_tokens or 1024,
            output_tokens=args.output_tokens or 256,
            rank=args.rank,
            top=args.top,
        )
        print(json.dumps(found.to_json_dict(_plan_json), indent=2) if args.json else _rig_text(found))
        return 0 if found.rigs else 1
    if args.gpus_from:
        raise PlannerError("--gpus-from is for the rig search", fix="give --model and --users without --gpu")
    plan = _base_plan(args)
    space = Space(
        weights=args.weights or (),
        kv_cache=args.kv_cache or (),
        use_all=args.use_all,
        memory_fractions=args.memory_fraction or (),
        batched_tokens=args.batched_tokens or (),
    )
    search = recommend_layouts(plan, args.objective, target, space=space, top=args.top)
    print(json.dumps(search.to_json_dict(_plan_json), indent=2) if args.json else _layout_text(search))
    best = search.best
    return 0 if best is not None and best.meets else 1
