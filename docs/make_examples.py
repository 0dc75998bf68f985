"""Write the sample plans in catalogs/examples/ (run after changing the plan format or the samples).

    .venv/bin/python docs/make_examples.py

Each sample is a rig people recognise; the file is plain JSON a person can read and edit.
"""

from __future__ import annotations

from pathlib import Path

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.host import HostOffload, with_offload
from gpuplanner.core.plan import EngineSettings, Layout, Plan, Replica, Stage
from gpuplanner.core.quick import quick_plan
from gpuplanner.document.planfile import save_plan

OUT = Path(__file__).resolve().parent.parent / "catalogs" / "examples"


def _named(plan: Plan, name: str, description: str, **updates: object) -> Plan:
    return plan.model_copy(update={"name": name, "description": description, **updates})


def samples() -> dict[str, Plan]:
    plans: dict[str, Plan] = {}
    dgx = quick_plan(
        model="meta-llama/Llama-3.1-70B-Instruct",
        gpu="h100-sxm",
        gpus_per_node=8,
        tp=8,
        concurrency=32,
        input_tokens=2048,
        output_tokens=512,
    )
    dgx = dgx.model_copy(
        update={
            "rig": dgx.rig.model_copy(
                update={
                    "nodes": tuple(
                        n.model_copy(
                            update={"name": "DGX H100", "template": "dgx-h100", "nic": "ib-ndr", "nics": 8}
                        )
                        for n in dgx.rig.nodes
                    )
                }
            )
        }
    )
    plans["dgx-h100-llama-3.1-70b-tp8"] = _named(
        dgx,
        "DGX H100 · Llama 3.1 70B · TP 8",
        "One DGX H100 (8× H100 SXM5 on NVSwitch) serving Llama 3.1 70B in BF16 with vLLM, tensor parallel 8.",
    )

    p = quick_plan(
        model="meta-llama/Llama-3.3-70B-Instruct",
        gpu="rtx-4090",
        gpus_per_node=2,
        tp=2,
        link="pcie4-x16-cpu",
        weights="awq-int4",
        kv_cache="fp8",
        concurrency=4,
        input_tokens=2048,
        output_tokens=512,
    )
    p = p.model_copy(
        update={
            "engine": EngineSettings(
                engine="vllm", gpu_memory_utilization=0.95, max_model_len=8192, max_num_batched_tokens=2048
            ),
            "rig": p.rig.model_copy(
                update={
                    "nodes": (
                        p.rig.nodes[0].model_copy(
                            update={"name": "Workstation (2× RTX 4090)", "template": "workstation-2slot"}
                        ),
                    )
                }
            ),
        }
    )
    plans["2x-rtx4090-llama-3.3-70b-awq"] = _named(
        p,
        "2× RTX 4090 · Llama 3.3 70B AWQ 4-bit · TP 2",
        "A two-card workstation over PCIe 4.0 through the CPU (no NVLink on the 4090), 70B in AWQ 4-bit.",
    )

    p = quick_plan(
        model="meta-llama/Llama-3.1-70B-Instruct",
        gpu="a100-80gb-pcie",
        gpus_per_node=4,
        tp=4,
        link="pcie4-x16-switch",
        concurrency=16,
        input_tokens=1024,
        output_tokens=256,
    )
    plans["4x-a100-pcie-llama-3.1-70b"] = _named(
        p,
        "4× A100 80GB PCIe · Llama 3.1 70B · TP 4",
        "A 4-GPU PCIe server (GPUs under one PCIe 4.0 switch), Llama 3.1 70B in BF16, tensor parallel 4.",
    )

    p = quick_plan(
        model="meta-llama/Llama-3.1-405B-Instruct",
        gpu="h100-sxm",
        gpus_per_node=8,
        nodes=2,
        tp=8,
        pp=2,
        fabric="ib-ndr",
        concurrency=16,
        input_tokens=2048,
        output_tokens=512,
    )
    plans["2x-dgx-h100-llama-3.1-405b-tp8-pp2"] = _named(
        p,
        "2× DGX H100 · Llama 3.1 405B · TP 8 × PP 2",
        "Two DGX H100 nodes over InfiniBand NDR (8× 400 Gb/s per node): tensor parallel inside each "
        "node's NVSwitch, two pipeline stages across the network.",
    )

    p = quick_plan(
        model="Qwen/Qwen3-32B",
        gpu="rtx-3090",
        gpus_per_node=2,
        pp=2,
        tp=1,
        link="pcie4-x16-cpu",
        weights="gguf-q4_k_m",
        kv_cache="fp16",
        engine="llamacpp",
        concurrency=2,
        input_tokens=4096,
        output_tokens=1024,
    )
    node = p.rig.nodes[0]
    mixed = node.model_copy(
        update={
            "name": "Workstation (RTX 3090 + RTX 4090)",
            "gpus": (node.gpus[0], node.gpus[1].model_copy(update={"gpu": "rtx-4090"})),
        }
    )
    stages = p.layout.replicas[0].stages
    uneven = Layout(
        replicas=(
            Replica(
                stages=(
                    Stage(layers=(0, 30), gpus=stages[0].gpus),
                    Stage(layers=(30, 64), gpus=stages[1].gpus),
                )
            ),
        )
    )
    plans["mixed-3090-4090-qwen3-32b-uneven"] = _named(
        p,
        "RTX 3090 + RTX 4090 · Qwen3 32B Q4_K_M · uneven split",
        "A mixed workstation with llama.cpp: 30 layers on the RTX 3090, 34 (and the lm_head) on the faster "
        "RTX 4090 (--tensor-split 30,34).",
        rig=p.rig.model_copy(update={"nodes": (mixed,)}),
        layout=uneven,
        engine=EngineSettings(engine="llamacpp", max_model_len=16384),  # --parallel auto: 4 slots, one cache
    )

    p = quick_plan(
        model="deepseek-ai/DeepSeek-R1",
        gpu="h200-sxm",
        gpus_per_node=8,
        tp=8,
        weights="fp8",
        kv_cache="fp8",
        concurrency=32,
        input_tokens=2048,
        output_tokens=1024,
    )
    plans["8x-h200-deepseek-r1-fp8"] = _named(
        p,
        "8× H200 · DeepSeek-R1 FP8 · TP 8",
        "An HGX H200 node serving DeepSeek-R1 (671B MoE, MLA) in its native FP8 with vLLM, tensor parallel 8.",
    )

    p = quick_plan(
        model="meta-llama/Llama-3.1-70B-Instruct",
        gpu="l40s",
        gpus_per_node=2,
        tp=2,
        link="pcie4-x16-cpu",
        concurrency=8,
        input_tokens=2048,
        output_tokens=512,
    )
    plans["2x-l40s-llama-3.1-70b-bf16-does-not-fit"] = _named(
        p,
        "2× L40S · Llama 3.1 70B BF16 (does not fit)",
        "141 GB of BF16 weights on 2× 48 GB: the planner says why and what to change (FP8 or 4-bit weights, "
        "or more GPUs).",
    )

    # the host as part of the rig: llama.cpp keeps the first 40 of 80 layers (and the output layer) in
    # the desktop's system RAM (-ngl 40), one 8,192-token slot
    desktop = quick_plan(
        model="meta-llama/Llama-3.3-70B-Instruct",
        gpu="rtx-4090",
        tp=1,
        weights="gguf-q4_k_m",
        engine="llamacpp",
    )
    desktop = desktop.model_copy(
        update={
            "engine": desktop.engine.model_copy(update={"max_model_len": 8192, "max_num_seqs": 1}),
            "rig": desktop.rig.model_copy(
                update={
                    "nodes": tuple(
                        n.model_copy(update={"name": "Desktop (RTX 4090, AM5)"}) for n in desktop.rig.nodes
                    )
                }
            ),
        }
    )
    plans["desktop-rtx4090-llama-3.3-70b-q4-host-offload"] = _named(
        with_offload(desktop, HostOffload(layers=40, host="am5-ddr5-5200", ram_gib=64)),
        "RTX 4090 + 64 GiB DDR5 · Llama 3.3 70B Q4_K_M · 40 layers in system RAM",
        "A desktop with one RTX 4090 on an AM5 board (dual-channel DDR5-5200, 64 GiB): llama.cpp keeps the "
        "first 40 of 80 layers in system RAM (-ngl 40) and reads them once per token; one 8,192-token slot.",
    )
    return plans


def main() -> None:
    default_catalog()
    OUT.mkdir(parents=True, exist_ok=True)
    for slug, plan in samples().items():
        path = save_plan(plan, OUT / f"{slug}.gpuplan")
        report = evaluate(plan)
        print(f"{path.name}: {report.verdict}")


if __name__ == "__main__":
    main()
