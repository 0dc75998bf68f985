"""MemoryChart: one stacked bar per GPU showing where its memory goes, against its capacity.

Weights, KV cache, activations, communication buffers and runtime stack up from zero; the rest up to
the capacity line is free (the part of it vLLM's smallest-rank rule leaves unused is hatched as
stranded). What goes past the capacity line is drawn in red. Hover shows exact bytes and the formula's
inputs; a click selects that GPU (``gpu_clicked``). Built once; every report only moves the bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QApplication, QWidget

from gpuplanner.core.budget import budgets
from gpuplanner.core.host import experts_text
from gpuplanner.core.report import GpuReport, HostReport, Report
from gpuplanner.core.specs import GIB
from gpuplanner.core.verdict import plural
from gpuplanner.gui.panel.bars import GROUP_ABOVE, StackedBars, group_alike, group_label, group_note
from gpuplanner.gui.panel.style import (
    CAPACITY_COLOUR,
    FREE_COLOUR,
    MEMORY_PARTS,
    OVERFLOW_COLOUR,
    SELECTION_COLOUR,
    STRANDED_COLOUR,
    ChartColours,
    HeldTip,
    chart_column,
    fmt_bytes,
    header_label,
    legend_label,
    make_plot,
    set_curve,
    set_range,
    short_name,
)

BAR_WIDTH = 0.72
UNUSED_COLOUR = "#9CA3AF"
HOST_BAR = "host"  # the id of the host's bar, after the GPUs' (system RAM holding offloaded layers)


class IdleGpu(NamedTuple):
    """A GPU of the rig that the layout does not use (the report has no ledger for it)."""

    id: str
    gpu_name: str
    capacity_bytes: int


def memory_stacks(
    gpus: Sequence[GpuReport], idle: Sequence[IdleGpu] = ()
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(bottom, top) in GiB of each drawn segment of every GPU's bar, as arrays per kind: the ledger
    stacked in MEMORY_PARTS order and clipped at the GPU's capacity, overflow beyond it, stranded
    and free memory up to it; the ``idle`` GPUs follow as 'unused' bars of their capacity."""
    fields = [field for field, _, _ in MEMORY_PARTS]
    used_n, idle_n = len(gpus), len(idle)
    bars = budgets(gpus, fields, 1 / GIB)
    lo: dict[str, np.ndarray] = {}
    hi: dict[str, np.ndarray] = {}
    for j, field in enumerate(fields):
        lo[field], hi[field] = bars.parts_bottom[:, j], bars.parts_top[:, j]
    lo["overflow"], hi["overflow"] = bars.over
    lo["stranded"], hi["stranded"] = bars.stranded
    lo["free"], hi["free"] = bars.free
    pad = np.zeros(idle_n)
    for key in list(lo):
        lo[key], hi[key] = np.concatenate([lo[key], pad]), np.concatenate([hi[key], pad])
    idle_cap = np.array([g.capacity_bytes for g in idle], dtype=float) / GIB
    lo["unused"] = np.zeros(used_n + idle_n)
    hi["unused"] = np.concatenate([np.zeros(used_n), idle_cap])
    return lo, hi


def with_host_bar(
    lo: dict[str, np.ndarray], hi: dict[str, np.ndarray], host: HostReport
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The stacks with one more bar: the host's RAM, its offloaded weights and their KV cache against
    its installed RAM (free up to it, overflow past it), GiB."""
    weights, kv = host.weights_bytes / GIB, host.kv_cache_bytes / GIB
    ram = host.ram_bytes / GIB
    used = weights + kv
    column = {key: (0.0, 0.0) for key in lo}
    cap = ram if ram else used
    column["weights"] = (0.0, min(weights, cap))
    column["kv_cache"] = (min(weights, cap), min(used, cap))
    column["free"] = (min(used, cap), cap) if cap > used else (0.0, 0.0)
    column["overflow"] = (cap, used) if used > cap else (0.0, 0.0)
    out_lo = {k: np.append(v, column[k][0]) for k, v in lo.items()}
    out_hi = {k: np.append(v, column[k][1]) for k, v in hi.items()}
    return out_lo, out_hi


def host_tooltip(h: HostReport) -> str:
    """The host bar's hover text: what lives in RAM, how fast it is read, and what that costs per token."""
    layers = f"layers {h.offloaded_layers[0]}–{h.offloaded_layers[-1]}" if h.offloaded_layers else ""
    what = ", ".join(x for x in (layers, experts_text(h)) if x)
    ram = fmt_bytes(h.ram_bytes) if h.ram_bytes else "unknown"
    rows = [
        f"<b>Host</b> · {h.host_name}",
        f"in system RAM: {what}",
        f"<span style='color:{MEMORY_PARTS[0][2]}'>■</span> Weights: <b>{fmt_bytes(h.weights_bytes)}</b>",
        f"<span style='color:{MEMORY_PARTS[1][2]}'>■</span> KV cache: <b>{fmt_bytes(h.kv_cache_bytes)}</b>",
        f"RAM installed: <b>{ram}</b> · {h.bandwidth_gbps:g} GB/s",
        f"host reads {h.bytes_per_token / 1e9:.2f} GB per token: {h.host_s_per_token * 1e3:.0f} ms "
        f"({h.host_s_per_token_high * 1e3:.0f}–{h.host_s_per_token_low * 1e3:.0f} ms)",
    ]
    if h.tokens_per_s_per_user:
        rows.append(f"whole rig: ~{h.tokens_per_s_per_user:.1f} tok/s per user")
    return "<br>".join(rows)


def gpu_tooltip(g: GpuReport) -> str:
    """Exact bytes of every ledger line with the inputs of its formula."""
    m = g.memory_bytes
    rows = [
        f"<b>{g.id}</b> · {g.gpu_name}<br>replica {g.replica + 1} · stage {g.stage + 1} · TP #{g.tp_rank + 1} · "
        f"layers {g.layers[0]}–{g.layers[1] - 1}"
        + (" · embeddings" if g.has_embeddings else "")
        + (" · lm_head" if g.has_lm_head else "")
    ]
    for field, text, colour in MEMORY_PARTS:
        value = getattr(m, field)
        detail = g.formula.get(field, "")
        rows.append(
            f"<span style='color:{colour}'>■</span> {text}: <b>{fmt_bytes(value)}</b> ({value:,} B)"
            + (f"<br>&nbsp;&nbsp;&nbsp;<i>{detail}</i>" if detail else "")
        )
    free_text = "over budget by" if m.free < 0 else "free"
    rows.append(f"{free_text}: <b>{fmt_bytes(abs(m.free))}</b> ({m.free:,} B)")
    if g.stranded_bytes:
        rows.append(f"stranded KV memory: <b>{fmt_bytes(g.stranded_bytes)}</b> ({g.stranded_bytes:,} B)")
    rows.append(
        f"capacity {fmt_bytes(g.capacity_bytes)} · engine budget {fmt_bytes(g.budget_bytes)}"
        f" · KV blocks {g.kv_blocks:,}"
    )
    return "<br>".join(rows)


def memory_summary(report: Report | None) -> str:
    """One line over the chart: the weights in all, the KV cache it leaves, what is over budget."""
    if report is None or not report.gpus:
        return "<span style='color:gray'>Where each GPU's memory goes</span>"
    weights = sum(g.memory_bytes.weights for g in report.gpus)
    over = [g for g in report.gpus if g.memory_bytes.free < 0]
    kv = report.kv_cache
    text = f"<b>{fmt_bytes(weights)}</b> of weights on {plural(len(report.gpus), 'GPU')} · "
    if kv.capacity_tokens:
        text += (
            f"KV cache for <b>{kv.capacity_tokens:,}</b> tokens per replica "
            f"({plural(kv.max_concurrency, 'request')} of {kv.context_tokens:,})"
        )
    else:
        text += "no room left for the KV cache"
    if over:
        text += f" · <span style='color:{OVERFLOW_COLOUR}'><b>{len(over)} over capacity</b></span>"
    if report.host is not None:
        text += f" · <b>{fmt_bytes(report.host.memory_bytes)}</b> in system RAM"
    stranded = sum(g.stranded_bytes for g in report.gpus)
    if stranded > GIB / 2:
        text += f" · {fmt_bytes(stranded)} stranded"
    return text


def memory_key(g: GpuReport) -> tuple[object, ...]:
    """What a GPU's bar shows: GPUs with equal keys draw identical bars."""
    m = g.memory_bytes
    ledger = tuple(getattr(m, field) for field, _, _ in MEMORY_PARTS)
    return (g.gpu_name, g.capacity_bytes, g.budget_bytes, g.stranded_bytes, m.free, ledger)


class MemoryChart(QWidget):
    """Stacked memory bars per GPU. ``gpu_clicked(gpu_id, additive)`` on a click on a bar."""

    gpu_clicked = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("memoryChart")
        self.report: Report | None = None
        self.gpu_ids: list[str] = []  # per bar, the GPU it shows (the first of its members)
        self.members: list[list[str]] = []  # per bar, every GPU it stands for (one, unless grouped)
        self.shown: list[GpuReport] = []  # the report's GPUs that have a bar
        self._bar_of: dict[str, int] = {}
        self._selected: set[str] = set()
        self.header = header_label("memorySummary", "Memory per GPU")
        self.plot = make_plot("GiB")
        item = self.plot.getPlotItem()
        kinds = [(f, c) for f, _, c in MEMORY_PARTS]
        kinds += [("free", FREE_COLOUR), ("stranded", STRANDED_COLOUR), ("overflow", OVERFLOW_COLOUR)]
        kinds += [("unused", UNUSED_COLOUR)]
        self.bars = StackedBars(self.plot, kinds, width=BAR_WIDTH, hatched=("stranded", "unused"))
        self.idle: list[IdleGpu] = []
        fg = ChartColours.from_palette()
        line = CAPACITY_COLOUR if not fg.dark else "#E5E7EB"
        self._capacity = pg.PlotDataItem(pen=pg.mkPen(line, width=2), connect="pairs")
        self._budget = pg.PlotDataItem(
            pen=pg.mkPen(line, width=1, style=Qt.PenStyle.DashLine), connect="pairs"
        )
        self._selection = pg.BarGraphItem(
            x=[],
            y0=[],
            height=[],
            width=BAR_WIDTH + 0.16,
            brush=pg.mkBrush(None),
            pen=pg.mkPen(SELECTION_COLOUR, width=3),
        )
        for extra in (self._capacity, self._budget, self._selection):
            item.addItem(extra)
        self._message = pg.TextItem("", color=fg.muted, anchor=(0.5, 0.5))
        item.addItem(self._message)
        self.legend = legend_label(self._legend_entries(None), hatched={"Stranded", "Unused GPU"})
        self.legend.setToolTip("Solid line: the GPU's capacity. Dashed line: the engine's budget.")
        chart_column(self, self.header, self.plot, self.legend)
        scene = self.plot.scene()
        scene.sigMouseMoved.connect(self._hover)
        self.tip = HeldTip(self.plot)  # stays while the pointer rests on a bar
        scene.sigMouseClicked.connect(self._clicked)
        self.set_report(None)

    @staticmethod
    def _legend_entries(report: Report | None) -> list[tuple[str, str]]:
        """Weights, KV cache and free always; the other parts only when some GPU has them."""
        gpus = report.gpus if report is not None else ()
        entries = []
        for field, text, colour in MEMORY_PARTS:
            if field in ("weights", "kv_cache") or any(getattr(g.memory_bytes, field) > 0 for g in gpus):
                entries.append((text, colour))
        if any(g.stranded_bytes > 2**26 for g in gpus):  # 64 MiB: a visible hatch
            entries.append(("Stranded", STRANDED_COLOUR))
        entries.append(("Free", FREE_COLOUR))
        if any(g.memory_bytes.free < 0 for g in gpus):
            entries.append(("Over capacity", OVERFLOW_COLOUR))
        return entries

    # -- data ------------------------------------------------------------------------------------------
    def set_report(self, report: Report | None, idle: Sequence[IdleGpu] = ()) -> None:
        """Show ``report``'s ledgers (None: an empty chart with a hint), then the rig's ``idle`` GPUs
        (in the rig, not in the layout) as empty bars so a GPU just dropped is seen. Past GROUP_ABOVE
        GPUs, identical GPUs share one bar (``members``)."""
        self.report = report
        every = report.gpus if report is not None else ()
        every_idle = list(idle) if report is not None else []
        if len(every) + len(every_idle) > GROUP_ABOVE:
            used = group_alike([memory_key(g) for g in every])
            unused = group_alike([(g.gpu_name, g.capacity_bytes) for g in every_idle])
            gpus: Sequence[GpuReport] = [every[grp[0]] for grp in used]
            self.idle = [every_idle[grp[0]] for grp in unused]
            self.members = [[every[i].id for i in grp] for grp in used]
            self.members += [[every_idle[i].id for i in grp] for grp in unused]
        else:
            gpus, self.idle = every, every_idle
            self.members = [[g.id] for g in (*every, *every_idle)]
        self.shown = list(gpus)
        self.gpu_ids = [g.id for g in gpus] + [g.id for g in self.idle]
        stacks = memory_stacks(gpus, self.idle)
        host = report.host if report is not None else None
        caps_gib = [g.capacity_bytes / GIB for g in (*gpus, *self.idle)]
        budget_gib = [g.budget_bytes / GIB for g in gpus] + [g.capacity_bytes / GIB for g in self.idle]
        if host is not None:
            stacks = with_host_bar(*stacks, host)
            self.gpu_ids.append(HOST_BAR)
            self.members.append([HOST_BAR])
            host_cap = (host.ram_bytes or host.memory_bytes) / GIB
            caps_gib.append(host_cap)
            budget_gib.append(host_cap)
        self._bar_of = {m: i for i, group in enumerate(self.members) for m in group}
        self.bars.set_stacks(len(self.gpu_ids), *stacks)
        x = np.arange(len(self.gpu_ids), dtype=float)
        caps = np.array(caps_gib, dtype=float)
        budgets = np.array(budget_gib, dtype=float)
        half = BAR_WIDTH / 2 + 0.06
        xs = np.column_stack([x - half, x + half]).ravel()
        set_curve(self._capacity, xs, np.repeat(caps, 2))
        set_curve(self._budget, xs, np.repeat(budgets, 2))
        n = len(self.gpu_ids)
        tops = [self.bars.top(i) for i in range(n - (host is not None))]
        if host is not None:
            # the host's RAM can be many times a GPU's memory: the chart is scaled to what it uses, and
            # its free part runs off the top
            tops.append(host.memory_bytes / GIB)
        top = max(tops, default=1.0) * 1.06 or 1.0
        item = self.plot.getPlotItem()
        set_range(item.getViewBox(), x=(-0.6, max(n, 1) - 0.4), y=(0, top))
        names = [g.gpu_name for g in gpus] + [g.gpu_name for g in self.idle]
        if host is not None:
            names.append("system RAM")
        few = n <= 4
        ticks = [group_label(gid, len(group)) for gid, group in zip(self.gpu_ids, self.members, strict=True)]
        self.bars.set_ticks(
            [f"{tick} · {short_name(nm)}" if few else tick for tick, nm in zip(ticks, names, strict=True)]
        )
        self.header.set_summary(memory_summary(report))  # (a grouped bar's tick says how many it holds)
        self.legend.set_entries(
            self._legend_entries(report) + ([("Unused GPU", UNUSED_COLOUR)] if self.idle else [])
        )
        if report is None:
            self._message.setText("no plan to show")
        elif not gpus:
            self._message.setText("the layout uses no GPU")
        else:
            self._message.setText("")
        self._message.setPos(max(n, 1) / 2 - 0.5, top / 2)
        self._update_selection()

    def set_selected(self, gpu_ids: list[str] | set[str] | tuple[str, ...]) -> None:
        """Outline the bars of the GPUs selected on the canvas."""
        self._selected = set(gpu_ids)
        self._update_selection()

    def selected_ids(self) -> set[str]:
        """GPUs whose bars are outlined as selected."""
        return {gid for gid in self._bar_of if gid in self._selected}

    def _update_selection(self) -> None:
        chosen = {self._bar_of[gid] for gid in self._selected if gid in self._bar_of}
        idx = sorted(chosen)
        heights = [self.bars.top(i) for i in idx]
        self._selection.setOpts(
            x=np.array(idx, dtype=float), y0=np.zeros(len(idx)), height=np.array(heights, dtype=float)
        )

    @property
    def segments(self) -> list[dict[str, tuple[float, float]]]:
        """(bottom, top) in GiB of every drawn segment, per bar (hover texts, tests)."""
        return self.bars.segments

    def bar_gib(self, gpu_id: str, field: str) -> float:
        """Height in GiB of one segment of one GPU's bar, as drawn (tests and scripts read this)."""
        lo, hi = self.segments[self._bar_of[gpu_id]][field]
        return hi - lo

    def tooltip_for(self, gpu_id: str) -> str:
        """The hover text of the bar that shows ``gpu_id`` (one of its members, when grouped)."""
        assert self.report is not None
        i = self._bar_of[gpu_id]
        if self.report.host is not None and i == len(self.gpu_ids) - 1:
            return host_tooltip(self.report.host)
        note = group_note(self.members[i])
        if i >= len(self.shown):
            g = self.idle[i - len(self.shown)]
            return note + (
                f"<b>{g.id}</b> · {g.gpu_name}<br>{fmt_bytes(g.capacity_bytes)}, not in the layout: it does no work."
                "<br>Select it with other GPUs and press <i>Make TP group</i>, or drop layers on it."
            )
        return note + gpu_tooltip(self.shown[i])

    # -- mouse -----------------------------------------------------------------------------------------
    def _hover(self, scene_pos: QPointF) -> None:
        i = self.bars.index_at(scene_pos)
        if i is None or self.report is None:
            self.tip.hide()
            return
        self.tip.show(self.tooltip_for(self.gpu_ids[i]))

    def _clicked(self, event: object) -> None:
        if event.button() != Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            return
        i = self.bars.index_at(event.scenePos())  # type: ignore[attr-defined]
        if i is None or (
            self.report is not None and self.report.host is not None and i == len(self.gpu_ids) - 1
        ):
            return  # the host's bar: no GPU to select
        mods = QApplication.keyboardModifiers()
        additive = bool(mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        self.gpu_clicked.emit(self.gpu_ids[i], additive)


def main() -> None:  # pragma: no cover - a manual look
    from gpuplanner.gui.panel.samples import show_alone

    raise SystemExit(show_alone(MemoryChart))


if __name__ == "__main__":  # pragma: no cover
    main()
