"""Auto-balance on mixed GPUs: fit (layers by free memory), speed (within memory), even.

Expected directions and bounds come from the GPUs' datasheet figures in the catalog (memory, HBM
bandwidth) and the model's config, not from the balancer's own output.
"""

from __future__ import annotations

import pytest

from gpuplanner.core.balance import balance_layout
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.errors import PlanError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.plan import GpuPlacement, Layout, Node, Plan, Replica, Rig, Stage
from gpuplanner.core.specs import ModelSpec

# meta-llama/Llama-3.1-8B and -70B config.json
LLAMA_8B = ModelSpec(
    id="test/llama-3.1-8b", name="Llama 3.1 8B", model_type="llama", num_layers=32, hidden_size=4096,
    intermediate_size=14336, num_attention_heads=32, num_kv_heads=8, head_dim=128, vocab_size=128256,
    max_position_embeddings=131072, total_params_b=8.03, sources=("hf-config",),
)  # fmt: skip
LLAMA_70B = LLAMA_8B.model_copy(
    update={"id": "test/llama-3.1-70b", "name": "Llama 3.1 70B", "num_layers": 80, "hidden_size": 8192,
            "intermediate_size": 28672, "num_attention_heads": 64, "total_params_b": 70.55}
)  # fmt: skip


def two_gpu_plan(small: str, big: str, model: ModelSpec, split: int | None = None) -> Plan:
    n = model.num_layers
    cut = split if split is not None else n // 2
    rig = Rig(nodes=(Node(id="n0", slots=4, gpus=(
        GpuPlacement(id="a", gpu=small, slot=0), GpuPlacement(id="b", gpu=big, slot=1))),))  # fmt: skip
    layout = Layout(
        replicas=(Replica(stages=(Stage(layers=(0, cut), gpus=("a",)), Stage(layers=(cut, n), gpus=("b",)))),)
    )
    return Plan(rig=rig, model=model.id, model_spec=model, layout=layout)


def stage_sizes(layout: Layout) -> list[int]:
    return [s.num_layers for s in layout.replicas[0].stages]


def with_layout(plan: Plan, layout: Layout) -> Plan:
    return plan.model_copy(update={"layout": layout})


def test_fit_gives_the_bigger_gpu_more_layers_and_a_bigger_kv_cache():
    cat = default_catalog()
    plan = two_gpu_plan("rtx-4090", "a100-80gb-pcie", LLAMA_8B)
    small, big = cat.gpu("rtx-4090"), cat.gpu("a100-80gb-pcie")
    layout = balance_layout(plan, "fit")
    sizes = stage_sizes(layout)
    assert sum(sizes) == 32 and sizes[0] < sizes[1]
    # layers follow memory: the 4090's share is near its share of the pair's memory (24 of 104 GiB)
    share = small.memory_gib_usable / (small.memory_gib_usable + big.memory_gib_usable)
    assert sizes[0] / 32 == pytest.approx(share, abs=0.08)
    even, fitted = evaluate(plan), evaluate(with_layout(plan, layout))
    assert fitted.kv_cache.capacity_tokens > 2 * even.kv_cache.capacity_tokens
    assert sum(g.stranded_bytes for g in fitted.gpus) < sum(g.stranded_bytes for g in even.gpus) / 10


def output_rate(plan: Plan) -> float:
    """Output tokens/s of ``plan`` by the report's own estimate (the one the panel shows)."""
    perf = evaluate(plan).performance
    assert perf is not None
    return perf.output_tokens_per_s


def test_speed_puts_more_layers_on_the_faster_gpu_and_beats_the_even_split():
    # A100 80GB PCIe: 1,935 GB/s HBM2e; RTX 4090: 1,008 GB/s GDDR6X (datasheets)
    cat = default_catalog()
    assert cat.gpu("a100-80gb-pcie").hbm_bandwidth_gbps > cat.gpu("rtx-4090").hbm_bandwidth_gbps
    plan = two_gpu_plan("rtx-4090", "a100-80gb-pcie", LLAMA_8B)
    fast = with_layout(plan, balance_layout(plan, "speed"))
    sizes = stage_sizes(fast.layout)
    assert sum(sizes) == 32 and sizes[0] < sizes[1]
    assert evaluate(fast).fits
    assert output_rate(fast) > output_rate(plan)  # plan: the even 16 / 16 split


def test_speed_leaves_no_faster_neighbouring_split():
    plan = two_gpu_plan("rtx-4090", "a100-80gb-pcie", LLAMA_8B)
    cut = stage_sizes(balance_layout(plan, "speed"))[0]
    best = output_rate(two_gpu_plan("rtx-4090", "a100-80gb-pcie", LLAMA_8B, split=cut))
    for other in (cut - 1, cut + 1):
        if not 0 < other < LLAMA_8B.num_layers:
            continue  # a stage needs at least one layer
        assert best >= output_rate(two_gpu_plan("rtx-4090", "a100-80gb-pcie", LLAMA_8B, split=other))


def test_speed_stays_within_memory():
    """Llama 3.1 70B in BF16 (about 1.7 GB a layer) on a 24 GB 4090 and a 192 GB MI300X: bandwidth
    alone would give the 4090 about 13 layers (22 GB) plus the embeddings; that does not fit."""
    cat = default_catalog()
    plan = two_gpu_plan("rtx-4090", "mi300x", LLAMA_70B, split=40)
    bw_small, bw_big = cat.gpu("rtx-4090").hbm_bandwidth_gbps, cat.gpu("mi300x").hbm_bandwidth_gbps
    by_bandwidth = 80 * bw_small / (bw_small + bw_big)
    layout = balance_layout(plan, "speed")
    report = evaluate(with_layout(plan, layout))
    assert report.fits
    assert stage_sizes(layout)[0] < by_bandwidth
    assert all(g.memory_bytes.free >= 0 for g in report.gpus)


def test_even_splits_like_the_engine_and_keeps_the_gpus():
    plan = two_gpu_plan("rtx-4090", "a100-80gb-pcie", LLAMA_8B, split=5)
    layout = balance_layout(plan, "even")
    assert stage_sizes(layout) == [16, 16]
    assert [s.gpus for s in layout.replicas[0].stages] == [("a",), ("b",)]


def test_balance_of_tp_groups_and_replicas_keeps_every_stage_valid():
    gpus = tuple(GpuPlacement(id=f"g{i}", gpu="h100-sxm", slot=i) for i in range(8))
    rig = Rig(nodes=(Node(id="n0", slots=8, gpus=gpus, nvswitch="nvswitch-nvlink4"),))
    replicas = tuple(
        Replica(stages=(Stage(layers=(0, 10), gpus=(f"g{4 * r}", f"g{4 * r + 1}")),
                        Stage(layers=(10, 80), gpus=(f"g{4 * r + 2}", f"g{4 * r + 3}"))))
        for r in range(2)
    )  # fmt: skip
    plan = Plan(rig=rig, model=LLAMA_70B.id, model_spec=LLAMA_70B, layout=Layout(replicas=replicas))
    for objective in ("fit", "speed", "even"):
        layout = balance_layout(plan, objective)  # type: ignore[arg-type]
        for replica in layout.replicas:
            first, last = (s.num_layers for s in replica.stages)
            if objective == "speed":  # the last stage also reads the lm_head: it may give up a layer
                assert first + last == 80 and 40 <= first <= 42
            else:
                assert (first, last) == (40, 40)  # identical GPUs: an even split
        assert evaluate(with_layout(plan, layout)).fits


def test_unknown_objective_is_refused():
    with pytest.raises(PlanError, match="objective"):
        balance_layout(two_gpu_plan("rtx-4090", "a100-80gb-pcie", LLAMA_8B), "fastest")  # type: ignore[arg-type]
