"""The catalog covers the GPUs, models and engines people plan with (issue 15), every entry sourced."""

from __future__ import annotations

import pytest

from gpuplanner.core import architecture as arch
from gpuplanner.core.catalog import load_catalog
from gpuplanner.core.fit import fit_memory
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.resolve import resolve_plan

# ids the issue names: they must resolve, by id or by the name people type
ISSUE_GPUS = [
    "rtx-3090-ti", "t4", "a10g", "p40", "l20", "mi210", "rx-7900-xtx",
    "rtx-3080", "rtx-3080-12gb", "rtx-3080-ti", "rtx-3060-12gb", "rtx-4060-ti-16gb", "rtx-4070-ti-super",
    "rtx-4080", "rtx-4080-super", "rtx-5060-ti-16gb", "rtx-5070-ti", "rtx-5080", "titan-rtx", "rtx-2080-ti",
    "rtx-a4000", "rtx-a4500", "rtx-a5000", "rtx-a5500", "rtx-4000-ada", "rtx-4500-ada", "rtx-5000-ada",
    "rtx-pro-4000-blackwell", "rtx-pro-4500-blackwell", "rtx-pro-5000-blackwell",
    "rtx-pro-6000-blackwell-max-q", "rtx-pro-6000-blackwell-server",
    "p100-16gb", "v100-16gb-sxm", "a2", "a16", "b300", "gb300", "mi250", "mi300a", "w7900",
    "arc-a770", "arc-b580", "max-1550", "max-1100", "h100-nvl", "h200-nvl", "v100-16gb-sxm",
]  # fmt: skip
BY_NAME = {"RTX 3090 Ti": "rtx-3090-ti", "Tesla T4": "t4", "A10G": "a10g", "Tesla P40": "p40",
           "RX 7900 XTX": "rx-7900-xtx", "Instinct MI210": "mi210", "4090": "rtx-4090"}  # fmt: skip
ISSUE_MODELS = [
    "llama-3.2-1b", "llama-3.2-3b", "llama-4-scout", "llama-4-maverick",
    "qwen2.5-0.5b", "qwen2.5-1.5b", "qwen2.5-3b", "qwen2.5-7b", "qwen2.5-14b", "qwen2.5-32b", "qwen2.5-72b",
    "qwen2.5-coder-32b", "qwq-32b", "qwen3-0.6b", "qwen3-1.7b", "qwen3-4b", "qwen3-8b", "qwen3-14b",
    "qwen3-32b", "qwen3-30b-a3b", "qwen3-coder-480b", "qwen3-next", "deepseek-v3.1", "deepseek-v3.2",
    "r1-distill-llama-8b", "r1-distill-llama-70b", "r1-distill-qwen-7b", "r1-distill-qwen-14b",
    "r1-distill-qwen-32b", "kimi-k2", "glm-4.5", "glm-4.6", "glm-4.5-air", "mistral-small-3.1",
    "mistral-small-3.2", "mistral-nemo", "devstral", "magistral", "gemma-3-1b", "gemma-3-4b", "gemma-3-12b",
    "gemma-3-27b", "phi-4", "phi-4-mini", "minimax-m2.5", "gpt-oss-20b", "gpt-oss-120b",
    "command-a", "r1-distill-qwen-1.5b", "minimax-m1", "minimax-m2", "qwen3-next-80b-a3b",
    "qwen3-coder-480b-a35b", "deepseek-v3.1", "devstral-small", "magistral-small", "mistral-small-3", "mistral-small-3.2",
    # needed for measurements by the performance work
    "mixtral-8x7b", "mixtral-8x22b", "deepseek-v3", "deepseek-r1", "qwen3-235b-a22b", "llama-2-7b",
    "llama-2-13b", "llama-2-70b", "llama-3-8b", "llama-3-70b", "llama-3.1-8b", "llama-3.1-70b",
    "llama-3.1-405b", "mistral-7b-v0.3",
]  # fmt: skip


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(include_user_models=False)


def test_counts(catalog):
    assert len(catalog.gpus) >= 90
    assert len(catalog.models) >= 70
    assert {"tgi", "ollama"} <= set(catalog.engines)


@pytest.mark.parametrize("ref", ISSUE_GPUS)
def test_issue_gpus_resolve(catalog, ref):
    gpu = catalog.gpu(ref)
    assert gpu.sources and gpu.notes
    assert gpu.memory_gib_usable <= gpu.memory_gb * 1e9 / 2**30 * 1.074 + 0.5  # usable never above marketed
    assert gpu.hbm_bandwidth_gbps > 0 and gpu.tdp_w > 0


@pytest.mark.parametrize(("name", "ident"), BY_NAME.items())
def test_gpus_answer_to_the_names_people_type(catalog, name, ident):
    assert catalog.gpu(name).id == ident


@pytest.mark.parametrize("ref", ISSUE_MODELS)
def test_issue_models_resolve_with_sources(catalog, ref):
    model = catalog.model(ref)
    assert model.sources and any(key.startswith("hf:") for key in model.sources)
    assert all(key in catalog.sources for key in model.sources)


def test_derived_tensor_rates_reproduce_the_vendor_figures(catalog):
    # the TC-RATE rule, checked on cards whose dense figure NVIDIA publishes (datasheets halved):
    # RTX 4080 97.5 TFLOPS FP16/FP32-accumulate (Ada whitepaper), RTX A4000 153.4 sparse -> 76.7,
    # A2 36 sparse -> 18 (A2 datasheet), T4 65 FP16 (T4-SPEC)
    assert catalog.gpu("rtx-4080").bf16_tflops == pytest.approx(97.5, abs=0.1)
    assert catalog.gpu("rtx-a4000").bf16_tflops == pytest.approx(76.7, abs=0.1)
    assert catalog.gpu("a2").bf16_tflops == pytest.approx(18.0, abs=0.2)
    assert catalog.gpu("t4").fp16_tflops == 65


def test_engines_name_the_version_their_rules_come_from(catalog):
    for engine in catalog.engines.values():
        assert engine.version and engine.sources, engine.id
        # each profile says which release its rules were read from, and that release is its version
        assert engine.version in engine.rules_from, engine.id
        cited = [key for key in engine.sources if key in engine.rules_from]
        assert cited and all(key in catalog.sources for key in cited), engine.id
    assert catalog.engine("text-generation-inference").memory_rule == "tgi"
    assert catalog.engine("Ollama").kv_precisions == ("fp16", "gguf-q8_0", "gguf-q4_0")


def _resolved(catalog, model: str, gpu: str, engine: str, weights: str = "bf16", kv: str = "bf16"):
    plan = quick_plan(
        model=model, gpu=gpu, tp=1, engine=engine, weights=weights, kv_cache=kv, catalog=catalog
    )
    return resolve_plan(plan, catalog)


def test_tgi_gives_the_kv_cache_90_percent_of_memory_less_what_warmup_left_in_use(catalog):
    # TGI-WARMUP: KV = total x cuda_memory_fraction (1.0) x TGI_WIGGLE_ROOM (0.90) - weights - warmup peak
    fit = fit_memory(_resolved(catalog, "meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", "tgi"))
    g = fit.gpus[0]
    assert g.budget == int(g.capacity * 0.9)
    assert g.kv_allocatable == g.budget - (g.weights + g.activations + g.communication + g.runtime) + int(
        0.5 * 2**30
    )  # CUDA graphs are captured after the KV cache


def test_ollama_sizes_kv_for_its_context_not_for_free_memory(catalog):
    # OLLAMA-FAQ: memory scales with num_ctx x OLLAMA_NUM_PARALLEL, not with what is free
    r = _resolved(catalog, "meta-llama/Llama-3.1-8B-Instruct", "rtx-4090", "ollama", "gguf-q4_k_m", "fp16")
    fit = fit_memory(r)
    # Llama 3.1 8B: 32 layers x 2 x 8 KV heads x 128 x 2 bytes = 128 KiB per token in FP16
    per_token = arch.kv_bytes_for_sequence(r.model, 2.0, range(32), 1)
    assert per_token == 32 * 2 * 8 * 128 * 2
    # one slot (OLLAMA_NUM_PARALLEL 1) of the plan's context, rounded up to a 256-token block
    assert fit.gpus[0].kv_used <= per_token * (fit.context_tokens + 256)
    assert fit.gpus[0].free > 10 * 2**30


def test_a_4090_plus_a_3090_ti_workstation_is_answerable():
    # the issue's example: two GeForce cards of different generations in one PCIe box, llama.cpp and
    # Ollama splitting Llama 3.1 70B (Q4_K_M) by layers
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.core.plan import EngineSettings, GpuPlacement, Layout, Node, Plan, Replica, Rig, Stage

    node = Node(
        id="n0",
        slots=2,
        gpus=(GpuPlacement(id="a", gpu="rtx-4090", slot=0), GpuPlacement(id="b", gpu="rtx-3090-ti", slot=1)),
        host_link="pcie4-x16-cpu",
    )
    layout = Layout(
        replicas=(Replica(stages=(Stage(layers=(0, 40), gpus=("a",)), Stage(layers=(40, 80), gpus=("b",)))),)
    )
    for engine in ("llamacpp", "ollama"):
        plan = Plan(
            rig=Rig(nodes=(node,)),
            model="meta-llama/Llama-3.1-70B-Instruct",
            weights="gguf-q4_k_m",
            kv_cache="fp16",
            layout=layout,
            engine=EngineSettings(engine=engine),
        )
        report = evaluate(plan)
        assert report.fits, report.verdict
        assert [g.gpu for g in report.gpus] == ["rtx-4090", "rtx-3090-ti"]
        assert report.performance is not None and report.performance.tpot_s > 0


def test_added_models_match_their_published_sizes(catalog):
    # Command A: 111B parameters (C-TRTLLM-COMMANDA); DeepSeek-R1-Distill-Qwen-1.5B: 1.78B on Hugging Face;
    # MiniMax-M1: 456B total, 45.9B active (C-MINIMAX-M1); MiniMax-M2: 229B on its model card
    assert arch.total_params(catalog.model("command-a")) / 1e9 == pytest.approx(111, rel=0.01)
    assert arch.total_params(catalog.model("r1-distill-qwen-1.5b")) / 1e9 == pytest.approx(1.78, rel=0.01)
    m1 = catalog.model("minimax-m1")
    assert arch.total_params(m1) / 1e9 == pytest.approx(456, rel=0.01)
    assert arch.total_params(catalog.model("minimax-m2")) / 1e9 == pytest.approx(229, rel=0.01)


def test_command_a_keeps_a_4096_token_window_on_three_of_four_layers(catalog):
    # Cohere2 config: 64 layers, sliding_window 4096, sliding_window_pattern 4 (every 4th layer global),
    # 8 KV heads of 128: at 131,072 tokens, 16 global layers hold all of them and 48 hold 4,096
    m = catalog.model("command-a")
    per_token_layer = 2 * 8 * 128 * 2  # K and V, BF16
    expected = 16 * per_token_layer * 131072 + 48 * per_token_layer * 4096
    assert arch.kv_bytes_for_sequence(m, 2.0, range(64), 131072) == expected
