"""A stand-in performance estimate for chart tests, made of round numbers (not the model's output).

The charts only draw what a report carries; these tests check the drawing, not the estimate.
"""

from __future__ import annotations

from gpuplanner.core.report import (
    Bottleneck,
    CurvePoint,
    LinkTraffic,
    PerformanceReport,
    Report,
    Speeds,
    StepSplit,
)


def with_performance(report: Report, concurrency: int = 16, saturation: int = 64) -> Report:
    """``report`` with a made-up performance part: throughput 100·c tokens/s up to ``saturation``."""
    curve = []
    c = 1
    while c <= 256:
        total = 100.0 * min(c, saturation)
        curve.append(
            CurvePoint(
                concurrency=c,
                output_tokens_per_s=total,
                tokens_per_s_per_user=total / c,
                low_output_tokens_per_s=0.8 * total,
                high_output_tokens_per_s=1.1 * total,
            )
        )
        c *= 2
    speeds = Speeds(
        ttft_s=0.25,
        tpot_s=0.01,
        tokens_per_s_per_user=100.0,
        output_tokens_per_s=100.0 * concurrency,
        prefill_tokens_per_s=20000.0,
    )
    split = tuple(
        StepSplit(
            gpu=g.id,
            compute_s=0.002,
            memory_s=0.005 + 0.001 * g.stage,
            communication_s=0.001,
            waiting_s=0.0005 * g.stage,
        )
        for g in report.gpus
    )
    links = (
        LinkTraffic(
            name="NVSwitch (n0)",
            link="nvswitch-nvlink4",
            gpus=tuple(g.id for g in report.gpus[:2]),
            purpose="tensor parallel",
            bytes_per_token=16384.0,
            share_of_bandwidth=0.35,
        ),
    )
    limit = Bottleneck(kind="weights_bandwidth", gpu="H100", share=0.8, step="decode step")
    perf = PerformanceReport(
        concurrency=concurrency,
        input_tokens=2048,
        output_tokens=512,
        ttft_s=0.25,
        tpot_s=0.01,
        tokens_per_s_per_user=100.0,
        output_tokens_per_s=100.0 * min(concurrency, saturation),
        prefill_tokens_per_s=20000.0,
        bottleneck=limit.sentence,
        bottleneck_detail=limit,
        low=speeds,
        high=speeds,
        step_split=split,
        links=links,
        curve=tuple(curve),
        saturation_concurrency=saturation,
    )
    return report.model_copy(update={"performance": perf})
