"""Published measurements as plans: each speed row of the measurement file becomes the plan that was
measured, and the figure it reports is read from ``evaluate(plan)`` - the estimate the window, the
command line and the PDF show. Rows the model cannot express (a GPU, model or engine outside the
catalog, lengths the source does not give) are listed with the reason and left out.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from gpuplanner import paths
from gpuplanner.core.catalog import Catalog
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.plan import Plan, Workload
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.report import Report

# Speed metrics and the family each is reported in (the three families).
SPEED_METRICS = {
    "decode_tokens_per_s",
    "prefill_tokens_per_s",
    "output_throughput",
    "output_throughput_per_gpu",
    "total_token_throughput",
    "mean_tpot_ms",
    "median_tpot_ms",
    "mean_itl_ms",
    "median_itl_ms",
    "mean_ttft_ms",
    "median_ttft_ms",
    "ttft_first_token_latency",
    "tokens_per_s_per_user",
    "e2e_latency_ms",
    "e2e_latency_s",
}

# (pattern in the row's GPU column, catalog id); first match wins.
GPUS = [
    (r"H200", "h200-sxm"),
    (r"H100 PCIe", "h100-pcie"),
    (r"H100 NVL", "h100-nvl"),
    (r"H100", "h100-sxm"),
    (r"B200", "b200"),
    (r"MI325X", "mi325x"),
    (r"MI300X", "mi300x"),
    (r"A100.*PCIe", "a100-80gb-pcie"),
    (r"A100", "a100-80gb-sxm"),
    (r"\bL4\b", "l4"),
    (r"L40S", "l40s"),
    (r"RTX PRO 6000.*Server", "rtx-pro-6000-blackwell-server"),
    (r"RTX PRO 6000.*Max-Q", "rtx-pro-6000-blackwell-max-q"),
    (r"RTX PRO 6000", "rtx-pro-6000-blackwell"),
    (r"RTX 3090 Ti", "rtx-3090-ti"),
    (r"RTX 3090", "rtx-3090"),
    (r"RTX 4090", "rtx-4090"),
    (r"RTX 5090", "rtx-5090"),
    (r"RTX 5080", "rtx-5080"),
    (r"RTX 5070 Ti", "rtx-5070-ti"),
    (r"RTX A6000", "rtx-a6000"),
    (r"RTX A5000", "rtx-a5000"),
    (r"RTX A4000", "rtx-a4000"),
    (r"RTX 6000 Ada", "rtx-6000-ada"),
    (r"RTX 4080 Super", "rtx-4080-super"),
    (r"RTX 4080", "rtx-4080"),
    (r"4070 Ti Super", "rtx-4070-ti-super"),
    (r"4070 Ti", "rtx-4070-ti"),
    (r"RTX 3080 Ti", "rtx-3080-ti"),
    (r"RTX 3080 12", "rtx-3080-12gb"),
    (r"RTX 3080", "rtx-3080"),
    (r"RTX 3060", "rtx-3060-12gb"),
    (r"2080 Ti", "rtx-2080-ti"),
    (r"P40", "p40"),
    (r"7900 XTX", "rx-7900-xtx"),
]

MODELS = [
    (r"DeepSeek-R1-Distill-Qwen-(7|14|32)B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-\\1B"),
    (r"DeepSeek-R1-Distill-Llama-(8|70)B", "deepseek-ai/DeepSeek-R1-Distill-Llama-\\1B"),
    (r"DeepSeek-R1", "deepseek-ai/DeepSeek-R1"),
    (r"DeepSeek-V3\.1", "deepseek-ai/DeepSeek-V3.1"),
    (r"DeepSeek-V3", "deepseek-ai/DeepSeek-V3"),
    (r"MiniMax-M2\.5", "MiniMaxAI/MiniMax-M2.5"),
    (r"MiniMax-M2\b", "MiniMaxAI/MiniMax-M2"),
    (r"Qwen3-Coder-480B-A35B", "Qwen/Qwen3-Coder-480B-A35B-Instruct"),
    (r"Qwen3-Next-80B-A3B", "Qwen/Qwen3-Next-80B-A3B-Instruct"),
    (r"GLM-4\.6", "zai-org/GLM-4.6"),
    (r"Qwen3-235B", "Qwen/Qwen3-235B-A22B"),
    # Qwen3-Coder-30B-A3B has Qwen3-30B-A3B's shapes (config.json: 48 layers, 128 experts, 8 active)
    (r"Qwen3-(Coder-)?30B-A3B", "Qwen/Qwen3-30B-A3B"),
    (r"gpt-oss-120b", "openai/gpt-oss-120b"),
    (r"gpt-oss-20b", "openai/gpt-oss-20b"),
    (r"Llama-4-Scout", "meta-llama/Llama-4-Scout-17B-16E-Instruct"),
    (r"Llama-4-Maverick", "meta-llama/Llama-4-Maverick-17B-128E-Instruct"),
    (r"Mixtral 8x7B", "mistralai/Mixtral-8x7B-Instruct-v0.1"),
    (r"405B", "meta-llama/Llama-3.1-405B-Instruct"),
    # Llama 3 70B has Llama 3.1 70B's shapes (config.json of both: 80 layers, 8192 hidden, 8 KV heads)
    (r"Llama[- ]3(\.[13])?[- ]70B|Llama-3\.1-70B|Llama 3\.1 70B", "meta-llama/Llama-3.1-70B-Instruct"),
    (r"Llama-2-70B", "meta-llama/Llama-2-70b-hf"),
    (r"QwQ-32B", "Qwen/QwQ-32B"),
    (r"Qwen3-32B", "Qwen/Qwen3-32B"),
    (r"Qwen3-14B", "Qwen/Qwen3-14B"),
    (r"Qwen3-8B", "Qwen/Qwen3-8B"),
    (r"Qwen2\.5-72B", "Qwen/Qwen2.5-72B-Instruct"),
    (r"LLaMA 2 13B", "meta-llama/Llama-2-13b-hf"),
    # Llama 3 8B has Llama 3.1 8B's shapes; CodeLlama 7B has Llama 2 7B's (vocabulary +16 tokens)
    (r"(?i)llama[- ]?3(\.1)?[- ]8B|llama 8B|Llama-3\.1-8B", "meta-llama/Llama-3.1-8B-Instruct"),
    (r"(?i)llama[- ]?2[- ]7B|llama 7B|CodeLlama 7B", "meta-llama/Llama-2-7b-hf"),
    (r"GPT-J", "EleutherAI/gpt-j-6b"),
    (r"Falcon-180B", "tiiuae/falcon-180B"),
]

ENGINES = [
    (r"TensorRT-LLM", "trtllm"),
    (r"SGLang", "sglang"),
    (r"vLLM", "vllm"),
    (r"llama\.cpp", "llamacpp"),
    (r"ExLlama", "exllamav2"),
]

WEIGHTS = [
    (r"GGUF Q4_K_M", "gguf-q4_k_m"),
    (r"GGUF Q4_0", "gguf-q4_0"),
    (r"GGUF Q8_0", "gguf-q8_0"),
    (r"GGUF F16", "fp16"),
    (r"NVFP4", "nvfp4"),
    (r"MXFP4", "mxfp4"),
    (r"AWQ", "awq-int4"),
    (r"GPTQ", "gptq-int4"),
    (r"FP8", "fp8"),
    (r"(?i)int8", "int8"),
    (r"FP16", "fp16"),
]

FP8_KV = re.compile(
    r"(?i)(fp8[_ ]kv|kv[- _]?(cache)?[- _:]*fp8|fp8-kv|weights ?\+ ?kv|KV fp8|--kv-cache-dtype[= ]fp8)"
)
# A single burst of requests whose outputs stop at EOS (no fixed output length): the benchmark's output
# throughput is total tokens over the time until the LONGEST request ends, so it measures the tail of
# the output-length distribution (not stated) as much as the hardware. The same runs' TPOT and TTFT
# are per request and stay. dstack's Llama 3.1 405B on 8 x MI300X (M663-M671): throughput / users is
# 0.53-0.72 of 1 / TPOT in every burst of 4-256, while a steady stream would give ~1.
BURST_EOS = re.compile(
    r"(?i)(all \d+ prompts sent at once|request rate inf).*(output length not fixed|stops on EOS)"
)
BURST_EOS_REASON = "output throughput of one burst with EOS-terminated outputs (set by the longest output)"
# A burst with no concurrency cap (every request sent at once, concurrency "max"): its mean TTFT averages
# the wait of the requests queued behind the running batch, which depends on how many were sent and how
# the batch drains; the model's TTFT is one request's prefill in a full batch, with no queue. gpustack's
# gpt-oss-120b on one A100: mean TTFT 61.91 ms at concurrency 4 (M928), 25,919 ms when all 1,000 ShareGPT
# prompts arrive at once (M898), same server. The same runs' TPOT rows stay.
BURST_TTFT_REASON = (
    "TTFT of a burst with no concurrency cap (requests wait in the queue behind the running batch)"
)
# llama.cpp's Vulkan backend runs prompt matmuls in its own shaders (cooperative-matrix or plain), not
# the CUDA/ROCm matrix-core GEMMs the model times: on an RX 7900 XTX its pp512 is 1,029 tokens/s against
# ROCm's 3,785 on the same card (M752, M756), and ~490 with cooperative matrices on (the same README).
# Token generation reads weights the same way in both (tg128 129 against 126), so decode rows stay.
VULKAN = re.compile(r"(?i)\bvulkan\b")
VULKAN_PREFILL_REASON = "prompt processing on llama.cpp's Vulkan backend (the model times CUDA/ROCm matmuls)"
STATIC = re.compile(r"(?i)static batch|gptSessionBenchmark|benchmark_latency|offline static")


def measurements_file() -> Path:
    """The published measurements (shipped with the catalogs, so the app can cite them)."""
    return paths.measurements_csv()


def read_rows() -> list[dict[str, str]]:
    with measurements_file().open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _match(table: list[tuple[str, str]], text: str) -> str | None:
    for pattern, value in table:
        found = re.search(pattern, text)
        if found:
            return found.expand(value) if "\\" in value else value
    return None


def source_key(row: dict[str, str]) -> str:
    """The publication a row comes from: leave-one-source-out holds out all its rows at once."""
    text = row["source"]
    text = re.split(r" \(comment| @|, comment", text)[0]
    return text.strip()


@dataclass
class Case:
    row: dict[str, str]
    plan: Plan
    metric: str
    measured: float
    family: str
    n_gpus: int
    prompts: int | None = None  # requests a closed-loop benchmark sent in all (its first wave is ``batch``)

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def source(self) -> str:
        return source_key(self.row)

    def predict(self, report: Report) -> float | None:
        perf = report.performance
        if perf is None:
            return None
        w = self.plan.workload
        metric = self.metric
        if metric in ("decode_tokens_per_s", "tokens_per_s_per_user"):
            return perf.tokens_per_s_per_user
        if metric == "prefill_tokens_per_s":
            return perf.prefill_tokens_per_s
        if metric == "output_throughput":
            return perf.output_tokens_per_s
        if metric == "output_throughput_per_gpu":
            return perf.output_tokens_per_s / self.n_gpus
        if metric == "total_token_throughput":
            return perf.output_tokens_per_s * (w.input_tokens + w.output_tokens) / w.output_tokens
        if metric.endswith(("tpot_ms", "itl_ms")):
            return perf.tpot_s * 1e3
        if metric == "mean_ttft_ms" and self.first_wave(perf.concurrency):
            # a closed-loop benchmark starts with all its users' prompts at once: the mean over its
            # requests is that first wave's mean TTFT for ``concurrency`` of them, steady TTFT after
            n, total = perf.concurrency, self.prompts or 0
            burst = perf.ttft_burst_s if perf.ttft_burst_s is not None else perf.ttft_s
            return (n * burst + (total - n) * perf.ttft_s) / total * 1e3
        if metric.endswith("ttft_ms") or metric == "ttft_first_token_latency":
            return perf.ttft_s * 1e3
        if metric.startswith("e2e_latency"):
            seconds = perf.ttft_s + (w.output_tokens - 1) * perf.tpot_s
            return seconds * (1e3 if metric.endswith("_ms") else 1.0)
        return None

    def first_wave(self, concurrency: int) -> bool:
        """Whether the benchmark sent more requests than users (so its mean counts a first wave)."""
        w = self.plan.workload
        return (
            self.prompts is not None
            and isinstance(w.concurrency, int)
            and w.batching == "continuous"
            and 1 < concurrency < self.prompts
        )


def prompts_from_notes(notes: str) -> int | None:
    """How many requests a serving benchmark sent (``--num-prompts N``, or its count of successful
    requests)."""
    found = re.search(r"(?i)num[-_]prompts[= ](\d+)", notes) or re.search(
        r"(?i)(\d+) successful requests|successful requests:? (\d+)", notes
    )
    if found is None:
        return None
    return int(next(g for g in found.groups() if g))


def family_of(metric: str, concurrency: int | str) -> str:
    one = concurrency == 1
    if metric in ("prefill_tokens_per_s", "ttft_first_token_latency") or "ttft" in metric:
        return "TTFT"
    if metric == "decode_tokens_per_s" or (one and metric not in ("output_throughput_per_gpu",)):
        return "single-stream decode"
    return "batched/served throughput"


def lengths_from_notes(notes: str) -> tuple[int, int] | None:
    """Mean prompt and output lengths a benchmark's notes state: token totals over the request count
    (ShareGPT or uniform-random lengths), or fixed lengths from the benchmark's command line."""
    totals = re.search(
        r"(?i)(?:total input |\b)(\d+) (?:input )?/ (?:generated )?(\d+)(?: generated)?", notes
    )
    count = re.search(r"(?i)(\d+) (?:successful )?(?:requests|prompts)\b|--num-prompts? (\d+)", notes)
    if totals and count:
        n = int(count.group(1) or count.group(2))
        return round(int(totals.group(1)) / n), round(int(totals.group(2)) / n)
    fixed = re.search(
        r"--random-input(?:-len)? (\d+) --random-output(?:-len)? (\d+) --random-range-ratio 1\b", notes
    )
    fixed = fixed or re.search(r"--input-len (\d+) --output-len (\d+)", notes)
    fixed = fixed or re.search(r"\b(\d+)_(\d+)_\d+\.jsonl", notes)
    if fixed:
        return int(fixed.group(1)), int(fixed.group(2))
    return None


def _int(text: str) -> int | None:
    text = text.strip()
    return int(float(text)) if text and re.fullmatch(r"[0-9.]+", text) else None


# A llama.cpp row names its build ("build 1786", "b7356") or only its time. Builds of December 2023 to
# May 2024 (and any built with the LLAMA_CUBLAS flag, renamed GGML_CUDA in mid-2024) predate PR #8075
# (2024-06-24, MMQ by default): they stand for "a build before it" as b3000.
_BUILD = re.compile(r"\bbuild (\d{3,5})\b|\bb(\d{3,5})\b")
_BEFORE_MMQ = re.compile(r"LLAMA_CUBLAS|\b(?:Dec(?:ember)? 2023|(?:Jan|Feb|Mar|Apr|May)\w* 2024)\b")


def llamacpp_build(engine_text: str) -> str | None:
    """The llama.cpp build a row's engine text names, as a version ('b1786'), else None."""
    found = _BUILD.search(engine_text)
    if found:
        return f"b{found.group(1) or found.group(2)}"
    return "b3000" if _BEFORE_MMQ.search(engine_text) else None


def build_case(row: dict[str, str], catalog: Catalog) -> Case | str:
    """The plan a row measured, or the reason the model cannot express it."""
    metric = row["metric"]
    if metric not in SPEED_METRICS:
        return "not a speed metric"
    gpu = _match(GPUS, row["gpu"])
    model = _match(MODELS, row["model"])
    engine = _match(ENGINES, row["engine"].split("(")[0]) or _match(ENGINES, row["engine"])
    if gpu is None or gpu not in catalog.gpus:
        return f"GPU '{row['gpu']}' not in the catalog"
    if model is None:
        return f"model '{row['model']}' not in the catalog"
    try:
        catalog.model(model)
    except PlannerError:
        return f"model '{model}' not in the catalog"
    if engine is None:
        return f"engine '{row['engine']}' not in the catalog"
    if engine == "llamacpp" and metric == "prefill_tokens_per_s" and VULKAN.search(row["engine"]):
        return VULKAN_PREFILL_REASON
    text = " ".join((row["precision"], row["model"]))
    if re.search(r"(?i)exl2|\bbpw\b|\d(\.\d)? ?bpw", text):
        return "weight format (EXL2) not in the catalog"
    weights = _match(WEIGHTS, text) or "bf16"
    eng = catalog.engine(engine)
    if weights not in eng.weight_precisions:
        return f"{eng.name} does not load {weights}"
    everything = " ".join((row["precision"], row["notes"], row["engine"]))
    kv = "fp8" if FP8_KV.search(everything) and "fp8" in eng.kv_precisions else None
    if kv is None:
        kv = "fp16" if weights.startswith("gguf") or weights == "fp16" else "bf16"
        if kv not in eng.kv_precisions:
            kv = eng.kv_precisions[0]
    n = _int(row["n_gpus"]) or 1
    tp, pp = _int(row["tp"]), _int(row["pp"]) or 1
    ep_match = re.search(r"\bEP\s*=?\s*(\d+)", everything)
    ep = int(ep_match.group(1)) if ep_match else 1
    if tp is None:
        tp, pp = (1, n) if engine == "llamacpp" else (n // pp, pp)
    if re.search(r"(?i)(?<!no )(dp[- _]attention|attention[- _]dp)", everything):
        tp, pp, ep = 1, 1, max(ep, n)  # attention data-parallel on every GPU, experts spread over all
    dp = max(1, n // (tp * pp))
    isl, osl = _int(row["isl"]), _int(row["osl"])
    if isl is None or osl is None:
        isl, osl = lengths_from_notes(row["notes"]) or (isl, osl)
    if metric == "decode_tokens_per_s" and isl is None:
        isl, osl = 1, osl or 128  # llama-bench's tg128 from an empty context
    if metric == "prefill_tokens_per_s" and osl is None and isl is not None:
        osl = 1
    if isl is None or osl is None:
        return "input/output lengths not stated"
    isl, osl = max(isl, 1), max(osl, 1)  # llama-bench tg128 starts from an empty context
    batch = _int(row["batch"])
    if BURST_EOS.search(row["notes"]) and metric == "output_throughput" and (batch or 2) > 1:
        return BURST_EOS_REASON
    if batch is None:
        if not re.search(r"(?i)rate inf|all at once|no max concurrency|submitted at once", everything):
            return "no concurrency stated"
        concurrency: int | str = "max"
    else:
        concurrency = batch
    if metric in ("decode_tokens_per_s", "prefill_tokens_per_s", "ttft_first_token_latency"):
        concurrency = 1
    if concurrency == "max" and metric.endswith("ttft_ms"):
        return BURST_TTFT_REASON
    try:
        plan = quick_plan(
            model=model,
            gpu=gpu,
            gpus_per_node=n,
            tp=tp,
            pp=pp,
            dp=dp,
            ep=ep,
            weights=weights,
            kv_cache=kv,
            engine=engine,
            concurrency=concurrency,  # type: ignore[arg-type]
            input_tokens=isl,
            output_tokens=osl,
            catalog=catalog,
        )
    except (PlannerError, ValueError) as exc:
        return f"cannot build the plan: {str(exc).splitlines()[0]}"
    version = re.search(r"\bv?(\d+\.\d+(?:\.\d+)?)", row["engine"].split("(")[0]) or re.search(
        r"\bv(\d+\.\d+(?:\.\d+)?)", row["engine"]
    )
    build = llamacpp_build(row["engine"]) if engine == "llamacpp" else None
    if (version and engine != "llamacpp") or build:
        plan = plan.model_copy(
            update={"engine": plan.engine.model_copy(update={"version": build or version.group(1)})}
        )
    if STATIC.search(everything):
        plan = plan.model_copy(
            update={"workload": Workload(**{**plan.workload.model_dump(), "batching": "static"})}
        )
    seqs = re.search(r"--max-num-seqs[= ](\d+)", everything)
    if seqs:
        plan = plan.model_copy(
            update={"engine": plan.engine.model_copy(update={"max_num_seqs": int(seqs.group(1))})}
        )
    if re.search(r"enforce[-_]eager", everything):
        plan = plan.model_copy(update={"engine": plan.engine.model_copy(update={"enforce_eager": True})})
    if metric == "output_throughput" and "NOT labelled per-GPU" in row["notes"]:
        metric = "output_throughput_per_gpu"  # TensorRT-LLM v0.6.1's A100 table: read as per GPU (see MEASUREMENTS.md)
    value = float(row["value"])
    if row["unit"].strip() in ("ms",) and metric.endswith("_s"):
        value /= 1e3
    prompts = prompts_from_notes(row["notes"]) if isinstance(concurrency, int) else None
    return Case(row, plan, metric, value, family_of(metric, concurrency), n, prompts)
