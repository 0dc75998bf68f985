"""Engine rules against the engines' own sources.

Sources (golden values are read off these, never off our output):
- vLLM: vllm-project/vllm vllm/engine/arg_utils.py at 99d7eb5d6a512cfcc5a2b104f24ebf2d6cda772b,
  ``EngineArgs._set_default_args`` (``get_batch_defaults`` in later versions): the OpenAI API server
  uses max_num_batched_tokens 8192 / max_num_seqs 1024 when the device reports >= 70 GiB and its name
  has no "a100" (PR #17885), 2048 / 256 otherwise. vllm/config/vllm.py ``_set_cudagraph_sizes``:
  max_cudagraph_capture_size = min(max_num_seqs x 2, 512), capped at max_num_batched_tokens.
  ``--kv-cache-dtype auto``: the model's data type.
- SGLang: python/sglang/srt/server_args.py ``ServerArgs._handle_gpu_memory_settings`` (v0.5):
  chunked_prefill_size / cuda_graph_max_bs 2048 / 24 (TP < 4) or 80 (TP >= 4) under 35 GiB, 8192 /
  256 or 512 under 160 GiB, 16384 / 512 above; reserved MiB = 512 + max(chunk, 2048) x 1.5
  + cuda_graph_max_bs x 2 + TP x PP / 8 x 1024, at least 10240 above 60 GiB;
  mem_fraction_static = round((memory - reserved) / memory, 3), memory in MiB from nvidia-smi
  (RTX 4090: 24564 MiB; H100 SXM5: 81559 MiB).
- TensorRT-LLM quantization docs: FP8 KV cache "can be enabled manually, even for checkpoints that do
  not have it enabled by default" (KvCacheConfig dtype auto follows the checkpoint).
- llama.cpp: common/common.h (ggml-org/llama.cpp de93b991: n_batch 2048, n_ubatch 512, split_mode
  LAYER, cache_type_k/v F16; current master: n_ctx 0 = "context the model was trained with",
  fit_params true, fit_params_min_ctx 4096, fit_params_target 1 GiB per device, PR #16653);
  tools/server/server.cpp: --parallel auto becomes 4 slots with kv_unified = true (PR #16736);
  src/llama-context.cpp: unified: every slot may use all n_ctx cells, else n_ctx / n_seq_max.
  tools/server/README.md: "-sm ... row: split rows across GPUs", "-mg: the GPU ... for intermediate
  results and KV (with split-mode = row)".
- Llama 3.1 8B config.json: max_position_embeddings 131072, 32 layers x 8 KV heads x 128 -> 128 KiB
  of FP16 KV per token.
"""

from __future__ import annotations

import pytest

from gpuplanner.__main__ import main
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import PlanError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.fit import fit_memory
from gpuplanner.core.perf import estimate_performance
from gpuplanner.core.plan import EngineSettings, Plan, Workload
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.resolve import resolve_plan

GIB = 2**30
LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"


def _settings(plan: Plan):
    return resolve_plan(plan, default_catalog()).settings


def _with_engine(plan: Plan, **fields) -> Plan:
    return plan.model_copy(update={"engine": plan.engine.model_copy(update=fields)})


# --- vLLM defaults per card -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gpu", "tokens", "seqs"),
    [
        ("h100-sxm", 8192, 1024),  # 79.6 GiB, not an A100
        ("h200-sxm", 8192, 1024),
        ("mi300x", 8192, 1024),  # "For GPUs like H100 and MI300x, use larger default values"
        ("a100-80gb-sxm", 2048, 256),  # >= 70 GiB but an A100: PR #17885
        ("l40s", 2048, 256),  # 45 GiB
        ("rtx-4090", 2048, 256),
    ],
)
def test_vllm_batch_defaults_follow_the_card(gpu, tokens, seqs):
    s = _settings(quick_plan(model=LLAMA_8B, gpu=gpu, engine="vllm"))
    assert (s.max_num_batched_tokens, s.max_num_seqs) == (tokens, seqs)


def test_vllm_plan_settings_override_the_card_defaults():
    plan = _with_engine(
        quick_plan(model=LLAMA_8B, gpu="h100-sxm"), max_num_seqs=64, max_num_batched_tokens=4096
    )
    s = _settings(plan)
    assert (s.max_num_batched_tokens, s.max_num_seqs) == (4096, 64)
    assert s.cuda_graph_max_batch == 128  # min(64 x 2, 512)


@pytest.mark.parametrize(("gpu", "graphs"), [("h100-sxm", 512), ("rtx-4090", 512)])
def test_vllm_cuda_graph_sizes(gpu, graphs):
    # min(1024 x 2, 512) and min(256 x 2, 512)
    assert _settings(quick_plan(model=LLAMA_8B, gpu=gpu)).cuda_graph_max_batch == graphs


def test_vllm_eight_sequences_capture_graphs_up_to_sixteen():
    plan = _with_engine(quick_plan(model=LLAMA_8B, gpu="rtx-4090"), max_num_seqs=8)
    assert _settings(plan).cuda_graph_max_batch == 16


def test_enforce_eager_drops_graphs_and_their_memory():
    plan = quick_plan(model=LLAMA_8B, gpu="h100-sxm")
    eager = _with_engine(plan, enforce_eager=True)
    s = _settings(eager)
    assert s.enforce_eager and s.cuda_graph_max_batch == 0
    engine = default_catalog().engine("vllm")
    graphs = engine.cuda_graphs_gib * GIB
    assert graphs > 0
    runtime_graphs = evaluate(plan).gpus[0].memory_bytes.runtime
    runtime_eager = evaluate(eager).gpus[0].memory_bytes.runtime
    assert runtime_graphs - runtime_eager == pytest.approx(graphs, abs=2)


# --- SGLang defaults per card -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("gpu", "tp", "chunk", "graphs", "fraction"),
    [
        # 24564 MiB: reserve 512 + 2048 x 1.5 + 24 x 2 + 1 x 128 = 3760 -> 0.847
        ("rtx-4090", 1, 2048, 24, 0.847),
        # TP 4: cuda_graph_max_bs 80, reserve 512 + 3072 + 160 + 512 = 4256 -> 0.827
        ("rtx-4090", 4, 2048, 80, 0.827),
        # 81559 MiB, TP 8: 512 + 12288 + 1024 + 1024 = 14848 -> 0.818
        ("h100-sxm", 8, 8192, 512, 0.818),
        # TP 1: 512 + 12288 + 512 + 128 = 13440 -> 0.835
        ("h100-sxm", 1, 8192, 256, 0.835),
    ],
)
def test_sglang_defaults_from_gpu_memory_and_tp(gpu, tp, chunk, graphs, fraction):
    model = LLAMA_70B if tp > 1 else LLAMA_8B
    s = _settings(quick_plan(model=model, gpu=gpu, tp=tp, engine="sglang"))
    assert (s.max_num_batched_tokens, s.cuda_graph_max_batch) == (chunk, graphs)
    assert s.gpu_memory_utilization == pytest.approx(fraction, abs=0.001)


def test_sglang_b200_uses_16k_chunks():
    s = _settings(quick_plan(model=LLAMA_8B, gpu="b200", engine="sglang"))
    assert (s.max_num_batched_tokens, s.cuda_graph_max_batch) == (16384, 512)


def test_sglang_large_gpus_reserve_at_least_10_gib():
    # a 2048-token chunk on an H100 reserves 512 + 3072 + 512 + 128 = 4224 MiB, raised to 10240
    plan = _with_engine(
        quick_plan(model=LLAMA_8B, gpu="h100-sxm", engine="sglang"), max_num_batched_tokens=2048
    )
    memory_mib = default_catalog().gpu("h100-sxm").memory_gib_usable * 1024
    assert _settings(plan).gpu_memory_utilization == pytest.approx(
        (memory_mib - 10240) / memory_mib, abs=0.001
    )


def test_sglang_plan_fraction_wins():
    plan = _with_engine(
        quick_plan(model=LLAMA_8B, gpu="h100-sxm", engine="sglang"), gpu_memory_utilization=0.7
    )
    assert _settings(plan).gpu_memory_utilization == 0.7


# --- KV-cache defaults --------------------------------------------------------------------------


@pytest.mark.parametrize(("engine", "kv"), [("vllm", "bf16"), ("sglang", "bf16"), ("trtllm", "bf16")])
def test_fp8_weights_keep_the_models_kv_dtype(engine, kv):
    plan = quick_plan(model=LLAMA_70B, gpu="h100-sxm", tp=4, weights="fp8", engine=engine)
    assert plan.kv_cache == kv


def test_fp8_weights_do_not_double_the_kv_capacity():
    plan = quick_plan(model=LLAMA_70B, gpu="h100-sxm", tp=4, weights="fp8")
    auto = evaluate(plan).kv_cache
    fp8 = evaluate(plan.model_copy(update={"kv_cache": "fp8"})).kv_cache
    assert auto.bytes_per_token == 320 * 1024  # 80 layers x 2 x 8 heads x 128 x 2 bytes
    assert fp8.capacity_tokens == pytest.approx(2 * auto.capacity_tokens, rel=0.01)


@pytest.mark.parametrize("engine", ["llamacpp", "exllamav2"])
def test_llamacpp_and_exllama_default_to_fp16_kv(engine):
    weights = "gguf-q4_k_m" if engine == "llamacpp" else "gptq-int4"
    assert quick_plan(model=LLAMA_8B, gpu="rtx-4090", weights=weights, engine=engine).kv_cache == "fp16"


# --- formats each engine loads ------------------------------------------------------------------


def test_llamacpp_asked_for_awq_is_an_error_with_a_gguf_fix():
    plan = quick_plan(
        model=LLAMA_8B, gpu="rtx-4090", gpus_per_node=2, engine="llamacpp", weights="gguf-q4_k_m"
    )
    report = evaluate(plan.model_copy(update={"weights": "awq-int4"}))
    assert not report.fits
    err = next(p for p in report.problems if "awq-int4" in p.message)
    assert err.severity == "error"
    assert "llama.cpp" in err.message and "GGUF" in err.message and "gguf-q4_k_m" in err.message
    assert err.action is not None and err.action.kind == "set_weights"
    fixed = evaluate(plan.model_copy(update={"weights": err.action.value}))
    assert fixed.fits and err.action.value.startswith("gguf-")


def test_llamacpp_kv_format_it_cannot_store_is_an_error():
    plan = quick_plan(model=LLAMA_8B, gpu="rtx-4090", engine="llamacpp", weights="gguf-q4_k_m")
    report = evaluate(plan.model_copy(update={"kv_cache": "fp8"}))
    err = next(p for p in report.problems if "fp8 KV cache" in p.message)
    assert err.action is not None and err.action.kind == "set_kv_cache"
    assert err.action.value in default_catalog().engine("llamacpp").kv_precisions


def test_quick_plan_refuses_awq_for_llamacpp():
    with pytest.raises(PlanError, match="cannot load awq-int4") as e:
        quick_plan(model=LLAMA_8B, gpu="rtx-4090", engine="llamacpp", weights="awq-int4")
    assert "--weights gguf-" in e.value.fix


def test_cli_flags_with_an_unloadable_format_exit_2(capsys):
    code = main(
        [
            "evaluate",
            "--model",
            LLAMA_8B,
            "--gpu",
            "rtx-4090",
            "--engine",
            "llamacpp",
            "--weights",
            "awq-int4",
        ]
    )
    assert code == 2
    assert "cannot load awq-int4 weights" in capsys.readouterr().err


# --- llama.cpp context, slots, batches ----------------------------------------------------------


def _llamacpp(**kw) -> Plan:
    return quick_plan(
        model=LLAMA_8B,
        gpu="rtx-4090",
        gpus_per_node=2,
        engine="llamacpp",
        weights="gguf-q4_k_m",
        input_tokens=512,
        output_tokens=128,
        **kw,
    )


def test_llamacpp_layer_split_is_one_stage_per_gpu():
    plan = _llamacpp()
    assert (plan.layout.tp, plan.layout.pp) == (1, 2)
    s = _settings(plan)
    assert s.split_mode == "layer"
    assert (s.max_num_batched_tokens, s.max_num_seqs, s.kv_unified) == (512, 4, True)


def test_llamacpp_kv_is_sized_by_its_context_not_the_workload():
    # a 512+128-token workload: llama-server still allocates the model's 131072-token context
    # (128 KiB per token = 16 GiB, which two RTX 4090 hold with room to spare)
    report = evaluate(_llamacpp())
    assert report.kv_cache.capacity_tokens == 131072
    assert sum(g.memory_bytes.kv_cache for g in report.gpus) == pytest.approx(16 * GIB, rel=0.001)
    assert report.kv_cache.max_concurrency == 4  # --parallel auto: 4 slots


def test_llamacpp_ctx_size_sets_the_cache():
    report = evaluate(_with_engine(_llamacpp(), max_model_len=8000))
    assert report.kv_cache.capacity_tokens == 8192  # padded to 256 cells


def test_llamacpp_fit_shrinks_the_context_to_free_memory_keeping_1_gib():
    # Llama 3.1 70B Q4_K_M on two RTX 4090: 131072 tokens x 320 KiB = 40 GiB of KV does not fit
    plan = quick_plan(
        model=LLAMA_70B, gpu="rtx-4090", gpus_per_node=2, engine="llamacpp", weights="gguf-q4_k_m"
    )
    report = evaluate(plan)
    ctx = report.kv_cache.capacity_tokens
    assert 4096 <= ctx < 131072 and ctx % 256 == 0
    assert min(g.memory_bytes.free for g in report.gpus) >= 1 * GIB


def test_llamacpp_context_that_cannot_fit_is_an_error():
    plan = quick_plan(
        model=LLAMA_70B, gpu="rtx-4090", gpus_per_node=2, engine="llamacpp", weights="gguf-q4_k_m"
    )
    report = evaluate(_with_engine(plan, max_model_len=131072))
    assert not report.fits
    err = next(p for p in report.problems if p.severity == "error")
    assert "whole context of 131,072 tokens" in err.message
    assert err.action is not None and err.action.kind == "set_max_model_len"


def test_llamacpp_explicit_parallel_divides_the_context_between_slots():
    # -np 8 -c 4096 without -kvu: 512 cells per slot, less than one 640-token request
    plan = _with_engine(_llamacpp(), max_num_seqs=8, max_model_len=4096)
    assert not _settings(plan).kv_unified
    report = evaluate(plan)
    assert not report.fits
    assert any("512 tokens each" in p.message for p in report.problems)
    ok = evaluate(_with_engine(_llamacpp(), max_num_seqs=4, max_model_len=4096))
    assert ok.fits and ok.kv_cache.max_concurrency == 4


# --- split modes ----------------------------------------------------------------------------------


def test_row_split_keeps_the_kv_cache_on_the_main_gpu():
    plan = _llamacpp(tp=2, split_mode="row")
    assert plan.engine.split_mode == "row" and plan.layout.tp == 2
    main_gpu, other = evaluate(plan).gpus
    assert main_gpu.memory_bytes.kv_cache == pytest.approx(16 * GIB, rel=0.001)
    assert other.memory_bytes.kv_cache == 0
    # the matrices are split: each GPU holds about half the layer weights
    assert other.memory_bytes.weights == pytest.approx(main_gpu.memory_bytes.weights, rel=0.01)
    assert main_gpu.memory_bytes.activations > other.memory_bytes.activations


def test_layer_split_cannot_make_a_tp_group():
    with pytest.raises(PlanError, match="split-mode layer"):
        resolve_plan(_llamacpp(tp=2), default_catalog())


def test_row_split_is_one_stage():
    plan = quick_plan(
        model=LLAMA_8B, gpu="rtx-4090", gpus_per_node=4, tp=2, pp=2, engine="llamacpp", weights="gguf-q4_k_m"
    )
    with pytest.raises(PlanError, match="split-mode row"):
        resolve_plan(_with_engine(plan, split_mode="row"), default_catalog())


def test_split_mode_none_uses_one_gpu():
    with pytest.raises(PlanError, match="split-mode none"):
        resolve_plan(_llamacpp(split_mode="none"), default_catalog())
    one = quick_plan(
        model=LLAMA_8B, gpu="rtx-4090", engine="llamacpp", weights="gguf-q4_k_m", split_mode="none"
    )
    assert evaluate(one).fits


def test_split_mode_is_ignored_by_engines_without_one():
    plan = _with_engine(quick_plan(model=LLAMA_8B, gpu="h100-sxm"), split_mode="row")
    assert _settings(plan).split_mode is None


def test_split_mode_round_trips_in_engine_settings():
    s = EngineSettings(engine="llamacpp", split_mode="row")
    assert EngineSettings.model_validate(s.model_dump()) == s
    with pytest.raises(ValueError):
        EngineSettings(engine="llamacpp", split_mode="tensor")


# --- the concurrency cap in the bottleneck sentence ----------------------------------------------


def _bottleneck(plan: Plan) -> str:
    r = resolve_plan(plan, default_catalog())
    perf = estimate_performance(r, fit_memory(r))
    return perf.bottleneck


def test_cap_named_max_num_seqs_when_it_binds():
    # H100 8B, 128+128 tokens: the KV cache holds > 1,700 sequences, vLLM's default runs 1024
    plan = quick_plan(model=LLAMA_8B, gpu="h100-sxm", concurrency="max", input_tokens=128, output_tokens=128)
    words = _bottleneck(plan)
    assert "capped at 1024 by the engine's max_num_seqs 1024" in words
    assert "KV-cache capacity" not in words


def test_cap_named_kv_cache_when_it_binds():
    plan = quick_plan(
        model=LLAMA_8B, gpu="h100-sxm", concurrency="max", input_tokens=4000, output_tokens=1000
    )
    assert "by KV-cache capacity" in _bottleneck(plan)


def test_queue_behind_max_num_seqs_is_named():
    plan = quick_plan(model=LLAMA_8B, gpu="h100-sxm", concurrency=2000, input_tokens=128, output_tokens=128)
    assert "max_num_seqs 1024 runs 1024 sequences at once, the other 976 wait" in _bottleneck(plan)
    report = evaluate(
        plan.model_copy(update={"workload": Workload(concurrency=2000, input_tokens=128, output_tokens=128)})
    )
    warn = next(p for p in report.problems if p.severity == "warning")
    assert "runs out of KV cache" not in warn.message and "max_num_seqs" in warn.message
