"""The report's fast assembly: what ``evaluate`` builds without validation must be what validation
would have built."""

from __future__ import annotations

from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.report import GpuReport, Report, StepSplit


def test_assembled_parts_equal_validated_ones_and_round_trip_through_json():
    cat = default_catalog()
    report = evaluate(
        quick_plan(model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", tp=4, pp=2, catalog=cat), cat
    )
    assert report.performance is not None
    for part in report.gpus:
        again = GpuReport.model_validate(part.model_dump())
        assert again == part and again.model_fields_set == part.model_fields_set
    for split in report.performance.step_split:
        assert StepSplit.model_validate(split.model_dump()) == split
    # the public JSON form validates back into the same report
    assert Report.model_validate(report.to_json_dict()) == report
    # frozen like a validated model
    try:
        report.gpus[0].id = "x"  # type: ignore[misc]
    except Exception as exc:
        assert "frozen" in str(exc).lower()
    else:
        raise AssertionError("an assembled report part must be immutable")


def test_the_bottleneck_sentence_is_made_from_its_value():
    from gpuplanner.core.report import Bottleneck

    tp = Bottleneck(
        kind="tensor_parallel",
        gpu="H100",
        link="PCIe g0-g1",
        share=0.424,
        step="decode step",
        notes=("pipeline stage 2 is the slowest",),
    )
    assert tp.what == "PCIe g0-g1 (tensor-parallel all-reduce)"
    assert (
        tp.sentence
        == "PCIe g0-g1 (tensor-parallel all-reduce): 42% of a decode step; pipeline stage 2 is the slowest"
    )
    matmuls = Bottleneck(
        kind="tensor_compute", gpu="L40S", dtype="FP8", share=0.9, step="512-token prefill chunk"
    )
    assert matmuls.sentence == "tensor throughput of L40S (FP8) in matmuls: 90% of a 512-token prefill chunk"


def test_the_json_report_keeps_the_bottleneck_sentence_and_adds_its_value():
    from gpuplanner.core.evaluate import evaluate
    from gpuplanner.document.planfile import load_plan
    from gpuplanner.paths import examples_dir

    report = evaluate(load_plan(examples_dir() / "2x-dgx-h100-llama-3.1-405b-tp8-pp2.gpuplan"))
    perf = report.to_json_dict()["performance"]
    assert perf["bottleneck"] == report.performance.bottleneck_detail.sentence
    assert set(perf["bottleneck_detail"]) == {"kind", "gpu", "dtype", "link", "share", "step", "notes"}
    assert "pipeline stage" in " ".join(perf["bottleneck_detail"]["notes"])
