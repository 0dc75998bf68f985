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
