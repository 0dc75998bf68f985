"""What the PDF says, as plain data: figures, tables and notes built from a ``Plan`` and its ``Report``.

Qt-free. The drawing side (:mod:`gpuplanner.export.flow`) only lays these out; tests can check the
words and numbers here without a painter.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from gpuplanner.core.catalog import Catalog
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.plan import Plan
from gpuplanner.core.report import Report
from gpuplanner.core.resolve import ResolvedPlan, resolve_plan
from gpuplanner.core.specs import GpuSpec, LinkSpec

Tone = Literal["", "muted", "strong", "good", "warn", "bad", "mono"]
Align = Literal["left", "right", "center"]


@dataclass(frozen=True)
class Cell:
    text: str
    tone: Tone = ""


@dataclass(frozen=True)
class Column:
    title: str
    weight: float = 1.0
    align: Align = "left"


@dataclass(frozen=True)
class TableData:
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]

    @staticmethod
    def build(columns: list[Column], rows: list[list[Cell | str]]) -> TableData:
        cells = tuple(tuple(c if isinstance(c, Cell) else Cell(str(c)) for c in row) for row in rows)
        for row in cells:
            if len(row) != len(columns):
                raise ValueError(f"row has {len(row)} cells for {len(columns)} columns: {row}")
        return TableData(tuple(columns), cells)


@dataclass(frozen=True)
class Figure:
    """One key figure on the summary page: a label, a value and a line of context."""

    label: str
    value: str
    note: str = ""
    tone: Tone = ""


def short_gpu_name(name: str) -> str:
    """The short name, keeping the "(user-defined)" mark of a custom GPU (gpuplanner catalog add-gpu)."""
    short = _short_name(name)
    return f"{short} (user-defined)" if name.endswith("(user-defined)") else short


def _short_name(name: str) -> str:
    """'NVIDIA H100 SXM5 80GB' -> 'H100 SXM5 80GB' (the vendor is on the spec sheet, not in tables)."""
    name = name.split(" (")[0]
    for prefix in ("NVIDIA GeForce ", "NVIDIA ", "AMD Instinct ", "AMD ", "Intel "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


@dataclass
class PlanFacts:
    """A plan, its report and the catalog it was evaluated with, with the look-ups every page needs."""

    plan: Plan
    report: Report
    catalog: Catalog
    slo_targets: tuple[float | None, float | None] = (None, None)  # TTFT, TPOT ms for the decision page

    @cached_property
    def resolved(self) -> ResolvedPlan | None:
        try:
            return resolve_plan(self.plan, self.catalog)
        except CatalogError:
            return None

    def gpu_spec(self, ref: str) -> GpuSpec | None:
        return self.catalog.find("gpus", ref)  # type: ignore[no-any-return]

    def link_spec(self, ref: str | None) -> LinkSpec | None:
        return self.catalog.find("links", ref)  # type: ignore[no-any-return]

    def link_name(self, ref: str | None) -> str:
        spec = self.link_spec(ref)
        return spec.name if spec else (ref or "—")

    @cached_property
    def rig_gpus(self) -> list[tuple[str, str, str]]:
        """(GPU id, catalog id, node id) of every GPU in the rig, used by the layout or not."""
        return [(g.id, g.gpu, n.id) for n, g in self.plan.rig.iter_gpus()]

    @cached_property
    def gpu_counts(self) -> str:
        """'8 × H100 SXM5 80GB' or '1 × RTX 3090 + 1 × RTX 4090'."""
        counts = Counter(gpu for _, gpu, _ in self.rig_gpus)
        parts = []
        for ref, n in counts.items():
            spec = self.gpu_spec(ref)
            parts.append(f"{n} × {short_gpu_name(spec.name) if spec else ref}")
        return " + ".join(parts) or "no GPUs"

    @cached_property
    def total_memory_bytes(self) -> int:
        total = 0
        for _, ref, _ in self.rig_gpus:
            spec = self.gpu_spec(ref)
            total += spec.capacity_bytes if spec else 0
        return total

    @cached_property
    def idle_gpus(self) -> list[str]:
        used = {g.id for g in self.report.gpus}
        return [gid for gid, _, _ in self.rig_gpus if gid not in used]

    @property
    def layout_text(self) -> str:
        layout = self.plan.layout
        text = f"TP {layout.tp} × PP {layout.pp} × DP {layout.dp}"
        return text + (f" · EP {layout.ep}" if layout.ep > 1 else "")

    def precision_name(self, ref: str) -> str:
        try:
            return self.catalog.precision(ref).name
        except CatalogError:
            return ref
