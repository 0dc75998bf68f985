"""A plan from a few quick choices (the command line's ``--model --gpu --tp ...`` flags)."""

from __future__ import annotations

import math
from typing import Literal

from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.engine_rules import default_kv_precision, format_problem
from gpuplanner.core.errors import PlanError
from gpuplanner.core.layout_ops import default_layout
from gpuplanner.core.plan import EngineSettings, GpuPlacement, Link, Node, Plan, Rig, Workload
from gpuplanner.core.specs import GpuSpec, LinkSpec


def default_intra_link(gpu: GpuSpec, gpus_per_node: int, catalog: Catalog) -> str:
    """The link people get by default: NVSwitch on SXM boards, PCIe otherwise."""
    native = gpu.native_link or ""
    if gpu.form_factor in ("sxm", "superchip") and native.startswith("nvlink"):
        switch = "nvswitch-" + native
        if switch in catalog.links:
            return switch
    if gpu.form_factor == "oam" and native in catalog.links:
        return native
    where = "cpu" if gpus_per_node <= 2 else "switch"
    return f"pcie{gpu.pcie_gen}-x16-{where}"


def node_pitch(slots: int) -> float:
    """How far apart quick servers sit, side by side: the width the canvas draws a server with
    ``slots`` slots (up to four cards a row, eight-slot boards as two rows of four, 150-unit cards,
    14-unit gaps, at least three cards wide) plus a 60-unit gap, so no server covers another and a
    plan opens where it was saved."""
    cols = slots if slots <= 4 else 4 if slots <= 8 else 8
    width = max(32.0 + cols * 150.0 + (cols - 1) * 14.0, 32.0 + 3 * 150.0 + 2 * 14.0)
    return width + 60.0


def node_height(slots: int) -> float:
    """The height the canvas draws a server with ``slots`` slots (a 46-unit header, rows of 130-unit
    card lanes, a 40-unit footer), as ``node_pitch`` has its width."""
    cols = slots if slots <= 4 else 4 if slots <= 8 else 8
    return 46.0 + math.ceil(slots / max(cols, 1)) * 130.0 + 40.0


def servers_per_row(nodes: int, slots: int) -> int:
    """How many quick servers sit side by side before the next row starts: about as many rows as
    columns on a 16:10 screen, so a 128-server plan opens as a grid rather than one endless row."""
    ratio = (node_height(slots) + 60.0) / node_pitch(slots)
    return max(2, math.ceil(math.sqrt(nodes * ratio * 1.6)))


def default_fabric(gpu: GpuSpec) -> str:
    return "ib-ndr" if gpu.gpu_class == "datacenter" else "eth-100g"


def build_node(
    index: int,
    gpu: GpuSpec,
    count: int,
    link: LinkSpec,
    *,
    slots: int | None = None,
    nic: str | None = None,
    per_row: int | None = None,
) -> tuple[Node, list[Link]]:
    """A node holding ``count`` GPUs joined by ``link`` (a PCIe path, an NVSwitch, or direct links),
    placed at ``index`` in rows of ``per_row`` servers (None: one row)."""
    size = max(slots or count, count)
    row, col = divmod(index, per_row) if per_row else (0, index)
    gpus = tuple(GpuPlacement(id=f"g{index}_{i}", gpu=gpu.id, slot=i) for i in range(count))
    node = Node(
        id=f"n{index}",
        name=f"Server {index + 1}",
        slots=max(slots or count, count),
        gpus=gpus,
        host_link=f"pcie{gpu.pcie_gen}-x16-switch" if count > 2 else f"pcie{gpu.pcie_gen}-x16-cpu",
        nic=nic,
        nics=count if gpu.gpu_class == "datacenter" else 1,
        x=col * node_pitch(size),
        y=row * (node_height(size) + 60.0),
    )
    links: list[Link] = []
    if link.kind == "nvswitch":
        node = node.model_copy(update={"nvswitch": link.id})
    elif link.kind == "pcie":
        node = node.model_copy(update={"host_link": link.id})
    elif link.kind == "nvlink-bridge":
        for i in range(0, count - 1, 2):
            links.append(Link(id=f"l{index}_{i}", kind=link.id, a=gpus[i].id, b=gpus[i + 1].id))
    elif link.kind in ("nvlink", "infinity-fabric"):
        for i in range(count):
            for j in range(i + 1, count):
                links.append(Link(id=f"l{index}_{i}_{j}", kind=link.id, a=gpus[i].id, b=gpus[j].id))
    else:
        raise PlanError(
            f"'{link.id}' ({link.kind}) joins nodes, not GPUs inside a node",
            fix="pass it as --fabric; use --link for NVLink, NVSwitch or PCIe",
        )
    return node, links


def quick_plan(
    *,
    model: str,
    gpu: str,
    gpus_per_node: int | None = None,
    nodes: int = 1,
    tp: int | None = None,
    pp: int = 1,
    dp: int = 1,
    ep: int = 1,
    link: str | None = None,
    fabric: str | None = None,
    weights: str = "bf16",
    kv_cache: str | None = None,
    engine: str = "vllm",
    concurrency: int | Literal["max"] = 1,
    input_tokens: int = 1024,
    output_tokens: int = 256,
    split_mode: Literal["layer", "row", "none"] | None = None,
    catalog: Catalog | None = None,
) -> Plan:
    """A plan of ``nodes`` identical servers; ``tp·pp·dp`` must equal the number of GPUs.

    The KV cache defaults to the engine's own default (the model's dtype for vLLM, SGLang and
    TensorRT-LLM, FP16 for llama.cpp and ExLlamaV2), not to the weights' format. A format the engine
    cannot load raises :class:`PlanError` naming the formats it loads. llama.cpp in its default
    ``--split-mode layer`` gets one pipeline stage per GPU unless ``tp`` is given.
    """
    cat = catalog or default_catalog()
    model_spec = cat.model(model)
    gpu_spec = cat.gpu(gpu)
    engine_spec = cat.engine(engine)
    for pid, for_kv in ((weights, False), (kv_cache, True)):
        if pid is None:
            continue
        prec = cat.precision(pid)
        if prec.for_weights if not for_kv else prec.for_kv_cache:
            bad = format_problem(engine_spec, prec, cat, for_kv)
            if bad is not None:
                flag = "--kv-cache" if for_kv else "--weights"
                fix = f"pass {flag} {bad.nearest}" if bad.nearest else "pick another --engine"
                raise PlanError(bad.message, fix=fix)
    for name, value in (("--nodes", nodes), ("--pp", pp), ("--dp", dp), ("--ep", ep)):
        if value < 1:
            raise PlanError(f"{name} must be at least 1, not {value}", fix=f"pass {name} 1 or more")
    if tp is not None and tp < 1:
        raise PlanError(f"--tp must be at least 1, not {tp}", fix="pass --tp 1 or more")
    if gpus_per_node is not None and gpus_per_node < 1:
        raise PlanError(f"--gpus must be at least 1, not {gpus_per_node}", fix="pass --gpus 1 or more")
    if gpus_per_node is None:
        total = (tp or 1) * pp * dp
        gpus_per_node = math.ceil(total / nodes)
    total = gpus_per_node * nodes
    layer_split = engine_spec.split_modes and (split_mode or engine_spec.split_modes[0]) == "layer"
    if tp is None and layer_split and pp == 1 and total % dp == 0:
        pp, tp = total // dp, 1  # llama.cpp --split-mode layer: whole layers per GPU, one after the other
    if tp is None:
        if total % (pp * dp):
            raise PlanError(
                f"{total} GPUs cannot be split into PP {pp} × DP {dp}",
                fix="choose PP and DP that divide the GPUs",
            )
        tp = total // (pp * dp)
    if tp * pp * dp != total:
        raise PlanError(
            f"TP {tp} × PP {pp} × DP {dp} = {tp * pp * dp}, but the rig has {total} GPUs "
            f"({nodes} node{'s' if nodes > 1 else ''} × {gpus_per_node})",
            fix="make tp·pp·dp equal the number of GPUs (--gpus is GPUs per node)",
        )
    link_spec = cat.link(link) if link else cat.link(default_intra_link(gpu_spec, gpus_per_node, cat))
    if link_spec.requires_native and gpu_spec.native_link not in link_spec.requires_native:
        raise PlanError(
            f"{gpu_spec.name} cannot use {link_spec.name}",
            fix=f"its own link is {gpu_spec.native_link or 'PCIe only'}; pick a PCIe link or a GPU with that port",
        )
    fabric_spec = cat.link(fabric) if fabric else cat.link(default_fabric(gpu_spec))
    if fabric_spec.scope != "inter-node":
        raise PlanError(f"'{fabric_spec.id}' is not a link between nodes", fix="use e.g. ib-ndr or eth-100g")
    rig_nodes, rig_links = [], []
    for n in range(nodes):
        node, links = build_node(
            n, gpu_spec, gpus_per_node, link_spec, per_row=servers_per_row(nodes, gpus_per_node)
        )
        rig_nodes.append(node)
        rig_links.extend(links)
    rig = Rig(nodes=tuple(rig_nodes), links=tuple(rig_links), fabric=fabric_spec.id if nodes > 1 else None)
    kv = kv_cache or default_kv_precision(engine_spec, model_spec, cat)
    name = f"{model_spec.name} on {total}× {gpu_spec.name}"
    return Plan(
        name=name,
        rig=rig,
        model=model_spec.id,
        weights=cat.precision(weights).id,
        kv_cache=cat.precision(kv).id,
        engine=EngineSettings(engine=engine_spec.id, split_mode=split_mode),
        layout=default_layout(rig, model_spec.num_layers, tp, pp, dp, ep),
        workload=Workload(concurrency=concurrency, input_tokens=input_tokens, output_tokens=output_tokens),
    )
