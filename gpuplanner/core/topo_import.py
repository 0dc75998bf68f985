"""A rig from the machine: ``nvidia-smi topo -m`` (and ``--query-gpu`` CSV) read into a plan's rig.

``nvidia-smi topo -m`` prints one row per GPU (and per NIC): the connection to every other device,
then the GPU's CPU affinity and NUMA node. Each GPU pair becomes the link the planner would draw by
hand (:mod:`gpuplanner.core.topology` reads it the same way):

* ``NV#`` on every pair of eight or more SXM GPUs: the board's NVSwitch (DGX/HGX);
* ``NV#`` between some pairs: an explicit link of the GPU's own NVLink (a bridge on PCIe cards);
* ``PIX`` / ``PXB``: PCIe under a switch; ``PHB`` / ``NODE``: through one CPU's root complex;
  ``SYS``: across CPU sockets. The most common of these is the server's ``host_link``; a pair that
  differs gets an explicit PCIe link.

NIC columns set the server's NIC count; CPU affinity and NUMA nodes go into the notes (and the plan's
description): the planner has no field for them. ``rocm-smi`` output is recognised and refused (not
read yet). Anything unreadable is a :class:`TopologyError` naming the line.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from gpuplanner.core.catalog import Catalog, default_catalog
from gpuplanner.core.engine_rules import default_kv_precision
from gpuplanner.core.errors import PlannerError
from gpuplanner.core.layout_ops import default_layout
from gpuplanner.core.limits import MAX_SLOTS
from gpuplanner.core.plan import EngineSettings, GpuPlacement, Link, Node, Plan, Rig, Workload
from gpuplanner.core.specs import GpuSpec
from gpuplanner.core.verdict import plural

PCIE_CODES = {"PIX": "switch", "PXB": "switch", "PHB": "cpu", "NODE": "cpu", "SYS": "sys", "SOC": "sys"}
_NV = re.compile(r"^NV(\d+)$")
_GPU = re.compile(r"^GPU(\d+)$")
NVSWITCH_MIN_GPUS = 8  # an all-pairs NVLink mesh this large is an NVSwitch board (DGX/HGX)


class TopologyError(PlannerError):
    """A topology or GPU list that cannot be read; names the line."""


@dataclass(frozen=True)
class TopoMatrix:
    """What ``nvidia-smi topo -m`` says: GPU pairs, NICs, CPU affinity and NUMA node per GPU."""

    gpus: tuple[str, ...]
    pairs: dict[tuple[int, int], str]
    nics: tuple[str, ...] = ()
    nic_names: dict[str, str] = field(default_factory=dict)
    nic_near: dict[str, tuple[int, ...]] = field(default_factory=dict)
    cpu_affinity: tuple[str, ...] = ()
    numa: tuple[str, ...] = ()
    tool: str = "nvidia-smi topo -m"


@dataclass(frozen=True)
class GpuRow:
    """One line of ``nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id --format=csv``."""

    index: int
    name: str
    memory_mib: float | None
    bus_id: str
    line: int


@dataclass(frozen=True)
class ImportedRig:
    rig: Rig
    notes: tuple[str, ...]


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _first_text_line(lines: list[str]) -> tuple[int, str]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            return number, line.strip()
    return 1, ""


def _check_cell(code: str, number: int, row: str, column: str) -> str:
    if code == "X" or code in PCIE_CODES or _NV.match(code):
        return code
    raise TopologyError(
        f"line {number}: cannot read '{code}' between {row} and {column}",
        fix="expected X, NV#, PIX, PXB, PHB, NODE or SYS: paste the whole output of `nvidia-smi topo -m`",
    )


def parse_topology(text: str, source: str = "") -> TopoMatrix:
    """Read ``nvidia-smi topo -m`` output; ``source`` names it in errors."""
    try:
        return _parse_topology(text)
    except TopologyError as e:
        e.where = e.where or source
        raise


def _parse_topology(text: str) -> TopoMatrix:
    lines = _lines(text)
    if "ROCm System Management" in text or "Link Type between two GPUs" in text:
        raise TopologyError(
            "line 1: this is rocm-smi output; gpuplanner reads `nvidia-smi topo -m` only",
            fix="build an AMD rig by hand (Infinity Fabric links) in the window or with --link",
        )
    header_at = None
    for number, line in enumerate(lines):
        tokens = line.split()
        if (
            tokens
            and tokens[0] == "GPU0"
            and len(tokens) > 1
            and not _NV.match(tokens[1])
            and tokens[1] != "X"
        ):
            header_at = number
            break
    if header_at is None:
        number, first = _first_text_line(lines)
        what = f"'{first[:60]}'" if first else "an empty text"
        raise TopologyError(
            f"line {number}: {what} is not the output of `nvidia-smi topo -m` (no header row starting "
            "with GPU0)",
            fix="run `nvidia-smi topo -m` on the machine and paste or save all of its output",
        )
    header = lines[header_at].split()
    devices: list[str] = []
    for token in header:
        if token in ("CPU", "NUMA", "GPU") and devices:
            break
        devices.append(token)
    gpus = [d for d in devices if _GPU.match(d)]
    nics = [d for d in devices if not _GPU.match(d)]
    if [int(_GPU.match(g).group(1)) for g in gpus] != list(range(len(gpus))):  # type: ignore[union-attr]
        raise TopologyError(
            f"line {header_at + 1}: the GPU columns are not GPU0, GPU1, ... in order",
            fix="paste the output of `nvidia-smi topo -m` unchanged",
        )
    if len(gpus) > MAX_SLOTS:
        raise TopologyError(
            f"line {header_at + 1}: {len(gpus)} GPUs in one server; gpuplanner's servers hold up to {MAX_SLOTS}",
            fix="import the servers one at a time",
        )
    rows: dict[str, tuple[int, list[str]]] = {}
    for number, line in enumerate(lines[header_at + 1 :], start=header_at + 2):
        tokens = line.split()
        if not tokens:
            if len(rows) >= len(devices):
                break
            continue
        if tokens[0].rstrip(":") in ("Legend", "NIC"):
            break
        if tokens[0] not in devices:
            if rows:
                break
            continue
        rows[tokens[0]] = (number, tokens[1:])
    pairs: dict[tuple[int, int], str] = {}
    affinity: list[str] = []
    numa: list[str] = []
    nic_near: dict[str, list[int]] = {nic: [] for nic in nics}
    for i, gpu in enumerate(gpus):
        if gpu not in rows:
            last = max((n for n, _ in rows.values()), default=header_at + 1)
            raise TopologyError(
                f"line {last + 1}: the row of {gpu} is missing: the output looks cut short "
                f"(the header lists {len(gpus)} GPUs, {sum(1 for g in gpus if g in rows)} rows were found)",
                fix="paste the whole output of `nvidia-smi topo -m`",
            )
        number, cells = rows[gpu]
        if len(cells) < len(devices):
            raise TopologyError(
                f"line {number}: the row of {gpu} has {len(cells)} columns, the header {len(devices)}: "
                "the line is cut short",
                fix="paste the whole output of `nvidia-smi topo -m`",
            )
        for j, column in enumerate(devices):
            code = _check_cell(cells[j], number, gpu, column)
            if column == gpu:
                if code != "X":
                    raise TopologyError(
                        f"line {number}: {gpu} against itself reads '{code}', not X",
                        fix="paste the output of `nvidia-smi topo -m` unchanged",
                    )
                continue
            if _GPU.match(column):
                k = gpus.index(column)
                if k > i:
                    pairs[(i, k)] = code
                elif pairs.get((k, i)) != code:
                    raise TopologyError(
                        f"line {number}: {gpu}–{column} reads '{code}' but {column}–{gpu} reads "
                        f"'{pairs.get((k, i))}'",
                        fix="paste the output of `nvidia-smi topo -m` unchanged",
                    )
            elif code in ("PIX", "PXB"):
                nic_near[column].append(i)
        rest = cells[len(devices) :]
        affinity.append(rest[0] if rest else "N/A")
        numa.append(rest[1] if len(rest) > 1 else "N/A")
    nic_names: dict[str, str] = {}
    for line in lines:
        found = re.match(r"^\s*(NIC\d+):\s*(\S+)\s*$", line)
        if found:
            nic_names[found.group(1)] = found.group(2)
    return TopoMatrix(
        gpus=tuple(gpus),
        pairs=pairs,
        nics=tuple(nics),
        nic_names=nic_names,
        nic_near={k: tuple(v) for k, v in nic_near.items()},
        cpu_affinity=tuple(affinity),
        numa=tuple(numa),
    )


def parse_gpu_csv(text: str, source: str = "") -> list[GpuRow]:
    """Read ``nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id --format=csv`` (with or
    without the header and units); ``source`` names it in errors."""
    try:
        return _parse_gpu_csv(text)
    except TopologyError as e:
        e.where = e.where or source
        raise


def _parse_gpu_csv(text: str) -> list[GpuRow]:
    order = ["index", "name", "memory.total", "pci.bus_id"]
    rows: list[GpuRow] = []
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        lowered = [f.lower() for f in fields]
        if any(f.startswith("name") for f in lowered) and any(f.startswith("index") for f in lowered):
            order = [f.split(" [")[0] for f in lowered]
            continue
        if len(fields) < len(order) or "index" not in order or "name" not in order:
            raise TopologyError(
                f"line {number}: expected {len(order)} comma-separated values "
                f"({', '.join(order)}), found {len(fields)}",
                fix="run `nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id --format=csv`",
            )
        value = dict(zip(order, fields, strict=False))
        try:
            index = int(value["index"])
        except ValueError:
            raise TopologyError(
                f"line {number}: '{value['index'][:30]}' is not a GPU index",
                fix="run `nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id --format=csv`",
            ) from None
        memory = None
        raw_memory = value.get("memory.total", "")
        if raw_memory:
            found = re.match(r"^(\d+(?:\.\d+)?)\s*(MiB)?$", raw_memory)
            if not found:
                raise TopologyError(
                    f"line {number}: cannot read the memory '{raw_memory[:30]}' (expected e.g. 24576 MiB)",
                    fix="run `nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id --format=csv`",
                )
            memory = float(found.group(1))
        rows.append(GpuRow(index, value["name"], memory, value.get("pci.bus_id", ""), number))
    if not rows:
        raise TopologyError("line 1: no GPU lines in the GPU list", fix="run the --query-gpu command again")
    return rows


def match_gpu(name: str, memory_mib: float | None, catalog: Catalog) -> GpuSpec | None:
    """The catalog GPU a driver's name means ('NVIDIA GeForce RTX 3090', 'NVIDIA H100 80GB HBM3'),
    or None. When several catalog GPUs share a name, the one whose usable memory is closest wins."""
    candidates = [name]
    for prefix in ("NVIDIA ", "AMD ", "Intel(R) ", "Tesla "):
        if name.startswith(prefix):
            candidates.append(name[len(prefix) :])
    for cand in list(candidates):
        for prefix in ("GeForce ", "Quadro ", "Radeon ", "Instinct "):
            if cand.startswith(prefix):
                candidates.append(cand[len(prefix) :])
    found: list[GpuSpec] = []
    for cand in candidates:
        spec = catalog.find("gpus", cand)
        if spec is not None and spec not in found:
            found.append(spec)
    if found:  # a custom GPU may answer to the same driver name: the closest memory wins
        if memory_mib is None:
            return found[0]
        return min(found, key=lambda s: abs(s.memory_gib_usable - memory_mib / 1024))
    if memory_mib is None:
        return None
    # a name shared by memory variants ("A100-PCIE-40GB"): closest usable memory among name matches
    key = "".join(ch for ch in candidates[-1].lower() if ch.isalnum())
    near = [
        spec
        for spec in catalog.gpus.values()
        if key and key in "".join(ch for ch in spec.name.lower() if ch.isalnum())
    ]
    if not near:
        return None
    return min(near, key=lambda s: abs(s.memory_gib_usable - memory_mib / 1024))


def gpus_for(
    topo: TopoMatrix, rows: list[GpuRow] | None, gpu: str | None, catalog: Catalog, source: str = ""
) -> list[GpuSpec]:
    """The catalog GPU of every topology GPU: from the CSV's names, or ``gpu`` for all."""
    if rows is None:
        if not gpu:
            raise TopologyError(
                "the topology names no GPU models",
                fix="give the GPU list (`nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id "
                "--format=csv`) or one GPU id for all (e.g. --gpu rtx-4090)",
            )
        return [catalog.gpu(gpu)] * len(topo.gpus)
    by_index = {row.index: row for row in rows}
    specs: list[GpuSpec] = []
    for i, name in enumerate(topo.gpus):
        row = by_index.get(i)
        if row is None:
            raise TopologyError(
                f"the GPU list has no line for {name} (it lists {len(rows)} GPUs, the topology "
                f"{len(topo.gpus)})",
                fix="take both outputs from the same machine",
                where=source,
            )
        spec = match_gpu(row.name, row.memory_mib, catalog)
        if spec is None:
            memory = f", {row.memory_mib:g} MiB" if row.memory_mib else ""
            raise TopologyError(
                f"line {row.line}: GPU '{row.name}'{memory} is not in the catalog"
                f"{catalog._closest('gpus', row.name)}",
                fix="add it as a custom GPU (`gpuplanner catalog add-gpu FILE.toml`, or Import ▸ Custom GPU… "
                "in the window), or pass --gpu ID for a catalog GPU",
                where=source,
            )
        if (
            row.memory_mib
            and abs(row.memory_mib / 1024 - spec.memory_gib_usable) > 0.1 * spec.memory_gib_usable
        ):
            raise TopologyError(
                f"line {row.line}: GPU '{row.name}', {row.memory_mib:g} MiB is not in the catalog with that "
                f"memory: its {spec.name} has {spec.memory_gib_usable:g} GiB ({spec.memory_gib_usable * 1024:,.0f} "
                "MiB); a modified or other variant?",
                fix="add it as a custom GPU with its own memory (`gpuplanner catalog add-gpu FILE.toml`, or "
                "Import ▸ Custom GPU… in the window)",
                where=source,
            )
        specs.append(spec)
    return specs


def _pcie_link(catalog: Catalog, gen: int, where: str) -> str:
    link = f"pcie{gen}-x16-{where}"
    return link if link in catalog.links else f"pcie5-x16-{where}"


def rig_from_topology(
    topo: TopoMatrix, gpus: list[GpuSpec], catalog: Catalog, *, node_index: int = 0
) -> ImportedRig:
    """A one-server rig wired as the topology says (see the module's rules)."""
    n = len(topo.gpus)
    prefix = f"g{node_index}_"
    placements = tuple(GpuPlacement(id=f"{prefix}{i}", gpu=gpus[i].id, slot=i) for i in range(n))
    notes: list[str] = []
    nv_pairs = {pair: int(_NV.match(code).group(1)) for pair, code in topo.pairs.items() if _NV.match(code)}  # type: ignore[union-attr]
    gen = min(g.pcie_gen for g in gpus) if gpus else 5
    all_pairs = n * (n - 1) // 2
    same = len({g.id for g in gpus}) == 1
    nvswitch: str | None = None
    links: list[Link] = []
    first = gpus[0] if gpus else None
    if (
        first is not None
        and same
        and n >= NVSWITCH_MIN_GPUS
        and len(nv_pairs) == all_pairs
        and first.native_link
        and f"nvswitch-{first.native_link}" in catalog.links
    ):
        nvswitch = f"nvswitch-{first.native_link}"
        notes.append(f"NV{max(nv_pairs.values())} between all {n} GPUs: the board's NVSwitch ({nvswitch})")
    else:
        for (i, k), count in sorted(nv_pairs.items()):
            a, b = gpus[i], gpus[k]
            kind = a.native_link if a.native_link == b.native_link else None
            if kind is None or kind not in catalog.links:
                raise TopologyError(
                    f"{topo.gpus[i]}–{topo.gpus[k]} are joined by NV{count}, but the catalog gives "
                    f"{a.name} and {b.name} no common NVLink",
                    fix="check the GPU list; a custom GPU needs native_link set to an NVLink link id",
                )
            links.append(Link(id=f"l{node_index}_{i}_{k}", kind=kind, a=placements[i].id, b=placements[k].id))
            notes.append(f"{topo.gpus[i]}–{topo.gpus[k]}: NV{count} ({catalog.link(kind).name})")
    pcie = {pair: PCIE_CODES.get(code, "cpu") for pair, code in topo.pairs.items() if pair not in nv_pairs}
    if pcie:
        counts = Counter(pcie.values())
        rank = {"sys": 0, "cpu": 1, "switch": 2}
        common = max(counts, key=lambda w: (counts[w], -rank[w]))
        host_link = _pcie_link(catalog, gen, common)
        if nvswitch is None:
            for (i, k), where in sorted(pcie.items()):
                if where != common:
                    links.append(
                        Link(
                            id=f"p{node_index}_{i}_{k}",
                            kind=_pcie_link(catalog, gen, where),
                            a=placements[i].id,
                            b=placements[k].id,
                        )
                    )
        codes = Counter(topo.pairs[p] for p in pcie)
        notes.append(
            "PCIe between GPUs: "
            + ", ".join(f"{code} × {count}" for code, count in sorted(codes.items()))
            + f" → {host_link}"
            + (
                f", {plural(len(links) - len(nv_pairs), 'pair')} with their own PCIe path"
                if nvswitch is None and len(links) > len(nv_pairs)
                else ""
            )
        )
    else:
        host_link = _pcie_link(catalog, gen, "switch" if n > 2 else "cpu")
    if any(g.gpu_class == "consumer" for g in gpus) and pcie:
        notes.append(
            "GeForce cards: no PCIe peer-to-peer in NVIDIA's driver, GPU traffic is staged through host memory"
        )
    numa_groups: dict[str, list[str]] = {}
    for i, numa_node in enumerate(topo.numa):
        label = f"NUMA {numa_node}" + (
            f" (CPUs {topo.cpu_affinity[i]})" if topo.cpu_affinity[i] not in ("", "N/A") else ""
        )
        numa_groups.setdefault(label, []).append(topo.gpus[i])
    if numa_groups and set(topo.numa) != {"N/A"}:
        notes.append(
            "CPU affinity: " + "; ".join(f"{', '.join(g)} on {label}" for label, g in numa_groups.items())
        )
    for nic in topo.nics:
        near = topo.nic_near.get(nic, ())
        name = topo.nic_names.get(nic, nic)
        where = f" next to {', '.join(topo.gpus[i] for i in near)}" if near else ""
        notes.append(f"{name}: network card{where}")
    node = Node(
        id=f"n{node_index}",
        name=f"Server {node_index + 1}",
        slots=n,
        gpus=placements,
        host_link=host_link,
        nvswitch=nvswitch,
        nics=max(1, min(len(topo.nics), MAX_SLOTS)),
        x=node_index * 40.0,
    )
    return ImportedRig(Rig(nodes=(node,), links=tuple(links)), tuple(notes))


def default_parallel(model_heads: int, kv_heads: int, gpus: int) -> tuple[int, int]:
    """(TP, PP) for an imported rig: tensor parallel over all GPUs when the heads divide, else layers."""
    if gpus > 0 and model_heads % gpus == 0 and (kv_heads % gpus == 0 or gpus % kv_heads == 0):
        return gpus, 1
    return 1, gpus


def plan_from_topology(
    topo_text: str,
    gpus_csv: str | None = None,
    *,
    gpu: str | None = None,
    model: str = "meta-llama/Llama-3.1-8B-Instruct",
    engine: str = "vllm",
    weights: str = "bf16",
    name: str | None = None,
    catalog: Catalog | None = None,
    sources: tuple[str, str] = ("", ""),
    nic: str | None = None,
) -> tuple[Plan, tuple[str, ...]]:
    """A plan whose rig is the imported machine, with ``model`` spread over all its GPUs.

    ``sources`` names the topology and the GPU list in error messages (their file names). ``nic``
    is the link id of the server's network cards (the topology names them, not their speed)."""
    cat = catalog or default_catalog()
    topo = parse_topology(topo_text, sources[0])
    rows = parse_gpu_csv(gpus_csv, sources[1]) if gpus_csv is not None else None
    specs = gpus_for(topo, rows, gpu, cat, sources[1])
    imported = rig_from_topology(topo, specs, cat)
    if nic is not None:
        spec = cat.link(nic)
        if spec.scope != "inter-node":
            raise TopologyError(f"'{spec.id}' is not a network link", fix="use e.g. ib-ndr or eth-100g")
        node = imported.rig.nodes[0].model_copy(update={"nic": spec.id})
        imported = ImportedRig(imported.rig.model_copy(update={"nodes": (node,)}), imported.notes)
    model_spec = cat.model(model)
    engine_spec = cat.engine(engine)
    tp, pp = default_parallel(model_spec.num_attention_heads, model_spec.num_kv_heads, len(specs))
    if pp > model_spec.num_layers:
        tp, pp = 1, 1
    layout = default_layout(imported.rig, model_spec.num_layers, tp, pp)
    names = Counter(s.name for s in specs)
    rig_name = " + ".join(f"{count}× {label}" for label, count in names.items())
    notes = (f"Imported from {topo.tool}: {rig_name}", *imported.notes)
    plan = Plan(
        name=name or f"{model_spec.name} on {rig_name}",
        description="\n".join(notes),
        rig=imported.rig,
        model=model_spec.id,
        weights=cat.precision(weights).id,
        kv_cache=cat.precision(default_kv_precision(engine_spec, model_spec, cat)).id,
        engine=EngineSettings(engine=engine_spec.id),
        layout=layout,
        workload=Workload(),
    )
    return plan, notes
