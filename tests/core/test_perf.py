"""The performance model against public facts and physics (sources cited per test).

No expected number here comes from the model's own output: bounds are datasheet arithmetic, and
the other tests compare two plans with each other.
"""

from __future__ import annotations

import pytest

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.perf_model import stage_step
from gpuplanner.core.perf_replica import build_replicas
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.resolve import resolve_plan

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture(scope="module")
def cat():
    return default_catalog()


def perf(cat, **quick):
    report = evaluate(quick_plan(catalog=cat, **quick), cat)
    assert report.performance is not None, report.verdict
    return report.performance


def test_single_h100_decode_cannot_beat_bandwidth_over_weights(cat):
    # H100 SXM: 3.35 TB/s (NVIDIA H100 datasheet). Llama 3.1 8B: 8.03 B parameters (config.json
    # arithmetic; Meta model card) x 2 bytes in BF16 = 16.06 GB read per token at batch 1.
    p = perf(cat, model=LLAMA_8B, gpu="h100-sxm", tp=1, concurrency=1)
    bound = 3.35e12 / 16.06e9  # about 208 tokens/s
    assert p.tokens_per_s_per_user < bound
    assert p.high.tokens_per_s_per_user < bound
    assert p.tokens_per_s_per_user > 0.6 * bound  # memory-bound, not something else
    assert p.bottleneck_detail.kind == "weights_bandwidth"
    assert p.bottleneck.startswith("memory bandwidth of NVIDIA H100")


def test_tp2_without_peer_to_peer_is_slower_per_token_than_nvlink(cat):
    # Same two A100 PCIe cards: across sockets (pcie4-x16-sys, staged through host) vs an NVLink
    # bridge (600 GB/s both ways, A100 datasheet).
    sys_link = perf(cat, model=LLAMA_8B, gpu="a100-80gb-pcie", tp=2, link="pcie4-x16-sys")
    bridge = perf(cat, model=LLAMA_8B, gpu="a100-80gb-pcie", tp=2, link="nvlink-bridge-a100-pcie")
    assert sys_link.tpot_s > bridge.tpot_s


def test_two_equal_pipeline_stages_match_one_gpu_plus_the_hop(cat):
    # Pipeline parallelism moves no weights off the critical path for one sequence: the same layers
    # are read in turn, plus one activation transfer per boundary.
    one = perf(cat, model=LLAMA_8B, gpu="h100-sxm", tp=1, concurrency=1)
    two = perf(cat, model=LLAMA_8B, gpu="h100-sxm", tp=1, pp=2, concurrency=1)
    hop = two.tpot_s - one.tpot_s
    assert hop > 0
    assert hop < 0.02 * one.tpot_s
    assert any(link.purpose == "pipeline" for link in two.links)


def test_doubling_data_parallel_doubles_throughput_and_keeps_ttft(cat):
    one = perf(cat, model=LLAMA_8B, gpu="h100-sxm", tp=1, dp=1, concurrency=16)
    two = perf(cat, model=LLAMA_8B, gpu="h100-sxm", tp=1, dp=2, concurrency=32)
    assert two.output_tokens_per_s == pytest.approx(2 * one.output_tokens_per_s, rel=0.01)
    assert two.ttft_s == pytest.approx(one.ttft_s, rel=0.01)
    assert two.tpot_s == pytest.approx(one.tpot_s, rel=0.01)


def test_tp2_over_pcie_helps_one_user_but_loses_to_two_replicas_under_load(cat):
    # Issue 3: a flat "0.75x for PCIe" factor cannot get this sign right. Two RTX 4090 (no P2P):
    # splitting the weights halves the bytes per token (faster for one user), but every layer then
    # waits for two all-reduces through host memory, which two independent replicas never do.
    common = dict(model=LLAMA_8B, gpu="rtx-4090", link="pcie4-x16-cpu", input_tokens=512, output_tokens=256)
    tp_one = perf(cat, tp=2, dp=1, concurrency=1, **common)
    dp_one = perf(cat, tp=1, dp=2, concurrency=1, **common)
    assert tp_one.tokens_per_s_per_user > dp_one.tokens_per_s_per_user
    tp_busy = perf(cat, tp=2, dp=1, concurrency=64, **common)
    dp_busy = perf(cat, tp=1, dp=2, concurrency=64, **common)
    assert tp_busy.output_tokens_per_s < dp_busy.output_tokens_per_s


def test_moe_reads_active_experts_for_one_token_and_all_for_a_big_batch(cat):
    # Mixtral 8x7B: 46.7 B parameters, 12.9 B active per token (Mistral AI announcement), 2 of 8
    # experts per token: a batch of B tokens touches 8 * (1 - (6/8)**B) experts on average.
    plan = quick_plan(model="mistralai/Mixtral-8x7B-Instruct-v0.1", gpu="h200-sxm", tp=1, catalog=cat)
    stage = build_replicas(resolve_plan(plan, cat))[0].stages[0]
    one = stage_step(stage, 1, 1, 0, 1).weight_bytes
    many = stage_step(stage, 256, 256, 0, 1).weight_bytes
    assert one / 2 == pytest.approx(12.9e9, rel=0.06)
    assert many / 2 == pytest.approx(46.7e9, rel=0.03)


def test_dp_attention_experts_serve_every_replica_of_their_ep_group(cat):
    # DeepSeek-V3 config.json: n_routed_experts 256, num_experts_per_tok 8. With attention data-parallel
    # on 8 GPUs (TP 1, EP 8) a GPU holds 32 whole experts and multiplies the tokens of all 8 replicas:
    # a decode step of 4 sequences per replica routes 32 tokens to the EP group, which touch
    # 256 * (1 - (1 - 8/256)**32) experts, not the 256 * (1 - (1 - 8/256)**4) of one replica's tokens.
    plan = quick_plan(
        model="deepseek-ai/DeepSeek-V3",
        gpu="h200-sxm",
        gpus_per_node=8,
        tp=1,
        dp=8,
        ep=8,
        weights="fp8",
        catalog=cat,
    )
    stage = build_replicas(resolve_plan(plan, cat))[0].stages[0]
    step = stage_step(stage, 4, 4, 0, 1)
    # expert reads per step scale with the share of experts the group's tokens touch
    ratio = step.expert_weights_s / stage_step(stage, 1, 1, 0, 1).expert_weights_s
    assert ratio == pytest.approx((1 - (1 - 8 / 256) ** 32) / (1 - (1 - 8 / 256) ** 8), rel=1e-6)
    # the same 32 tokens in one TP 8 / EP 8 replica meet the same experts on each GPU
    tp8 = quick_plan(model="deepseek-ai/DeepSeek-V3", gpu="h200-sxm", tp=8, ep=8, weights="fp8", catalog=cat)
    tp8_stage = build_replicas(resolve_plan(tp8, cat))[0].stages[0]
    assert step.expert_weights_s == pytest.approx(
        stage_step(tp8_stage, 32, 32, 0, 1).expert_weights_s, rel=1e-6
    )
    # a prompt on an idle server is one replica's tokens: not multiplied by the group
    prompt = stage_step(stage, 512, 1, 0, 512).expert_gemm_s
    assert prompt == pytest.approx(stage_step(tp8_stage, 512, 1, 0, 512).expert_gemm_s, rel=1e-6)


def test_report_parts_are_consistent(cat):
    p = perf(cat, model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", tp=8, concurrency="max")
    assert p.low.output_tokens_per_s < p.output_tokens_per_s < p.high.output_tokens_per_s
    assert p.low.ttft_s > p.ttft_s > p.high.ttft_s
    levels = [point.concurrency for point in p.curve]
    assert levels == sorted(levels) and levels[0] == 1 and levels[-1] == p.concurrency
    assert len(p.step_split) == 8
    # The split covers one decode cycle, the same on every GPU of the group; the time per output token
    # adds the other users' prompts on top of it.
    totals = {round(s.compute_s + s.memory_s + s.communication_s + s.waiting_s, 9) for s in p.step_split}
    assert len(totals) == 1
    assert 0 < totals.pop() <= p.tpot_s
    assert p.links[0].name == "NVSwitch (n0)" and p.links[0].purpose == "tensor parallel"
    assert p.assumptions


def test_step_split_of_a_full_pipeline_counts_every_micro_batch(cat):
    # Pipeline rule (GPipe, Huang et al. 2019; vLLM's PP scheduler): with as many micro-batches in
    # flight as stages, the slowest stage works all cycle long - no bubble - and every other stage waits
    # only for the difference. With a single sequence only one stage works at a time: each waits for
    # the other stages' turns.
    full = perf(cat, model=LLAMA_8B, gpu="h100-sxm", tp=1, pp=4, concurrency=64)
    totals = {round(s.compute_s + s.memory_s + s.communication_s + s.waiting_s, 9) for s in full.step_split}
    assert len(totals) == 1  # one cycle, split four ways
    slowest = min(full.step_split, key=lambda s: s.waiting_s)
    assert slowest.gpu == "g0_3"  # the last stage also holds lm_head (128256 x 4096, config.json)
    assert slowest.waiting_s < 0.1 * (slowest.compute_s + slowest.memory_s + slowest.communication_s)
    alone = perf(cat, model=LLAMA_8B, gpu="h100-sxm", tp=1, pp=4, concurrency=1)
    for s in alone.step_split[1:3]:  # stages 2 and 3: 8 layers each, no embeddings or lm_head
        busy = s.compute_s + s.memory_s + s.communication_s
        # three other stages' turns, about three times its own layers' work; "busy" also holds the
        # engine's per-step scheduling, which every stage spends at the same moment
        assert s.waiting_s > 1.5 * busy
    assert full.bottleneck_detail.share > 0.5  # the slowest stage's largest part fills most of the cycle
