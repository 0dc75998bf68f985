"""The command line: ``gpuplanner evaluate | catalog | import-model``.

Exit codes: 0 the plan fits (or the command worked), 1 the plan does not fit, 2 bad input
(unknown id, broken plan file, impossible layout, a number beyond gpuplanner's limits) with a message
naming the problem and the fix, 3 an internal error (one line, and the path of a crash report).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import ValidationError

from gpuplanner import __version__
from gpuplanner.cli import recommend as recommend_cli
from gpuplanner.cli import rig_commands
from gpuplanner.cli.args import count, milliseconds
from gpuplanner.cli.tables import catalog_table, report_text
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.decision import Decision
from gpuplanner.core.errors import PlanError, PlannerError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.hf_fetch import looks_like_repo_id
from gpuplanner.core.hf_import import import_model_file, import_model_from_hub
from gpuplanner.core.limits import MAX_CONCURRENCY, MAX_GPUS, MAX_NODES, MAX_SLOTS, MAX_TOKENS
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.verdict import plural
from gpuplanner.crash import EXIT_INTERNAL_ERROR, crash_message, write_crash_report
from gpuplanner.document.planfile import describe_validation, load_plan

EXIT_OK, EXIT_DOES_NOT_FIT, EXIT_BAD_INPUT = 0, 1, 2

DESCRIPTION = """\
Plan how a large language model runs on several GPUs.

  gpuplanner                      open the window on the built-in sample plan
  gpuplanner PLAN.gpuplan         open a plan in the window
  gpuplanner evaluate ...         fit and speed of a plan, as a table or JSON
  gpuplanner catalog KIND         list GPUs, models, links, precisions or engines
  gpuplanner import-model FILE    add a model from its Hugging Face config.json (or ORG/NAME)
  gpuplanner import-topology TOPO -o PLAN   a plan from `nvidia-smi topo -m` output
  gpuplanner catalog add-gpu FILE a GPU the catalog lacks (user-defined)
  gpuplanner calibrate FILE...    fit the speed model to your own benchmark results
  gpuplanner export PLAN -o PDF   export a plan as a PDF report
  gpuplanner launch PLAN          the engine's launch command for a plan (shell, docker, kubernetes)
  gpuplanner recommend ...        the best layout for a rig, or the best rig for a goal
  gpuplanner --selftest           check the installation (window, model, PDF)
"""


_tokens = count(MAX_TOKENS)


def _concurrency(text: str) -> int | Literal["max"]:
    if text.lower() == "max":
        return "max"
    return count(MAX_CONCURRENCY)(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gpuplanner", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"gpuplanner {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ev = sub.add_parser("evaluate", help="fit and speed of a plan file or of quick flags")
    ev.add_argument("plan", nargs="?", help="a .gpuplan file (or give --model and --gpu)")
    ev.add_argument("--model", help="model id, e.g. meta-llama/Llama-3.1-70B-Instruct")
    ev.add_argument("--gpu", help="GPU id, e.g. h100-sxm")
    ev.add_argument("--gpus", type=count(MAX_SLOTS), help=f"GPUs per node (up to {MAX_SLOTS})")
    ev.add_argument("--nodes", type=count(MAX_NODES), default=1, help=f"nodes (up to {MAX_NODES:,})")
    ev.add_argument("--tp", type=count(MAX_GPUS), help="tensor-parallel degree")
    ev.add_argument("--pp", type=count(MAX_GPUS), default=1, help="pipeline stages")
    ev.add_argument("--dp", type=count(MAX_GPUS), default=1, help="data-parallel replicas")
    ev.add_argument("--ep", type=count(MAX_GPUS), default=1, help="expert-parallel degree (MoE)")
    ev.add_argument("--link", help="link between GPUs in a node, e.g. nvswitch-nvlink4, pcie4-x16-cpu")
    ev.add_argument("--fabric", help="link between nodes, e.g. ib-ndr")
    ev.add_argument("--weights", default="bf16", help="weight precision, e.g. bf16, fp8, awq-int4")
    ev.add_argument("--kv-cache", help="KV-cache precision, e.g. bf16, fp8")
    ev.add_argument("--engine", default="vllm", help="vllm, sglang, trtllm, llamacpp, exllamav2")
    ev.add_argument("--concurrency", type=_concurrency, default=None, help="sequences at once, or 'max'")
    ev.add_argument(
        "--input-tokens", type=_tokens, default=None, help=f"prompt tokens (up to {MAX_TOKENS:,})"
    )
    ev.add_argument(
        "--output-tokens", type=_tokens, default=None, help=f"generated tokens (up to {MAX_TOKENS:,})"
    )
    ev.add_argument("--json", action="store_true", help="print the report as one JSON object")
    ev.add_argument("--slo-ttft-ms", type=milliseconds, default=None, metavar="X",
                    help="service level: time to first token at most X ms")
    ev.add_argument("--slo-tpot-ms", type=milliseconds, default=None, metavar="Y",
                    help="service level: time per output token at most Y ms")
    # the host as part of the rig (llama.cpp and Ollama): see gpuplanner.core.host
    ev.add_argument(
        "--offload-layers", type=int, default=0, metavar="N", help="keep the first N layers in RAM"
    )
    ev.add_argument("--offload-experts", action="store_true", help="keep the routed MoE experts in RAM")
    ev.add_argument(
        "--n-cpu-moe", type=int, default=0, metavar="N", help="keep the experts of the first N layers in RAM"
    )
    ev.add_argument("--host", default=None, help="host platform, e.g. am5 (default), lga1700, epyc-9004")
    ev.add_argument("--host-ram", type=float, default=None, metavar="GIB", help="installed system RAM, GiB")

    cat = sub.add_parser("catalog", help="list the built-in (and imported) catalog")
    cat.add_argument("kind", choices=["gpus", "models", "links", "precisions", "engines", "nodes", "add-gpu"])
    cat.add_argument("file", nargs="?", help="add-gpu: a TOML file describing the GPU")
    cat.add_argument("--json", action="store_true")

    add_launch_parser(sub)

    imp = sub.add_parser("import-model", help="add a model from its config.json, or by name from the Hub")
    imp.add_argument(
        "config", help="path to config.json, or a Hugging Face repo id ORG/NAME (fetched online)"
    )
    imp.add_argument("--name", help="display name / id for the model")
    imp.add_argument("--token", help="Hugging Face token for gated repos (default: HF_TOKEN or your login)")
    rig_commands.add_parsers(sub)

    recommend_cli.add_parser(sub)
    return parser


def _load_or_build(args: argparse.Namespace):
    if args.plan:
        if args.model or args.gpu:
            raise PlannerError("give either a plan file or --model/--gpu, not both", fix="drop one of them")
        plan = load_plan(args.plan)
        updates = {}
        w = plan.workload
        if args.concurrency is not None or args.input_tokens or args.output_tokens:
            updates["workload"] = w.model_copy(
                update={
                    k: v
                    for k, v in (
                        ("concurrency", args.concurrency),
                        ("input_tokens", args.input_tokens),
                        ("output_tokens", args.output_tokens),
                    )
                    if v is not None
                }
            )
        return plan.model_copy(update=updates) if updates else plan
    if not (args.model and args.gpu):
        missing = " and ".join(f for f, v in (("--model", args.model), ("--gpu", args.gpu)) if not v)
        raise PlannerError(
            f"nothing to evaluate: {missing} missing",
            fix="give a .gpuplan file, or --model MODEL --gpu GPU (see `gpuplanner catalog models`)",
        )
    _check_quick_sizes(args)
    return quick_plan(
        model=args.model,
        gpu=args.gpu,
        gpus_per_node=args.gpus,
        nodes=args.nodes,
        tp=args.tp,
        pp=args.pp,
        dp=args.dp,
        ep=args.ep,
        link=args.link,
        fabric=args.fabric,
        weights=args.weights,
        kv_cache=args.kv_cache,
        engine=args.engine,
        concurrency=args.concurrency if args.concurrency is not None else 1,
        input_tokens=args.input_tokens or 1024,
        output_tokens=args.output_tokens or 256,
    )


def _check_quick_sizes(args: argparse.Namespace) -> None:
    """Refuse a rig or layout beyond the limits before anything is built for it."""
    per_node = args.gpus
    if per_node is None:
        per_node = -(-(args.tp or 1) * args.pp * args.dp // args.nodes)
        if per_node > MAX_SLOTS:
            raise PlanError(
                f"TP × PP × DP needs {per_node:,} GPUs per node on {plural(args.nodes, 'node')}; a server holds "
                f"up to {MAX_SLOTS}",
                fix="pass --nodes to spread the GPUs over more servers",
            )
    total = per_node * args.nodes
    if total > MAX_GPUS:
        raise PlanError(
            f"{args.nodes:,} nodes × {per_node} GPUs = {total:,} GPUs; gpuplanner plans up to {MAX_GPUS:,}",
            fix="plan fewer GPUs (one replica's layout is enough to judge the rest)",
        )
    layers = default_catalog().model(args.model).num_layers
    if args.pp > layers:
        raise PlanError(
            f"PP {args.pp} asks for more pipeline stages than the model has layers ({layers})",
            fix=f"pass --pp {layers} or fewer",
        )


def _evaluate(args: argparse.Namespace) -> int:
    plan = _load_or_build(args)
    if args.offload_layers or args.offload_experts or args.n_cpu_moe or args.host or args.host_ram:
        # the flags write into the plan (a plan file's own offload is kept unless a flag sets it)
        from gpuplanner.core.host import HostOffload, with_offload

        offload = HostOffload(
            layers=args.offload_layers or plan.engine.offload_layers,
            experts=args.offload_experts or plan.engine.offload_experts,
            host=args.host,
            ram_gib=args.host_ram,
            expert_layers=args.n_cpu_moe or plan.engine.offload_expert_layers,
        )
        plan = with_offload(plan, offload)
    report = evaluate(plan)
    from gpuplanner.core.decision import decide

    decision = decide(plan, report, ttft_ms=args.slo_ttft_ms, tpot_ms=args.slo_tpot_ms)
    if args.json:
        print(json.dumps({**report.to_json_dict(), **decision.json_fields()}, indent=2))
    else:
        print(report_text(report, plan))
        if report.host is not None:
            from gpuplanner.core.host import host_text

            print(host_text(report.host))
        print(decision_text(decision))
    return EXIT_OK if report.fits else EXIT_DOES_NOT_FIT


def decision_text(decision: Decision) -> str:
    """Bill of materials, power, cost and service level under the report's table."""
    cost, power = decision.cost, decision.power
    lines = ["", "Bill of materials"]
    for i in decision.bom:
        price = f"${i.unit_price_usd:,.0f}" if i.unit_price_usd is not None else "price unknown"
        lines.append(f"  {i.count:>4} × {i.item}  ({price}; {i.source})")
    lines.append(f"Power: GPUs {power.gpus:,.0f} W + platform {power.platform:,.0f} W = {power.total:,.0f} W "
                 f"loaded, about {power.idle:,.0f} W idle")

    def money(v: float | None, fmt: str = ",.2f") -> str:
        return "unknown (no price in the price list)" if v is None else f"${v:{fmt}}"

    lines.append(f"Cost: capex {money(cost.capex_usd, ',.0f')}, {money(cost.usd_per_hour)}/hour"
                 + (f" ({cost.basis})" if cost.basis else "")
                 + f", {money(cost.usd_per_million_output_tokens)} per million output tokens")
    if cost.capex_usd is not None and cost.unpriced:
        lines.append(f"  capex leaves out (no price): {', '.join(cost.unpriced)}")
    if cost.joules_per_output_token is not None:
        lines.append(f"Energy: {cost.joules_per_output_token:,.2f} J per output token, "
                     f"{cost.kwh_per_million_output_tokens:,.2f} kWh per million")
    if decision.slo.active:
        lines.append(decision.slo.sentence())
    return "\n".join(lines)


def _catalog(args: argparse.Namespace) -> int:
    if args.kind == "add-gpu":
        return rig_commands.add_gpu(args.file)
    catalog = default_catalog()
    if args.json:
        table = getattr(catalog, args.kind)
        print(json.dumps([spec.model_dump(mode="json") for spec in table.values()], indent=2))
    else:
        print(catalog_table(catalog, args.kind))
    for warning in catalog.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    if looks_like_repo_id(args.config):
        spec, saved = import_model_from_hub(args.config, token=args.token, name=args.name)
    else:
        spec, saved = import_model_file(args.config, name=args.name)
    default_catalog.cache_clear()
    print(f"imported {spec.name} as '{spec.id}' ({spec.num_layers} layers, hidden {spec.hidden_size})")
    print(f"saved to {saved}")
    return EXIT_OK


def add_launch_parser(sub: Any) -> None:
    la = sub.add_parser("launch", help="the command that starts a plan on its engine (or another)")
    la.add_argument("plan", help="a .gpuplan file")
    la.add_argument("--engine", help="vllm, sglang, trtllm, llamacpp, exllamav2, tgi, ollama, or all "
                    "(every engine: a script each, or why it cannot); default: the plan's")
    la.add_argument("--format", choices=["shell", "docker", "kubernetes"], default="shell",
                    help="a shell script, docker run lines, or a Kubernetes manifest (default shell)")
    la.add_argument("--json", action="store_true", help="the launch as one JSON object")


def _launch(args: argparse.Namespace) -> int:
    from gpuplanner.core.launch import LaunchError, launch_for, launches, render

    plan = load_plan(args.plan)
    if args.engine == "all":
        every = launches(plan)
        if args.json:
            print(json.dumps([{**la.to_json(), "format": args.format, "text": render(la, args.format)}
                              for la in every], indent=2))
        else:
            print("\n".join(render(la, args.format) for la in every), end="")
        return EXIT_OK if every[0].runnable else EXIT_BAD_INPUT
    launch = launch_for(plan, args.engine)
    if not launch.runnable:
        raise LaunchError(f"{launch.engine_name} cannot run this plan: {launch.reason}",
                          fix=launch.closest or "pick another engine with --engine")
    if args.json:
        data = launch.to_json()
        data["format"] = args.format
        data["text"] = render(launch, args.format)
        print(json.dumps(data, indent=2))
    else:
        print(render(launch, args.format), end="")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    if args.command == "launch":
        return _launch(args)
    if args.command == "evaluate":
        return _evaluate(args)
    if args.command == "catalog":
        return _catalog(args)
    if args.command in rig_commands.COMMANDS:
        return rig_commands.run(args)
    if args.command == "recommend":
        return recommend_cli.run(args)
    return _import(args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    try:
        return _run(args)
    except PlannerError as e:
        print(f"gpuplanner: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValidationError as e:  # a value beyond the plan's limits, from flags combined into a plan
        print(
            f"gpuplanner: error: {describe_validation(e)}\n  fix: correct the value named above",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # e.g. `gpuplanner catalog gpus | head`
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug: one line for the person, the traceback in a file for the report
        report = write_crash_report(
            e, context=[f"command: gpuplanner {' '.join(sys.argv[1:] if argv is None else argv)}"]
        )
        print(f"gpuplanner: {crash_message(e, report)}", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
