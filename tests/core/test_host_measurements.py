"""The host model against published runs that keep layers in system RAM (catalogs/measurements.csv,
M767–M773: llama.cpp partial offload on an RTX 2080 with an i9-10900X host, AlexsJones/llmfit pull
requests #774, #775 and #778). Nothing is fitted on them: these are out-of-sample checks."""

from __future__ import annotations

import pytest

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.host import HostOffload, host_runs, run_plan, with_offload
from gpuplanner.core.quick import quick_plan

# the published figures, as the pull requests print them ('avg tok/s', prompt processing included)
PUBLISHED = {"M767": 26.1, "M768": 16.9, "M769": 16.7, "M770": 5.2, "M771": 20.8}
# pull request #755: Qwen3-30B-A3B with --n-cpu-moe 36, the server's own generation speed
PUBLISHED_EXPERTS = {"M774": 36.7}


def test_the_published_runs_are_read_from_the_measurements_file():
    runs = {run.id: run for run in host_runs()}
    assert {k: runs[k].tokens_per_s for k in PUBLISHED} == PUBLISHED
    assert runs["M774"].expert_layers == 36 and runs["M774"].layers_in_ram == 0
    # pull request #774: Qwen3-14B (40 layers) at -ngl 32 keeps 8 layers in RAM; #775: Mistral-Small-24B
    # (40 layers) at -ngl 16 keeps 24
    assert runs["M768"].layers_in_ram == 8 and runs["M770"].layers_in_ram == 24
    assert all(run.host == "lga2066-ddr4-3200" and run.ram_gib == 62 for run in runs.values())
    assert set(PUBLISHED) | set(PUBLISHED_EXPERTS) <= set(runs)


@pytest.mark.parametrize("row", sorted(PUBLISHED | PUBLISHED_EXPERTS))
def test_estimates_stay_within_half_again_of_the_published_speed(row):
    run = {r.id: r for r in host_runs()}[row]
    report = evaluate(run_plan(run, default_catalog()))
    assert report.host is not None and report.host.offloaded_layers == tuple(range(run.layers_in_ram))
    speed = report.host.tokens_per_s_per_user
    assert speed is not None, report.verdict
    # a factor of 1.5 either way: the stated tolerance of an out-of-sample check on one host
    assert run.tokens_per_s / 1.5 <= speed <= run.tokens_per_s * 1.5
    assert "checked against" in " ".join(report.host.assumptions)


def test_a_gpu_family_without_published_runs_is_marked_extrapolated():
    plan = quick_plan(model="llama-3.1-70b", gpu="mi210", tp=1, weights="gguf-q4_k_m", engine="llamacpp")
    plan = plan.model_copy(update={"engine": plan.engine.model_copy(update={"max_model_len": 2048})})
    report = evaluate(with_offload(plan, HostOffload(layers=30, host="epyc-9004")))
    assert report.host is not None
    assert any(a.startswith("extrapolated") for a in report.host.assumptions)
