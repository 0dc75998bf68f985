"""Which published measurements a speed rests on, and where it extrapolates (core.measurements and
core.coverage).

Rows are read from catalogs/measurements.csv as published (sources in the file). Tests that need a
fixed set of rows use the rows below M300 (the ones there before the MoE / workstation additions), so
new measurements cannot silently change what they check.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gpuplanner import paths
from gpuplanner.core import calibration as calib
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.coverage import coverage, coverage_line, plan_profile
from gpuplanner.core.evaluate import evaluate, evaluate_resolved
from gpuplanner.core.fit import fit_memory
from gpuplanner.core.measurements import classify_row, match_gpu, speed_rows
from gpuplanner.core.perf import estimate_performance
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.report import Report
from gpuplanner.core.resolve import resolve_plan

COLUMNS = "id,source,engine,model,params_b,precision,gpu,n_gpus,interconnect,tp,pp,batch,isl,osl,metric,value,unit,notes"


def published() -> dict[str, dict[str, str]]:
    with paths.measurements_csv().open(encoding="utf-8") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def cat():
    return default_catalog()


@pytest.fixture(scope="module")
def first_rows(tmp_path_factory) -> Path:
    """The published rows M001-M299 alone."""
    path = tmp_path_factory.mktemp("measurements") / "measurements.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS.split(","), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(row for key, row in published().items() if int(key[1:]) < 300)
    return path


@pytest.fixture
def frozen_rows(monkeypatch, first_rows):
    monkeypatch.setattr(paths, "measurements_csv", lambda: first_rows)
    return first_rows


def resolved(cat, **quick):
    return resolve_plan(quick_plan(catalog=cat, **quick), cat)


# A dense model in FP8 on four H100 with TensorRT-LLM, batched: what rows M009-M016 measured.
HOPPER_TRT = dict(
    model="meta-llama/Llama-2-70b-hf", gpu="h100-sxm", tp=4, weights="fp8", engine="trtllm", concurrency=64
)
# An MoE model (gpt-oss-20b: 32 experts, 4 per token) in 4-bit GGUF on one RTX 4090 with llama.cpp.
GEFORCE_MOE = dict(model="openai/gpt-oss-20b", gpu="rtx-4090", tp=1, weights="gguf-q4_k_m", engine="llamacpp")


def test_published_rows_are_classified_as_the_file_states_them(cat):
    rows = published()
    # M001: GPT-J 6B, TensorRT-LLM v0.6.1, FP8, one H100 SXM5, batch 1024
    m001 = classify_row(rows["M001"], cat).profile
    assert (sorted(m001.family), m001.engine, m001.moe, m001.parallel, m001.regime, m001.precision) == (
        ["hopper"], "trtllm", "dense", "single", "batched", "8-bit"
    )  # fmt: skip
    # M038: Llama-2-70B (the TTFT table), FP16 on four A100 at TP 4, batch 1
    m038 = classify_row(rows["M038"], cat).profile
    assert (sorted(m038.family), m038.parallel, m038.regime, m038.precision) == (
        ["ampere"], "tp", "single-stream", "16-bit"
    )  # fmt: skip
    # memory log lines and collective microbenchmarks are not speeds
    assert classify_row(rows["M218"], cat) is None and classify_row(rows["M112"], cat) is None


def test_no_row_is_invented(first_rows):
    rows = published()
    classified = speed_rows(first_rows)
    assert {r.id for r in classified} == {f"M{i:03d}" for i in range(1, 42)}  # the TRT-LLM tables
    assert all(r.id in rows and r.source == rows[r.id]["source"] for r in classified)


def test_gpu_names_as_the_file_writes_them(cat):
    assert match_gpu("H100 80GB HBM3 SXM (Azure ND H100 v5)", cat) == "h100-sxm"
    assert match_gpu("H100 PCIe 80GB", cat) == "h100-pcie"
    assert match_gpu("A100-SXM4-80GB (Azure ND A100 v4)", cat) == "a100-80gb-sxm"
    assert match_gpu("GB200 185GB (Azure ND GB200 v6, 4 GPUs/host)", cat) == "gb200"
    assert match_gpu("RTX 3090 24GB", cat) == "rtx-3090"
    assert match_gpu("A10 24GB", cat) == "a10"  # not the A100
    assert match_gpu("Radeon VII 16GB", cat) is None


def test_gpu_matching_is_the_longest_name_the_words_start_with(cat):
    """match_gpu looks the name's word prefixes up; on every GPU name of the published file it finds
    what its definition says: the longest catalog name or alias the (normalised) words start with."""
    from gpuplanner.core.measurements import _known_gpus, _words

    known = _known_gpus(cat)
    names = {row["gpu"] for row in published().values()} | {"", "NVIDIA", "H100"}
    for name in names:
        words = _words(name)
        for vendor in ("nvidia ", "amd ", "intel ", "geforce ", "instinct "):
            if words.startswith(vendor):
                words = words[len(vendor):]
                break
        hits = [n for n in known if n and (words == n or words.startswith(n + " "))]
        expected = known[max(hits, key=len)] if hits else None
        assert match_gpu(name, cat, known) == expected, name


def test_new_metrics_and_missing_fields_are_read_without_guessing(cat, tmp_path):
    lines = [
        COLUMNS,
        "M300,a blog,Ollama 0.5.7,Qwen3-30B-A3B,30.5,,Radeon VII 16GB,2,,,,,512,128,decode_tokens_per_s,40,tok/s,",
        "M301,a repo,vLLM 0.8.5 (bench serve),Llama-3.1-8B-Instruct,8,BF16 weights / FP8 KV,RTX 4090,1,"
        "n/a,1,1,,1024,256,mean_tpot_ms,21,ms,max_concurrency 16",
        "M302,a repo,vLLM,Llama-3.1-8B-Instruct,8,BF16,RTX 4090,1,n/a,1,1,,,,kv_cache_memory_per_gpu,9,GiB,",
        "M303,a post,llama.cpp b4500 (llama-bench),Llama-3.1-70B,70.6,4-bit GGUF Q4_K_M,RTX 3090 24GB,2,"
        "PCIe 4.0,,,1,512,128,output_throughput,17,tok/s,split mode not stated",
        "M304,a paper,SGLang 0.4,DeepSeek-V3,671,16-bit (BF16),H100 80GB SXM,16,InfiniBand NDR,8,2,32,"
        "1000,1000,output_throughput,2000,tok/s,",
    ]
    path = tmp_path / "measurements.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ollama, vllm, llamacpp, sglang = speed_rows(path)
    assert (ollama.id, vllm.id) == ("M300", "M301")  # the memory row M302 is not a speed
    p = ollama.profile
    assert (sorted(p.family), p.engine, p.moe, p.parallel, p.regime, p.precision) == (
        ["unknown"], "ollama", "moe", "unknown", "unknown", "unknown"
    )  # fmt: skip
    q = vllm.profile
    assert (sorted(q.family), q.engine, q.moe, q.parallel, q.regime, q.precision) == (
        ["nvidia-gddr"], "vllm", "dense", "single", "batched", "16-bit"
    )  # fmt: skip
    r = llamacpp.profile  # two GPUs, split not stated: no parallel kind is credited
    assert (r.engine, r.parallel, r.regime, r.precision) == ("llamacpp", "unknown", "single-stream", "4-bit")
    t = sglang.profile  # 16 GPUs over InfiniBand at TP 8 x PP 2
    assert (sorted(t.family), t.engine, t.moe, t.parallel, t.precision) == (
        ["hopper"], "sglang", "moe", "pp-nodes", "16-bit"
    )  # fmt: skip


def test_a_plan_inside_the_measured_range_is_not_extrapolated(cat, frozen_rows):
    plan = resolved(cat, **HOPPER_TRT)
    raw = estimate_performance(plan, fit_memory(plan))
    perf = evaluate_resolved(plan).performance
    assert perf.extrapolated.value is False and perf.extrapolated.reasons == ()
    assert {"M009", "M016", "M030"} <= set(perf.calibrated_on.rows)  # TRT-LLM on H100
    assert not any(int(r[1:]) >= 17 and int(r[1:]) <= 29 for r in perf.calibrated_on.rows)  # not the A100s
    assert perf.calibrated_on.sources == 1  # one TensorRT-LLM document
    assert "TensorRT-LLM on Hopper" in perf.calibrated_on.summary
    assert (perf.low, perf.high) == (raw.low, raw.high)  # the band is left as it was
    assert coverage_line(perf).endswith("inside their range")


def test_moe_on_geforce_with_llamacpp_is_extrapolated_and_says_why(cat, frozen_rows):
    perf = evaluate_resolved(resolved(cat, **GEFORCE_MOE)).performance
    ext = perf.extrapolated
    assert ext.value
    assert any("GeForce" in r for r in ext.reasons)
    assert any("MoE" in r for r in ext.reasons)
    assert any("llama.cpp" in r for r in ext.reasons)
    assert not any("single GPU" in r for r in ext.reasons)  # M030, M031, M036, M037 ran on one GPU
    # no run on the family with the engine: the closest rows, said so
    assert perf.calibrated_on.rows and "closest" in perf.calibrated_on.summary
    assert "extrapolated" in coverage_line(perf) and "GeForce" in coverage_line(perf)


def test_the_band_is_wider_by_the_calibrated_amounts_when_extrapolated(cat, frozen_rows):
    plan = resolved(cat, **GEFORCE_MOE)
    raw = estimate_performance(plan, fit_memory(plan))
    perf = evaluate_resolved(plan).performance
    ext = perf.extrapolated
    table = calib.calibration().coverage
    missing = ("family", "engine", "moe", "precision")
    assert ext.low_widening == pytest.approx(min(table.cap, sum(getattr(table, d) for d in missing)))
    assert ext.high_widening == pytest.approx(ext.low_widening * table.upward)
    assert perf.low.tpot_s == pytest.approx(raw.low.tpot_s / (1 - ext.low_widening))
    assert perf.high.output_tokens_per_s == pytest.approx(
        raw.high.output_tokens_per_s * (1 + ext.high_widening)
    )
    assert perf.low.ttft_s > raw.low.ttft_s and perf.high.ttft_s < raw.high.ttft_s
    for wide, narrow in zip(perf.curve, raw.curve, strict=True):
        assert wide.low_output_tokens_per_s < narrow.low_output_tokens_per_s
        assert wide.high_output_tokens_per_s > narrow.high_output_tokens_per_s
        assert wide.output_tokens_per_s == narrow.output_tokens_per_s  # the estimate itself stays
        assert wide.ttft_s == narrow.ttft_s is not None  # and every point keeps its TTFT
    assert (perf.tpot_s, perf.ttft_s) == (raw.tpot_s, raw.ttft_s)


def test_the_widening_follows_the_calibration_in_use(cat, frozen_rows):
    plan = resolved(cat, **GEFORCE_MOE)
    base = calib.calibration()
    try:
        calib.use_calibration(
            base.model_copy(update={"coverage": base.coverage.model_copy(update={"cap": 0.0})})
        )
        perf = evaluate_resolved(plan).performance
    finally:
        calib.use_calibration(None)
    raw = estimate_performance(plan, fit_memory(plan))
    assert perf.extrapolated.value and perf.extrapolated.low_widening == 0
    assert (perf.low, perf.high) == (raw.low, raw.high)


def test_a_mixed_rig_counts_its_unmeasured_family(cat, frozen_rows):
    plan = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="rtx-4090", tp=1, pp=2, catalog=cat)
    node = plan.rig.nodes[0]
    gpus = (node.gpus[0], node.gpus[1].model_copy(update={"gpu": "a100-80gb-pcie"}))
    rig = plan.rig.model_copy(update={"nodes": (node.model_copy(update={"gpus": gpus}),)})
    perf = evaluate(plan.model_copy(update={"rig": rig}), cat).performance
    # the A100 family has rows, the RTX 4090's has none: still an extrapolation, and said so
    assert perf.extrapolated.reasons[0] == "no published speed measurement on GeForce/GDDR cards"
    assert "no published measurement of vLLM on Ampere" in perf.extrapolated.reasons


def test_coverage_is_cached_by_dimensions_not_by_plan_object(cat, first_rows):
    a = plan_profile(resolved(cat, **HOPPER_TRT), 64)
    b = plan_profile(resolved(cat, **HOPPER_TRT), 32)  # another plan object, same dimensions
    assert a == b and a is not b
    assert coverage(a, first_rows) is coverage(b, first_rows)
    single = plan_profile(resolved(cat, **HOPPER_TRT), 1)
    assert single.regime == "single-stream" and coverage(single, first_rows) is not coverage(a, first_rows)


def test_without_a_measurements_file_everything_is_extrapolated(cat, tmp_path):
    found = coverage(plan_profile(resolved(cat, **HOPPER_TRT), 64), tmp_path / "none.csv")
    assert found.calibrated_on.rows == () and found.calibrated_on.sources == 0
    assert set(found.missing) == {"family", "engine", "moe", "parallel", "regime", "precision"}


def test_json_report_carries_calibrated_on_and_extrapolated(cat, frozen_rows):
    report = evaluate(quick_plan(catalog=cat, **GEFORCE_MOE), cat)
    perf = report.to_json_dict()["performance"]
    assert set(perf["calibrated_on"]) == {"rows", "sources", "summary", "user", "user_points"}
    assert perf["calibrated_on"]["user"] is None  # no calibration of the user's own (gpuplanner calibrate)
    assert perf["calibrated_on"]["rows"] == list(report.performance.calibrated_on.rows)
    assert perf["extrapolated"]["value"] is True and perf["extrapolated"]["reasons"]
    assert {"low", "high", "curve", "bottleneck"} <= set(perf)  # the old keys stay
    assert Report.model_validate(report.to_json_dict()) == report


def test_a_stated_degree_with_the_other_left_empty_counts_as_one(cat):
    row = {
        "id": "M305",
        "engine": "vLLM",
        "model": "Llama-3.1-70B",
        "precision": "FP8",
        "gpu": "H200 141GB SXM",
    }
    row["n_gpus"] = "8"
    assert classify_row({**row, "metric": "output_throughput", "tp": "8"}, cat).profile.parallel == "tp"
    assert classify_row({**row, "metric": "output_throughput", "pp": "4"}, cat).profile.parallel == "pp"
    assert classify_row({**row, "metric": "output_throughput"}, cat).profile.parallel == "unknown"


def test_command_line_text_says_it_too(cat):
    from gpuplanner.cli.tables import report_text

    plan = quick_plan(catalog=cat, model="mistralai/Mixtral-8x7B-Instruct-v0.1", gpu="gaudi3", tp=1)
    report = evaluate(plan, cat)
    text = report_text(report, plan)
    assert (
        coverage_line(report.performance) in text and "no published speed measurement on Intel Gaudi" in text
    )


def test_a_widened_band_equals_one_built_by_the_validating_constructors(cat):
    """``widen`` assembles its curve points and speeds without validation: each must equal (dump,
    list its set fields and stay frozen like) the one the validating constructor makes."""
    from pydantic import ValidationError

    from gpuplanner.core.coverage import widen
    from gpuplanner.core.report import CurvePoint, Speeds

    plan = quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="h100-sxm", tp=1, concurrency="max", catalog=cat)
    r = resolve_plan(plan, cat)
    perf = estimate_performance(r, fit_memory(r))
    wide = widen(perf, 0.25, 0.5)
    assert len(wide.curve) == len(perf.curve) > 3
    for old, new in zip(perf.curve, wide.curve, strict=True):
        made = CurvePoint(
            concurrency=old.concurrency,
            output_tokens_per_s=old.output_tokens_per_s,
            tokens_per_s_per_user=old.tokens_per_s_per_user,
            low_output_tokens_per_s=old.low_output_tokens_per_s * 0.75,
            high_output_tokens_per_s=old.high_output_tokens_per_s * 1.5,
            ttft_s=old.ttft_s,
        )
        assert new == made and new.model_dump_json() == made.model_dump_json()
        assert new.model_fields_set == made.model_fields_set
    for old, new, factor in ((perf.low, wide.low, 0.75), (perf.high, wide.high, 1.5)):
        made = Speeds(
            ttft_s=old.ttft_s / factor,
            tpot_s=old.tpot_s / factor,
            tokens_per_s_per_user=old.tokens_per_s_per_user * factor,
            output_tokens_per_s=old.output_tokens_per_s * factor,
            prefill_tokens_per_s=old.prefill_tokens_per_s * factor,
        )
        assert new == made and new.model_dump_json() == made.model_dump_json()
        assert new.model_fields_set == made.model_fields_set
    with pytest.raises(ValidationError):
        wide.curve[0].concurrency = 3  # type: ignore[misc]
