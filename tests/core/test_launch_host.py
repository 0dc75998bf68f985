"""A plan that keeps layers or experts in system RAM launches that way, and its decision quotes the
whole rig's speed (GPUs and host together), not the GPUs' part alone.

Flags from llama-server's documented CLI (https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md):
``-ngl, --gpu-layers N`` (max. number of layers to store in VRAM), ``--cpu-moe`` (keep all MoE weights
in the CPU) and ``--n-cpu-moe N`` (keep the MoE weights of the first N layers in the CPU). Ollama's
Modelfile ``PARAMETER num_gpu`` (https://github.com/ollama/ollama/blob/main/docs/modelfile.md): the
number of layers to send to the GPU(s).
"""

from __future__ import annotations

from gpuplanner.core.decision import decide
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.host import HostOffload, with_offload
from gpuplanner.core.launch import launch_for
from gpuplanner.core.quick import quick_plan


def _argv(plan) -> tuple[str, ...]:
    launch = launch_for(plan)
    assert launch.runnable, launch.reason
    return launch.steps[-1].argv


def _flag(argv: tuple[str, ...], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_layers_in_ram_lower_ngl_and_the_decision_quotes_the_rig():
    # meta-llama/Llama-3.3-70B-Instruct config.json: num_hidden_layers 80
    plan = quick_plan(model="llama-3.3-70b", gpu="rtx-4090", weights="gguf-q4_k_m", engine="llamacpp")
    assert _flag(_argv(plan), "-ngl") == "999"  # everything on the GPU
    offloaded = with_offload(plan, HostOffload(layers=40, host="am5-ddr5-5200", ram_gib=64))
    assert _flag(_argv(offloaded), "-ngl") == "40"  # 80 layers, the first 40 in system RAM
    report = evaluate(offloaded)
    assert report.host is not None and report.performance is not None
    speed = report.rig_speed()
    assert speed is not None and speed.with_host
    assert speed.tpot_s == report.host.tpot_s > report.performance.tpot_s
    decision = decide(offloaded, report, tpot_ms=speed.tpot_s * 1000 * 0.5)
    assert decision.slo.met is False  # the GPUs alone would meet half the rig's TPOT; the rig does not


def test_experts_in_ram_use_cpu_moe_flags():
    # Qwen/Qwen3-30B-A3B config.json: 48 layers, 128 experts, 8 per token
    plan = quick_plan(model="Qwen/Qwen3-30B-A3B", gpu="rtx-4090", weights="gguf-q4_k_m", engine="llamacpp")
    every = with_offload(plan, HostOffload(experts=True, host="am5-ddr5-5200"))
    assert "--cpu-moe" in _argv(every)
    first = with_offload(plan, HostOffload(expert_layers=20, host="am5-ddr5-5200"))
    argv = _argv(first)
    assert _flag(argv, "--n-cpu-moe") == "20" and "--cpu-moe" not in argv


def test_ollama_keeps_the_same_layers_on_the_gpu():
    plan = quick_plan(model="llama-3.3-70b", gpu="rtx-4090", weights="gguf-q4_k_m", engine="ollama")
    offloaded = with_offload(plan, HostOffload(layers=30, host="am5-ddr5-5200"))
    modelfile = next(f.content for f in launch_for(offloaded).files if f.name == "Modelfile")
    assert "PARAMETER num_gpu 50" in modelfile
