"""Launch commands: how to start the plan's engine (and the other engines that can run it).

``launch_for(plan, engine)`` reads the plan's layout (TP, PP, DP, EP, uneven stages, which GPUs on which
server) and writes the engine's own command line: ``vllm serve``, ``python -m sglang.launch_server``,
``trtllm-serve``, ``llama-server`` (with ``rpc-server`` on other hosts), TabbyAPI's ``config.yml``,
``text-generation-launcher`` and ``ollama serve``. Where an engine cannot express the plan (mixed GPUs
in one tensor-parallel group, uneven stages the engine cannot place, TP across servers for llama.cpp)
the launch says so and names the closest plan it can run. ``render(launch, fmt)`` writes it as a shell
script, as ``docker run`` lines, or as a Kubernetes manifest (a LeaderWorkerSet for several servers).

Flags follow the documented command lines of the catalog's engine versions (sources in
``ENGINE_DOCS``; ``tests/test_launch.py`` holds them against those documents).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.engine_rules import nearest_format
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.plan import Plan
from gpuplanner.core.resolve import ResolvedGpu, ResolvedPlan, resolve_plan
from gpuplanner.core.verdict import plural

Format = Literal["shell", "docker", "kubernetes"]
FORMATS: tuple[Format, ...] = ("shell", "docker", "kubernetes")

ENGINE_DOCS: dict[str, str] = {
    "vllm": "https://docs.vllm.ai/en/v0.11.0/configuration/engine_args.html",
    "sglang": "https://docs.sglang.ai/advanced_features/server_arguments.html",
    "trtllm": "https://nvidia.github.io/TensorRT-LLM/commands/trtllm-serve/trtllm-serve.html",
    "llamacpp": "https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md",
    "exllamav2": "https://github.com/theroyallab/tabbyAPI/blob/main/config_sample.yml",
    "tgi": "https://huggingface.co/docs/text-generation-inference/reference/launcher",
    "ollama": "https://github.com/ollama/ollama/blob/main/docs/faq.mdx",
}

# container images per engine (the catalog's version where the project tags releases that way)
_IMAGES: dict[str, str] = {
    "vllm": "vllm/vllm-openai:v{version}",
    "sglang": "lmsysorg/sglang:v{version}-cu126",
    "trtllm": "nvcr.io/nvidia/tensorrt-llm/release:{version}.0",
    "llamacpp": "ghcr.io/ggml-org/llama.cpp:server-cuda",
    "exllamav2": "ghcr.io/theroyallab/tabbyapi:latest",
    "tgi": "ghcr.io/huggingface/text-generation-inference:latest",
    "ollama": "ollama/ollama:latest",
}
_PORTS = {"vllm": 8000, "sglang": 30000, "trtllm": 8000, "llamacpp": 8080, "exllamav2": 5000, "tgi": 80,
          "ollama": 11434}

_VLLM_QUANT = {"fp8": "fp8", "awq-int4": "awq_marlin", "gptq-int4": "gptq_marlin"}
_SGLANG_QUANT = {"fp8": "fp8", "awq-int4": "awq_marlin", "gptq-int4": "gptq_marlin"}
_TGI_QUANT = {"fp8": "fp8", "awq-int4": "awq", "gptq-int4": "gptq", "int8": "eetq"}
_GGUF_TYPES = {"fp16": "f16", "bf16": "bf16", "gguf-q8_0": "q8_0", "gguf-q4_0": "q4_0"}
_GGUF_FILE = {"gguf-q8_0": "Q8_0", "gguf-q6_k": "Q6_K", "gguf-q5_k_m": "Q5_K_M", "gguf-q4_k_m": "Q4_K_M",
              "gguf-q4_0": "Q4_0", "fp16": "F16", "bf16": "BF16", "fp32": "F32"}


@dataclass(frozen=True)
class LaunchStep:
    """One process to start on one server: its environment and its argument vector."""

    node: str  # node id
    host: str  # what other servers call it (a placeholder name such as 'n0-host')
    title: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    gpus: tuple[int, ...] = ()  # device indices this process sees (CUDA_VISIBLE_DEVICES)
    role: Literal["server", "worker", "helper"] = "server"

    def shell(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env)
        cmd = _join(self.argv)
        return f"{env} \\\n  {cmd}" if env else cmd


@dataclass(frozen=True)
class LaunchFile:
    name: str
    content: str


@dataclass(frozen=True)
class Launch:
    engine: str
    engine_name: str
    version: str
    runnable: bool
    reason: str = ""  # why the engine cannot run the plan (runnable False)
    closest: str = ""  # the closest plan it can run, in words
    steps: tuple[LaunchStep, ...] = ()
    files: tuple[LaunchFile, ...] = ()
    notes: tuple[str, ...] = ()
    nodes: int = 1
    gpus_per_node: int = 1
    docs: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "engine_name": self.engine_name,
            "version": self.version,
            "runnable": self.runnable,
            "reason": self.reason,
            "closest": self.closest,
            "steps": [
                {"node": s.node, "title": s.title, "env": dict(s.env), "argv": list(s.argv),
                 "gpus": list(s.gpus), "role": s.role}
                for s in self.steps
            ],
            "files": [{"name": f.name, "content": f.content} for f in self.files],
            "notes": list(self.notes),
            "docs": self.docs,
        }


class LaunchError(PlannerError):
    """The engine cannot run the plan (the CLI's exit 2)."""


def _join(argv: Sequence[str]) -> str:
    parts = [shlex.quote(a) for a in argv]
    lines: list[str] = []
    current: list[str] = []
    for p in parts:
        if p.startswith("-") and current:
            lines.append(" ".join(current))
            current = []
        current.append(p)
    if current:
        lines.append(" ".join(current))
    return " \\\n    ".join(lines)


# ---------------------------------------------------------------------------------------------- analysis


@dataclass
class _Shape:
    r: ResolvedPlan
    tp: int
    pp: int
    dp: int
    ep: int
    layers: list[int]  # layers per stage of replica 0
    nodes: list[str]  # node ids in first-use order
    replica_nodes: list[list[str]]  # per replica, the nodes it uses
    devices: dict[str, list[int]] = field(default_factory=dict)  # node -> slots in first-use order
    uniform_tp: bool = True
    same_replicas: bool = True
    mixed_in_group: bool = False
    consumer: bool = False

    @property
    def even(self) -> bool:
        return len(set(self.layers)) == 1 or self.pp == 1

    @property
    def replica_spans_nodes(self) -> bool:
        return any(len(n) > 1 for n in self.replica_nodes)


def _shape(r: ResolvedPlan) -> _Shape:
    layout = r.plan.layout
    stages0 = layout.replicas[0].stages
    nodes: list[str] = []
    devices: dict[str, list[int]] = {}
    replica_nodes: list[list[str]] = [[] for _ in layout.replicas]
    for g in r.gpus:
        nid = g.node.id
        if nid not in nodes:
            nodes.append(nid)
        devices.setdefault(nid, [])
        if g.placement.slot not in devices[nid]:
            devices[nid].append(g.placement.slot)
        if nid not in replica_nodes[g.replica]:
            replica_nodes[g.replica].append(nid)
    tps = {s.tp for rep in layout.replicas for s in rep.stages}
    shapes = {tuple((s.layers, s.tp) for s in rep.stages) for rep in layout.replicas}
    groups: dict[tuple[int, int], set[str]] = {}
    for g in r.gpus:
        groups.setdefault((g.replica, g.stage), set()).add(g.spec.id)
    return _Shape(
        r=r,
        tp=stages0[0].tp,
        pp=len(stages0),
        dp=len(layout.replicas),
        ep=layout.ep,
        layers=[s.num_layers for s in stages0],
        nodes=nodes,
        replica_nodes=replica_nodes,
        devices=devices,
        uniform_tp=len(tps) == 1,
        same_replicas=len(shapes) == 1,
        mixed_in_group=any(len(v) > 1 for v in groups.values()) or len({g.spec.id for g in r.gpus}) > 1,
        consumer=any(g.spec.gpu_class == "consumer" for g in r.gpus),
    )


def _host(node: str) -> str:
    return f"{node}-host"


def _nccl_env(s: _Shape) -> list[tuple[str, str]]:
    env: list[tuple[str, str]] = []
    if s.consumer and (s.tp > 1 or s.pp > 1):
        # GeForce cards have no peer-to-peer over PCIe: NCCL must stage copies through host memory
        env.append(("NCCL_P2P_DISABLE", "1"))
    return env


def _visible(devs: Sequence[int]) -> tuple[str, str]:
    return ("CUDA_VISIBLE_DEVICES", ",".join(str(d) for d in devs))


def _model_ref(r: ResolvedPlan) -> str:
    return r.plan.model_spec.id if r.plan.model_spec is not None else r.model.id


def _uneven_split(layers: list[int], pp: int) -> str:
    total = sum(layers)
    base, extra = divmod(total, pp)
    even = [base + (1 if i >= pp - extra else 0) for i in range(pp)]
    return ",".join(str(n) for n in even)


def _closest_even(s: _Shape, what: str) -> str:
    return (
        f"{what}: the closest plan it runs splits the {sum(s.layers)} layers evenly over {s.pp} stages "
        f"({_uneven_split(s.layers, s.pp)})"
    )


# ---------------------------------------------------------------------------------------------- engines


def _refuse(r: ResolvedPlan, reason: str, closest: str) -> Launch:
    e = r.engine
    return Launch(e.id, e.name, r.settings.version, False, reason=reason, closest=closest,
                  docs=ENGINE_DOCS.get(e.id, ""))


def _common_refusals(s: _Shape) -> tuple[str, str] | None:
    e = s.r.engine
    if not s.same_replicas:
        return (f"{e.name} starts every data-parallel replica with the same layout; this plan's "
                "replicas differ", "make every replica a copy of the first (same stages and TP)")
    if not s.uniform_tp:
        return (f"{e.name} uses one tensor-parallel size for every pipeline stage; this plan's stages "
                "have different TP", f"use TP {s.tp} in every stage")
    if s.mixed_in_group and not e.supports_mixed_gpus:
        names = sorted({g.spec.name for g in s.r.gpus})
        return (f"{e.name} needs the same GPU model on every rank; this plan mixes {', '.join(names)}",
                "run one GPU model per deployment, or use llama.cpp / ExLlamaV2, which split layers "
                "over mixed GPUs")
    return None


def _vllm(s: _Shape) -> Launch:
    r, st = s.r, s.r.settings
    refusal = _common_refusals(s)
    if refusal:
        return _refuse(r, *refusal)
    notes: list[str] = []
    argv = ["vllm", "serve", _model_ref(r),
            "--tensor-parallel-size", str(s.tp),
            "--pipeline-parallel-size", str(s.pp),
            "--max-model-len", str(st.max_model_len),
            "--gpu-memory-utilization", f"{st.gpu_memory_utilization:g}",
            "--max-num-seqs", str(st.max_num_seqs),
            "--max-num-batched-tokens", str(st.max_num_batched_tokens)]
    if s.ep > 1:
        argv.append("--enable-expert-parallel")
    if r.kv.id == "fp8":
        argv += ["--kv-cache-dtype", "fp8"]
    if r.weights.id in _VLLM_QUANT and r.weights.id != r.model.default_dtype:
        argv += ["--quantization", _VLLM_QUANT[r.weights.id]]
        if r.weights.id != "fp8":
            notes.append(f"serve the {r.weights.name} checkpoint of {r.model.name} (its repo id in place of "
                         f"{_model_ref(r)})")
    elif r.weights.id not in ("bf16", "fp16", "fp32"):
        notes.append(f"serve the {r.weights.name} checkpoint: vLLM reads its quantization from the checkpoint")
    if st.enforce_eager:
        argv.append("--enforce-eager")
    base_env = _nccl_env(s)
    if not s.even:
        base_env.append(("VLLM_PP_LAYER_PARTITION", ",".join(str(n) for n in s.layers)))
        notes.append("VLLM_PP_LAYER_PARTITION places the plan's uneven stages (layers per stage, in order)")
    steps: list[LaunchStep] = []
    if s.replica_spans_nodes:
        # one Ray cluster per replica: head + workers, then vllm serve on the head
        for rep, rep_nodes in enumerate(s.replica_nodes):
            head = rep_nodes[0]
            tag = f"replica {rep}: " if s.dp > 1 else ""
            for i, nid in enumerate(rep_nodes):
                env = [*base_env, _visible(s.devices[nid])]
                if i == 0:
                    steps.append(LaunchStep(nid, _host(nid), f"{tag}{nid}: Ray head",
                                            ("ray", "start", "--head", "--port=6379"), tuple(env),
                                            tuple(s.devices[nid]), "helper"))
                else:
                    steps.append(LaunchStep(nid, _host(nid), f"{tag}{nid}: Ray worker",
                                            ("ray", "start", f"--address={_host(head)}:6379", "--block"),
                                            tuple(env), tuple(s.devices[nid]), "worker"))
            steps.append(LaunchStep(head, _host(head), f"{tag}{head}: vLLM server (after every worker joined)",
                                    (*argv, "--distributed-executor-backend", "ray"),
                                    tuple([*base_env, _visible(s.devices[head])]), tuple(s.devices[head])))
        if s.dp > 1:
            notes.append(f"{s.dp} replicas each span servers: {s.dp} Ray clusters, one endpoint each; put a "
                         "load balancer in front")
    elif len(s.nodes) == 1:
        nid = s.nodes[0]
        dp_args = ["--data-parallel-size", str(s.dp)] if s.dp > 1 else []
        steps.append(LaunchStep(nid, _host(nid), f"{nid}: vLLM server", (*argv, *dp_args),
                                tuple([*base_env, _visible(s.devices[nid])]), tuple(s.devices[nid])))
    else:
        # replicas on different servers: vLLM's data-parallel deployment, one API server on the head
        head = s.nodes[0]
        start = 0
        for i, nid in enumerate(s.nodes):
            local = sum(1 for rn in s.replica_nodes if rn[0] == nid)
            dp_args = ["--data-parallel-size", str(s.dp), "--data-parallel-size-local", str(local),
                       "--data-parallel-address", _host(head), "--data-parallel-rpc-port", "13345"]
            if i:
                dp_args += ["--data-parallel-start-rank", str(start), "--headless"]
            steps.append(LaunchStep(nid, _host(nid),
                                    f"{nid}: " + ("API server + DP ranks" if i == 0 else "headless DP ranks"),
                                    (*argv, *dp_args), tuple([*base_env, _visible(s.devices[nid])]),
                                    tuple(s.devices[nid]), "server" if i == 0 else "worker"))
            start += local
    return _done(s, steps, notes)


def _sglang(s: _Shape) -> Launch:
    r, st = s.r, s.r.settings
    refusal = _common_refusals(s)
    if refusal:
        return _refuse(r, *refusal)
    if not s.even:
        return _refuse(r, "SGLang splits pipeline stages evenly; this plan's stages are uneven",
                       _closest_even(s, "SGLang"))
    notes: list[str] = []
    base = ["python", "-m", "sglang.launch_server", "--model-path", _model_ref(r),
            "--tp", str(s.tp),
            "--context-length", str(st.max_model_len),
            "--mem-fraction-static", f"{st.gpu_memory_utilization:.2f}",
            "--max-running-requests", str(st.max_num_seqs),
            "--chunked-prefill-size", str(st.max_num_batched_tokens)]
    if s.pp > 1:
        base += ["--pp-size", str(s.pp)]
    if s.dp > 1:
        base += ["--dp", str(s.dp)]
    if s.ep > 1:
        base += ["--ep", str(s.ep)]
    if r.kv.id == "fp8":
        base += ["--kv-cache-dtype", "fp8_e4m3"]
    if r.weights.id in _SGLANG_QUANT and r.weights.id != r.model.default_dtype:
        base += ["--quantization", _SGLANG_QUANT[r.weights.id]]
    env = _nccl_env(s)
    steps: list[LaunchStep] = []
    if len(s.nodes) == 1:
        nid = s.nodes[0]
        steps.append(LaunchStep(nid, _host(nid), f"{nid}: SGLang server", tuple(base),
                                tuple([*env, _visible(s.devices[nid])]), tuple(s.devices[nid])))
    else:
        head = s.nodes[0]
        for i, nid in enumerate(s.nodes):
            argv = (*base, "--nnodes", str(len(s.nodes)), "--node-rank", str(i),
                    "--dist-init-addr", f"{_host(head)}:5000")
            steps.append(LaunchStep(nid, _host(nid), f"{nid}: SGLang node rank {i}", argv,
                                    tuple([*env, _visible(s.devices[nid])]), tuple(s.devices[nid]),
                                    "server" if i == 0 else "worker"))
        if s.dp > 1:
            notes.append("with --dp, SGLang runs the replicas inside one server group; the SGLang router "
                         "is the documented alternative for separate replicas")
    return _done(s, steps, notes)


def _trtllm(s: _Shape) -> Launch:
    r, st = s.r, s.r.settings
    refusal = _common_refusals(s)
    if refusal:
        return _refuse(r, *refusal)
    if not s.even:
        return _refuse(r, "trtllm-serve splits pipeline stages evenly; this plan's stages are uneven",
                       _closest_even(s, "TensorRT-LLM"))
    notes: list[str] = []
    files: list[LaunchFile] = []
    argv = ["trtllm-serve", _model_ref(r), "--tp_size", str(s.tp), "--pp_size", str(s.pp),
            "--max_batch_size", str(st.max_num_seqs), "--max_num_tokens", str(st.max_num_batched_tokens),
            "--max_seq_len", str(st.max_model_len),
            "--kv_cache_free_gpu_memory_fraction", f"{st.kv_cache_free_fraction:g}"]
    if s.ep > 1:
        argv += ["--ep_size", str(s.ep)]
    if r.kv.id in ("fp8", "int8"):
        files.append(LaunchFile("extra_llm_api_options.yaml", f"kv_cache_config:\n  dtype: {r.kv.id}\n"))
        argv += ["--extra_llm_api_options", "extra_llm_api_options.yaml"]
    if r.weights.id not in ("bf16", "fp16"):
        notes.append(f"serve the {r.weights.name} checkpoint (TensorRT-LLM reads the quantization from it)")
    env = _nccl_env(s)
    steps: list[LaunchStep] = []
    for rep, rep_nodes in enumerate(s.replica_nodes):
        tag = f"replica {rep}: " if s.dp > 1 else ""
        head = rep_nodes[0]
        port = ["--port", str(8000 + rep)] if s.dp > 1 and len(rep_nodes) == 1 else []
        if len(rep_nodes) == 1:
            steps.append(LaunchStep(head, _host(head), f"{tag}{head}: TensorRT-LLM server", (*argv, *port),
                                    tuple([*env, _visible(s.devices[head])]), tuple(s.devices[head])))
        else:
            hosts = ",".join(f"{_host(n)}:{len(s.devices[n])}" for n in rep_nodes)
            world = s.tp * s.pp
            steps.append(LaunchStep(head, _host(head), f"{tag}{head}: TensorRT-LLM over {len(rep_nodes)} servers",
                                    ("mpirun", "-H", hosts, "-n", str(world), "trtllm-llmapi-launch", *argv),
                                    tuple(env), tuple(s.devices[head])))
    if s.dp > 1:
        notes.append(f"trtllm-serve has no data-parallel flag: {s.dp} servers, one per replica, behind a load "
                     "balancer")
    return _done(s, steps, notes, files)


def _llamacpp(s: _Shape) -> Launch:
    r, st = s.r, s.r.settings
    mode = st.split_mode or "layer"
    if mode == "row" and s.replica_spans_nodes:
        return _refuse(r, "llama.cpp splits rows (tensor parallel) only across the GPUs of one server",
                       "use --split-mode layer across servers (rpc-server), row only inside a server")
    notes: list[str] = []
    gguf = _GGUF_FILE.get(r.weights.id, r.weights.id.upper())
    model_file = f"/models/{r.model.id.split('/')[-1]}-{gguf}.gguf"
    notes.append(f"-m points at the {gguf} GGUF file of {r.model.name}; change the path to yours")
    steps: list[LaunchStep] = []
    files: list[LaunchFile] = []
    for rep in range(s.dp):
        rep_gpus = [g for g in r.gpus if g.replica == rep]
        rep_nodes = s.replica_nodes[rep]
        head = rep_nodes[0]
        local = [g for g in rep_gpus if g.node.id == head]
        # per device in the order llama.cpp numbers them: local GPUs first, then each RPC server's
        order: list[ResolvedGpu] = []
        for nid in rep_nodes:
            order += sorted((g for g in rep_gpus if g.node.id == nid), key=lambda g: g.placement.slot)
        split = _tensor_split(order, mode)
        argv = ["llama-server", "-m", model_file, "-ngl", _gpu_layers(r), "--split-mode", mode,
                "-c", str(st.max_model_len)]
        argv += _expert_offload_flags(r)
        if len(order) > 1 and mode != "none":
            argv += ["--tensor-split", split]
        if mode in ("row", "none"):
            argv += ["--main-gpu", "0"]
        if r.plan.engine.max_num_seqs is not None:
            argv += ["--parallel", str(st.max_num_seqs)]
        if r.kv.id in _GGUF_TYPES and r.kv.id != "fp16":
            argv += ["--cache-type-k", _GGUF_TYPES[r.kv.id], "--cache-type-v", _GGUF_TYPES[r.kv.id]]
        if s.dp > 1:
            argv += ["--port", str(8080 + rep)]
        tag = f"replica {rep}: " if s.dp > 1 else ""
        rpc_hosts = []
        for nid in rep_nodes[1:]:
            devs = sorted({g.placement.slot for g in rep_gpus if g.node.id == nid})
            for k, d in enumerate(devs):
                port = 50052 + k
                steps.append(LaunchStep(nid, _host(nid), f"{tag}{nid}: rpc-server for GPU {d}",
                                        ("rpc-server", "--host", "0.0.0.0", "--port", str(port)),
                                        (_visible([d]),), (d,), "worker"))
                rpc_hosts.append(f"{_host(nid)}:{port}")
        if rpc_hosts:
            argv += ["--rpc", ",".join(rpc_hosts)]
            notes.append("rpc-server ships layers to other hosts over the network; keep it on a trusted "
                         "network (it has no authentication)")
        devs = sorted({g.placement.slot for g in local})
        steps.append(LaunchStep(head, _host(head), f"{tag}{head}: llama-server", tuple(argv),
                                (_visible(devs),), tuple(devs)))
    if s.dp > 1:
        notes.append(f"{s.dp} llama-server processes, one per replica, on ports 8080+; balance in front")
    return _done(s, steps, notes, files)


def _tensor_split(order: list[ResolvedGpu], mode: str) -> str:
    if mode == "row":
        return ",".join("1" for _ in order)
    return ",".join(str(g.layers[1] - g.layers[0]) for g in order)


def _exllamav2(s: _Shape, report: Any) -> Launch:
    r, st = s.r, s.r.settings
    if s.replica_spans_nodes:
        return _refuse(r, "ExLlamaV2 (TabbyAPI) runs on the GPUs of one server only",
                       "keep each replica on one server")
    if not s.uniform_tp:
        return _refuse(r, "TabbyAPI uses tensor parallel across all its GPUs or a layer split, not both",
                       "use TP 1 stages (a layer split) or one TP group")
    files: list[LaunchFile] = []
    steps: list[LaunchStep] = []
    tp = s.tp > 1
    used: dict[str, float] = {}
    if report is not None:
        for g in report.gpus:
            m = g.memory_bytes
            used[g.id] = (m.weights + m.kv_cache + m.activations) / 1e9
    for rep in range(s.dp):
        rep_gpus = sorted((g for g in r.gpus if g.replica == rep), key=lambda g: g.placement.slot)
        nid = rep_gpus[0].node.id
        split = [round(used.get(g.id, g.spec.memory_gb * 0.9) + 0.05, 1) for g in rep_gpus]
        name = f"replica{rep}/config.yml" if s.dp > 1 else "config.yml"
        lines = [
            "network:",
            "  host: 0.0.0.0",
            f"  port: {5000 + rep}",
            "model:",
            "  model_dir: models",
            f"  model_name: {r.model.id.split('/')[-1]}-exl2",
            f"  max_seq_len: {st.max_model_len}",
            f"  tensor_parallel: {'true' if tp else 'false'}",
            "  gpu_split_auto: false",
            f"  gpu_split: [{', '.join(f'{v:g}' for v in split)}]",
            "  cache_mode: FP16",
            f"  max_batch_size: {st.max_num_seqs}",
            f"  chunk_size: {st.max_num_batched_tokens}",
        ]
        files.append(LaunchFile(name, "\n".join(lines) + "\n"))
        devs = tuple(g.placement.slot for g in rep_gpus)
        steps.append(LaunchStep(nid, _host(nid), f"{nid}: TabbyAPI, from the folder holding {name}",
                                ("python", "main.py"), (_visible(devs),), devs))
    notes = ["gpu_split is GB of VRAM per GPU in CUDA order: the plan's weights, KV cache and activations",
             "model_name names an EXL2 (or GPTQ) folder under models/; TabbyAPI reads config.yml from its "
             "working folder"]
    return _done(s, steps, notes, files)


def _tgi(s: _Shape) -> Launch:
    r, st = s.r, s.r.settings
    refusal = _common_refusals(s)
    if refusal:
        return _refuse(r, *refusal)
    if s.pp > 1:
        return _refuse(r, "TGI shards with tensor parallelism only (no pipeline stages)",
                       f"one TP group of {s.tp * s.pp} GPUs on one server (--num-shard {s.tp * s.pp})")
    if s.replica_spans_nodes:
        return _refuse(r, "TGI shards across the GPUs of one server only",
                       "a TP group inside one server")
    steps: list[LaunchStep] = []
    for rep in range(s.dp):
        rep_gpus = sorted((g for g in r.gpus if g.replica == rep), key=lambda g: g.placement.slot)
        nid = rep_gpus[0].node.id
        argv = ["text-generation-launcher", "--model-id", _model_ref(r), "--num-shard", str(s.tp),
                "--max-total-tokens", str(st.max_model_len),
                "--max-input-tokens", str(max(1, st.max_model_len - 1)),
                "--max-batch-prefill-tokens", str(st.max_num_batched_tokens),
                "--max-concurrent-requests", str(st.max_num_seqs),
                "--port", str(8080 + rep)]
        if r.weights.id in _TGI_QUANT and r.weights.id != r.model.default_dtype:
            argv += ["--quantize", _TGI_QUANT[r.weights.id]]
        if r.kv.id == "fp8":
            argv += ["--kv-cache-dtype", "fp8_e4m3fn"]
        devs = tuple(g.placement.slot for g in rep_gpus)
        tag = f"replica {rep}: " if s.dp > 1 else ""
        steps.append(LaunchStep(nid, _host(nid), f"{tag}{nid}: TGI", tuple(argv),
                                tuple([*_nccl_env(s), _visible(devs)]), devs))
    return _done(s, steps, [])


def _gpu_layers(r: ResolvedPlan) -> str:
    """llama.cpp's ``-ngl``: every layer on the GPUs (999), or all but the plan's first
    ``offload_layers``, which stay in system RAM (llama.cpp offloads the last N layers to the GPUs)."""
    offload = r.plan.engine.offload_layers
    return str(r.model.num_layers - offload) if offload else "999"


def _expert_offload_flags(r: ResolvedPlan) -> list[str]:
    """``--cpu-moe`` (every routed expert in system RAM) or ``--n-cpu-moe N`` (those of the first N
    layers), as the plan keeps MoE experts on the host."""
    engine = r.plan.engine
    if engine.offload_experts:
        return ["--cpu-moe"]
    if engine.offload_expert_layers:
        return ["--n-cpu-moe", str(engine.offload_expert_layers)]
    return []


def _ollama(s: _Shape) -> Launch:
    r, st = s.r, s.r.settings
    if s.replica_spans_nodes:
        return _refuse(r, "Ollama runs on one server", "keep the model on one server's GPUs")
    if s.tp > 1:
        return _refuse(r, "Ollama splits layers over GPUs, never tensors (no tensor parallel)",
                       f"TP 1 stages: {s.tp * s.pp} pipeline stages of one GPU each")
    gguf = _GGUF_FILE.get(r.weights.id, r.weights.id)
    tag = f"{r.model.id.split('/')[-1].lower()}:{gguf.lower()}"
    slots = max(1, r.plan.engine.max_num_seqs or st.max_num_seqs)
    modelfile = f"FROM {tag}\nPARAMETER num_ctx {st.max_model_len}\n"
    if r.plan.engine.offload_layers:  # layers on the GPUs; Ollama keeps the rest in system RAM
        modelfile += f"PARAMETER num_gpu {r.model.num_layers - r.plan.engine.offload_layers}\n"
    files = [LaunchFile("Modelfile", modelfile)]
    extra = [f"FROM names {r.model.name} at {gguf} in Ollama's library: adjust the tag to the one you pulled"]
    steps: list[LaunchStep] = []
    for rep in range(s.dp):
        rep_gpus = sorted((g for g in r.gpus if g.replica == rep), key=lambda g: g.placement.slot)
        nid = rep_gpus[0].node.id
        env = [("OLLAMA_NUM_PARALLEL", str(slots)), ("OLLAMA_CONTEXT_LENGTH", str(st.max_model_len))]
        if len(rep_gpus) > 1:
            env.append(("OLLAMA_SCHED_SPREAD", "1"))
        if r.kv.id in ("gguf-q8_0", "gguf-q4_0"):
            env += [("OLLAMA_FLASH_ATTENTION", "1"), ("OLLAMA_KV_CACHE_TYPE", _GGUF_TYPES[r.kv.id])]
        if s.dp > 1:
            env.append(("OLLAMA_HOST", f"0.0.0.0:{11434 + rep}"))
        devs = tuple(g.placement.slot for g in rep_gpus)
        steps.append(LaunchStep(nid, _host(nid), f"{nid}: Ollama server", ("ollama", "serve"),
                                tuple([*env, _visible(devs)]), devs))
        steps.append(LaunchStep(nid, _host(nid), f"{nid}: the model with num_ctx {st.max_model_len}",
                                ("ollama", "create", f"{tag}-plan", "-f", "Modelfile"), (), devs, "helper"))
    notes = ["Ollama chooses its own layer split: OLLAMA_SCHED_SPREAD=1 spreads the model over every "
             "visible GPU, but the plan's exact stage boundaries cannot be set"] if not s.even else []
    return _done(s, steps, [*notes, *extra], files)


def _done(s: _Shape, steps: list[LaunchStep], notes: list[str],
          files: Sequence[LaunchFile] = ()) -> Launch:
    r = s.r
    per_node = max((len(v) for v in s.devices.values()), default=1)
    if s.consumer and (s.tp > 1 or s.pp > 1) and r.engine.id not in ("llamacpp", "exllamav2", "ollama"):
        notes = [*notes, "NCCL_P2P_DISABLE=1: GeForce cards have no PCIe peer-to-peer"]
    if len(s.nodes) > 1:
        notes = [*notes, "replace each <node>-host with the server's address; GPU numbers are slot numbers "
                 "as nvidia-smi counts them"]
    return Launch(r.engine.id, r.engine.name, r.settings.version, True, steps=tuple(steps), files=tuple(files),
                  notes=tuple(notes), nodes=len(s.nodes), gpus_per_node=per_node,
                  docs=ENGINE_DOCS.get(r.engine.id, ""))


_BUILDERS = {"vllm": _vllm, "sglang": _sglang, "trtllm": _trtllm, "llamacpp": _llamacpp, "tgi": _tgi,
             "ollama": _ollama}


def launch_for(plan: Plan, engine: str | None = None, catalog: Catalog | None = None,
               report: Any = None) -> Launch:
    """The launch of ``plan`` on ``engine`` (default: the plan's own). Never raises for an engine that
    cannot run the plan: the result says why (``runnable`` False) and names the closest plan it runs."""
    catalog = catalog or default_catalog()
    spec = catalog.engine(engine or plan.engine.engine)
    adapted: list[str] = []
    if spec.id != plan.engine.engine:
        update: dict[str, Any] = {"engine": plan.engine.model_copy(
            update={"engine": spec.id, "version": None,
                    "split_mode": plan.engine.split_mode if spec.split_modes else None})}
        if plan.kv_cache not in spec.kv_precisions and plan.kv_cache in catalog.precisions:
            kv = nearest_format(spec, catalog.precision(plan.kv_cache), catalog, for_kv=True)
            if kv is not None:
                update["kv_cache"] = kv
                adapted.append(f"KV cache in {catalog.precision(kv).name}: {spec.name} has no "
                               f"{catalog.precision(plan.kv_cache).name} cache (evaluate the plan with it "
                               "before buying)")
        plan = plan.model_copy(update=update)
    result = _launch(plan, spec.id, catalog, report)
    if adapted and result.runnable:
        result = replace(result, notes=(*adapted, *result.notes))
    return result


def _launch(plan: Plan, engine: str, catalog: Catalog, report: Any) -> Launch:
    spec = catalog.engine(engine)
    try:
        resolved = resolve_plan(plan, catalog)
    except PlannerError as e:
        return Launch(spec.id, spec.name, spec.version, False, reason=e.message, closest=e.fix,
                      docs=ENGINE_DOCS.get(spec.id, ""))
    fmt_problem = _format_refusal(resolved)
    if fmt_problem:
        return _refuse(resolved, *fmt_problem)
    s = _shape(resolved)
    if s.pp > 1 and not resolved.engine.supports_pp:
        return _refuse(resolved, f"{spec.name} has no pipeline stages", "one tensor-parallel group")
    if s.tp > 1 and not resolved.engine.supports_tp and spec.id != "llamacpp":
        return _refuse(resolved, f"{spec.name} has no tensor parallelism", "TP 1 stages (a layer split)")
    if spec.id == "exllamav2":
        if report is None:
            from gpuplanner.core.evaluate import evaluate

            report = evaluate(plan, catalog)
        return _exllamav2(s, report)
    builder = _BUILDERS.get(spec.id)
    if builder is None:
        return Launch(spec.id, spec.name, spec.version, False,
                      reason=f"gpuplanner has no launch command for {spec.name} yet",
                      closest="pick vllm, sglang, trtllm, llamacpp, exllamav2, tgi or ollama")
    return builder(s)


def _format_refusal(r: ResolvedPlan) -> tuple[str, str] | None:
    e = r.engine
    if r.weights.id not in e.weight_precisions:
        return (f"{e.name} does not load {r.weights.name} weights",
                f"weights in one of: {', '.join(e.weight_precisions)}")
    if r.kv.id not in e.kv_precisions:
        return (f"{e.name} has no {r.kv.name} KV cache", f"KV cache in one of: {', '.join(e.kv_precisions)}")
    return None


def launches(plan: Plan, catalog: Catalog | None = None, report: Any = None) -> list[Launch]:
    """The plan's own engine first, then every other engine in the catalog."""
    catalog = catalog or default_catalog()
    ids = [plan.engine.engine] + [e for e in catalog.engines if e != plan.engine.engine]
    return [launch_for(plan, e, catalog, report if e == plan.engine.engine else None) for e in ids]


# ---------------------------------------------------------------------------------------------- formats


def render(launch: Launch, fmt: Format = "shell") -> str:
    """The launch as a shell script, ``docker run`` lines or a Kubernetes manifest."""
    if not launch.runnable:
        return f"# {launch.engine_name} cannot run this plan: {launch.reason}\n# closest: {launch.closest}\n"
    if fmt == "docker":
        return _docker(launch)
    if fmt == "kubernetes":
        return _kubernetes(launch)
    return _shell(launch)


def _header(launch: Launch) -> list[str]:
    out = [f"# {launch.engine_name} {launch.version}: {plural(launch.nodes, 'server')} x "
           f"{plural(launch.gpus_per_node, 'GPU')}"]
    if launch.docs:
        out.append(f"# flags: {launch.docs}")
    out += [f"# note: {n}" for n in launch.notes]
    return out


def _files(launch: Launch) -> list[str]:
    out: list[str] = []
    for f in launch.files:
        out += [f"cat > {f.name} <<'EOF'", f.content.rstrip("\n"), "EOF", ""]
    return out


def _shell(launch: Launch) -> str:
    lines = ["#!/usr/bin/env bash", *_header(launch), "", *_files(launch)]
    for s in launch.steps:
        background = " &" if s.argv[:2] == ("ollama", "serve") else ""
        lines += [f"# on {s.host}: {s.title}", s.shell() + background, ""]
    return "\n".join(lines).rstrip() + "\n"


def _image(launch: Launch) -> str:
    return _IMAGES.get(launch.engine, launch.engine).format(version=launch.version)


# the program each image starts by itself (its entrypoint); other programs need --entrypoint
_ENTRYPOINTS = {"vllm": ("vllm", "serve"), "llamacpp": ("llama-server",), "tgi": ("text-generation-launcher",),
                "ollama": ("ollama",)}


def _docker_argv(launch: Launch, step: LaunchStep) -> tuple[list[str], list[str]]:
    """(extra docker options, the container's arguments) for one step."""
    argv = list(step.argv)
    entry = _ENTRYPOINTS.get(launch.engine)
    if entry is None:  # images without an entrypoint run the whole command
        return [], argv
    if tuple(argv[: len(entry)]) == entry:
        rest = argv[len(entry):]
        if launch.engine == "vllm":  # the image runs `vllm serve`: the model goes as --model
            return [], ["--model", rest[0], *rest[1:]]
        if launch.engine == "ollama":
            return [], rest
        return [], rest
    args = argv[1:]
    if argv[:2] == ["ray", "start"] and "--head" in argv and "--block" not in argv:
        args.append("--block")  # the container lives as long as its Ray head
    return ["--entrypoint", argv[0]], args


def _container(launch: Launch, node: str) -> str:
    return f"{launch.engine}-{node}"


def _docker(launch: Launch) -> str:
    lines = ["#!/usr/bin/env bash", *_header(launch), "", *_files(launch)]
    image = _image(launch)
    port = _PORTS.get(launch.engine, 8000)
    running: set[str] = set()  # nodes whose container this script already started
    for s in launch.steps:
        name = _container(launch, s.node)
        env = [(k, v) for k, v in s.env if k != "CUDA_VISIBLE_DEVICES"]
        if s.node in running and s.argv[0] != "rpc-server":
            # a later step on a server whose container runs (vllm serve on the Ray head, ollama create)
            exec_env = " ".join(f"-e {shlex.quote(f'{k}={v}')}" for k, v in env)
            lines += [f"# on {s.host}: {s.title}",
                      f"docker exec {exec_env + ' ' if exec_env else ''}{name} \\\n  {_join(s.argv)}", ""]
            continue
        if s.argv[0] == "rpc-server":
            lines += [f"# on {s.host}: {s.title} (outside a container: a llama.cpp build with -DGGML_RPC=ON)",
                      s.shell(), ""]
            continue
        devices = ",".join(str(d) for d in s.gpus)
        opts = ["docker", "run", "-d", "--name", name, "--gpus", f'"device={devices}"' if devices else "all",
                "--ipc=host", "--shm-size=16g", "-v", "$HOME/.cache/huggingface:/root/.cache/huggingface"]
        if launch.nodes > 1:
            opts.append("--network=host")
        else:
            opts += ["-p", f"{port}:{port}"]
        if launch.engine == "llamacpp":
            opts += ["-v", "$PWD:/models"]
        if launch.engine == "ollama":  # the Modelfile next to this script, for `ollama create -f`
            opts += ["-v", "$PWD:/plan", "-w", "/plan"]
        if launch.engine == "exllamav2":
            config = next((f.name for f in launch.files if s.title.endswith(f.name)), "config.yml")
            opts += ["-v", f"$PWD/{config}:/app/config.yml", "-v", "$PWD/models:/app/models"]
        for k, v in env:
            opts += ["-e", shlex.quote(f"{k}={v}")]
        extra, args = _docker_argv(launch, s)
        opts += [*extra, image]
        cmd = " ".join(opts) + (" \\\n  " + _join(args) if args else "")
        lines += [f"# on {s.host}: {s.title}", cmd, ""]
        running.add(s.node)
    return "\n".join(lines).rstrip() + "\n"


def _one_line(argv: Sequence[str], nodes: int) -> str:
    # $(...) is left for Kubernetes (env) and the shell (arithmetic) to expand
    text = " ".join(a if a.startswith("$(") else shlex.quote(a) for a in argv)
    for n in range(nodes + 1):
        text = text.replace(f"n{n}-host", "$(LWS_LEADER_ADDRESS)")
    return text


def _yaml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _k8s_container(launch: Launch, command: str, env: Sequence[tuple[str, str]], gpus: int, name: str,
                   indent: str) -> list[str]:
    out = [
        f"{indent}- name: {name}",
        f"{indent}  image: {_image(launch)}",
        f'{indent}  command: ["/bin/sh", "-c"]',
        f"{indent}  args:",
        f"{indent}    - {_yaml_str(command)}",
    ]
    env = [(k, v) for k, v in env if k != "CUDA_VISIBLE_DEVICES"]
    if env:
        out.append(f"{indent}  env:")
        for k, v in env:
            out += [f"{indent}    - name: {k}", f"{indent}      value: {_yaml_str(v)}"]
    out += [
        f"{indent}  resources:",
        f"{indent}    limits:",
        f'{indent}      nvidia.com/gpu: "{gpus}"',
        f"{indent}  volumeMounts:",
        f"{indent}    - name: dshm",
        f"{indent}      mountPath: /dev/shm",
    ]
    return out


def _volumes(indent: str) -> list[str]:
    return [f"{indent}volumes:", f"{indent}  - name: dshm", f"{indent}    emptyDir:",
            f"{indent}      medium: Memory", f"{indent}      sizeLimit: 16Gi"]


def _kubernetes(launch: Launch) -> str:
    name = f"{launch.engine}-plan"
    lines = [*_header(launch)]
    for f in launch.files:
        lines += ["---", "apiVersion: v1", "kind: ConfigMap", "metadata:",
                  f"  name: {name}-{f.name.split('.')[0].lower().replace('_', '-')}", "data:",
                  f"  {f.name}: |"] + [f"    {line}" for line in f.content.rstrip("\n").split("\n")]
    if launch.nodes <= 1:
        servers = [s for s in launch.steps if s.role == "server"]
        for i, s in enumerate(servers):
            lines += ["---", "apiVersion: apps/v1", "kind: Deployment", "metadata:", f"  name: {name}-{i}",
                      "spec:", "  replicas: 1", "  selector:", "    matchLabels:", f"      app: {name}-{i}",
                      "  template:", "    metadata:", "      labels:", f"        app: {name}-{i}", "    spec:",
                      "      containers:",
                      *_k8s_container(launch, _one_line(s.argv, launch.nodes), s.env, len(s.gpus) or 1,
                                      "server", "        "),
                      *_volumes("      ")]
        return "\n".join(lines) + "\n"
    if any(s.argv[0] == "mpirun" for s in launch.steps):
        return "\n".join([*lines, "# TensorRT-LLM across servers starts under MPI (mpirun over SSH, or Slurm):",
                          "# no LeaderWorkerSet recipe is written for it; use --format shell on the servers"]) + "\n"
    # several servers: a LeaderWorkerSet whose group is the servers of one replica (vLLM's and llm-d's
    # documented pattern); the leader runs the head's steps in order, every worker the worker step
    head = launch.steps[0].node
    leader_steps = [s for s in launch.steps if s.node == head and s.role != "worker"]
    worker = next((s for s in launch.steps if s.role == "worker"), None)
    leader_cmd = " && ".join(_one_line(s.argv, launch.nodes) for s in leader_steps)
    lines += ["---", "apiVersion: leaderworkerset.x-k8s.io/v1", "kind: LeaderWorkerSet", "metadata:",
              f"  name: {name}", "spec:", "  replicas: 1", "  leaderWorkerTemplate:",
              f"    size: {launch.nodes}", "    restartPolicy: RecreateGroupOnPodRestart",
              "    leaderTemplate:", "      metadata:", "        labels:", "          role: leader",
              "      spec:", "        containers:",
              *_k8s_container(launch, leader_cmd, leader_steps[-1].env, len(leader_steps[-1].gpus) or 1,
                              "leader", "          "),
              *_volumes("        "),
              "    workerTemplate:", "      spec:", "        containers:"]
    if worker is not None:
        argv = list(worker.argv)
        if "--node-rank" in argv:
            argv[argv.index("--node-rank") + 1] = "$(LWS_WORKER_INDEX)"
        if "--data-parallel-start-rank" in argv:  # vLLM: each worker's first data-parallel rank
            local = argv[argv.index("--data-parallel-size-local") + 1]
            argv[argv.index("--data-parallel-start-rank") + 1] = f"$((LWS_WORKER_INDEX * {local}))"
        lines += _k8s_container(launch, _one_line(argv, launch.nodes), worker.env, len(worker.gpus) or 1,
                                "worker", "          ")
    lines += _volumes("        ")
    return "\n".join(lines) + "\n"


def launch_text(plan: Plan, engine: str | None = None, fmt: Format = "shell",
                catalog: Catalog | None = None) -> str:
    """``gpuplanner launch``'s text; raises :class:`LaunchError` when the engine cannot run the plan."""
    launch = launch_for(plan, engine, catalog)
    if not launch.runnable:
        raise LaunchError(f"{launch.engine_name} cannot run this plan: {launch.reason}",
                          fix=launch.closest or "pick another engine with --engine")
    return render(launch, fmt)
