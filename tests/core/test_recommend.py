"""Plan for me: the layout search and the rig search (gpuplanner.core.recommend)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import PlanError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.layout_ops import layout_from_order, layout_gpu_ids
from gpuplanner.core.plan import Plan, Rig
from gpuplanner.core.quick import build_node, quick_plan
from gpuplanner.core.recommend import (
    OBJECTIVES,
    Space,
    Target,
    layout_using_all,
    pareto_front,
    recommend_layouts,
    recommend_rigs,
)
from gpuplanner.document.planfile import load_plan

EXAMPLES = sorted((Path(__file__).parents[2] / "catalogs" / "examples").glob("*.gpuplan"))
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"
LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"


def _rig_of(gpu: str, count: int, per_node: int = 8) -> Rig:
    """``count`` GPUs filling servers of ``per_node`` in turn (the last one partly), NVSwitch inside."""
    cat = default_catalog()
    spec = cat.gpu(gpu)
    link = cat.link("nvswitch-nvlink4") if spec.native_link == "nvlink4" else cat.link("pcie4-x16-switch")
    nodes, links = [], []
    for index in range((count + per_node - 1) // per_node):
        node, extra = build_node(index, spec, min(per_node, count - index * per_node), link, slots=per_node)
        nodes.append(node)
        links.extend(extra)
    return Rig(nodes=tuple(nodes), links=tuple(links), fabric="ib-ndr" if len(nodes) > 1 else None)


def _plan_on(rig: Rig, model: str, concurrency: int = 1) -> Plan:
    base = quick_plan(model=model, gpu="h100-sxm", concurrency=concurrency)
    ids = rig.gpu_ids()
    layers = default_catalog().model(model).num_layers
    return base.model_copy(update={"rig": rig, "layout": layout_from_order(ids, layers, 1, 1, len(ids))})


def _answer_s(report) -> float:
    rig = report.rig_speed()  # the whole rig's speed (host included when layers sit in system RAM)
    return rig.ttft_s + (report.performance.output_tokens - 1) * rig.tpot_s


# -- the sample plans: the recommendation never loses to the sample's own layout ---------------------
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_recommendation_scores_at_least_the_sample_layout(path):
    plan = load_plan(path)
    own = evaluate(plan)
    if not own.fits:
        # the sample that does not fit: whatever the search offers fits (and is therefore better)
        found = recommend_layouts(plan, "throughput")
        assert all(c.report.fits for c in found.candidates)
        return
    p, rig = own.performance, own.rig_speed()  # rig: the host's figures when system RAM takes part
    # the sample's own speeds as the service level: its layout meets it at its own users
    target = Target(slo_ttft_ms=rig.ttft_s * 1000 * (1 + 1e-9), slo_tpot_ms=rig.tpot_s * 1000 * (1 + 1e-9))
    watts = sum(default_catalog().gpu(g.gpu).tdp_w for g in own.gpus)
    for objective in OBJECTIVES:
        best = recommend_layouts(plan, objective, target).best
        assert best is not None, objective
        got = best.report
        if objective == "throughput":
            assert got.rig_speed().output_tokens_per_s >= rig.output_tokens_per_s * (1 - 1e-9)
        elif objective == "users":
            assert got.performance.concurrency >= p.concurrency
        elif objective == "latency":
            assert _answer_s(got) <= _answer_s(own) * (1 + 1e-9)
        elif objective == "context":
            assert got.kv_cache.max_context_at_concurrency >= own.kv_cache.max_context_at_concurrency
        else:
            assert best.value <= watts / rig.output_tokens_per_s * (1 + 1e-9)


def test_every_candidate_is_its_own_evaluation():
    plan = load_plan(next(p for p in EXAMPLES if "2x-dgx" in p.name))
    found = recommend_layouts(plan, "throughput", Target(slo_tpot_ms=60), top=20)
    assert found.candidates
    for c in found.candidates:
        assert evaluate(c.plan).to_json_dict() == c.report.to_json_dict()


def test_layouts_respect_the_model_and_the_topology():
    # Llama 3.1 70B: 64 attention heads, 8 KV heads (its config.json)
    plan = _plan_on(_rig_of("h100-sxm", 16), LLAMA_70B)
    found = recommend_layouts(plan, "throughput", top=100)
    assert found.candidates
    rig = plan.rig
    node_of = {g.id: n.id for n, g in rig.iter_gpus()}
    for c in found.candidates:
        for replica in c.plan.layout.replicas:
            for stage in replica.stages:
                assert 64 % stage.tp == 0
                assert len({node_of[g] for g in stage.gpus}) == 1  # TP inside one server's NVSwitch


def test_405b_needs_more_than_one_eight_gpu_server():
    # Llama 3.1 405B in BF16 is 405 billion parameters × 2 bytes = 810 GB; eight H100 hold 8 × 80 GB = 640 GB
    plan = _plan_on(_rig_of("h100-sxm", 8), "meta-llama/Llama-3.1-405B-Instruct")
    found = recommend_layouts(plan, "throughput")
    assert found.candidates == [] and "no layout" in found.message
    two = recommend_layouts(_plan_on(_rig_of("h100-sxm", 16), "meta-llama/Llama-3.1-405B-Instruct"))
    assert two.best is not None and two.best.price.gpus == 16


def test_fp8_weights_are_tried_only_when_asked():
    plan = _plan_on(_rig_of("h100-sxm", 1), LLAMA_70B)  # 140 GB of BF16 weights on one 80 GB GPU
    assert recommend_layouts(plan).best is None
    found = recommend_layouts(plan, space=Space(weights=("bf16", "fp8")))
    assert found.best is not None and found.best.plan.weights == "fp8"  # 70 GB of FP8 weights fit
    four = _plan_on(_rig_of("h100-sxm", 2), LLAMA_70B)
    best = recommend_layouts(four, space=Space(weights=("bf16", "fp8"))).best
    assert best is not None and best.plan.weights == "fp8"  # half the bytes read per token: faster


def test_engine_settings_asked_for_are_tried():
    # vLLM's --gpu-memory-utilization is the share of each GPU's memory it may use: 0.95 leaves more
    # for the KV cache than its default 0.9, so at least as many users fit
    plan = _plan_on(_rig_of("h100-sxm", 2), LLAMA_70B)
    plain = recommend_layouts(plan, "users").best
    tuned = recommend_layouts(
        plan, "users", space=Space(memory_fractions=(0.95,), batched_tokens=(4096,))
    ).best
    assert plain is not None and tuned is not None
    assert tuned.plan.engine.gpu_memory_utilization == 0.95
    assert tuned.report.performance.concurrency > plain.report.performance.concurrency
    assert "memory fraction 0.95" in tuned.shape
    with pytest.raises(PlanError, match="memory fraction"):
        recommend_layouts(plan, space=Space(memory_fractions=(1.5,)))


def test_pareto_front_is_not_dominated():
    plan = _plan_on(_rig_of("h100-sxm", 8), LLAMA_70B)
    found = recommend_layouts(plan, "throughput", top=20)
    front = found.pareto
    assert front
    points = [
        (p.output_tokens_per_s, p.tokens_per_s_per_user)
        for c in found.candidates
        for p in c.report.performance.curve
    ]
    for f in front:
        assert not any(
            t >= f.output_tokens_per_s
            and u >= f.tokens_per_s_per_user
            and (t, u) != (f.output_tokens_per_s, f.tokens_per_s_per_user)
            for t, u in points
        )
    assert pareto_front([]) == []


def test_use_all_uses_every_gpu_and_cancel_stops():
    plan = _plan_on(_rig_of("h100-sxm", 16), LLAMA_70B)
    small = plan.model_copy(update={"layout": layout_from_order(plan.rig.gpu_ids(), 80, 8, 1, 1)})
    best = layout_using_all(small)
    assert best is not None and len(layout_gpu_ids(best.plan.layout)) == 16
    calls = []
    stopped = recommend_layouts(plan, cancelled=lambda: True, progress=lambda d, t: calls.append((d, t)))
    assert stopped.cancelled and stopped.evaluated <= 1
    done = recommend_layouts(plan, progress=lambda d, t: calls.append((d, t)))
    assert not done.cancelled and calls[-1][0] == calls[-1][1]


def test_bad_input_names_the_problem():
    plan = _plan_on(_rig_of("h100-sxm", 2), LLAMA_8B)
    with pytest.raises(PlanError, match="objective"):
        recommend_layouts(plan, "fastest")  # type: ignore[arg-type]
    with pytest.raises(PlanError, match="rig ranking"):
        recommend_rigs(LLAMA_8B, 1, rank="cheap")  # type: ignore[arg-type]


# -- properties ----------------------------------------------------------------------------------------
SLOW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(
    model=st.sampled_from([LLAMA_8B, LLAMA_70B]),
    gpu=st.sampled_from(["h100-sxm", "a100-80gb-sxm", "l40s"]),
    n=st.integers(1, 12),
    extra=st.integers(1, 6),
)
def test_more_gpus_never_lower_the_best_throughput(model, gpu, n, extra):
    fewer = recommend_layouts(_plan_on(_rig_of(gpu, n), model), "throughput").best
    more = recommend_layouts(_plan_on(_rig_of(gpu, n + extra), model), "throughput").best
    if fewer is None:
        return
    assert more is not None
    assert more.report.performance.output_tokens_per_s >= fewer.report.performance.output_tokens_per_s * (
        1 - 1e-9
    )


@SLOW
@given(
    gpus=st.integers(1, 8),
    tight=st.floats(8, 60),
    looser=st.floats(0, 60),
    ttft=st.sampled_from([None, 500.0, 2000.0]),
)
def test_a_looser_slo_never_gives_fewer_users(gpus, tight, looser, ttft):
    plan = _plan_on(_rig_of("h100-sxm", gpus), LLAMA_8B)
    strict = recommend_layouts(plan, "users", Target(slo_tpot_ms=tight, slo_ttft_ms=ttft)).best
    loose = recommend_layouts(plan, "users", Target(slo_tpot_ms=tight + looser)).best
    assert strict is not None and loose is not None
    strict_users = strict.report.performance.concurrency if strict.meets else 0
    loose_users = loose.report.performance.concurrency if loose.meets else 0
    assert loose_users >= strict_users


@SLOW
@given(
    model=st.sampled_from([LLAMA_8B, LLAMA_70B, "Qwen/Qwen3-30B-A3B"]),
    gpu=st.sampled_from(["h100-sxm", "l40s", "rtx-4090"]),
    n=st.integers(1, 10),
    objective=st.sampled_from(OBJECTIVES),
    tpot=st.sampled_from([None, 30.0, 80.0]),
)
def test_every_candidate_evaluates_to_its_reported_numbers(model, gpu, n, objective, tpot):
    found = recommend_layouts(_plan_on(_rig_of(gpu, n), model), objective, Target(slo_tpot_ms=tpot), top=5)
    for c in found.candidates:
        assert evaluate(c.plan).to_json_dict() == c.report.to_json_dict()
        assert c.meets == (c.report.fits and (tpot is None or c.report.performance.tpot_s * 1000 <= tpot))


# -- the rig search ------------------------------------------------------------------------------------
def test_rig_search_finds_the_smallest_rig_per_gpu_and_ranks_by_count():
    found = recommend_rigs(
        "meta-llama/Llama-3.1-405B-Instruct", 1, gpus_from=["h100-sxm", "h200-sxm"], max_gpus=32
    )
    by_gpu = {c.plan.rig.nodes[0].gpus[0].gpu: c for c in found.rigs}
    # 810 GB of BF16 weights: 8 × H200 (141 GB each, 1,128 GB) hold them; 8 × H100 (640 GB) do not
    assert by_gpu["h200-sxm"].price.gpus == 8
    assert by_gpu["h100-sxm"].price.gpus == 16
    assert [c.price.gpus for c in found.rigs] == sorted(c.price.gpus for c in found.rigs)
    for c in found.rigs:
        assert c.meets and evaluate(c.plan).to_json_dict() == c.report.to_json_dict()


def test_rig_search_tries_a_cards_own_bridge():
    # the RTX 3090 has an NVLink bridge port (NVIDIA's product page): a bridged pair is a rig of its own
    # (one card has nothing to bridge, so the bridged rigs start at two)
    found = recommend_rigs(LLAMA_8B, 16, gpus_from=["rtx-3090"], max_gpus=2, top=10)
    names = [c.plan.name for c in found.rigs]
    assert any("bridge" in n.lower() for n in names), names
    bridged = next(c for c in found.rigs if "bridge" in c.plan.name.lower())
    assert bridged.price.gpus == 2 and bridged.plan.rig.links


def test_rig_search_reports_when_nothing_serves_the_target():
    found = recommend_rigs(LLAMA_70B, 1, gpus_from=["rtx-3060-12gb"], max_gpus=2)
    assert found.rigs == [] and "no rig" in found.message
