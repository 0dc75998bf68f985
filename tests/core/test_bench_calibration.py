"""Calibration on your own runs: real llama-bench and vllm bench serve outputs (tests/data/benchmarks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuplanner import paths
from gpuplanner.core.bench_import import BenchError, parse_bench
from gpuplanner.core.calibration import load_user_calibration
from gpuplanner.core.coverage import coverage_line
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.user_fit import fit_runs, reset_user_calibration, save_fit

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmarks"


def text(name: str) -> str:
    return (DATA / name).read_text()


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLANNER_USER_DIR", str(tmp_path / "user"))
    yield tmp_path / "user"
    reset_user_calibration()


def rtx4080_plan():
    # the llama.cpp README's runs: Qwen2.5-7B-Instruct-Q4_K_M.gguf on one RTX 4080, all layers on the GPU
    return quick_plan(
        model="Qwen/Qwen2.5-7B-Instruct", gpu="rtx-4080", engine="llamacpp", weights="gguf-q4_k_m"
    )


def test_llama_bench_json_runs_are_read_with_their_tests():
    runs, notes = parse_bench(text("llama_bench_rtx4080_qwen25_7b.json"), "bench.json")
    assert [(r.kind, r.input_tokens, r.output_tokens, r.value) for r in runs] == [
        ("prefill", 512, 1, 7100.002165),
        ("decode", 1, 128, 118.881588),
    ]
    assert runs[0].gpu_name == "NVIDIA GeForce RTX 4080" and runs[0].source == "bench.json:2"
    assert notes == []


def test_llama_bench_markdown_keeps_depth_and_leaves_out_depth_prefill():
    runs, notes = parse_bench(text("llama_bench_qwen2_7b_depth.md"), "t.md")
    assert [(r.label, r.value) for r in runs] == [
        ("pp512", 7340.20),
        ("tg128", 120.60),
        ("tg128 @ d512", 116.71),
    ]
    assert notes == ["t.md:5: pp512 @ d512 left out (a prompt behind a filled cache)"]


def test_vllm_serve_printed_and_json_results_agree():
    printed, notes = parse_bench(text("vllm_bench_serve_llama31_8b_sharegpt.txt"))
    saved, _ = parse_bench(text("vllm_bench_serve_llama31_8b_sharegpt.json"))
    for runs in (printed, saved):
        (run,) = runs
        assert run.kind == "serve" and run.value == 6582.87
        assert run.concurrency == 1000  # no limit: every request at once
        assert (run.input_tokens, run.output_tokens) == (230, 203)  # 229711 / 1000, 203068 / 1000
        assert run.tpot_s == pytest.approx(0.07786)
    assert "no maximum concurrency" in notes[0]
    (l20,) = parse_bench(text("vllm_benchmark_serving_deepseek_r1_l20.txt"))[0]
    assert (l20.concurrency, l20.input_tokens, l20.output_tokens, l20.value) == (16, 4096, 1024, 131.35)


def test_bad_benchmark_files_name_the_line():
    with pytest.raises(
        BenchError, match=r"b\.csv:2: the row has a different number of columns than the header"
    ):
        parse_bench(text("llama_bench_rtx4080_qwen25_7b.csv"), "b.csv")  # the README's own mismatch
    cut = text("llama_bench_rtx4080_qwen25_7b.json")[:1500]
    with pytest.raises(BenchError, match=r"cut\.json:\d+: not valid JSON"):
        parse_bench(cut, "cut.json")
    topo = (DATA.parent / "topology" / "dgx_h100.txt").read_text()
    with pytest.raises(
        BenchError, match=r"topo\.txt:1: '.*GPU0.*' is not llama-bench or vllm bench serve output"
    ):
        parse_bench(topo, "topo.txt")
    cut_serve = "\n".join(text("vllm_benchmark_serving_deepseek_r1_l20.txt").splitlines()[:5])
    with pytest.raises(
        BenchError,
        match=r"s\.txt:2: the vllm bench serve result lacks total_output_tokens, output_throughput",
    ):
        parse_bench(cut_serve, "s.txt")
    with pytest.raises(BenchError, match=r"m\.md:3: cannot read the test 'xx9'"):
        parse_bench(text("llama_bench_qwen2_7b_depth.md").replace("pp512 |", "xx9 |", 1), "m.md")


def test_calibrate_lowers_the_error_leaves_other_gpus_alone_and_reset_restores_exactly(user_dir):
    plan = rtx4080_plan()
    other = quick_plan(
        model="Qwen/Qwen2.5-7B-Instruct", gpu="rtx-4090", engine="llamacpp", weights="gguf-q4_k_m"
    )
    vllm_same_gpu = quick_plan(model="Qwen/Qwen2.5-7B-Instruct", gpu="rtx-4080", engine="vllm")
    before = [evaluate(p).to_json_dict() for p in (plan, other, vllm_same_gpu)]
    runs, _ = parse_bench(text("llama_bench_rtx4080_qwen25_7b.json"), "bench.json")
    result = fit_runs(plan, runs, files=["bench.json"])
    assert result.error_after < result.error_before / 5
    assert result.error_after < 0.02
    save_fit(result)
    assert paths.user_calibration_file().is_file()
    factor = load_user_calibration().factor_for("rtx-4080", "llamacpp")
    assert factor is not None and factor.runs == 2
    calibrated = evaluate(plan)
    perf = calibrated.performance
    assert perf.calibrated_on.user == "calibrated on your rig: 2 runs, RTX 4080, llama.cpp"
    assert calibrated.to_json_dict()["performance"]["calibrated_on"]["user"].startswith(
        "calibrated on your rig"
    )
    assert "Calibrated on your rig: 2 runs, RTX 4080, llama.cpp" in coverage_line(perf)
    # the decode speed now matches the measured tg128 within the fit's tolerance
    tg = evaluate(
        plan.model_copy(
            update={
                "workload": plan.workload.model_copy(
                    update={"concurrency": 1, "input_tokens": 1, "output_tokens": 128, "batching": "static"}
                )
            }
        )
    )
    assert 1 / tg.performance.tpot_s == pytest.approx(118.881588, rel=0.02)
    # another GPU kind, and the same GPU with another engine, keep the catalog's figures exactly
    assert evaluate(other).to_json_dict() == before[1]
    assert evaluate(vllm_same_gpu).to_json_dict() == before[2]
    assert reset_user_calibration() == 1
    assert evaluate(plan).to_json_dict() == before[0]
    assert not paths.user_calibration_file().exists()


def test_a_run_beyond_the_planners_limits_is_named_not_a_crash(user_dir):
    from gpuplanner.core.bench_import import BenchRun
    from gpuplanner.core.errors import PlannerError

    huge = BenchRun("serve", "vllm bench serve", "serve.txt:2", 100.0, 10**9, 100, 100)
    with pytest.raises(PlannerError, match=r"serve\.txt:2: serve c=1000000000 100/100 is beyond"):
        fit_runs(rtx4080_plan(), [huge])
    assert not paths.user_calibration_file().exists()


def test_vllm_startup_kv_lines_are_a_check_not_a_factor(user_dir):
    (kv,), _notes = parse_bench(text("vllm_startup_qwen3_235b_fp8_4xh100.log"), "boot.log")
    assert (kv.kind, kv.value, kv.kv_memory_gib, kv.source) == ("kv", 178880.0, 8.11, "boot.log:2")
    plan = quick_plan(model="Qwen/Qwen3-235B-A22B", gpu="h100-sxm", gpus_per_node=4, tp=4, weights="fp8")
    from gpuplanner.core.errors import PlannerError

    with pytest.raises(PlannerError, match="only KV-cache lines"):
        fit_runs(plan, [kv])
    (old,), old_notes = parse_bench(
        "INFO gpu_executor.py:122] # GPU blocks: 7224, # CPU blocks: 2048\n", "v.log"
    )
    assert old.value == 7224 * 16 and "16 tokens per block" in old_notes[0]
    runs, _ = parse_bench(text("llama_bench_rtx4080_qwen25_7b.json"), "bench.json")
    result = fit_runs(rtx4080_plan(), [*runs, kv.__class__("kv", "vLLM log", "boot.log:2", 30000.0)])
    checked = next(r for r in result.results if r.run.kind == "kv")
    assert checked.before == checked.after  # the speed factors leave the memory model alone
    assert result.factor.runs == 2 and result.error_after < result.error_before
