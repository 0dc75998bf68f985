"""The performance model on several GPUs, MoE models and each engine (issue 11).

Golden figures come from public sources named at each test; nothing here is the model's own output.
"""

from __future__ import annotations

import pytest

from gpuplanner.core.calibration import calibration, use_calibration
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.collectives import custom_allreduce_applies
from gpuplanner.core.efficiency import compute_dtype
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.plan import Plan, Workload
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.topology import Hop


def _hop(kind: str, p2p: bool = True) -> Hop:
    return Hop("x", kind, kind, 450e9, 2e-6, p2p, 0.8)


def _with_version(plan: Plan, version: str | None) -> Plan:
    return plan.model_copy(update={"engine": plan.engine.model_copy(update={"version": version})})


def test_a_changed_calibration_changes_the_estimate() -> None:
    """The step-time caches are keyed on the calibration: halving Hopper's memory efficiency slows a
    memory-bound single-stream decode, and restoring it restores the figure exactly."""
    plan = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="h100-sxm", tp=1)
    before = evaluate(plan).performance
    base = calibration()
    memory = dict(base.efficiency.memory)
    memory["hopper"] = memory["hopper"].model_copy(update={"efficiency": 0.4})
    slow = base.model_copy(update={"efficiency": base.efficiency.model_copy(update={"memory": memory})})
    try:
        use_calibration(slow)
        after = evaluate(plan).performance
    finally:
        use_calibration(None)
    again = evaluate(plan).performance
    assert before is not None and after is not None and again is not None
    assert after.tpot_s > 1.5 * before.tpot_s
    assert again.tpot_s == before.tpot_s


def test_custom_allreduce_follows_the_engines_rules() -> None:
    """vLLM's custom all-reduce (vllm/distributed/device_communicators/custom_all_reduce.py): world
    sizes 2, 4, 6, 8 on fully NVLink-connected GPUs; two PCIe GPUs with peer-to-peer; never more than
    two PCIe-only GPUs; llama.cpp has no such kernel."""
    nvswitch = [_hop("nvswitch")] * 8
    assert custom_allreduce_applies("vllm", nvswitch, 8)
    assert custom_allreduce_applies("sglang", nvswitch[:4], 4)
    assert not custom_allreduce_applies("vllm", nvswitch[:3], 3)
    assert not custom_allreduce_applies("vllm", [_hop("pcie")] * 4, 4)
    assert custom_allreduce_applies("vllm", [_hop("pcie")] * 2, 2)
    assert not custom_allreduce_applies("vllm", [_hop("pcie", p2p=False)] * 2, 2)
    assert not custom_allreduce_applies("llamacpp", nvswitch, 8)


def test_tensor_parallel_decode_on_an_nvswitch_is_not_dominated_by_communication() -> None:
    """DGX H100, Llama 3.1 70B, 32 users: with the engines' one-shot all-reduce an 8 KB-class decode
    all-reduce costs a few microseconds (NCCL's ring alone takes 27 us for 8 KB on 8 x H100, row M112),
    so communication is a small part of the decode step, not 45% of it."""
    report = evaluate(
        quick_plan(model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", tp=8, concurrency=32)
    )
    assert report.performance is not None
    split = report.performance.step_split[0]
    busy = split.compute_s + split.memory_s + split.communication_s
    assert split.communication_s / busy < 0.25


def test_weight_only_int4_at_one_user_is_bound_by_weight_reads() -> None:
    """Qwen3-32B AWQ on two RTX 3090s at batch 1: an int4 GEMV streams its weights at memory speed
    (the RTX 3090 has 35.6 TFLOPS of FP32 on its CUDA cores, NVIDIA GA102 whitepaper), so the decode
    bottleneck is reading weights, not tensor throughput."""
    report = evaluate(
        quick_plan(model="Qwen/Qwen3-32B", gpu="rtx-3090", tp=2, weights="awq-int4", concurrency=1)
    )
    assert report.performance is not None
    assert report.performance.bottleneck.startswith("memory bandwidth")
    assert "tensor throughput" not in report.performance.bottleneck


@pytest.mark.parametrize(
    ("model", "gpu"), [("Qwen/Qwen3-235B-A22B", "h100-sxm"), ("deepseek-ai/DeepSeek-V3", "h200-sxm")]
)
def test_expert_parallel_beats_tensor_parallel_for_large_moe_under_load(model: str, gpu: str) -> None:
    """vLLM's expert-parallel deployment guide and SGLang's DeepSeek docs recommend EP for large MoE
    models: under load, whole experts per GPU (bigger GEMMs, no TP-sliced 192-column expert slices)
    serve more tokens than TP 8 on the same eight GPUs."""

    def speed(ep: int) -> float:
        plan = quick_plan(model=model, gpu=gpu, tp=8, ep=ep, weights="fp8", concurrency=64)
        perf = evaluate(plan).performance
        assert perf is not None
        return perf.output_tokens_per_s

    assert speed(8) >= speed(1)


# The releases the reports used (early 2025): vLLM 0.7.3 and SGLang 0.4.3. SGLang 0.4's costs come from
# dstack's runs at 3,200-token prompts (rows M323-M332), none of the figures below.
_SIXTY_FOUR_VLLM = pytest.mark.xfail(
    strict=True,
    reason="refitted on 444 rows, vLLM 0.7's costs put 64 users at 15.8 tok/s each, 1.58x the summarised "
    "report; dstack's measured vLLM 0.7.4 runs on 8 x H200 (M333-M337) have 39 tok/s per user at 4 users "
    "and 14 at 128, so the report and the measurements disagree here (issue 11 stays open on it)",
)
_SIXTY_FOUR_SGLANG = pytest.mark.xfail(
    strict=True,
    reason="with fused-MoE launches sized by all their experts, SGLang 0.4's costs put 64 users at 15.7 "
    "tok/s each, 1.57x the summarised report of 10; the same measurements as for vLLM (M333-M337: 39 tok/s "
    "per user at 4 users, 14 at 128 on 8 x H200) put 64 users between the two (issue 11 stays open on it)",
)


@pytest.mark.parametrize(
    ("engine", "version", "users", "reported"),
    [
        ("vllm", "0.7.3", 1, 33.0),
        ("vllm", "0.7.3", 16, 20.0),
        pytest.param("vllm", "0.7.3", 64, 10.0, marks=_SIXTY_FOUR_VLLM),
        ("sglang", "0.4.3", 1, 33.0),
        ("sglang", "0.4.3", 16, 20.0),
        pytest.param("sglang", "0.4.3", 64, 10.0, marks=_SIXTY_FOUR_SGLANG),
    ],
)
def test_deepseek_r1_on_8_h200_matches_public_reports_within_1_5x(
    engine: str, version: str, users: int, reported: float
) -> None:
    """DeepSeek-R1 FP8 on 8 x H200 with the early-2025 engines: deepseek-ai/DeepSeek-R1 issue #507 and
    SGLang write-ups report about 33, 20 and 10 tokens/s per user at 1, 16 and 64 users (as summarised
    in gpuplanner issue 11). The model must land within a factor of 1.5 of each."""
    plan = quick_plan(
        model="deepseek-ai/DeepSeek-R1",
        gpu="h200-sxm",
        tp=8,
        weights="fp8",
        engine=engine,
        concurrency=users,
        input_tokens=1000,
        output_tokens=1000,
    )
    perf = evaluate(_with_version(plan, version)).performance
    assert perf is not None
    assert reported / 1.5 <= perf.tokens_per_s_per_user <= reported * 1.5, (users, perf.tokens_per_s_per_user)


def test_older_engine_releases_use_their_own_costs() -> None:
    """SGLang 0.4 ran DeepSeek's decode step far slower than 0.5 (dstack's 2025 benchmark vs the SGLang
    cookbook): a plan naming the release gets that release's fitted costs."""
    cal = calibration()
    assert cal.overhead_for("sglang", "0.4.3") is cal.overhead["sglang-0.4"]
    assert cal.overhead_for("sglang", "0.5.6") is cal.overhead["sglang"]
    assert cal.overhead_for("sglang", None) is cal.overhead["sglang"]
    assert cal.overhead_for("vllm", "0.7.4.dev181+gf35f8e22") is cal.overhead["vllm-v0"]
    # TensorRT-LLM: the C++ runtime before 0.15, the PyTorch backend's 0.17 preview (its first release,
    # experimental until 1.0), and today's for 0.16 (C++ runtime) and 0.18 on
    assert cal.overhead_for("trtllm", "0.6.1") is cal.overhead["trtllm-0.x"]
    assert cal.overhead_for("trtllm", "0.17.post1.dev") is cal.overhead["trtllm-0.17"]
    assert cal.overhead_for("trtllm", "0.16.0") is cal.overhead["trtllm"]
    assert cal.overhead_for("trtllm", "0.20.0") is cal.overhead["trtllm"]


def test_static_batch_throughput_is_the_batch_over_prefill_plus_decode() -> None:
    """A static batch (TensorRT-LLM's gptSessionBenchmark, vLLM's benchmark_latency) prefills every
    prompt, then runs output_tokens - 1 decode steps for the whole batch: its throughput is the
    batch's tokens over that time, and below what continuous batching sustains at the same size."""
    plan = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="h100-sxm", tp=1, concurrency=64)
    static = plan.model_copy(update={"workload": Workload(concurrency=64, batching="static")})
    perf = evaluate(static).performance
    assert perf is not None
    request_s = calibration().overhead_for("vllm").request_us * 1e-6
    elapsed = (perf.ttft_s - request_s) + (perf.output_tokens - 1) * perf.tpot_s
    assert perf.output_tokens_per_s == pytest.approx(64 * perf.output_tokens / elapsed, rel=1e-9)
    assert default_catalog() is not None


def test_users_in_a_closed_loop_hold_their_place_for_their_ttft() -> None:
    """N users who each send their next request when the last one finished (a serving benchmark's
    --max-concurrency) keep N places busy only between first and last token: by Little's law the
    output tokens/s is N x output tokens over one request's life, TTFT + (output - 1) x TPOT. The
    published serving runs show this gap, e.g. sgl-cookbook docs/autoregressive Llama-3.1-70B on
    8 x A100, 16 users: 513 tok/s measured against 16 / 26.09 ms TPOT = 613 if no place ever waited.
    With more requests waiting than the engine takes (concurrency 'max'), a finished request's place
    is taken at once: about one token per place per TPOT, whatever the TTFT (long prompts and short answers
    make the two differ by far more than the 5% tolerance)."""
    work = {"input_tokens": 2000, "output_tokens": 8}
    plan = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="h100-sxm", tp=1, concurrency=4, **work)
    perf = evaluate(plan).performance
    assert perf is not None
    life = perf.ttft_s + (perf.output_tokens - 1) * perf.tpot_s
    assert perf.output_tokens_per_s == pytest.approx(4 * perf.output_tokens / life, rel=1e-9)
    # long prompts, short answers: the TTFT is a large share of a request's life
    assert perf.output_tokens_per_s < 0.95 * 4 / perf.tpot_s

    full = evaluate(plan.model_copy(update={"workload": Workload(concurrency="max", **work)})).performance
    assert full is not None
    # vLLM V1's default budget on an 80 GB card: 8,192 batched tokens a step (EngineArgs defaults for the
    # OpenAI server); a step holds every decoding sequence's token plus the prompts that start in it
    n = min(full.concurrency, 8192 * 8 // (2000 + 8))
    closed = n * full.output_tokens / (full.ttft_s + (full.output_tokens - 1) * full.tpot_s)
    # one token a place a TPOT, less its own prompt's share of the steps (1 / n of the prompts)
    assert full.output_tokens_per_s == pytest.approx(n / full.tpot_s, rel=0.05)
    assert abs(closed / full.output_tokens_per_s - 1) > 0.1  # not the closed loop's figure


def test_a_full_step_budget_makes_requests_queue_not_every_token_slower() -> None:
    """vLLM and SGLang schedule the running sequences' decode tokens first and fill the rest of a step's
    batched-token budget (vLLM V1: 8,192 on an 80 GB card) with prompts. With 128-token prompts and
    4-token answers every request brings 128 prompt tokens per 4 steps, so at most
    8192 * 4 / 132 = 248 sequences decode at once; more users wait in the queue: their time per output
    token stops growing and the wait lands on TTFT (gpustack's performance lab, vLLM 0.11 on 8 x A100,
    1,000 such requests at once: mean TPOT 155 ms, mean TTFT 12.8 s). By Little's law each of n users'
    requests takes n x 4 / throughput, of which 3 tokens are decode steps."""
    work = {"input_tokens": 128, "output_tokens": 4}
    base = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="h100-sxm", tp=1, **work)
    runs = {}
    for users in (248, 400, 800):
        plan = base.model_copy(update={"workload": Workload(concurrency=users, **work)})
        runs[users] = evaluate(plan).performance
    at_cap, over, far = runs[248], runs[400], runs[800]
    assert at_cap is not None and over is not None and far is not None
    assert over.tpot_s == pytest.approx(at_cap.tpot_s, rel=1e-9)
    assert far.tpot_s == pytest.approx(at_cap.tpot_s, rel=1e-9)
    assert far.output_tokens_per_s == pytest.approx(at_cap.output_tokens_per_s, rel=1e-9)
    for users, perf in ((400, over), (800, far)):
        life = users * 4 / perf.output_tokens_per_s
        assert perf.ttft_s == pytest.approx(life - 3 * perf.tpot_s, rel=1e-6)
    assert far.ttft_s > 2 * over.ttft_s > 2 * at_cap.ttft_s
    assert any("248 of a replica's 800" in note for note in far.assumptions)


def _trtllm_llama70b(version: str, gpus: int, users: int) -> Plan:
    plan = quick_plan(
        model="meta-llama/Llama-2-70b-hf",
        gpu="h200-sxm",
        tp=gpus,
        weights="fp8",
        kv_cache="fp8",
        engine="trtllm",
        concurrency=users,
        input_tokens=128,
        output_tokens=2048,
    )
    work = Workload(**{**plan.workload.model_dump(), "batching": "static"})
    return _with_version(plan, version).model_copy(update={"workload": work})


def test_pre_xqa_tensorrt_llm_reads_each_kv_head_once_per_query_head() -> None:
    """Before TensorRT-LLM 0.8's XQA kernel, grouped-query decode attention ran one query head per
    thread block: Llama-2-70B (config.json: 64 attention heads, 8 key-value heads) reads its KV cache 8
    times per step on v0.6.1, once on v0.8; a multi-head model (Llama-2-7B: 32 / 32) is unaffected."""
    from gpuplanner.core.perf_replica import kv_reread
    from gpuplanner.core.resolve import resolve_plan

    cal, cat = calibration(), default_catalog()
    old = cal.overhead_for("trtllm", "0.6.1")
    assert kv_reread(resolve_plan(_trtllm_llama70b("0.6.1", 1, 8), cat), old) == 8.0
    assert kv_reread(resolve_plan(_trtllm_llama70b("0.8.0", 1, 8), cat), old) == 1.0
    mha = quick_plan(model="meta-llama/Llama-2-7b-hf", gpu="h100-sxm", tp=1, engine="trtllm")
    assert kv_reread(resolve_plan(_with_version(mha, "0.6.1"), cat), old) == 1.0
    current = quick_plan(model="meta-llama/Llama-2-70b-hf", gpu="h200-sxm", tp=8, engine="trtllm")
    assert kv_reread(resolve_plan(current, cat), cal.overhead_for("trtllm")) == 1.0


@pytest.mark.parametrize(("gpus", "speedup"), [(1, 2.4), (8, 1.9)])
def test_xqa_speedup_matches_tensorrt_llms_published_figures(gpus: int, speedup: float) -> None:
    """TensorRT-LLM's XQA blog (docs/source/blogs/XQA-kernel.md, v0.8a): Llama-70B FP8 at 128 / 2,048
    tokens on H200, 1,227 -> 2,941 tok/s/GPU on one GPU (2.4x) and 13,232 -> 25,300 on eight (1.9x) with
    XQA, batch up to 256. Releases on either side of 0.8 share their other costs here, so the ratio is
    the KV re-reads alone; it must land within 30% of the published speedup."""

    def rate(version: str) -> float:
        perf = evaluate(_trtllm_llama70b(version, gpus, 256)).performance
        assert perf is not None
        return perf.output_tokens_per_s

    ratio = rate("0.8.0") / rate("0.7.1")
    assert speedup / 1.3 <= ratio <= speedup * 1.3, ratio


def test_llamacpp_runs_fp16_matmuls_at_the_geforce_fp16_accumulate_rate() -> None:
    """llama.cpp's CUDA backend calls cuBLAS with CUBLAS_COMPUTE_16F for FP16 and dequantised weights
    (ggml/src/ggml-cuda/ggml-cuda.cu); a GeForce RTX 4090 runs FP16 with FP16 accumulation at 330.3
    dense TFLOPS against 165.2 with FP32 accumulation (NVIDIA Ada whitepaper; catalog-facts). PyTorch
    engines accumulate in FP32, and data-centre cards run both at one rate."""
    from gpuplanner.core.efficiency import fp16_accumulate_scale

    cat = default_catalog()
    rtx4090, h100 = cat.gpus["rtx-4090"], cat.gpus["h100-sxm"]
    assert fp16_accumulate_scale(rtx4090, "fp16", True) == pytest.approx(330.3 / 165.2)
    assert fp16_accumulate_scale(rtx4090, "fp16", False) == 1.0
    assert fp16_accumulate_scale(rtx4090, "bf16", True) == 1.0
    assert fp16_accumulate_scale(h100, "fp16", True) == 1.0
    assert fp16_accumulate_scale(cat.gpus["titan-rtx"], "fp16", True) == 1.0  # full-rate FP32 accumulate


def _llamacpp_prefill(gpu: str, weights: str, version: str | None) -> float:
    plan = quick_plan(
        model="meta-llama/Llama-3.1-8B-Instruct",
        gpu=gpu,
        tp=1,
        engine="llamacpp",
        weights=weights,
        concurrency=1,
        input_tokens=512,
        output_tokens=1,
    )
    perf = evaluate(_with_version(plan, version)).performance
    assert perf is not None
    return perf.prefill_tokens_per_s


@pytest.mark.parametrize(
    ("gpu", "low", "high"),
    [
        # XiongjieDai/GPU-Benchmarks-on-LLM-Inference (llama.cpp, LLAMA_CUBLAS build, Llama 3 8B pp512):
        # RTX 4090 F16 9,382 vs Q4_K_M 7,139 t/s (1.31); RTX 4080 7,247 vs 5,390 (1.34); RTX 3090
        # 4,445 vs 4,030 (1.10). llama.cpp PR #4766 (Jan 2024, CodeLlama 7B pp512): RTX 4090 F16
        # 11,048 vs Q4_0 7,980 (1.38).
        ("rtx-4090", 1.31, 1.38),
        ("rtx-4080", 1.34, 1.34),
        ("rtx-3090", 1.10, 1.10),
    ],
)
def test_llamacpp_before_mmq_dequantises_prompt_matmuls_first(gpu: str, low: float, high: float) -> None:
    """Before llama.cpp PR #8075 (June 2024) a prompt-size matmul of quantised weights dequantised the
    matrix to FP16 in memory, then ran the FP16 GEMM: F16 weights prefilled faster than Q4 on the same
    card, by the published ratios (within 15%). Since then MMQ multiplies the quantised blocks directly,
    and the model charges no such pass."""
    ratio = _llamacpp_prefill(gpu, "fp16", "b3000") / _llamacpp_prefill(gpu, "gguf-q4_k_m", "b3000")
    assert low / 1.15 <= ratio <= high * 1.15
    today = _llamacpp_prefill(gpu, "fp16", None) / _llamacpp_prefill(gpu, "gguf-q4_k_m", None)
    assert today == pytest.approx(1.0)


def test_prompts_starting_in_the_same_step_run_their_matmuls_together() -> None:
    """With n users and output_tokens per request, n / output_tokens requests end in every decode step
    and as many new prompts start; under continuous batching they share that step's batched-token budget
    (max_num_batched_tokens), so their matmuls run as one batch of all their tokens. That matters for
    mixture-of-experts models: gpt-oss-120b routes each token to 4 of its 128 experts (its config.json:
    num_local_experts 128, num_experts_per_tok 4), so a 256-token prompt alone gives each expert 8 rows,
    while eight prompts together give it 64. The marginal cost per prompt is one step of all of them
    divided among them, less than a prompt alone; with fewer than one new prompt a step, nothing changes."""
    from gpuplanner.core.perf_model import stage_step
    from gpuplanner.core.perf_replica import build_replicas
    from gpuplanner.core.resolve import resolve_plan

    plan = quick_plan(
        model="openai/gpt-oss-120b", gpu="h100-sxm", tp=1, concurrency=512, input_tokens=256, output_tokens=64
    )
    rep = build_replicas(resolve_plan(plan, default_catalog()))[0]
    alone = rep.prefill_marginal_s(256)
    assert rep.prefill_marginal_s(256, per_step=0.5) == alone
    together = rep.prefill_marginal_s(256, per_step=8)
    step = stage_step(rep.stages[0], 8 * 256, 8, 0, 256)
    assert together == pytest.approx((step.compute_s + step.tp_comm_s + step.ep_comm_s) / 8, rel=1e-12)
    assert together < 0.7 * alone  # eight times the rows per expert: better use of the tensor cores
    # never more prompts in a step than its token budget holds
    assert rep.prefill_marginal_s(256, per_step=1000) == rep.prefill_marginal_s(
        256, per_step=rep.chunk // 256
    )


def test_the_lm_head_runs_once_per_sequence_not_once_per_prompt_token() -> None:
    """Engines compute logits only where a token is sampled: the last position of each sequence (vLLM's
    logits_indices, TensorRT-LLM unless gather_context_logits is set, llama.cpp since PR #6122). For
    Llama 3.1 8B the LM head is 128,256 x 4,096 = 525 M parameters (config.json: vocab_size, hidden_size,
    untied), 7% of the model: in a 1,024-token prompt chunk it adds one row's work, in a decode step of
    64 sequences 64 rows'. Two pipeline stages of 16 layers each differ only by the head."""
    from gpuplanner.core.perf_model import stage_step
    from gpuplanner.core.perf_replica import build_replicas
    from gpuplanner.core.resolve import resolve_plan

    plan = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="h100-sxm", tp=1, pp=2, concurrency=64)
    first, last = build_replicas(resolve_plan(plan, default_catalog()))[0].stages
    assert first.layers[1] - first.layers[0] == last.layers[1] - last.layers[0] == 16
    prompt = stage_step(last, 1024, 1, 0, 1024).gemm_s / stage_step(first, 1024, 1, 0, 1024).gemm_s
    assert prompt == pytest.approx(1.0, abs=1e-3)
    decode = stage_step(last, 64, 64, 512, 1).gemm_s / stage_step(first, 64, 64, 512, 1).gemm_s
    # a layer's matmul parameters over hidden_size: q and o 4,096 wide, k and v 1,024 (8 KV heads of 128),
    # gate, up and down 14,336 (intermediate_size)
    body = 16 * ((4096 + 2 * 1024 + 4096) + 3 * 14336)
    assert decode == pytest.approx(1 + 128256 / body, rel=0.01)


def test_enforce_eager_costs_every_layer_its_python_launches() -> None:
    """Without CUDA graphs (vLLM --enforce-eager) every kernel of a decode step is launched from Python:
    vllm-omni issue #7960 measured Qwen2.5-Omni-7B's thinker (Qwen2.5-7B, 28 layers, config.json
    num_hidden_layers) at ~22-23 ms per token eager against ~13 ms with CUDA graphs on an A800. The
    eager plan's time per token grows by the layers times the calibration's per-layer figure, which is
    that measurement's (22.5 - 13) / 28 ms."""
    eager_us = calibration().overhead_for("vllm").eager_layer_us
    assert eager_us == pytest.approx((22.5 - 13) / 28 * 1e3, rel=0.02)
    plan = quick_plan(model="Qwen/Qwen2.5-7B-Instruct", gpu="a100-80gb-sxm", tp=1, concurrency=1)
    eager = plan.model_copy(update={"engine": plan.engine.model_copy(update={"enforce_eager": True})})
    graphs, launched = evaluate(plan).performance, evaluate(eager).performance
    assert graphs is not None and launched is not None
    assert launched.tpot_s - graphs.tpot_s == pytest.approx(28 * eager_us * 1e-6, rel=1e-6)


@pytest.mark.parametrize(("gpu", "dtype"), [("h100-sxm", "bf16"), ("a100-80gb-sxm", "bf16"), ("b200", "fp4")])
def test_fp4_weights_without_fp4_tensor_cores_run_16_bit_matmuls(gpu: str, dtype: str) -> None:
    """gpt-oss ships its experts in MXFP4. Blackwell multiplies FP4 natively; Hopper and Ampere have no FP4
    tensor cores and the engines run those weights as W4A16 (vLLM's Marlin MXFP4 kernels and the Triton
    matmul_ogs path of the gpt-oss recipe dequantise into BF16 with BF16 activations), not at the FP8
    rate a Hopper card also has."""
    spec = default_catalog().gpu(gpu)
    ran, peak = compute_dtype(spec, "fp4")
    assert ran == dtype
    assert peak == spec.tflops_for(dtype)


def test_a_fused_moe_launch_is_sized_by_all_the_experts_it_multiplies() -> None:
    """A fused-MoE kernel multiplies every expert a step touches in one grouped launch. gpt-oss-120b
    (config.json: 128 experts, 4 per token, hidden and expert width 2,880, 36 layers) at 128 decoding
    sequences gives each expert 4 rows; alone, a 4 x 2,880 x 5,760 GEMM would run at a few per cent of
    the tensor peak, but the launch's work is 128 of them. At peak their 2 x 4 x 128 x 36 x 3 x 2,880^2
    = 0.9 TFLOP take 3 ms on an A100 (312 TFLOPS BF16), while the 61 GB of MXFP4 experts (116.8 B
    parameters at 4.25 bits) take 30 ms to read at 2,039 GB/s: the step is bound by reading weights,
    as every MoE decode at this size is reported to be."""
    plan = quick_plan(
        model="openai/gpt-oss-120b", gpu="a100-80gb-sxm", tp=1, weights="mxfp4", concurrency=128,
        input_tokens=215, output_tokens=197,
    )
    perf = evaluate(plan).performance
    assert perf is not None
    assert perf.bottleneck.startswith("memory bandwidth")
    split = perf.step_split[0]
    assert split.compute_s < 0.25 * split.memory_s


def test_a_first_wave_of_prompts_is_answered_step_by_step() -> None:
    """When every user sends at once (a serving benchmark's first requests, a class logging in), the
    engine fills each step's batched-token budget with whole prompts: vLLM V1's 8,192 tokens hold
    sixteen 512-token prompts. Sixteen users' prompts are all answered after one such step; with 32,
    half wait for a second step, so the mean wait is 1.5 steps."""
    work = {"input_tokens": 512, "output_tokens": 64}
    base = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="h100-sxm", tp=1, **work)
    request_s = calibration().overhead_for("vllm").request_us * 1e-6
    waits = {}
    for users in (16, 32):
        perf = evaluate(base.model_copy(update={"workload": Workload(concurrency=users, **work)})).performance
        assert perf is not None and perf.ttft_burst_s is not None
        waits[users] = perf.ttft_burst_s - request_s
        assert perf.ttft_burst_s > perf.ttft_s  # a wave waits longer than one prompt in a steady stream
    assert waits[32] == pytest.approx(1.5 * waits[16], rel=1e-9)


def test_sglang_runs_new_prompts_as_their_own_prefill_batch() -> None:
    """SGLang's scheduler runs waiting prompts as a prefill batch of their own before the next decode
    step (``--enable-mixed-chunk`` is off by default, SGLang server arguments): a prompt costs the
    others a whole forward pass (every weight read again), not only its matmuls riding along a decode
    step as in vLLM. Its TTFT under load waits for the decode step in progress, not for one per chunk."""
    from gpuplanner.core.perf_replica import build_replicas
    from gpuplanner.core.resolve import resolve_plan

    cat = default_catalog()
    assert cat.engine("sglang").mixes_prompts is False
    assert cat.engine("vllm").mixes_prompts is True
    for engine, mixed in (("sglang", False), ("vllm", True)):
        plan = quick_plan(model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", tp=8, engine=engine)
        rep = build_replicas(resolve_plan(plan, cat))[0]
        assert rep.mixed is mixed
        alone = rep.prefill_s(64)
        if mixed:
            assert rep.prefill_marginal_s(64) < alone  # its matmuls only: the weights are read anyway
        else:
            assert rep.prefill_marginal_s(64) == alone
            eight = rep.prefill_marginal_s(64, per_step=8)
            assert eight == rep.batch_prefill_step_s(8, 64) / 8 < alone
