"""Predicted vs measured for every row of catalogs/measurements.csv the model can express.

    .venv/bin/python benchmarks/accuracy.py

Families: batched throughput (TensorRT-LLM static-batching tables, M001-M029), TTFT (M030-M041),
memory (vLLM log lines, M218-M224) and collectives (nccl-tests, p2p). There is no single-stream
decode row in the data set (every throughput row is at batch 48 or more), so that family is empty.

Train / report separation:
- REPORT rows (never used to set a constant): M001-M029, the ISL-2048 TTFT rows (M031, M033, M035,
  M037, M039, M041) and M218-M224. Their errors are the honest figures.
- TRAIN rows, shown but left out of the statistics: the ISL-128 TTFT rows (M030, M032, M034, M036,
  M038, M040) set TensorRT-LLM's per-request cost in catalogs/calibration.toml; the collective rows
  are the training set of the collective constants (in-sample).
Traps handled: the H100 table is per GPU (total / GPUs); the A100 table's header says only
"out tok/s" - we read it as per GPU too (the per-GPU reading is the physically plausible one: as a
total, Llama-2-70B at batch 1280 on 4 A100s would take 245 s for 128 tokens) and print the error of
the other reading beside it.
"""

from __future__ import annotations

import csv
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.collectives_fit import predict as predict_collective
from benchmarks.collectives_fit import rows as collective_rows
from gpuplanner import paths
from gpuplanner.core.calibration import calibration
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.fit import fit_memory
from gpuplanner.core.perf_model import stage_step
from gpuplanner.core.perf_replica import build_replicas
from gpuplanner.core.plan import EngineSettings
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.resolve import ResolvedPlan, resolve_plan

DATA = paths.measurements_csv()
MODELS = {
    "GPT-J 6B": "EleutherAI/gpt-j-6b",
    "Llama-2-7B": "meta-llama/Llama-2-7b-hf",
    "Llama-2-70B": "meta-llama/Llama-2-70b-hf",
    "Falcon-180B": "tiiuae/falcon-180B",
    "Llama-3.1-8B-Instruct": "meta-llama/Llama-3.1-8B-Instruct",
}
TTFT_TRAIN = {"M030", "M032", "M034", "M036", "M038", "M040"}
GIB = 2**30


@dataclass
class Result:
    row: str
    family: str
    what: str
    measured: float
    predicted: float
    train: bool = False
    note: str = ""

    @property
    def error(self) -> float:
        return self.predicted / self.measured - 1


def _gpu(row: dict[str, str]) -> str:
    return "h100-sxm" if row["gpu"].startswith("H100") else "a100-80gb-sxm"


def _resolved(row: dict[str, str], batch: int, isl: int, osl: int, engine: str = "trtllm") -> ResolvedPlan:
    fp8 = row["precision"].startswith("FP8")
    plan = quick_plan(
        model=MODELS[row["model"]],
        gpu=_gpu(row),
        tp=int(row["tp"] or 1),
        weights="fp8" if fp8 else "fp16",
        kv_cache="fp8" if fp8 else "fp16",
        engine=engine,
        concurrency=batch,
        input_tokens=isl,
        output_tokens=osl,
    )
    return resolve_plan(plan, default_catalog())


def static_batch_tokens_per_s(r: ResolvedPlan, batch: int, isl: int, osl: int) -> float:
    """gptSessionBenchmark: one context phase for the whole batch, then osl-1 generation steps."""
    rep = build_replicas(r)[0]
    prefill = sum(stage_step(s, batch * isl, batch, 0, isl).total_s for s in rep.stages) + rep.step_overhead_s
    decode = (osl - 1) * rep.cycle(batch, isl + osl / 2).seconds
    return batch * osl / (prefill + decode)


def throughput_rows(rows: list[dict[str, str]]) -> list[Result]:
    out = []
    for row in rows:
        if row["metric"] not in ("output_throughput_per_gpu", "output_throughput"):
            continue
        batch, isl, osl, n = int(row["batch"]), int(row["isl"]), int(row["osl"]), int(row["n_gpus"])
        total = static_batch_tokens_per_s(_resolved(row, batch, isl, osl), batch, isl, osl)
        measured = float(row["value"])
        note = ""
        if row["metric"] == "output_throughput":  # A100 table: ambiguous header
            note = f"if total: {total / measured - 1:+.0%}"
        what = f"{row['model']} {_gpu(row)} TP{n} B{batch} {isl}/{osl}"
        out.append(Result(row["id"], "batched throughput", what, measured, total / n, note=note))
    return out


def ttft_rows(rows: list[dict[str, str]]) -> list[Result]:
    out = []
    request_s = calibration().overhead_for("trtllm").request_us * 1e-6
    for row in rows:
        if row["metric"] != "ttft_first_token_latency":
            continue
        isl = int(row["isl"])
        r = _resolved(row, 1, isl, 1)
        rep = build_replicas(r)[0]
        predicted_ms = (rep.prefill_s(isl) + request_s) * 1e3
        what = f"{row['model']} {_gpu(row)} TP{row['tp']} ISL {isl}"
        out.append(
            Result(row["id"], "TTFT", what, float(row["value"]), predicted_ms, row["id"] in TTFT_TRAIN)
        )
    train = sorted(r.measured - r.predicted for r in out if r.train)
    if train:
        # The training step of trtllm's request_us: add this to it in catalogs/calibration.toml.
        print(f"TTFT train rows: median residual {statistics.median(train):+.2f} ms (request_us adjustment)")
    return out


def memory_rows(rows: list[dict[str, str]]) -> list[Result]:
    out = []
    cat = default_catalog()
    for row in rows:
        if not ("M218" <= row["id"] <= "M224"):
            continue
        max_len = int(row["isl"] or 20000)
        plan = quick_plan(model=MODELS[row["model"]], gpu="rtx-3090", tp=1, engine="vllm", catalog=cat)
        plan = plan.model_copy(
            update={
                # vLLM V0 without chunked prefill profiles one batch of max_model_len tokens.
                "engine": EngineSettings(
                    engine="vllm",
                    gpu_memory_utilization=0.90,
                    max_model_len=max_len,
                    max_num_batched_tokens=max_len,
                )
            }
        )
        r = resolve_plan(plan, cat)
        g = fit_memory(r).gpus[0]
        block = r.settings.kv_block_tokens
        values = {
            "weights_memory_per_gpu": g.weights / GIB,
            "kv_cache_memory_per_gpu": g.kv_blocks * block * g.kv_rate / GIB,
            "kv_cache_capacity_blocks": g.kv_blocks,
            "kv_cache_capacity_tokens": g.kv_blocks * block,
            "peak_torch_memory_profile": (g.weights + g.activations) / GIB,
            "non_torch_memory": r.engine.cuda_context_gib,
        }
        metric = row["metric"]
        out.append(
            Result(row["id"], "memory", f"{metric} max_len {max_len}", float(row["value"]), values[metric])
        )
    return out


def collectives() -> list[Result]:
    cat = default_catalog()
    return [
        Result(
            rid,
            "collectives",
            f"{case.n}x{case.gpu} {metric}",
            measured,
            predict_collective(case, nbytes, cat),
            train=True,
        )
        for rid, case, nbytes, measured, metric in collective_rows()
    ]


def summary(results: list[Result]) -> None:
    families = ["single-stream decode", "batched throughput", "TTFT", "memory", "collectives"]
    print(f"\n{'family':22} {'rows':>5} {'median |err|':>13} {'p90 |err|':>10}   basis")
    for family in families:
        report = [abs(r.error) for r in results if r.family == family and not r.train]
        train = [abs(r.error) for r in results if r.family == family and r.train]
        errors, basis = (report, "report rows") if report else (train, "train rows (in-sample)")
        if not errors:
            print(f"{family:22} {0:5}            -          -   no row in the data set")
            continue
        ordered = sorted(errors)
        p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
        print(f"{family:22} {len(errors):5} {statistics.median(errors):13.1%} {p90:10.1%}   {basis}")


def main() -> None:
    with DATA.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    results = throughput_rows(rows) + ttft_rows(rows) + memory_rows(rows) + collectives()
    print(f"{'row':5} {'family':18} {'case':44} {'measured':>10} {'model':>10} {'error':>7}")
    for r in results:
        tag = " (train)" if r.train else ""
        print(
            f"{r.row:5} {r.family[:18]:18} {r.what[:44]:44} {r.measured:10.4g} {r.predicted:10.4g} "
            f"{r.error:+7.1%}{tag} {r.note}"
        )
    summary(results)


if __name__ == "__main__":
    main()
