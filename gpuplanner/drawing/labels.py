"""Display names and tooltips for catalog ids, tolerant of ids the catalog does not know.

Items and widgets show plans that may name a GPU or link the catalog lacks (an old file, a typo);
they must still draw, with the raw id, while the status bar reports the problem.
"""

from __future__ import annotations

import re

from gpuplanner.core.catalog import Catalog
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.host import DEFAULT_HOST, HostSpec, load_hosts
from gpuplanner.core.plan import Node
from gpuplanner.core.specs import GpuSpec, LinkSpec, NodeTemplate

_PCIE_VIA = {"switch": "switch", "cpu": "CPU", "sys": "system bus"}
_VENDOR_PREFIXES = ("NVIDIA GeForce ", "NVIDIA Tesla ", "NVIDIA ", "AMD Instinct ", "AMD ", "Intel ")


class Labels:
    """Catalog look-ups that return None instead of raising, plus short display names."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def gpu(self, ref: str) -> GpuSpec | None:
        return self.catalog.find("gpus", ref)  # type: ignore[no-any-return]

    def link(self, ref: str | None) -> LinkSpec | None:
        return self.catalog.find("links", ref)  # type: ignore[no-any-return]

    def template(self, ref: str | None) -> NodeTemplate | None:
        return self.catalog.find("nodes", ref)  # type: ignore[no-any-return]

    def gpu_short_name(self, ref: str) -> str:
        spec = self.gpu(ref)
        return short_gpu_name(spec) if spec else ref

    def link_name(self, ref: str | None) -> str:
        spec = self.link(ref)
        return spec.name if spec else (ref or "none")


def host_spec(node: Node) -> HostSpec | None:
    """The server's host platform (the default one when not set); None when the id is unknown."""
    try:
        return load_hosts().get(node.host or DEFAULT_HOST)
    except CatalogError:
        return None


def host_label(node: Node) -> str:
    """The server's host for drawings: 'AM5 · 64 GiB RAM', 'EPYC 9004 · up to 6144 GiB RAM'."""
    spec = host_spec(node)
    name = spec.aliases[0] if spec and spec.aliases else spec.id if spec else str(node.host)
    if node.host_ram_gib:
        return f"{name} · {node.host_ram_gib:g} GiB RAM"
    if spec is not None and spec.max_memory_gib:
        return f"{name} · up to {spec.max_memory_gib:g} GiB RAM"
    return f"{name} · RAM not set"


def short_gpu_name(spec: GpuSpec) -> str:
    """The short name, keeping the "(user-defined)" mark of a custom GPU (gpuplanner catalog add-gpu)."""
    short = _short_spec(spec)
    return f"{short} (user-defined)" if spec.name.endswith("(user-defined)") else short


def _short_spec(spec: GpuSpec) -> str:
    """'NVIDIA H100 SXM5 80GB' -> 'H100 SXM5 80GB'; parenthesised notes dropped."""
    name = spec.name.split(" (")[0]
    for prefix in _VENDOR_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def compact_link_name(spec: LinkSpec) -> str:
    """A short name for drawings: 'PCIe 4.0 x16 via CPU', 'NVSwitch gen 3', 'InfiniBand NDR'."""
    match = re.fullmatch(r"pcie(\d)-x(\d+)-(switch|cpu|sys)", spec.id)
    if match:
        gen, lanes, where = match.groups()
        return f"PCIe {gen}.0 x{lanes} via {_PCIE_VIA[where]}"
    return spec.name.split(" (")[0].split(",")[0]


def gpu_tooltip(spec: GpuSpec) -> str:
    """Key figures of a GPU, as rich text."""
    rows = [
        ("Memory", f"{spec.memory_gb:g} GB {spec.memory_type} ({spec.memory_gib_usable:g} GiB usable)"),
        ("Bandwidth", f"{spec.hbm_bandwidth_gbps:,.0f} GB/s"),
        ("BF16 dense", f"{spec.bf16_tflops:,.0f} TFLOPS" if spec.bf16_tflops else "—"),
        ("FP8 dense", f"{spec.fp8_tflops:,.0f} TFLOPS" if spec.fp8_tflops else "—"),
        ("GPU link", spec.native_link or "none (PCIe only)"),
        ("Host", f"PCIe {spec.pcie_gen}.0 x{spec.pcie_lanes}"),
        ("Power", f"{spec.tdp_w:,.0f} W, {spec.form_factor.upper()}"),
    ]
    return _table(spec.name, rows)


def link_tooltip(spec: LinkSpec) -> str:
    rows = [
        ("Kind", spec.kind),
        ("Bandwidth", f"{spec.bandwidth_gbps_per_direction:g} GB/s each way"),
        ("Latency", f"{spec.latency_us:g} µs"),
        ("Scope", "between servers" if spec.scope == "inter-node" else "inside a server"),
    ]
    if spec.requires_native:
        rows.append(("Needs", ", ".join(spec.requires_native)))
    return _table(spec.name, rows)


def template_tooltip(template: NodeTemplate, labels: Labels) -> str:
    rows = [
        (
            "GPUs",
            f"{template.slots} × {labels.gpu_short_name(template.gpu)}"
            if template.gpu
            else f"{template.slots} empty slots",
        ),
        ("GPU fabric", labels.link_name(template.nvswitch or template.pair_links or template.host_link)),
        ("Network", f"{template.nics} × {labels.link_name(template.nic)}" if template.nic else "rig fabric"),
    ]
    return _table(template.name, rows)


def _table(title: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td style='color:gray;padding-right:8px'>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return f"<b>{title}</b><table>{body}</table>"
