"""The command line: ``gpuplanner evaluate | catalog | import-model``.

Exit codes: 0 the plan fits (or the command worked), 1 the plan does not fit, 2 bad input
(unknown id, broken plan file, impossible layout, a number beyond gpuplanner's limits) with a message
naming the problem and the fix, 3 an internal error (one line, and the path of a crash report).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import ValidationError

from gpuplanner import __version__
from gpuplanner.cli import recommend as recommend_cli
from gpuplanner.cli.tables import catalog_table, report_text
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import PlanError, PlannerError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.hf_import import import_model_file
from gpuplanner.core.limits import MAX_CONCURRENCY, MAX_GPUS, MAX_NODES, MAX_SLOTS, MAX_TOKENS
from gpuplanner.core.quick import quick_plan
from gpuplanner.crash import EXIT_INTERNAL_ERROR, crash_message, write_crash_report
from gpuplanner.document.planfile import describe_validation, load_plan

EXIT_OK, EXIT_DOES_NOT_FIT, EXIT_BAD_INPUT = 0, 1, 2

DESCRIPTION = """\
Plan how a large language model runs on several GPUs.

  gpuplanner                      open the window on the built-in sample plan
  gpuplanner PLAN.gpuplan         open a plan in the window
  gpuplanner evaluate ...         fit and speed of a plan, as a table or JSON
  gpuplanner catalog KIND         list GPUs, models, links, precisions or engines
  gpuplanner import-model FILE    add a model from its Hugging Face config.json
  gpuplanner export PLAN -o PDF   export a plan as a PDF report
  gpuplanner recommend ...        the best layout for a rig, or the best rig for a goal
  gpuplanner --selftest           check the installation (window, model, PDF)
"""


def _count(limit: int) -> Callable[[str], int]:
    """An argparse type: a whole number from 1 to ``limit``."""

    def parse(text: str) -> int:
        digits = text.strip()
        try:
            value = int(digits) if len(digits) <= 20 else None
        except ValueError:
            value = None
        if value is None:
            raise argparse.ArgumentTypeError(f"'{text[:40]}' is not a whole number from 1 to {limit:,}")
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
        if value > limit:
            raise argparse.ArgumentTypeError(f"must be at most {limit:,}, not {value:,}")
        return value

    return parse


_tokens = _count(MAX_TOKENS)


def _concurrency(text: str) -> int | Literal["max"]:
    if text.lower() == "max":
        return "max"
    return _count(MAX_CONCURRENCY)(text)


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
    ev.add_argument("--gpus", type=_count(MAX_SLOTS), help=f"GPUs per node (up to {MAX_SLOTS})")
    ev.add_argument("--nodes", type=_count(MAX_NODES), default=1, help=f"nodes (up to {MAX_NODES:,})")
    ev.add_argument("--tp", type=_count(MAX_GPUS), help="tensor-parallel degree")
    ev.add_argument("--pp", type=_count(MAX_GPUS), default=1, help="pipeline stages")
    ev.add_argument("--dp", type=_count(MAX_GPUS), default=1, help="data-parallel replicas")
    ev.add_argument("--ep", type=_count(MAX_GPUS), default=1, help="expert-parallel degree (MoE)")
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
    # the host as part of the rig (llama.cpp and Ollama): see gpuplanner.core.host
    ev.add_argument(
        "--offload-layers", type=int, default=0, metavar="N", help="keep the first N layers in RAM"
    )
    ev.add_argument("--offload-experts", action="store_true", help="keep the routed MoE experts in RAM")
    ev.add_argument("--host", default="am5-ddr5-5200", help="host platform, e.g. am5, lga1700, epyc-9004")
    ev.add_argument("--host-ram", type=float, default=None, metavar="GIB", help="installed system RAM, GiB")

    cat = sub.add_parser("catalog", help="list the built-in (and imported) catalog")
    cat.add_argument("kind", choices=["gpus", "models", "links", "precisions", "engines", "nodes"])
    cat.add_argument("--json", action="store_true")

    imp = sub.add_parser("import-model", help="add a model from its Hugging Face config.json")
    imp.add_argument("config", help="path to config.json")
    imp.add_argument("--name", help="display name / id for the model")

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
                f"TP × PP × DP needs {per_node:,} GPUs per node on {args.nodes} node(s); a server holds "
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
    if args.offload_layers or args.offload_experts:
        from gpuplanner.core.host import HostOffload, evaluate_with_host, host_text

        offload = HostOffload(args.offload_layers, args.offload_experts, args.host, args.host_ram)
        report = evaluate_with_host(plan, offload)
    else:
        report = evaluate(plan)
    if args.json:
        print(json.dumps(report.to_json_dict(), indent=2))
    else:
        print(report_text(report, plan))
        if report.host is not None:
            print(host_text(report.host))
    return EXIT_OK if report.fits else EXIT_DOES_NOT_FIT


def _catalog(args: argparse.Namespace) -> int:
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
    spec, saved = import_model_file(args.config, name=args.name)
    default_catalog.cache_clear()
    print(f"imported {spec.name} as '{spec.id}' ({spec.num_layers} layers, hidden {spec.hidden_size})")
    print(f"saved to {saved}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    if args.command == "evaluate":
        return _evaluate(args)
    if args.command == "catalog":
        return _catalog(args)
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
