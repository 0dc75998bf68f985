"""benchmarks/accuracy_rows.py and accuracy.py: which published rows the model is judged on, and the
bounds of the constants fitted on them."""

from __future__ import annotations

import csv

from benchmarks.accuracy import GDDR_MEMORY_MAX, PARAMS
from benchmarks.accuracy_rows import (
    BURST_EOS_REASON,
    BURST_TTFT_REASON,
    VULKAN_PREFILL_REASON,
    Case,
    build_case,
    read_rows,
)
from gpuplanner import paths
from gpuplanner.core.calibration import load_calibration
from gpuplanner.core.catalog import default_catalog


def _rows() -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in read_rows()}


def test_one_burst_with_eos_outputs_is_judged_by_tpot_and_ttft_not_by_throughput() -> None:
    """dstack's Llama 3.1 405B runs on 8 x MI300X sent every prompt at once and let outputs stop at EOS:
    their output throughput is total tokens over the time until the longest request ends. The rows
    themselves show it is not a steady stream: throughput per user is well under 1 / TPOT in every
    burst (M663/M664 at 4 users ... M671/M672 at 256), so those throughput rows are left out and the
    same runs' TPOT rows kept."""
    rows, cat = _rows(), default_catalog()
    pairs = (("M663", "M664"), ("M665", "M666"), ("M667", "M668"), ("M669", "M670"), ("M671", "M672"))
    for throughput, tpot in pairs:
        users = int(rows[throughput]["batch"])
        per_user = float(rows[throughput]["value"]) / users
        assert per_user < 0.75 * 1e3 / float(rows[tpot]["value"]), throughput
        assert build_case(rows[throughput], cat) == BURST_EOS_REASON
        assert isinstance(build_case(rows[tpot], cat), Case)
    # one request: its throughput is its own output over its own time, no tail of other requests
    assert isinstance(build_case(rows["M660"], cat), Case)


def test_gddr_memory_efficiency_stays_within_what_stream_benchmarks_reach() -> None:
    """No memory in the data set streams above ~0.9 of its datasheet peak: BabelStream copy and triad
    on H100 SXM (3.35 TB/s) and H200 (4.8 TB/s) reach 0.835-0.887 (M090, M091, M093, M094). The GDDR
    efficiency fitted from end-to-end rows may not exceed that (plus a little)."""
    peaks = {"M090": 3350, "M091": 3350, "M093": 4800, "M094": 4800}  # GB/s, datasheets
    with (paths.catalogs_dir() / "measurements.csv").open(encoding="utf-8") as f:
        best = max(
            float(r["value"]) * 1000 / peaks[r["id"]]  # TB/s
            for r in csv.DictReader(f)
            if r["id"] in peaks
        )
    assert 0.8 < best < 0.9
    param = next(p for p in PARAMS if p.name == "efficiency.memory.nvidia-gddr.efficiency")
    assert param.high == GDDR_MEMORY_MAX <= best + 0.02
    assert load_calibration().efficiency.memory["nvidia-gddr"].efficiency <= GDDR_MEMORY_MAX


def test_llamacpp_rows_carry_their_build() -> None:
    """A llama.cpp row's build decides whether prompt matmuls dequantise first (before PR #8075, June
    2024): a named build is kept, a dated or LLAMA_CUBLAS-flagged one stands for an early-2024 build."""
    from benchmarks.accuracy_rows import llamacpp_build
    from gpuplanner.core.calibration import version_key

    assert llamacpp_build("llama.cpp build 1786 (32d9f7d9) (CUDA) (llama-bench)") == "b1786"
    assert llamacpp_build("llama.cpp b7356 (34ce48d97), Vulkan/RADV Mesa 25.3.1 (llama-bench)") == "b7356"
    assert llamacpp_build("llama.cpp master, Jan 2024 (CUDA) (llama-bench)") == "b3000"
    assert llamacpp_build("llama.cpp (CUDA, LLAMA_CUBLAS build; llama-bench)") == "b3000"
    assert llamacpp_build("llama.cpp (HIP/ROCm, 2026 master) (llama-bench)") is None
    assert version_key("b3000") < version_key("b3216") < version_key("b9893")


def test_ttft_of_an_uncapped_burst_is_queueing_and_left_out_but_its_tpot_stays() -> None:
    """gpustack's gpt-oss-120b on one A100 (performance-lab/gpt-oss-120b/a100.md), one vLLM server: mean
    TTFT 61.91 ms with at most 4 ShareGPT requests in flight (M928) and 25,919 ms when all 1,000 arrive
    at once (M898). The burst's mean is the wait behind the running batch, which the model's TTFT (one
    request's prefill) does not hold; so that row is left out, and the burst's TPOT row and the capped
    run's TTFT row stay."""
    rows, cat = _rows(), default_catalog()
    burst, capped = rows["M898"], rows["M928"]
    assert burst["metric"] == capped["metric"] == "mean_ttft_ms" and burst["batch"] == ""
    assert float(burst["value"]) > 100 * float(capped["value"])
    assert build_case(burst, cat) == BURST_TTFT_REASON
    assert isinstance(build_case(capped, cat), Case)
    tpot = build_case(rows["M899"], cat)
    assert isinstance(tpot, Case) and tpot.metric == "mean_tpot_ms"
    assert tpot.plan.workload.concurrency == "max"


def test_vulkan_prompt_rows_are_not_judged_as_cuda_or_rocm_but_its_decode_rows_are() -> None:
    """1337hero/rx7900xtx-llama-bench-vulcan (README, 'Vulkan vs ROCm Comparison'): on one RX 7900 XTX
    llama.cpp's Vulkan backend processes a 512-token prompt at 1,029 tokens/s and its ROCm build at
    3,785, while token generation is 129 against 126. The model times prompt matmuls as the CUDA/ROCm
    builds run them, so the Vulkan prompt rows are left out with that reason; generation rows stay, and
    a tg128 row that states only its 128 output tokens starts from an empty context (llama-bench)."""
    rows, cat = _rows(), default_catalog()
    assert build_case(rows["M752"], cat) == VULKAN_PREFILL_REASON
    assert build_case(rows["M754"], cat) == VULKAN_PREFILL_REASON
    assert isinstance(build_case(rows["M756"], cat), Case)  # ROCm prompt row
    for rid in ("M753", "M755", "M757"):
        case = build_case(rows[rid], cat)
        assert isinstance(case, Case), rid
        assert (case.plan.workload.input_tokens, case.plan.workload.output_tokens) == (1, 128)


def test_a_closed_loop_benchmarks_mean_ttft_counts_its_first_wave() -> None:
    """sgl-cookbook's DeepSeek-R1 runs on 8 x B200 sent 320 prompts through 64 places
    (``--num-prompts 320 --max-concurrency 64``): the first 64 arrive together, so the published mean
    TTFT (M862) is a fifth first wave and four fifths steady stream; the row is judged that way."""
    from gpuplanner.core.evaluate import evaluate

    rows, cat = _rows(), default_catalog()
    case = build_case(rows["M862"], cat)
    assert isinstance(case, Case)
    assert case.prompts == 320
    perf = evaluate(case.plan).performance
    assert perf is not None and perf.ttft_burst_s is not None
    assert case.first_wave(perf.concurrency)
    expected = (64 * perf.ttft_burst_s + 256 * perf.ttft_s) / 320 * 1e3
    assert case.predict(evaluate(case.plan)) == expected
    # one user at a time: no wave
    single = build_case(rows["M611"], cat)
    assert isinstance(single, Case)
    single_perf = evaluate(single.plan).performance
    assert single_perf is not None and not single.first_wave(single_perf.concurrency)
