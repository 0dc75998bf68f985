"""Full JSON reports of plans that exercise evaluate's sharing of identical work, to show that making
``evaluate`` cheaper changes none of its output.

    python benchmarks/evaluate_regression.py write DIR     # one JSON report per plan
    python benchmarks/evaluate_regression.py compare DIR   # exit 1 (and a diff) when any report differs

``tests/data/evaluate_regression/`` holds the reports of evaluate before it shared work between
identical replicas, stages and GPUs: first written from commit 7028cb4, then rewritten after the
calibration refit from commit 815b362 (the refit on the unshared evaluate, with the catalogs of the merge
that joined them), by running this file with ``PYTHONPATH`` on an export of that commit
(``git archive 815b362 | tar -x -C /tmp/base``; the script puts nothing on
``sys.path`` itself, so whichever ``gpuplanner`` is importable is the one measured). They are a
regression guard, not golden values: they say "the same as before", not "right".

The plans: mixed GPU kinds with an uneven pipeline, replicas on different hardware, a TP group whose
GPU kinds come in a different order per replica, uneven layer splits across replicas, MoE with expert
parallelism inside a stage and across replicas, host offload, llama.cpp's row split, SGLang's, TensorRT-LLM's and TGI's memory rules, a plan that does not fit (per-GPU problems and their checked fixes), static batching, a concurrency that does
not divide over the replicas, and a 64-GPU rig.
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.plan import GpuPlacement, Layout, Plan, Replica, Stage, Workload
from gpuplanner.core.quick import quick_plan
from gpuplanner.document.planfile import load_plan
from gpuplanner.paths import examples_dir


def _with_gpu_kinds(plan: Plan, kinds: dict[str, str]) -> Plan:
    """``plan`` with the GPUs named in ``kinds`` (id -> catalog id) swapped for another kind."""
    nodes = tuple(
        node.model_copy(
            update={
                "gpus": tuple(
                    GpuPlacement(id=g.id, gpu=kinds.get(g.id, g.gpu), slot=g.slot) for g in node.gpus
                )
            }
        )
        for node in plan.rig.nodes
    )
    return plan.model_copy(update={"rig": plan.rig.model_copy(update={"nodes": nodes})})


def _with_layout(plan: Plan, replicas: list[list[tuple[tuple[int, int], list[str]]]], ep: int = 1) -> Plan:
    layout = Layout(
        replicas=tuple(
            Replica(stages=tuple(Stage(layers=layers, gpus=tuple(gpus)) for layers, gpus in stages))
            for stages in replicas
        ),
        ep=ep,
    )
    return plan.model_copy(update={"layout": layout})


def plans() -> dict[str, Plan]:
    cat = default_catalog()
    examples = {p.stem: load_plan(p) for p in sorted(examples_dir().glob("*.gpuplan"))}
    out: dict[str, Plan] = {
        "mixed-uneven-pp": examples["mixed-3090-4090-qwen3-32b-uneven"],
        "host-offload": examples["desktop-rtx4090-llama-3.3-70b-q4-host-offload"],
        "moe-ep-in-stage": examples["8x-h200-deepseek-r1-fp8"],
        "pp2-across-nodes": examples["2x-dgx-h100-llama-3.1-405b-tp8-pp2"],
        "does-not-fit": examples["2x-l40s-llama-3.1-70b-bf16-does-not-fit"],
    }
    # two servers, DP 2: the second replica on A100s instead of H100s
    two = quick_plan(
        model="meta-llama/Llama-3.1-70B-Instruct",
        gpu="h100-sxm",
        gpus_per_node=8,
        nodes=2,
        tp=8,
        dp=2,
        fabric="ib-ndr",
        concurrency="max",
        catalog=cat,
    )
    second = [g.id for g in two.rig.nodes[1].gpus]
    out["dp-different-hardware"] = _with_gpu_kinds(two, dict.fromkeys(second, "a100-80gb-sxm"))
    # four PCIe cards, DP 2 x TP 2: (3090, 4090) in one replica, (4090, 3090) in the other
    four = quick_plan(
        model="Qwen/Qwen3-32B", gpu="rtx-4090", gpus_per_node=4, tp=2, dp=2, weights="awq-int4", catalog=cat
    )
    ids = [g.id for g in four.rig.nodes[0].gpus]
    mixed = _with_gpu_kinds(four, {ids[0]: "rtx-3090", ids[3]: "rtx-3090"})
    out["tp-mixed-order"] = _with_layout(mixed, [[((0, 64), ids[0:2])], [((0, 64), ids[2:4])]]).model_copy(
        update={"workload": Workload(concurrency=7, input_tokens=2048, output_tokens=512)}
    )
    # 64 GPUs (8 x DGX H100), 405B fp8 TP 8 x PP 2 x DP 4, layers split differently per replica
    big = quick_plan(
        model="meta-llama/Llama-3.1-405B-Instruct",
        gpu="h100-sxm",
        gpus_per_node=8,
        nodes=8,
        tp=8,
        pp=2,
        dp=4,
        weights="fp8",
        fabric="ib-ndr",
        concurrency="max",
        catalog=cat,
    )
    out["64-gpus-uniform"] = big
    splits = [63, 63, 60, 66]
    replicas = []
    for rep, cut in enumerate(splits):
        stages = big.layout.replicas[rep].stages
        replicas.append([((0, cut), list(stages[0].gpus)), ((cut, 126), list(stages[1].gpus))])
    out["64-gpus-uneven-replicas"] = _with_layout(big, replicas).model_copy(
        update={"workload": Workload(concurrency=101, input_tokens=1000, output_tokens=300)}
    )
    out["64-gpus-static"] = big.model_copy(
        update={"workload": Workload(concurrency=48, input_tokens=512, output_tokens=128, batching="static")}
    )
    # MoE, EP 8 over two TP-4 replicas' same stage (the EP group spans replicas), 16 GPUs
    moe = quick_plan(
        model="Qwen/Qwen3-235B-A22B",
        gpu="h100-sxm",
        gpus_per_node=8,
        nodes=2,
        tp=4,
        dp=4,
        ep=8,
        weights="fp8",
        fabric="ib-ndr",
        concurrency="max",
        catalog=cat,
    )
    out["moe-ep-across-replicas"] = moe
    # llama.cpp --split-mode row over a 3090 and a 4090 (the main GPU holds the KV cache)
    row = quick_plan(
        model="Qwen/Qwen3-32B",
        gpu="rtx-4090",
        gpus_per_node=2,
        tp=2,
        engine="llamacpp",
        weights="gguf-q4_k_m",
        split_mode="row",
        catalog=cat,
    )
    out["llamacpp-row-split"] = _with_gpu_kinds(row, {row.rig.nodes[0].gpus[0].id: "rtx-3090"})
    # other engines' memory rules, DP 2 x TP 4 on one DGX H100
    for engine in ("sglang", "trtllm", "tgi"):
        out[f"{engine}-dp2-tp4"] = quick_plan(
            model="meta-llama/Llama-3.1-70B-Instruct",
            gpu="h100-sxm",
            tp=4,
            dp=2,
            engine=engine,
            concurrency=24,
            catalog=cat,
        )
    # gpu_memory_utilization 1.0 leaves CUDA graphs no room: over capacity on every GPU, with a fix
    full = out["dp-different-hardware"]
    out["over-capacity"] = full.model_copy(
        update={"engine": full.engine.model_copy(update={"gpu_memory_utilization": 1.0})}
    )
    return out


def reports() -> dict[str, str]:
    """Each plan's JSON report (``gpuplanner evaluate --json``'s content), indented, keys sorted."""
    cat = default_catalog()
    return {
        name: json.dumps(evaluate(plan, cat).to_json_dict(), indent=1, sort_keys=True) + "\n"
        for name, plan in plans().items()
    }


def write(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    texts = reports()
    for name, text in texts.items():
        (out / f"{name}.json").write_text(text)
    print(f"wrote {len(texts)} reports to {out}")
    return 0


def compare(saved: Path) -> int:
    differing = 0
    for name, text in reports().items():
        before = (saved / f"{name}.json").read_text()
        if before != text:
            differing += 1
            sys.stdout.writelines(
                difflib.unified_diff(
                    before.splitlines(True), text.splitlines(True), f"saved/{name}", f"now/{name}", n=1
                )
            )
    print(f"{differing} report(s) differ")
    return 1 if differing else 0


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["write", out]:
            sys.exit(write(Path(out)))
        case ["compare", saved]:
            sys.exit(compare(Path(saved)))
        case _:
            print(__doc__, file=sys.stderr)
            sys.exit(2)
