"""The host as part of the rig: layers or MoE experts kept in system RAM.

llama.cpp keeps the first ``n_layer - ngl`` layers on the CPU (``-ngl``), or only the routed experts
of MoE layers (``--n-cpu-moe`` / ``--override-tensor exps=CPU``); Ollama does the same when a model does
not fit its GPUs. Those weights then stream from system RAM once per decode step, at the host's
memory bandwidth (channels x transfer rate x 8 bytes), while the GPUs run the rest.

A plan says what it offloads in ``plan.engine`` (``offload_layers``, ``offload_experts``) and which host
holds it on the server of its first GPU (``Node.host``, ``Node.host_ram_gib``). ``evaluate(plan)``
hands such a plan to ``evaluate_host``, which evaluates the GPU part with the one shared
fit-and-speed model (the plan with the offloaded layers taken off its GPUs) and adds the host: its
memory, the time it spends per token, and the PCIe copies of host weights that llama.cpp makes for
prompt batches. ``with_offload`` writes the command line's flags into a plan.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import Field, ValidationError

from gpuplanner import paths
from gpuplanner.core import architecture
from gpuplanner.core.catalog import Catalog, default_catalog, normalize
from gpuplanner.core.efficiency import gpu_family, memory_bandwidth_bps
from gpuplanner.core.errors import CatalogError, PlanError
from gpuplanner.core.plan import Node, Plan
from gpuplanner.core.quick import quick_plan
from gpuplanner.core.report import HostReport, Problem, Report
from gpuplanner.core.resolve import ResolvedPlan
from gpuplanner.core.specs import GIB, Spec

# ASSUMPTION (no host measurement in the calibration set yet): share of the theoretical DRAM
# bandwidth a CPU reaches streaming weights in llama.cpp's matmuls; the band spans 0.5-0.85.
HOST_STREAM_EFFICIENCY = 0.7
HOST_EFFICIENCY_BAND = (0.5, 0.85)
HOST_ENGINES = ("llamacpp", "ollama")
UBATCH_TOKENS = 512  # llama.cpp --ubatch-size default: one PCIe copy of host weights per prompt chunk
NORM_BYTES = 2


class HostSpec(Spec):
    """A desktop or server platform: how much RAM it takes and how fast it streams it."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    memory_type: str
    channels: int = Field(gt=0, description="memory channels per socket, 64-bit each")
    transfer_rate_mts: int = Field(gt=0, description="official DIMM transfer rate, MT/s")
    max_memory_gib: float | None = Field(default=None, gt=0, description="largest supported capacity")
    sources: tuple[str, ...]
    notes: str = ""

    @property
    def bandwidth_gbps(self) -> float:
        """Theoretical DRAM bandwidth, GB/s: channels x MT/s x 8 bytes."""
        return self.channels * self.transfer_rate_mts * 8 / 1000


@dataclass(frozen=True)
class HostOffload:
    """What a plan keeps in system RAM: the first ``layers`` layers and/or every routed expert."""

    layers: int = 0
    experts: bool = False
    host: str | None = None  # platform id or alias; None: the server's own (default: DEFAULT_HOST)
    ram_gib: float | None = None  # installed RAM; None: the server's own, else the platform's maximum
    expert_layers: int = 0  # --n-cpu-moe N: the routed experts of the first N layers (experts: all)


DEFAULT_HOST = "am5-ddr5-5200"  # a server whose host is not set: a desktop AM5 board


def with_offload(plan: Plan, offload: HostOffload) -> Plan:
    """``plan`` with ``offload`` written into it: the engine's offload fields, and the host platform
    and RAM on the server that runs it (the server of the layout's first GPU)."""
    data = plan.model_dump()
    data["engine"].update(
        offload_layers=offload.layers,
        offload_experts=offload.experts,
        offload_expert_layers=offload.expert_layers,
    )
    node = host_node(plan)
    for item in data["rig"]["nodes"]:
        if node is not None and item["id"] == node.id:
            if offload.host is not None:
                item["host"] = find_host(offload.host).id
            if offload.ram_gib is not None:
                item["host_ram_gib"] = offload.ram_gib
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][-1]) if error["loc"] else "offload"
        raise PlanError(
            f"{field}: {error['msg']}",
            fix="give --offload-layers and --n-cpu-moe from 0 up and --host-ram in GiB above 0",
        ) from exc


def host_node(plan: Plan) -> Node | None:
    """The server whose CPU and RAM hold what the plan offloads: the one with the layout's first GPU."""
    first = plan.layout.replicas[0].stages[0].gpus[0]
    found = plan.rig.find_gpu(first)
    if found is not None:
        return found[0]
    return plan.rig.nodes[0] if plan.rig.nodes else None


@dataclass(frozen=True)
class HostRun:
    """A published run with layers in system RAM (a ``host_offload_tokens_per_s`` row of the
    measurements file): what was measured and the plan's ingredients its notes give."""

    id: str
    source: str
    gpu: str
    model: str
    weights: str
    layers_in_ram: int
    expert_layers: int  # --n-cpu-moe N of the run (0: none)
    host: str
    ram_gib: float
    context: int
    tokens_per_s: float


HOST_METRIC = "host_offload_tokens_per_s"
_GPU_OF = {"RTX 2080 8GB": "rtx-2080"}  # the rows' GPU names -> catalog ids
_WEIGHTS_OF = {"GGUF Q4_K_M": "gguf-q4_k_m"}


@cache
def host_runs(path: Path | None = None) -> tuple[HostRun, ...]:
    """The published runs with layers in system RAM, from ``catalogs/measurements.csv``."""
    try:
        file = path or paths.measurements_csv()
        with open(file, newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if r.get("metric") == HOST_METRIC]
    except (OSError, FileNotFoundError):
        return ()
    runs = []
    for row in rows:
        head = row["notes"].split(". ", 1)[0]  # "host_offload model=... layers_in_ram=... context=4096"
        fields = dict(item.split("=", 1) for item in head.split() if "=" in item)
        gpu, weights = _GPU_OF.get(row["gpu"]), _WEIGHTS_OF.get(row["precision"])
        if gpu is None or weights is None or "model" not in fields:
            continue
        runs.append(
            HostRun(
                id=row["id"],
                source=row["source"],
                gpu=gpu,
                model=fields["model"],
                weights=weights,
                layers_in_ram=int(fields.get("layers_in_ram", 0)),
                expert_layers=int(fields.get("expert_layers_in_ram", 0)),
                host=fields["host"],
                ram_gib=float(fields["ram_gib"]),
                context=int(fields["context"]),
                tokens_per_s=float(row["value"]),
            )
        )
    return tuple(runs)


def run_plan(run: HostRun, catalog: Catalog | None = None) -> Plan:
    """The plan a published run measured: one GPU under llama.cpp, one slot of its context, its first
    ``layers_in_ram`` layers on its host."""
    plan = quick_plan(
        model=run.model, gpu=run.gpu, tp=1, weights=run.weights, engine="llamacpp", catalog=catalog
    )
    engine = plan.engine.model_copy(update={"max_model_len": run.context, "max_num_seqs": 1})
    plan = plan.model_copy(update={"engine": engine})
    offload = HostOffload(
        layers=run.layers_in_ram, expert_layers=run.expert_layers, host=run.host, ram_gib=run.ram_gib
    )
    return with_offload(plan, offload)


def host_check(r: ResolvedPlan, offload: HostOffload) -> str:
    """What the host estimate rests on: the published runs of its kind (layers in RAM, GPUs of the
    same family), or that it extrapolates."""
    families = {gpu_family(g.spec) for g in r.gpus}
    catalog_gpus = r.catalog.gpus
    layers = bool(offload.layers)  # runs of the same kind: layers in RAM, or only experts
    alike = [
        run
        for run in host_runs()
        if (run.layers_in_ram > 0) == layers
        and (layers or run.expert_layers > 0)
        and run.gpu in catalog_gpus
        and gpu_family(catalog_gpus[run.gpu]) in families
        and r.catalog.find("models", run.model) is not None
    ]
    kind = "layers" if layers else "experts"
    if not alike:
        return (
            f"extrapolated: no published run with {kind} in system RAM on these GPUs; the host's speed "
            "is its DRAM bandwidth at an assumed efficiency"
        )
    ids = f"{alike[0].id}–{alike[-1].id}" if len(alike) > 1 else alike[0].id
    return (
        f"checked against {len(alike)} published llama.cpp runs with {kind} in system RAM on "
        f"{', '.join(sorted(families))} GPUs ({ids}; benchmarks/host_offload.py, figures in the README)"
    )


@cache
def load_hosts(directory: Path | None = None) -> dict[str, HostSpec]:
    """The host platforms of ``catalogs/hosts.toml``, by id (sources checked against sources.toml)."""
    folder = directory or paths.catalogs_dir()
    path = folder / "hosts.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8")).get("host", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"cannot read {path}: {exc}", where="hosts.toml") from exc
    known_sources = default_catalog().sources if directory is None else {}
    hosts: dict[str, HostSpec] = {}
    for number, item in enumerate(raw, start=1):
        where = f"hosts.toml, host #{number} '{item.get('id', '?')}'"
        try:
            spec = HostSpec.model_validate(item)
        except ValidationError as exc:
            raise CatalogError(str(exc.errors()[0]["msg"]), where=where) from exc
        missing = [key for key in spec.sources if known_sources and key not in known_sources]
        if missing:
            raise CatalogError(f"field 'sources': unknown source {', '.join(missing)}", where=where)
        hosts[spec.id] = spec
    return hosts


def find_host(ref: str) -> HostSpec:
    """The host platform whose id or alias is ``ref`` (case, spaces and '-' ignored)."""
    hosts = load_hosts()
    for spec in hosts.values():
        if normalize(ref) in {normalize(n) for n in (spec.id, *spec.aliases)}:
            return spec
    raise PlanError(f"unknown host '{ref}'", fix=f"use one of {', '.join(hosts)}")


def _without_first_layers(r: ResolvedPlan, n: int) -> ResolvedPlan:
    """The plan with layers [0, n) taken off its GPUs (llama.cpp: ``-ngl num_layers - n``).

    llama.cpp offloads the output layer only when ``-ngl`` exceeds the layer count ("offloaded 13/13
    layers": 12 repeating layers and the output), so with any layer kept in RAM the output head
    stays there too: the last stage's GPUs lose it. The token embeddings (the input layer) are always
    kept on the CPU by llama.cpp: the first stage's GPUs lose them as well.
    """
    gpus = []
    for g in r.gpus:
        first, last = g.layers
        if last <= n:
            raise PlanError(
                f"keeping {n} layers in system RAM leaves {g.id} without layers (it holds {first}–{last - 1})",
                fix="offload fewer layers, or use fewer pipeline stages",
            )
        gpus.append(dataclasses.replace(g, layers=(max(first, n), last), first_stage=False, last_stage=False))
    return dataclasses.replace(r, gpus=tuple(gpus))


def _head_bytes(r: ResolvedPlan) -> tuple[float, float]:
    """(output head and final norm, token embeddings) as the fit model stores them (a tied head is
    the embedding matrix, read at the end of every step)."""
    m = r.model
    eb = r.weights.embedding_bytes_per_element
    head = architecture.lm_head_params(m) or architecture.embedding_params(m)
    embeddings = architecture.embedding_params(m) * eb
    return head * eb + architecture.final_norm_params(m) * NORM_BYTES, embeddings


def _layer_bytes(r: ResolvedPlan, layers: range) -> tuple[float, float, float]:
    """(all weights, routed-expert weights, active routed-expert weights) of ``layers``, bytes."""
    m, wb = r.model, r.weights.bytes_per_element
    total = experts = active = 0.0
    for i in layers:
        p = architecture.layer_params(m, i)
        total += (p.attention + p.mlp + p.experts) * wb + (p.router + p.norms) * NORM_BYTES
        experts += p.experts * wb
        if p.is_moe and m.moe is not None:
            active += m.moe.experts_per_token * p.expert_each * wb
    return total, experts, active


def _pcie_gbps(r: ResolvedPlan) -> float:
    spec = r.gpus[0].spec
    link = r.catalog.find("links", f"pcie{spec.pcie_gen}-x{spec.pcie_lanes}-cpu")
    return link.bandwidth_gbps_per_direction if link is not None else 16.0 * spec.pcie_lanes / 16


def evaluate_host(r: ResolvedPlan, evaluate_gpus: Callable[[ResolvedPlan], Report]) -> Report:
    """Fit and speed of a plan that keeps layers or experts in system RAM (llama.cpp and Ollama):
    ``evaluate_gpus`` (``core.evaluate``'s shared model) on its GPU part, plus the host."""
    plan = r.plan
    node = host_node(plan)
    offload = HostOffload(
        layers=plan.engine.offload_layers,
        experts=plan.engine.offload_experts,
        expert_layers=plan.engine.offload_expert_layers,
        host=node.host if node is not None and node.host else DEFAULT_HOST,
        ram_gib=node.host_ram_gib if node is not None else None,
    )
    if r.engine.memory_rule not in HOST_ENGINES:
        raise PlanError(
            f"{r.engine.name} keeps the whole model on its GPUs; layers or experts in system RAM are "
            "modelled for llama.cpp and Ollama",
            fix="pick the llamacpp or ollama engine",
        )
    m = r.model
    n = offload.layers
    if not 0 <= n < m.num_layers:
        raise PlanError(
            f"layers in system RAM (--offload-layers) must be from 0 to {m.num_layers - 1}, not {n}",
            fix="leave at least one layer on the GPUs",
        )
    if (offload.experts or offload.expert_layers) and m.moe is None:
        raise PlanError(
            f"{m.name} has no experts to keep in system RAM",
            fix="keep the experts on the GPUs (drop --offload-experts / --n-cpu-moe)",
        )
    if offload.expert_layers > m.num_layers:
        raise PlanError(
            f"--n-cpu-moe {offload.expert_layers} asks for more layers than {m.name} has ({m.num_layers})",
            fix=f"give --n-cpu-moe {m.num_layers} or fewer (or --offload-experts for all of them)",
        )
    expert_layers = m.num_layers if offload.experts else offload.expert_layers
    if not n and not expert_layers:
        raise PlanError("nothing to keep in system RAM", fix="give --offload-layers N or --offload-experts")
    host = find_host(offload.host or DEFAULT_HOST)
    gpu_plan = _without_first_layers(r, n) if n else r
    if offload.experts:
        gpu_plan = dataclasses.replace(gpu_plan, experts_in_host_ram=True)
    elif expert_layers:
        gpu_plan = dataclasses.replace(gpu_plan, expert_host_layers=expert_layers)
    report = evaluate_gpus(gpu_plan)

    host_weights, _, _ = _layer_bytes(r, range(n))
    embeddings = 0.0
    if n:
        # the output layer and the token embeddings stay on the CPU (see _without_first_layers); a
        # step reads the whole head but only one embedding row per token
        head, embeddings = _head_bytes(r)
        host_weights += head
    expert_bytes = active_expert_bytes = 0.0
    gpu_saving_s = 0.0
    for g in gpu_plan.gpus:
        first, last = g.layers
        if expert_layers > first:
            _, experts, active = _layer_bytes(r, range(first, min(last, expert_layers)))
            expert_bytes += experts
            active_expert_bytes += active
            # the shared speed model still reads these experts from this GPU once per decode step
            gpu_saving_s += active / memory_bandwidth_bps(g.spec)
    kv_tokens = report.kv_cache.context_tokens * max(1, r.settings.max_num_seqs)
    host_kv = architecture.kv_bytes_for_sequence(m, r.kv.bytes_per_element, range(n), kv_tokens)
    memory = int(host_weights + embeddings + expert_bytes + host_kv)
    ram = int((offload.ram_gib or host.max_memory_gib or 0) * GIB)

    bandwidth = host.bandwidth_gbps * 1e9
    ctx = report.kv_cache.context_tokens
    read_per_token = host_weights + active_expert_bytes
    read_per_token += architecture.kv_bytes_for_sequence(m, r.kv.bytes_per_element, range(n), ctx)
    host_s = read_per_token / (bandwidth * HOST_STREAM_EFFICIENCY)
    chunks = math.ceil(plan.workload.input_tokens / UBATCH_TOKENS)
    prefill_s = chunks * (host_weights + expert_bytes) / (_pcie_gbps(r) * 1e9)

    problems = list(report.problems)
    if ram and memory > ram:
        problems.append(
            Problem(
                severity="error",
                message=f"system RAM: {memory / GIB:.1f} GiB offloaded but {host.name} holds {ram / GIB:.0f} GiB",
                fix="offload fewer layers, or add RAM (--host-ram)",
            )
        )
    perf = report.performance
    tpot = ttft = None
    if perf is not None:
        tpot = max(perf.tpot_s - gpu_saving_s, 0.1 * perf.tpot_s) + host_s
        ttft = perf.ttft_s + prefill_s + host_s
    fits = report.fits and not any(p.severity == "error" for p in problems)
    concurrency = perf.concurrency if perf is not None else 1
    what = f"{n} layers" if n else ""
    if expert_layers:
        experts_what = (
            "the routed experts" if offload.experts else f"the routed experts of {expert_layers} layers"
        )
        what = f"{what} and {experts_what}" if what else experts_what
    speed = f", ~{1 / tpot:.1f} tok/s" if tpot else ""
    summary = (
        f"Fits with {what} in system RAM ({memory / GIB:.1f} GiB){speed}."
        if fits
        else f"Does not fit with {what} in system RAM: {problems[-1].message if problems else report.verdict}"
    )
    lo, hi = HOST_EFFICIENCY_BAND
    host_report = HostReport(
        host=host.id,
        host_name=host.name,
        bandwidth_gbps=host.bandwidth_gbps,
        ram_bytes=ram,
        memory_bytes=memory,
        weights_bytes=int(host_weights + embeddings + expert_bytes),
        kv_cache_bytes=int(host_kv),
        offloaded_layers=tuple(range(n)),
        offloaded_experts=offload.experts,
        offloaded_expert_layers=0 if offload.experts else expert_layers,
        bytes_per_token=read_per_token,
        host_s_per_token=host_s,
        host_s_per_token_low=read_per_token / (bandwidth * lo),
        host_s_per_token_high=read_per_token / (bandwidth * hi),
        prefill_copy_s=prefill_s,
        tpot_s=tpot,
        ttft_s=ttft,
        tokens_per_s_per_user=1 / tpot if tpot else None,
        output_tokens_per_s=concurrency / tpot if tpot else None,
        assumptions=(
            f"host streams weights at {HOST_STREAM_EFFICIENCY:g} of its DRAM bandwidth "
            f"({lo:g}–{hi:g} band): assumed, not fitted",
            host_check(r, offload),
            "host and GPU parts of a decode step run one after the other (llama.cpp layer order)",
            f"prompt chunks of {UBATCH_TOKENS} tokens copy the host weights over PCIe to the GPU once each",
            "speed figures under 'performance' are the GPU part; the host block gives the whole",
        ),
    )
    return report.model_copy(
        update={"problems": tuple(problems), "fits": fits, "verdict": summary, "host": host_report}
    )


def experts_text(h: HostReport) -> str:
    """'routed experts', 'routed experts of layers 0–35' or ''."""
    if h.offloaded_experts:
        return "routed experts"
    k = h.offloaded_expert_layers
    return f"routed experts of layers 0–{k - 1}" if k else ""


def host_text(h: HostReport) -> str:
    """The host block of ``gpuplanner evaluate`` as a few lines of text."""
    layers = f"layers {h.offloaded_layers[0]}–{h.offloaded_layers[-1]}" if h.offloaded_layers else ""
    what = ", ".join(x for x in (layers, experts_text(h)) if x)
    ram = f" of {h.ram_bytes / GIB:.0f} GiB" if h.ram_bytes else ""
    lines = [
        "",
        f"Host  {h.host_name} ({h.bandwidth_gbps:.1f} GB/s)",
        f"  in system RAM: {what}, {h.memory_bytes / GIB:.1f} GiB{ram}",
        f"  host reads {h.bytes_per_token / 1e9:.2f} GB per token: {h.host_s_per_token * 1e3:.0f} ms "
        f"({h.host_s_per_token_high * 1e3:.0f}–{h.host_s_per_token_low * 1e3:.0f} ms)",
    ]
    if h.tpot_s and h.ttft_s:
        lines.append(
            f"  whole rig: TTFT {h.ttft_s * 1e3:.0f} ms, TPOT {h.tpot_s * 1e3:.0f} ms, "
            f"{h.tokens_per_s_per_user or 0:.1f} tok/s per user"
        )
    lines += [f"  assumption: {a}" for a in h.assumptions]
    return "\n".join(lines)
