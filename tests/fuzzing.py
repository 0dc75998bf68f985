"""Structure-aware fuzzing of everything a person types or opens: plan files, command lines and
model configs. Shared by the property tests (short runs) and ``benchmarks/fuzz.py`` (long runs).

Each generator takes a ``random.Random`` so a failing case is reproduced from its seed. The checks
return what went wrong as text (empty when the outcome is acceptable): the only acceptable failures
are ``PlannerError`` (a message naming the problem and the fix) and, on the command line, exit code
2; a report must never hold NaN or infinity, nor say "fits" while a GPU's free memory is negative.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gpuplanner.core.errors import PlannerError
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.plan import Layout, Plan, Replica, Stage
from gpuplanner.core.report import Report
from gpuplanner.document.planfile import plan_from_json

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "catalogs" / "examples").glob("*.gpuplan"))
HF_CONFIGS = sorted((ROOT / "tests" / "data" / "hf_configs").glob("*.json"))

# values that broke something once, or sit on a boundary
NASTY_NUMBERS: list[Any] = [
    0, -1, 1, 2, 3, 7, 63, 64, 65, 72, 127, 128, 129, 4096, 8192, 10**5, 2**24, 2**24 + 1,
    2**31 - 1, 2**31, 2**63, 10**12, 10**30, -(10**12), 0.5, 1.0, 1.0000001, 1e-12, 1e308, -0.0, 0.999999,
]  # fmt: skip
NASTY_TEXT = ["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, "-" + "9" * 400, "1" + "0" * 40]
NASTY_VALUES: list[Any] = [None, True, False, "", "x" * 2000, "g0", "h100-sxm", [], {}, [0], [0, 130], [1, 0]]
NUMERIC_FIELDS = {
    "slot": [0, 7, 8, 127, 128, -1, 10**6],
    "slots": [1, 8, 72, 128, 129, 0, 10**6],
    "nics": [1, 8, 64, 72, 128, 129, 0],
    "x": [0.0, -1e6, 1e7, 1e9, 1e308],
    "y": [0.0, 350.0, -1e7, 1e12],
    "input_tokens": [1, 1024, 131_072, 10**7, 2**24, 2**24 + 1, 10**9, 10**12],
    "output_tokens": [1, 256, 131_072, 10**7, 2**24, 10**9],
    "concurrency": [1, 64, 10**6, 10**6 + 1, "max", 0, "min"],
    "gpu_memory_utilization": [1.0, 0.99, 0.5, 1e-9, 0.0, 1.01, None],
    "kv_cache_free_fraction": [1.0, 0.9, 1e-9, None],
    "max_num_batched_tokens": [1, 16, 512, 8192, 2**24, None],
    "max_num_seqs": [1, 256, 10**6, None],
    "max_model_len": [1, 512, 4096, 131_072, 2**24, 2**31, None],
    "ep": [1, 2, 8, 7, 4096, 10**6],
    "num_layers": [1, 80, 126, 2048, 2049, 10**9],
    "hidden_size": [1, 8192, 2**20, 2**21, 10**12],
    "max_position_embeddings": [1, 4096, 2**24, 2**25],
}


def load_examples() -> list[dict[str, Any]]:
    """The sample plans, each also with its model's architecture embedded (``model_spec``), so
    mutations reach the layer count, the widths and the context limit too."""
    from gpuplanner.core.catalog import default_catalog

    catalog = default_catalog()
    plans = [json.loads(p.read_text(encoding="utf-8")) for p in EXAMPLES]
    embedded = copy.deepcopy(plans)
    for data in embedded:
        data["plan"]["model_spec"] = catalog.model(data["plan"]["model"]).model_dump(mode="json")
    return plans + embedded


def _paths(data: Any) -> list[tuple[Any, ...]]:
    """Every place in ``data`` (keys and list indexes from the top), without recursion."""
    found: list[tuple[Any, ...]] = []
    todo: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while todo:
        item, prefix = todo.pop()
        found.append(prefix)
        if isinstance(item, dict):
            todo.extend((value, (*prefix, key)) for key, value in item.items())
        elif isinstance(item, list):
            todo.extend((value, (*prefix, i)) for i, value in enumerate(item))
    return found


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def _nested(depth: int) -> str:
    """JSON text of a list nested ``depth`` levels deep (written as text: too deep for json.dumps)."""
    return "[" * depth + "0" + "]" * depth


def mutate_plan(rng: random.Random, base: dict[str, Any], mutations: int | None = None) -> str:
    """A plan file's text: ``base`` (a parsed plan file) with 1–3 structure-aware mutations."""
    data = copy.deepcopy(base)
    raw: list[tuple[str, str]] = []  # (marker, text) substituted after dumping: numbers JSON cannot write
    for _ in range(mutations if mutations is not None else rng.choice([1, 1, 1, 2, 3])):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        kind = rng.random()
        numeric = [
            p for p in paths if isinstance(p[-1], str) and (p[-1] in NUMERIC_FIELDS or p[-1] == "layers")
        ]
        path = rng.choice(numeric if kind < 0.5 and numeric else paths)
        leaf = path[-1]
        if kind < 0.5 and leaf in NUMERIC_FIELDS:
            _set(data, path, rng.choice(NUMERIC_FIELDS[leaf]))
        elif kind < 0.5 and leaf == "layers":
            first = rng.choice([0, 1, 40, 80])
            _set(data, path, [first, first + rng.choice([0, 1, 40, 80, 126, 130, 10**6])])
        elif kind < 0.55 and isinstance(_get(data, path[:-1]), dict):  # a known field gets an edge value
            _get(data, path[:-1])[rng.choice(list(NUMERIC_FIELDS))] = rng.choice(NASTY_NUMBERS)
        elif kind < 0.6:
            value = rng.choice(NASTY_NUMBERS)
            _set(data, path, value)
        elif kind < 0.62:
            marker = f"__raw{len(raw)}__"
            raw.append((f'"{marker}"', rng.choice(NASTY_TEXT)))
            _set(data, path, marker)
        elif kind < 0.72:
            _set(data, path, copy.deepcopy(rng.choice(NASTY_VALUES)))
        elif kind < 0.78:
            parent = _get(data, path[:-1])
            if isinstance(parent, dict):
                del parent[leaf]
            else:
                parent.pop(leaf)
        elif kind < 0.86:
            parent = _get(data, path[:-1])
            if isinstance(parent, list) and parent:  # duplicate an entry (GPUs, stages, links, nodes)
                parent.append(copy.deepcopy(rng.choice(parent)))
            elif isinstance(parent, dict):
                parent[rng.choice(["extra", "gpus", "id", "slot"])] = copy.deepcopy(rng.choice(NASTY_VALUES))
        elif kind < 0.90:
            marker = f"__raw{len(raw)}__"
            raw.append((f'"{marker}"', _nested(rng.choice([10, 63, 64, 100, 1000, 3000]))))
            _set(data, path, marker)
        elif kind < 0.95:  # swap a catalog id for another, which keeps most plans evaluable
            ids = ["h100-sxm", "rtx-3090", "mi300x", "gaudi3", "no-such-gpu", "bf16", "fp8", "awq-int4", "sglang",
                   "trtllm", "llamacpp", "meta-llama/Llama-3.1-405B-Instruct", "deepseek-ai/DeepSeek-V3"]  # fmt: skip
            if isinstance(_get(data, path), str):
                _set(data, path, rng.choice(ids))
        else:
            data["schema_version"] = rng.choice([0, 1, 2, "1", 1.5, None, 10**40])
    text = json.dumps(data, indent=rng.choice([None, 2]))
    for marker, value in raw:
        text = text.replace(marker, value, 1)
    if rng.random() < 0.05:
        text = text[: rng.randrange(len(text) + 1)]
    return text


def report_problems(report: Report) -> list[str]:
    """What a report must never show: NaN or infinity anywhere, 'fits' while memory is negative."""
    found = []
    bad = [path for path, value in _floats(report.to_json_dict()) if not math.isfinite(value)]
    if bad:
        found.append(f"nan/inf at {bad[0]}")
    if report.fits and any(g.memory_bytes.free < 0 for g in report.gpus):
        found.append("fits with negative free memory")
    return found


def _floats(data: Any, where: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(data, float):
        yield where, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _floats(value, f"{where}.{key}")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _floats(value, f"{where}[{i}]")


class Outcome:
    """Counts over a run: cases, refusals (clear messages), tracebacks, slow cases and bad reports."""

    def __init__(self) -> None:
        self.cases = self.refused = self.fits = self.slow = 0
        self.tracebacks: list[str] = []
        self.bad_reports: list[str] = []
        self.negative_free_fits = self.nan_inf = 0
        self.slowest_s = 0.0

    def add_time(self, seconds: float, limit_s: float = 5.0) -> None:
        self.slowest_s = max(self.slowest_s, seconds)
        if seconds > limit_s:
            self.slow += 1


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise TimeoutError after ``seconds`` (POSIX main thread; elsewhere no limit)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_plan_text(text: str, outcome: Outcome, hang_s: int = 60) -> None:
    """Open and evaluate one plan file's text as the command line does; record what happened."""
    outcome.cases += 1
    start = time.perf_counter()
    try:
        with time_limit(hang_s):
            plan = plan_from_json(text, "fuzzed.gpuplan")
            report = evaluate(plan)
            problems = report_problems(report)
    except PlannerError as exc:
        outcome.refused += 1
        assert str(exc), "a refusal without a message"
        problems = []
    except Exception as exc:
        outcome.tracebacks.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        problems = []
    else:
        outcome.fits += report.fits
    outcome.add_time(time.perf_counter() - start)
    for problem in problems:
        outcome.bad_reports.append(problem)
        if problem.startswith("nan"):
            outcome.nan_inf += 1
        else:
            outcome.negative_free_fits += 1


# -- the command line ------------------------------------------------------------------------------

MODELS = ["llama-3.1-70b", "meta-llama/Llama-3.1-405B-Instruct", "deepseek-ai/DeepSeek-V3", "qwen3-32b",
          "no-such-model", ""]  # fmt: skip
GPUS = ["h100-sxm", "rtx-4090", "mi300x", "l40s", "b200", "gaudi3", "H100 SXM5 80GB", "nope"]
FLAG_NUMBERS = ["1", "2", "3", "8", "16", "80", "128", "129", "4096", "4097", "100000", "0", "-4", "1e3",
                "2.5", "max", "x", "9" * 30, "9" * 5000, " 8", "10000000000000"]  # fmt: skip
TOKENS = ["1", "1024", "131072", "10000000", "16777216", "16777217", "1000000000000", "0", "-1", "NaN"]


def random_cli_args(rng: random.Random, plan_files: list[str]) -> list[str]:
    """One command line: mostly ``evaluate`` with quick flags, sometimes a plan file, a catalog
    listing, an import, or flags in the wrong place."""
    roll = rng.random()
    if roll < 0.08:
        return ["catalog", rng.choice(["gpus", "models", "links", "precisions", "engines", "nodes", "x"])] + (
            ["--json"] if rng.random() < 0.5 else []
        )
    if roll < 0.12:
        return [rng.choice(["--version", "--help", "--bogus", "evaluate", "import-model"])]
    args = ["evaluate"]
    if roll < 0.35 and plan_files:
        args.append(rng.choice(plan_files))
    else:
        if rng.random() < 0.95:
            args += ["--model", rng.choice(MODELS)]
        if rng.random() < 0.95:
            args += ["--gpu", rng.choice(GPUS)]
    for flag in ("--gpus", "--nodes", "--tp", "--pp", "--dp", "--ep", "--concurrency"):
        if rng.random() < 0.35:
            args += [
                flag,
                rng.choice(["1", "2", "4", "8"]) if rng.random() < 0.6 else rng.choice(FLAG_NUMBERS),
            ]
    for flag in ("--input-tokens", "--output-tokens"):
        if rng.random() < 0.3:
            args += [flag, rng.choice(["512", "4096"]) if rng.random() < 0.5 else rng.choice(TOKENS)]
    if rng.random() < 0.15:
        args += [
            "--link",
            rng.choice(["nvswitch-nvlink4", "pcie4-x16-cpu", "ib-ndr", "nvlink3-bridge", "zz"]),
        ]
    if rng.random() < 0.1:
        args += ["--fabric", rng.choice(["ib-ndr", "eth-100g", "nvlink4", "?"])]
    if rng.random() < 0.15:
        args += ["--weights", rng.choice(["bf16", "fp8", "awq-int4", "fp8-kv", "int3"])]
    if rng.random() < 0.1:
        args += ["--kv-cache", rng.choice(["bf16", "fp8", "awq-int4"])]
    if rng.random() < 0.15:
        args += ["--engine", rng.choice(["vllm", "sglang", "trtllm", "llamacpp", "exllamav2", "tgi"])]
    if rng.random() < 0.3:
        args.append("--json")
    return args


def run_cli(args: list[str]) -> tuple[int | None, str, str]:
    """``gpuplanner ARGS`` in this process: (exit code, stdout, stderr). An exception escaping
    ``main`` is re-raised: that is a traceback a person would see."""
    from gpuplanner.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code: int | None = main(args)
        except SystemExit as exc:  # argparse: --help, --version, a bad flag
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def check_cli(args: list[str], outcome: Outcome, hang_s: int = 60) -> None:
    outcome.cases += 1
    start = time.perf_counter()
    try:
        with time_limit(hang_s):
            code, out, err = run_cli(args)
    except Exception as exc:
        outcome.tracebacks.append(f"{args}: {type(exc).__name__}: {str(exc)[:200]}")
        return
    finally:
        outcome.add_time(time.perf_counter() - start)
    if code not in (0, 1, 2) or "Traceback" in err or "Traceback" in out:
        outcome.tracebacks.append(f"{args}: exit {code}: {err.strip()[-300:]}")
    elif code == 2:
        outcome.refused += 1
    if args[:1] == ["evaluate"] and "--json" in args and code in (0, 1):
        report = json.loads(out)
        bad = [where for where, value in _floats(report) if not math.isfinite(value)]
        if bad:
            outcome.nan_inf += 1
            outcome.bad_reports.append(f"{args}: nan/inf at {bad[0]}")
        if report["fits"] and any(g["memory_bytes"]["free"] < 0 for g in report["gpus"]):
            outcome.negative_free_fits += 1
            outcome.bad_reports.append(f"{args}: fits with negative free memory")


# -- config.json -----------------------------------------------------------------------------------

CONFIG_FIELDS = ["num_hidden_layers", "hidden_size", "num_attention_heads", "num_key_value_heads",
                 "intermediate_size", "vocab_size", "max_position_embeddings", "head_dim", "sliding_window",
                 "num_local_experts", "num_experts_per_tok", "moe_intermediate_size", "kv_lora_rank",
                 "first_k_dense_replace", "decoder_sparse_step", "layer_types", "model_type", "text_config",
                 "torch_dtype", "tie_word_embeddings"]  # fmt: skip


def mutate_config(rng: random.Random, base: dict[str, Any]) -> str:
    """A config.json's text: ``base`` with 1–3 fields set to nasty values."""
    data = copy.deepcopy(base)
    raw: list[tuple[str, str]] = []
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(CONFIG_FIELDS)
        roll = rng.random()
        if roll < 0.5:
            data[key] = rng.choice(NASTY_NUMBERS)
        elif roll < 0.7:
            marker = f"__raw{len(raw)}__"
            raw.append((f'"{marker}"', rng.choice(NASTY_TEXT)))
            data[key] = marker
        elif roll < 0.85:
            data[key] = copy.deepcopy(rng.choice(NASTY_VALUES))
        elif roll < 0.95:
            data.pop(key, None)
        else:
            marker = f"__raw{len(raw)}__"
            raw.append((f'"{marker}"', _nested(rng.choice([10, 100, 2000]))))
            data[key] = marker
    text = json.dumps(data)
    for marker, value in raw:
        text = text.replace(marker, value, 1)
    return text


def check_config(text: str, folder: Path, outcome: Outcome, hang_s: int = 60) -> None:
    """Import one config.json's text as ``gpuplanner import-model`` does, then evaluate a plan on it."""
    from gpuplanner.core.hf_import import import_model_file
    from gpuplanner.core.quick import quick_plan

    outcome.cases += 1
    path = folder / "config.json"
    path.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    try:
        with time_limit(hang_s):
            spec, _ = import_model_file(path, name="fuzz/model")
            plan = quick_plan(model="llama-3.1-8b", gpu="h100-sxm", gpus_per_node=1)
            stage = Stage(layers=(0, spec.num_layers), gpus=plan.layout.replicas[0].stages[0].gpus)
            layout = Layout(replicas=(Replica(stages=(stage,)),))
            plan = Plan(**{**dict(plan), "model": spec.id, "model_spec": spec, "layout": layout})
            report = evaluate(plan)
            problems = report_problems(report)
    except PlannerError:
        outcome.refused += 1
        problems = []
    except Exception as exc:
        outcome.tracebacks.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        problems = []
    outcome.add_time(time.perf_counter() - start)
    outcome.bad_reports += problems


# -- kills during save -----------------------------------------------------------------------------

SAVER = """
import sys
from gpuplanner.core.quick import quick_plan
from gpuplanner.document.planfile import save_plan
target = sys.argv[1]
plans = [quick_plan(model="llama-3.1-70b", gpu="h100-sxm", gpus_per_node=8, nodes=n, tp=8, dp=n)
         for n in (32, 64)]
plans = [p.model_copy(update={"name": f"plan {i}"}) for i, p in enumerate(plans)]
print("ready", flush=True)
i = 0
while True:
    save_plan(plans[i % 2], target)
    i += 1
"""


def kill_during_saves(folder: Path, kills: int, seed: int = 0) -> dict[str, int]:
    """Start a process that saves two large plans in turn, SIGKILL it at a random moment, check the
    file, ``kills`` times; then save once more and count temporary files left. Returns the counts."""
    import os
    import subprocess
    import sys

    from gpuplanner.core.errors import PlanFileError
    from gpuplanner.document.planfile import load_plan, save_plan

    rng = random.Random(seed)
    target = folder / "plan.gpuplan"
    counts = {"kills": 0, "corrupt_or_missing": 0, "stray_temps": 0}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    for _ in range(kills):
        proc = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(target)], stdout=subprocess.PIPE, text=True, env=env
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        counts["kills"] += 1
        if target.exists():  # before the first rename finished there is no file yet, and that is fine
            try:
                ok = load_plan(target).name in ("plan 0", "plan 1")
            except PlanFileError:
                ok = False
            counts["corrupt_or_missing"] += not ok
    save_plan(load_plan(target) if target.exists() else _any_plan(), target)
    counts["stray_temps"] = len([p for p in folder.iterdir() if ".~gpuplanner-" in p.name])
    return counts


def _any_plan():
    from gpuplanner.core.quick import quick_plan

    return quick_plan(model="llama-3.1-70b", gpu="h100-sxm", gpus_per_node=8, tp=8)
