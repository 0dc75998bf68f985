"""Your own rig and your own numbers, on the command line.

``gpuplanner import-topology TOPO.txt [--gpus GPUS.csv] -o PLAN.gpuplan``, ``gpuplanner catalog add-gpu
FILE.toml`` and ``gpuplanner calibrate FILE... [--plan PLAN] [--reset] [--json]``. Errors are
:class:`~gpuplanner.core.errors.PlannerError` (exit 2 in :mod:`gpuplanner.cli.main`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gpuplanner.core.catalog import default_catalog, load_catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.limits import read_text_limited
from gpuplanner.core.topo_import import TopologyError, plan_from_topology
from gpuplanner.document.planfile import save_plan

COMMANDS = ("import-topology", "calibrate")


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    topo = sub.add_parser(
        "import-topology",
        help="a plan from `nvidia-smi topo -m` (and --query-gpu) output",
        description="Read `nvidia-smi topo -m` (or `rocm-smi --showtopo`) output into a plan's rig.",
    )
    topo.add_argument("topology", help="a text file with the output of `nvidia-smi topo -m`")
    topo.add_argument(
        "--gpus",
        metavar="GPUS.csv",
        help="`nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id --format=csv` output",
    )
    topo.add_argument("--gpu", help="the GPU id of every GPU, when no GPU list is given (e.g. rtx-4090)")
    topo.add_argument(
        "--nic",
        help="link id of the server's network cards, e.g. ib-ndr, eth-100g (the topology lists them, not their speed)",
    )
    topo.add_argument("--model", default="meta-llama/Llama-3.1-8B-Instruct", help="model id for the plan")
    topo.add_argument("--engine", default="vllm", help="engine id for the plan")
    topo.add_argument("--weights", default="bf16", help="weight precision for the plan")
    topo.add_argument("-o", "--output", required=True, metavar="PLAN.gpuplan", help="the plan file to write")
    topo.add_argument("--json", action="store_true", help="print what was imported as JSON")

    cal = sub.add_parser(
        "calibrate",
        help="fit the speed model to your own llama-bench / vllm bench serve results",
        description="Read benchmark results measured on the plan's machine, fit the efficiency factors "
        "they inform and keep them in your user folder for that GPU kind and engine.",
    )
    cal.add_argument("files", nargs="*", help="llama-bench output (json, csv, md) or vllm bench serve output")
    cal.add_argument("--plan", help="the plan the runs were measured on (GPUs, model, precision, engine)")
    cal.add_argument(
        "--reset", action="store_true", help="remove your calibration (the plan's GPU kind, or all)"
    )
    cal.add_argument("--json", action="store_true", help="print the result as JSON")


def _read(path: str, what: str) -> str:
    return read_text_limited(path, error=TopologyError, what=what)


def import_topology(args: argparse.Namespace) -> int:
    catalog = default_catalog()
    topo_text = _read(args.topology, "topology file")
    csv_text = _read(args.gpus, "GPU list") if args.gpus else None
    plan, notes = plan_from_topology(
        topo_text,
        csv_text,
        gpu=args.gpu,
        model=args.model,
        engine=args.engine,
        weights=args.weights,
        catalog=catalog,
        sources=(args.topology, args.gpus or ""),
        nic=args.nic,
    )
    saved = save_plan(plan, args.output)
    if args.json:
        gpus = [g.gpu for _, g in plan.rig.iter_gpus()]
        node = plan.rig.nodes[0]
        links = [link.model_dump() for link in plan.rig.links]
        print(
            json.dumps(
                {
                    "plan": str(saved),
                    "gpus": gpus,
                    "host_link": node.host_link,
                    "nvswitch": node.nvswitch,
                    "nics": node.nics,
                    "links": links,
                    "notes": list(notes),
                },
                indent=2,
            )
        )
    else:
        for note in notes:
            print(note)
        print(f"saved to {saved}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.command == "calibrate":
        from gpuplanner.cli.calibrate_command import calibrate

        return calibrate(args)
    return import_topology(args)


def add_gpu(path: str | None) -> int:
    """``gpuplanner catalog add-gpu FILE.toml``."""
    from gpuplanner.core.user_gpus import add_user_gpu_file

    if not path:
        raise PlannerError(
            "add-gpu needs a TOML file describing the GPU",
            fix="gpuplanner catalog add-gpu MYGPU.toml (see README: Custom GPUs)",
        )
    spec, saved = add_user_gpu_file(Path(path), load_catalog(include_user_models=False))
    default_catalog.cache_clear()
    print(
        f"added {spec.name} as '{spec.id}' (user-defined): {spec.memory_gib_usable:g} GiB, "
        f"{spec.hbm_bandwidth_gbps:g} GB/s, BF16 {spec.bf16_tflops or 0:g} TFLOPS"
    )
    print(f"saved to {saved}")
    return 0
