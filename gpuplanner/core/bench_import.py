"""Your own measurements: ``llama-bench`` (JSON, JSONL, CSV, markdown) and ``vllm bench serve``
(its printed result or the JSON of ``--save-result``; ``benchmark_serving.py`` prints the same) read
into runs the speed model can be compared with.

A run is one measured figure with the workload it was measured at:

* ``decode`` — llama-bench ``tgN``: tokens/s of one sequence generating N tokens;
* ``prefill`` — llama-bench ``ppN``: prompt tokens/s of one N-token prompt;
* ``serve`` — vllm bench serve: output tokens/s of the whole server at a concurrency, with the mean
  prompt and answer lengths of its requests;
* ``kv`` — vLLM start-up log lines (``GPU KV cache size: N tokens``, older ``# GPU blocks: N``): the
  KV-cache capacity, a check of the memory model (it informs no speed factor).

Tests at a prefilled depth (``tg128 @ d512``) keep the depth as the prompt; ``pg`` tests and depth
prefill tests are left out with a note. A file that is none of these is a :class:`BenchError` naming
the line that could not be read.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from gpuplanner.core.errors import PlannerError

RunKind = Literal["decode", "prefill", "serve", "kv"]


class BenchError(PlannerError):
    """A benchmark file that cannot be read; names the file and line."""


@dataclass(frozen=True)
class BenchRun:
    kind: RunKind
    tool: str
    source: str  # 'file:line'
    value: float  # decode/prefill: tokens/s of one sequence; serve: output tokens/s of the server
    concurrency: int = 1
    input_tokens: int = 1
    output_tokens: int = 1
    gpu_name: str = ""
    model_name: str = ""
    tpot_s: float | None = None
    ttft_s: float | None = None

    kv_memory_gib: float | None = None

    @property
    def label(self) -> str:
        if self.kind == "decode":
            return f"tg{self.output_tokens}" + (f" @ d{self.input_tokens}" if self.input_tokens > 1 else "")
        if self.kind == "prefill":
            return f"pp{self.input_tokens}"
        if self.kind == "kv":
            return "KV cache tokens"
        return f"serve c={self.concurrency} {self.input_tokens}/{self.output_tokens}"


def _where(source: str, line: int) -> str:
    return f"{source}:{line}" if source else f"line {line}"


_TEST = re.compile(r"^(pp|tg|pg)\s*(\d+)(?:\s*\+\s*tg\s*(\d+))?(?:\s*@\s*d\s*(\d+))?$")


def _llama_run(
    n_prompt: int, n_gen: int, depth: int, ts: float, where: str, gpu: str, model: str, notes: list[str]
) -> BenchRun | None:
    if ts <= 0:
        raise BenchError(f"{where}: t/s must be positive, not {ts:g}", fix="check the benchmark output")
    if n_prompt > 0 and n_gen > 0:
        notes.append(f"{where}: pp+tg test left out (the planner fits pp and tg tests separately)")
        return None
    if n_prompt > 0:
        if depth:
            notes.append(f"{where}: pp{n_prompt} @ d{depth} left out (a prompt behind a filled cache)")
            return None
        return BenchRun("prefill", "llama-bench", where, ts, 1, n_prompt, 1, gpu, model)
    if n_gen > 0:
        return BenchRun("decode", "llama-bench", where, ts, 1, max(depth, 1), n_gen, gpu, model)
    notes.append(f"{where}: a test with no prompt and no generation left out")
    return None


def _number(value: Any, where: str, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BenchError(
            f"{where}: '{str(value)[:30]}' in '{field}' is not a number",
            fix="give the output of the benchmark unchanged",
        ) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise BenchError(f"{where}: '{field}' is not a finite number", fix="check the benchmark output")
    return number


def _llama_objects(objects: list[Any], source: str, lines: list[int], notes: list[str]) -> list[BenchRun]:
    runs: list[BenchRun] = []
    for obj, line in zip(objects, lines, strict=True):
        where = _where(source, line)
        if not isinstance(obj, dict) or "avg_ts" not in obj:
            raise BenchError(
                f"{where}: a llama-bench result needs 'avg_ts', 'n_prompt' and 'n_gen'",
                fix="run llama-bench with -o json (or -o csv, -o md) and give its output unchanged",
            )
        n_prompt = int(_number(obj.get("n_prompt", 0), where, "n_prompt"))
        n_gen = int(_number(obj.get("n_gen", 0), where, "n_gen"))
        depth = int(_number(obj.get("n_depth", 0) or 0, where, "n_depth"))
        ts = _number(obj["avg_ts"], where, "avg_ts")
        run = _llama_run(
            n_prompt,
            n_gen,
            depth,
            ts,
            where,
            str(obj.get("gpu_info", "")),
            str(obj.get("model_type", "")),
            notes,
        )
        if run is not None:
            runs.append(run)
    return runs


def _json_lines(text: str) -> list[int]:
    """Line numbers of the objects of a JSON array, as printed by llama-bench (one '{' per object)."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if line.strip().startswith("{")]
    return found


_VLLM_FIELDS = {
    "completed": ("Successful requests",),
    "duration": ("Benchmark duration (s)",),
    "total_input_tokens": ("Total input tokens",),
    "total_output_tokens": ("Total generated tokens",),
    "output_throughput": ("Output token throughput (tok/s)",),
    "mean_ttft_ms": ("Mean TTFT (ms)",),
    "mean_tpot_ms": ("Mean TPOT (ms)",),
    "max_concurrency": ("Maximum request concurrency", "Max request concurrency"),
}


def _vllm_run(values: dict[str, Any], where: str, notes: list[str]) -> BenchRun:
    missing = [
        k
        for k in ("completed", "total_input_tokens", "total_output_tokens", "output_throughput")
        if k not in values
    ]
    if missing:
        raise BenchError(
            f"{where}: the vllm bench serve result lacks {', '.join(missing)} (the output looks cut short)",
            fix="give the whole 'Serving Benchmark Result' block or the --save-result JSON",
        )
    completed = int(_number(values["completed"], where, "completed"))
    if completed <= 0:
        raise BenchError(f"{where}: no request completed", fix="rerun the benchmark")
    concurrency_raw = values.get("max_concurrency")
    if concurrency_raw in (None, "None", "not set", "null", ""):
        concurrency = completed  # every request sent at once (request rate inf)
        notes.append(f"{where}: no maximum concurrency: taken as all {completed} requests at once")
    else:
        concurrency = max(1, int(_number(concurrency_raw, where, "max_concurrency")))
    concurrency = min(concurrency, completed)
    prompt = max(1, round(_number(values["total_input_tokens"], where, "total_input_tokens") / completed))
    answer = max(1, round(_number(values["total_output_tokens"], where, "total_output_tokens") / completed))
    tpot = values.get("mean_tpot_ms")
    ttft = values.get("mean_ttft_ms")
    return BenchRun(
        "serve",
        "vllm bench serve",
        where,
        _number(values["output_throughput"], where, "output_throughput"),
        concurrency,
        prompt,
        answer,
        "",
        str(values.get("model_id", "")),
        _number(tpot, where, "mean_tpot_ms") / 1000 if tpot is not None else None,
        _number(ttft, where, "mean_ttft_ms") / 1000 if ttft is not None else None,
    )


def _vllm_text(text: str, source: str, notes: list[str]) -> list[BenchRun]:
    runs: list[BenchRun] = []
    values: dict[str, Any] = {}
    start = 0
    pending_concurrency: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if "Serving Benchmark Result" in line:
            if values:
                runs.append(_vllm_run(values, _where(source, start), notes))
            values, start = {}, number
            if pending_concurrency is not None:
                values["max_concurrency"] = pending_concurrency
                pending_concurrency = None
            continue
        if ":" not in line:
            continue
        label, _, raw = line.partition(":")
        label, raw = label.strip(), raw.strip()
        for key, labels in _VLLM_FIELDS.items():
            if label in labels:
                if key == "max_concurrency" and not start:
                    pending_concurrency = raw  # printed just before the result block
                elif start:
                    values[key] = raw
    if values:
        runs.append(_vllm_run(values, _where(source, start), notes))
    return runs


def _markdown(text: str, source: str, notes: list[str]) -> list[BenchRun]:
    runs: list[BenchRun] = []
    header: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped.startswith("|"):
            continue
        cells = [c.strip() for c in stripped.strip("|").split("|")]
        if header is None:
            if "test" in cells and "t/s" in cells:
                header = cells
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        where = _where(source, number)
        if len(cells) != len(header):
            raise BenchError(
                f"{where}: {len(cells)} columns where the header has {len(header)}: the line is cut short",
                fix="give the whole llama-bench table",
            )
        row = dict(zip(header, cells, strict=True))
        test = _TEST.match(row["test"].replace(" ", "") if "@" not in row["test"] else row["test"].strip())
        if test is None:
            test = _TEST.match(re.sub(r"\s+", "", row["test"]).replace("@d", " @ d"))
        if test is None:
            raise BenchError(
                f"{where}: cannot read the test '{row['test']}' (expected e.g. pp512, tg128, tg128 @ d512)",
                fix="give the llama-bench table unchanged",
            )
        kind, count, extra, depth = test.groups()
        found = re.match(r"^\s*([\d.]+)", row["t/s"])
        if not found:
            raise BenchError(f"{where}: cannot read the speed '{row['t/s']}'", fix="give the table unchanged")
        ts = float(found.group(1))
        n_prompt = int(count) if kind in ("pp", "pg") else 0
        n_gen = int(count) if kind == "tg" else int(extra or 0)
        run = _llama_run(n_prompt, n_gen, int(depth or 0), ts, where, "", row.get("model", ""), notes)
        if run is not None:
            runs.append(run)
    if header is None:
        raise BenchError(
            f"{_where(source, 1)}: a table without llama-bench's 'test' and 't/s' columns",
            fix="give llama-bench output (-o md, csv or json) or vllm bench serve output",
        )
    return runs


_KV_TOKENS = re.compile(r"GPU KV cache size:\s*([\d,]+)\s*tokens")
_KV_BLOCKS = re.compile(r"# GPU blocks:\s*(\d+)")
_KV_MEMORY = re.compile(r"Available KV cache memory:\s*([\d.]+)\s*GiB")


def _vllm_log(text: str, source: str, notes: list[str]) -> list[BenchRun]:
    """The first engine's KV-cache capacity from vLLM's start-up log."""
    memory = None
    for number, line in enumerate(text.splitlines(), start=1):
        found = _KV_MEMORY.search(line)
        if found and memory is None:
            memory = float(found.group(1))
        tokens = _KV_TOKENS.search(line)
        blocks = _KV_BLOCKS.search(line)
        if tokens or blocks:
            where = _where(source, number)
            if tokens:
                value = int(tokens.group(1).replace(",", ""))
            else:
                value = int(blocks.group(1)) * 16  # type: ignore[union-attr]
                notes.append(f"{where}: GPU blocks counted at vLLM's default 16 tokens per block")
            if value <= 0:
                raise BenchError(f"{where}: a KV cache of {value} tokens", fix="give the log unchanged")
            return [BenchRun("kv", "vLLM log", where, float(value), kv_memory_gib=memory)]
    raise BenchError(f"{_where(source, 1)}: no KV-cache line in the log", fix="give vLLM's start-up log")


def parse_bench(text: str, source: str = "") -> tuple[list[BenchRun], list[str]]:
    """The runs in a benchmark output, and notes on what was left out."""
    notes: list[str] = []
    stripped = text.strip()
    if not stripped:
        raise BenchError(f"{_where(source, 1)}: the file is empty", fix="give a benchmark's output")
    if stripped[0] in "[{":
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as e:
            if stripped[0] == "{" and "\n{" in stripped:  # JSONL: one object per line
                objects, lines = [], []
                for number, line in enumerate(text.splitlines(), start=1):
                    if line.strip():
                        try:
                            objects.append(json.loads(line))
                        except json.JSONDecodeError as bad:
                            raise BenchError(
                                f"{_where(source, number)}: not valid JSON ({bad.msg})",
                                fix="give the output unchanged; it may be cut short",
                            ) from None
                        lines.append(number)
                return _llama_objects(objects, source, lines, notes), notes
            raise BenchError(
                f"{_where(source, e.lineno)}: not valid JSON ({e.msg}, column {e.colno}); the file may be cut short",
                fix="give the benchmark's output unchanged",
            ) from None
        if isinstance(data, list):
            lines = _json_lines(text)
            if len(lines) != len(data):
                lines = [1] * len(data)
            return _llama_objects(data, source, lines, notes), notes
        if isinstance(data, dict) and ("output_throughput" in data or "mean_tpot_ms" in data):
            return [_vllm_run(data, _where(source, 1), notes)], notes
        if isinstance(data, dict) and "avg_ts" in data:
            return _llama_objects([data], source, [1], notes), notes
        raise BenchError(
            f"{_where(source, 1)}: JSON that is neither llama-bench (-o json) nor vllm bench serve (--save-result)",
            fix="give one of those outputs",
        )
    if "Serving Benchmark Result" in text:
        return _vllm_text(text, source, notes), notes
    if _KV_TOKENS.search(text) or _KV_BLOCKS.search(text):
        return _vllm_log(text, source, notes), notes
    first = stripped.splitlines()[0]
    if "avg_ts" in first and "," in first:
        reader = csv.DictReader(io.StringIO(stripped))
        rows = list(reader)
        for number, row in enumerate(rows, start=2):
            if None in row or any(v is None for v in row.values()):
                raise BenchError(
                    f"{_where(source, number)}: the row has a different number of columns than the header "
                    "(cut short?)",
                    fix="give the whole CSV",
                )
        return _llama_objects(rows, source, list(range(2, len(rows) + 2)), notes), notes
    if stripped.startswith("|") or "\n|" in text:
        return _markdown(text, source, notes), notes
    raise BenchError(
        f"{_where(source, 1)}: '{first[:60]}' is not llama-bench or vllm bench serve output",
        fix="give llama-bench output (-o json, csv or md) or vllm bench serve output (printed or --save-result)",
    )
