"""The fit model against public facts.

Sources:
- Hugging Face config.json of meta-llama/Llama-3.1-70B (80 layers, hidden 8192, 64 heads, 8 KV heads,
  head_dim 128, intermediate 28672, vocab 128256): 70,553,706,496 parameters, as computed from the
  config and published as "70.55B" (shared/reference/models.csv, sources C-AIC, C-LIT).
- deepseek-ai/DeepSeek-V3 config.json: kv_lora_rank 512 + qk_rope_head_dim 64 = 576 cached elements
  per token per layer (MLA), 671B parameters.
- vLLM log lines for Llama-3.1-8B-Instruct on one RTX 3090 (calibration rows M218-M224): weights
  14.9888 GiB, KV cache 3.81 GiB = 1952 blocks at max_model_len 20000, 2.89 GiB = 23648 tokens at
  29000, gpu_memory_utilization 0.90.
"""

from __future__ import annotations

import pytest

from gpuplanner.core.architecture import kv_elements_per_token_layer, total_params
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import PlanError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.layout_ops import default_layout
from gpuplanner.core.plan import (
    EngineSettings,
    GpuPlacement,
    Layout,
    Node,
    Plan,
    Replica,
    Rig,
    Stage,
    Workload,
)
from gpuplanner.core.quick import quick_plan

GIB = 2**30
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"
LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"


def test_llama_70b_parameter_count_matches_config():
    assert total_params(default_catalog().model(LLAMA_70B)) == 70_553_706_496


def test_llama_70b_bf16_kv_is_320_kib_per_token():
    # 80 layers x 2 (K and V) x 8 KV heads x 128 head_dim x 2 bytes = 327,680 B = 320 KiB
    report = evaluate(quick_plan(model=LLAMA_70B, gpu="h100-sxm", tp=8))
    assert report.kv_cache.bytes_per_token == 320 * 1024


def test_deepseek_v3_caches_576_elements_per_token_per_layer_on_every_rank():
    m = default_catalog().model("deepseek-ai/DeepSeek-V3")
    assert kv_elements_per_token_layer(m, tp=1) == 576
    assert kv_elements_per_token_layer(m, tp=8) == 576  # MLA latent is replicated, not split
    assert total_params(m) / 1e9 == pytest.approx(671.0, rel=0.002)


def test_kv_heads_replicate_when_tp_exceeds_them():
    # Qwen2.5-7B has 4 KV heads (config.json); at TP 8 each rank still holds one head.
    m = default_catalog().model("Qwen/Qwen2.5-7B-Instruct")
    assert m.num_kv_heads == 4
    assert kv_elements_per_token_layer(m, tp=8) == 2 * 1 * m.head_dim
    assert kv_elements_per_token_layer(m, tp=2) == 2 * 2 * m.head_dim


def _vllm_3090_plan(max_len: int) -> Plan:
    plan = quick_plan(model=LLAMA_8B, gpu="rtx-3090", tp=1, engine="vllm")
    return plan.model_copy(
        update={
            "engine": EngineSettings(
                engine="vllm",
                gpu_memory_utilization=0.9,
                max_model_len=max_len,
                max_num_batched_tokens=max_len,
            ),
            "workload": Workload(concurrency=1, input_tokens=max_len - 1, output_tokens=1),
        }
    )


def test_vllm_weights_on_rtx_3090_match_log_m218():
    g = evaluate(_vllm_3090_plan(20000)).gpus[0]
    assert g.memory_bytes.weights / GIB == pytest.approx(14.9888, rel=0.01)


@pytest.mark.parametrize(("max_len", "kv_gib", "blocks"), [(20000, 3.81, 1952), (29000, 2.89, 23648 // 16)])
def test_vllm_kv_cache_on_rtx_3090_matches_log(max_len, kv_gib, blocks):
    # M219/M220 (20000) and M222/M223 (29000): the profiling peak grows with max_num_batched_tokens
    g = evaluate(_vllm_3090_plan(max_len)).gpus[0]
    assert g.memory_bytes.kv_cache / GIB == pytest.approx(kv_gib, rel=0.05)
    assert g.kv_blocks == pytest.approx(blocks, rel=0.05)


def test_70b_bf16_on_one_h100_does_not_start_and_says_why():
    # 70.55e9 parameters x 2 bytes = 141 GB of weights; an H100 has 80 GB.
    report = evaluate(quick_plan(model=LLAMA_70B, gpu="h100-sxm", tp=1))
    assert not report.fits
    err = next(p for p in report.problems if p.severity == "error")
    assert "won't start" in err.message and err.gpu is not None
    assert err.fix and err.action is not None
    assert report.gpus[0].memory_bytes.weights > 140e9


def test_kv_shortage_names_the_concurrency_and_offers_fp8_kv():
    plan = quick_plan(
        model=LLAMA_70B, gpu="h100-sxm", tp=2, concurrency=400, input_tokens=4000, output_tokens=1000
    )
    report = evaluate(plan)
    warn = [p for p in report.problems if "runs out of KV cache" in p.message]
    assert warn, report.problems
    assert warn[0].action is not None and warn[0].action.kind in ("set_kv_cache", "set_concurrency")


def _mixed_plan() -> Plan:
    # an RTX 3090 (24 GB) and an RTX PRO 6000 Blackwell (96 GB) in one PCIe box, 16 + 16 layers of 8B
    node = Node(
        id="n0",
        slots=2,
        gpus=(
            GpuPlacement(id="a", gpu="rtx-3090", slot=0),
            GpuPlacement(id="b", gpu="rtx-pro-6000-blackwell", slot=1),
        ),
        host_link="pcie4-x16-cpu",
    )
    layout = Layout(
        replicas=(Replica(stages=(Stage(layers=(0, 16), gpus=("a",)), Stage(layers=(16, 32), gpus=("b",)))),)
    )
    return Plan(rig=Rig(nodes=(node,)), model=LLAMA_8B, layout=layout, engine=EngineSettings(engine="vllm"))


def test_vllm_smallest_rank_rule_strands_memory_on_the_big_gpu():
    report = evaluate(_mixed_plan())
    small, big = report.gpus
    assert small.kv_blocks == big.kv_blocks
    assert big.stranded_bytes > 50 * GIB  # the 96 GB card can only use as many blocks as the 24 GB one
    assert small.stranded_bytes < 0.1 * GIB
    assert any("strands" in p.message for p in report.problems)


def test_uneven_split_moves_weights_by_the_layers_size():
    plan = _mixed_plan()
    moved = plan.model_copy(
        update={
            "layout": Layout(
                replicas=(
                    Replica(stages=(Stage(layers=(0, 12), gpus=("a",)), Stage(layers=(12, 32), gpus=("b",)))),
                )
            )
        }
    )
    before, after = evaluate(plan), evaluate(moved)
    # Llama 3.1 8B layer: 4096*(4096+2*1024+4096) + 3*4096*14336 + 2*4096 = 218,112,000 params, 2 bytes each
    layer_bytes = 218_112_000 * 2
    delta = before.gpus[0].memory_bytes.weights - after.gpus[0].memory_bytes.weights
    assert delta == pytest.approx(4 * layer_bytes, abs=16)
    assert after.gpus[1].memory_bytes.weights - before.gpus[1].memory_bytes.weights == pytest.approx(
        4 * layer_bytes, abs=16
    )


def test_trtllm_gives_kv_a_fraction_of_free_memory():
    plan = quick_plan(model=LLAMA_8B, gpu="h100-sxm", engine="trtllm")
    g = evaluate(plan).gpus[0]
    m = g.memory_bytes
    free_after = g.capacity_bytes - m.weights - m.activations - m.communication - m.runtime
    frac = default_catalog().engine("trtllm").kv_cache_free_fraction
    assert m.kv_cache == pytest.approx(frac * free_after, rel=0.01)


def test_sliding_window_layers_need_less_kv_than_full_attention():
    # Gemma 2 27B: every other layer attends to a 4096-token window (config sliding_window 4096)
    plan = quick_plan(model="google/gemma-2-27b-it", gpu="h100-sxm", input_tokens=7000, output_tokens=1000)
    m = default_catalog().model("google/gemma-2-27b-it")
    full = m.num_layers * 2 * m.num_kv_heads * m.head_dim * 2
    per_token = evaluate(plan).kv_cache.bytes_per_token
    assert per_token < full
    assert per_token == pytest.approx(full * (0.5 + 0.5 * 4096 / 8000), rel=0.01)


def test_tp_that_does_not_divide_heads_is_a_clear_error():
    with pytest.raises(PlanError, match="does not divide") as e:
        evaluate(quick_plan(model=LLAMA_70B, gpu="h100-sxm", tp=3))
    assert e.value.fix


def test_layout_with_a_gap_names_the_stage():
    plan = quick_plan(model=LLAMA_8B, gpu="h100-sxm", pp=2)
    bad = plan.layout.replicas[0].stages
    gap = Layout(replicas=(Replica(stages=(bad[0], bad[1].model_copy(update={"layers": (17, 32)}))),))
    with pytest.raises(PlanError, match="stage 2") as e:
        evaluate(plan.model_copy(update={"layout": gap}))
    assert "gap" in e.value.message


def test_embeddings_on_first_stage_and_lm_head_on_last():
    plan = quick_plan(model=LLAMA_8B, gpu="h100-sxm", pp=2)
    first, last = evaluate(plan).gpus
    assert first.has_embeddings and not first.has_lm_head
    assert last.has_lm_head and not last.has_embeddings


def test_idle_gpu_is_reported():
    plan = quick_plan(model=LLAMA_8B, gpu="h100-sxm", tp=1, dp=2)
    one = plan.model_copy(update={"layout": default_layout(plan.rig, 32, tp=1)})
    report = evaluate(one)
    assert any("not in the layout" in p.message for p in report.problems)


def test_two_servers_without_a_network_keep_their_memory_ledgers():
    plan = quick_plan(model=LLAMA_8B, gpu="h100-sxm", gpus_per_node=1, nodes=2, pp=2)
    cut = plan.model_copy(update={"rig": plan.rig.model_copy(update={"fabric": None})})
    report = evaluate(cut)
    assert not report.fits and report.performance is None
    assert len(report.gpus) == 2 and report.gpus[0].memory_bytes.weights > 0
    problem = next(p for p in report.problems if "network" in p.message)
    assert problem.severity == "error" and problem.fix
    assert report.verdict.startswith("Incomplete")


def test_stranded_memory_is_one_note_per_kind_of_gpu_and_amount():
    # 64 identical H100s, pipeline stages of 11 and 9 layers around a boundary moved by one layer: vLLM
    # sizes every rank's KV cache by the smallest, so most GPUs strand memory - the report says so in a
    # few grouped notes that name how many GPUs, not 56 lines of one each
    from gpuplanner.core.layout_ops import set_stage_boundary

    plan = quick_plan(
        model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", nodes=8, gpus_per_node=8, tp=8, pp=8
    )
    plan = plan.model_copy(update={"layout": set_stage_boundary(plan.layout, 0, 3, 41)})
    report = evaluate(plan)
    stranding = [g for g in report.gpus if g.stranded_bytes > 0.5 * GIB]
    notes = [p for p in report.problems if "strands" in p.message]
    assert len(stranding) > 40 and 1 <= len(notes) <= 4
    counted = 0
    for note in notes:
        head = note.message.split(" ", 1)[0]
        counted += int(head) if head.isdigit() else 1
    assert counted == len(stranding)
